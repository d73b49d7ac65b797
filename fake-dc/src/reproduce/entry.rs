//! One entry as a source gave it (a search result, an LDIF record) read into the
//! fixture's generic form, an `ObjectSpec`: identity and history into their fields,
//! `member` into `members`, what AD computes dropped, binary values kept as base64.

use std::collections::BTreeMap;

use base64::Engine as _;

use crate::directory::{parse_generalized_time, Guid, Sid};
use crate::fixture::kind_of_class;
use crate::fixture::model::{ObjectSpec, OneOrMany, Scalar};
use crate::schema::ObjectKind;

/// Attributes a directory computes or keeps as links: loading makes them again from the
/// object's place, class, identity and memberships, so a fixture never lists them.
const COMPUTED: &[&str] = &[
    "objectClass",
    "distinguishedName",
    "name",
    "objectGUID",
    "objectSid",
    "objectCategory",
    "instanceType",
    "whenCreated",
    "whenChanged",
    "uSNCreated",
    "uSNChanged",
    "member",
    "memberOf",
    "sAMAccountType",
    "isDeleted",
    "createTimestamp",
    "modifyTimestamp",
    "canonicalName",
    "primaryGroupToken",
    "tokenGroups",
    "parentGUID",
    "msDS-User-Account-Control-Computed",
    "structuralObjectClass",
    "allowedAttributes",
    "subSchemaSubEntry",
    "dSCorePropagationData",
    "replPropertyMetaData",
    "msDS-ReplAttributeMetaData",
    "msDS-ReplValueMetaData",
    // Secrets: never readable from AD, hashed in OpenLDAP; a fixture sets passwords itself.
    "unicodePwd",
    "userPassword",
    // OpenLDAP's operational attributes (returned with `+`).
    "entryUUID",
    "entryCSN",
    "entryDN",
    "creatorsName",
    "modifiersName",
    "hasSubordinates",
    "subschemaSubentry",
];

/// The structural class to record, most specific first among the classes fake-dc
/// models; a class it does not model is kept by name (and served as a container).
const PREFERENCE: &[&str] = &[
    "computer",
    "user",
    "inetOrgPerson",
    "contact",
    "group",
    "msExchDynamicDistributionList",
    "foreignSecurityPrincipal",
    "organizationalUnit",
    "domainDNS",
    "crossRef",
    "classSchema",
    "container",
];

/// Something the conversion could not carry over faithfully.
pub type Note = String;

/// A source entry read into an object, or why it cannot be.
pub struct Converted {
    pub object: ObjectSpec,
    /// The class the source gave when fake-dc does not model it.
    pub unmodelled_class: Option<String>,
    /// `member` came as a range (`member;range=0-1499`): the rest is missing.
    pub partial_members: bool,
}

fn is_computed(name: &str) -> bool {
    COMPUTED.iter().any(|c| c.eq_ignore_ascii_case(name))
}

fn text(v: &[u8]) -> Option<String> {
    std::str::from_utf8(v).ok().map(str::to_string)
}

/// A value as YAML shows it best: a canonical integer as a number, anything else as
/// text (so `0042` stays text and loads back as `0042`).
fn scalar(v: String) -> Scalar {
    match v.parse::<i64>() {
        Ok(n) if n.to_string() == v => Scalar::Int(n),
        _ => Scalar::Text(v),
    }
}

fn one_or_many(mut values: Vec<Scalar>) -> OneOrMany {
    if values.len() == 1 {
        OneOrMany::One(values.remove(0))
    } else {
        OneOrMany::Many(values)
    }
}

