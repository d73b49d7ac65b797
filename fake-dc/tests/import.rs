//! `fake-dc import`: what OpenLDAP's `ldapsearch -LLL` prints against a running fake-dc,
//! what `fake-dc export-ldif` writes (export → import → export gives the same LDIF apart
//! from order), and a file in the shape Windows' `ldifde -f` exports, each read into a
//! fixture that loads to the same directory.

#![allow(clippy::unwrap_used)]

mod reproduce_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use fake_dc::directory::{Directory, Guid, Sid};
use fake_dc::dn::Dn;
use fake_dc::ldif::{export, LdifFlavour};
use fake_dc::reproduce::import::{import_file, Quiet};
use fake_dc::server::{FakeDc, HostConfig, ServerOptions};
use fake_dc::tls::CertProfile;
use reproduce_support::*;

const DC1: &str = "dc1.corp.example.test";
const SVC: &str = "CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test";

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("fake-dc-import-{}-{name}", std::process::id()))
}

fn import_text(name: &str, text: &str) -> fake_dc::reproduce::Collected {
    let path = temp(name);
    std::fs::write(&path, text).unwrap();
    let collected = import_file(&path, None, Quiet).unwrap();
    let _ = std::fs::remove_file(&path);
    collected
}

fn reloaded(c: &fake_dc::reproduce::Collected) -> Directory {
    load(&fake_dc::fixture::write::to_string(&c.fixture).unwrap())
}

/// LDIF as a set of records, each a DN and its sorted lines: equal apart from order.
fn records(ldif: &str) -> BTreeSet<(String, Vec<String>)> {
    ldif.split("\n\n")
        .filter(|r| !r.trim().is_empty())
        .map(|r| {
            let mut lines: Vec<String> = r.lines().map(str::to_string).collect();
            let dn = lines.remove(0);
            lines.sort();
            (dn, lines)
        })
        .collect()
}

#[test]
fn export_import_export_gives_the_same_ldif() {
    for name in ["small-org.yaml", "two-domain-forest.yaml"] {
        let first = export(&shipped(name), LdifFlavour::Ad);
        let collected = import_text(name, &first);
        let second = export(&reloaded(&collected), LdifFlavour::Ad);
        let (a, b) = (records(&first), records(&second));
        let missing: Vec<_> = a.difference(&b).take(3).collect();
        let extra: Vec<_> = b.difference(&a).take(3).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{name}: {} records differ\nonly before: {missing:#?}\nonly after: {extra:#?}",
            a.symmetric_difference(&b).count()
        );
    }
}

async fn serve(dir: Directory, max_val_range: Option<usize>) -> FakeDc {
    let mut options = ServerOptions {
        policy: dir.query_policy.clone(),
        ..ServerOptions::default()
    };
    if let Some(n) = max_val_range {
        options.policy.max_val_range = n;
    }
    FakeDc::builder(dir)
        .host(
            DC1,
            HostConfig {
                cert: CertProfile::CaSigned,
                extra_names: vec!["127.0.0.1".into()],
                ..HostConfig::loopback()
            },
        )
        .options(options)
        .start()
        .await
        .unwrap()
}

/// `ldapsearch -LLL` over LDAPS, paged, everything under the domain.
async fn ldapsearch(dc: &FakeDc) -> String {
    let ca = temp("ca.pem");
    std::fs::write(&ca, dc.ca_pem()).unwrap();
    let port = dc.addresses(DC1).unwrap().ldaps.unwrap().port();
    let mut cmd = Command::new(test_peers::tool("ldapsearch"));
    cmd.args([
        "-LLL",
        "-H",
        &format!("ldaps://127.0.0.1:{port}"),
        "-x",
        "-D",
        SVC,
        "-w",
        "Sync-Secret-1",
        "-E",
        "pr=500/noprompt",
        "-b",
        "DC=corp,DC=example,DC=test",
        "(objectClass=*)",
        "*",
    ])
    .env("LDAPCONF", "/dev/null")
    .env("LDAPRC", "/dev/null")
    .env("LDAPTLS_CACERT", &ca)
    .env("LDAPTLS_REQCERT", "demand");
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| {
            panic!(
                "ldapsearch could not be run ({e}): {}",
                test_peers::SETUP_HINT
            )
        });
    let _ = std::fs::remove_file(&ca);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn what_ldapsearch_prints_imports_to_the_same_directory() {
    let original = shipped("small-org.yaml");
    let expected = picture(&original, false);
    // With MaxValRange above the largest group, `member` comes whole.
    let dc = serve(original.clone(), Some(5000)).await;
    let text = ldapsearch(&dc).await;
    dc.shutdown().await;
    assert!(text.contains("objectGUID:: "), "binary values come base64");
    let collected = import_text("ldapsearch.ldif", &text);
    assert!(collected.notes.is_empty(), "{:?}", collected.notes);
    assert_same(
        &expected,
        &picture(&reloaded(&collected), false),
        "ldapsearch -LLL",
    );

    // At AD's MaxValRange, ldapsearch (which does not follow ranges) prints the first
    // 1,500 members only: the import keeps them and says the rest is missing.
    let dc = serve(original, None).await;
    let text = ldapsearch(&dc).await;
    dc.shutdown().await;
    assert!(text.contains("member;range=0-1499: "));
    let collected = import_text("ldapsearch-ranged.ldif", &text);
    assert!(
        collected
            .notes
            .iter()
            .any(|n| n.contains("Contractors Group") && n.contains("range")),
        "{:?}",
        collected.notes
    );
}

