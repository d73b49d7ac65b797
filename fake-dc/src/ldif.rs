//! LDIF export (RFC 2849) of a directory, for inspection and for loading the same data
//! into another server (the slapd comparison in `scripts/slapd-compare.sh`).

use std::fmt::Write as _;

use crate::directory::{Directory, EntryId, Scope};
use crate::schema::{ObjectKind, Syntax};

/// Which shape the LDIF takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LdifFlavour {
    /// Every live entry of every naming context with the attributes a `*` search returns,
    /// binary values base64-encoded: what fake-dc serves.
    Ad,
    /// The domain naming contexts mapped onto OpenLDAP's core, cosine and inetOrgPerson
    /// schemas (domains → dcObject/organization, OUs → organizationalUnit, containers →
    /// organizationalRole, users and contacts → inetOrgPerson with `uid` =
    /// sAMAccountName and the fixture password as userPassword, groups with members →
    /// groupOfNames). Other objects, and everything below them, are left out.
    OpenLdap,
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// RFC 2849 SAFE-STRING: printable ASCII, not starting with space, `:` or `<`, not
/// ending with a space.
fn is_safe(v: &[u8]) -> bool {
    v.is_empty()
        || (v.iter().all(|b| (0x20..0x7f).contains(b))
            && !matches!(v[0], b' ' | b':' | b'<')
            && v.last() != Some(&b' '))
}

fn line(out: &mut String, attr: &str, value: &[u8]) {
    if is_safe(value) {
        let _ = writeln!(out, "{attr}: {}", String::from_utf8_lossy(value));
    } else {
        let _ = writeln!(out, "{attr}:: {}", base64(value));
    }
}

/// Writes the directory as LDIF.
pub fn export(dir: &Directory, flavour: LdifFlavour) -> String {
    // No `version: 1` line: it is optional (RFC 2849), and slapadd reads it as an entry
    // without a DN.
    let mut out = String::new();
    let heads: Vec<EntryId> = match flavour {
        LdifFlavour::Ad => dir.naming_contexts(),
        LdifFlavour::OpenLdap => dir.domains.iter().map(|d| d.head).collect(),
    };
    let mut exported = std::collections::HashSet::new();
    for head in heads {
        for id in dir.scope(head, Scope::Subtree) {
            let e = dir.entry(id);
            if e.deleted {
                continue;
            }
            if let Some(p) = e.parent {
                if !exported.contains(&p) {
                    continue;
                }
            }
            let written = match flavour {
                LdifFlavour::Ad => {
                    ad_entry(dir, id, &mut out);
                    true
                }
                LdifFlavour::OpenLdap => openldap_entry(dir, id, &mut out),
            };
            if written {
                exported.insert(id);
            }
        }
    }
    out
}

fn ad_entry(dir: &Directory, id: EntryId, out: &mut String) {
    line(out, "dn", dir.dn_str(id).to_string().as_bytes());
    let mut seen = std::collections::HashSet::new();
    for name in dir.attribute_names(id) {
        if !seen.insert(name.to_ascii_lowercase()) {
            continue;
        }
        let binary = crate::schema::syntax(&name) == Syntax::Binary;
        for v in dir.values(id, &name).iter() {
            if binary {
                let _ = writeln!(out, "{name}:: {}", base64(v));
            } else {
                line(out, &name, v);
            }
        }
    }
    out.push('\n');
}

fn openldap_entry(dir: &Directory, id: EntryId, out: &mut String) -> bool {
    let e = dir.entry(id);
    let dn = dir.dn_str(id).to_string();
    let rdn_value = e.rdn.value().to_string();
    let mut attrs: Vec<(&str, Vec<u8>)> = Vec::new();
    let copy = |attrs: &mut Vec<(&'static str, Vec<u8>)>, from: &str, to: &'static str| {
        for v in dir.values(id, from).iter() {
            attrs.push((to, v.clone()));
        }
    };
    match e.kind {
        ObjectKind::Domain if e.parent.is_none() && !dir.dns_zones.contains(&id) => {
            for c in ["top", "dcObject", "organization"] {
                attrs.push(("objectClass", c.into()));
            }
            attrs.push(("dc", rdn_value.clone().into_bytes()));
            attrs.push(("o", rdn_value.into_bytes()));
        }
        ObjectKind::OrganizationalUnit => {
            attrs.push(("objectClass", b"organizationalUnit".to_vec()));
            attrs.push(("ou", rdn_value.into_bytes()));
            copy(&mut attrs, "description", "description");
        }
        ObjectKind::Container => {
            attrs.push(("objectClass", b"organizationalRole".to_vec()));
            attrs.push(("cn", rdn_value.into_bytes()));
        }
        ObjectKind::User | ObjectKind::Contact => {
            attrs.push(("objectClass", b"inetOrgPerson".to_vec()));
            attrs.push(("cn", rdn_value.clone().into_bytes()));
            let sn = dir
                .values(id, "sn")
                .first()
                .cloned()
                .unwrap_or_else(|| rdn_value.into_bytes());
            attrs.push(("sn", sn));
            for (from, to) in [
                ("givenName", "givenName"),
                ("displayName", "displayName"),
                ("mail", "mail"),
                ("sAMAccountName", "uid"),
                ("telephoneNumber", "telephoneNumber"),
                ("title", "title"),
                ("department", "departmentNumber"),
                ("description", "description"),
            ] {
                copy(&mut attrs, from, to);
            }
            if let Some(p) = &e.password {
                attrs.push(("userPassword", p.clone().into_bytes()));
            }
        }
        ObjectKind::Group if !e.members.is_empty() => {
            attrs.push(("objectClass", b"groupOfNames".to_vec()));
            attrs.push(("cn", rdn_value.into_bytes()));
            copy(&mut attrs, "member", "member");
            copy(&mut attrs, "description", "description");
        }
        _ => return false,
    }
    line(out, "dn", dn.as_bytes());
    for (a, v) in attrs {
        line(out, a, &v);
    }
    out.push('\n');
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert!(!is_safe(" x".as_bytes()));
        assert!(!is_safe("Müller".as_bytes()));
        assert!(is_safe(b"plain"));
    }
}
