//! Filter evaluation checked against a naive reference evaluator on random entries and
//! random filters. The reference works on plain strings with no indexes, no preparation
//! and no schema beyond "these attributes are integers", so the two share no code.

#![allow(clippy::unwrap_used)] // tests and benches fail loudly on broken fixtures
use std::collections::BTreeMap;

use fake_dc::directory::{Directory, NewEntry, Scope};
use fake_dc::dn::Rdn;
use fake_dc::filter::{Extensible, Filter, Substrings};
use fake_dc::fixture::{load_str, LoadOptions};
use fake_dc::schema::ObjectKind;
use proptest::prelude::*;

/// A random entry: attribute → values, over a small vocabulary so filters hit often.
type Model = BTreeMap<&'static str, Vec<String>>;

const STRING_ATTRS: &[&str] = &["description", "department", "mail", "title"];
const INT_ATTRS: &[&str] = &["userAccountControl", "logonCount"];
const WORDS: &[&str] = &[
    "alpha", "Alpha", "ALPHA", "beta", "Beta", "gamma", "Zoë", "zoë", "al", "ha", "a",
];

fn entry_strategy() -> impl Strategy<Value = Model> {
    let strings = proptest::collection::btree_map(
        proptest::sample::select(STRING_ATTRS),
        proptest::collection::vec(
            proptest::sample::select(WORDS).prop_map(str::to_string),
            1..3,
        ),
        0..4,
    );
    let ints = proptest::collection::btree_map(
        proptest::sample::select(INT_ATTRS),
        (0u32..70000).prop_map(|n| vec![n.to_string()]),
        0..3,
    );
    (strings, ints).prop_map(|(mut s, i)| {
        // `mail` and `department` are single-valued in AD.
        for single in ["mail", "department", "title"] {
            if let Some(v) = s.get_mut(single) {
                v.truncate(1);
            }
        }
        // Multi-valued attributes hold distinct values (case-insensitively), as in AD.
        for v in s.values_mut() {
            let mut seen = std::collections::HashSet::new();
            v.retain(|x| seen.insert(x.to_lowercase()));
        }
        s.extend(i);
        s
    })
}

fn leaf() -> impl Strategy<Value = Filter> {
    let s_attr = proptest::sample::select(STRING_ATTRS).prop_map(str::to_string);
    let i_attr = proptest::sample::select(INT_ATTRS).prop_map(str::to_string);
    let word = proptest::sample::select(WORDS).prop_map(|w| w.as_bytes().to_vec());
    let num = (0u32..70000).prop_map(|n| n.to_string().into_bytes());
    let mask = proptest::sample::select(&[1u32, 2, 16, 512, 514, 65536, 66048][..])
        .prop_map(|n| n.to_string().into_bytes());
    prop_oneof![
        (s_attr.clone(), word.clone()).prop_map(|(a, v)| Filter::Equality(a, v)),
        (i_attr.clone(), num.clone()).prop_map(|(a, v)| Filter::Equality(a, v)),
        s_attr.clone().prop_map(Filter::Present),
        i_attr.clone().prop_map(Filter::Present),
        (
            s_attr.clone(),
            proptest::option::of(word.clone()),
            proptest::collection::vec(word.clone(), 0..2),
            proptest::option::of(word.clone())
        )
            .prop_filter("a substring filter needs a part", |(_, i, a, f)| i
                .is_some()
                || !a.is_empty()
                || f.is_some())
            .prop_map(|(attr, initial, any, final_)| Filter::Substrings(
                attr,
                Substrings {
                    initial,
                    any,
                    final_
                }
            )),
        (i_attr.clone(), num.clone()).prop_map(|(a, v)| Filter::GreaterOrEqual(a, v)),
        (i_attr.clone(), num).prop_map(|(a, v)| Filter::LessOrEqual(a, v)),
        (s_attr.clone(), word.clone()).prop_map(|(a, v)| Filter::GreaterOrEqual(a, v)),
        (s_attr, word).prop_map(|(a, v)| Filter::Approx(a, v)),
        (i_attr.clone(), mask.clone()).prop_map(|(a, v)| Filter::Extensible(Extensible {
            rule: Some("1.2.840.113556.1.4.803".into()),
            attr: Some(a),
            value: v,
            dn_attributes: false
        })),
        (i_attr, mask).prop_map(|(a, v)| Filter::Extensible(Extensible {
            rule: Some("1.2.840.113556.1.4.804".into()),
            attr: Some(a),
            value: v,
            dn_attributes: false
        })),
        Just(Filter::Equality("noSuchAttribute".into(), b"x".to_vec())),
    ]
}

