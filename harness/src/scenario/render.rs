//! The transcript's renderings of a run's report and of the cloud account, readable at
//! any size: long lists are summarised, never cut, so that every object and every change
//! still moves the snapshot. Users, contacts and changes past a limit become counts with
//! a digest of their lines; every group keeps a line of its own with its member count and
//! either its members (when few) or a digest of them, so a dropped or extra member changes
//! that group's line whatever the size of the directory.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use engine_contract::account::{Account, Origin};
use engine_contract::change::Change;
use engine_contract::report::Report;

/// Most users (and, separately, contacts) listed one per line; more are summarised.
const MAX_OBJECT_LINES: usize = 200;

/// Most change lines a run lists; more are summarised by kind, groups one by one.
const MAX_CHANGE_LINES: usize = 200;

/// Most members a group line lists; more are counted and digested.
const MAX_LISTED_MEMBERS: usize = 20;

/// A stable digest of lines (64-bit FNV-1a, in hex): the same on every machine and
/// toolchain, unlike the standard library's hasher.
pub fn digest<I, S>(lines: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for line in lines {
        for byte in line.as_ref().bytes().chain(std::iter::once(b'\n')) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// The report; a change list longer than the limit is summarised (see [`changes`]).
pub fn report(report: &Report) -> String {
    if report.changes.len() <= MAX_CHANGE_LINES {
        return report.to_text();
    }
    let mut short = report.clone();
    short.changes.clear();
    let text = short.to_text();
    // The change section goes where the report would have put it: after the counts and
    // the max-unlink line, before conflicts, out-of-domain addresses, warnings and errors.
    let split = [
        "conflicts:\n",
        "out of domain:\n",
        "warnings:\n",
        "errors:\n",
    ]
    .iter()
    .filter_map(|title| text.find(&format!("\n{title}")).map(|at| at + 1))
    .min()
    .unwrap_or(text.len());
    let (head, tail) = text.split_at(split);
    format!("{head}{}{tail}", changes(&report.changes))
}

/// A long change list: one line per kind of user and contact change with its count and
/// a digest of its lines, then every changed group on a line of its own (added groups
/// with their member count, membership changes counted and digested per group).
pub fn changes(changes: &[Change]) -> String {
    let mut kinds: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut groups: BTreeMap<&str, GroupChanges> = BTreeMap::new();
    for change in changes {
        match change {
            Change::AddGroup { group } => {
                let members: Vec<String> = group.members.iter().map(ToString::to_string).collect();
                let address = group
                    .address
                    .as_ref()
                    .map(|a| format!(" <{a}>"))
                    .unwrap_or_default();
                groups
                    .entry(&group.name)
                    .or_default()
                    .lines
                    .push(format!("added{address}: {}", members_text(&members)));
            }
            Change::AddGroupMember { name, member, .. } => {
                groups
                    .entry(name)
                    .or_default()
                    .added
                    .push(member.to_string());
            }
            Change::RemoveGroupMember { name, member, .. } => {
                groups
                    .entry(name)
                    .or_default()
                    .removed
                    .push(member.to_string());
            }
            Change::RemoveGroup { name, .. }
            | Change::RenameGroup { to: name, .. }
            | Change::SetGroupAddress { name, .. } => {
                groups
                    .entry(name)
                    .or_default()
                    .lines
                    .push(change.to_string());
            }
            other => kinds
                .entry(kind(other))
                .or_default()
                .push(other.to_string()),
        }
    }
    let mut out = format!(
        "changes: {} (more than {MAX_CHANGE_LINES}: summarised by kind, groups one by one)\n",
        changes.len()
    );
    for (kind, lines) in &kinds {
        let _ = writeln!(out, "  {kind}: {}, digest {}", lines.len(), digest(lines));
    }
    for (name, g) in &groups {
        for line in &g.lines {
            let _ = writeln!(out, "  group {name}: {line}");
        }
        for (sign, members) in [("+", &g.added), ("-", &g.removed)] {
            if !members.is_empty() {
                let _ = writeln!(out, "  group {name}: {sign} {}", members_text(members));
            }
        }
    }
    out
}

#[derive(Default)]
struct GroupChanges {
    lines: Vec<String>,
    added: Vec<String>,
    removed: Vec<String>,
}

/// A member list: in full when short, else its count and digest.
fn members_text(members: &[String]) -> String {
    if members.len() <= MAX_LISTED_MEMBERS {
        format!("{} members [{}]", members.len(), members.join(", "))
    } else {
        format!("{} members, digest {}", members.len(), digest(members))
    }
}

/// The kind of a user or contact change, for the summary.
fn kind(change: &Change) -> &'static str {
    match change {
        Change::AddUser { .. } => "+ user",
        Change::RemoveUser { .. } => "- user",
        Change::UnlinkUser { .. } => "~ user unlinked",
        Change::ConvertUser { .. } => "~ user converted",
        Change::RelinkUser { .. } => "~ user relinked",
        Change::ChangeUserAddress { .. } => "~ user address",
        Change::LinkAlias { .. } => "~ user + alias",
        Change::UnlinkAlias { .. } => "~ user - alias",
        Change::DisableUser { .. } => "~ user disabled",
        Change::EnableUser { .. } => "~ user enabled",
        Change::SetAttribute { .. } => "~ user attribute set",
        Change::ClearAttribute { .. } => "~ user attribute cleared",
        Change::AddContact { .. } => "+ contact",
        Change::RemoveContact { .. } => "- contact",
        Change::ChangeContactAddress { .. } => "~ contact address",
        Change::ConvertContact { .. } => "~ contact converted",
        Change::RenameContact { .. } => "~ contact renamed",
        Change::AddGroup { .. }
        | Change::RemoveGroup { .. }
        | Change::RenameGroup { .. }
        | Change::SetGroupAddress { .. }
        | Change::AddGroupMember { .. }
        | Change::RemoveGroupMember { .. } => "group",
    }
}

/// The account: totals; users and contacts one per line, or counted and digested when
/// many; every group on its own line.
pub fn account(account: &Account) -> String {
    let directory = account
        .users
        .values()
        .filter(|u| u.origin != Origin::Manual)
        .count();
    let mut out = format!(
        "{} users ({directory} directory generated), {} groups, {} contacts\n",
        account.users.len(),
        account.groups.len(),
        account.contacts.len()
    );
    let users: Vec<String> = account.users.values().map(user_line).collect();
    if users.len() <= MAX_OBJECT_LINES {
        for line in &users {
            let _ = writeln!(out, "{line}");
        }
    } else {
        let disabled = account.users.values().filter(|u| u.disabled).count();
        let aliased = account
            .users
            .values()
            .filter(|u| !u.aliases.is_empty())
            .count();
        let _ = writeln!(
            out,
            "users: {} ({} manual, {disabled} disabled, {aliased} with aliases), digest {}",
            users.len(),
            users.len() - directory,
            digest(&users)
        );
    }
    for g in account.groups.values() {
        let members: Vec<String> = g.members.iter().map(ToString::to_string).collect();
        let address = g
            .address
            .as_ref()
            .map(|a| format!(" <{a}>"))
            .unwrap_or_default();
        let _ = writeln!(out, "group {}{address}: {}", g.name, members_text(&members));
    }
    let contacts: Vec<String> = account
        .contacts
        .values()
        .map(|c| format!("contact {} ({})", c.address, c.name))
        .collect();
    if contacts.len() <= MAX_OBJECT_LINES {
        for line in &contacts {
            let _ = writeln!(out, "{line}");
        }
    } else {
        let _ = writeln!(
            out,
            "contacts: {}, digest {}",
            contacts.len(),
            digest(&contacts)
        );
    }
    out
}

fn user_line(u: &engine_contract::account::CloudUser) -> String {
    let origin = match u.origin {
        Origin::Manual => "manual",
        Origin::DirectoryGenerated { .. } => "directory generated",
    };
    let mut line = format!("user {} ({origin})", u.address);
    if u.disabled {
        line.push_str(" disabled");
    }
    if !u.aliases.is_empty() {
        let a: Vec<String> = u.aliases.iter().map(ToString::to_string).collect();
        let _ = write!(line, " aliases [{}]", a.join(", "));
    }
    for (k, v) in &u.attributes {
        let _ = write!(line, " {k}={}", v.join("|"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_contract::account::{CloudGroup, CloudUser};
    use engine_contract::address::Address;
    use engine_contract::guid::Guid;
    use engine_contract::report::{SyncMethod, TlsOutcome};

    fn address(i: usize) -> Address {
        Address::parse(&format!("user{i:04}@corp.example.test")).expect("address")
    }

    fn group(members: impl IntoIterator<Item = usize>) -> CloudGroup {
        CloudGroup {
            guid: Guid([7; 16]),
            name: "Finance Team".into(),
            kind: Default::default(),
            address: None,
            members: members.into_iter().map(address).collect(),
        }
    }

    fn account(users: usize, members: impl IntoIterator<Item = usize>) -> Account {
        let mut account = Account::default();
        for i in 0..users {
            let user = CloudUser {
                address: address(i),
                origin: Origin::Manual,
                disabled: false,
                aliases: Default::default(),
                attributes: Default::default(),
            };
            account.users.insert(user.address.clone(), user);
        }
        let g = group(members);
        account.groups.insert(g.guid, g);
        account
    }

    #[test]
    fn digests_are_stable_and_see_every_line() {
        // FNV-1a 64 of "a\n": fixed, so snapshots agree across machines and toolchains.
        assert_eq!(digest(["a"]), "089bdc07b544e7b2");
        assert_ne!(digest(["a", "b"]), digest(["b", "a"]));
        assert_ne!(digest(["ab"]), digest(["a", "b"]));
    }

    #[test]
    fn a_large_account_still_shows_every_group_and_each_dropped_member() {
        let whole = super::account(&account(2000, 0..1600));
        let dropped = super::account(&account(2000, (0..1600).filter(|i| *i != 777)));
        let line = |text: &str| {
            text.lines()
                .find(|l| l.starts_with("group Finance Team"))
                .map(str::to_owned)
        };
        let (a, b) = (
            line(&whole).expect("group line"),
            line(&dropped).expect("line"),
        );
        assert!(
            a.starts_with("group Finance Team: 1600 members, digest "),
            "{a}"
        );
        assert!(
            b.starts_with("group Finance Team: 1599 members, digest "),
            "{b}"
        );
        assert!(whole.contains("users: 2000 (2000 manual, 0 disabled, 0 with aliases)"));
        // Same count, another member: only the digest tells them apart.
        let swapped = super::account(&account(2000, (0..1601).filter(|i| *i != 3)));
        assert_ne!(line(&swapped), Some(a.clone()));
        assert_eq!(line(&swapped).map(|l| l.len()), Some(a.len()));
        let small = super::account(&account(3, [1, 2]));
        assert!(
            small.contains("group Finance Team: 2 members [user0001@corp.example.test, user0002@corp.example.test]"),
            "{small}"
        );
        assert!(small.contains("user user0000@corp.example.test (manual)"));
    }

    #[test]
    fn a_long_change_list_is_summarised_without_hiding_a_group_change() {
        let mut changes: Vec<Change> = (0..300)
            .map(|i| Change::EnableUser {
                address: address(i),
            })
            .collect();
        changes.push(Change::AddGroup {
            group: group(0..30),
        });
        changes.push(Change::RemoveGroupMember {
            guid: Guid([8; 16]),
            name: "Sales Team".into(),
            member: address(5),
        });
        let text = super::changes(&changes);
        assert!(text.starts_with("changes: 302 (more than 200"), "{text}");
        assert!(text.contains("  ~ user enabled: 300, digest "), "{text}");
        assert!(
            text.contains("  group Finance Team: added: 30 members, digest "),
            "{text}"
        );
        assert!(
            text.contains("  group Sales Team: - 1 members [user0005@corp.example.test]"),
            "{text}"
        );
        let mut report = Report::new(SyncMethod::Agent, None, TlsOutcome::NotConnected);
        report.changes = changes;
        report.warnings.push("careful".into());
        let text = super::report(&report);
        let at = |s: &str| text.find(s).expect(s);
        assert!(at("conflicts: 0") < at("changes: 302") && at("changes: 302") < at("warnings:"));
    }
}
