//! Serde for maps whose values carry their own key.
//!
//! Snapshots and accounts are keyed maps in memory (lookups, deterministic order) but
//! lists in YAML: a scenario author writes `- guid: …` once instead of repeating the key
//! as a map key, and cannot make the two disagree. Duplicate keys are refused, since a
//! map would silently keep only the last.

use std::collections::BTreeMap;
use std::fmt::Display;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that knows the key it is stored under.
pub trait Keyed {
    /// The key type of the map.
    type Key: Ord + Clone + Display;
    /// The key this value is stored under.
    fn key(&self) -> Self::Key;
}

pub fn serialize<S, V>(map: &BTreeMap<V::Key, V>, serializer: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    V: Keyed + Serialize,
{
    serializer.collect_seq(map.values())
}

pub fn deserialize<'de, D, V>(deserializer: D) -> Result<BTreeMap<V::Key, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Keyed + Deserialize<'de>,
{
    let mut map = BTreeMap::new();
    for value in Vec::<V>::deserialize(deserializer)? {
        let key = value.key();
        if map.insert(key.clone(), value).is_some() {
            return Err(D::Error::custom(format!(
                "'{key}' is listed twice; each entry needs its own key"
            )));
        }
    }
    Ok(map)
}
