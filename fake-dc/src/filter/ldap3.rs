//! Conversions between [`Filter`] and `ldap3_proto::LdapFilter`, whose values are
//! `String`s: every `LdapFilter` converts, a `Filter` only when its values are UTF-8.

use ldap3_proto::proto::{LdapFilter, LdapMatchingRuleAssertion, LdapSubstringFilter};

use super::ast::{Extensible, Filter, Substrings};

impl From<&LdapFilter> for Filter {
    fn from(filter: &LdapFilter) -> Self {
        let bytes = |s: &String| s.as_bytes().to_vec();
        match filter {
            LdapFilter::And(filters) => Filter::And(filters.iter().map(Filter::from).collect()),
            LdapFilter::Or(filters) => Filter::Or(filters.iter().map(Filter::from).collect()),
            LdapFilter::Not(inner) => Filter::Not(Box::new(Filter::from(inner.as_ref()))),
            LdapFilter::Equality(attr, value) => Filter::Equality(attr.clone(), bytes(value)),
            LdapFilter::Substring(attr, s) => Filter::Substrings(
                attr.clone(),
                Substrings {
                    initial: s.initial.as_ref().map(bytes),
                    any: s.any.iter().map(bytes).collect(),
                    final_: s.final_.as_ref().map(bytes),
                },
            ),
            LdapFilter::GreaterOrEqual(attr, value) => {
                Filter::GreaterOrEqual(attr.clone(), bytes(value))
            }
            LdapFilter::LessOrEqual(attr, value) => Filter::LessOrEqual(attr.clone(), bytes(value)),
            LdapFilter::Present(attr) => Filter::Present(attr.clone()),
            LdapFilter::Approx(attr, value) => Filter::Approx(attr.clone(), bytes(value)),
            LdapFilter::Extensible(m) => Filter::Extensible(Extensible {
                rule: m.matching_rule.clone(),
                attr: m.type_.clone(),
                value: bytes(&m.match_value),
                dn_attributes: m.dn_attributes,
            }),
        }
    }
}

/// A [`Filter`] holds a value that is not UTF-8, which `ldap3_proto::LdapFilter` (String
/// values) cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the filter value for {} is not UTF-8, which ldap3_proto's LdapFilter cannot hold",
    .attribute.as_deref().map_or_else(|| "an extensible match".to_string(), |a| format!("'{a}'"))
)]
pub struct NonUtf8FilterValue {
    /// The attribute whose value is binary; `None` for an extensible match without one.
    pub attribute: Option<String>,
}

impl TryFrom<&Filter> for LdapFilter {
    type Error = NonUtf8FilterValue;

    fn try_from(filter: &Filter) -> Result<Self, Self::Error> {
        let text = |attr: Option<&String>, value: &[u8]| {
            String::from_utf8(value.to_vec()).map_err(|_| NonUtf8FilterValue {
                attribute: attr.cloned(),
            })
        };
        let list = |filters: &[Filter]| {
            filters
                .iter()
                .map(LdapFilter::try_from)
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(match filter {
            Filter::And(filters) => LdapFilter::And(list(filters)?),
            Filter::Or(filters) => LdapFilter::Or(list(filters)?),
            Filter::Not(inner) => LdapFilter::Not(Box::new(LdapFilter::try_from(inner.as_ref())?)),
            Filter::Equality(attr, value) => {
                LdapFilter::Equality(attr.clone(), text(Some(attr), value)?)
            }
            Filter::Substrings(attr, s) => {
                let part = |v: &Vec<u8>| text(Some(attr), v);
                LdapFilter::Substring(
                    attr.clone(),
                    LdapSubstringFilter {
                        initial: s.initial.as_ref().map(part).transpose()?,
                        any: s.any.iter().map(part).collect::<Result<_, _>>()?,
                        final_: s.final_.as_ref().map(part).transpose()?,
                    },
                )
            }
            Filter::GreaterOrEqual(attr, value) => {
                LdapFilter::GreaterOrEqual(attr.clone(), text(Some(attr), value)?)
            }
            Filter::LessOrEqual(attr, value) => {
                LdapFilter::LessOrEqual(attr.clone(), text(Some(attr), value)?)
            }
            Filter::Present(attr) => LdapFilter::Present(attr.clone()),
            Filter::Approx(attr, value) => {
                LdapFilter::Approx(attr.clone(), text(Some(attr), value)?)
            }
            Filter::Extensible(e) => LdapFilter::Extensible(LdapMatchingRuleAssertion {
                matching_rule: e.rule.clone(),
                type_: e.attr.clone(),
                match_value: text(e.attr.as_ref(), &e.value)?,
                dn_attributes: e.dn_attributes,
            }),
        })
    }
}
