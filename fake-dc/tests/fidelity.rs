//! Places where fake-dc answered differently from a real AD (found by the differential test
//! against Samba AD, issue 17), each pinned: binds by DNs with escaped characters,
//! `msDS-User-Account-Control-Computed` of must-change accounts, `pwdLastSet` after a
//! password change, `manager` in the Global Catalog, and the fixture's built-in account
//! passwords, computers and `attributes:` that replace computed values.

#![allow(clippy::unwrap_used)] // tests fail loudly

use fake_dc::directory::{filetime_from_unix, Directory, ModOp, Modification};
use fake_dc::fixture::{load_str, LoadOptions};
use fake_dc::server::{FakeDc, HostConfig};
use ldap3::{LdapConnAsync, Scope, SearchEntry};

const NOW: i64 = 1_795_300_000;
const BASE: &str = "DC=corp,DC=example,DC=test";
const FIXTURE: &str = r#"
defaultPassword: "Passw0rd!"
domains:
  - dns: corp.example.test
    builtinAccounts:
      Administrator: { password: "Admin-Secret-1" }
      Guest: { state: enabled, password: "Guest-Secret-1" }
    computers:
      - { cn: WS01, dNSHostName: ws01.corp.example.test }
    ous:
      - name: People
        users:
          - { cn: "Smith, John", sAMAccountName: jsmith }
          - { cn: "Back\\slash", sAMAccountName: bslash }
          - { cn: Boss, sAMAccountName: boss }
          - { cn: Minion, sAMAccountName: minion, attributes: { manager: "CN=Boss,OU=People,DC=corp,DC=example,DC=test" } }
          - { cn: Newbie, sAMAccountName: newbie, state: must-change-password }
          - { cn: Forever, sAMAccountName: forever, attributes: { userAccountControl: 66048, accountExpires: 0 } }
        computers:
          - { cn: SRV01, sAMAccountName: "SRV01$", password: "Machine-1" }
"#;

fn directory() -> Directory {
    load_str(
        FIXTURE,
        "fidelity.yaml",
        LoadOptions {
            fixed_time: Some(NOW),
        },
    )
    .unwrap()
}

async fn start() -> FakeDc {
    FakeDc::builder(directory())
        .host("dc1.corp.example.test", HostConfig::loopback())
        .start()
        .await
        .unwrap()
}

async fn connect(url: String) -> ldap3::Ldap {
    let (conn, ldap) = LdapConnAsync::new(&url).await.unwrap();
    ldap3::drive!(conn);
    ldap
}

async fn bind_rc(dc: &FakeDc, name: &str, password: &str) -> (u32, String) {
    let addr = dc.addresses("dc1.corp.example.test").unwrap().ldap.unwrap();
    let mut ldap = connect(format!("ldap://{addr}")).await;
    let r = ldap.simple_bind(name, password).await.unwrap();
    (r.rc, r.text)
}

async fn read(ldap: &mut ldap3::Ldap, base: &str, attrs: Vec<&str>) -> SearchEntry {
    let (mut entries, _) = ldap
        .search(base, Scope::Base, "(objectClass=*)", attrs)
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(entries.len(), 1, "{base}");
    SearchEntry::construct(entries.remove(0))
}

#[tokio::test]
async fn a_dn_with_escaped_characters_binds_as_that_dn() {
    let dc = start().await;
    for dn in [
        r"CN=Smith\, John,OU=People,DC=corp,DC=example,DC=test",
        r"CN=Smith\2C John,OU=People,DC=corp,DC=example,DC=test",
        r"CN=Back\\slash,OU=People,DC=corp,DC=example,DC=test",
    ] {
        assert_eq!(
            bind_rc(&dc, dn, "Passw0rd!").await,
            (0, String::new()),
            "{dn}"
        );
    }
    // Down-level names still bind, and a wrong password is still 52e.
    assert_eq!(bind_rc(&dc, r"CORP\jsmith", "Passw0rd!").await.0, 0);
    let (rc, text) = bind_rc(
        &dc,
        r"CN=Smith\, John,OU=People,DC=corp,DC=example,DC=test",
        "x",
    )
    .await;
    assert_eq!(rc, 49);
    assert!(text.contains("data 52e"), "{text}");
    dc.shutdown().await;
}