fn filter_strategy() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Filter::And),
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

/// The reference: straight from RFC 4511/4517 and AD's documented rules.
fn reference(m: &Model, f: &Filter) -> bool {
    let lower = |b: &[u8]| String::from_utf8_lossy(b).to_lowercase();
    let is_int = |a: &str| INT_ATTRS.iter().any(|x| x.eq_ignore_ascii_case(a));
    let vals = |a: &str| -> Vec<String> {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(a))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    match f {
        Filter::And(fs) => fs.iter().all(|f| reference(m, f)),
        Filter::Or(fs) => fs.iter().any(|f| reference(m, f)),
        Filter::Not(f) => !reference(m, f),
        Filter::Equality(a, v) | Filter::Approx(a, v) => vals(a).iter().any(|x| {
            if is_int(a) {
                x.parse::<i64>().ok() == String::from_utf8_lossy(v).parse::<i64>().ok()
            } else {
                x.to_lowercase() == lower(v)
            }
        }),
        Filter::Present(a) => !vals(a).is_empty(),
        Filter::Substrings(a, s) => vals(a).iter().any(|x| {
            let x = x.to_lowercase();
            let mut pos = 0;
            if let Some(i) = &s.initial {
                if !x.starts_with(&lower(i)) {
                    return false;
                }
                pos = lower(i).len();
            }
            for part in &s.any {
                match x[pos..].find(&lower(part)) {
                    Some(p) => pos += p + lower(part).len(),
                    None => return false,
                }
            }
            s.final_
                .as_ref()
                .is_none_or(|f| x[pos..].ends_with(&lower(f)))
        }),
        Filter::GreaterOrEqual(a, v) | Filter::LessOrEqual(a, v) => {
            let ge = matches!(f, Filter::GreaterOrEqual(..));
            vals(a).iter().any(|x| {
                let ord = if is_int(a) {
                    let (Ok(l), Ok(r)) =
                        (x.parse::<i64>(), String::from_utf8_lossy(v).parse::<i64>())
                    else {
                        return false;
                    };
                    l.cmp(&r)
                } else {
                    x.to_lowercase().cmp(&lower(v))
                };
                if ge {
                    ord.is_ge()
                } else {
                    ord.is_le()
                }
            })
        }
        Filter::Extensible(e) => {
            let mask: u32 = String::from_utf8_lossy(&e.value).parse().unwrap_or(0);
            let all = e.rule.as_deref() == Some("1.2.840.113556.1.4.803");
            vals(e.attr.as_deref().unwrap_or("")).iter().any(|x| {
                let n: u32 = x.parse().unwrap_or(0);
                if all {
                    n & mask == mask
                } else {
                    n & mask != 0
                }
            })
        }
    }
}

fn build(entries: &[Model]) -> (Directory, Vec<fake_dc::directory::EntryId>) {
    let mut dir = load_str(
        "domains: [{ dns: t.test, ous: [{ name: Lab }] }]",
        "inline",
        LoadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let lab = dir
        .resolve(&"OU=Lab,DC=t,DC=test".parse().unwrap())
        .unwrap();
    let ids = entries
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut new = NewEntry::new(lab, Rdn::new("CN", format!("e{i}")), ObjectKind::Contact);
            for (k, v) in m {
                new = new.with(k, &v.iter().map(String::as_str).collect::<Vec<_>>());
            }
            dir.create(new).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    (dir, ids)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn evaluator_agrees_with_reference(entries in proptest::collection::vec(entry_strategy(), 1..12), filter in filter_strategy()) {
        let (dir, ids) = build(&entries);
        let lab = dir.resolve(&"OU=Lab,DC=t,DC=test".parse().unwrap()).unwrap();
        let got: Vec<_> = dir.search(lab, Scope::OneLevel, &filter, false);
        let want: Vec<_> = ids.iter().zip(&entries).filter(|(_, m)| reference(m, &filter)).map(|(id, _)| *id).collect();
        prop_assert_eq!(got, want, "filter {}", filter);
    }
}
