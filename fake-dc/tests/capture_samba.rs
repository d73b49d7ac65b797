//! `fake-dc capture` against a real Samba AD DC (`scripts/samba-ad`, started by
//! `test_peers::samba::ensure`; a missing Samba fails the test naming
//! `scripts/setup-test-env`): the captured fixture loads, and fake-dc serves it with
//! Samba's identities, memberships and names.

#![allow(clippy::unwrap_used)]

mod reproduce_support;

use std::collections::BTreeSet;
use std::time::Duration;

use fake_dc::reproduce::capture::{capture, CaptureOptions, Quiet, Tls};
use fake_dc::server::{FakeDc, HostConfig, ServerOptions};
use ldap3::{LdapConnAsync, Scope, SearchEntry};
use reproduce_support::load;

/// `(sAMAccountName, objectGUID bytes, objectSid bytes, memberOf)` of every user and
/// group under `base`, read with a plain ldap3 client.
async fn principals(
    url: &str,
    bind: &str,
    password: &str,
    base: &str,
) -> BTreeSet<(String, Vec<u8>, Vec<u8>, BTreeSet<String>)> {
    let (conn, mut ldap) = LdapConnAsync::new(url).await.unwrap();
    ldap3::drive!(conn);
    ldap.simple_bind(bind, password)
        .await
        .unwrap()
        .success()
        .unwrap();
    let (entries, _) = ldap
        .search(
            base,
            Scope::Subtree,
            "(|(objectClass=user)(objectClass=group))",
            vec!["sAMAccountName", "objectGUID", "objectSid", "memberOf"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    entries
        .into_iter()
        .map(|e| {
            let e = SearchEntry::construct(e);
            let text = |n: &str| {
                e.attrs
                    .get(n)
                    .and_then(|v| v.first())
                    .cloned()
                    .unwrap_or_default()
            };
            let bin = |n: &str| {
                e.bin_attrs
                    .get(n)
                    .and_then(|v| v.first())
                    .cloned()
                    .unwrap_or_default()
            };
            let member_of: BTreeSet<String> = e
                .attrs
                .get("memberOf")
                .map(|v| v.iter().map(|s| s.to_lowercase()).collect())
                .unwrap_or_default();
            (
                text("sAMAccountName").to_lowercase(),
                bin("objectGUID"),
                bin("objectSid"),
                member_of,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_capture_of_samba_ad_loads_and_serves_the_same_principals() {
    let samba = tokio::task::spawn_blocking(test_peers::samba::ensure)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}"));
    let options = CaptureOptions {
        url: samba.url.clone(),
        address: None,
        tls: Tls::None,
        starttls: false,
        bind: Some(samba.admin_dn.clone()),
        password: Some(samba.password.clone()),
        forest: false,
        tombstones: true,
        page_size: None,
        timeout: Duration::from_secs(60),
        default_password: Some("Fake-Passw0rd!".into()),
    };
    let (collected, stats) = capture(&options, &mut Quiet).await.unwrap();
    assert!(stats.entries > 20, "{stats:?}");
    let f = &collected.fixture;
    assert_eq!(f.domains.len(), 1);
    assert_eq!(f.domains[0].dns, samba.realm.to_lowercase());
    assert_eq!(
        f.domains[0].netbios.as_deref(),
        Some(samba.netbios.as_str())
    );
    let yaml = fake_dc::fixture::write::to_string(f).unwrap();
    let dir = load(&yaml);

    // fake-dc serves it: the administrator binds with the fixture's default password and
    // reads the same users and groups, with Samba's GUIDs, SIDs and memberships.
    let host = format!("dc1.{}", samba.realm.to_lowercase());
    let dc = FakeDc::builder(dir)
        .host(&host, HostConfig::loopback())
        .options(ServerOptions::default())
        .start()
        .await
        .unwrap();
    let addr = dc.addresses(&host).unwrap().ldap.unwrap();
    let served = principals(
        &format!("ldap://{addr}"),
        &samba.admin_dn,
        "Fake-Passw0rd!",
        &samba.base_dn,
    )
    .await;
    dc.shutdown().await;
    let real = principals(&samba.url, &samba.admin_dn, &samba.password, &samba.base_dn).await;
    assert!(real.iter().any(|p| p.0 == "administrator"));
    let missing: Vec<_> = real.difference(&served).take(5).collect();
    assert!(
        missing.is_empty(),
        "in Samba, not served the same by fake-dc: {missing:#?}"
    );
}
