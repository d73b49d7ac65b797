//! Attribute selection and ranged retrieval (MS-ADTS 3.1.1.3.1.3.3): AD returns at most
//! MaxValRange (1,500) values of a multi-valued attribute at a time.
//!
//! - asked plainly (or through `*`), an attribute with more values comes back as an
//!   empty `member` plus `member;range=0-1499`;
//! - `member;range=L-H` / `member;range=L-*` returns values L.. up to H, at most 1,500;
//!   the chunk that reaches the last value is named `…;range=L-*`, also when the client
//!   asked for an explicit end past it;
//! - a start past the last value, or an end before the start, drops the attribute.

use std::borrow::Cow;
use std::collections::HashSet;

use ldap3_proto::proto::LdapPartialAttribute;

use super::faults::FaultSet;
use crate::directory::{Directory, EntryId};
use crate::schema;

/// AD's default MaxValRange (the query policy can change it).
pub const MAX_VAL_RANGE: usize = 1_500;

/// Past this many plainly named attributes, an entry's attributes are picked by looking
/// each of the entry's names up in the request's set, rather than each requested name up
/// in the entry: a request naming 100,000 attributes then costs the entry's size, not
/// the list's. Below it the response keeps the requested order.
const MANY_NAMED: usize = 64;

/// `range=L-H` of a requested attribute; `None` for H means `*`.
type Range = (usize, Option<usize>);

/// One requested attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requested {
    /// The name without options, as requested.
    pub name: String,
    /// `range=L-H` (`None` for H means `*`).
    pub range: Option<Range>,
}

/// What a search asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    /// `*` or an empty list: every user attribute.
    pub all_user: bool,
    /// `+`: the constructed / operational attributes too.
    pub operational: bool,
    /// Attributes named explicitly (`1.1` is not among them), each once.
    pub named: Vec<Requested>,
    /// Lower-case names of the plainly named (no range) attributes, for large lists.
    pub plain_set: HashSet<String>,
}

/// Constructed attributes returned for `+` (AD itself ignores `+`; OpenLDAP clients use
/// it to mean "operational attributes", so fake-dc gives them these).
const OPERATIONAL: &[&str] = &[
    "canonicalName",
    "createTimeStamp",
    "modifyTimeStamp",
    "structuralObjectClass",
    "parentGUID",
    "msDS-User-Account-Control-Computed",
    "primaryGroupToken",
];

fn parse_range(option: &str) -> Option<Range> {
    let spec = option
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("range="))?;
    let _ = spec;
    let (lo, hi) = option[6..].split_once('-')?;
    let lo = lo.trim().parse().ok()?;
    let hi = match hi.trim() {
        "*" => None,
        h => Some(h.parse().ok()?),
    };
    Some((lo, hi))
}

impl Selection {
    /// Parses a search's attribute list (RFC 4511 §4.5.1.8).
    pub fn parse(attrs: &[String]) -> Selection {
        let mut sel = Selection {
            all_user: attrs.is_empty(),
            ..Selection::default()
        };
        let mut seen: HashSet<(String, Option<Range>)> = HashSet::new();
        for a in attrs {
            match a.trim() {
                "*" => sel.all_user = true,
                "+" => sel.operational = true,
                "1.1" => {}
                a => {
                    let mut parts = a.split(';');
                    let name = parts.next().unwrap_or_default().to_string();
                    let range = parts.find_map(parse_range);
                    if seen.insert((name.to_ascii_lowercase(), range)) {
                        if range.is_none() {
                            sel.plain_set.insert(name.to_ascii_lowercase());
                        }
                        sel.named.push(Requested { name, range });
                    }
                }
            }
        }
        // Only `1.1` (and nothing else) asks for no attributes at all.
        if attrs.iter().all(|a| a.trim() == "1.1") && !attrs.is_empty() {
            sel.all_user = false;
        }
        sel
    }
}

/// How to render attributes of one search.
pub struct Render<'a> {
    /// What was asked.
    pub selection: &'a Selection,
    /// Global Catalog: only the partial attribute set.
    pub gc: bool,
    /// tokenGroups is computed on base searches only.
    pub base_scope: bool,
    /// Names only, no values.
    pub types_only: bool,
    /// MaxValRange of the query policy.
    pub max_val_range: usize,
    /// The host's faults (`EndlessRange` answers every later chunk with the second).
    pub faults: FaultSet,
}

