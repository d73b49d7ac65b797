//! Anonymization: no original name, address, domain or free-text value survives in what
//! the anonymized fixture says or serves; the shape is the original's; one key maps the
//! same way twice and another key another way; the mapping reads a finding back.

#![allow(clippy::unwrap_used)] // tests fail loudly on broken fixtures

use std::collections::BTreeSet;
use std::path::Path;

use fake_dc::anonymize::{anonymize, Key, Mapping};
use fake_dc::directory::{Directory, Scope};
use fake_dc::fixture::model::*;
use fake_dc::fixture::{build, parse, LoadOptions};
use fake_dc::shape::Shape;

const FIXTURES: &[&str] = &[
    "../fixtures/small-org.yaml",
    "../fixtures/two-domain-forest.yaml",
    "tests/fixtures/customer.yaml",
    "tests/fixtures/hybrid-customer.yaml",
    "../fixtures/azure-tenant.yaml",
];

fn key(text: &str) -> Key {
    Key::new(text.as_bytes()).unwrap()
}

fn read(path: &str) -> Fixture {
    let text = std::fs::read_to_string(Path::new(path)).unwrap();
    parse(&text, path).unwrap()
}

fn load(f: &Fixture) -> Directory {
    build(
        f,
        LoadOptions {
            fixed_time: Some(1_760_000_000),
        },
    )
    .unwrap_or_else(|p| panic!("the fixture does not load: {p:?}"))
}

/// Attributes whose values the anonymizer keeps by design (flags, times, counters).
const KEPT: &[&str] = &[
    "usncreated",
    "usnchanged",
    "whencreated",
    "whenchanged",
    "pwdlastset",
    "lockouttime",
    "accountexpires",
    "useraccountcontrol",
    "primarygroupid",
    "grouptype",
    "samaccounttype",
    "instancetype",
    "objectguid",
    "objectsid",
    "iscriticalsystemobject",
    "objectclass",
    "systemflags",
    "msds-useraccountcontrol-computed",
    "badpwdcount",
    "logoncount",
    "msexchdynamicdlfilter",
];

/// Words fake-dc prints for every forest (class names, well-known accounts) and the
/// public suffixes kept by design (`.test`): not the customer's, so not searched for.
fn vocabulary() -> BTreeSet<String> {
    let empty = parse("domains: [{ dns: a.test }]", "empty").unwrap();
    let mut words = BTreeSet::new();
    tokens(&served(&load(&empty), &[]), &mut words);
    // `onmicrosoft.com` is Microsoft's suffix of every tenant; `unified` a group type.
    for w in [
        "com",
        "org",
        "net",
        "co",
        "uk",
        "test",
        "smtp",
        "sip",
        "x500",
        "onmicrosoft",
        "unified",
    ] {
        words.insert(w.to_string());
    }
    words
}

/// The words of `text` worth searching for: two characters or more with a letter, or a
/// run of four digits or more (shorter numbers are everywhere: USNs, counts).
fn tokens(text: &str, out: &mut BTreeSet<String>) {
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let letters = word.chars().any(char::is_alphabetic);
        let n = word.chars().count();
        if (letters && n >= 2) || (!letters && n >= 4) {
            out.insert(word.to_lowercase());
        }
    }
}

/// Every value of the fixture that names a person, an address, a domain or is free
/// text: the originals that must not survive.
fn originals(f: &Fixture) -> BTreeSet<String> {
    let mut texts: Vec<String> = Vec::new();
    for d in &f.domains {
        texts.push(d.dns.clone());
        texts.extend(d.netbios.clone());
        texts.extend(d.upn_suffixes.clone());
        texts.extend(d.dcs.clone());
        for g in &d.generate {
            texts.push(g.ou.clone());
            texts.extend(g.mail_domain.clone());
            texts.extend(g.departments.clone());
        }
        contents(d.contents(), &mut texts);
    }
    tenant(f, &mut texts);
    let mut out = BTreeSet::new();
    for t in &texts {
        tokens(t, &mut out);
    }
    let vocabulary = vocabulary();
    // Passwords are kept by design (scenarios bind with them); a word of a password
    // (`Sync-Secret-1`) that is also a word of free text cannot be searched for.
    let mut passwords = BTreeSet::new();
    for p in passwords_of(f) {
        tokens(&p, &mut passwords);
    }
    out.retain(|w| !vocabulary.contains(w) && !passwords.contains(w));
    out
}

