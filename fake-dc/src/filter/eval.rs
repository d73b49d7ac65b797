//! Evaluating filters against the directory with AD's matching rules.
//!
//! A filter is first *prepared* against the directory: values are case-folded and parsed
//! once, short `objectCategory` names resolved, and in-chain (`1.2.840.113556.1.4.1941`)
//! assertions turned into the set of entries they match, so evaluating over 100,000
//! entries does no repeated work. Evaluation is two-valued: AD treats an unknown attribute
//! or matching rule as no match, so `(!(unknownAttr=1))` matches everything.

use std::collections::{BTreeSet, HashSet};

use super::ast::{Extensible, Filter, Substrings};
use crate::directory::{parse_generalized_time, Directory, EntryId, Sid};
use crate::dn::{fold_case, Dn};
use crate::schema::{self, ObjectKind, Syntax};

/// The matching-rule OIDs AD implements beyond plain equality.
pub const BIT_AND: &str = "1.2.840.113556.1.4.803";
pub const BIT_OR: &str = "1.2.840.113556.1.4.804";
pub const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// A filter that cannot be evaluated; AD answers these with an error result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// Bit-wise rules need an integer assertion (AD: operationsError).
    #[error("matching rule {rule} needs an integer value, got '{value}'")]
    NotAnInteger { rule: String, value: String },
}

/// A comparable form of one assertion value, parsed under the attribute's syntax.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Text(String),
    Int(i64),
    Time(i64),
    Bytes(Vec<u8>),
    Dn(String),
    /// A value that cannot be compared under the attribute's syntax: matches nothing.
    Never,
}

/// A filter prepared for one directory.
#[derive(Debug, Clone)]
pub enum Prepared {
    And(Vec<Prepared>),
    Or(Vec<Prepared>),
    Not(Box<Prepared>),
    True,
    False,
    Equal {
        attr: String,
        syntax: Syntax,
        key: Key,
    },
    /// Many equality branches of one OR on the same attribute, as one set: a 1,000-branch
    /// `(|(mail=a)(mail=b)…)` costs one hash lookup per value, not 1,000 comparisons.
    /// `Key::Never` is never in the set.
    EqualAny {
        attr: String,
        syntax: Syntax,
        keys: HashSet<Key>,
    },
    /// objectClass / objectCategory equality, resolved to the kinds that satisfy it.
    Kinds(Vec<ObjectKind>),
    Present(String),
    Substrings {
        attr: String,
        initial: Option<String>,
        any: Vec<String>,
        final_: Option<String>,
    },
    Order {
        attr: String,
        syntax: Syntax,
        key: Key,
        greater: bool,
    },
    Bits {
        attr: String,
        mask: u32,
        all: bool,
    },
    InSet(BTreeSet<EntryId>),
    DnAttr {
        attr: Option<String>,
        value: String,
    },
}

fn text(v: &[u8]) -> String {
    fold_case(&String::from_utf8_lossy(v))
}

fn int(v: &[u8]) -> Option<i64> {
    std::str::from_utf8(v).ok()?.trim().parse().ok()
}

fn key_for(syntax: Syntax, attr: &str, v: &[u8]) -> Key {
    match syntax {
        Syntax::Integer => int(v).map_or(Key::Never, Key::Int),
        Syntax::GeneralizedTime => std::str::from_utf8(v)
            .ok()
            .and_then(parse_generalized_time)
            .map_or(Key::Never, Key::Time),
        Syntax::Binary => {
            // AD also accepts the string form of a SID in a filter.
            if attr.eq_ignore_ascii_case("objectSid") {
                if let Some(sid) = std::str::from_utf8(v).ok().and_then(Sid::parse) {
                    return Key::Bytes(sid.to_bytes());
                }
            }
            Key::Bytes(v.to_vec())
        }
        Syntax::Dn => match Dn::parse(&String::from_utf8_lossy(v)) {
            Ok(dn) => Key::Dn(dn.key()),
            Err(_) => Key::Never,
        },
        Syntax::String | Syntax::Boolean => Key::Text(text(v)),
    }
}

