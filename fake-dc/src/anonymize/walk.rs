//! The walk over a fixture: every field that can name a person, an address, a domain or
//! carry free text goes through the anonymizer; what only shapes the directory (account
//! states, group types, generated counts, objectGUIDs, the seed) stays.
//!
//! The walk runs twice over the same fixture: once to collect every original, once to
//! write pseudonyms. It mutates fields in place, so a field added to the format later
//! stays as it is until it is listed here.

use std::collections::BTreeMap;

use crate::fixture::model::*;

use super::text::{attr_kind, Anon, AttrKind};

pub(super) fn fixture(a: &mut Anon, f: &mut Fixture) {
    for (i, d) in f.domains.iter_mut().enumerate() {
        domain(a, i, d);
    }
    if let Some(tenant) = &mut f.azure_ad {
        azure_ad(a, tenant);
    }
}

/// The tenant: its ID and its apps' IDs through the GUID map (a tenant ID leads to the
/// customer's domains), its initial domain through the domain map, cloud-only people and
/// groups as their directory counterparts. A member or a user's address that names a
/// synchronized object maps as that object's name does, so a hybrid user stays one
/// person. Client secrets stay, as passwords do: the scenarios sign in with them.
fn azure_ad(a: &mut Anon, t: &mut crate::graph::AzureAdSpec) {
    t.tenant_id = a.p.guid(&t.tenant_id);
    if let Some(d) = &mut t.initial_domain {
        *d = a.dns(d);
    }
    for app in &mut t.applications {
        app.app_id = a.p.guid(&app.app_id);
        if let Some(n) = &mut app.display_name {
            *n = a.words(n);
        }
    }
    for ou in &mut t.synced_ous {
        *ou = a.dn(ou);
    }
    for u in &mut t.users {
        u.user_principal_name = a.address(&u.user_principal_name);
        u.display_name = a.words(&u.display_name);
        for v in [
            &mut u.given_name,
            &mut u.surname,
            &mut u.job_title,
            &mut u.department,
        ]
        .into_iter()
        .flatten()
        {
            *v = a.words(v);
        }
        if let Some(n) = &mut u.mail_nickname {
            *n = a.words(n);
        }
        addresses(a, &mut u.mail, &mut u.proxy_addresses);
    }
    for g in &mut t.groups {
        g.display_name = a.name(&g.display_name);
        if let Some(d) = &mut g.description {
            *d = a.words(d);
        }
        if let Some(n) = &mut g.mail_nickname {
            *n = a.words(n);
        }
        addresses(a, &mut g.mail, &mut g.proxy_addresses);
        for m in &mut g.members {
            *m = a.reference(0, m);
        }
    }
}

fn domain(a: &mut Anon, i: usize, d: &mut DomainSpec) {
    d.dns = a.dns(&d.dns);
    if let Some(sid) = &mut d.object_sid {
        *sid = a.sid(sid);
    }
    if let Some(n) = &mut d.netbios {
        *n = a.words(n);
    }
    for s in &mut d.upn_suffixes {
        *s = a.dns(s);
    }
    for h in &mut d.dcs {
        *h = a.dns(h);
    }
    contents(
        a,
        i,
        Contents {
            ous: &mut d.ous,
            users: &mut d.users,
            groups: &mut d.groups,
            contacts: &mut d.contacts,
            dynamic_lists: &mut d.dynamic_lists,
            computers: &mut d.computers,
        },
    );
    // Built-in accounts (`builtinAccounts:`) are keyed by the names Windows gives every
    // domain and hold only a password and a state: nothing of the customer's to map.
    for g in &mut d.generate {
        g.ou = a.words(&g.ou);
        if let Some(m) = &mut g.mail_domain {
            *m = a.dns(m);
        }
        for dep in &mut g.departments {
            *dep = a.words(dep);
        }
    }
    for o in &mut d.objects {
        object(a, i, o);
    }
}

/// An object placed by DN (a capture's or an import's computers, containers, tombstones,
/// built-ins): its DN and members like any reference, its attributes by kind.
fn object(a: &mut Anon, d: usize, o: &mut ObjectSpec) {
    o.dn = a.dn(&o.dn);
    if let Some(sid) = &mut o.object_sid {
        *sid = a.sid(sid);
    }
    for m in &mut o.members {
        *m = a.reference(d, m);
    }
    attributes(a, &mut o.attributes);
    binary(&mut o.binary_attributes);
}

/// Binary values: identifiers are kept (they name nobody and keep identities); anything
/// else (photos, certificates holding names) is dropped.
fn binary(attrs: &mut BTreeMap<String, OneOrMany>) {
    const KEPT: &[&str] = &[
        "ms-ds-consistencyguid",
        "msexchmailboxguid",
        "msexcharchiveguid",
        "objectguid",
        "msds-generationid",
    ];
    attrs.retain(|name, _| KEPT.contains(&name.to_ascii_lowercase().as_str()));
}

struct Contents<'a> {
    ous: &'a mut Vec<OuSpec>,
    users: &'a mut Vec<UserSpec>,
    groups: &'a mut Vec<GroupSpec>,
    contacts: &'a mut Vec<ContactSpec>,
    dynamic_lists: &'a mut Vec<DynamicListSpec>,
    computers: &'a mut Vec<ComputerSpec>,
}

