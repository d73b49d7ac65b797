//! Anonymization of a fixture: a customer's directory shape without its personal data.
//!
//! [`anonymize`] gives every name a keyed pseudonym and returns the [`Mapping`] that
//! reads a finding back:
//! - *Consistent*: one person is one pseudonym everywhere: CN, displayName, givenName/sn,
//!   sAMAccountName, UPN, mail, proxyAddresses, and every DN that names them (`member`,
//!   `manager`, read scopes, dynamic list bases, OU names). Names map word by word, so
//!   `Alice Archer`, `alice.archer@…` and `CN=Alice Archer,…` share `Alice` → `Xqvtl`.
//! - *Domains*: each registered domain maps to a distinct `<label>.test`; labels below it
//!   map as words, so `emea.corp.example.com` stays a child of `corp.example.com`.
//!   Domain SIDs (foreign security principals) map to other domain SIDs, RIDs kept.
//! - *Free text* (description, info, telephone numbers, street addresses, titles and any
//!   attribute not known to be a flag, a time or a class) is replaced word by word, each
//!   word by a same-length pseudonym, so equal values stay equal (a dynamic list over
//!   `department=Sales` still selects the same users).
//! - *Shape kept*: counts, nesting, group sizes, aliases, account states, lengths (each
//!   word keeps its length and each character its class: upper/lower ASCII, digit,
//!   non-ASCII of the same UTF-8 length; punctuation stays, so a CN with a comma keeps
//!   its comma), and the names Windows gives every domain (`Domain Users`, `CN=Users`).
//! - *Computers and the tenant*: a computer's name, logon name and host name as any
//!   account's; the `azureAd:` tenant's ID and its apps' IDs to keyed GUIDs (a tenant ID
//!   leads to the customer's domains), its initial domain below `onmicrosoft.com`, its
//!   cloud-only people and groups as directory ones, so a hybrid user or a synchronized
//!   group named in a cloud group keeps the pseudonym it has in the directory.
//! - *Kept as they are*: objectGUIDs (random, naming nobody, and what lets the customer
//!   find the object a finding is about), passwords and client secrets (a capture has
//!   none; a hand-written fixture's are test values the scenarios bind with), the seed,
//!   and the `generate:` blocks' own synthetic names (their OU name and mail domain are
//!   mapped).
//!
//! The key makes the mapping repeatable: two runs with one key over one directory give
//! the same output; another key gives other pseudonyms. See `pseudo.rs` for how
//! pseudonyms are drawn.

mod companion;
mod mapping;
mod pseudo;
mod text;
mod walk;

pub use mapping::{Mapping, MappingError, MAPPING_FORMAT};

use crate::fixture::model::Fixture;

/// The least key length accepted: an HMAC key guessed is every pseudonym reversed.
pub const MIN_KEY_BYTES: usize = 16;

/// The secret key pseudonyms are drawn with.
#[derive(Clone)]
pub struct Key(Vec<u8>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(…)")
    }
}

/// Why a key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the anonymization key has {0} bytes; it needs at least {MIN_KEY_BYTES} (e.g. `openssl rand -hex 32`)")]
    TooShort(usize),
}

impl Key {
    /// A key from secret bytes (at least [`MIN_KEY_BYTES`]); surrounding whitespace, as a
    /// key file's trailing newline, is not part of it.
    pub fn new(bytes: &[u8]) -> Result<Key, KeyError> {
        let text = bytes.trim_ascii();
        if text.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort(text.len()));
        }
        Ok(Key(text.to_vec()))
    }
}

/// The anonymized copy of `fixture` and the mapping back to the original.
pub fn anonymize(fixture: &Fixture, key: &Key) -> (Fixture, Mapping) {
    let (f, _, m) = anonymize_with(fixture, &[], key);
    (f, m)
}

/// [`anonymize`], and with the same pseudonyms YAML documents that name the fixture's
/// objects (a preview's or a scenario's settings: host names, DNs, domains, addresses),
/// so they keep pointing at the same objects. See `companion.rs` for what is mapped.
pub fn anonymize_with(
    fixture: &Fixture,
    companions: &[serde_yaml::Value],
    key: &Key,
) -> (Fixture, Vec<serde_yaml::Value>, Mapping) {
    let forest = text::Forest {
        dns: fixture
            .domains
            .iter()
            .map(|d| d.dns.to_ascii_lowercase())
            .collect(),
        netbios: fixture
            .domains
            .iter()
            .map(|d| {
                d.netbios
                    .clone()
                    .unwrap_or_else(|| d.dns.split('.').next().unwrap_or_default().to_string())
            })
            .map(|n| n.to_ascii_uppercase())
            .collect(),
        generated: fixture
            .domains
            .iter()
            .map(|d| d.generate.iter().map(|g| g.ou.clone()).collect())
            .collect(),
    };
    let mut anon = text::Anon {
        p: pseudo::Pseudonyms::new(&key.0),
        forest,
    };
    let pass = |anon: &mut text::Anon| {
        let mut out = fixture.clone();
        walk::fixture(anon, &mut out);
        let mut docs = companions.to_vec();
        for d in &mut docs {
            companion::value(anon, d, None);
        }
        (out, docs)
    };
    // Every original is collected first, so pseudonyms are drawn knowing them all.
    pass(&mut anon);
    anon.p.assign();
    let (out, docs) = pass(&mut anon);
    (out, docs, Mapping::from_pseudonyms(&anon.p))
}
