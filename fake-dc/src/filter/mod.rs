//! Search filters: the AST with raw byte values, the RFC 4515 string parser, and the
//! evaluator that runs a filter against directory entries.
//!
//! The AST keeps values as bytes because RFC 4511 §4.5.1.7 makes assertion values OCTET
//! STRINGs: AD clients send escaped binary `objectGUID`/`objectSid` values, which
//! `ldap3_proto::LdapFilter` (String values) cannot carry.

mod ast;
mod eval;
mod parse;
mod search;

pub use ast::{Extensible, Filter, Substrings};
pub use eval::{FilterError, Key, Prepared, BIT_AND, BIT_OR, IN_CHAIN};
pub use parse::{FilterParseError, FilterParseErrorKind, NonUtf8FilterValue, MAX_FILTER_DEPTH};
pub use search::{Budget, Stopped};
