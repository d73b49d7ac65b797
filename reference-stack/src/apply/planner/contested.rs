//! Finding the addresses claimed more than once among millions of claims.

use std::collections::BTreeMap;

use crate::address::Address;

/// Claims on addresses, each filed with a key made from its address's fingerprint as
/// it is pushed, while the address is in cache.
pub(super) struct Claims<C> {
    claims: Vec<C>,
    /// Per claim: the fingerprint's top 32 bits above the claim's index.
    keys: Vec<u64>,
}

/// Claim indices take the low 32 bits of a key.
const INDEX_BITS: u32 = 32;
const INDEX_MASK: u64 = u64::MAX >> INDEX_BITS;

impl<C: Copy> Claims<C> {
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self {
            claims: Vec::with_capacity(capacity),
            keys: Vec::with_capacity(capacity),
        }
    }

    pub(super) fn push(&mut self, address: &Address, claim: C) {
        let index = self.claims.len() as u64 & INDEX_MASK;
        self.keys
            .push((address.fingerprint() & !INDEX_MASK) | index);
        self.claims.push(claim);
    }

    /// Every claim on each address claimed more than once: addresses in order, each
    /// address's claims in the order they were pushed.
    ///
    /// Almost every address has one claim. Finding the repeated fingerprints reads only
    /// a vector of integers; only claims behind those are compared as addresses. A hash
    /// map from address to claim did the same with a cache miss per claim, and sorting
    /// the addresses themselves compared strings behind pointers. Callers only put the
    /// results in ordered sets and maps, so the plan does not depend on fingerprints.
    pub(super) fn contested<'c>(self, address: impl Fn(&C) -> &'c Address) -> Vec<Vec<C>> {
        let Self { claims, keys } = self;
        if u32::try_from(claims.len()).is_err() {
            return contested_slowly(claims, address);
        }
        let repeated = repeated(keys);
        let mut contested: BTreeMap<&Address, Vec<usize>> = BTreeMap::new();
        let claim_at = |key: u64| claims.get((key & INDEX_MASK) as usize);
        for same in repeated.chunk_by(|a, b| a >> INDEX_BITS == b >> INDEX_BITS) {
            // A run is almost always one address; group it by address exactly anyway:
            // unequal addresses may share the top bits.
            let mut groups: Vec<(&Address, Vec<usize>)> = Vec::new();
            for &key in same {
                let Some(claim) = claim_at(key) else { continue };
                let index = (key & INDEX_MASK) as usize;
                let a = address(claim);
                match groups.iter_mut().find(|(other, _)| *other == a) {
                    Some((_, indices)) => indices.push(index),
                    None => groups.push((a, vec![index])),
                }
            }
            for (a, indices) in groups {
                if indices.len() > 1 {
                    contested.insert(a, indices);
                }
            }
        }
        contested
            .into_values()
            .map(|indices| {
                indices
                    .into_iter()
                    .filter_map(|index| claims.get(index).copied())
                    .collect()
            })
            .collect()
    }
}

/// [`contested`] for more claims than 32 bits can index: a map from address to claims.
fn contested_slowly<'c, C: Copy>(
    claims: Vec<C>,
    address: impl Fn(&C) -> &'c Address,
) -> Vec<Vec<C>> {
    let mut all: BTreeMap<&Address, Vec<C>> = BTreeMap::new();
    for claim in &claims {
        all.entry(address(claim)).or_default().push(*claim);
    }
    all.into_values()
        .filter(|claims| claims.len() > 1)
        .collect()
}

