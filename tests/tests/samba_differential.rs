//! The differential test: the same queries sent to a real Samba AD DC (`scripts/samba-ad`)
//! and to fake-dc, both holding `tests/fixtures/differential.yaml`; result codes, AD's
//! bind sub-codes and entries are compared after GUIDs, SIDs, USNs and times are
//! normalized. Where Samba is known to differ from Windows (/work/shared/AD-BEHAVIOUR.md),
//! the case is an exception: fake-dc must give Windows' answer. Never skipped.
//! After the queries, a sequence of DirSync rounds and writes (`samba_differential/
//! dirsync.rs`) is sent to both, each step judged the same way, and each server is
//! given the other's cookie.

use std::collections::BTreeMap;

#[path = "samba_differential/dirsync.rs"]
mod dirsync;

use fake_dc::server::{FakeDc, HostConfig};
use ldap3::controls::{PagedResults, RawControl};
use ldap3::{Ldap, LdapConnAsync, Scope, SearchEntry};

const BASE: &str = "DC=samdom,DC=test";
const OU: &str = "OU=Differential,DC=samdom,DC=test";
const PEOPLE: &str = "OU=People,OU=Differential,DC=samdom,DC=test";
const GROUPS: &str = "OU=Groups,OU=Differential,DC=samdom,DC=test";
const ADMIN: &str = "CN=Administrator,CN=Users,DC=samdom,DC=test";
const PW: &str = "Passw0rd!";

