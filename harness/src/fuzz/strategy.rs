//! proptest strategies for [`Case`]: every part shrinks towards fewer objects, fewer
//! steps and plainer values, which is what makes a failure end as a small scenario.

use proptest::prelude::*;

use super::case::{
    Case, EntryOrder, Fault, GenGroup, GenSettings, GenStep, GenUser, Member, Seeded, UserState,
};

/// How big cases get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Directory users, at most.
    pub users: usize,
    /// Groups, at most.
    pub groups: usize,
    /// Generated steps, at most (a final sync is always added).
    pub steps: usize,
    /// Bulk users (in one group) added to every case.
    pub bulk: u32,
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes {
            users: 6,
            groups: 3,
            steps: 6,
            bulk: 0,
        }
    }
}

fn user() -> impl Strategy<Value = GenUser> {
    (
        0u8..6,
        prop_oneof![
            6 => Just(UserState::Enabled),
            1 => Just(UserState::Disabled),
            1 => Just(UserState::LockedOut),
        ],
        0u8..3,
        0u8..2,
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(name, state, aliases, ou, sales, conflict)| GenUser {
            name,
            state,
            aliases,
            ou,
            sales,
            conflict,
        })
}

fn member() -> impl Strategy<Value = Member> {
    prop_oneof![
        4 => (0usize..16).prop_map(Member::User),
        2 => (0usize..16).prop_map(Member::Group),
        1 => (0usize..16).prop_map(Member::Contact),
    ]
}

fn group() -> impl Strategy<Value = GenGroup> {
    (prop::collection::vec(member(), 0..9), any::<bool>())
        .prop_map(|(members, mail)| GenGroup { members, mail })
}

fn seeded() -> impl Strategy<Value = Seeded> {
    prop_oneof![
        Just(Seeded::Manual),
        (0usize..16).prop_map(Seeded::ManualAt),
        Just(Seeded::Stale),
    ]
}

fn settings() -> impl Strategy<Value = GenSettings> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![3 => Just(50u32), 1 => 0u32..3],
        any::<bool>(),
    )
        .prop_map(
            |(delete_users, link_aliases, acknowledge_disabled, max_unlink, dirsync)| GenSettings {
                delete_users,
                link_aliases,
                acknowledge_disabled,
                max_unlink,
                dirsync,
            },
        )
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        Just(Fault::Down),
        Just(Fault::Busy),
        (1u32..4).prop_map(Fault::DropOnPage),
        (1u64..6).prop_map(Fault::DropAfterEntries),
    ]
}

fn step() -> impl Strategy<Value = GenStep> {
    prop_oneof![
        3 => Just(GenStep::Sync),
        1 => Just(GenStep::DeltaSync),
        2 => (0usize..16).prop_map(GenStep::Rename),
        1 => (0usize..16).prop_map(GenStep::Move),
        2 => (0usize..16).prop_map(GenStep::Delete),
        2 => (0usize..16, member()).prop_map(|(g, m)| GenStep::AddMember(g, m)),
        2 => (0usize..16, 0usize..16).prop_map(|(g, k)| GenStep::RemoveMember(g, k)),
        1 => (0usize..16).prop_map(GenStep::Disable),
        1 => (0usize..16).prop_map(GenStep::Enable),
        2 => fault().prop_map(GenStep::Faulted),
    ]
}

/// Cases up to `sizes`.
pub fn case(sizes: Sizes) -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(user(), 0..=sizes.users),
        prop::collection::vec(group(), 0..=sizes.groups),
        0usize..3,
        any::<bool>(),
        prop::collection::vec(seeded(), 0..4),
        settings(),
        // 1,500 (AD's default) shrinks first; 5 and 6 put range boundaries inside a
        // handful of members. (Any smaller would range a user's four objectClass values
        // too, which AD's minimum does not.)
        prop_oneof![Just(1500u32), 5u32..7],
        prop_oneof![
            Just(EntryOrder::Directory),
            Just(EntryOrder::Reverse),
            Just(EntryOrder::Shuffled),
        ],
        prop::collection::vec(step(), 0..=sizes.steps),
    )
        .prop_map(
            move |(
                users,
                groups,
                contacts,
                dynamic_list,
                seeded,
                settings,
                range_size,
                entry_order,
                steps,
            )| Case {
                users,
                groups,
                contacts,
                dynamic_list,
                seeded,
                settings,
                range_size,
                entry_order,
                bulk: sizes.bulk,
                steps,
            },
        )
}
