//! Properties: printing then parsing gives the filter back, no input panics, error
//! positions point into the input, and UTF-8 filters survive ldap3_proto.

use super::*;
use ldap3_proto::proto::LdapFilter;
use proptest::prelude::*;

fn attribute() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "cn",
        "objectClass",
        "CN",
        "x-Attr-1",
        "2.5.4.3",
        "1.2.840.113556.1.4.8",
        "cn;lang-en",
        "cn;binary;lang-en",
        "member;range",
        "member;range=0-1499",
        "member;RANGE=1500-*",
    ])
    .prop_map(str::to_string)
}

fn rule() -> impl Strategy<Value = String> {
    // Not "dn": where a rule of that name is ambiguous the parser reads the flag.
    prop::sample::select(vec![
        "1.2.840.113556.1.4.803",
        "1.2.840.113556.1.4.1941",
        "caseExactMatch",
        "2.5.13.5",
    ])
    .prop_map(str::to_string)
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..8),
        // Mostly-printable text hits the raw-character paths, not just escapes.
        "[a-z=:*()\\\\ ~<>0-9\\-ëÜ]{0,8}".prop_map(String::into_bytes),
        // Values that could be misread as a `;range=low-high` option when printed.
        "[0-9]{1,2}-([0-9]{1,2}|\\*)?([=:]|[~<>]=)?[a-z]{0,2}".prop_map(String::into_bytes),
    ]
}

fn non_empty_value() -> impl Strategy<Value = Vec<u8>> {
    value().prop_filter("substring parts are non-empty", |v| !v.is_empty())
}

fn leaf() -> impl Strategy<Value = Filter> {
    prop_oneof![
        (attribute(), value()).prop_map(|(a, v)| Filter::Equality(a, v)),
        (
            attribute(),
            prop::option::of(non_empty_value()),
            prop::collection::vec(non_empty_value(), 0..3),
            prop::option::of(non_empty_value()),
        )
            .prop_filter("a substring filter has a part", |(_, i, a, f)| {
                i.is_some() || !a.is_empty() || f.is_some()
            })
            .prop_map(|(attr, initial, any, final_)| {
                Filter::Substrings(
                    attr,
                    Substrings {
                        initial,
                        any,
                        final_,
                    },
                )
            }),
        (attribute(), value()).prop_map(|(a, v)| Filter::GreaterOrEqual(a, v)),
        (attribute(), value()).prop_map(|(a, v)| Filter::LessOrEqual(a, v)),
        attribute().prop_map(Filter::Present),
        (attribute(), value()).prop_map(|(a, v)| Filter::Approx(a, v)),
        (
            prop::option::of(attribute()),
            prop::option::of(rule()),
            value(),
            any::<bool>()
        )
            .prop_filter(
                "an extensible match has an attribute or a rule",
                |(a, r, _, _)| { a.is_some() || r.is_some() }
            )
            .prop_map(|(attr, rule, value, dn_attributes)| {
                Filter::Extensible(Extensible {
                    rule,
                    attr,
                    value,
                    dn_attributes,
                })
            }),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(6, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn printing_then_parsing_gives_the_same_filter(filter in filter()) {
        let printed = filter.to_string();
        prop_assert_eq!(Filter::parse(&printed), Ok(filter), "printed as {}", printed);
    }

    #[test]
    fn parsing_any_string_never_panics(input in any::<String>()) {
        let _ = Filter::parse(&input);
    }

    #[test]
    fn parsing_filter_like_strings_never_panics(
        input in "[()&|!=*~<>:;\\\\a-z0-9.\\- ë]{0,40}"
    ) {
        if let Err(e) = Filter::parse(&input) {
            // Error positions must point into the input, for display under it.
            prop_assert!(e.offset() <= input.len());
            prop_assert!(input.is_char_boundary(e.offset()));
            prop_assert!(e.column() <= input.chars().count() + 1);
        }
    }

    #[test]
    fn utf8_filters_survive_ldap3_proto(filter in filter()) {
        if let Ok(ldap) = LdapFilter::try_from(&filter) {
            prop_assert_eq!(Filter::from(&ldap), filter);
        }
    }
}
