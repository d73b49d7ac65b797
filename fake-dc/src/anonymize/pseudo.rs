//! Keyed pseudonyms for words, registered domains and domain SIDs.
//!
//! A pseudonym is drawn from HMAC-SHA256 under the secret key, so the same key maps the
//! same customer the same way on every run, and nobody without the key can tell which
//! original a pseudonym stands for. A word keeps its length and the class of every
//! character (lower or upper case ASCII letter, digit, non-ASCII letter of the same UTF-8
//! length), so DN lengths, the 20-character sAMAccountName limit and non-ASCII names keep
//! their shape. Words are keyed case-insensitively (AD compares names that way) and take
//! the case pattern of each occurrence, so `Alice`, `alice` and `ALICE` stay one name.
//!
//! Pseudonyms are assigned in two passes: the walk first collects every original, then
//! they are drawn in sorted order, each avoiding every original word and every pseudonym
//! already drawn. Two runs over the same directory therefore agree exactly; a pseudonym
//! never spells an original word (of two characters or more: there are only 26 letters);
//! and two different names never share a pseudonym, so uniqueness (DNs, addresses) and
//! duplicates (two users claiming one address) both survive.

use std::collections::{BTreeMap, HashSet};

use ring::hmac;

use crate::dn::fold_case;

/// Draws that must avoid original words before only other pseudonyms are avoided (a
/// one-letter word may have no other choice).
const STRICT_DRAWS: u32 = 64;
/// Draws after which a collision is accepted (never reached but for one-letter words).
const MAX_DRAWS: u32 = 512;

/// Lower-case letters of two UTF-8 bytes whose upper case is two bytes too.
const LATIN1_LOWER: &[char] = &[
    'à', 'á', 'â', 'ã', 'ä', 'å', 'æ', 'ç', 'è', 'é', 'ê', 'ë', 'ì', 'í', 'î', 'ï', 'ð', 'ñ', 'ò',
    'ó', 'ô', 'õ', 'ö', 'ø', 'ù', 'ú', 'û', 'ü', 'ý', 'þ',
];

/// The words, domains and SIDs of one run, first collected, then given pseudonyms.
pub struct Pseudonyms {
    key: hmac::Key,
    collecting: bool,
    /// Folded original word → folded pseudonym.
    pub(super) words: BTreeMap<String, String>,
    /// Registered domain (`example.com`) → its pseudonym (`qwertyu.test`).
    pub(super) domains: BTreeMap<String, String>,
    /// Domain SID's three sub-authorities (`21-a-b-c` without the `S-1-5-`) → pseudonym.
    pub(super) sids: BTreeMap<String, String>,
    /// A tenant's or an app registration's ID (lower-case GUID) → a keyed GUID.
    pub(super) guids: BTreeMap<String, String>,
}

impl Pseudonyms {
    pub fn new(key: &[u8]) -> Self {
        Pseudonyms {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            collecting: true,
            words: BTreeMap::new(),
            domains: BTreeMap::new(),
            sids: BTreeMap::new(),
            guids: BTreeMap::new(),
        }
    }

    /// Ends collection: draws every pseudonym, in sorted order so the result depends only
    /// on the set of originals.
    pub fn assign(&mut self) {
        self.collecting = false;
        // Nothing may become an original word, nor the `.test` the domains end in.
        let mut taken: HashSet<String> = self.words.keys().cloned().collect();
        taken.insert("test".into());
        for registered in self.domains.keys() {
            for label in registered.split('.') {
                taken.insert(label.to_string());
            }
        }
        let originals: HashSet<String> = taken.clone();
        let mut used: HashSet<String> = HashSet::new();
        for (original, pseudonym) in self.domains.iter_mut() {
            let label = original.split('.').next().unwrap_or_default();
            let drawn = Self::draw_with(&self.key, "domain", original, label, &originals, &used);
            used.insert(drawn.clone());
            *pseudonym = format!("{drawn}.test");
        }
        for (original, pseudonym) in self.words.iter_mut() {
            let drawn = Self::draw_with(&self.key, "word", original, original, &originals, &used);
            used.insert(drawn.clone());
            *pseudonym = drawn;
        }
        for (original, pseudonym) in self.sids.iter_mut() {
            *pseudonym = sid_domain(&self.key, original);
        }
        for (original, pseudonym) in self.guids.iter_mut() {
            *pseudonym = guid(&self.key, original);
        }
    }

