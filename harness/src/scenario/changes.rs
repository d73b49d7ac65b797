//! The steps that act on the world rather than on the engine: directory changes applied
//! through fake-dc's library API, faults, and each step's one-line description for the
//! transcript.

use fake_dc::control::{apply_all, Change};
use fake_dc::directory::Directory;
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
        Step::Preview => "preview a sync (dry run)".into(),
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
        Step::GraphFault(f) => format!(
            "microsoft graph fault {}",
            serde_json::to_string(f).unwrap_or_default()
        ),
        Step::ClearGraphFaults(_) => "clear microsoft graph faults".to_string(),
        Step::GoogleFault(f) => format!(
            "google secure ldap fault: the next {} bind(s) refused over the bind quota",
            f.refuse_binds
        ),
        Step::AdvanceClock(d) => format!("advance clock {d}"),
        Step::SignIn(s) => format!("sign in as {} (expect {})", s.address, s.expect),
        Step::Expect(_) => "expect".into(),
    }
}

/// Applies a directory-change step with fake-dc's own change vocabulary, the one its
/// control API serves: a scenario step and an API request change the directory alike
/// (each change bumps uSNChanged, as an LDAP write would).
pub(super) fn apply_change(d: &mut Directory, step: &Step) -> Result<(), String> {
    let change = match step.clone() {
        Step::AddUser(u) => Change::AddUser(u),
        Step::Modify(m) => Change::Modify(m),
        Step::Delete(dn) => Change::Delete(dn),
        Step::Move { dn, to } => Change::Move { dn, to },
        Step::Rename { dn, cn } => Change::Rename { dn, cn },
        Step::AddMember { group, member } => Change::AddMember { group, member },
        Step::RemoveMember { group, member } => Change::RemoveMember { group, member },
        Step::Disable(dn) => Change::Disable(dn),
        Step::Enable(dn) => Change::Enable(dn),
        Step::Lock(dn) => Change::Lock(dn),
        Step::Unlock(dn) => Change::Unlock(dn),
        other => return Err(format!("{} is not a directory change", step_kind(&other))),
    };
    apply_all(d, std::slice::from_ref(&change)).map_err(|(_, e)| e.to_string())
}