/// The name to return: the stored spelling, else the schema's, else as asked.
fn canonical_name(dir: &Directory, id: EntryId, name: &str) -> String {
    if let Some(a) = dir
        .entry(id)
        .attrs
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
    {
        return a.name.to_string();
    }
    schema::canonical(name).to_string()
}

impl Render<'_> {
    fn allowed(&self, name: &str) -> bool {
        if self.gc && !schema::attribute(name).is_some_and(|d| d.in_gc) {
            return false;
        }
        if name.eq_ignore_ascii_case("tokenGroups") && !self.base_scope {
            return false;
        }
        // Secrets are never read back (AD: unicodePwd is write-only).
        !(name.eq_ignore_ascii_case("unicodePwd") || name.eq_ignore_ascii_case("userPassword"))
    }

    fn push(&self, out: &mut Vec<LdapPartialAttribute>, atype: String, vals: Vec<Vec<u8>>) {
        let vals = if self.types_only { Vec::new() } else { vals };
        out.push(LdapPartialAttribute { atype, vals });
    }

    /// The attributes of one entry, in order: `*` first, then `+`, then named ones.
    pub fn attributes(&self, dir: &Directory, id: EntryId) -> Vec<LdapPartialAttribute> {
        let mut out = Vec::new();
        let mut plain: Vec<Cow<'_, str>> = Vec::new();
        if self.selection.all_user {
            plain.extend(dir.attribute_names(id));
        }
        if self.selection.operational {
            plain.extend(OPERATIONAL.iter().map(|n| Cow::Borrowed(*n)));
        }
        if self.selection.plain_set.len() > MANY_NAMED {
            plain.extend(
                dir.attribute_names(id)
                    .into_iter()
                    .chain(OPERATIONAL.iter().map(|n| Cow::Borrowed(*n)))
                    .chain(schema::attribute_names().map(Cow::Borrowed))
                    .filter(|n| self.selection.plain_set.contains(&n.to_ascii_lowercase())),
            );
        } else {
            for r in &self.selection.named {
                if r.range.is_none() {
                    plain.push(Cow::Owned(r.name.clone()));
                }
            }
        }
        let mut seen: HashSet<String> = HashSet::new();
        for name in plain {
            let lower = name.to_ascii_lowercase();
            if !self.allowed(&name) || !seen.insert(lower) {
                continue;
            }
            let values = dir.values(id, &name);
            if values.is_empty() {
                continue;
            }
            let canonical = canonical_name(dir, id, &name);
            let max = self.max_val_range.max(1);
            if values.len() > max {
                let first = values[..max].to_vec();
                self.push(&mut out, canonical.clone(), Vec::new());
                self.push(&mut out, format!("{canonical};range=0-{}", max - 1), first);
            } else {
                self.push(&mut out, canonical, values.to_vec());
            }
        }
        for r in &self.selection.named {
            let Some((lo, hi)) = r.range else { continue };
            if !self.allowed(&r.name) {
                continue;
            }
            let values = dir.values(id, &r.name);
            let n = values.len();
            let max = self.max_val_range.max(1);
            if let Some((chunk, claimed)) = self.faults.repeated_range(lo, n, max) {
                let canonical = canonical_name(dir, id, &r.name);
                let name = format!("{canonical};range={}-{claimed}", chunk.start());
                self.push(&mut out, name, values[chunk].to_vec());
                continue;
            }
            if lo >= n || hi.is_some_and(|h| h < lo) {
                continue;
            }
            let last_wanted = hi
                .unwrap_or(usize::MAX)
                .min(lo.saturating_add(self.max_val_range.max(1) - 1));
            let end = last_wanted.min(n - 1);
            let canonical = canonical_name(dir, id, &r.name);
            let name = if end == n - 1 {
                format!("{canonical};range={lo}-*")
            } else {
                format!("{canonical};range={lo}-{end}")
            };
            self.push(&mut out, name, values[lo..=end].to_vec());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_parse() {
        let s = Selection::parse(&["member;range=1500-*".into(), "mail".into(), "MAIL".into()]);
        assert!(!s.all_user);
        assert_eq!(s.named.len(), 2);
        assert_eq!(s.named[0].range, Some((1500, None)));
        assert!(Selection::parse(&[]).all_user);
        assert!(!Selection::parse(&["1.1".into()]).all_user);
        assert_eq!(parse_range("Range=0-1499"), Some((0, Some(1499))));
        assert_eq!(parse_range("range=x-1"), None);
    }
}
