//! The steps that act on the world rather than on the engine: directory changes applied
//! through fake-dc's library API, faults, and each step's one-line description for the
//! transcript.

use std::collections::BTreeMap;

use fake_dc::directory::{Directory, ModOp, Modification, NewEntry};
use fake_dc::dn::{Dn, Rdn};
use fake_dc::schema::ObjectKind;
use fake_dc::server::{Fault, ProtocolFault};

use super::model::{FaultSpec, Step};
use super::runner::step_kind;

pub(super) fn faults(spec: &FaultSpec) -> Vec<Fault> {
    let mut out = Vec::new();
    if spec.down {
        out.push(Fault::Down);
    }
    if let Some(ms) = spec.latency_ms {
        out.push(Fault::Latency(std::time::Duration::from_millis(ms)));
    }
    if let Some(n) = spec.drop_after_entries {
        out.push(Fault::DropAfterEntries(n));
    }
    if let Some(n) = spec.drop_on_page {
        out.push(Fault::DropOnPage(n));
    }
    if spec.busy {
        out.push(Fault::Busy);
    }
    if spec.unavailable {
        out.push(Fault::Unavailable);
    }
    if spec.tls_failure {
        out.push(Fault::TlsHandshakeFailure);
    }
    let protocol = [
        spec.garbage_after_entries
            .map(ProtocolFault::GarbageAfterEntries),
        spec.truncate_after_entries
            .map(ProtocolFault::TruncateAfterEntries),
        spec.wrong_message_id
            .then_some(ProtocolFault::WrongMessageId),
        spec.huge_value.then_some(ProtocolFault::HugeValue),
        spec.endless_paging.then_some(ProtocolFault::EndlessPaging),
        spec.endless_range.then_some(ProtocolFault::EndlessRange),
        spec.self_referral.then_some(ProtocolFault::SelfReferral),
        spec.slow_drip.then_some(ProtocolFault::SlowDrip),
        spec.missing_entries
            .then_some(ProtocolFault::MissingEntries),
    ];
    out.extend(protocol.into_iter().flatten().map(Fault::Protocol));
    out
}

/// A step in one line for the transcript.
pub(super) fn describe(step: &Step) -> String {
    match step {
        Step::Sync => "sync".into(),
        Step::DeltaSync => "delta sync".into(),
        Step::AddUser(u) => format!("add user CN={} under {}", u.cn, u.parent),
        Step::Modify(m) => format!("modify {}", m.dn),
        Step::Delete(dn) => format!("delete {dn}"),
        Step::Move { dn, to } => format!("move {dn} to {to}"),
        Step::Rename { dn, cn } => format!("rename {dn} to CN={cn}"),
        Step::AddMember { group, member } => format!("add {member} to {group}"),
        Step::RemoveMember { group, member } => format!("remove {member} from {group}"),
        Step::Disable(dn) => format!("disable {dn}"),
        Step::Enable(dn) => format!("enable {dn}"),
        Step::Lock(dn) => format!("lock {dn}"),
        Step::Unlock(dn) => format!("unlock {dn}"),
        Step::Fault(f) => {
            let names: Vec<String> = faults(f).iter().map(|x| format!("{x:?}")).collect();
            format!("fault {}: {}", f.host, names.join(", "))
        }
        Step::ClearFaults(h) => format!("clear faults of {h}"),
        Step::AdvanceClock(d) => format!("advance clock {d}"),
        Step::SignIn(s) => format!("sign in as {} (expect {})", s.address, s.expect),
        Step::Expect(_) => "expect".into(),
    }
}

fn dn(text: &str) -> Result<Dn, String> {
    Dn::parse(text).map_err(|e| e.to_string())
}

fn resolve(d: &Directory, text: &str) -> Result<fake_dc::directory::EntryId, String> {
    d.resolve(&dn(text)?).map_err(|e| e.to_string())
}

fn uac_flag(d: &mut Directory, target: &str, flag: u32, on: bool) -> Result<(), String> {
    let id = resolve(d, target)?;
    let uac = d.entry(id).get_int("userAccountControl").unwrap_or(512) as u32;
    let new = if on { uac | flag } else { uac & !flag };
    d.set(id, "userAccountControl", &[&new.to_string()])
        .map_err(|e| e.to_string())
}

