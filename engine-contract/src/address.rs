//! E-mail addresses as the sync stack compares them.
//!
//! Active Directory and the cloud account both treat addresses case-insensitively
//! (`Alice@Corp.Example.Test` and `alice@corp.example.test` are one mailbox), yet reports
//! should show what the directory wrote. [`Address`] keeps both forms and compares,
//! orders and hashes by the normalised one only.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::Arc;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Nothing left after trimming.
    #[error("address is empty")]
    Empty,
    /// No `@`, or nothing before or after it.
    #[error("'{0}' is not an e-mail address: expected local-part@domain")]
    Malformed(String),
    /// Whitespace or a second `@` inside the address.
    #[error("'{0}' is not an e-mail address: it contains whitespace or more than one '@'")]
    BadCharacter(String),
}

/// An e-mail address that compares case-insensitively.
///
/// The check is deliberately light (one `@`, non-empty parts, no whitespace): the
/// directory is the authority on what its addresses look like, the sync only needs a
/// stable key and a domain to test against the registered domains.
///
/// Both forms are shared (`Arc<str>`, one allocation when the address is already lower
/// case): a sync copies every address into its target account, plan and result, and at
/// a million users string copies dominated the diff. The fingerprint is worked out once,
/// at parse time: the diff hashes every address of both sides, and hashing the string
/// behind the pointer each time (a cache miss per address at that size) cost more than
/// the rest of the work on it.
#[derive(Clone)]
pub struct Address {
    /// Lower-case form; the only thing equality, ordering and hashing look at.
    normalized: Arc<str>,
    /// The spelling the directory (or the scenario author) used, kept for display.
    original: Arc<str>,
    /// A fixed-seed hash of `normalized`.
    fingerprint: u64,
    /// Byte offset of the `@` in `normalized`.
    at: u32,
}

/// The seed of [`Address::fingerprint`]; any constant works, it only has to be fixed.
const FINGERPRINT_SEED: u64 = 0x005e_edad_5ca1_ab1e;

impl Address {
    /// Parses an address, trimming surrounding whitespace.
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        let original = text.trim();
        if original.is_empty() {
            return Err(AddressError::Empty);
        }
        if original.chars().any(char::is_whitespace) || original.matches('@').count() > 1 {
            return Err(AddressError::BadCharacter(original.to_owned()));
        }
        match original.split_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
                let lower = original.to_lowercase();
                let original: Arc<str> = Arc::from(original);
                let normalized = if *lower == *original {
                    Arc::clone(&original)
                } else {
                    Arc::from(lower)
                };
                let at = normalized.find('@').unwrap_or_default();
                let at =
                    u32::try_from(at).map_err(|_| AddressError::Malformed(original.to_string()))?;
                Ok(Self {
                    fingerprint: fingerprint(&normalized),
                    normalized,
                    original,
                    at,
                })
            }
            _ => Err(AddressError::Malformed(original.to_owned())),
        }
    }

    /// The lower-case form used for comparisons.
    #[inline]
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The spelling as given.
    #[inline]
    pub fn original(&self) -> &str {
        &self.original
    }

    /// The lower-case domain part, for matching against registered domains.
    pub fn domain(&self) -> &str {
        // `parse` guarantees exactly one '@', at `at`.
        self.normalized
            .get(self.at as usize + 1..)
            .unwrap_or_default()
    }

    /// A hash of the normalised form with a fixed seed: equal addresses have equal
    /// fingerprints; unequal ones almost never do.
    #[inline]
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
}

fn fingerprint(normalized: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(FINGERPRINT_SEED).hash_one(normalized)
}

impl PartialEq for Address {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint && self.normalized == other.normalized
    }
}

impl Eq for Address {}

impl PartialOrd for Address {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Address {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        self.normalized.cmp(&other.normalized)
    }
}

/// Consistent with `Eq`: equal addresses have equal fingerprints.
impl Hash for Address {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.fingerprint);
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({:?})", self.original)
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.original)
    }
}

/// A string with exactly one `@`, something on both sides and no whitespace: what
/// [`Address::parse`] accepts once the value is trimmed.
impl JsonSchema for Address {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Address".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An e-mail address; compared case-insensitively, shown as spelt.",
            "type": "string",
            "pattern": r"^[^\s@]+@[^\s@]+$"
        })
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> Address {
        Address::parse(text).expect("valid address")
    }

    #[test]
    fn compares_case_insensitively_but_displays_as_given() {
        let mixed = addr("Alice@Corp.Example.Test");
        assert_eq!(mixed, addr("alice@corp.example.test"));
        assert_eq!(mixed.to_string(), "Alice@Corp.Example.Test");
        assert_eq!(mixed.normalized(), "alice@corp.example.test");
        assert_eq!(mixed.domain(), "corp.example.test");
        assert_eq!(
            mixed.fingerprint(),
            addr("ALICE@corp.example.test").fingerprint()
        );
        assert_ne!(
            mixed.fingerprint(),
            addr("alice@corp.example.tes").fingerprint()
        );
    }

    #[test]
    fn trims_and_refuses_what_is_not_an_address() {
        assert_eq!(addr("  bob@x.test ").original(), "bob@x.test");
        assert_eq!(Address::parse("  "), Err(AddressError::Empty));
        assert!(matches!(
            Address::parse("bob"),
            Err(AddressError::Malformed(_))
        ));
        assert!(matches!(
            Address::parse("@x.test"),
            Err(AddressError::Malformed(_))
        ));
        assert!(matches!(
            Address::parse("a@b@c"),
            Err(AddressError::BadCharacter(_))
        ));
        assert!(matches!(
            Address::parse("a b@c"),
            Err(AddressError::BadCharacter(_))
        ));
    }

    #[test]
    fn serde_round_trips_the_original_spelling() {
        let json = serde_json::to_string(&addr("Carol@X.test")).expect("serialize");
        assert_eq!(json, "\"Carol@X.test\"");
        let back: Address = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back.original(), "Carol@X.test");
        assert!(serde_json::from_str::<Address>("\"nope\"").is_err());
    }
}