#[tokio::test]
async fn must_change_password_reads_as_expired_in_the_computed_flags() {
    let dc = start().await;
    let addr = dc.addresses("dc1.corp.example.test").unwrap().ldap.unwrap();
    let mut ldap = connect(format!("ldap://{addr}")).await;
    ldap.simple_bind("Administrator@corp.example.test", "Admin-Secret-1")
        .await
        .unwrap()
        .success()
        .unwrap();
    let computed = "msDS-User-Account-Control-Computed";
    let newbie = read(
        &mut ldap,
        &format!("CN=Newbie,OU=People,{BASE}"),
        vec![computed],
    )
    .await;
    assert_eq!(newbie.attrs[computed], vec!["8388608"]);
    // Passwords that never expire are never expired, whatever pwdLastSet says.
    let forever = read(
        &mut ldap,
        &format!("CN=Forever,OU=People,{BASE}"),
        vec![computed],
    )
    .await;
    assert_eq!(forever.attrs[computed], vec!["0"]);
    dc.shutdown().await;
}

#[test]
fn a_password_change_stamps_pwd_last_set() {
    let mut dir = directory();
    let id = dir
        .lookup(&format!("CN=Newbie,OU=People,{BASE}").parse().unwrap())
        .unwrap();
    assert_eq!(dir.entry(id).get_int("pwdLastSet"), Some(0));
    let pwd: Vec<u8> = "\"New-Secret-2\""
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let change = Modification {
        op: ModOp::Replace,
        attr: "unicodePwd".into(),
        values: vec![pwd],
    };
    dir.modify(id, std::slice::from_ref(&change), true).unwrap();
    assert_eq!(
        dir.entry(id).get_int("pwdLastSet"),
        Some(filetime_from_unix(NOW))
    );
    // A reset that asks for a change at next logon keeps pwdLastSet 0.
    let must_change = Modification {
        op: ModOp::Replace,
        attr: "pwdLastSet".into(),
        values: vec![b"0".to_vec()],
    };
    dir.modify(id, &[change, must_change], true).unwrap();
    assert_eq!(dir.entry(id).get_int("pwdLastSet"), Some(0));
}

