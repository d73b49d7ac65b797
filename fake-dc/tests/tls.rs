//! LDAPS, GC over TLS and StartTLS with clients that trust the generated CA, and each
//! certificate profile as a strict and a relaxed client see it.

// Helpers outside #[test] fns are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use fake_dc::server::{FakeDc, Fault, HostConfig};
use fake_dc::tls::CertProfile;
use ldap3::exop::{WhoAmI, WhoAmIResp};
use ldap3::Ldap;

async fn whoami(ldap: &mut Ldap) -> String {
    let (exop, _) = ldap.extended(WhoAmI).await.unwrap().success().unwrap();
    exop.parse::<WhoAmIResp>().authzid
}

#[tokio::test]
async fn ldaps_and_gc_tls_with_a_strict_client() {
    let dc = start().await;
    let a = dc.addresses(DC1).unwrap();
    for addr in [a.ldaps.unwrap(), a.gc_tls.unwrap()] {
        let mut ldap = connect_as("ldaps", DC1, addr, strict(&dc))
            .await
            .expect("strict TLS succeeds");
        ldap.simple_bind(SVC_DN, SVC_PW)
            .await
            .unwrap()
            .success()
            .unwrap();
        assert_eq!(whoami(&mut ldap).await, "u:CORP\\svc-sync");
    }
    // The domain's DNS name is in the certificate too (clients often connect by it).
    let ldap = connect_as("ldaps", "corp.example.test", a.ldaps.unwrap(), strict(&dc)).await;
    assert!(ldap.is_ok());
    dc.shutdown().await;
}

#[tokio::test]
async fn start_tls_upgrades_the_plain_port() {
    let dc = start().await;
    let addr = ldap_addr(&dc, DC1);
    let mut ldap = connect_as("ldap", DC1, addr, strict(&dc).set_starttls(true))
        .await
        .expect("StartTLS");
    ldap.simple_bind(SVC_DN, SVC_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(whoami(&mut ldap).await, "u:CORP\\svc-sync");
    // A second StartTLS on the same connection is refused.
    let start_tls = ldap3::exop::Exop {
        name: Some("1.3.6.1.4.1.1466.20037".into()),
        val: None,
    };
    let res = ldap.extended(start_tls).await.unwrap();
    assert_eq!(res.1.rc, 1, "{}", res.1.text);
    dc.shutdown().await;
}

#[tokio::test]
async fn each_certificate_profile_fails_a_strict_client_for_its_reason() {
    // The fixture has three DC hosts, fewer than the five profiles, so each profile gets
    // its own short-lived DC.
    for profile in CertProfile::ALL {
        let dc = FakeDc::builder(directory())
            .host(
                DC1,
                HostConfig {
                    cert: profile,
                    ..HostConfig::loopback()
                },
            )
            .start()
            .await
            .unwrap();
        let addr = dc.addresses(DC1).unwrap().ldaps.unwrap();
        let strict_result = connect_as("ldaps", DC1, addr, strict(&dc)).await;
        assert_eq!(
            strict_result.is_ok(),
            profile == CertProfile::CaSigned,
            "strict client and {profile}"
        );
        let mut relaxed_conn = connect_as("ldaps", DC1, addr, relaxed())
            .await
            .expect("relaxed accepts any certificate");
        relaxed_conn
            .simple_bind(SVC_DN, SVC_PW)
            .await
            .unwrap()
            .success()
            .unwrap();
        // StartTLS presents the same certificate.
        let plain = dc.addresses(DC1).unwrap().ldap.unwrap();
        let st = connect_as("ldap", DC1, plain, strict(&dc).set_starttls(true)).await;
        assert_eq!(
            st.is_ok(),
            profile == CertProfile::CaSigned,
            "StartTLS, strict client and {profile}"
        );
        dc.shutdown().await;
    }
}

#[tokio::test]
async fn passwords_are_only_set_over_tls() {
    let dc = start().await;
    let quoted = |p: &str| -> Vec<u8> {
        format!("\"{p}\"")
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect()
    };
    let pwd = quoted("N3w-Secret!");
    let mods = vec![ldap3::Mod::Replace(
        b"unicodePwd".to_vec(),
        [pwd.clone()].into_iter().collect(),
    )];
    let mut plain = svc(&dc).await;
    let res = plain.modify(ALICE, mods.clone()).await.unwrap();
    assert_eq!(res.rc, 53);
    assert!(res.text.starts_with("0000001F: SvcErr: "), "{}", res.text);
    let mut tls = connect_as(
        "ldaps",
        DC1,
        dc.addresses(DC1).unwrap().ldaps.unwrap(),
        strict(&dc),
    )
    .await
    .unwrap();
    tls.simple_bind(SVC_DN, SVC_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    tls.modify(ALICE, mods).await.unwrap().success().unwrap();
    let mut again = connect(ldap_addr(&dc, DC1)).await;
    again
        .simple_bind("alice@example.com", "N3w-Secret!")
        .await
        .unwrap()
        .success()
        .unwrap();
    dc.shutdown().await;
}

#[tokio::test]
async fn the_tls_handshake_failure_fault() {
    let dc = start().await;
    let a = dc.addresses(DC1).unwrap();
    dc.fault(DC1, Fault::TlsHandshakeFailure).await.unwrap();
    assert!(connect_as("ldaps", DC1, a.ldaps.unwrap(), strict(&dc))
        .await
        .is_err());
    assert!(
        connect_as("ldap", DC1, a.ldap.unwrap(), strict(&dc).set_starttls(true))
            .await
            .is_err()
    );
    // Plain LDAP is unaffected; dc2 is unaffected.
    let mut plain = connect(a.ldap.unwrap()).await;
    plain
        .simple_bind(SVC_DN, SVC_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    assert!(connect_as(
        "ldaps",
        DC2,
        dc.addresses(DC2).unwrap().ldaps.unwrap(),
        strict(&dc)
    )
    .await
    .is_ok());
    dc.clear_faults(DC1).await.unwrap();
    assert!(connect_as("ldaps", DC1, a.ldaps.unwrap(), strict(&dc))
        .await
        .is_ok());
    dc.shutdown().await;
}
