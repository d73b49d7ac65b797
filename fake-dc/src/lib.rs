//! fake-dc: a fake Active Directory domain controller.
//!
//! A map of the modules, in the order a request flows through them:
//! - [`fixture`]: YAML fixture files → a [`directory::Directory`] (with `file:line:col` errors);
//! - [`directory`]: the in-memory forest: entries, indexes, AD's computed attributes,
//!   mutations, and who may read what;
//! - [`dn`]: distinguished names (RFC 4514) with AD's escaping and case-insensitive keys;
//! - [`filter`]: search filters: RFC 4515 parser, evaluation with AD's matching rules;
//! - [`schema`]: attribute syntaxes and object classes;
//! - [`tls`]: a CA and per-listener certificates of each profile (rcgen), rustls configs;
//! - [`server`]: the LDAP server: simulated DC hosts on LDAP, LDAPS, GC and GC-TLS, faults;
//! - [`ldif`]: LDIF export, for inspection and for loading the same data into slapd;
//! - [`reproduce`]: a directory that exists elsewhere as a fixture: `capture` over
//!   LDAP, `import` of LDIF, identities kept;
//! - [`policy`]: AD's query policy (MaxPageSize, MaxQueryDuration, …) as one set;
//! - [`control`]: the control API over HTTP (changes, faults, clock, snapshots, reload,
//!   statistics), with its OpenAPI document;
//! - [`graph`]: the fixture's tenant as Microsoft Graph v1.0 over HTTPS (token endpoint,
//!   users, groups, memberships, paging, delta, faults);
//! - [`serve`]: `fake-dc serve` for programs: the JSON ready line, stopping on stdin's
//!   end or SIGTERM, `--watch`.

pub mod anonymize;
pub mod control;
pub mod directory;
pub mod dn;
pub mod filter;
pub mod fixture;
pub mod google;
pub mod graph;
pub mod ldif;
pub mod order;
pub mod policy;
pub mod reproduce;
pub mod schema;
pub mod serve;
pub mod server;
pub mod shape;
pub mod tls;
