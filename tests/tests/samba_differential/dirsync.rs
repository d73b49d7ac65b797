//! DirSync rounds for the differential test: the same sequence of DirSync searches and
//! writes sent to Samba AD and to fake-dc, each step rendered after GUIDs, SIDs and cookies
//! are normalized, so the test compares which entries come back, with which attributes,
//! the linked-value changes in incremental mode, tombstones, the "more data" flag and the
//! errors. Only objects under `OU=Differential` and the tombstones of objects the
//! differential test deletes are rendered: the rest of each domain differs by design.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use ldap3::asn1::{parse_tag, parse_uint};
use ldap3::controls::RawControl;
use ldap3::{Ldap, Mod, Scope, SearchEntry};

use super::{admin, connect, diagnostic, BASE, GROUPS, OU, PEOPLE, PW};

const OID: &str = "1.2.840.113556.1.4.841";
const INCREMENTAL_VALUES: i64 = -2_147_483_648;
const OBJECT_SECURITY: i64 = 0x1;
const ATTRS: &[&str] = &[
    "sAMAccountName",
    "mail",
    "description",
    "member",
    "isDeleted",
];
/// Tombstones of these RDNs are the differential test's own: `Op::Writes` deletes Temp
/// User before the first round, [`sequence`] DirSync Temp after it (Samba keeps earlier
/// runs' tombstones of both, so the first rounds leave DirSync Temp's out).
const BEFORE_FIRST_ROUND: &[&str] = &["cn=temp user\\0adel:"];
const ALL_TOMBSTONES: &[&str] = &["cn=temp user\\0adel:", "cn=dirsync temp\\0adel:"];

/// One DirSync answer.
pub struct Answer {
    pub rc: u32,
    pub text: String,
    pub entries: Vec<SearchEntry>,
    pub more: Option<u64>,
    pub cookie: Vec<u8>,
}

/// `SEQUENCE { Flags INTEGER, MaxBytes INTEGER, Cookie OCTET STRING }`, in BER.
fn request_value(flags: i64, max_bytes: i64, cookie: &[u8]) -> Vec<u8> {
    fn integer(v: i64) -> Vec<u8> {
        let bytes = v.to_be_bytes();
        let mut start = 0;
        while start < 7 {
            let (b, next) = (bytes[start], bytes[start + 1]);
            if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
                start += 1;
            } else {
                break;
            }
        }
        tlv(0x02, &bytes[start..])
    }
    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let n = body.len();
        if n < 0x80 {
            out.push(n as u8);
        } else {
            let len = (n as u32).to_be_bytes();
            let skip = len.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (4 - skip) as u8);
            out.extend_from_slice(&len[skip..]);
        }
        out.extend_from_slice(body);
        out
    }
    let mut body = integer(flags);
    body.extend(integer(max_bytes));
    body.extend(tlv(0x04, cookie));
    tlv(0x30, &body)
}

/// The response value's MoreResults and CookieServer.
fn response_value(value: &[u8]) -> Option<(u64, Vec<u8>)> {
    let (_, tag) = parse_tag(value).ok()?;
    let mut parts = tag.expect_constructed()?.into_iter();
    let more = parse_uint(&parts.next()?.expect_primitive()?).ok()?.1;
    let _unused = parts.next()?;
    let cookie = parts.next()?.expect_primitive()?;
    Some((more, cookie))
}

/// One DirSync search over the domain, `(objectClass=*)`, the attributes of [`ATTRS`].
pub async fn dirsync(
    ldap: &mut Ldap,
    base: &str,
    flags: i64,
    max_bytes: i64,
    cookie: &[u8],
) -> Answer {
    let r = ldap
        .with_controls(RawControl {
            ctype: OID.into(),
            crit: true,
            val: Some(request_value(flags, max_bytes, cookie)),
        })
        .search(base, Scope::Subtree, "(objectClass=*)", ATTRS.to_vec())
        .await
        .expect("dirsync answered");
    let (more, cookie) =
        r.1.ctrls
            .iter()
            .find(|c| c.1.ctype == OID)
            .and_then(|c| response_value(c.1.val.as_deref().unwrap_or_default()))
            .map_or((None, Vec::new()), |(m, c)| (Some(m), c));
    Answer {
        rc: r.1.rc,
        text: r.1.text.clone(),
        entries: r
            .0
            .into_iter()
            .filter(|e| !e.is_ref())
            .map(SearchEntry::construct)
            .collect(),
        more,
        cookie,
    }
}