fn passwords_of(f: &Fixture) -> Vec<String> {
    fn walk(c: Contents<'_>, out: &mut Vec<String>) {
        out.extend(c.users.iter().filter_map(|u| u.password.clone()));
        out.extend(c.computers.iter().filter_map(|m| m.password.clone()));
        for ou in c.ous {
            walk(ou.contents(), out);
        }
    }
    let mut out: Vec<String> = f.default_password.iter().cloned().collect();
    for d in &f.domains {
        walk(d.contents(), &mut out);
        out.extend(
            d.builtin_accounts
                .values()
                .filter_map(|b| b.password.clone()),
        );
    }
    for app in f.azure_ad.iter().flat_map(|t| &t.applications) {
        out.extend(app.secrets.iter().map(|s| s.value.clone()));
    }
    out
}

/// The anonymized fixture's text.
fn fixture_text(f: &Fixture) -> String {
    let mut texts = Vec::new();
    for d in &f.domains {
        texts.push(d.dns.clone());
        texts.extend(d.netbios.clone());
        texts.extend(d.upn_suffixes.clone());
        texts.extend(d.dcs.clone());
        for g in &d.generate {
            texts.push(g.ou.clone());
            texts.extend(g.mail_domain.clone());
            texts.extend(g.departments.clone());
        }
        contents(d.contents(), &mut texts);
    }
    tenant(f, &mut texts);
    texts.join("\n")
}

/// The `azureAd:` section's every value but its secrets (kept, as passwords are) and
/// its settings (lifetimes, certificate, faults).
fn tenant(f: &Fixture, texts: &mut Vec<String>) {
    let Some(t) = &f.azure_ad else { return };
    texts.push(t.tenant_id.clone());
    texts.extend(t.initial_domain.clone());
    texts.extend(t.synced_ous.iter().cloned());
    for app in &t.applications {
        texts.push(app.app_id.clone());
        texts.extend(app.display_name.clone());
    }
    for u in &t.users {
        texts.push(u.user_principal_name.clone());
        texts.push(u.display_name.clone());
        for v in [
            &u.given_name,
            &u.surname,
            &u.mail,
            &u.mail_nickname,
            &u.job_title,
            &u.department,
        ] {
            texts.extend(v.clone());
        }
        proxies(&u.proxy_addresses, texts);
    }
    for g in &t.groups {
        texts.push(g.display_name.clone());
        for v in [&g.description, &g.mail, &g.mail_nickname] {
            texts.extend(v.clone());
        }
        proxies(&g.proxy_addresses, texts);
        texts.extend(g.members.iter().cloned());
    }
}

/// The dynamic lists' filters: attribute names (`userAccountControl`) around values.
fn filters(f: &Fixture) -> String {
    let mut texts = Vec::new();
    for d in &f.domains {
        lists(d.contents(), &mut texts);
    }
    texts.join("\n")
}

/// Dynamic lists' filters, which hold attribute values (`department=Sales`).
fn lists(c: Contents<'_>, texts: &mut Vec<String>) {
    texts.extend(c.dynamic_lists.iter().map(|l| l.filter.clone()));
    for ou in c.ous {
        lists(ou.contents(), texts);
    }
}

fn contents(c: Contents<'_>, texts: &mut Vec<String>) {
    for ou in c.ous {
        texts.push(ou.name.clone());
        texts.extend(ou.description.clone());
        contents(ou.contents(), texts);
    }
    for u in c.users {
        texts.push(u.cn.clone());
        for v in [
            &u.sam_account_name,
            &u.user_principal_name,
            &u.given_name,
            &u.sn,
            &u.display_name,
            &u.mail,
        ] {
            texts.extend(v.clone());
        }
        proxies(&u.proxy_addresses, texts);
        attributes(&u.attributes, texts);
        texts.extend(u.primary_group.clone());
        texts.extend(u.read_scopes.iter().flatten().cloned());
    }
    for g in c.groups {
        texts.push(g.cn.clone());
        texts.extend(g.mail.clone());
        proxies(&g.proxy_addresses, texts);
        for m in &g.members {
            // A SID's RID is kept by design; its domain part is the customer's.
            match m.strip_prefix("S-1-5-21-") {
                Some(sid) => texts.extend(sid.rsplit_once('-').map(|(d, _)| d.to_string())),
                None => texts.push(m.clone()),
            }
        }
        attributes(&g.attributes, texts);
    }
    for ct in c.contacts {
        texts.push(ct.cn.clone());
        for v in [&ct.given_name, &ct.sn, &ct.display_name, &ct.mail] {
            texts.extend(v.clone());
        }
        proxies(&ct.proxy_addresses, texts);
        attributes(&ct.attributes, texts);
    }
    for l in c.dynamic_lists {
        texts.push(l.cn.clone());
        texts.extend(l.mail.clone());
        texts.extend(l.base.clone());
        proxies(&l.proxy_addresses, texts);
    }
    for m in c.computers {
        texts.push(m.cn.clone());
        // A captured computer's SID: its domain part is the customer's.
        if let Some(sid) = m
            .object_sid
            .as_deref()
            .and_then(|s| s.strip_prefix("S-1-5-21-"))
        {
            texts.extend(sid.rsplit_once('-').map(|(d, _)| d.to_string()));
        }
        for v in [&m.sam_account_name, &m.dns_host_name, &m.description] {
            texts.extend(v.clone());
        }
        attributes(&m.attributes, texts);
    }
}

