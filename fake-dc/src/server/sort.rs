//! Server-side sort (1.2.840.113556.1.4.473, RFC 2891; response .474) and the virtual
//! list view (2.16.840.1.113730.3.4.9, draft-ietf-ldapext-ldapv3-vlv-09; response .10),
//! with AD's limits:
//!
//! - one sort key: AD sorts on a single attribute; more keys get sortResult
//!   unwillingToPerform (53) (MS-ADTS 3.1.1.3.4.1.1: "only one sort key");
//! - an ordering rule must be one of AD's own sort-order OIDs (`1.2.840.113556.1.4.*`,
//!   which select a collation); anything else is inappropriateMatching (18);
//! - a sort that fails ends the search with unavailableCriticalExtension (12) when the
//!   control was critical, and returns the entries unsorted when it was not — in both
//!   cases with the sortResult control saying why (RFC 2891 §2);
//! - VLV needs a sort control: without one, the view's result is sortControlMissing
//!   (60) and the search's virtualListViewError (76), as are negative offsets
//!   (offsetRangeError, 61);
//! - entries lacking the sort attribute sort after all others (RFC 2891 §2: they are
//!   "larger" than any value), values compare case-insensitively, integers by number,
//!   the least value of a multi-valued attribute counting (the greatest in reverse).

use std::cmp::Ordering;

use ldap3_lber::common::TagClass;
use ldap3_lber::structure::{StructureTag, PL};
use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::LdapResultCode;

use super::codec::Control;
use super::ctrlber;
use crate::directory::{Directory, EntryId};
use crate::dn::fold_case;
use crate::schema::{self, Syntax};

pub(crate) const SORT_OID: &str = "1.2.840.113556.1.4.473";
const SORT_RESPONSE_OID: &str = "1.2.840.113556.1.4.474";
pub(crate) const VLV_OID: &str = "2.16.840.1.113730.3.4.9";
const VLV_RESPONSE_OID: &str = "2.16.840.1.113730.3.4.10";
/// virtualListViewResult values ldap3_proto's result codes lack.
const SORT_CONTROL_MISSING: i64 = 60;
const OFFSET_RANGE_ERROR: i64 = 61;

/// One sort key of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SortKey {
    pub attr: String,
    pub rule: Option<String>,
    pub reverse: bool,
}

/// `SortKeyList ::= SEQUENCE OF SEQUENCE { attributeType, [0] orderingRule, [1] reverse }`.
pub(crate) fn decode_sort(value: &[u8]) -> Option<Vec<SortKey>> {
    let mut keys = Vec::new();
    for key in ctrlber::sequence(value)? {
        let PL::C(parts) = key.payload else {
            return None;
        };
        let mut parts = parts.into_iter();
        let attr = String::from_utf8(ctrlber::bytes(&parts.next()?)?.to_vec()).ok()?;
        let mut k = SortKey {
            attr,
            rule: None,
            reverse: false,
        };
        for p in parts {
            match (p.class, p.id) {
                (TagClass::Context, 0) => {
                    k.rule = Some(String::from_utf8(ctrlber::bytes(&p)?.to_vec()).ok()?)
                }
                (TagClass::Context, 1) => k.reverse = ctrlber::bytes(&p)?.first()? != &0,
                _ => return None,
            }
        }
        keys.push(k);
    }
    Some(keys)
}

/// Where a VLV request points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// `byOffset`: a 1-based offset into a list the client believes `count` long.
    Offset { offset: i64, count: i64 },
    /// `greaterThanOrEqual`: the first entry whose sort value is at least this.
    Value(Vec<u8>),
}

/// A VLV request: entries before and after the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VlvRequest {
    pub before: i64,
    pub after: i64,
    pub target: Target,
}

/// `SEQUENCE { beforeCount, afterCount, CHOICE { [0] byOffset, [1] gte }, contextID? }`.
pub(crate) fn decode_vlv(value: &[u8]) -> Option<VlvRequest> {
    let seq = ctrlber::sequence(value)?;
    let mut it = seq.into_iter();
    let before = ctrlber::int(&it.next()?)?;
    let after = ctrlber::int(&it.next()?)?;
    let target: StructureTag = it.next()?;
    let target = match (target.class, target.id, target.payload) {
        (TagClass::Context, 0, PL::C(inner)) => {
            let [o, c] = <[_; 2]>::try_from(inner).ok()?;
            Target::Offset {
                offset: ctrlber::int(&o)?,
                count: ctrlber::int(&c)?,
            }
        }
        (TagClass::Context, 1, PL::P(v)) => Target::Value(v),
        _ => return None,
    };
    (before >= 0 && after >= 0).then_some(VlvRequest {
        before,
        after,
        target,
    })
}

/// What sorting (and a view) did to a search.
pub(crate) struct Sorted {
    /// The entries to return, in order.
    pub ids: Vec<EntryId>,
    /// Response controls for the SearchResultDone.
    pub controls: Vec<LdapControl>,
    /// The search's result, when sorting or the view ends it with an error.
    pub failure: Option<LdapResultCode>,
}

/// The sort value of an entry for `key`: the least value (the greatest in reverse).
fn sort_value(dir: &Directory, id: EntryId, key: &SortKey) -> Option<Value> {
    let integer = schema::syntax(&key.attr) == Syntax::Integer;
    let values = dir.values(id, &key.attr);
    let all = values.iter().map(|v| Value::of(v, integer));
    if key.reverse {
        all.max()
    } else {
        all.min()
    }
}

