//! The filter AST.

/// An LDAP search filter (RFC 4511 §4.5.1.7) whose assertion values are raw bytes.
///
/// Attribute descriptions are kept as written; matching is case-insensitive on them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Filter {
    /// `(&f1 f2 …)`; an empty AND is TRUE (RFC 4526).
    And(Vec<Filter>),
    /// `(|f1 f2 …)`; an empty OR is FALSE (RFC 4526).
    Or(Vec<Filter>),
    /// `(!f)`
    Not(Box<Filter>),
    /// `(attr=value)`
    Equality(String, Vec<u8>),
    /// `(attr=ini*any*fin)`
    Substrings(String, Substrings),
    /// `(attr>=value)`
    GreaterOrEqual(String, Vec<u8>),
    /// `(attr<=value)`
    LessOrEqual(String, Vec<u8>),
    /// `(attr=*)`
    Present(String),
    /// `(attr~=value)`; AD evaluates it as equality (MS-ADTS 3.1.1.3.1.3.1).
    Approx(String, Vec<u8>),
    /// `(attr:dn:rule:=value)` and its shorter forms.
    Extensible(Extensible),
}

/// The parts of a substring assertion; at least one is present.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Substrings {
    pub initial: Option<Vec<u8>>,
    pub any: Vec<Vec<u8>>,
    pub final_: Option<Vec<u8>>,
}

/// An extensible match (RFC 4511 MatchingRuleAssertion).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Extensible {
    /// The matching rule OID or name, e.g. `1.2.840.113556.1.4.803`.
    pub rule: Option<String>,
    /// The attribute description; absent means "any attribute the rule applies to".
    pub attr: Option<String>,
    pub value: Vec<u8>,
    /// The `:dn` flag: also match against the attributes of the entry's DN.
    pub dn_attributes: bool,
}