fn proxies(list: &[String], texts: &mut Vec<String>) {
    for p in list {
        let body = p.split_once(':').map_or(p.as_str(), |(_, b)| b);
        // X500's keys (`o=`, `cn=`) are the format's, the values the customer's.
        for part in body.split(['/', ';']) {
            texts.push(part.split_once('=').map_or(part, |(_, v)| v).to_string());
        }
    }
}

fn attributes(attrs: &std::collections::BTreeMap<String, OneOrMany>, texts: &mut Vec<String>) {
    for (name, v) in attrs {
        if !KEPT.contains(&name.to_ascii_lowercase().as_str()) {
            texts.extend(v.values());
        }
    }
}

/// Everything a directory serves: every DN and every value of every attribute but the
/// kept ones, of every entry outside `skip` (subtrees of generated content).
fn served(dir: &Directory, skip: &[String]) -> String {
    let mut out = String::new();
    for head in dir.naming_contexts() {
        for id in dir.scope(head, Scope::Subtree) {
            let dn = dir.dn_str(id).to_string();
            if skip
                .iter()
                .any(|s| dn.to_lowercase().ends_with(&s.to_lowercase()))
            {
                continue;
            }
            out.push_str(&dn);
            out.push('\n');
            for name in dir.attribute_names(id) {
                if KEPT.contains(&name.to_ascii_lowercase().as_str()) {
                    continue;
                }
                for v in dir.values(id, &name).iter() {
                    out.push_str(&String::from_utf8_lossy(v));
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// The DNs of the OUs the fixture's `generate:` blocks fill: the generator's own names
/// (`Ada Berg 17`) live there, which are nobody's and stay.
fn generated_subtrees(f: &Fixture) -> Vec<String> {
    f.domains
        .iter()
        .flat_map(|d| {
            let head = fake_dc::dn::Dn::from_dns_name(&d.dns).to_string();
            d.generate
                .iter()
                .map(move |g| format!("OU={},{head}", g.ou))
        })
        .collect()
}

#[test]
fn no_original_token_survives_anywhere() {
    for path in FIXTURES {
        let original = read(path);
        let words = originals(&original);
        assert!(
            words.len() > 20,
            "{path}: only {} original words",
            words.len()
        );
        let (anonymized, _mapping) = anonymize(&original, &key("a key of the tests, 32 bytes ok"));
        let dir = load(&anonymized);
        // What the fixture says (its every field, generated blocks' spec included) and
        // what the directory serves built from it.
        let text = format!(
            "{}\n{}",
            fixture_text(&anonymized),
            served(&dir, &generated_subtrees(&anonymized))
        );
        let mut found = BTreeSet::new();
        tokens(&text, &mut found);
        // Whole words of filters; substrings only outside them (`account` is part of the
        // attribute name `userAccountControl`).
        tokens(&filters(&anonymized), &mut found);
        let lower = text.to_lowercase();
        let survivors: Vec<&String> = words
            .iter()
            .filter(|w| found.contains(*w) || (w.chars().count() >= 6 && lower.contains(*w)))
            .collect();
        assert!(survivors.is_empty(), "{path}: {survivors:?} survived");
    }
}

#[test]
fn the_customer_fixture_holds_what_the_test_looks_for() {
    let words = originals(&read("tests/fixtures/customer.yaml"));
    for w in [
        "héloïse",
        "佐藤健太",
        "contoso",
        "fabrikam",
        "reading",
        "4960",
        "wharfedale",
        "kraków",
    ] {
        assert!(words.contains(w), "{w} is not collected: {words:?}");
    }
}

#[test]
fn the_shape_survives_anonymization() {
    for path in FIXTURES {
        let original = read(path);
        let (anonymized, _) = anonymize(&original, &key("another key for shapes, long enough"));
        let before = Shape::of(&load(&original));
        let after = Shape::of(&load(&anonymized));
        assert_eq!(before, after, "{path}");
    }
}

#[test]
fn one_key_maps_alike_and_another_key_differently() {
    let original = read("tests/fixtures/customer.yaml");
    let (a, ma) = anonymize(&original, &key("key number one, sixteen+ bytes"));
    let (b, mb) = anonymize(&original, &key("key number one, sixteen+ bytes"));
    let (c, mc) = anonymize(&original, &key("key number two, sixteen+ bytes"));
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert_eq!(ma, mb);
    assert_ne!(ma.words, mc.words);
    let users = |f: &Fixture| -> Vec<String> {
        f.domains
            .iter()
            .flat_map(|d| d.ous.iter())
            .flat_map(|ou| ou.ous.iter().chain(std::iter::once(ou)))
            .flat_map(|ou| ou.users.iter().map(|u| u.cn.clone()))
            .collect()
    };
    let (ua, uc) = (users(&a), users(&c));
    assert_eq!(ua.len(), uc.len());
    assert!(ua.len() >= 9);
    for (x, y) in ua.iter().zip(&uc) {
        assert_ne!(x, y, "two keys gave one pseudonym");
    }
    // Same-key runs agree on every domain, and domains map to distinct .test domains.
    let dns: BTreeSet<&str> = a.domains.iter().map(|d| d.dns.as_str()).collect();
    assert_eq!(dns.len(), 2);
    assert!(dns.iter().all(|d| d.ends_with(".test")));
    let (root, child) = (&a.domains[0].dns, &a.domains[1].dns);
    assert!(
        child.ends_with(&format!(".{root}")),
        "{child} is not below {root}"
    );
}

#[test]
fn special_characters_and_scripts_keep_their_class() {
    let original = read("tests/fixtures/customer.yaml");
    let (a, _) = anonymize(&original, &key("class-keeping key of 16 bytes+"));
    let before = load(&original);
    let after = load(&a);
    let names = |d: &Directory| -> Vec<String> {
        d.domains
            .iter()
            .flat_map(|dom| d.scope(dom.head, Scope::Subtree))
            .map(|id| d.entry(id).rdn.value().to_string())
            .collect()
    };
    let (x, y) = (names(&before), names(&after));
    assert_eq!(x.len(), y.len());
    for (o, p) in x.iter().zip(&y) {
        assert_eq!(o.chars().count(), p.chars().count(), "{o} / {p}");
        for (c, d) in o.chars().zip(p.chars()) {
            if !c.is_alphanumeric() {
                assert_eq!(c, d, "{o} / {p}");
            } else {
                assert_eq!(c.is_ascii(), d.is_ascii(), "{o} / {p}");
                assert_eq!(c.is_uppercase(), d.is_uppercase(), "{o} / {p}");
            }
        }
    }
}

#[test]
fn the_mapping_reads_a_finding_back() {
    let original = read("tests/fixtures/customer.yaml");
    let (a, mapping) = anonymize(&original, &key("mapping key, at least 16 bytes"));
    let mapping = Mapping::from_json(&mapping.to_json(), "mapping.json").unwrap();
    let pseudo = load(&a);
    let real = load(&original);
    // Every object, by DN, reads back as the original object's DN.
    let dns = |d: &Directory| -> Vec<String> {
        d.domains
            .iter()
            .flat_map(|dom| d.scope(dom.head, Scope::Subtree))
            .map(|id| d.dn_str(id).to_string())
            .collect()
    };
    let (p, r) = (dns(&pseudo), dns(&real));
    assert_eq!(p.len(), r.len());
    let mut checked = 0;
    for (p, r) in p.iter().zip(&r) {
        // Foreign principals are named by SID, whose RID digits stay as they are.
        if !r.contains("ForeignSecurityPrincipals") {
            assert_eq!(&mapping.reverse(p), r);
            checked += 1;
        }
    }
    assert!(checked > 40);
    let u = &a.domains[0].ous[0].ous[0].users[0];
    let finding = format!(
        "After the second sync, {} ({}) lost the member {} of S-1-5-21-{}-2104.",
        u.cn,
        u.mail.as_deref().unwrap(),
        a.domains[1].ous[0].users[0]
            .user_principal_name
            .as_deref()
            .unwrap_or("radoslaw"),
        mapping
            .sids
            .values()
            .next()
            .unwrap()
            .trim_start_matches("21-"),
    );
    let back = mapping.reverse(&finding);
    assert!(
        back.contains("Dupont, Héloïse (heloise.dupont@contoso.com)"),
        "{back}"
    );
    assert!(
        back.contains("S-1-5-21-1004336348-1177238915-682003330-2104"),
        "{back}"
    );
    assert!(Mapping::from_json("{\"format\": 1}", "m.json").is_err());
}

#[test]
fn a_short_key_is_refused() {
    let e = Key::new(b"short\n").unwrap_err();
    assert!(e.to_string().contains("at least 16"), "{e}");
}

#[test]
fn the_hybrid_fixture_holds_what_the_test_looks_for() {
    let words = originals(&read("tests/fixtures/hybrid-customer.yaml"));
    // Computers' names, host names and descriptions; the tenant's ID, initial domain,
    // app, cloud people and groups.
    for w in [
        "mcallister",
        "forties",
        "fortieshmi02",
        "console",
        "2b7e151a",
        "9a4c2e6f",
        "fabrikamenergy",
        "bridge",
        "isobel",
        "biologist",
        "sullom",
        "shetland",
    ] {
        assert!(words.contains(w), "{w} is not collected: {words:?}");
    }
}

#[test]
fn a_hybrid_user_and_group_keep_one_pseudonym_on_both_sides() {
    let original = read("tests/fixtures/hybrid-customer.yaml");
    let (anonymized, mapping) = anonymize(&original, &key("the hybrid test's key, long enough"));
    // It loads: every cloud group member still names a synchronized or cloud object, the
    // synced OU still exists.
    let dir = load(&anonymized);
    assert!(dir.azure_ad.is_some());
    let d = &anonymized.domains[0];
    let ou = &d.ous[0];
    let niamh = &ou.users[0];
    let supervisors = &ou.groups[0];
    let tenant = anonymized.azure_ad.as_ref().unwrap();
    let members = &tenant.groups[0].members;
    assert_eq!(
        Some(&members[0]),
        niamh.user_principal_name.as_ref(),
        "the synchronized user in a cloud group"
    );
    assert_eq!(
        Some(&members[1]),
        supervisors.sam_account_name.as_ref(),
        "the synchronized group in a cloud group"
    );
    assert_eq!(members[2], tenant.users[0].user_principal_name);
    // Microsoft's suffix stays; the tenant's own label does not.
    let initial = tenant.initial_domain.as_deref().unwrap();
    assert!(initial.ends_with(".onmicrosoft.com"), "{initial}");
    assert!(!initial.contains("fabrikam"), "{initial}");
    assert!(tenant.users[0]
        .user_principal_name
        .ends_with(&format!("@{initial}")));
    assert_eq!(
        tenant.synced_ous[0],
        format!("OU={},{}", ou.name, fake_dc::dn::Dn::from_dns_name(&d.dns)),
    );
    // The IDs are GUIDs still, other than the originals, and read back with the mapping.
    for (before, after) in [
        (
            &original.azure_ad.as_ref().unwrap().tenant_id,
            &tenant.tenant_id,
        ),
        (
            &original.azure_ad.as_ref().unwrap().applications[0].app_id,
            &tenant.applications[0].app_id,
        ),
    ] {
        assert_ne!(before, after);
        assert_eq!(after.len(), 36, "{after}");
        assert_eq!(&mapping.reverse(after), before);
    }
    // Computers: the logon name keeps its `$` and its length; the host name lies under
    // the domain.
    let console = &ou.computers[0];
    let sam = console.sam_account_name.as_deref().unwrap();
    assert!(
        sam.ends_with('$') && sam.len() == "FORTIESHMI02$".len(),
        "{sam}"
    );
    assert_ne!(sam, "FORTIESHMI02$");
    let laptop = &d.computers[0];
    assert!(laptop
        .dns_host_name
        .as_deref()
        .unwrap()
        .ends_with(&format!(".{}", d.dns)));
    // Built-in accounts keep their names, passwords and states.
    assert_eq!(
        d.builtin_accounts["Administrator"].password.as_deref(),
        Some("Adm1n-Passw0rd!")
    );
}
