//! Group members, from GUIDs to the addresses the account can hold.
//!
//! A large directory's groups list hundreds of thousands of member GUIDs. Looking each
//! up in the snapshot's user map walks a tree a million entries deep, with a cache miss
//! at nearly every level; instead the requests are sorted by GUID and answered while
//! the planner walks the users in GUID order anyway (see [`super::links`]). Members
//! that are not users are looked up among the contacts afterwards: there are few.
//!
//! Each answer keeps the member address's fingerprint and a copy of its text, taken
//! while the user is in cache: a group's members are then ordered and compared with
//! the cloud group's without going back to users scattered over the snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use super::links::{sort_links, take_run};
use super::FastMap;
use crate::address::Address;
use crate::guid::Guid;
use crate::snapshot::{DirContact, DirGroup};

/// One member of a group, as the account can hold it.
#[derive(Clone)]
pub(super) struct GroupMember<'a> {
    pub(super) address: &'a Address,
    fingerprint: u64,
    /// The address's normalized text in [`GroupMembers::texts`].
    text: Range<usize>,
}

/// Every group's members the account can hold.
#[derive(Default)]
pub(super) struct GroupMembers<'a> {
    /// Each group's members in `members`.
    by_group: FastMap<Guid, Range<usize>>,
    /// Each group's members, deduplicated, ordered by fingerprint then text.
    members: Vec<GroupMember<'a>>,
    /// The members' addresses, normalized, one after another.
    texts: String,
}

impl<'a> GroupMembers<'a> {
    /// A group's members, in no meaningful order.
    pub(super) fn of(&self, group: &Guid) -> &[GroupMember<'a>] {
        self.by_group
            .get(group)
            .and_then(|range| self.members.get(range.clone()))
            .unwrap_or_default()
    }

    /// Whether the group has a member the account can hold: what makes it a cloud group.
    pub(super) fn any(&self, group: &Guid) -> bool {
        !self.of(group).is_empty()
    }

    /// Whether a group's members are exactly `cloud`'s, compared as addresses compare.
    /// `scratch` is reused between calls.
    pub(super) fn same_as<'c>(
        &self,
        group: &Guid,
        cloud: &'c BTreeSet<Address>,
        scratch: &mut Vec<(u64, &'c Address)>,
    ) -> bool {
        let ours = self.of(group);
        if ours.len() != cloud.len() {
            return false;
        }
        // Both sides in (fingerprint, text) order: the cloud set's addresses are
        // distinct, as ours are after deduplication, so equal sets pair up exactly.
        scratch.clear();
        scratch.extend(cloud.iter().map(|address| (address.fingerprint(), address)));
        scratch.sort_unstable_by(|(a, a_address), (b, b_address)| {
            a.cmp(b)
                .then_with(|| a_address.normalized().cmp(b_address.normalized()))
        });
        ours.iter()
            .zip(scratch.iter())
            .all(|(member, (fingerprint, address))| {
                member.fingerprint == *fingerprint && self.text(member) == address.normalized()
            })
    }

    fn text(&self, member: &GroupMember<'_>) -> &str {
        self.texts.get(member.text.clone()).unwrap_or_default()
    }

    /// Appends a member's text and returns where it lies.
    fn copy_text(texts: &mut String, address: &Address) -> Range<usize> {
        let start = texts.len();
        texts.push_str(address.normalized());
        start..texts.len()
    }
}

/// What a member GUID turned out to be.
#[derive(Clone)]
enum Answer<'a> {
    /// Not a user: a contact, or nothing the snapshot knows.
    NotAUser,
    /// A user whose primary is outside the registered domains: not a member the
    /// account can hold.
    OutOfDomain,
    /// A user at this address.
    User(GroupMember<'a>),
}