#[tokio::test]
async fn the_global_catalog_returns_manager() {
    let dc = start().await;
    let gc = dc.addresses("dc1.corp.example.test").unwrap().gc.unwrap();
    let mut ldap = connect(format!("ldap://{gc}")).await;
    ldap.simple_bind(
        &format!("CN=Administrator,CN=Users,{BASE}"),
        "Admin-Secret-1",
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    let minion = read(
        &mut ldap,
        &format!("CN=Minion,OU=People,{BASE}"),
        vec!["manager"],
    )
    .await;
    assert_eq!(
        minion.attrs["manager"],
        vec![format!("CN=Boss,OU=People,{BASE}")]
    );
    dc.shutdown().await;
}

#[tokio::test]
async fn built_in_accounts_take_the_fixtures_passwords_and_states() {
    let dc = start().await;
    assert_eq!(
        bind_rc(&dc, r"CORP\Administrator", "Admin-Secret-1")
            .await
            .0,
        0
    );
    // Guest is disabled as AD creates it; the fixture enabled it.
    assert_eq!(bind_rc(&dc, "CORP\\Guest", "Guest-Secret-1").await.0, 0);
    let (rc, text) = bind_rc(&dc, r"CORP\krbtgt", "Passw0rd!").await;
    assert_eq!(rc, 49, "{text}");
    dc.shutdown().await;
}

#[tokio::test]
async fn computers_are_computer_accounts_that_bind() {
    let dc = start().await;
    let addr = dc.addresses("dc1.corp.example.test").unwrap().ldap.unwrap();
    let mut ldap = connect(format!("ldap://{addr}")).await;
    ldap.simple_bind(r"CORP\SRV01$", "Machine-1")
        .await
        .unwrap()
        .success()
        .unwrap();
    let attrs = vec![
        "objectClass",
        "sAMAccountName",
        "primaryGroupID",
        "userAccountControl",
        "sAMAccountType",
        "dNSHostName",
    ];
    let ws = read(
        &mut ldap,
        &format!("CN=WS01,CN=Computers,{BASE}"),
        attrs.clone(),
    )
    .await;
    assert_eq!(
        ws.attrs["objectClass"].last().map(String::as_str),
        Some("computer")
    );
    assert_eq!(ws.attrs["sAMAccountName"], vec!["WS01$"]);
    assert_eq!(ws.attrs["primaryGroupID"], vec!["515"]);
    assert_eq!(ws.attrs["userAccountControl"], vec!["4096"]);
    assert_eq!(ws.attrs["sAMAccountType"], vec!["805306369"]);
    assert_eq!(ws.attrs["dNSHostName"], vec!["ws01.corp.example.test"]);
    let srv = read(&mut ldap, &format!("CN=SRV01,OU=People,{BASE}"), attrs).await;
    assert_eq!(srv.attrs["sAMAccountName"], vec!["SRV01$"]);
    dc.shutdown().await;
}

#[test]
fn single_valued_attributes_replace_the_computed_value() {
    let dir = directory();
    let id = dir
        .lookup(&format!("CN=Forever,OU=People,{BASE}").parse().unwrap())
        .unwrap();
    let e = dir.entry(id);
    let values = |name: &str| {
        e.attrs
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .map(|a| a.values.to_vec())
    };
    assert_eq!(values("userAccountControl"), Some(vec![b"66048".to_vec()]));
    assert_eq!(values("accountExpires"), Some(vec![b"0".to_vec()]));
}

/// Loading `yaml` fails with exactly these `line:column: message` problems.
fn problems(yaml: &str) -> Vec<String> {
    match load_str(
        yaml,
        "bad.yaml",
        LoadOptions {
            fixed_time: Some(NOW),
        },
    ) {
        Ok(_) => panic!("loaded:\n{yaml}"),
        Err(e) => e.problems().iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn an_attribute_that_contradicts_the_state_is_an_error_at_the_attribute() {
    let yaml = "domains:\n  - dns: corp.example.test\n    users:\n      - cn: Dora\n        state: disabled\n        attributes:\n          userAccountControl: 512\n      - cn: Ed\n        state: must-change-password\n        attributes: { pwdLastSet: 134000000000000000 }\n      - cn: Fay\n        state: account-expired\n        attributes:\n          accountExpires: 9223372036854775807\n";
    let ps = problems(yaml);
    assert_eq!(ps.len(), 3, "{ps:#?}");
    assert!(
        ps[0].starts_with("bad.yaml:7:11: userAccountControl: 512 contradicts state: disabled"),
        "{}",
        ps[0]
    );
    assert!(ps[1].starts_with("bad.yaml:10:23: pwdLastSet: 134000000000000000 contradicts state: must-change-password"), "{}", ps[1]);
    assert!(ps[2].starts_with("bad.yaml:14:11: accountExpires: 9223372036854775807 contradicts state: account-expired"), "{}", ps[2]);
}

#[test]
fn bad_accounts_are_errors_at_their_place() {
    let yaml = "domains:\n  - dns: corp.example.test\n    builtinAccounts:\n      Root: { password: x }\n    computers:\n      - { cn: WS02, sAMAccountName: WS02 }\n    users:\n      - cn: Gil\n        attributes:\n          userAccountControl: [512, 514]\n";
    let ps = problems(yaml);
    assert_eq!(ps.len(), 3, "{ps:#?}");
    assert!(
        ps.iter()
            .any(|p| p.starts_with("bad.yaml:4:7: 'Root' is no built-in account")),
        "{ps:#?}"
    );
    assert!(
        ps.iter()
            .any(|p| p.starts_with("bad.yaml:6:21: a computer's sAMAccountName ends with '$'")),
        "{ps:#?}"
    );
    assert!(
        ps.iter()
            .any(|p| p.starts_with("bad.yaml:10:11: userAccountControl is single-valued")),
        "{ps:#?}"
    );
}
