//! Binds of each name form and each AD failure sub-code, over real sockets with ldap3.

// Helpers outside #[test] fns are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use fake_dc::server::ServerOptions;
use ldap3::exop::{WhoAmI, WhoAmIResp};
use ldap3::Scope;

const NEEDS_BIND: &str = "000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563";

fn failure(data: &str) -> String {
    format!("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {data}, v4563")
}

async fn whoami(ldap: &mut ldap3::Ldap) -> String {
    let (exop, _) = ldap.extended(WhoAmI).await.unwrap().success().unwrap();
    exop.parse::<WhoAmIResp>().authzid
}

/// Binds on a fresh connection and returns (rc, text).
async fn try_bind(dc: &fake_dc::server::FakeDc, name: &str, password: &str) -> (u32, String) {
    let mut ldap = connect(ldap_addr(dc, DC1)).await;
    let res = ldap.simple_bind(name, password).await.unwrap();
    (res.rc, res.text)
}

#[tokio::test]
async fn every_name_form_binds() {
    let dc = start().await;
    for name in [
        SVC_DN,
        "cn=sync service,ou=service accounts,dc=CORP,dc=example,dc=test",
        "svc-sync@corp.example.test",
        "svc-sync@example.com",
        "CORP\\svc-sync",
        "corp\\SVC-SYNC",
    ] {
        let mut ldap = connect(ldap_addr(&dc, DC1)).await;
        let res = ldap.simple_bind(name, SVC_PW).await.unwrap();
        assert_eq!((res.rc, res.text.as_str()), (0, ""), "{name}");
        assert_eq!(whoami(&mut ldap).await, "u:CORP\\svc-sync", "{name}");
    }
    // An explicit userPrincipalName works too.
    assert_eq!(try_bind(&dc, "alice@example.com", "Passw0rd!").await.0, 0);
    dc.shutdown().await;
}

#[tokio::test]
async fn failures_carry_ad_sub_codes() {
    let dc = start().await;
    let cases = [
        ("svc-sync", SVC_PW, "52e"), // a bare name is no name AD resolves
        (SVC_DN, "wrong", "52e"),
        ("CN=Nobody,DC=corp,DC=example,DC=test", "x", "52e"),
        ("nobody@corp.example.test", "x", "52e"),
        ("CORP\\dora", "Passw0rd!", "533"),
        ("CORP\\dora", "wrong", "52e"), // sub-codes only with the right password
        ("CORP\\liam", "Passw0rd!", "775"),
        ("CORP\\liam", "wrong", "775"), // locked out whatever the password
        ("CORP\\pia", "Passw0rd!", "532"),
        ("CORP\\max", "Passw0rd!", "773"),
        ("CORP\\ada", "Passw0rd!", "701"),
    ];
    for (name, pw, data) in cases {
        let (rc, text) = try_bind(&dc, name, pw).await;
        assert_eq!((rc, text), (49, failure(data)), "{name} / {pw}");
    }
    dc.shutdown().await;
}

#[tokio::test]
async fn unknown_users_get_525_only_when_asked() {
    let dc = start_with(ServerOptions {
        unknown_user_525: true,
        ..ServerOptions::default()
    })
    .await;
    assert_eq!(
        try_bind(&dc, "nobody@corp.example.test", "x").await,
        (49, failure("525"))
    );
    assert_eq!(try_bind(&dc, SVC_DN, "wrong").await, (49, failure("52e")));
    dc.shutdown().await;
}

#[tokio::test]
async fn empty_password_is_an_anonymous_success() {
    let dc = start().await;
    let mut ldap = connect(ldap_addr(&dc, DC1)).await;
    let res = ldap.simple_bind(SVC_DN, "").await.unwrap();
    assert_eq!(res.rc, 0, "Windows accepts an unauthenticated bind");
    assert_eq!(
        whoami(&mut ldap).await,
        "",
        "…and the connection stays anonymous"
    );
    let (entries, res) = search(
        &mut ldap,
        DOMAIN,
        Scope::Subtree,
        "(objectClass=user)",
        &["cn"],
    )
    .await;
    assert!(entries.is_empty());
    assert_eq!((res.rc, res.text.as_str()), (1, NEEDS_BIND));
    dc.shutdown().await;
}

#[tokio::test]
async fn a_failed_bind_returns_to_anonymous() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    assert_eq!(ldap.simple_bind(SVC_DN, "wrong").await.unwrap().rc, 49);
    let (_, res) = search(&mut ldap, DOMAIN, Scope::Base, "(objectClass=*)", &["cn"]).await;
    assert_eq!(
        res.rc, 1,
        "RFC 4513 §4: a failed bind leaves the connection anonymous"
    );
    dc.shutdown().await;
}

#[tokio::test]
async fn sasl_is_not_supported() {
    let dc = start().await;
    let mut ldap = connect(ldap_addr(&dc, DC1)).await;
    let res = ldap.sasl_external_bind().await.unwrap();
    assert_eq!(res.rc, 7, "authMethodNotSupported: {}", res.text);
    assert!(res.text.starts_with("00002027: LdapErr"), "{}", res.text);
    dc.shutdown().await;
}