/// The keys whose top 32 bits occur more than once, sorted.
///
/// One pass spreads the keys over 2^11 buckets by their top bits; each bucket, a few
/// kilobytes, then finds its repeats with a small hash table that stays in cache.
/// Sorting two million keys to find a few dozen repeats took several times longer.
/// The keys' top bits are a hash, so the buckets come out even.
fn repeated(keys: Vec<u64>) -> Vec<u64> {
    const BUCKET_BITS: u32 = 11;
    const BUCKETS: usize = 1 << BUCKET_BITS;
    let top = |key: u64| (key >> INDEX_BITS) as u32;
    if keys.len() < BUCKETS * 32 {
        let mut keys = keys;
        keys.sort_unstable();
        return keys
            .chunk_by(|a, b| top(*a) == top(*b))
            .filter(|run| run.len() > 1)
            .flatten()
            .copied()
            .collect();
    }
    let bucket = |key: u64| (key >> (u64::BITS - BUCKET_BITS)) as usize;
    // ends[b]: where bucket b ends once placed; counted first, then summed.
    let mut ends = vec![0_usize; BUCKETS];
    for &key in &keys {
        if let Some(count) = ends.get_mut(bucket(key)) {
            *count += 1;
        }
    }
    let mut total = 0;
    for end in &mut ends {
        total += *end;
        *end = total;
    }
    // Filled from each bucket's end backwards, so `ends` becomes the starts.
    let mut placed = vec![0_u64; keys.len()];
    for &key in keys.iter().rev() {
        if let Some(end) = ends.get_mut(bucket(key)) {
            *end -= 1;
            if let Some(slot) = placed.get_mut(*end) {
                *slot = key;
            }
        }
    }
    drop(keys);
    let starts = ends;
    let mut repeated = Vec::new();
    // Open addressing: each slot holds a position in the bucket plus one, or 0.
    let mut table: Vec<u32> = Vec::new();
    let mut repeated_tops: Vec<u32> = Vec::new();
    for (b, &start) in starts.iter().enumerate() {
        let end = starts.get(b + 1).copied().unwrap_or(placed.len());
        let Some(bucket) = placed.get(start..end) else {
            continue;
        };
        let size = (bucket.len() * 2).next_power_of_two().max(16);
        let mask = size - 1;
        table.clear();
        table.resize(size, 0);
        repeated_tops.clear();
        for (position, &key) in bucket.iter().enumerate() {
            let mut slot = top(key) as usize & mask;
            while let Some(entry) = table.get_mut(slot) {
                match (*entry as usize).checked_sub(1).and_then(|p| bucket.get(p)) {
                    None => {
                        *entry = u32::try_from(position + 1).unwrap_or(u32::MAX);
                        break;
                    }
                    Some(&other) if top(other) == top(key) => {
                        repeated_tops.push(top(key));
                        break;
                    }
                    Some(_) => slot = (slot + 1) & mask,
                }
            }
        }
        if !repeated_tops.is_empty() {
            repeated.extend(
                bucket
                    .iter()
                    .filter(|key| repeated_tops.contains(&top(**key))),
            );
        }
    }
    repeated.sort_unstable();
    repeated
}

#[cfg(test)]
mod tests {
    use super::repeated;

    #[test]
    fn finds_every_repeated_key() {
        // Enough keys for the bucketed path, spread over the top bits like hashes and
        // with repeats, as contested addresses have.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let keys: Vec<u64> = (0..200_000)
            .map(|n| {
                state = state.rotate_left(17).wrapping_mul(0x2545_f491_4f6c_dd1d) ^ n;
                if n % 10 == 0 {
                    42 << 40
                } else {
                    state
                }
            })
            .collect();
        let mut expected = keys.clone();
        expected.sort_unstable();
        let expected: Vec<u64> = expected
            .chunk_by(|a, b| a >> 32 == b >> 32)
            .filter(|run| run.len() > 1)
            .flatten()
            .copied()
            .collect();
        assert!(expected.len() >= 20_000);
        assert_eq!(repeated(keys), expected);
    }
}

#[cfg(test)]
mod claims_tests {
    use super::Claims;
    use crate::address::Address;

    #[test]
    fn contested_addresses_in_order_with_claims_in_push_order() {
        let address = |text: &str| Address::parse(text).expect("valid address");
        let (a, b, c) = (
            address("a@x.test"),
            address("B@x.test"),
            address("c@x.test"),
        );
        let b_lower = address("b@x.test");
        let mut claims = Claims::with_capacity(4);
        for (n, owner) in [&c, &b, &a, &b_lower, &c].into_iter().enumerate() {
            claims.push(owner, (owner, n));
        }
        let contested = claims.contested(|(address, _)| address);
        let order: Vec<Vec<usize>> = contested
            .iter()
            .map(|claims| claims.iter().map(|(_, n)| *n).collect())
            .collect();
        assert_eq!(order, vec![vec![1, 3], vec![0, 4]]);
    }
}