/// `CN=Temp User\0ADEL:<guid>,CN=Deleted Objects,…` with the GUID replaced.
fn dn_shape(dn: &str) -> String {
    let dn = dn.to_ascii_lowercase();
    match dn.find("\\0adel:") {
        Some(i) if dn.len() >= i + 43 => format!("{}\\0adel:<guid>{}", &dn[..i], &dn[i + 43..]),
        _ => dn,
    }
}

fn ours(dn: &str, tombstones: &[&str]) -> bool {
    let dn = dn.to_ascii_lowercase();
    dn.ends_with(&OU.to_ascii_lowercase()) || tombstones.iter().any(|t| dn.contains(t))
}

fn render_entry(e: &SearchEntry) -> String {
    let mut attrs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let text = e.attrs.iter().map(|(k, vs)| (k, vs.clone()));
    let binary = e.bin_attrs.iter().map(|(k, vs)| {
        let shown = vs.iter().map(|v| format!("<{} bytes>", v.len())).collect();
        (k, shown)
    });
    for (k, vs) in text.chain(binary) {
        let name = k.to_ascii_lowercase();
        let mut vs: Vec<String> = match name.as_str() {
            "objectguid" => vs.iter().map(|_| "<guid>".to_string()).collect(),
            "objectsid" => vs.iter().map(|_| "<sid>".to_string()).collect(),
            _ => vs.iter().map(|v| dn_shape(v)).collect(),
        };
        vs.sort();
        attrs.insert(name, vs);
    }
    format!("{}: {attrs:?}", dn_shape(&e.dn))
}

/// The rendering both servers' answers are compared in: result code, diagnostic prefix,
/// the "more data" flag, and each entry of ours (tombstones of earlier runs collapse
/// into one line, as Samba keeps them).
pub fn render(a: &Answer, tombstones: &[&str]) -> String {
    let lines: BTreeSet<String> = a
        .entries
        .iter()
        .filter(|e| ours(&e.dn, tombstones))
        .map(render_entry)
        .collect();
    let lines: Vec<String> = lines.into_iter().collect();
    format!(
        "rc={} {} more={} cookie={}\n{}",
        a.rc,
        diagnostic(a.rc, &a.text),
        a.more.map_or("none".into(), |m| m.to_string()),
        if a.cookie.is_empty() { "none" } else { "some" },
        lines.join("\n")
    )
}

