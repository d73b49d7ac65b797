//! The directory model through its library API: computed attributes (snapshot),
//! mutations keeping links, indexes and USNs consistent, tombstones, searches.

#![allow(clippy::unwrap_used)] // tests and benches fail loudly on broken fixtures
use fake_dc::directory::{Directory, EntryId, Guid, Scope, Sid};
use fake_dc::dn::{Dn, Rdn};
use fake_dc::filter::Filter;
use fake_dc::fixture::{load_file, LoadOptions};

/// 2026-11-21T12:00:00Z, so times in snapshots are stable.
const NOW: i64 = 1_795_262_400;

fn small_org() -> Directory {
    load_file(
        std::path::Path::new("../fixtures/small-org.yaml"),
        LoadOptions {
            fixed_time: Some(NOW),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn id(dir: &Directory, dn: &str) -> EntryId {
    dir.resolve(&Dn::parse(dn).unwrap())
        .unwrap_or_else(|e| panic!("{dn}: {e}"))
}

/// An entry as `ldapsearch` would print it, binary values in their string forms.
fn render(dir: &Directory, id: EntryId, extra: &[&str]) -> String {
    let mut out = format!("dn: {}\n", dir.dn(id));
    let mut names: Vec<String> = dir
        .attribute_names(id)
        .into_iter()
        .map(|n| n.into_owned())
        .collect();
    names.extend(extra.iter().map(|s| s.to_string()));
    for name in names {
        for v in dir.values(id, &name).iter() {
            let shown = match name.as_str() {
                "objectGUID" => Guid(v.as_slice().try_into().unwrap()).to_string(),
                "objectSid" => Sid::from_bytes(v).unwrap().to_string(),
                "tokenGroups" => Sid::from_bytes(v).unwrap().to_string(),
                "parentGUID" => Guid(v.as_slice().try_into().unwrap()).to_string(),
                _ => String::from_utf8_lossy(v).into_owned(),
            };
            out.push_str(&format!("{name}: {shown}\n"));
        }
    }
    out
}

#[test]
fn computed_view_of_the_small_organisation() {
    let dir = small_org();
    let constructed = [
        "canonicalName",
        "primaryGroupToken",
        "msDS-User-Account-Control-Computed",
        "tokenGroups",
        "parentGUID",
    ];
    let mut out = String::new();
    for dn in [
        "CN=Alice Archer,OU=Engineering,OU=Staff,DC=corp,DC=example,DC=test",
        "CN=Erin Eriksen,OU=Engineering,OU=Staff,DC=corp,DC=example,DC=test",
        "CN=Tariq Tanaka,OU=Sales,OU=Staff,DC=corp,DC=example,DC=test",
        "CN=Sales Team,OU=Groups,DC=corp,DC=example,DC=test",
        "CN=Platform Team,OU=Groups,DC=corp,DC=example,DC=test",
        "CN=Smith\\, John,OU=R&D\\, Europe,OU=Staff,DC=corp,DC=example,DC=test",
        "CN=Vendor Support,OU=Contacts,DC=corp,DC=example,DC=test",
        "CN=Sales Everyone,OU=Groups,DC=corp,DC=example,DC=test",
        "CN=S-1-5-21-3623811015-3361044348-30300820-1013,CN=ForeignSecurityPrincipals,DC=corp,DC=example,DC=test",
    ] {
        out.push_str(&render(&dir, id(&dir, dn), &constructed));
        out.push('\n');
    }
    insta::assert_snapshot!(out);
}

#[test]
fn member_of_omits_the_primary_group_and_the_group_token_matches() {
    let dir = small_org();
    let tariq = id(
        &dir,
        "CN=Tariq Tanaka,OU=Sales,OU=Staff,DC=corp,DC=example,DC=test",
    );
    let sales = id(&dir, "CN=Sales Team,OU=Groups,DC=corp,DC=example,DC=test");
    assert_eq!(dir.primary_group(tariq), Some(sales));
    assert!(dir.values(tariq, "memberOf").is_empty());
    let token = dir.values(sales, "primaryGroupToken")[0].clone();
    assert_eq!(dir.values(tariq, "primaryGroupID")[0], token);
}

#[test]
fn renames_and_moves_keep_identity_and_rename_the_subtree() {
    let mut dir = small_org();
    let sales_ou = id(&dir, "OU=Sales,OU=Staff,DC=corp,DC=example,DC=test");
    let maya = id(
        &dir,
        "CN=Maya Müller,OU=Sales,OU=Staff,DC=corp,DC=example,DC=test",
    );
    let guid = dir.guid(maya);
    let usn = dir.entry(maya).usn_changed;
    dir.rename(sales_ou, Rdn::new("OU", "Revenue"), None)
        .unwrap();
    assert_eq!(
        id(
            &dir,
            "CN=maya müller,OU=revenue,OU=Staff,DC=corp,DC=example,DC=test"
        ),
        maya
    );
    assert!(dir
        .lookup(&Dn::parse("CN=Maya Müller,OU=Sales,OU=Staff,DC=corp,DC=example,DC=test").unwrap())
        .is_none());
    // Group membership follows the rename: member values carry the new DN.
    let team = id(&dir, "CN=Sales Team,OU=Groups,DC=corp,DC=example,DC=test");
    let members: Vec<String> = dir
        .values(team, "member")
        .iter()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    assert!(
        members
            .contains(&"CN=Maya Müller,OU=Revenue,OU=Staff,DC=corp,DC=example,DC=test".to_string()),
        "{members:?}"
    );
    // A move to another OU keeps the GUID and bumps uSNChanged.
    let finance = id(&dir, "OU=Finance,OU=Staff,DC=corp,DC=example,DC=test");
    dir.rename(maya, Rdn::new("CN", "Maya Mueller"), Some(finance))
        .unwrap();
    assert_eq!(
        dir.guid(id(
            &dir,
            "CN=Maya Mueller,OU=Finance,OU=Staff,DC=corp,DC=example,DC=test"
        )),
        guid
    );
    assert!(dir.entry(maya).usn_changed > usn);
    assert_eq!(dir.highest_usn(), dir.entry(maya).usn_changed);
    // The DN text kept per entry follows every rename, move and delete of an ancestor.
    let staff = id(&dir, "OU=Staff,DC=corp,DC=example,DC=test");
    dir.rename(staff, Rdn::new("OU", "Employees, All"), None)
        .unwrap();
    let bob = id(
        &dir,
        "CN=Bob Baker,OU=Engineering,OU=Employees\\, All,DC=corp,DC=example,DC=test",
    );
    dir.delete(bob).unwrap();
    assert!(dir.dn_str(bob).contains("\\0ADEL:"), "{}", dir.dn_str(bob));
    for e in dir.ids() {
        assert_eq!(dir.dn_str(e), dir.dn(e).to_string());
    }
    assert_eq!(
        dir.dn_str(maya),
        "CN=Maya Mueller,OU=Finance,OU=Employees\\, All,DC=corp,DC=example,DC=test"
    );
}

#[test]
fn delete_leaves_a_tombstone_visible_only_with_show_deleted() {
    let mut dir = small_org();
    let bob = id(
        &dir,
        "CN=Bob Baker,OU=Engineering,OU=Staff,DC=corp,DC=example,DC=test",
    );
    let team = id(
        &dir,
        "CN=Engineering Team,OU=Groups,DC=corp,DC=example,DC=test",
    );
    let guid = dir.guid(bob);
    let sid = dir.entry(bob).sid.clone();
    dir.delete(bob).unwrap();
    let dn = dir.dn(bob);
    assert_eq!(
        dn.to_string(),
        format!("CN=Bob Baker\\0ADEL:{guid},CN=Deleted Objects,DC=corp,DC=example,DC=test")
    );
    assert_eq!(dir.values(bob, "isDeleted")[0], b"TRUE");
    assert_eq!(
        String::from_utf8_lossy(&dir.values(bob, "lastKnownParent")[0]),
        "OU=Engineering,OU=Staff,DC=corp,DC=example,DC=test"
    );
    assert_eq!(
        dir.entry(bob).sid,
        sid,
        "objectSid survives on the tombstone"
    );
    assert_eq!(dir.entry(bob).get_str("sAMAccountName"), Some("bbaker"));
    assert!(dir.entry(bob).get("mail").is_none(), "mail is stripped");
    assert!(!dir.entry(team).members.contains(&bob), "links are removed");
    let head = dir.domains[0].head;
    let f: Filter = "(sAMAccountName=bbaker)".parse().unwrap();
    assert!(dir.search(head, Scope::Subtree, &f, false).is_empty());
    assert_eq!(dir.search(head, Scope::Subtree, &f, true), vec![bob]);
    // The mail index forgot the address.
    assert_eq!(
        dir.by_value("mail", "bob.baker@corp.example.test"),
        Some(&[][..])
    );
}

#[test]
fn refusals_carry_ad_codes_and_texts() {
    let mut dir = small_org();
    let staff = id(&dir, "OU=Staff,DC=corp,DC=example,DC=test");
    let err = dir.delete(staff).unwrap_err();
    assert_eq!(err.result_code(), 66);
    assert!(err.diagnostic().starts_with("00002015: UpdErr"));
    let alice = id(
        &dir,
        "CN=Alice Archer,OU=Engineering,OU=Staff,DC=corp,DC=example,DC=test",
    );
    let err = dir
        .set(alice, "memberOf", &["CN=x,DC=corp,DC=example,DC=test"])
        .unwrap_err();
    assert_eq!(err.result_code(), 53);
    let err = dir.set(alice, "sAMAccountName", &["bbaker"]).unwrap_err();
    assert_eq!(
        (err.result_code(), &err.diagnostic()[..8]),
        (68, "00000524")
    );
    let err = dir
        .resolve(&Dn::parse("CN=Ghost,OU=Engineering,OU=Staff,DC=corp,DC=example,DC=test").unwrap())
        .unwrap_err();
    assert_eq!(err.result_code(), 32);
    assert_eq!(
        err.matched_dn(),
        "OU=Engineering,OU=Staff,DC=corp,DC=example,DC=test"
    );
    assert!(err
        .diagnostic()
        .contains("best match of:\n\t'OU=Engineering,OU=Staff,DC=corp,DC=example,DC=test'"));
    let team = id(
        &dir,
        "CN=Engineering Team,OU=Groups,DC=corp,DC=example,DC=test",
    );
    assert_eq!(dir.add_member(team, alice).unwrap_err().result_code(), 68);
    let lars = id(
        &dir,
        "CN=Lars Lund,OU=Operations,OU=Staff,DC=corp,DC=example,DC=test",
    );
    assert_eq!(dir.remove_member(team, lars).unwrap_err().result_code(), 53);
}

#[test]
fn searches_use_ad_matching_rules() {
    let dir = small_org();
    let head = dir.domains[0].head;
    let count = |f: &str| {
        dir.search(head, Scope::Subtree, &f.parse::<Filter>().unwrap(), false)
            .len()
    };
    // Disabled users by bit AND: Pavel, Bea, Guest, krbtgt, and the generated contractors.
    let disabled = count("(&(objectCategory=person)(objectClass=user)(userAccountControl:1.2.840.113556.1.4.803:=2))");
    assert!(disabled >= 4 + 2, "{disabled}");
    // In-chain: the cycle Platform ↔ Infra terminates and each is its own member.
    let platform = "CN=Platform Team,OU=Groups,DC=corp,DC=example,DC=test";
    let in_chain = count(&format!("(memberOf:1.2.840.113556.1.4.1941:={platform})"));
    let direct_and_nested = ["aarcher", "cchen", "ddubois"].len() + 2 /* Infra, Platform */ + 1 /* Vendor Support */;
    assert_eq!(in_chain, direct_and_nested);
    // Case-insensitive, non-ASCII included.
    assert_eq!(count("(cn=ZOË ZHANG)"), 1);
    assert_eq!(count("(mail=ALICE.ARCHER@corp.example.test)"), 1);
    assert_eq!(count("(proxyAddresses=smtp:ops@corp.example.test)"), 2);
    // Integer ordering, not string ordering: 514 >= 66048 is false.
    assert_eq!(
        count("(&(sAMAccountName=ppetrov)(userAccountControl>=66048))"),
        0
    );
    assert_eq!(
        count("(&(sAMAccountName=ppetrov)(userAccountControl>=600))"),
        0
    );
    assert_eq!(
        count("(&(sAMAccountName=ppetrov)(userAccountControl<=600))"),
        1
    );
    // An unknown attribute never matches, so its negation matches everything.
    assert_eq!(count("(noSuchAttribute=1)"), 0);
    assert_eq!(
        count("(&(sAMAccountName=ppetrov)(!(noSuchAttribute=1)))"),
        1
    );
    // Binary objectGUID and string objectSid.
    let alice = id(
        &dir,
        "CN=Alice Archer,OU=Engineering,OU=Staff,DC=corp,DC=example,DC=test",
    );
    let escaped: String = dir
        .guid(alice)
        .0
        .iter()
        .map(|b| format!("\\{b:02x}"))
        .collect();
    assert_eq!(count(&format!("(objectGUID={escaped})")), 1);
    let sid = dir.entry(alice).sid.clone().unwrap();
    assert_eq!(count(&format!("(objectSid={sid})")), 1);
    // Generalized time ordering on whenCreated.
    assert!(count("(whenCreated>=20260101000000.0Z)") > 1000);
    assert_eq!(count("(whenCreated>=20270101000000Z)"), 0);
}