/// Applies a directory-change step through fake-dc's library API (each change bumps
/// uSNChanged, as an LDAP write would).
pub(super) fn apply_change(d: &mut Directory, step: &Step) -> Result<(), String> {
    match step {
        Step::AddUser(u) => {
            let parent = resolve(d, &u.parent)?;
            let sam = u.sam_account_name.clone().unwrap_or_else(|| {
                u.cn.chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .flat_map(char::to_lowercase)
                    .take(20)
                    .collect()
            });
            let dns = d
                .domain_of(parent)
                .map(|x| x.dns_name.clone())
                .unwrap_or_default();
            let flags = if u.disabled { 514 } else { 512 };
            let mut new = NewEntry::new(parent, Rdn::new("CN", &u.cn), ObjectKind::User)
                .with("sAMAccountName", &[&sam])
                .with("userPrincipalName", &[&format!("{sam}@{dns}")])
                .with("userAccountControl", &[&flags.to_string()]);
            if let Some(m) = &u.mail {
                new = new.with("mail", &[m]);
            }
            if !u.proxy_addresses.is_empty() {
                new = new.with(
                    "proxyAddresses",
                    &u.proxy_addresses
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                );
            }
            for (k, v) in &u.attributes {
                new = new.with(k, &v.iter().map(String::as_str).collect::<Vec<_>>());
            }
            if let Some(g) = &u.object_guid {
                new.guid = Some(
                    fake_dc::directory::Guid::parse(g)
                        .ok_or_else(|| format!("'{g}' is not a GUID"))?,
                );
            }
            new.password = Some("Passw0rd!".into());
            d.create(new).map(|_| ()).map_err(|e| e.to_string())
        }
        Step::Modify(m) => {
            let id = resolve(d, &m.dn)?;
            let mut mods = Vec::new();
            let mut push = |op: ModOp, map: &BTreeMap<String, Vec<String>>| {
                for (attr, values) in map {
                    mods.push(Modification {
                        op,
                        attr: attr.clone(),
                        values: values.iter().map(|v| v.as_bytes().to_vec()).collect(),
                    });
                }
            };
            push(ModOp::Replace, &m.replace);
            push(ModOp::Add, &m.add);
            push(ModOp::Delete, &m.delete);
            d.modify(id, &mods, true).map_err(|e| e.to_string())
        }
        Step::Delete(target) => {
            let id = resolve(d, target)?;
            d.delete(id).map_err(|e| e.to_string())
        }
        Step::Move { dn: target, to } => {
            let id = resolve(d, target)?;
            let parent = resolve(d, to)?;
            let rdn = d.entry(id).rdn.clone();
            d.rename(id, rdn, Some(parent)).map_err(|e| e.to_string())
        }
        Step::Rename { dn: target, cn } => {
            let id = resolve(d, target)?;
            let attr = d.entry(id).rdn.attr().to_string();
            d.rename(id, Rdn::new(attr, cn), None)
                .map_err(|e| e.to_string())
        }
        Step::AddMember { group, member } => {
            let (g, m) = (resolve(d, group)?, resolve(d, member)?);
            d.add_member(g, m).map_err(|e| e.to_string())
        }
        Step::RemoveMember { group, member } => {
            let (g, m) = (resolve(d, group)?, resolve(d, member)?);
            d.remove_member(g, m).map_err(|e| e.to_string())
        }
        Step::Disable(t) => uac_flag(d, t, fake_dc::schema::uac::ACCOUNTDISABLE, true),
        Step::Enable(t) => uac_flag(d, t, fake_dc::schema::uac::ACCOUNTDISABLE, false),
        Step::Lock(t) => {
            let id = resolve(d, t)?;
            let at = fake_dc::directory::filetime_from_unix(d.now());
            d.set(id, "lockoutTime", &[&at.to_string()])
                .map_err(|e| e.to_string())
        }
        Step::Unlock(t) => {
            let id = resolve(d, t)?;
            d.set(id, "lockoutTime", &["0"]).map_err(|e| e.to_string())
        }
        other => Err(format!("{} is not a directory change", step_kind(other))),
    }
}
