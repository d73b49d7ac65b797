//! One directory object and the identifiers it carries.

use std::fmt;
use std::sync::Arc;

use crate::dn::Rdn;
use crate::schema::ObjectKind;

/// An entry's index in the directory's slab. Ids are never reused, so a tombstone keeps
/// its id and links to it stay meaningful.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct EntryId(pub u32);

impl EntryId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An `objectGUID`: 16 bytes in the order AD stores them.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// Parses the string form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (mixed-endian as AD prints it).
    pub fn parse(s: &str) -> Option<Guid> {
        let hex: String = s
            .trim_matches(|c| c == '{' || c == '}')
            .split('-')
            .collect();
        if hex.len() != 32 || s.trim_matches(|c| c == '{' || c == '}').len() != 36 {
            return None;
        }
        let mut raw = [0u8; 16];
        for (i, byte) in raw.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
        }
        // The first three groups are little-endian in storage.
        let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
        let mut out = [0u8; 16];
        for (dst, src) in order.iter().enumerate() {
            out[dst] = raw[*src];
        }
        Some(Guid(out))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

/// An `objectSid`: `S-1-5-21-a-b-c-RID` for domain principals, or a well-known SID.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Sid {
    pub authority: u64,
    pub sub: Vec<u32>,
}

impl Sid {
    /// A domain SID `S-1-5-21-a-b-c`.
    pub fn domain(a: u32, b: u32, c: u32) -> Sid {
        Sid {
            authority: 5,
            sub: vec![21, a, b, c],
        }
    }

    /// This SID with a RID appended.
    pub fn with_rid(&self, rid: u32) -> Sid {
        let mut sub = self.sub.clone();
        sub.push(rid);
        Sid {
            authority: self.authority,
            sub,
        }
    }

    /// The last sub-authority.
    pub fn rid(&self) -> u32 {
        self.sub.last().copied().unwrap_or(0)
    }

    /// The SID without its RID.
    pub fn domain_part(&self) -> Sid {
        Sid {
            authority: self.authority,
            sub: self.sub[..self.sub.len().saturating_sub(1)].to_vec(),
        }
    }

    /// The binary form (MS-DTYP 2.4.2.2): revision, count, 48-bit big-endian authority,
    /// little-endian sub-authorities.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 4 * self.sub.len());
        out.push(1);
        out.push(self.sub.len() as u8);
        out.extend_from_slice(&self.authority.to_be_bytes()[2..]);
        for s in &self.sub {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    pub fn from_bytes(b: &[u8]) -> Option<Sid> {
        let count = *b.get(1)? as usize;
        if *b.first()? != 1 || b.len() != 8 + 4 * count {
            return None;
        }
        let mut auth = [0u8; 8];
        auth[2..].copy_from_slice(b.get(2..8)?);
        let sub = b[8..]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Some(Sid {
            authority: u64::from_be_bytes(auth),
            sub,
        })
    }

    /// Parses `S-1-5-21-…`.
    pub fn parse(s: &str) -> Option<Sid> {
        let mut parts = s
            .strip_prefix("S-1-")
            .or_else(|| s.strip_prefix("s-1-"))?
            .split('-');
        let authority = parts.next()?.parse().ok()?;
        let sub: Option<Vec<u32>> = parts.map(|p| p.parse().ok()).collect();
        let sub = sub?;
        (!sub.is_empty() && sub.len() <= 15).then_some(Sid { authority, sub })
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S-1-{}", self.authority)?;
        for s in &self.sub {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({self})")
    }
}

/// One stored attribute. Names are interned (`Arc<str>`) because 100,000 entries share a
/// few dozen names.
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    pub name: Arc<str>,
    pub values: AttrValues,
}

/// An attribute's values, read as a slice. Most attributes hold one value, kept inline:
/// the one-element list a `Vec` would allocate for it, for each of a user's dozen
/// attributes, was the largest part of a loaded directory after the values themselves.
/// Always in its canonical form (one value is `One`), so equality is the slices'.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AttrValues {
    One(Vec<u8>),
    Many(Vec<Vec<u8>>),
}

impl Default for AttrValues {
    fn default() -> Self {
        AttrValues::Many(Vec::new())
    }
}

impl From<Vec<Vec<u8>>> for AttrValues {
    fn from(mut values: Vec<Vec<u8>>) -> Self {
        match (values.len(), values.pop()) {
            (1, Some(one)) => AttrValues::One(one),
            (_, Some(last)) => {
                values.push(last);
                values.shrink_to_fit();
                AttrValues::Many(values)
            }
            (_, None) => AttrValues::Many(Vec::new()),
        }
    }
}

impl std::ops::Deref for AttrValues {
    type Target = [Vec<u8>];

    fn deref(&self) -> &[Vec<u8>] {
        match self {
            AttrValues::One(value) => std::slice::from_ref(value),
            AttrValues::Many(values) => values,
        }
    }
}

impl AttrValues {
    pub fn as_slice(&self) -> &[Vec<u8>] {
        self
    }

