//! Compact images of users, for deciding which account users a run leaves unchanged.
//!
//! Deciding "unchanged" compares every directory user with the cloud user linked to
//! it: the one step that reads every user on both sides, and the two sides are in
//! different orders (the account by address, the snapshot by GUID), so one side's
//! reads land at random whatever the order. A user is spread over a dozen allocations
//! (addresses, alias set, attribute map, values), each a cache miss when read at
//! random. So the planner writes each directory user's image, exactly the fields the
//! decision compares as bytes in one buffer, while it walks the snapshot in order; the
//! target then writes the cloud user's image, reads the directory user's image (one or
//! two cache lines), and compares bytes.
//!
//! Both images are made by the planner's `directory_image` and `cloud_image`, which
//! follow `user_unchanged` rule for rule; this module only lays out bytes. Every field
//! has a fixed size or a length in front, so equal images mean equal fields.

use crate::address::Address;
use crate::guid::Guid;

/// The images of the snapshot's users, by position in GUID order.
pub(super) struct Images {
    bytes: Vec<u8>,
    /// Where each image ends in `bytes`.
    ends: Vec<usize>,
}

impl Images {
    pub(super) fn with_capacity(users: usize) -> Self {
        // A user with an alias and an attribute takes about 80 bytes.
        Self {
            bytes: Vec::with_capacity(users * 96),
            ends: Vec::with_capacity(users),
        }
    }

    /// Appends the next user's image.
    pub(super) fn push(&mut self, write: impl FnOnce(&mut Image<'_>)) {
        write(&mut Image(&mut self.bytes));
        self.ends.push(self.bytes.len());
    }

    /// The image of the user at `position`.
    pub(super) fn get(&self, position: usize) -> Option<&[u8]> {
        let start = match position.checked_sub(1) {
            Some(before) => *self.ends.get(before)?,
            None => 0,
        };
        let end = *self.ends.get(position)?;
        self.bytes.get(start..end)
    }
}

/// Writes one image.
pub(super) struct Image<'b>(pub(super) &'b mut Vec<u8>);

impl Image<'_> {
    pub(super) fn byte(&mut self, byte: u8) {
        self.0.push(byte);
    }

    pub(super) fn guid(&mut self, guid: &Guid) {
        self.0.extend_from_slice(&guid.0);
    }

    /// A length or count, seven bits a byte (LEB128): one byte for nearly all.
    pub(super) fn count(&mut self, count: usize) {
        let mut rest = count;
        while rest >= 0x80 {
            self.0.push((rest & 0x7f) as u8 | 0x80);
            rest >>= 7;
        }
        self.0.push(rest as u8);
    }

    pub(super) fn text(&mut self, text: &str) {
        self.count(text.len());
        self.0.extend_from_slice(text.as_bytes());
    }

    /// An address as addresses compare: case-insensitively.
    pub(super) fn address(&mut self, address: &Address) {
        self.text(address.normalized());
    }

    /// An attribute's values, or that it has none at all.
    pub(super) fn values(&mut self, values: Option<&[String]>) {
        match values {
            None => self.byte(0),
            Some(values) => {
                self.byte(1);
                self.count(values.len());
                for value in values {
                    self.text(value);
                }
            }
        }
    }
}
