//! What DirSync entries hold, as AD (and Samba's AD DC, checked by the workspace's
//! differential test) return them: no empty attributes on objects that never had them,
//! no object holding none of the requested attributes, tombstones in first rounds,
//! removed attributes as attributes with no values, and AD's cookie layout, so another
//! DC's cookie restarts the sync instead of being refused. Behaviour: docs/dirsync.md.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use fake_dc::fixture::{self, LoadOptions};
use fake_dc::server::{FakeDc, HostConfig};
use ldap3::asn1::{parse_tag, parse_uint};
use ldap3::controls::RawControl;
use ldap3::{Ldap, LdapConnAsync, Mod, Scope, SearchEntry};

const FIXTURE: &str = include_str!("fixtures/controls.yaml");
const DC1: &str = "dc1.corp.example.test";
const DOMAIN: &str = "DC=corp,DC=example,DC=test";
const PEOPLE: &str = "OU=People,DC=corp,DC=example,DC=test";
const READER: &str = "CN=DirSync Reader,OU=Service Accounts,DC=corp,DC=example,DC=test";
const READER_PW: &str = "Sync-Secret-1";
const OID: &str = "1.2.840.113556.1.4.841";

async fn start() -> (FakeDc, Ldap) {
    let dir = fixture::load_str(FIXTURE, "controls.yaml", LoadOptions::default()).unwrap();
    let dc = FakeDc::builder(dir)
        .host(DC1, HostConfig::loopback())
        .start()
        .await
        .unwrap();
    let addr = dc.addresses(DC1).and_then(|a| a.ldap).unwrap();
    let (conn, mut ldap) = LdapConnAsync::new(&format!("ldap://{addr}")).await.unwrap();
    ldap3::drive!(conn);
    ldap.simple_bind(READER, READER_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    (dc, ldap)
}

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    assert!(body.len() < 0x80, "short forms only");
    let mut out = vec![tag, body.len() as u8];
    out.extend_from_slice(body);
    out
}

/// The request value with flags 0 and MaxBytes 0 (cookies here are under 128 bytes).
fn request(cookie: &[u8]) -> Vec<u8> {
    let mut body = tlv(0x02, &[0]);
    body.extend(tlv(0x02, &[0]));
    body.extend(tlv(0x04, cookie));
    tlv(0x30, &body)
}

/// One round over the domain: the entries and the cookie to continue with.
async fn round(ldap: &mut Ldap, cookie: &[u8], attrs: &[&str]) -> (Vec<SearchEntry>, Vec<u8>) {
    let r = ldap
        .with_controls(RawControl {
            ctype: OID.into(),
            crit: true,
            val: Some(request(cookie)),
        })
        .search(DOMAIN, Scope::Subtree, "(objectClass=*)", attrs.to_vec())
        .await
        .unwrap();
    assert_eq!(r.1.rc, 0, "{}", r.1.text);
    let value = r.1.ctrls.iter().find(|c| c.1.ctype == OID).unwrap();
    let (_, tag) = parse_tag(value.1.val.as_deref().unwrap()).unwrap();
    let parts = tag.expect_constructed().unwrap();
    let more = parse_uint(&parts[0].clone().expect_primitive().unwrap())
        .unwrap()
        .1;
    assert_eq!(more, 0);
    let next = parts[2].clone().expect_primitive().unwrap();
    let entries = r.0.into_iter().map(SearchEntry::construct).collect();
    (entries, next)
}

fn find<'a>(entries: &'a [SearchEntry], dn_start: &str) -> Option<&'a SearchEntry> {
    entries.iter().find(|e| e.dn.starts_with(dn_start))
}

#[tokio::test]
async fn entries_carry_what_ad_reports() {
    let (dc, mut ldap) = start().await;
    let dan = format!("CN=Dan Dunn,{PEOPLE}");
    let bob = format!("CN=Bob Baker,{PEOPLE}");
    let r = ldap.delete(&dan).await.unwrap();
    assert_eq!(r.rc, 0, "{}", r.text);

    let (first, cookie) = round(&mut ldap, &[], &["department", "member", "isDeleted"]).await;
    // Only objects holding a requested attribute: OUs and Bob (no department) are left out.
    assert!(find(&first, PEOPLE).is_none(), "{first:#?}");
    assert!(find(&first, &bob).is_none(), "{first:#?}");
    // No empty `member` on objects without members.
    for e in &first {
        assert!(
            e.attrs.get("member").is_none_or(|v| !v.is_empty()),
            "{e:#?}"
        );
    }
    // A first round includes tombstones.
    let tomb = find(&first, "CN=Dan Dunn\\0ADEL:").expect("Dan's tombstone in the first round");
    assert_eq!(tomb.attrs["isDeleted"], vec!["TRUE"]);
    assert!(!tomb.attrs.contains_key("name"), "{tomb:#?}");
    // AD's cookie layout.
    assert_eq!(&cookie[..8], b"MSDS\x03\x00\x00\x00");
    assert_eq!(cookie.len(), 108);

    let alice = format!("CN=Alice Archer,{PEOPLE}");
    let r = ldap
        .modify(&alice, vec![Mod::Delete("department", HashSet::new())])
        .await
        .unwrap();
    assert_eq!(r.rc, 0, "{}", r.text);
    let (second, _) = round(&mut ldap, &cookie, &["department", "mail"]).await;
    assert_eq!(second.len(), 1, "{second:#?}");
    // A removed attribute comes back with no values; the unchanged mail not at all.
    assert_eq!(second[0].attrs.get("department"), Some(&Vec::new()));
    assert!(!second[0].attrs.contains_key("mail"), "{second:#?}");

    // Another DC's cookie (AD's layout, another invocationId, a vector that does not
    // name this DC): a full round in which removals are reported too.
    let mut foreign = cookie.clone();
    foreign[52..68].copy_from_slice(&[0x5a; 16]);
    foreign[84..100].copy_from_slice(&[0x5a; 16]);
    let (full, _) = round(&mut ldap, &foreign, &["department"]).await;
    let alice_again = find(&full, &alice).expect("Alice in the full round");
    assert_eq!(alice_again.attrs.get("department"), Some(&Vec::new()));
    assert!(find(&full, &format!("CN=Carol Chen,{PEOPLE}")).is_some());
    dc.shutdown().await;
}
