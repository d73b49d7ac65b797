//! The real Samba AD DC the differential tests compare with: `scripts/samba-ad ensure`
//! sets it up, and it answers what AD answers. Never skipped: when Samba cannot be set up
//! the test fails naming scripts/setup-test-env.

use ldap3::{LdapConnAsync, Scope};

#[tokio::test]
async fn samba_ad_answers_simple_binds_and_refuses_a_wrong_password_with_ads_sub_code() {
    let dc = test_peers::samba::ensure().unwrap_or_else(|e| panic!("{e}"));
    let (conn, mut ldap) = LdapConnAsync::new(&dc.url).await.expect("connect to Samba");
    ldap3::drive!(conn);
    ldap.simple_bind(&dc.admin_upn, &dc.password)
        .await
        .and_then(|r| r.success())
        .expect("the administrator binds by UPN");
    let (entries, _) = ldap
        .search(&dc.base_dn, Scope::Base, "(objectClass=domain)", vec!["dc"])
        .await
        .and_then(|r| r.success())
        .expect("base search");
    assert_eq!(entries.len(), 1);
    let refused = ldap
        .simple_bind(&dc.admin_dn, "wrong")
        .await
        .expect("bind answered");
    assert_eq!(refused.rc, 49);
    assert!(refused.text.contains("data 52e"), "{}", refused.text);
    // A second call in the same process reuses the first answer.
    assert_eq!(test_peers::samba::ensure().ok(), Some(dc));
}
