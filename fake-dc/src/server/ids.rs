//! The entry ids a paged search has still to send, kept compact: each id as the
//! zigzag varint of its difference from the one before. Matches come in tree order, where
//! neighbours were mostly created together, so most ids take one or two bytes instead of
//! four. A thousand paged readers of 100,000 users then hold tens of megabytes, not
//! hundreds, and a page costs only the ids it takes.

use crate::directory::EntryId;

/// A queue of entry ids, consumed from the front.
#[derive(Debug, Clone, Default)]
pub struct IdQueue {
    /// The encoded ids.
    bytes: Vec<u8>,
    /// Where the next id starts in `bytes`.
    at: usize,
    /// The id read last (the base of the next difference).
    last: i64,
    /// Ids not read yet.
    left: usize,
}

impl IdQueue {
    /// A queue holding `ids` in order.
    pub fn new(ids: impl IntoIterator<Item = EntryId>) -> Self {
        let mut bytes = Vec::new();
        let mut last = 0i64;
        let mut left = 0;
        for id in ids {
            let value = i64::from(id.0);
            let delta = value - last;
            let mut zigzag = ((delta << 1) ^ (delta >> 63)) as u64;
            loop {
                let byte = (zigzag & 0x7f) as u8;
                zigzag >>= 7;
                if zigzag == 0 {
                    bytes.push(byte);
                    break;
                }
                bytes.push(byte | 0x80);
            }
            last = value;
            left += 1;
        }
        bytes.shrink_to_fit();
        IdQueue {
            bytes,
            at: 0,
            last: 0,
            left,
        }
    }

    /// Takes the next id.
    pub fn pop_front(&mut self) -> Option<EntryId> {
        if self.left == 0 {
            return None;
        }
        let mut zigzag = 0u64;
        let mut shift = 0;
        while let Some(&byte) = self.bytes.get(self.at) {
            self.at += 1;
            zigzag |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let delta = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
        self.last += delta;
        self.left -= 1;
        u32::try_from(self.last).ok().map(EntryId)
    }

    /// No id left.
    pub fn is_empty(&self) -> bool {
        self.left == 0
    }

    /// Ids left.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.left
    }

    /// Bytes held.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn gives_back_what_it_was_given(ids in proptest::collection::vec(any::<u32>(), 0..300)) {
            let mut q = IdQueue::new(ids.iter().copied().map(EntryId));
            prop_assert_eq!(q.len(), ids.len());
            let mut out = Vec::new();
            while let Some(id) = q.pop_front() {
                out.push(id.0);
            }
            prop_assert_eq!(out, ids);
            prop_assert!(q.is_empty());
        }
    }

    #[test]
    fn tree_order_ids_take_about_a_byte_each() {
        let q = IdQueue::new((0..100_000).map(EntryId));
        assert!(q.bytes() <= 100_000, "{} bytes", q.bytes());
    }
}
