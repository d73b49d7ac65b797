//! The shipped fixtures load and have the shapes their comments promise; generation is
//! deterministic.

#![allow(clippy::unwrap_used)] // tests and benches fail loudly on broken fixtures
use std::path::Path;

use fake_dc::directory::{Directory, Scope};
use fake_dc::dn::Dn;
use fake_dc::filter::Filter;
use fake_dc::fixture::{load_file, load_str, LoadOptions};

fn load(name: &str) -> Directory {
    load_file(
        Path::new(&format!("../fixtures/{name}.yaml")),
        LoadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn count(dir: &Directory, filter: &str) -> usize {
    let f: Filter = filter.parse().unwrap();
    dir.domains
        .iter()
        .map(|d| dir.search(d.head, Scope::Subtree, &f, false).len())
        .sum()
}

#[test]
fn small_org_has_the_promised_shapes() {
    let dir = load("small-org");
    let people = count(&dir, "(&(objectCategory=person)(objectClass=user)(!(sAMAccountName=u*))(!(isCriticalSystemObject=TRUE)))");
    assert!((45..=60).contains(&people), "{people} hand-written users");
    let big = dir
        .resolve(
            &Dn::parse("CN=Contractors Group 0,OU=Contractors,DC=corp,DC=example,DC=test").unwrap(),
        )
        .unwrap();
    assert!(dir.entry(big).members.len() > 1500);
    let platform = dir
        .resolve(&Dn::parse("CN=Platform Team,OU=Groups,DC=corp,DC=example,DC=test").unwrap())
        .unwrap();
    assert!(
        dir.transitive_member_of(platform).contains(&platform),
        "Platform Team is in a cycle"
    );
    assert_eq!(count(&dir, "(objectClass=contact)"), 2);
    assert_eq!(
        count(&dir, "(objectClass=msExchDynamicDistributionList)"),
        1
    );
    assert_eq!(count(&dir, "(objectClass=foreignSecurityPrincipal)"), 1);
    assert!(count(&dir, "(lockoutTime>=1)") >= 1);
    assert!(count(&dir, "(cn=*\\2c*)") >= 1, "a CN with a comma");
}

#[test]
fn two_domain_forest_links_across_domains() {
    let dir = load("two-domain-forest");
    assert_eq!(dir.domains.len(), 2);
    let global = dir
        .resolve(&Dn::parse("CN=Global Staff,OU=Groups,DC=corp,DC=example,DC=test").unwrap())
        .unwrap();
    let other_domain = dir
        .entry(global)
        .members
        .iter()
        .filter(|m| dir.naming_context(**m) == dir.domains[1].head)
        .count();
    assert_eq!(other_domain, 3);
    assert!(dir.by_upn("eva@emea.example.com").is_some());
    assert!(dir.by_down_level("EMEA\\ffabre").is_some());
    assert!(dir.by_down_level("CORP\\ffabre").is_none());
}

#[test]
fn generation_is_deterministic() {
    let yaml = "seed: 9\ndomains:\n  - dns: g.test\n    generate:\n      - { seed: 3, ou: Gen, users: 300, ouTree: [3, 2], maxAliases: 2, disabledShare: 0.1, groups: 20, maxGroupSize: 50, largeGroups: [250], nestedShare: 0.3, departments: [A, B] }\n";
    let a = load_str(yaml, "a", LoadOptions::default()).unwrap();
    let b = load_str(yaml, "b", LoadOptions::default()).unwrap();
    assert_eq!(a.len(), b.len());
    for id in a.ids() {
        assert_eq!(a.dn(id), b.dn(id));
        assert_eq!(a.guid(id), b.guid(id));
        assert_eq!(a.entry(id).sid, b.entry(id).sid);
        assert_eq!(a.entry(id).members, b.entry(id).members);
    }
    assert_eq!(count(&a, "(&(objectClass=user)(sAMAccountName=u*))"), 300);
    let disabled = count(
        &a,
        "(&(sAMAccountName=u*)(userAccountControl:1.2.840.113556.1.4.803:=2))",
    );
    assert!(
        (10..=60).contains(&disabled),
        "{disabled} of 300 disabled at 10%"
    );
    let reseeded = load_str(
        &yaml.replace("seed: 3", "seed: 4"),
        "c",
        LoadOptions::default(),
    )
    .unwrap();
    let mails = |d: &Directory| -> Vec<String> {
        d.ids()
            .filter_map(|id| d.entry(id).get_str("mail").map(str::to_string))
            .collect()
    };
    assert_ne!(mails(&a), mails(&reseeded));
}

#[test]
fn members_are_named_by_dns_with_escapes_and_by_down_level_names() {
    let yaml = r#"
domains:
  - dns: corp.test
    netbios: CORP
    ous:
      - name: Contacts
        contacts:
          - { cn: "Back\\Slash", mail: b@partner.test }
          - { cn: "Smith, John", mail: s@partner.test }
        users:
          - { cn: Alice, sAMAccountName: alice }
        groups:
          - cn: Partners
            members:
              - 'CN=Back\\Slash,OU=Contacts,DC=corp,DC=test'
              - 'CN=Smith\, John,OU=Contacts,DC=corp,DC=test'
              - 'CORP\alice'
"#;
    let dir = load_str(yaml, "escapes", LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let group = dir
        .resolve(&Dn::parse("CN=Partners,OU=Contacts,DC=corp,DC=test").unwrap())
        .unwrap();
    let mut members: Vec<String> = dir
        .entry(group)
        .members
        .iter()
        .map(|m| dir.dn_str(*m).to_string())
        .collect();
    members.sort();
    assert_eq!(
        members,
        [
            "CN=Alice,OU=Contacts,DC=corp,DC=test",
            "CN=Back\\\\Slash,OU=Contacts,DC=corp,DC=test",
            "CN=Smith\\, John,OU=Contacts,DC=corp,DC=test",
        ]
    );
}

#[test]
fn a_dynamic_list_may_be_based_on_an_ou_defined_further_down() {
    let yaml = r#"
domains:
  - dns: corp.test
    ous:
      - name: Lists
        dynamicLists:
          - { cn: Research, filter: "(mail=*)", base: "OU=R\\+D,DC=corp,DC=test" }
      - name: R+D
"#;
    let dir = load_str(yaml, "forward", LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let list = dir
        .resolve(&Dn::parse("CN=Research,OU=Lists,DC=corp,DC=test").unwrap())
        .unwrap();
    assert_eq!(
        dir.entry(list).get_str("msExchDynamicDLBaseDN"),
        Some("OU=R\\+D,DC=corp,DC=test")
    );
}