    fn draw_with(
        key: &hmac::Key,
        tag: &str,
        key_text: &str,
        shape: &str,
        originals: &HashSet<String>,
        used: &HashSet<String>,
    ) -> String {
        let mut last = String::new();
        for attempt in 0..MAX_DRAWS {
            let candidate = shaped(key, tag, key_text, shape, attempt);
            let clash_original = originals.contains(&candidate);
            if !used.contains(&candidate) && (attempt >= STRICT_DRAWS || !clash_original) {
                return candidate;
            }
            last = candidate;
        }
        last
    }

    /// A word's pseudonym with the case pattern of this occurrence; while collecting,
    /// records the word and returns it unchanged.
    pub fn word(&mut self, word: &str) -> String {
        let folded = fold_case(word);
        if self.collecting {
            self.words.entry(folded).or_default();
            return word.to_string();
        }
        let base = match self.words.get(&folded) {
            Some(p) => p.clone(),
            // Only a walk that differs between its passes gets here; a pseudonym drawn
            // late is still keyed, only not collision-checked.
            None => shaped(&self.key, "word", &folded, &folded, 0),
        };
        with_case_of(word, &base)
    }

    /// The pseudonym of a registered domain (`example.com` → `qwertyu.test`).
    pub fn registered_domain(&mut self, registered: &str) -> String {
        let registered = registered.to_ascii_lowercase();
        if self.collecting {
            self.domains.entry(registered.clone()).or_default();
            return registered;
        }
        match self.domains.get(&registered) {
            Some(p) => p.clone(),
            None => {
                let label = registered.split('.').next().unwrap_or_default();
                format!(
                    "{}.test",
                    shaped(&self.key, "domain", &registered, label, 0)
                )
            }
        }
    }

    /// The pseudonym of a domain SID's identifying part (`21-a-b-c`).
    pub fn sid_domain(&mut self, part: &str) -> String {
        if self.collecting {
            self.sids.entry(part.to_string()).or_default();
            return part.to_string();
        }
        match self.sids.get(part) {
            Some(p) => p.clone(),
            None => sid_domain(&self.key, part),
        }
    }
}

impl Pseudonyms {
    /// The pseudonym of an identifier that names the customer (an Azure AD tenant ID,
    /// which anyone can look the tenant's domains up by, or an app registration's ID).
    pub fn guid(&mut self, original: &str) -> String {
        let folded = original.trim().to_ascii_lowercase();
        if self.collecting {
            self.guids.entry(folded).or_default();
            return original.to_string();
        }
        match self.guids.get(&folded) {
            Some(p) => p.clone(),
            None => guid(&self.key, &folded),
        }
    }

    /// A GUID's pseudonym when the walk collected it as the customer's (in a companion
    /// document, where other GUIDs are objectGUIDs that stay); else the GUID itself.
    pub fn known_guid(&self, text: &str) -> Option<String> {
        if self.collecting {
            return None;
        }
        self.guids.get(&text.trim().to_ascii_lowercase()).cloned()
    }
}