/// Reads an entry. `rdn_attr` is the type of the entry's own RDN (`CN`), whose value
/// the DN already carries.
pub fn convert(dn: &str, rdn_attr: &str, attrs: Vec<(String, Vec<Vec<u8>>)>) -> Converted {
    let mut object = ObjectSpec {
        dn: dn.to_string(),
        object_class: String::new(),
        object_guid: None,
        object_sid: None,
        usn_created: None,
        usn_changed: None,
        when_created: None,
        when_changed: None,
        attributes: BTreeMap::new(),
        binary_attributes: BTreeMap::new(),
        members: Vec::new(),
        deleted: false,
    };
    let mut classes: Vec<String> = Vec::new();
    let mut partial_members = false;
    for (description, values) in attrs {
        let (name, options) = match description.split_once(';') {
            Some((n, o)) => (n.to_string(), o.to_ascii_lowercase()),
            None => (description, String::new()),
        };
        let first = || values.first().and_then(|v| text(v));
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "objectclass" => classes.extend(values.iter().filter_map(|v| text(v))),
            "objectguid" => {
                if let Ok(raw) = <[u8; 16]>::try_from(values.first().map_or(&[][..], |v| v)) {
                    object.object_guid = Some(Guid(raw).to_string());
                }
            }
            "objectsid" => {
                object.object_sid = values
                    .first()
                    .and_then(|v| Sid::from_bytes(v))
                    .map(|s| s.to_string());
            }
            "usncreated" => object.usn_created = first().and_then(|t| t.trim().parse().ok()),
            "usnchanged" => object.usn_changed = first().and_then(|t| t.trim().parse().ok()),
            "whencreated" => {
                object.when_created = first().filter(|t| parse_generalized_time(t).is_some())
            }
            "whenchanged" => {
                object.when_changed = first().filter(|t| parse_generalized_time(t).is_some())
            }
            "isdeleted" => object.deleted = first().is_some_and(|t| t.eq_ignore_ascii_case("TRUE")),
            "member" => {
                partial_members |= options.contains("range=") && !options.ends_with("-*");
                object.members.extend(
                    values
                        .iter()
                        .map(|v| String::from_utf8_lossy(v).into_owned()),
                );
            }
            _ if is_computed(&name) || name.eq_ignore_ascii_case(rdn_attr) => {}
            _ if values.is_empty() => {}
            _ => {
                // `userCertificate;binary` is the same attribute; other options (language
                // tags) stay in the name.
                let name = if options.is_empty() || options == "binary" {
                    name
                } else {
                    format!("{name};{options}")
                };
                let texts: Option<Vec<String>> = values.iter().map(|v| text(v)).collect();
                match texts {
                    Some(texts) => {
                        let values = texts.into_iter().map(scalar).collect();
                        object.attributes.insert(name, one_or_many(values));
                    }
                    None => {
                        let engine = base64::engine::general_purpose::STANDARD;
                        let values = values
                            .iter()
                            .map(|v| Scalar::Text(engine.encode(v)))
                            .collect();
                        object.binary_attributes.insert(name, one_or_many(values));
                    }
                }
            }
        }
    }
    let chosen = PREFERENCE
        .iter()
        .find(|p| classes.iter().any(|c| c.eq_ignore_ascii_case(p)));
    let mut unmodelled_class = None;
    object.object_class = match chosen {
        Some(c) => (*c).to_string(),
        None => {
            let known = classes.iter().find(|c| kind_of_class(c).is_some());
            match known {
                Some(c) => c.clone(),
                None => {
                    let last = classes
                        .iter()
                        .rev()
                        .find(|c| !c.eq_ignore_ascii_case("top"))
                        .cloned()
                        .unwrap_or_else(|| "top".into());
                    unmodelled_class = Some(last.clone());
                    last
                }
            }
        }
    };
    Converted {
        object,
        unmodelled_class,
        partial_members,
    }
}

/// The kind an object will load as.
pub fn kind(object: &ObjectSpec) -> ObjectKind {
    kind_of_class(&object.object_class).unwrap_or(ObjectKind::Container)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_goes_to_fields_and_computed_attributes_go() {
        let guid = Guid::parse("3f2504e0-4f89-41d3-9a0c-0305e82c3301").unwrap_or(Guid([0; 16]));
        let sid = Sid::domain(1, 2, 3).with_rid(1105);
        let c = convert(
            "CN=Alice,DC=corp,DC=test",
            "CN",
            vec![
                (
                    "objectClass".into(),
                    vec![b"top".to_vec(), b"user".to_vec()],
                ),
                ("cn".into(), vec![b"Alice".to_vec()]),
                ("objectGUID".into(), vec![guid.0.to_vec()]),
                ("objectSid".into(), vec![sid.to_bytes()]),
                ("uSNCreated".into(), vec![b"12345".to_vec()]),
                ("memberOf".into(), vec![b"CN=G,DC=corp,DC=test".to_vec()]),
                ("mS-DS-ConsistencyGuid".into(), vec![vec![0xff, 0x00, 0x81]]),
                ("employeeID".into(), vec![b"0042".to_vec()]),
            ],
        );
        let o = c.object;
        assert_eq!(o.object_class, "user");
        assert_eq!(
            o.object_guid.as_deref(),
            Some("3f2504e0-4f89-41d3-9a0c-0305e82c3301")
        );
        assert_eq!(o.object_sid.as_deref(), Some("S-1-5-21-1-2-3-1105"));
        assert_eq!(o.usn_created, Some(12345));
        assert!(!o.attributes.contains_key("cn") && !o.attributes.contains_key("memberOf"));
        assert!(
            matches!(&o.attributes["employeeID"], OneOrMany::One(Scalar::Text(t)) if t == "0042")
        );
        assert!(
            matches!(&o.binary_attributes["mS-DS-ConsistencyGuid"], OneOrMany::One(Scalar::Text(t)) if t == "/wCB")
        );
    }
}
