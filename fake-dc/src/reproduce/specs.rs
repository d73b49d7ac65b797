//! A generic object turned into the fixture's own sections where they can say the same
//! thing: an OU, or a user, group, contact or dynamic list. The spec's fields take the
//! attributes they name; what is left stays in `attributes`, which loading puts over what
//! the fields imply, so the loaded object carries exactly the source's values.

use super::forest::take;
use crate::fixture::model::*;
use crate::schema::{group_type, uac, ObjectKind};

/// userAccountControl's SERVER_TRUST_ACCOUNT: a domain controller.
const SERVER_TRUST_ACCOUNT: i64 = 0x2000;

/// A leaf object in a section of its own.
pub enum Leaf {
    User(Box<UserSpec>),
    Group(Box<GroupSpec>),
    Contact(Box<ContactSpec>),
    DynamicList(Box<DynamicListSpec>),
    Computer(Box<ComputerSpec>),
}

/// Takes a single-valued text attribute.
fn single(o: &mut ObjectSpec, name: &str) -> Option<String> {
    match take(&mut o.attributes, name)? {
        OneOrMany::One(v) => Some(v.to_text()),
        many => {
            // More values than the field holds: leave them as they came.
            o.attributes.insert(name.to_string(), many);
            None
        }
    }
}

fn many(o: &mut ObjectSpec, name: &str) -> Vec<String> {
    take(&mut o.attributes, name)
        .map(|v| v.values())
        .unwrap_or_default()
}

fn int(o: &ObjectSpec, name: &str) -> Option<i64> {
    o.attributes
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.values().first()?.trim().parse().ok())
}

pub fn ou(name: &str, mut o: ObjectSpec) -> OuSpec {
    OuSpec {
        name: name.to_string(),
        description: single(&mut o, "description"),
        object_guid: o.object_guid,
        usn_created: o.usn_created,
        usn_changed: o.usn_changed,
        when_created: o.when_created,
        when_changed: o.when_changed,
        binary_attributes: o.binary_attributes,
        attributes: o.attributes,
        ous: Vec::new(),
        users: Vec::new(),
        groups: Vec::new(),
        contacts: Vec::new(),
        dynamic_lists: Vec::new(),
        computers: Vec::new(),
    }
}