/// One query and how to send it.
enum Op {
    Bind(&'static str, &'static str),
    Search(String, Scope, &'static str, Vec<&'static str>),
    Paged(String, &'static str, i32),
    Anonymous(String),
    /// `member;range=0-1` then `member;range=2-*`: the chunks' names and sizes, and the
    /// union of their values (AD promises no order of values, so chunks may differ).
    Ranged(String),
    Writes,
}

/// A known Windows-versus-Samba difference: fake-dc's answer must contain `windows`.
struct Exception {
    case: &'static str,
    why: &'static str,
    windows: &'static str,
}

const EXCEPTIONS: &[Exception] = &[
    Exception {
        case: "anonymous search",
        why: "Windows: 1 with 000004DC (bind first); Samba: 1 with 00002020",
        windows: "000004DC",
    },
    Exception {
        case: "missing base",
        why: "Windows: 32 with 0000208D and the closest existing DN as matchedDN; Samba: 32 from acl_read without matchedDN",
        windows: "rc=32 0000208D matched=ou=differential,dc=samdom,dc=test",
    },
    Exception {
        case: "dirsync more data",
        why: "Windows: MaxBytes bounds a round, MoreResults 1 and the cookie continues it (MS-ADTS 3.1.1.3.4.1.3); Samba: MaxBytes ignored, MoreResults always 0 (dirsync.c)",
        windows: "more=1 with at most one entries",
    },
    Exception {
        case: "dirsync first round, incremental values",
        why: "a member removed and then deleted: Windows names it by its object's current DN, the tombstone's (AD resolves linked values through the object); Samba by the DN it had when removed",
        windows: "\"member;range=0-0\": [\"cn=temp user\\\\0adel:<guid>,cn=deleted objects",
    },
    Exception {
        case: "dirsync without the replication right",
        why: "Windows: 50 with 00000005: SecErr … INSUFF_ACCESS_RIGHTS; Samba: 50 with 'error in module dirsync: insufficient access rights'",
        windows: "rc=50 00000005",
    },
    Exception {
        case: "dirsync base below the naming context",
        why: "both 50 without object security; Windows' diagnostic is a SecErr with its Win32 code first (fake-dc: 00000005); Samba: 'dN is not one of the naming context'",
        windows: "rc=50 00000005",
    },
];

fn cases() -> Vec<(&'static str, Op)> {
    let p = |cn: &str| format!("CN={cn},{PEOPLE}");
    let user_attrs = vec![
        "objectClass",
        "cn",
        "name",
        "sAMAccountName",
        "userPrincipalName",
        "userAccountControl",
        "msDS-User-Account-Control-Computed",
        "primaryGroupID",
        "sAMAccountType",
        "mail",
        "proxyAddresses",
        "givenName",
        "sn",
        "memberOf",
        "manager",
        "department",
        "pwdLastSet",
        "accountExpires",
        "lockoutTime",
        "objectGUID",
        "objectSid",
        "objectCategory",
        "instanceType",
    ];
    let mut v: Vec<(&'static str, Op)> = vec![
        ("bind by DN", Op::Bind("CN=Alice Archer,OU=People,OU=Differential,DC=samdom,DC=test", PW)),
        ("bind by DN in another case", Op::Bind("cn=alice archer,ou=people,ou=differential,dc=SAMDOM,dc=test", PW)),
        ("bind by UPN", Op::Bind("aarcher@samdom.test", PW)),
        ("bind by down-level name", Op::Bind("SAMDOM\\aarcher", PW)),
        ("bind by escaped DN", Op::Bind("CN=Smith\\, John,OU=People,OU=Differential,DC=samdom,DC=test", PW)),
        ("bind by hex-escaped DN", Op::Bind("CN=Smith\\2C John,OU=People,OU=Differential,DC=samdom,DC=test", PW)),
        ("bind wrong password", Op::Bind("SAMDOM\\aarcher", "wrong")),
        ("bind unknown user", Op::Bind("SAMDOM\\nobody", PW)),
        ("bind bare name", Op::Bind("aarcher", PW)),
        ("bind disabled", Op::Bind("SAMDOM\\dora", PW)),
        ("bind disabled wrong password", Op::Bind("SAMDOM\\dora", "wrong")),
        ("bind account expired", Op::Bind("SAMDOM\\eve", PW)),
        ("bind locked out", Op::Bind("SAMDOM\\lou", PW)),
        ("bind must change", Op::Bind("SAMDOM\\max", PW)),
        ("bind password never expires", Op::Bind("SAMDOM\\nina", PW)),
        ("bind computer", Op::Bind("SAMDOM\\WS01$", PW)),
        ("bind administrator", Op::Bind("Administrator@samdom.test", PW)),
        ("anonymous search", Op::Anonymous(OU.into())),
        ("missing base", Op::Search(format!("OU=Nowhere,{OU}"), Scope::Base, "(objectClass=*)", vec!["cn"])),
        ("escaped DN as base", Op::Search(p("Smith\\, John"), Scope::Base, "(objectClass=*)", vec!["cn", "sAMAccountName"])),
        ("hex-escaped DN as base", Op::Search(p("Smith\\2C John"), Scope::Base, "(objectClass=*)", vec!["cn"])),
        ("filter on an escaped value", Op::Search(OU.into(), Scope::Subtree, "(cn=Smith\\2C John)", vec!["cn"])),
        ("disabled accounts (803)", Op::Search(OU.into(), Scope::Subtree, "(userAccountControl:1.2.840.113556.1.4.803:=2)", vec!["sAMAccountName"])),
        ("never-expiring or disabled (804)", Op::Search(OU.into(), Scope::Subtree, "(userAccountControl:1.2.840.113556.1.4.804:=65538)", vec!["sAMAccountName"])),
        ("security groups (803 sign bit)", Op::Search(OU.into(), Scope::Subtree, "(groupType:1.2.840.113556.1.4.803:=2147483648)", vec!["cn"])),
        ("transitive members (1941)", Op::Search(OU.into(), Scope::Subtree, "(memberOf:1.2.840.113556.1.4.1941:=CN=Outer,OU=Groups,OU=Differential,DC=samdom,DC=test)", vec!["cn"])),
        ("transitive groups (1941)", Op::Search(OU.into(), Scope::Subtree, "(member:1.2.840.113556.1.4.1941:=CN=Alice Archer,OU=People,OU=Differential,DC=samdom,DC=test)", vec!["cn"])),
        ("people", Op::Search(OU.into(), Scope::Subtree, "(&(objectCategory=person)(objectClass=user))", vec!["sAMAccountName"])),
        ("contacts", Op::Search(OU.into(), Scope::Subtree, "(objectClass=contact)", vec!["cn", "mail", "displayName", "objectClass"])),
        ("computers", Op::Search(OU.into(), Scope::Subtree, "(objectClass=computer)", vec!["sAMAccountName", "primaryGroupID", "userAccountControl", "sAMAccountType", "dNSHostName", "objectClass"])),
        ("groups", Op::Search(GROUPS.into(), Scope::OneLevel, "(objectClass=group)", vec!["cn", "groupType", "member", "memberOf", "sAMAccountType", "mail"])),
        ("ranged member", Op::Ranged(format!("CN=Team,{GROUPS}"))),
        ("paged people", Op::Paged(OU.into(), "(objectClass=user)", 2)),
        ("organizational units", Op::Search(OU.into(), Scope::Subtree, "(objectClass=organizationalUnit)", vec!["ou", "description", "objectClass"])),
        ("writes and tombstones", Op::Writes),
    ];
    for cn in [
        "Alice Archer",
        "Smith, John",
        "Dora Disabled",
        "Eve Expired",
        "Lou Locked",
        "Max Mustchange",
        "Nina Never",
        "Minion",
    ] {
        let name: &'static str = Box::leak(format!("entry {cn}").into_boxed_str());
        let dn = format!("CN={},{PEOPLE}", cn.replace(',', "\\,"));
        v.push((
            name,
            Op::Search(dn, Scope::Base, "(objectClass=*)", user_attrs.clone()),
        ));
    }
    v
}

async fn connect(url: &str) -> Ldap {
    let (conn, ldap) = LdapConnAsync::new(url).await.expect("connect");
    ldap3::drive!(conn);
    ldap
}

async fn admin(url: &str) -> Ldap {
    let mut ldap = connect(url).await;
    ldap.simple_bind(ADMIN, PW)
        .await
        .expect("bind")
        .success()
        .expect("admin binds");
    ldap
}

/// The part of a diagnostic both servers share: AD's sub-code for binds, the leading
/// error number otherwise (the DSID and version differ by build).
fn diagnostic(rc: u32, text: &str) -> String {
    if rc == 49 {
        return text
            .find("data ")
            .map_or(String::new(), |i| text[i..].chars().take(8).collect());
    }
    text.chars().take(8).collect()
}

fn normalize(attr: &str, value: &str) -> String {
    let a = attr.to_ascii_lowercase();
    match a.as_str() {
        "pwdlastset" | "lockouttime" if value != "0" => "<time>".into(),
        "accountexpires" if value != "0" && value != "9223372036854775807" => "<time>".into(),
        "usnchanged" | "usncreated" => "<usn>".into(),
        "whencreated" | "whenchanged" => "<time>".into(),
        _ => value.to_string(),
    }
}

fn render(entries: Vec<SearchEntry>) -> String {
    let mut out: Vec<String> = entries
        .into_iter()
        .map(|e| {
            let mut attrs: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (k, vs) in e.attrs {
                let mut vs: Vec<String> = vs.iter().map(|v| normalize(&k, v)).collect();
                vs.sort();
                attrs.insert(k.to_ascii_lowercase(), vs);
            }
            for (k, vs) in e.bin_attrs {
                let tag = match k.to_ascii_lowercase().as_str() {
                    "objectguid" => "<guid>",
                    "objectsid" => "<sid>",
                    _ => "<binary>",
                };
                attrs.insert(
                    k.to_ascii_lowercase(),
                    vs.iter().map(|_| tag.to_string()).collect(),
                );
            }
            format!("{}: {attrs:?}", e.dn.to_ascii_lowercase())
        })
        .collect();
    out.sort();
    out.join("\n")
}

async fn run(url: &str, op: &Op) -> String {
    match op {
        Op::Bind(name, pw) => {
            let mut ldap = connect(url).await;
            let r = ldap.simple_bind(name, pw).await.expect("bind answered");
            format!("rc={} {}", r.rc, diagnostic(r.rc, &r.text))
        }
        Op::Anonymous(base) => {
            let mut ldap = connect(url).await;
            let r = ldap
                .search(base, Scope::Base, "(objectClass=*)", vec!["cn"])
                .await
                .expect("search");
            format!("rc={} {}", r.1.rc, diagnostic(r.1.rc, &r.1.text))
        }
        Op::Search(base, scope, filter, attrs) => {
            let mut ldap = admin(url).await;
            let r = ldap
                .search(base, *scope, filter, attrs.clone())
                .await
                .expect("search");
            let entries =
                r.0.into_iter()
                    .filter(|e| !e.is_ref())
                    .map(SearchEntry::construct)
                    .collect();
            format!(
                "rc={} {} matched={}\n{}",
                r.1.rc,
                diagnostic(r.1.rc, &r.1.text),
                r.1.matched.to_ascii_lowercase(),
                render(entries)
            )
        }
        Op::Paged(base, filter, size) => {
            let mut ldap = admin(url).await;
            let mut cookie = Vec::new();
            let mut dns = Vec::new();
            let mut pages = 0;
            loop {
                let r = ldap
                    .with_controls(RawControl::from(PagedResults {
                        size: *size,
                        cookie: cookie.clone(),
                    }))
                    .search(base, Scope::Subtree, filter, vec!["cn"])
                    .await
                    .expect("paged search");
                pages += 1;
                let (entries, res) = (r.0, r.1);
                assert!(entries.len() <= *size as usize, "a page larger than asked");
                dns.extend(
                    entries
                        .into_iter()
                        .map(|e| SearchEntry::construct(e).dn.to_ascii_lowercase()),
                );
                let next = res.ctrls.iter().find_map(|c| match c {
                    ldap3::controls::Control(
                        Some(ldap3::controls::ControlType::PagedResults),
                        raw,
                    ) => Some(raw.parse::<PagedResults>().cookie),
                    _ => None,
                });
                match next {
                    Some(c) if !c.is_empty() && pages < 50 => cookie = c,
                    _ => break,
                }
            }
            dns.sort();
            format!(
                "{} entries, pages of at most {size}:\n{}",
                dns.len(),
                dns.join("\n")
            )
        }
        Op::Writes => writes(url).await,
        Op::Ranged(dn) => {
            let mut ldap = admin(url).await;
            let mut all = Vec::new();
            let mut shape = Vec::new();
            for range in ["member;range=0-1", "member;range=2-*"] {
                let r = ldap
                    .search(dn, Scope::Base, "(objectClass=*)", vec![range])
                    .await
                    .expect("ranged read");
                for e in r.0.into_iter().map(SearchEntry::construct) {
                    for (name, values) in e.attrs {
                        shape.push(format!("{name}: {} values", values.len()));
                        all.extend(values);
                    }
                }
            }
            all.sort();
            format!("{}\n{}", shape.join("; "), all.join("\n"))
        }
    }
}

async fn writes(url: &str) -> String {
    let mut ldap = admin(url).await;
    let temp = format!("CN=Temp User,{PEOPLE}");
    let team = format!("CN=Team,{GROUPS}");
    let mut out = Vec::new();
    let mut step = |name: &str, r: ldap3::result::Result<ldap3::LdapResult>| {
        let r = r.expect("write answered");
        out.push(format!("{name}: rc={}", r.rc));
    };
    use std::collections::HashSet;
    step(
        "add",
        ldap.add(
            &temp,
            vec![
                ("objectClass", HashSet::from(["user"])),
                ("sAMAccountName", HashSet::from(["tempuser"])),
            ],
        )
        .await,
    );
    step(
        "add same sAMAccountName",
        ldap.add(
            &format!("CN=Temp Two,{PEOPLE}"),
            vec![
                ("objectClass", HashSet::from(["user"])),
                ("sAMAccountName", HashSet::from(["tempuser"])),
            ],
        )
        .await,
    );
    step(
        "modify mail",
        ldap.modify(
            &temp,
            vec![ldap3::Mod::Replace(
                "mail",
                HashSet::from(["temp@samdom.test"]),
            )],
        )
        .await,
    );
    step(
        "add member",
        ldap.modify(
            &team,
            vec![ldap3::Mod::Add("member", HashSet::from([temp.as_str()]))],
        )
        .await,
    );
    step(
        "remove member",
        ldap.modify(
            &team,
            vec![ldap3::Mod::Delete("member", HashSet::from([temp.as_str()]))],
        )
        .await,
    );
    step("delete", ldap.delete(&temp).await);
    step("delete again", ldap.delete(&temp).await);
    let r = ldap
        .with_controls(RawControl {
            ctype: "1.2.840.113556.1.4.417".into(),
            crit: true,
            val: None,
        })
        .search(
            BASE,
            Scope::Subtree,
            "(&(isDeleted=TRUE)(sAMAccountName=tempuser))",
            vec!["isDeleted", "lastKnownParent", "sAMAccountName"],
        )
        .await
        .expect("show deleted");
    // Samba keeps earlier runs' tombstones; theirs name a parent that is a tombstone too.
    let current = |e: &SearchEntry| {
        e.attrs.get("lastKnownParent").is_some_and(|parents| {
            parents
                .iter()
                .all(|p| !p.to_ascii_lowercase().contains("\\0adel:"))
        })
    };
    let tomb: Vec<String> =
        r.0.into_iter()
            .map(SearchEntry::construct)
            .filter(current)
            .map(|e| {
                let dn = e.dn.to_ascii_lowercase();
                // CN=Temp User\0ADEL:<guid>,CN=Deleted Objects,…
                let shape = dn.find("\\0adel:").map_or(dn.clone(), |i| {
                    format!("{}\\0adel:<guid>{}", &dn[..i], &dn[i + 43..])
                });
                format!(
                    "{shape} isDeleted={:?} lastKnownParent={:?}",
                    e.attrs.get("isDeleted"),
                    e.attrs
                        .get("lastKnownParent")
                        .map(|v| v.iter().map(|s| s.to_ascii_lowercase()).collect::<Vec<_>>())
                )
            })
            .collect();
    out.push(format!("tombstones: {}", tomb.join("; ")));
    out.join("\n")
}

/// Counts agreements and keeps the exception list true.
#[derive(Default)]
struct Tally {
    agreed: usize,
    excepted: Vec<String>,
    differences: Vec<String>,
}

impl Tally {
    fn judge(&mut self, name: &str, from_samba: &str, from_fake: &str) {
        let exception = EXCEPTIONS.iter().find(|x| x.case == name);
        if from_samba == from_fake && exception.is_some() {
            // Keeps the list true: an exception that no longer differs is removed.
            self.differences
                .push(format!("{name}: listed as an exception but both agree"));
        } else if from_samba == from_fake {
            self.agreed += 1;
        } else if let Some(x) = exception {
            if !from_fake.contains(x.windows) {
                self.differences.push(format!(
                    "{name} (exception: {}): fake-dc does not answer as Windows ({:?}):\n{from_fake}\n--- Samba\n{from_samba}",
                    x.why, x.windows
                ));
            }
            self.excepted.push(format!("{name}: {}", x.why));
        } else {
            self.differences.push(format!(
                "{name}:\n--- Samba\n{from_samba}\n--- fake-dc\n{from_fake}"
            ));
        }
    }
}

#[tokio::test]
async fn fake_dc_answers_what_samba_ad_answers() {
    let samba = test_peers::samba::ensure().unwrap_or_else(|e| panic!("{e}"));
    let fixture = test_peers::workspace_root().join("tests/fixtures/differential.yaml");
    let (dir, loaded) = tests::samba_load::load_fixture(&samba, &fixture)
        .await
        .unwrap_or_else(|e| panic!("loading into Samba: {e}"));
    let dc = FakeDc::builder(dir)
        .host("dc1.samdom.test", HostConfig::loopback())
        .start()
        .await
        .expect("fake-dc starts");
    let fake_url = format!(
        "ldap://{}",
        dc.addresses("dc1.samdom.test")
            .and_then(|a| a.ldap)
            .expect("listener")
    );
    let mut tally = Tally::default();
    for (name, op) in cases() {
        let from_samba = run(&samba.url, &op).await;
        let from_fake = run(&fake_url, &op).await;
        if name == "writes and tombstones" {
            println!("writes and tombstones, as both answered:\n{from_fake}");
        }
        tally.judge(name, &from_samba, &from_fake);
    }
    let samba_rounds = dirsync::sequence(&samba.url).await;
    let fake_rounds = dirsync::sequence(&fake_url).await;
    for ((name, from_samba), (_, from_fake)) in samba_rounds.steps.iter().zip(&fake_rounds.steps) {
        if name.starts_with("dirsync second round") {
            println!("{name}, as fake-dc answered:\n{from_fake}");
        }
        tally.judge(name, from_samba, from_fake);
    }
    // Each server is given the other's first-round cookie.
    let from_samba = dirsync::foreign(&samba.url, &fake_rounds.cookie).await;
    let from_fake = dirsync::foreign(&fake_url, &samba_rounds.cookie).await;
    tally.judge("dirsync cookie from another DC", &from_samba, &from_fake);
    let Tally {
        agreed,
        excepted,
        differences,
    } = tally;
    dc.shutdown().await;
    println!("differential: {agreed} queries agree with Samba AD; {} exceptions where Windows differs from Samba:", excepted.len());
    for x in &excepted {
        println!("  - {x}");
    }
    println!("not reproduced in Samba: {:?}", loaded.not_reproduced);
    assert!(
        differences.is_empty(),
        "{} differences:\n\n{}",
        differences.len(),
        differences.join("\n\n")
    );
}