/// A comparable value: integers by number, the rest case-folded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Value {
    Int(i64),
    Text(String),
}

impl Value {
    fn of(v: &[u8], integer: bool) -> Value {
        let text = String::from_utf8_lossy(v);
        match text.trim().parse::<i64>() {
            Ok(n) if integer => Value::Int(n),
            _ => Value::Text(fold_case(&text)),
        }
    }
}

/// Sorts `ids` by the request's keys and cuts the view, as the module docs describe.
pub(crate) fn apply(dir: &Directory, mut ids: Vec<EntryId>, controls: &[Control]) -> Sorted {
    let sort = controls.iter().find(|c| c.oid == SORT_OID);
    let vlv = controls.iter().find(|c| c.oid == VLV_OID);
    let mut out = Sorted {
        ids: Vec::new(),
        controls: Vec::new(),
        failure: None,
    };
    let Some(sort) = sort else {
        if vlv.is_some() {
            out.controls.push(vlv_response(0, 0, SORT_CONTROL_MISSING));
            out.failure = Some(LdapResultCode::VirtualListViewError);
            return out;
        }
        out.ids = ids;
        return out;
    };
    let keys = decode_sort(sort.value.as_deref().unwrap_or_default());
    let refusal = match &keys {
        None => Some(LdapResultCode::ProtocolError),
        Some(k) if k.len() != 1 => Some(LdapResultCode::UnwillingToPerform),
        Some(k)
            if k[0]
                .rule
                .as_ref()
                .is_some_and(|r| !r.starts_with("1.2.840.113556.1.4.")) =>
        {
            Some(LdapResultCode::InappropriateMatching)
        }
        Some(_) => None,
    };
    let key = match (refusal, keys) {
        (None, Some(mut k)) => k.remove(0),
        (code, _) => {
            let code = code.unwrap_or(LdapResultCode::ProtocolError);
            out.controls.push(sort_response(code.clone(), None));
            if sort.critical {
                out.failure = Some(LdapResultCode::UnavailableCriticalExtension);
            } else {
                out.ids = ids;
            }
            return out;
        }
    };
    let mut keyed: Vec<(Option<Value>, EntryId)> = ids
        .drain(..)
        .map(|id| (sort_value(dir, id, &key), id))
        .collect();
    keyed.sort_by(|(a, _), (b, _)| compare(a, b, key.reverse));
    out.controls
        .push(sort_response(LdapResultCode::Success, None));
    let Some(vlv) = vlv else {
        out.ids = keyed.into_iter().map(|(_, id)| id).collect();
        return out;
    };
    let Some(view) = decode_vlv(vlv.value.as_deref().unwrap_or_default()) else {
        out.failure = Some(LdapResultCode::ProtocolError);
        return out;
    };
    let n = keyed.len() as i64;
    // 1-based position of the target; n + 1 when it lies past the end.
    let pos = match &view.target {
        Target::Offset { offset, count } => {
            if *offset < 0 || *count < 0 {
                out.controls.push(vlv_response(0, n, OFFSET_RANGE_ERROR));
                out.failure = Some(LdapResultCode::VirtualListViewError);
                return out;
            }
            match (*offset, *count) {
                (o, 0) => o.max(1),
                (o, c) if o >= c => n,
                (o, c) => ((o as i128 * n as i128) / c as i128).max(1) as i64,
            }
        }
        Target::Value(v) => {
            let integer = schema::syntax(&key.attr) == Syntax::Integer;
            let want = Some(Value::of(v, integer));
            1 + keyed
                .iter()
                .take_while(|(k, _)| compare(k, &want, key.reverse) == Ordering::Less)
                .count() as i64
        }
    }
    .min(n + 1);
    let first = (pos - view.before).max(1);
    let last = pos.saturating_add(view.after).min(n);
    out.ids = keyed
        .into_iter()
        .enumerate()
        .filter(|(i, _)| {
            let p = *i as i64 + 1;
            p >= first && p <= last
        })
        .map(|(_, (_, id))| id)
        .collect();
    out.controls.push(vlv_response(pos, n, 0));
    out
}

/// RFC 2891 order: missing values after all others; `reverse` flips the values only.
fn compare(a: &Option<Value>, b: &Option<Value>, reverse: bool) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) if reverse => y.cmp(x),
        (Some(x), Some(y)) => x.cmp(y),
    }
}

fn sort_response(code: LdapResultCode, attr: Option<&str>) -> LdapControl {
    let mut inner = vec![ctrlber::enumerated(code as i64)];
    if let Some(a) = attr {
        inner.push(StructureTag {
            class: TagClass::Context,
            id: 0,
            payload: PL::P(a.as_bytes().to_vec()),
        });
    }
    ctrlber::response(SORT_RESPONSE_OID, inner)
}

fn vlv_response(pos: i64, count: i64, code: i64) -> LdapControl {
    ctrlber::response(
        VLV_RESPONSE_OID,
        vec![
            ctrlber::integer(pos),
            ctrlber::integer(count),
            ctrlber::enumerated(code),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_values_sort_last_and_reverse_flips_values_only() {
        let a = Some(Value::Text("a".into()));
        let b = Some(Value::Text("b".into()));
        assert_eq!(compare(&a, &b, false), Ordering::Less);
        assert_eq!(compare(&a, &b, true), Ordering::Greater);
        assert_eq!(compare(&None, &a, true), Ordering::Greater);
        assert!(Value::of(b"9", true) < Value::of(b"10", true));
    }
}