    pub fn into_vec(self) -> Vec<Vec<u8>> {
        match self {
            AttrValues::One(value) => vec![value],
            AttrValues::Many(values) => values,
        }
    }

    /// Changes the values as a `Vec` and puts them back in canonical form.
    fn edit(&mut self, f: impl FnOnce(&mut Vec<Vec<u8>>)) {
        let mut values = std::mem::take(self).into_vec();
        f(&mut values);
        *self = values.into();
    }

    pub fn push(&mut self, value: Vec<u8>) {
        self.edit(|values| values.push(value));
    }

    pub fn extend(&mut self, more: impl IntoIterator<Item = Vec<u8>>) {
        self.edit(|values| values.extend(more));
    }

    pub fn retain(&mut self, keep: impl FnMut(&Vec<u8>) -> bool) {
        self.edit(|values| values.retain(keep));
    }
}

/// A directory object. Its DN is not stored: it is its RDN plus its parent's DN, so a
/// rename or move of a container renames everything below it for free.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The entry's own name (`CN=Alice`).
    pub rdn: Rdn,
    /// `None` only for the head of a naming context.
    pub parent: Option<EntryId>,
    pub kind: ObjectKind,
    pub guid: Guid,
    /// Security principals only.
    pub sid: Option<Sid>,
    pub usn_created: u64,
    pub usn_changed: u64,
    /// Unix seconds.
    pub when_created: i64,
    /// Unix seconds.
    pub when_changed: i64,
    /// Stored attributes other than the ones derived from the fields above, the links
    /// below, and the password.
    pub attrs: Vec<Attr>,
    /// Forward link `member`, in insertion order (AD returns members unordered; a stable
    /// order keeps snapshots stable).
    pub members: Vec<EntryId>,
    /// Back link `memberOf`, maintained with `members`.
    pub member_of: Vec<EntryId>,
    /// Children, for one-level and subtree scoping without a scan.
    pub children: Vec<EntryId>,
    /// The cleartext password from the fixture or set over LDAP; never returned.
    pub password: Option<String>,
    /// Subtrees this account may read; `None` reads everything (AD's Authenticated Users).
    pub read_scopes: Option<Vec<EntryId>>,
    /// Set on tombstones.
    pub deleted: bool,
    /// The DN the object had before it was deleted.
    pub last_known_parent: Option<EntryId>,
    /// Replication metadata (`meta.rs`): attributes changed after creation, with the USN
    /// of their last change. An attribute not listed last changed at `usn_created`.
    pub attr_usns: Vec<(Arc<str>, u64)>,
    /// Linked-value metadata of `member` changed after creation: the member, the USN of
    /// the change and whether the link is present (false: removed).
    pub link_usns: Vec<(EntryId, u64, bool)>,
}

impl Entry {
    /// The stored values of an attribute, by case-insensitive name.
    pub fn get(&self, name: &str) -> Option<&[Vec<u8>]> {
        self.attrs
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .map(|a| a.values.as_slice())
    }

    /// The first stored value as a string.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name)?
            .first()
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first stored value as an integer.
    pub fn get_int(&self, name: &str) -> Option<i64> {
        self.get_str(name)?.trim().parse().ok()
    }

    /// Every stored value as a string, skipping any that is not UTF-8.
    pub fn get_strs(&self, name: &str) -> Vec<&str> {
        self.get(name)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| std::str::from_utf8(v).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_string_form_is_mixed_endian() {
        let g = Guid([
            0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56, 1, 2, 3, 4, 5, 6, 7, 8,
        ]);
        assert_eq!(g.to_string(), "12345678-1234-5678-0102-030405060708");
        assert_eq!(Guid::parse(&g.to_string()), Some(g));
        assert_eq!(Guid::parse("not-a-guid"), None);
    }

    #[test]
    fn attribute_values_stay_canonical() {
        let mut values = AttrValues::from(vec![b"a".to_vec()]);
        assert_eq!(values, AttrValues::One(b"a".to_vec()));
        values.push(b"b".to_vec());
        assert_eq!(values.as_slice(), &[b"a".to_vec(), b"b".to_vec()]);
        values.retain(|v| v != b"a");
        assert_eq!(values, AttrValues::One(b"b".to_vec()));
        values.retain(|_| false);
        assert!(values.is_empty());
        values.extend([b"c".to_vec(), b"d".to_vec()]);
        assert_eq!(values.into_vec(), vec![b"c".to_vec(), b"d".to_vec()]);
    }

    #[test]
    fn sid_binary_round_trip() {
        let sid = Sid::domain(1, 2, 3).with_rid(1105);
        assert_eq!(sid.to_string(), "S-1-5-21-1-2-3-1105");
        assert_eq!(Sid::from_bytes(&sid.to_bytes()), Some(sid.clone()));
        assert_eq!(Sid::parse("S-1-5-21-1-2-3-1105"), Some(sid));
        assert_eq!(Sid::from_bytes(&[1, 9, 0]), None);
    }
}
