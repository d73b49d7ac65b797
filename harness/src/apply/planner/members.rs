//! Group members, from GUIDs to the addresses the account can hold.
//!
//! A large directory's groups list hundreds of thousands of member GUIDs. Looking each
//! up in the snapshot's user map walks a tree a million entries deep, with a cache miss
//! at nearly every level; instead the requests are sorted by GUID and answered while
//! the planner walks the users in GUID order anyway (see [`super::links`]). Members
//! that are not users are looked up among the contacts afterwards: there are few.

use std::collections::BTreeMap;

use super::links::sort_links;
use crate::address::Address;
use crate::guid::Guid;
use crate::snapshot::{DirContact, DirGroup};

/// What a member GUID turned out to be.
#[derive(Clone, Copy)]
enum Member<'a> {
    /// Not a user: a contact, or nothing the snapshot knows.
    NotAUser,
    /// A user whose primary is outside the registered domains: not a member the
    /// account can hold.
    OutOfDomain,
    /// A user at this address.
    User(&'a Address),
}

/// Member requests, answered as the users go by.
pub(super) struct MemberWalk<'a> {
    /// (member GUID sort key, slot in `answers`), by GUID.
    requests: Vec<(u128, usize)>,
    /// How much of `requests` the walk has passed.
    passed: usize,
    /// One per member of every group, groups in GUID order, members in GUID order.
    answers: Vec<Member<'a>>,
}

impl<'a> MemberWalk<'a> {
    pub(super) fn new(groups: &BTreeMap<Guid, DirGroup>) -> Self {
        let mut requests: Vec<(u128, usize)> = groups
            .values()
            .flat_map(|group| group.members.iter())
            .enumerate()
            .map(|(slot, member)| (member.print_order_key(), slot))
            .collect();
        let answers = vec![Member::NotAUser; requests.len()];
        sort_links(&mut requests);
        Self {
            requests,
            passed: 0,
            answers,
        }
    }

    /// Takes the next user, in GUID order, with its address if the account can hold it.
    pub(super) fn visit(&mut self, guid: &Guid, address: Option<&'a Address>) {
        let sort_key = guid.print_order_key();
        let rest = self.requests.get(self.passed..).unwrap_or_default();
        let before = rest.iter().take_while(|(k, _)| *k < sort_key).count();
        let rest = rest.get(before..).unwrap_or_default();
        let run = rest.iter().take_while(|(k, _)| *k == sort_key).count();
        for (_, slot) in rest.get(..run).unwrap_or_default() {
            if let Some(answer) = self.answers.get_mut(*slot) {
                *answer = address.map_or(Member::OutOfDomain, Member::User);
            }
        }
        self.passed += before + run;
    }

    /// Each group's member addresses, sorted and deduplicated, once every user has been
    /// visited; a warning for each member that is neither a user nor a contact.
    pub(super) fn finish(
        self,
        groups: &'a BTreeMap<Guid, DirGroup>,
        contacts: &'a BTreeMap<Guid, DirContact>,
        warnings: &mut impl Extend<String>,
    ) -> Vec<Vec<&'a Address>> {
        let mut answers = self.answers.into_iter();
        let mut resolved = Vec::with_capacity(groups.len());
        for group in groups.values() {
            let mut members = Vec::with_capacity(group.members.len());
            for (member, answer) in group.members.iter().zip(answers.by_ref()) {
                match answer {
                    Member::User(address) => members.push(address),
                    Member::OutOfDomain => {}
                    Member::NotAUser => match contacts.get(member) {
                        Some(contact) => members.push(&contact.primary),
                        None => warnings.extend([format!(
                            "group {} lists member {member}, which is not a mail-enabled user \
                             or contact in the snapshot; skipped",
                            group.dn
                        )]),
                    },
                }
            }
            // Stable, so of two spellings of one address the first member's is kept, as
            // inserting into a set would.
            members.sort();
            members.dedup();
            resolved.push(members);
        }
        resolved
    }
}
