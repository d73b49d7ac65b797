//! A hash map in shards, each shard shared (`Arc`) between a directory and its clones and
//! copied only when written. A snapshot of the directory then costs one pointer per
//! shard, and the first write after it copies 1/64th of an index, not all of it: a few
//! thousand keys at 100,000 entries, instead of a copy that held the write lock for
//! hundreds of milliseconds.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use super::HashMap;

/// Shards per map: enough that a shard of a 100,000-key index copies in well under a
/// millisecond, few enough that cloning the map stays trivial.
const SHARDS: usize = 64;

/// See the module documentation.
#[derive(Clone)]
pub(crate) struct SharedMap<K, V> {
    shards: Vec<Arc<HashMap<K, V>>>,
}

impl<K, V> Default for SharedMap<K, V> {
    fn default() -> Self {
        SharedMap {
            shards: (0..SHARDS).map(|_| Arc::default()).collect(),
        }
    }
}

/// Which shard a key lives in: a fixed hash, the same for a key and its borrowed form.
fn shard_of<Q: Hash + ?Sized>(key: &Q) -> usize {
    (foldhash::fast::FixedState::with_seed(0x5eed).hash_one(key) as usize) % SHARDS
}

impl<K, V> SharedMap<K, V> {
    /// The shards, for counting what the map holds (`footprint.rs`).
    pub fn shard_maps(&self) -> impl Iterator<Item = &HashMap<K, V>> {
        self.shards.iter().map(|s| &**s)
    }
}

impl<K: Hash + Eq + Clone, V: Clone> SharedMap<K, V> {
    /// The value of `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shards[shard_of(key)].get(key)
    }

    /// Whether `key` is present.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    /// The shard of `key`, made this map's own.
    fn shard_mut<Q: Hash + ?Sized>(&mut self, key: &Q) -> &mut HashMap<K, V> {
        Arc::make_mut(&mut self.shards[shard_of(key)])
    }

    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.shard_mut(&key).insert(key, value)
    }

    /// Removes `key`.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        // Reading first keeps a shard shared when there is nothing to remove.
        if !self.contains_key(key) {
            return None;
        }
        self.shard_mut(key).remove(key)
    }

    /// The value of `key`, to change; `None` leaves the shard shared.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !self.contains_key(key) {
            return None;
        }
        self.shard_mut(key).get_mut(key)
    }

    /// Room for `additional` more keys, spread over the shards, without rehashing.
    pub fn reserve(&mut self, additional: usize) {
        let each = additional.div_ceil(SHARDS);
        for shard in &mut self.shards {
            Arc::make_mut(shard).reserve(each);
        }
    }

    /// The value of `key`, inserted as the default when missing.
    pub fn get_or_default(&mut self, key: K) -> &mut V
    where
        V: Default,
    {
        self.shard_mut(&key).entry(key).or_default()
    }
}
