//! Sign-in pass-through: find the user by primary address as the service account, bind
//! as it, and map AD's answer.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use fake_dc::tls::CertProfile;
use reference_stack::report::SyncMethod;
use reference_stack::settings::EncryptionMode;
use reference_stack::stack::{sign_in, SignInOutcome};

#[tokio::test]
async fn sign_in_outcomes() {
    let dc = start("small-org.yaml", &[DC1, DC2], CertProfile::CaSigned).await;
    let env = env(&dc, SyncMethod::DirectoryConnector);
    let connector = connector(EncryptionMode::Strict);
    let check = |address: &'static str, password: &'static str, expected: SignInOutcome| {
        let env = &env;
        let connector = &connector;
        async move {
            let got = sign_in(env, connector, address, password).await;
            assert_eq!(got, expected, "{address} / {password:?}");
        }
    };
    check(
        "Alice.Archer@corp.example.test",
        "Passw0rd!",
        SignInOutcome::SignedIn {
            dn: "CN=Alice Archer,OU=Engineering,OU=Staff,DC=corp,DC=example,DC=test".into(),
        },
    )
    .await;
    // Kai has no `mail`, only an SMTP: proxy address.
    check(
        "kai.kowalski@corp.example.test",
        "Passw0rd!",
        SignInOutcome::SignedIn {
            dn: "CN=Kai Kowalski,OU=Engineering,OU=Staff,DC=corp,DC=example,DC=test".into(),
        },
    )
    .await;
    check(
        "alice.archer@corp.example.test",
        "wrong",
        SignInOutcome::WrongPassword,
    )
    .await;
    check(
        "alice.archer@corp.example.test",
        "",
        SignInOutcome::WrongPassword,
    )
    .await;
    check(
        "nobody@corp.example.test",
        "Passw0rd!",
        SignInOutcome::UnknownAddress,
    )
    .await;
    check("not an address", "Passw0rd!", SignInOutcome::UnknownAddress).await;
    // An alias is not a sign-in name.
    check(
        "alice@corp.example.test",
        "Passw0rd!",
        SignInOutcome::UnknownAddress,
    )
    .await;
    check(
        "pavel.petrov@corp.example.test",
        "Passw0rd!",
        SignInOutcome::Disabled,
    )
    .await;
    check(
        "erin.eriksen@corp.example.test",
        "Passw0rd!",
        SignInOutcome::LockedOut,
    )
    .await;
    check(
        "gita.gupta@corp.example.test",
        "Passw0rd!",
        SignInOutcome::PasswordExpired,
    )
    .await;
    check(
        "hugo.hansen@corp.example.test",
        "Passw0rd!",
        SignInOutcome::MustChangePassword,
    )
    .await;

    let expired = sign_in(
        &env,
        &connector,
        "jonas.jensen@corp.example.test",
        "Passw0rd!",
    )
    .await;
    assert!(
        matches!(&expired, SignInOutcome::Failed { reason } if reason.contains("account expired (AD data 701)") && reason.contains(DC1)),
        "{expired:?}"
    );

    // The primary down: the sign-in fails over like a sync.
    dc.fault(DC1, fake_dc::server::Fault::Down).await.unwrap();
    check(
        "maya.mueller@corp.example.test",
        "Passw0rd!",
        SignInOutcome::SignedIn {
            dn: "CN=Maya Müller,OU=Sales,OU=Staff,DC=corp,DC=example,DC=test".into(),
        },
    )
    .await;
    dc.shutdown().await;
}

#[tokio::test]
async fn the_agent_offers_no_sign_in_and_a_bad_service_account_says_so() {
    let dc = start("small-org.yaml", &[DC1], CertProfile::CaSigned).await;
    let agent = env(&dc, SyncMethod::Agent);
    let mut connector = connector(EncryptionMode::Strict);
    connector.secondary_host = None;
    let got = sign_in(
        &agent,
        &connector,
        "alice.archer@corp.example.test",
        "Passw0rd!",
    )
    .await;
    assert!(
        matches!(&got, SignInOutcome::Failed { reason } if reason.contains("directory connector method only")),
        "{got:?}"
    );

    let env = env(&dc, SyncMethod::DirectoryConnector);
    connector.password = "wrong".into();
    let got = sign_in(
        &env,
        &connector,
        "alice.archer@corp.example.test",
        "Passw0rd!",
    )
    .await;
    assert!(
        matches!(&got, SignInOutcome::Failed { reason } if reason.contains(DC1) && reason.contains("data 52e")),
        "{got:?}"
    );
    dc.shutdown().await;
}