#[test]
fn an_ldifde_export_imports() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ldifde-contoso.ldf");
    let collected = import_file(&path, Some("Passw0rd!".into()), Quiet).unwrap();
    let dir = reloaded(&collected);
    let at = |dn: &str| {
        dir.lookup(&Dn::parse(dn).unwrap())
            .unwrap_or_else(|| panic!("{dn}"))
    };
    let alice = at("CN=Alice Archer,OU=Sales,DC=contoso,DC=test");
    assert_eq!(
        dir.guid(alice),
        Guid::parse("3f2504e0-4f89-41d3-9a0c-0305e82c3301").unwrap()
    );
    assert_eq!(
        dir.entry(alice).sid.as_ref().map(Sid::to_string).as_deref(),
        Some("S-1-5-21-1004336348-1177238915-682003330-1104")
    );
    assert_eq!(dir.entry(alice).usn_created, 16403);
    assert_eq!(
        dir.values(alice, "whenCreated").first().cloned(),
        Some(b"20230301093012.0Z".to_vec())
    );
    // A binary attribute comes back byte for byte.
    assert_eq!(
        dir.values(alice, "mS-DS-ConsistencyGuid").first().cloned(),
        Some(dir.guid(alice).0.to_vec())
    );
    // Memberships from the group's `member`, the escaped comma and the base64 name included.
    let team = at("CN=Sales Team,OU=Groups,DC=contoso,DC=test");
    let members: BTreeSet<String> = dir
        .values(team, "member")
        .iter()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    assert_eq!(
        members,
        BTreeSet::from([
            "CN=Alice Archer,OU=Sales,DC=contoso,DC=test".to_string(),
            "CN=Smith\\, Bob,OU=Sales,DC=contoso,DC=test".to_string(),
            "CN=Zoë Müller,CN=Users,DC=contoso,DC=test".to_string(),
        ])
    );
    let zoe = at("CN=Zoë Müller,CN=Users,DC=contoso,DC=test");
    assert!(dir.is_disabled(zoe));
    assert_eq!(
        dir.values(at("CN=Smith\\, Bob,OU=Sales,DC=contoso,DC=test"), "manager")
            .first()
            .cloned(),
        Some(b"CN=Alice Archer,OU=Sales,DC=contoso,DC=test".to_vec())
    );
    // The domain SID and the computer outside any OU.
    assert_eq!(
        dir.domains[0].sid.to_string(),
        "S-1-5-21-1004336348-1177238915-682003330"
    );
    let ws = at("CN=WS-0042,CN=Computers,DC=contoso,DC=test");
    assert_eq!(dir.entry(ws).kind, fake_dc::schema::ObjectKind::Computer);
    assert_eq!(dir.by_upn("aarcher@contoso.test"), Some(alice));
}

/// The command itself: a change record is refused naming the file and line, exit 2.
#[test]
fn the_command_refuses_change_records_with_their_line() {
    let path = temp("change.ldif");
    std::fs::write(
        &path,
        "dn: DC=x,DC=test\nobjectClass: domainDNS\n\ndn: CN=a,DC=x,DC=test\nchangetype: delete\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fake-dc"))
        .args(["import", path.to_str().unwrap()])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}:5: 'CN=a,DC=x,DC=test' is a change record",
            path.display()
        )),
        "{err}"
    );
}

/// The command end to end: an export imported into a file that `fake-dc check` accepts.
#[test]
fn the_command_writes_a_fixture_that_checks() {
    let ldif = temp("export.ldif");
    let fixture = temp("imported.yaml");
    let bin = env!("CARGO_BIN_EXE_fake-dc");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/two-domain-forest.yaml");
    let out = Command::new(bin)
        .args(["export-ldif"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&ldif, &out.stdout).unwrap();
    let out = Command::new(bin)
        .args(["import"])
        .arg(&ldif)
        .arg("-o")
        .arg(&fixture)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(bin)
        .arg("check")
        .arg(&fixture)
        .output()
        .unwrap();
    let _ = (std::fs::remove_file(&ldif), std::fs::remove_file(&fixture));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `--anonymize` on import: the fixture loads, names none of the customer's people or
/// domains, and the mapping (which stays with the customer) reads them back.
#[test]
fn an_anonymized_import_names_nobody_and_its_mapping_reads_back() {
    let ldf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ldifde-contoso.ldf");
    let fixture = temp("anonymized.yaml");
    let mapping = temp("mapping.json");
    let bin = env!("CARGO_BIN_EXE_fake-dc");
    let out = Command::new(bin)
        .arg("import")
        .arg(&ldf)
        .arg("-o")
        .arg(&fixture)
        .args(["--anonymize", "--mapping"])
        .arg(&mapping)
        .env("FAKE_DC_ANONYMIZE_KEY", "a customer key of 32 characters!")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&fixture).unwrap();
    let map = std::fs::read_to_string(&mapping).unwrap();
    let check = Command::new(bin)
        .arg("check")
        .arg(&fixture)
        .output()
        .unwrap();
    let _ = (
        std::fs::remove_file(&fixture),
        std::fs::remove_file(&mapping),
    );
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    for token in [
        "Alice", "Archer", "aarcher", "Müller", "zmuller", "Vendor", "contoso",
    ] {
        assert!(!text.contains(token), "'{token}' survives:\n{text}");
        // The mapping keeps words case-folded; reversing restores the case.
        assert!(
            map.to_lowercase().contains(&token.to_lowercase()),
            "the mapping reads '{token}' back"
        );
    }
    // Identities are kept: they name nobody, and let the customer find the object.
    assert!(text.contains("3f2504e0-4f89-41d3-9a0c-0305e82c3301"));
    // Without a key it does not run.
    let out = Command::new(bin)
        .arg("import")
        .arg(&ldf)
        .args(["--anonymize", "--mapping", "/dev/null"])
        .env_remove("FAKE_DC_ANONYMIZE_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a key"));
}
