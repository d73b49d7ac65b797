//! The judgements inside an extraction that the properties must be able to see go wrong.
//!
//! A property that passes the real stack proves little until it fails a stack with a
//! known defect. Rather than switches in the stack's code, each such judgement is a
//! method of [`Steps`]: the stack runs with [`Faithful`], and the test kit
//! (`testing::planted`) brings implementations that get one judgement wrong.

use std::fmt;

use crate::extract::members::normalize_dn;
use crate::guid::Guid;

/// The replaceable judgements of an extraction. Every default is the stack's own.
pub trait Steps: Send + Sync + fmt::Debug {
    /// The key a DN is matched by when a group's `member` value is resolved to an object:
    /// the whole DN, normalised (RDNs repeat across OUs; DNs do not).
    fn member_key(&self, dn: &str) -> String {
        normalize_dn(dn)
    }

    /// Where the next piece of a ranged `member` starts, given where AD said it does:
    /// the rest is fetched until a range ends in `*`.
    fn member_range_next(&self, next: Option<usize>) -> Option<usize> {
        next
    }

    /// The deletions a delta run applies, from the tombstones it read.
    fn deleted(&self, tombstones: Vec<Guid>) -> Vec<Guid> {
        tombstones
    }

    /// The containers whose subtrees a delta run reads again, from those it found
    /// changed: AD leaves the `uSNChanged` of objects below a renamed OU alone.
    fn containers_to_read(&self, changed: Vec<String>) -> Vec<String> {
        changed
    }
}

/// The stack's own judgements, unchanged.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faithful;

impl Steps for Faithful {}