fn value_key(syntax: Syntax, v: &[u8]) -> Key {
    match syntax {
        Syntax::Integer => int(v).map_or(Key::Never, Key::Int),
        Syntax::GeneralizedTime => std::str::from_utf8(v)
            .ok()
            .and_then(parse_generalized_time)
            .map_or(Key::Never, Key::Time),
        Syntax::Binary => Key::Bytes(v.to_vec()),
        Syntax::Dn => {
            Dn::parse(&String::from_utf8_lossy(v)).map_or(Key::Never, |d| Key::Dn(d.key()))
        }
        Syntax::String | Syntax::Boolean => Key::Text(text(v)),
    }
}

fn keys_equal(a: &Key, b: &Key) -> bool {
    match (a, b) {
        (Key::Text(x), Key::Text(y)) | (Key::Dn(x), Key::Dn(y)) => x == y,
        (Key::Int(x), Key::Int(y)) | (Key::Time(x), Key::Time(y)) => x == y,
        (Key::Bytes(x), Key::Bytes(y)) => x == y,
        _ => false,
    }
}

fn keys_cmp(a: &Key, b: &Key) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Key::Text(x), Key::Text(y)) | (Key::Dn(x), Key::Dn(y)) => Some(x.cmp(y)),
        (Key::Int(x), Key::Int(y)) | (Key::Time(x), Key::Time(y)) => Some(x.cmp(y)),
        (Key::Bytes(x), Key::Bytes(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Fewest equality branches on one attribute that an OR turns into one set.
const GROUP_AT: usize = 8;

/// Merges an OR's equality branches on the same attribute into [`Prepared::EqualAny`]
/// where there are at least [`GROUP_AT`] of them; the rest stay as they are.
fn group_equalities(branches: Vec<Prepared>) -> Prepared {
    let mut counts: std::collections::HashMap<(String, Syntax), usize> = Default::default();
    for b in &branches {
        if let Prepared::Equal { attr, syntax, .. } = b {
            *counts
                .entry((attr.to_ascii_lowercase(), *syntax))
                .or_default() += 1;
        }
    }
    if counts.values().all(|n| *n < GROUP_AT) {
        return Prepared::Or(branches);
    }
    let mut sets: Vec<Prepared> = Vec::new();
    let mut out = Vec::new();
    for b in branches {
        match b {
            Prepared::Equal { attr, syntax, key }
                if counts
                    .get(&(attr.to_ascii_lowercase(), syntax))
                    .is_some_and(|n| *n >= GROUP_AT) =>
            {
                let same = |s: &Prepared| {
                    matches!(s, Prepared::EqualAny { attr: a, syntax: x, .. }
                        if a.eq_ignore_ascii_case(&attr) && *x == syntax)
                };
                let pos = match sets.iter().position(same) {
                    Some(pos) => pos,
                    None => {
                        sets.push(Prepared::EqualAny {
                            attr,
                            syntax,
                            keys: HashSet::new(),
                        });
                        sets.len() - 1
                    }
                };
                if let Some(Prepared::EqualAny { keys, .. }) = sets.get_mut(pos) {
                    if key != Key::Never {
                        keys.insert(key);
                    }
                }
            }
            other => out.push(other),
        }
    }
    out.extend(sets);
    Prepared::Or(out)
}

/// Strips attribute options (`member;range=0-1499` → `member`).
fn base_attr(attr: &str) -> &str {
    attr.split(';').next().unwrap_or(attr)
}

impl Directory {
    /// Checks what AD would refuse outright.
    pub fn validate_filter(filter: &Filter) -> Result<(), FilterError> {
        match filter {
            Filter::And(fs) | Filter::Or(fs) => fs.iter().try_for_each(Directory::validate_filter),
            Filter::Not(f) => Directory::validate_filter(f),
            Filter::Extensible(Extensible {
                rule: Some(rule),
                value,
                ..
            }) if rule == BIT_AND || rule == BIT_OR => {
                if int(value).is_none() {
                    return Err(FilterError::NotAnInteger {
                        rule: rule.clone(),
                        value: String::from_utf8_lossy(value).into_owned(),
                    });
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Prepares a filter for evaluation against this directory.
    pub fn prepare(&self, filter: &Filter) -> Prepared {
        match filter {
            Filter::And(fs) => Prepared::And(fs.iter().map(|f| self.prepare(f)).collect()),
            Filter::Or(fs) => group_equalities(fs.iter().map(|f| self.prepare(f)).collect()),
            Filter::Not(f) => Prepared::Not(Box::new(self.prepare(f))),
            Filter::Equality(attr, v) | Filter::Approx(attr, v) => {
                self.prepare_equality(base_attr(attr), v)
            }
            Filter::Present(attr) => {
                let attr = base_attr(attr);
                if attr.eq_ignore_ascii_case("objectClass") {
                    Prepared::True
                } else {
                    Prepared::Present(attr.to_string())
                }
            }
            Filter::Substrings(
                attr,
                Substrings {
                    initial,
                    any,
                    final_,
                },
            ) => Prepared::Substrings {
                attr: base_attr(attr).to_string(),
                initial: initial.as_deref().map(text),
                any: any.iter().map(|a| text(a)).collect(),
                final_: final_.as_deref().map(text),
            },
            Filter::GreaterOrEqual(attr, v) | Filter::LessOrEqual(attr, v) => {
                let attr = base_attr(attr);
                let syntax = schema::syntax(attr);
                Prepared::Order {
                    attr: attr.to_string(),
                    syntax,
                    key: key_for(syntax, attr, v),
                    greater: matches!(filter, Filter::GreaterOrEqual(..)),
                }
            }
            Filter::Extensible(ext) => self.prepare_extensible(ext),
        }
    }

    fn prepare_equality(&self, attr: &str, v: &[u8]) -> Prepared {
        if attr.eq_ignore_ascii_case("objectClass") {
            let class = text(v);
            return Prepared::Kinds(
                schema::ALL_KINDS
                    .iter()
                    .copied()
                    .filter(|k| {
                        k.object_classes()
                            .iter()
                            .any(|c| c.eq_ignore_ascii_case(&class))
                    })
                    .collect(),
            );
        }
        if attr.eq_ignore_ascii_case("objectCategory") {
            let s = String::from_utf8_lossy(v);
            // A short name is a class's lDAPDisplayName, standing for its default category.
            let category = match schema::category_of_short_name(&s) {
                Some(cn) => self.category_dn(cn).key(),
                None if !s.contains('=') => self.category_dn(&s).key(),
                None => match Dn::parse(&s) {
                    Ok(dn) => dn.key(),
                    Err(_) => return Prepared::False,
                },
            };
            return Prepared::Kinds(
                schema::ALL_KINDS
                    .iter()
                    .copied()
                    .filter(|k| self.category_dn(k.category()).key() == category)
                    .collect(),
            );
        }
        let syntax = schema::syntax(attr);
        Prepared::Equal {
            attr: attr.to_string(),
            syntax,
            key: key_for(syntax, attr, v),
        }
    }

    fn prepare_extensible(&self, ext: &Extensible) -> Prepared {
        let attr = ext.attr.as_deref().map(base_attr);
        let prepared = match (ext.rule.as_deref(), attr) {
            (Some(BIT_AND), Some(a)) | (Some(BIT_OR), Some(a)) => match int(&ext.value) {
                Some(mask) => Prepared::Bits {
                    attr: a.to_string(),
                    // Both 2147483648 and -2147483648 name the sign bit.
                    mask: mask as u32,
                    all: ext.rule.as_deref() == Some(BIT_AND),
                },
                None => Prepared::False,
            },
            (Some(IN_CHAIN), Some(a)) => {
                let Ok(dn) = Dn::parse(&String::from_utf8_lossy(&ext.value)) else {
                    return Prepared::False;
                };
                let Some(target) = self.lookup(&dn).filter(|t| !self.entry(*t).deleted) else {
                    return Prepared::False;
                };
                if a.eq_ignore_ascii_case("memberOf") {
                    Prepared::InSet(self.transitive_members(target))
                } else if a.eq_ignore_ascii_case("member") {
                    Prepared::InSet(self.transitive_member_of(target))
                } else {
                    self.prepare_equality(a, &ext.value)
                }
            }
            (None, Some(a)) => self.prepare_equality(a, &ext.value),
            (Some(rule), Some(a))
                if matches!(
                    rule.to_ascii_lowercase().as_str(),
                    "caseignorematch"
                        | "2.5.13.2"
                        | "distinguishednamematch"
                        | "2.5.13.1"
                        | "integermatch"
                        | "2.5.13.14"
                        | "octetstringmatch"
                        | "2.5.13.17"
                ) =>
            {
                self.prepare_equality(a, &ext.value)
            }
            _ => Prepared::False,
        };
        if ext.dn_attributes {
            Prepared::Or(vec![
                prepared,
                Prepared::DnAttr {
                    attr: attr.map(str::to_string),
                    value: text(&ext.value),
                },
            ])
        } else {
            prepared
        }
    }

    /// Does `id` match the prepared filter?
    pub fn matches(&self, id: EntryId, p: &Prepared) -> bool {
        match p {
            Prepared::And(ps) => ps.iter().all(|p| self.matches(id, p)),
            Prepared::Or(ps) => ps.iter().any(|p| self.matches(id, p)),
            Prepared::Not(p) => !self.matches(id, p),
            Prepared::True => true,
            Prepared::False => false,
            Prepared::Kinds(kinds) => kinds.contains(&self.entry(id).kind),
            Prepared::Present(attr) => !self.values(id, attr).is_empty(),
            Prepared::Equal { attr, syntax, key } => self
                .values(id, attr)
                .iter()
                .any(|v| keys_equal(&value_key(*syntax, v), key)),
            Prepared::EqualAny { attr, syntax, keys } => self
                .values(id, attr)
                .iter()
                .any(|v| keys.contains(&value_key(*syntax, v))),
            Prepared::Substrings {
                attr,
                initial,
                any,
                final_,
            } => self.values(id, attr).iter().any(|v| {
                let s = text(v);
                substring_match(&s, initial.as_deref(), any, final_.as_deref())
            }),
            Prepared::Order {
                attr,
                syntax,
                key,
                greater,
            } => {
                self.values(id, attr)
                    .iter()
                    .any(|v| match keys_cmp(&value_key(*syntax, v), key) {
                        Some(o) if *greater => o != std::cmp::Ordering::Less,
                        Some(o) => o != std::cmp::Ordering::Greater,
                        None => false,
                    })
            }
            Prepared::Bits { attr, mask, all } => {
                self.values(id, attr).iter().any(|v| match int(v) {
                    Some(n) => {
                        let n = n as u32;
                        if *all {
                            n & mask == *mask
                        } else {
                            n & mask != 0
                        }
                    }
                    None => false,
                })
            }
            Prepared::InSet(set) => set.contains(&id),
            Prepared::DnAttr { attr, value } => self.dn(id).rdns.iter().any(|rdn| {
                rdn.avas.iter().any(|ava| {
                    attr.as_deref()
                        .is_none_or(|a| a.eq_ignore_ascii_case(&ava.attr))
                        && fold_case(&ava.value) == *value
                })
            }),
        }
    }

    /// Tombstones live under `CN=Deleted Objects`, itself a deleted object: without Show
    /// Deleted nothing below it is returned.
    pub(crate) fn hidden_by_deleted_parent(&self, id: EntryId, show_deleted: bool) -> bool {
        !show_deleted && self.entry(id).parent.is_some_and(|p| self.entry(p).deleted)
    }
}

/// RFC 4517 substring matching on case-folded strings.
fn substring_match(s: &str, initial: Option<&str>, any: &[String], final_: Option<&str>) -> bool {
    let mut rest = s;
    if let Some(i) = initial {
        match rest.strip_prefix(i) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    for a in any {
        match rest.find(a.as_str()) {
            Some(pos) => rest = &rest[pos + a.len()..],
            None => return false,
        }
    }
    match final_ {
        Some(f) => rest.ends_with(f),
        None => true,
    }
}
