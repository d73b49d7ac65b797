//! Filters over Google's tree: the RFC 4511 filter against string attributes compared
//! without regard to case (Google's attributes are directory strings, IA5 strings,
//! integers and DNs), DN-valued attributes compared as DNs.

use crate::dn::{fold_case, Dn};
use crate::filter::Filter;

use super::tree::GEntry;

/// Attributes whose values are DNs.
fn is_dn_attr(attr: &str) -> bool {
    ["member", "memberOf"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(attr))
}

fn is_integer_attr(attr: &str) -> bool {
    ["uidNumber", "gidNumber"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(attr))
}

fn norm(attr: &str, value: &str) -> String {
    if is_dn_attr(attr) {
        if let Ok(dn) = Dn::parse(value) {
            return dn.key();
        }
    }
    fold_case(value)
}

fn text(bytes: &[u8]) -> Option<String> {
    String::from_utf8(bytes.to_vec()).ok()
}

/// Whether `entry` matches `filter`. Unknown attributes and rules match nothing, as an
/// LDAP server's Undefined does once a NOT is applied the way AD and OpenLDAP do.
pub fn matches(entry: &GEntry, filter: &Filter) -> bool {
    match filter {
        Filter::And(fs) => fs.iter().all(|f| matches(entry, f)),
        Filter::Or(fs) => fs.iter().any(|f| matches(entry, f)),
        Filter::Not(f) => !matches(entry, f),
        Filter::Present(attr) => {
            attr.eq_ignore_ascii_case("objectClass") || !entry.get(attr).is_empty()
        }
        Filter::Equality(attr, value) | Filter::Approx(attr, value) => {
            let Some(value) = text(value) else {
                return false;
            };
            let want = norm(attr, &value);
            entry.get(attr).iter().any(|v| norm(attr, v) == want)
        }
        Filter::Substrings(attr, s) => {
            let fold = |b: &Option<Vec<u8>>| b.as_deref().and_then(text).map(|t| fold_case(&t));
            let initial = fold(&s.initial);
            let final_ = fold(&s.final_);
            let any: Option<Vec<String>> = s
                .any
                .iter()
                .map(|a| text(a).map(|t| fold_case(&t)))
                .collect();
            let Some(any) = any else { return false };
            entry.get(attr).iter().any(|v| {
                let v = fold_case(v);
                let mut rest = v.as_str();
                if let Some(i) = &initial {
                    match rest.strip_prefix(i.as_str()) {
                        Some(r) => rest = r,
                        None => return false,
                    }
                }
                for a in &any {
                    match rest.find(a.as_str()) {
                        Some(at) => rest = &rest[at + a.len()..],
                        None => return false,
                    }
                }
                final_.as_ref().is_none_or(|f| rest.ends_with(f.as_str()))
            })
        }
        Filter::GreaterOrEqual(attr, value) => order(entry, attr, value, true),
        Filter::LessOrEqual(attr, value) => order(entry, attr, value, false),
        Filter::Extensible(_) => false,
    }
}

fn order(entry: &GEntry, attr: &str, value: &[u8], greater: bool) -> bool {
    let Some(value) = text(value) else {
        return false;
    };
    entry.get(attr).iter().any(|v| {
        if is_integer_attr(attr) {
            match (v.parse::<i64>(), value.parse::<i64>()) {
                (Ok(a), Ok(b)) => (greater && a >= b) || (!greater && a <= b),
                _ => false,
            }
        } else {
            let (a, b) = (fold_case(v), fold_case(&value));
            (greater && a >= b) || (!greater && a <= b)
        }
    })
}
