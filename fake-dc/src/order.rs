//! The order in which a search returns its entries. AD promises none (it follows the
//! index it happens to use), so a client that depends on one is wrong; a fixture's
//! `entryOrder:` lets tests show it. `directory` (the default) is creation order.

use serde::Deserialize;

use crate::directory::EntryId;

/// How a search's entries are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryOrder {
    /// Creation order.
    #[default]
    Directory,
    /// Creation order reversed.
    Reverse,
    /// A fixed shuffle, from the fixture's seed: the same on every search and run.
    Shuffled,
}

impl EntryOrder {
    /// Puts `ids` in this order; `seed` picks the shuffle.
    pub fn apply(self, ids: &mut [EntryId], seed: u64) {
        match self {
            EntryOrder::Directory => {}
            EntryOrder::Reverse => ids.reverse(),
            EntryOrder::Shuffled => ids.sort_by_key(|id| mix(seed ^ u64::from(id.0))),
        }
    }
}

/// SplitMix64's finaliser: a cheap, well-spread hash of one number.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<EntryId> {
        (0..50).map(EntryId).collect()
    }

    #[test]
    fn reverse_and_shuffled_are_fixed_permutations() {
        let mut reversed = ids();
        EntryOrder::Reverse.apply(&mut reversed, 1);
        assert_eq!(reversed.first(), Some(&EntryId(49)));
        let (mut a, mut b, mut c) = (ids(), ids(), ids());
        EntryOrder::Shuffled.apply(&mut a, 1);
        EntryOrder::Shuffled.apply(&mut b, 1);
        EntryOrder::Shuffled.apply(&mut c, 2);
        assert_eq!(a, b, "the same seed gives the same order");
        assert_ne!(a, ids());
        assert_ne!(a, c, "another seed gives another order");
        a.sort();
        assert_eq!(a, ids(), "every entry once");
    }
}
