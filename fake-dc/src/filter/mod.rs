//! Search filters: the AST with raw byte values, the RFC 4515 string parser, and the
//! evaluator that runs a filter against directory entries.
//!
//! The AST keeps values as bytes because RFC 4511 §4.5.1.7 makes assertion values OCTET
//! STRINGs: AD clients send escaped binary `objectGUID`/`objectSid` values, which
//! `ldap3_proto::LdapFilter` (String values) cannot carry.

mod ast;
mod error;
mod eval;
mod ldap3;
mod parse;
mod print;
mod search;

pub use ast::{Extensible, Filter, Substrings};
pub use error::{FilterParseError, FilterParseErrorKind, MAX_FILTER_DEPTH};
pub use eval::{FilterError, Key, Prepared, BIT_AND, BIT_OR, IN_CHAIN};
pub use ldap3::NonUtf8FilterValue;
pub use search::{Budget, Stopped};