/// A keyed random (version 4) GUID standing for `original`.
fn guid(key: &hmac::Key, original: &str) -> String {
    let mut stream = Stream::new(key, "guid", original, 0);
    let mut bytes = [0u8; 16];
    for chunk in bytes.chunks_mut(4) {
        chunk.copy_from_slice(&stream.next_u32().to_be_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Keyed bytes: HMAC(key, tag ‖ 0 ‖ text ‖ 0 ‖ attempt ‖ block) for as many blocks as asked.
struct Stream<'a> {
    key: &'a hmac::Key,
    prefix: Vec<u8>,
    block: u32,
    buffer: Vec<u8>,
}

impl<'a> Stream<'a> {
    fn new(key: &'a hmac::Key, tag: &str, text: &str, attempt: u32) -> Self {
        let mut prefix = Vec::with_capacity(tag.len() + text.len() + 6);
        prefix.extend_from_slice(tag.as_bytes());
        prefix.push(0);
        prefix.extend_from_slice(text.as_bytes());
        prefix.push(0);
        prefix.extend_from_slice(&attempt.to_be_bytes());
        Stream {
            key,
            prefix,
            block: 0,
            buffer: Vec::new(),
        }
    }

    fn next_u32(&mut self) -> u32 {
        if self.buffer.len() < 4 {
            let mut input = self.prefix.clone();
            input.extend_from_slice(&self.block.to_be_bytes());
            self.block += 1;
            self.buffer = hmac::sign(self.key, &input).as_ref().to_vec();
        }
        let rest = self.buffer.split_off(4);
        let bytes = std::mem::replace(&mut self.buffer, rest);
        u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    }

    fn below(&mut self, n: u32) -> u32 {
        ((u64::from(self.next_u32()) * u64::from(n.max(1))) >> 32) as u32
    }
}

/// A pseudonym with `shape`'s character classes, in lower case.
fn shaped(key: &hmac::Key, tag: &str, key_text: &str, shape: &str, attempt: u32) -> String {
    let mut stream = Stream::new(key, tag, key_text, attempt);
    let mut out = String::with_capacity(shape.len());
    for (i, c) in shape.chars().enumerate() {
        let next = if c.is_ascii_digit() {
            // A number keeps its magnitude: no leading zero appears or disappears.
            if i == 0 && c == '0' {
                '0'
            } else if i == 0 {
                char::from(b'1' + stream.below(9) as u8)
            } else {
                char::from(b'0' + stream.below(10) as u8)
            }
        } else if c.is_ascii_alphabetic() {
            char::from(b'a' + stream.below(26) as u8)
        } else if c.is_ascii() {
            // Hyphens in domain labels and anything else outside a word stay.
            c
        } else {
            match c.len_utf8() {
                2 => LATIN1_LOWER[stream.below(LATIN1_LOWER.len() as u32) as usize],
                3 => char::from_u32(0x4E00 + stream.below(0x9FA5 - 0x4E00)).unwrap_or(c),
                _ => char::from_u32(0x20000 + stream.below(0xA6DF)).unwrap_or(c),
            }
        };
        out.push(next);
    }
    out
}

/// `base` (lower case) with the upper-case positions of `original`.
pub(super) fn with_case_of(original: &str, base: &str) -> String {
    if original.chars().count() != base.chars().count() {
        return base.to_string();
    }
    original
        .chars()
        .zip(base.chars())
        .map(|(o, b)| {
            if o.is_uppercase() {
                let mut upper = b.to_uppercase();
                match (upper.next(), upper.next()) {
                    (Some(u), None) if u.len_utf8() == b.len_utf8() => u,
                    _ => b,
                }
            } else {
                b
            }
        })
        .collect()
}

/// Keyed sub-authorities for a domain SID (`21-a-b-c`), each with as many digits as the
/// original's, so a foreign principal's CN keeps its length.
fn sid_domain(key: &hmac::Key, part: &str) -> String {
    let mut stream = Stream::new(key, "sid", part, 0);
    let mut out = String::from("21");
    for original in part.split('-').skip(1) {
        let digits = original.len().clamp(1, 10) as u32;
        let low = if digits == 1 {
            0
        } else {
            10u64.pow(digits - 1)
        };
        let high = (10u64.pow(digits) - 1).min(u64::from(u32::MAX));
        let span = (high - low + 1).min(u64::from(u32::MAX)) as u32;
        out.push_str(&format!("-{}", low + u64::from(stream.below(span))));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_cases_are_kept() {
        let mut p = Pseudonyms::new(b"a test key of some length");
        for w in ["Müller", "王小明", "O", "dc1", "0100"] {
            p.word(w);
        }
        p.assign();
        let m = p.word("Müller");
        assert_eq!(m.chars().count(), 6);
        assert_eq!(m.len(), "Müller".len());
        assert!(m.chars().next().is_some_and(char::is_uppercase));
        assert!(!m.chars().nth(1).is_some_and(|c| c.is_ascii()));
        assert_eq!(p.word("müller"), m.to_lowercase());
        let cjk = p.word("王小明");
        assert_eq!(cjk.len(), "王小明".len());
        assert_ne!(cjk, "王小明");
        let host = p.word("dc1");
        assert!(host[..2].chars().all(|c| c.is_ascii_lowercase()));
        assert!(host[2..].chars().all(|c| c.is_ascii_digit()));
        assert!(p.word("0100").starts_with('0'));
    }
}