/// The section an object fits, or the object back when none says it exactly: a user
/// without a sAMAccountName or UPN (loading would invent them), a group without a
/// sAMAccountName, a dynamic list without a filter, any other class.
pub fn leaf(cn: &str, kind: ObjectKind, mut o: ObjectSpec) -> Result<Leaf, Box<ObjectSpec>> {
    let has = |o: &ObjectSpec, n: &str| {
        o.attributes
            .get(n)
            .is_some_and(|v| matches!(v, OneOrMany::One(_)))
    };
    match kind {
        ObjectKind::User if has(&o, "sAMAccountName") && has(&o, "userPrincipalName") => {
            let state = state(&o);
            Ok(Leaf::User(Box::new(UserSpec {
                cn: cn.to_string(),
                sam_account_name: single(&mut o, "sAMAccountName"),
                user_principal_name: single(&mut o, "userPrincipalName"),
                given_name: single(&mut o, "givenName"),
                sn: single(&mut o, "sn"),
                display_name: single(&mut o, "displayName"),
                mail: single(&mut o, "mail"),
                proxy_addresses: many(&mut o, "proxyAddresses"),
                password: None,
                state,
                primary_group: None,
                read_scopes: None,
                rights: Vec::new(),
                object_guid: o.object_guid,
                object_sid: o.object_sid,
                usn_created: o.usn_created,
                usn_changed: o.usn_changed,
                when_created: o.when_created,
                when_changed: o.when_changed,
                binary_attributes: o.binary_attributes,
                attributes: o.attributes,
            })))
        }
        ObjectKind::Group if has(&o, "sAMAccountName") => {
            let gt = int(&o, "groupType").unwrap_or(0) as i32;
            let kind = if gt & group_type::SECURITY != 0 {
                GroupKind::Security
            } else {
                GroupKind::Distribution
            };
            let scope = if gt & group_type::UNIVERSAL != 0 {
                GroupScope::Universal
            } else if gt & group_type::DOMAIN_LOCAL != 0 {
                GroupScope::DomainLocal
            } else {
                GroupScope::Global
            };
            let implied = scope_bits(scope)
                | if kind == GroupKind::Security {
                    group_type::SECURITY
                } else {
                    0
                };
            if gt == implied {
                take(&mut o.attributes, "groupType");
            }
            Ok(Leaf::Group(Box::new(GroupSpec {
                cn: cn.to_string(),
                sam_account_name: single(&mut o, "sAMAccountName"),
                kind,
                scope,
                mail: single(&mut o, "mail"),
                proxy_addresses: many(&mut o, "proxyAddresses"),
                members: std::mem::take(&mut o.members),
                object_guid: o.object_guid,
                object_sid: o.object_sid,
                usn_created: o.usn_created,
                usn_changed: o.usn_changed,
                when_created: o.when_created,
                when_changed: o.when_changed,
                binary_attributes: o.binary_attributes,
                attributes: o.attributes,
            })))
        }
        ObjectKind::Contact => Ok(Leaf::Contact(Box::new(ContactSpec {
            cn: cn.to_string(),
            given_name: single(&mut o, "givenName"),
            sn: single(&mut o, "sn"),
            display_name: single(&mut o, "displayName"),
            mail: single(&mut o, "mail"),
            proxy_addresses: many(&mut o, "proxyAddresses"),
            object_guid: o.object_guid,
            usn_created: o.usn_created,
            usn_changed: o.usn_changed,
            when_created: o.when_created,
            when_changed: o.when_changed,
            binary_attributes: o.binary_attributes,
            attributes: o.attributes,
        }))),
        ObjectKind::DynamicList if has(&o, "msExchDynamicDLFilter") => {
            let filter = single(&mut o, "msExchDynamicDLFilter").unwrap_or_default();
            Ok(Leaf::DynamicList(Box::new(DynamicListSpec {
                cn: cn.to_string(),
                mail: single(&mut o, "mail"),
                proxy_addresses: many(&mut o, "proxyAddresses"),
                filter,
                base: single(&mut o, "msExchDynamicDLBaseDN"),
                object_guid: o.object_guid,
                usn_created: o.usn_created,
                usn_changed: o.usn_changed,
                when_created: o.when_created,
                when_changed: o.when_changed,
                binary_attributes: o.binary_attributes,
                attributes: o.attributes,
            })))
        }
        // A DC's account is made by loading from the domain's `dcs:`; other computers
        // (workstation or member-server trust) fit the `computers:` section.
        ObjectKind::Computer
            if o.attributes
                .get("sAMAccountName")
                .is_some_and(|v| matches!(v, OneOrMany::One(s) if s.to_text().ends_with('$')))
                && int(&o, "userAccountControl").is_some_and(|f| f & SERVER_TRUST_ACCOUNT == 0) =>
        {
            let state = state(&o);
            Ok(Leaf::Computer(Box::new(ComputerSpec {
                cn: cn.to_string(),
                sam_account_name: single(&mut o, "sAMAccountName"),
                dns_host_name: single(&mut o, "dNSHostName"),
                description: single(&mut o, "description"),
                password: None,
                state,
                object_guid: o.object_guid,
                object_sid: o.object_sid,
                usn_created: o.usn_created,
                usn_changed: o.usn_changed,
                when_created: o.when_created,
                when_changed: o.when_changed,
                binary_attributes: o.binary_attributes,
                attributes: o.attributes,
            })))
        }
        _ => Err(Box::new(o)),
    }
}

fn scope_bits(scope: GroupScope) -> i32 {
    match scope {
        GroupScope::Global => group_type::GLOBAL,
        GroupScope::DomainLocal => group_type::DOMAIN_LOCAL,
        GroupScope::Universal => group_type::UNIVERSAL,
    }
}

/// The account state the attributes show, for the reader: loading takes the attributes
/// themselves, which stay in `attributes`.
fn state(o: &ObjectSpec) -> AccountState {
    let flags = int(o, "userAccountControl").unwrap_or(0) as u32;
    if flags & uac::ACCOUNTDISABLE != 0 {
        AccountState::Disabled
    } else if int(o, "lockoutTime").is_some_and(|t| t != 0) {
        AccountState::LockedOut
    } else if int(o, "pwdLastSet") == Some(0) {
        AccountState::MustChangePassword
    } else {
        AccountState::Enabled
    }
}