fn contents(a: &mut Anon, d: usize, c: Contents<'_>) {
    for ou in c.ous.iter_mut() {
        ou.name = a.name(&ou.name);
        if let Some(text) = &mut ou.description {
            *text = a.words(text);
        }
        attributes(a, &mut ou.attributes);
        binary(&mut ou.binary_attributes);
        contents(
            a,
            d,
            Contents {
                ous: &mut ou.ous,
                users: &mut ou.users,
                groups: &mut ou.groups,
                contacts: &mut ou.contacts,
                dynamic_lists: &mut ou.dynamic_lists,
                computers: &mut ou.computers,
            },
        );
    }
    for m in c.computers.iter_mut() {
        computer(a, m);
    }
    for u in c.users.iter_mut() {
        user(a, d, u);
    }
    for g in c.groups.iter_mut() {
        group(a, d, g);
    }
    for ct in c.contacts.iter_mut() {
        ct.cn = a.name(&ct.cn);
        person(a, &mut ct.given_name, &mut ct.sn, &mut ct.display_name);
        addresses(a, &mut ct.mail, &mut ct.proxy_addresses);
        attributes(a, &mut ct.attributes);
        binary(&mut ct.binary_attributes);
    }
    for l in c.dynamic_lists.iter_mut() {
        l.cn = a.name(&l.cn);
        addresses(a, &mut l.mail, &mut l.proxy_addresses);
        l.filter = a.filter(&l.filter);
        if let Some(base) = &mut l.base {
            *base = a.dn(base);
        }
        attributes(a, &mut l.attributes);
        binary(&mut l.binary_attributes);
    }
}

fn user(a: &mut Anon, d: usize, u: &mut UserSpec) {
    // The default logon name derives from the CN; written out, so a member reference by
    // that logon name maps the same way as the account it names.
    let sam = u
        .sam_account_name
        .clone()
        .unwrap_or_else(|| crate::fixture::default_sam(&u.cn));
    u.sam_account_name = Some(a.name(&sam));
    u.cn = a.name(&u.cn);
    if let Some(upn) = &mut u.user_principal_name {
        *upn = a.address(upn);
    }
    person(a, &mut u.given_name, &mut u.sn, &mut u.display_name);
    addresses(a, &mut u.mail, &mut u.proxy_addresses);
    if let Some(g) = &mut u.primary_group {
        *g = a.reference(d, g);
    }
    if let Some(scopes) = &mut u.read_scopes {
        for s in scopes.iter_mut() {
            *s = a.dn(s);
        }
    }
    if let Some(sid) = &mut u.object_sid {
        *sid = a.sid(sid);
    }
    attributes(a, &mut u.attributes);
    binary(&mut u.binary_attributes);
}

/// A computer: its name word by word (`WS042` → `QZ731`), its logon name the same way
/// (the `$` kept), its host name through the domain map; the objectGUID stays.
fn computer(a: &mut Anon, m: &mut ComputerSpec) {
    let sam = m
        .sam_account_name
        .clone()
        .unwrap_or_else(|| format!("{}$", m.cn.to_uppercase()));
    m.sam_account_name = Some(a.name(&sam));
    m.cn = a.name(&m.cn);
    if let Some(h) = &mut m.dns_host_name {
        *h = a.dns(h);
    }
    if let Some(d) = &mut m.description {
        *d = a.words(d);
    }
    if let Some(sid) = &mut m.object_sid {
        *sid = a.sid(sid);
    }
    attributes(a, &mut m.attributes);
    binary(&mut m.binary_attributes);
}

fn group(a: &mut Anon, d: usize, g: &mut GroupSpec) {
    g.cn = a.name(&g.cn);
    if let Some(sam) = &mut g.sam_account_name {
        *sam = a.name(sam);
    }
    addresses(a, &mut g.mail, &mut g.proxy_addresses);
    for m in &mut g.members {
        *m = a.reference(d, m);
    }
    if let Some(sid) = &mut g.object_sid {
        *sid = a.sid(sid);
    }
    attributes(a, &mut g.attributes);
    binary(&mut g.binary_attributes);
}

fn person(
    a: &mut Anon,
    given: &mut Option<String>,
    sn: &mut Option<String>,
    display: &mut Option<String>,
) {
    for v in [given, sn, display].into_iter().flatten() {
        *v = a.words(v);
    }
}

fn addresses(a: &mut Anon, mail: &mut Option<String>, proxies: &mut [String]) {
    if let Some(m) = mail {
        *m = a.address(m);
    }
    for p in proxies {
        *p = a.proxy(p);
    }
}

fn attributes(a: &mut Anon, attrs: &mut BTreeMap<String, OneOrMany>) {
    for (name, values) in attrs.iter_mut() {
        let kind = attr_kind(name);
        match values {
            OneOrMany::One(s) => scalar(a, kind, s),
            OneOrMany::Many(list) => list.iter_mut().for_each(|s| scalar(a, kind, s)),
        }
    }
}

fn scalar(a: &mut Anon, kind: AttrKind, s: &mut Scalar) {
    match s {
        Scalar::Bool(_) => {}
        Scalar::Int(_) if kind == AttrKind::Keep => {}
        // A number in an unknown attribute (an employee number) is data: its digits go,
        // its magnitude stays.
        Scalar::Int(i) => {
            let mapped = a.words(&i.to_string());
            *s = match mapped.parse() {
                Ok(n) => Scalar::Int(n),
                Err(_) => Scalar::Text(mapped),
            };
        }
        Scalar::Text(t) => *t = a.value(kind, t),
    }
}