/// What one server answered to the whole sequence, step by step, and its first round's
/// cookie (for the cookie-from-another-DC step).
pub struct Sequence {
    pub steps: Vec<(&'static str, String)>,
    pub cookie: Vec<u8>,
}

pub async fn sequence(url: &str) -> Sequence {
    let mut ldap = admin(url).await;
    let temp = format!("CN=DirSync Temp,{PEOPLE}");
    let alice = format!("CN=Alice Archer,{PEOPLE}");
    let team = format!("CN=Team,{GROUPS}");
    let boss = format!("CN=Boss,{PEOPLE}");
    let mut steps = Vec::new();
    let mut writes = Vec::new();
    let r = ldap
        .add(
            &temp,
            vec![
                ("objectClass", HashSet::from(["user"])),
                ("sAMAccountName", HashSet::from(["dstemp"])),
                ("description", HashSet::from(["to be deleted"])),
            ],
        )
        .await
        .expect("add answered");
    writes.push(format!("add: rc={}", r.rc));
    let r = ldap
        .modify(
            &boss,
            vec![Mod::Replace("description", HashSet::from(["The boss"]))],
        )
        .await
        .expect("modify answered");
    writes.push(format!("set description: rc={}", r.rc));

    let first = dirsync(&mut ldap, BASE, 0, 0, &[]).await;
    steps.push(("dirsync first round", render(&first, BEFORE_FIRST_ROUND)));
    let first_iv = dirsync(&mut ldap, BASE, INCREMENTAL_VALUES, 0, &[]).await;
    steps.push((
        "dirsync first round, incremental values",
        render(&first_iv, BEFORE_FIRST_ROUND),
    ));

    let mods: [(&str, &str, Vec<Mod<&str>>); 4] = [
        (
            "modify mail",
            &alice,
            vec![Mod::Replace("mail", HashSet::from(["archer@samdom.test"]))],
        ),
        (
            "add member",
            &team,
            vec![Mod::Add(
                "member",
                HashSet::from(["CN=Minion,OU=People,OU=Differential,DC=samdom,DC=test"]),
            )],
        ),
        (
            "remove member",
            &team,
            vec![Mod::Delete(
                "member",
                HashSet::from(["CN=Smith\\, John,OU=People,OU=Differential,DC=samdom,DC=test"]),
            )],
        ),
        (
            "clear description",
            &boss,
            vec![Mod::Delete("description", HashSet::new())],
        ),
    ];
    for (name, dn, m) in mods {
        let r = ldap.modify(dn, m).await.expect("modify answered");
        writes.push(format!("{name}: rc={}", r.rc));
    }
    let r = ldap.delete(&temp).await.expect("delete answered");
    writes.push(format!("delete: rc={}", r.rc));
    steps.push(("dirsync writes", writes.join("\n")));

    let second = dirsync(&mut ldap, BASE, 0, 0, &first.cookie).await;
    steps.push(("dirsync second round", render(&second, ALL_TOMBSTONES)));
    let second_iv = dirsync(&mut ldap, BASE, INCREMENTAL_VALUES, 0, &first_iv.cookie).await;
    steps.push((
        "dirsync second round, incremental values",
        render(&second_iv, ALL_TOMBSTONES),
    ));
    let third = dirsync(&mut ldap, BASE, 0, 0, &second.cookie).await;
    steps.push((
        "dirsync third round, nothing changed",
        render(&third, ALL_TOMBSTONES),
    ));

    let (first_answer, union) = more_data(&mut ldap).await;
    steps.push(("dirsync more data", first_answer));
    steps.push(("dirsync more data, continued by cookie", union));
    let below = dirsync(&mut ldap, OU, 0, 0, &[]).await;
    steps.push((
        "dirsync base below the naming context",
        render(&below, ALL_TOMBSTONES),
    ));

    let mut user = connect(url).await;
    user.simple_bind(&alice, PW)
        .await
        .expect("bind answered")
        .success()
        .expect("alice binds");
    let refused = dirsync(&mut user, BASE, 0, 0, &[]).await;
    steps.push((
        "dirsync without the replication right",
        render(&refused, ALL_TOMBSTONES),
    ));
    let own = dirsync(&mut user, BASE, OBJECT_SECURITY, 0, &[]).await;
    steps.push((
        "dirsync object security as a user",
        render(&own, ALL_TOMBSTONES),
    ));
    Sequence {
        steps,
        cookie: first.cookie,
    }
}

/// A round asked for at most one byte, continued by cookie until "more data" is 0: the
/// first answer's flag and size, then the union of what all answers returned.
async fn more_data(ldap: &mut Ldap) -> (String, String) {
    let mut cookie = Vec::new();
    let mut seen = BTreeSet::new();
    let mut first = None;
    for _ in 0..200 {
        let a = dirsync(ldap, BASE, 0, 1, &cookie).await;
        if a.rc != 0 {
            return (render(&a, ALL_TOMBSTONES), String::new());
        }
        first.get_or_insert(format!(
            "more={} with {} entries",
            a.more.map_or("none".into(), |m| m.to_string()),
            if a.entries.len() <= 1 {
                "at most one"
            } else {
                "several"
            }
        ));
        seen.extend(
            a.entries
                .iter()
                .filter(|e| ours(&e.dn, ALL_TOMBSTONES))
                .map(render_entry),
        );
        cookie = a.cookie;
        if a.more != Some(1) {
            break;
        }
    }
    (
        first.unwrap_or_default(),
        seen.into_iter().collect::<Vec<_>>().join("\n"),
    )
}

/// A cookie one server made, given to the other.
pub async fn foreign(url: &str, cookie: &[u8]) -> String {
    let mut ldap = admin(url).await;
    let a = dirsync(&mut ldap, BASE, 0, 0, cookie).await;
    render(&a, ALL_TOMBSTONES)
}