/// Member requests, answered as the users go by.
pub(super) struct MemberWalk<'a> {
    /// (member GUID sort key, slot in `answers`), by GUID.
    requests: Vec<(u128, usize)>,
    /// How much of `requests` the walk has passed.
    passed: usize,
    /// One per member of every group, groups in GUID order, members in GUID order.
    answers: Vec<Answer<'a>>,
    texts: String,
}

impl<'a> MemberWalk<'a> {
    pub(super) fn new(groups: &BTreeMap<Guid, DirGroup>) -> Self {
        let mut requests: Vec<(u128, usize)> = groups
            .values()
            .flat_map(|group| group.members.iter())
            .enumerate()
            .map(|(slot, member)| (member.print_order_key(), slot))
            .collect();
        let answers = vec![Answer::NotAUser; requests.len()];
        sort_links(&mut requests);
        Self {
            requests,
            passed: 0,
            answers,
            texts: String::new(),
        }
    }

    /// Takes the next user, in GUID order, with its address if the account can hold it.
    pub(super) fn visit(&mut self, guid: &Guid, address: Option<&'a Address>) {
        let slots = take_run(&self.requests, &mut self.passed, guid);
        if slots.is_empty() {
            return;
        }
        let answer = match address {
            Some(address) => Answer::User(GroupMember {
                address,
                fingerprint: address.fingerprint(),
                text: GroupMembers::copy_text(&mut self.texts, address),
            }),
            None => Answer::OutOfDomain,
        };
        for (_, slot) in slots {
            if let Some(slot) = self.answers.get_mut(*slot) {
                *slot = answer.clone();
            }
        }
    }

    /// Every group's members, once every user has been visited; a warning for each
    /// member that is neither a user nor a contact.
    pub(super) fn finish(
        self,
        groups: &'a BTreeMap<Guid, DirGroup>,
        contacts: &'a BTreeMap<Guid, DirContact>,
        warnings: &mut impl Extend<String>,
    ) -> GroupMembers<'a> {
        let mut resolved = GroupMembers {
            by_group: FastMap::default(),
            members: Vec::with_capacity(self.answers.len()),
            texts: self.texts,
        };
        let mut answers = self.answers.into_iter();
        for (guid, group) in groups {
            let start = resolved.members.len();
            for (member, answer) in group.members.iter().zip(answers.by_ref()) {
                match answer {
                    Answer::User(member) => resolved.members.push(member),
                    Answer::OutOfDomain => {}
                    Answer::NotAUser => match contacts.get(member) {
                        Some(contact) => resolved.members.push(GroupMember {
                            address: &contact.primary,
                            fingerprint: contact.primary.fingerprint(),
                            text: GroupMembers::copy_text(&mut resolved.texts, &contact.primary),
                        }),
                        None => warnings.extend([format!(
                            "group {} lists member {member}, which is not a mail-enabled user \
                             or contact in the snapshot; skipped",
                            group.dn
                        )]),
                    },
                }
            }
            let end = dedup_tail(&mut resolved, start);
            resolved.by_group.insert(*guid, start..end);
        }
        resolved
    }
}

/// Orders the members from `start` on by (fingerprint, text) and drops repeated
/// addresses, keeping the first member's spelling (the sort is stable). Returns the
/// new end.
fn dedup_tail(resolved: &mut GroupMembers<'_>, start: usize) -> usize {
    let GroupMembers { members, texts, .. } = resolved;
    let text = |member: &GroupMember<'_>| texts.get(member.text.clone()).unwrap_or_default();
    if let Some(tail) = members.get_mut(start..) {
        tail.sort_by(|a, b| {
            a.fingerprint
                .cmp(&b.fingerprint)
                .then_with(|| text(a).cmp(text(b)))
        });
    }
    let mut kept = start;
    for next in start..members.len() {
        let repeat = kept > start
            && members
                .get(kept - 1)
                .zip(members.get(next))
                .is_some_and(|(last, this)| text(last) == text(this));
        if !repeat {
            members.swap(kept, next);
            kept += 1;
        }
    }
    members.truncate(kept);
    kept
}
