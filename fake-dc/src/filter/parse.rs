//! The RFC 4515 string form of a [`Filter`]: parser, printer, and conversions to and from
//! `ldap3_proto::LdapFilter`.
//!
//! The parser follows RFC 4515 with these deliberate choices:
//!
//! - Empty `(&)` and `(|)` are accepted (RFC 4526 absolute true/false).
//! - Like AD, a filter without outer parentheses (`mail=*`, `&(a=b)(c=d)`) is read as if
//!   it were parenthesised. Tools such as `ldp.exe` and PowerShell's `-LDAPFilter` pass
//!   such filters through, and AD answers them, so sync engines get away with them.
//! - No whitespace is skipped anywhere, as RFC 4515 allows none between filter parts;
//!   spaces inside values are part of the value.
//! - Extensible-match values may contain `=`; ldap3_proto's own parser splits on it and
//!   so cannot read AD's in-chain filters such as `(memberOf:1.2.840.113556.1.4.1941:=CN=…)`.
//! - An empty `any` substring (`(cn=a**b)`) is grammatical but matches trivially, so it is
//!   dropped; a substring filter with nothing left (`(cn=**)`) becomes a presence filter.
//! - AD's ranged-retrieval option `;range=low-high` (high may be `*`) may end an attribute
//!   description. Because `=` is also the equality operator, it is read as part of the
//!   description only when a filter operator follows it: `(member;range=0-1499=x)` tests
//!   attribute `member;range=0-1499`, `(member;range=0-5)` tests `member;range` for `0-5`.
//! - Where `(attr:dn:=v)` could mean either the `:dn` flag or a matching rule named `dn`,
//!   it is the flag.

use std::fmt::{self, Write as _};
use std::str::FromStr;

use ldap3_proto::proto::{LdapFilter, LdapMatchingRuleAssertion, LdapSubstringFilter};

use super::ast::{Extensible, Filter, Substrings};

/// How many levels of parentheses a filter may nest before the parser refuses it.
///
/// The parser recurses once per level; the limit keeps hostile input from exhausting the
/// stack. Real AD filters rarely go past a handful of levels.
pub const MAX_FILTER_DEPTH: usize = 100;

/// A filter string that is not a valid RFC 4515 filter, with where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.kind, .column))]
pub struct FilterParseError {
    offset: usize,
    column: usize,
    kind: FilterParseErrorKind,
}

/// The class of a [`FilterParseError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilterParseErrorKind {
    /// The input is the empty string.
    Empty,
    /// Something other than what the grammar allows here; `found` is `None` at the end of
    /// an unparenthesised filter.
    Expected {
        /// What would have been valid, in words.
        expected: &'static str,
        /// What was there instead.
        found: Option<char>,
    },
    /// A `\` not followed by two hex digits; `text` is the backslash and up to two
    /// characters after it.
    InvalidEscape {
        /// The offending text as written, e.g. `\4g`.
        text: String,
    },
    /// A `(` (the one the error points at) whose `)` never comes.
    UnclosedParen,
    /// A `)` with no `(` to close.
    UnexpectedCloseParen,
    /// More than [`MAX_FILTER_DEPTH`] levels of parentheses; the error points at the first
    /// `(` past the limit.
    TooDeep,
    /// More text after a complete filter.
    TrailingInput {
        /// The first character after the filter.
        found: char,
    },
    /// A character that must be escaped inside a value (`(` or NUL) appears raw.
    UnescapedInValue {
        /// The raw character.
        found: char,
    },
    /// A `*` in the value of an operator other than `=`, where it cannot mean a wildcard.
    StarNotAllowed,
    /// An extensible match with neither an attribute nor a matching rule, e.g. `(:dn:=x)`.
    MissingMatchingRule,
}

impl FilterParseError {
    fn new(input: &str, offset: usize, kind: FilterParseErrorKind) -> Self {
        // Columns count characters, not bytes, so they match what an editor shows for
        // non-ASCII filters; offsets always fall on character boundaries.
        let column = input
            .get(..offset)
            .map_or(offset, |before| before.chars().count())
            + 1;
        Self {
            offset,
            column,
            kind,
        }
    }

    /// Byte offset into the input where the problem is.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// 1-based column (in characters) where the problem is.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What kind of problem it is.
    pub fn kind(&self) -> &FilterParseErrorKind {
        &self.kind
    }
}

fn quoted(c: char) -> String {
    format!("'{}'", c.escape_debug())
}

fn whitespace_hint(c: char) -> &'static str {
    if c.is_whitespace() {
        " (RFC 4515 allows no whitespace between the parts of a filter)"
    } else {
        ""
    }
}

fn render(kind: &FilterParseErrorKind, column: &usize) -> String {
    use FilterParseErrorKind as K;
    match kind {
        K::Empty => "empty filter; write e.g. (objectClass=*)".to_string(),
        K::Expected {
            expected,
            found: Some(c),
        } => format!(
            "expected {expected} at column {column}, found {}{}",
            quoted(*c),
            whitespace_hint(*c)
        ),
        K::Expected {
            expected,
            found: None,
        } => format!("expected {expected} at column {column}, but the filter ends there"),
        K::InvalidEscape { text } => format!(
            "invalid escape '{text}' at column {column}: '\\' must be followed by two hex \
             digits (write a literal backslash as \\5c)"
        ),
        K::UnclosedParen => {
            format!("unbalanced parentheses: the '(' at column {column} is never closed")
        }
        K::UnexpectedCloseParen => {
            format!("unbalanced parentheses: unexpected ')' at column {column}")
        }
        K::TooDeep => {
            format!("filter nested deeper than {MAX_FILTER_DEPTH} levels at column {column}")
        }
        K::TrailingInput { found } => {
            let hint = if *found == '(' {
                " (combine several filters with (&...) or (|...))"
            } else {
                whitespace_hint(*found)
            };
            format!(
                "unexpected {} at column {column} after the end of the filter{hint}",
                quoted(*found)
            )
        }
        K::UnescapedInValue { found } => format!(
            "unescaped {} in a value at column {column}; write it as \\{:02x}",
            quoted(*found),
            u32::from(*found)
        ),
        K::StarNotAllowed => format!(
            "'*' at column {column} is a wildcard only after '='; write a literal '*' as \\2a"
        ),
        K::MissingMatchingRule => format!(
            "the extensible match at column {column} names no attribute, so it needs a \
             matching rule, e.g. (:dn:2.5.13.5:=value)"
        ),
    }
}

impl Filter {
    /// Parses an RFC 4515 filter string; see the [module docs](self) for the leniencies.
    pub fn parse(input: &str) -> Result<Filter, FilterParseError> {
        Parser::new(input).parse()
    }
}

impl FromStr for Filter {
    type Err = FilterParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

/// Whether `rest` begins with a filter operator; only then does a preceding
/// `;range=low-high` belong to the attribute description (see the module docs).
fn starts_operator(rest: &[u8]) -> bool {
    matches!(rest, [b'=' | b':', ..] | [b'~' | b'>' | b'<', b'=', ..])
}

struct Parser<'a> {
    input: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

type PResult<T> = Result<T, FilterParseError>;

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        Self {
            input,
            bytes: input.as_bytes(),
            pos: 0,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    /// The character at `offset`, for error messages; bytes are only reported at
    /// positions the parser reached by whole characters.
    fn char_at(&self, offset: usize) -> Option<char> {
        self.input
            .get(offset..)
            .and_then(|rest| rest.chars().next())
    }

    fn error_at(&self, offset: usize, kind: FilterParseErrorKind) -> FilterParseError {
        FilterParseError::new(self.input, offset, kind)
    }

    fn expected(&self, expected: &'static str) -> FilterParseError {
        self.error_at(
            self.pos,
            FilterParseErrorKind::Expected {
                expected,
                found: self.char_at(self.pos),
            },
        )
    }

    fn expect(&mut self, byte: u8, expected: &'static str) -> PResult<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.expected(expected))
        }
    }

    fn parse(mut self) -> PResult<Filter> {
        let filter = match self.peek() {
            None => return Err(self.error_at(0, FilterParseErrorKind::Empty)),
            Some(b'(') => self.filter()?,
            Some(_) => {
                // The missing outer parentheses still count as a level.
                self.depth = 1;
                self.filtercomp()?
            }
        };
        match self.char_at(self.pos) {
            None => Ok(filter),
            Some(')') => Err(self.error_at(self.pos, FilterParseErrorKind::UnexpectedCloseParen)),
            Some(found) => {
                Err(self.error_at(self.pos, FilterParseErrorKind::TrailingInput { found }))
            }
        }
    }

    /// `filter = "(" filtercomp ")"`, with the cursor on the `(`.
    fn filter(&mut self) -> PResult<Filter> {
        let open = self.pos;
        self.expect(b'(', "'('")?;
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(self.error_at(open, FilterParseErrorKind::TooDeep));
        }
        let result = self
            .filtercomp()
            .and_then(|comp| self.expect(b')', "')'").map(|()| comp));
        self.depth -= 1;
        // Running out of input anywhere inside a parenthesised filter means this '(' (the
        // innermost one still open) lacks its ')', which is the useful thing to report.
        result.map_err(|e| match e.kind {
            FilterParseErrorKind::Expected { found: None, .. } => {
                self.error_at(open, FilterParseErrorKind::UnclosedParen)
            }
            _ => e,
        })
    }

    fn filtercomp(&mut self) -> PResult<Filter> {
        match self.peek() {
            Some(b'&') => {
                self.pos += 1;
                Ok(Filter::And(self.filterlist()?))
            }
            Some(b'|') => {
                self.pos += 1;
                Ok(Filter::Or(self.filterlist()?))
            }
            Some(b'!') => {
                self.pos += 1;
                if self.peek() != Some(b'(') {
                    return Err(self.expected("'(' after '!'"));
                }
                let inner = self.filter()?;
                if !matches!(self.peek(), Some(b')') | None) {
                    return Err(self.expected("')' ('!' negates exactly one filter)"));
                }
                Ok(Filter::Not(Box::new(inner)))
            }
            _ => self.item(),
        }
    }

    /// Zero or more filters (RFC 4526 allows zero); stops before `)` or the end.
    fn filterlist(&mut self) -> PResult<Vec<Filter>> {
        let mut filters = Vec::new();
        loop {
            match self.peek() {
                Some(b'(') => filters.push(self.filter()?),
                Some(b')') | None => return Ok(filters),
                Some(_) => return Err(self.expected("'(' or ')'")),
            }
        }
    }

    fn item(&mut self) -> PResult<Filter> {
        let start = self.pos;
        if self.peek() == Some(b':') {
            return self.extensible(start, None);
        }
        if !self.peek().is_some_and(|b| b.is_ascii_alphanumeric()) {
            return Err(self.expected("'&', '|', '!', ':' or an attribute description"));
        }
        let attr = self.attribute_description()?;
        match (self.peek(), self.peek_at(1)) {
            (Some(b'='), _) => {
                self.pos += 1;
                let mut parts = self.value(true)?;
                if parts.len() == 1 {
                    return Ok(Filter::Equality(attr, parts.pop().unwrap_or_default()));
                }
                Ok(substrings(attr, parts))
            }
            (Some(b'~'), Some(b'=')) => {
                self.pos += 2;
                Ok(Filter::Approx(attr, self.single_value()?))
            }
            (Some(b'>'), Some(b'=')) => {
                self.pos += 2;
                Ok(Filter::GreaterOrEqual(attr, self.single_value()?))
            }
            (Some(b'<'), Some(b'=')) => {
                self.pos += 2;
                Ok(Filter::LessOrEqual(attr, self.single_value()?))
            }
            (Some(b':'), _) => self.extensible(start, Some(attr)),
            (Some(b'~' | b'>' | b'<'), _) => {
                self.pos += 1;
                Err(self.expected("'='"))
            }
            _ => Err(self.expected("'=', '~=', '>=', '<=' or ':'")),
        }
    }

    /// `attributedescription = attributetype *(";" option)`, where the type is a name or
    /// a numeric OID.
    fn attribute_description(&mut self) -> PResult<String> {
        let start = self.pos;
        self.oid("an attribute description")?;
        while self.peek() == Some(b';') {
            self.pos += 1;
            let option_start = self.pos;
            self.keychars();
            if self.pos == option_start {
                return Err(self.expected("an option name after ';'"));
            }
            let option = self.bytes.get(option_start..self.pos).unwrap_or_default();
            if option.eq_ignore_ascii_case(b"range") {
                if let Some(len) = self.range_option_len() {
                    self.pos += len;
                    // A range is always the last option; more after it would make the
                    // `=` ambiguous all over again.
                    break;
                }
            }
        }
        Ok(self.text(start).to_string())
    }

    /// The length of `=low-high` at the cursor if it completes a `;range` option, i.e. if
    /// a filter operator follows it.
    fn range_option_len(&self) -> Option<usize> {
        let rest = self.bytes.get(self.pos..)?;
        let rest = rest.strip_prefix(b"=")?;
        let digits = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_digit()).count();
        let low = digits(rest);
        if low == 0 {
            return None;
        }
        let rest = rest.get(low..)?.strip_prefix(b"-")?;
        let high = match rest.first() {
            Some(b'*') => 1,
            _ => digits(rest),
        };
        if high == 0 {
            return None;
        }
        let rest = rest.get(high..)?;
        starts_operator(rest).then_some(1 + low + 1 + high)
    }

    /// `oid = descr / numericoid`, used for attribute types and matching rules.
    fn oid(&mut self, what: &'static str) -> PResult<()> {
        match self.peek() {
            Some(b) if b.is_ascii_alphabetic() => {
                self.keychars();
                Ok(())
            }
            Some(b) if b.is_ascii_digit() => {
                self.digits();
                if self.peek() != Some(b'.') {
                    return Err(self.expected("'.' (a numeric OID has at least two parts)"));
                }
                while self.peek() == Some(b'.') {
                    self.pos += 1;
                    if self.digits() == 0 {
                        return Err(self.expected("a digit after '.' in a numeric OID"));
                    }
                }
                Ok(())
            }
            _ => Err(self.expected(what)),
        }
    }

    fn keychars(&mut self) {
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            self.pos += 1;
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn text(&self, start: usize) -> &'a str {
        self.input.get(start..self.pos).unwrap_or_default()
    }

    /// `[":dn"] [":" rule] ":=" value`, with the cursor on the first `:`.
    fn extensible(&mut self, start: usize, attr: Option<String>) -> PResult<Filter> {
        self.expect(b':', "':'")?;
        let mut dn_attributes = false;
        let mut rule = None;
        if self.peek() != Some(b'=') {
            let token_start = self.pos;
            self.oid("'dn', a matching rule or '='")?;
            let token = self.text(token_start);
            self.expect(b':', "':' after the matching rule")?;
            if token.eq_ignore_ascii_case("dn") {
                dn_attributes = true;
                if self.peek() != Some(b'=') {
                    let rule_start = self.pos;
                    self.oid("a matching rule or '='")?;
                    rule = Some(self.text(rule_start).to_string());
                    self.expect(b':', "':' after the matching rule")?;
                }
            } else {
                rule = Some(token.to_string());
            }
        }
        self.expect(b'=', "'=' (an extensible match ends in ':=')")?;
        if attr.is_none() && rule.is_none() {
            return Err(self.error_at(start, FilterParseErrorKind::MissingMatchingRule));
        }
        Ok(Filter::Extensible(Extensible {
            rule,
            attr,
            value: self.single_value()?,
            dn_attributes,
        }))
    }

    fn single_value(&mut self) -> PResult<Vec<u8>> {
        let mut parts = self.value(false)?;
        Ok(parts.pop().unwrap_or_default())
    }

    /// Reads an assertion value up to `)` or the end, decoding escapes. With `wildcards`,
    /// unescaped `*` split it into parts; otherwise there is exactly one part.
    fn value(&mut self, wildcards: bool) -> PResult<Vec<Vec<u8>>> {
        let mut parts = Vec::new();
        let mut current = Vec::new();
        loop {
            match self.peek() {
                None | Some(b')') => break,
                Some(b'*') if wildcards => {
                    parts.push(std::mem::take(&mut current));
                    self.pos += 1;
                }
                Some(b'*') => {
                    return Err(self.error_at(self.pos, FilterParseErrorKind::StarNotAllowed))
                }
                Some(b @ (b'(' | b'\0')) => {
                    return Err(self.error_at(
                        self.pos,
                        FilterParseErrorKind::UnescapedInValue {
                            found: char::from(b),
                        },
                    ))
                }
                Some(b'\\') => {
                    current.push(self.escape()?);
                }
                Some(b) => {
                    current.push(b);
                    self.pos += 1;
                }
            }
        }
        parts.push(current);
        Ok(parts)
    }

    /// Decodes `\XX` at the cursor.
    fn escape(&mut self) -> PResult<u8> {
        let hex = |b: Option<u8>| b.and_then(|b| char::from(b).to_digit(16));
        match (hex(self.peek_at(1)), hex(self.peek_at(2))) {
            (Some(hi), Some(lo)) => {
                self.pos += 3;
                // Two hex digits are at most 0xff.
                Ok(u8::try_from(hi * 16 + lo).unwrap_or(u8::MAX))
            }
            _ => {
                let text: String = self
                    .input
                    .get(self.pos..)
                    .unwrap_or_default()
                    .chars()
                    .take(3)
                    .collect();
                Err(self.error_at(self.pos, FilterParseErrorKind::InvalidEscape { text }))
            }
        }
    }
}

/// Builds a substring filter from the `*`-separated parts of a value (at least two).
fn substrings(attr: String, mut parts: Vec<Vec<u8>>) -> Filter {
    let non_empty = |v: Vec<u8>| (!v.is_empty()).then_some(v);
    let final_ = parts.pop().and_then(non_empty);
    let mut rest = parts.into_iter();
    let initial = rest.next().and_then(non_empty);
    let any: Vec<Vec<u8>> = rest.filter(|v| !v.is_empty()).collect();
    if initial.is_none() && any.is_empty() && final_.is_none() {
        return Filter::Present(attr);
    }
    Filter::Substrings(
        attr,
        Substrings {
            initial,
            any,
            final_,
        },
    )
}

/// Whether values after this attribute must hide `=` and `:` so that printing
/// `(member;range=0-5=x)` cannot be re-read as a `;range=0-5` option.
fn is_bare_range(attr: &str) -> bool {
    attr.rsplit_once(';')
        .is_some_and(|(_, option)| option.eq_ignore_ascii_case("range"))
}

fn write_value(f: &mut fmt::Formatter<'_>, value: &[u8], hide_operators: bool) -> fmt::Result {
    for chunk in value.utf8_chunks() {
        for c in chunk.valid().chars() {
            let escape = matches!(c, '*' | '(' | ')' | '\\')
                // Control characters are legal raw but invisible in logs and terminals.
                || c.is_ascii_control()
                || (hide_operators && matches!(c, '=' | ':'));
            if escape {
                write!(f, "\\{:02x}", u32::from(c))?;
            } else {
                f.write_char(c)?;
            }
        }
        for b in chunk.invalid() {
            write!(f, "\\{b:02x}")?;
        }
    }
    Ok(())
}

/// RFC 4515 form, which [`Filter::parse`] reads back to an equal filter.
///
/// Values escape `*`, `(`, `)`, `\`, ASCII control characters (NUL included) and bytes
/// that are not valid UTF-8 as `\xx`; other UTF-8 stays raw. Only filters the parser can
/// produce survive the round trip: an empty substring part, a substring filter with no
/// parts (printed as presence), an extensible match with neither attribute nor rule, a
/// rule named `dn` without the `:dn` flag, or an invalid attribute name print as text
/// that parses differently or not at all.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::And(filters) | Filter::Or(filters) => {
                f.write_str(if matches!(self, Filter::And(_)) {
                    "(&"
                } else {
                    "(|"
                })?;
                for filter in filters {
                    write!(f, "{filter}")?;
                }
                f.write_str(")")
            }
            Filter::Not(inner) => write!(f, "(!{inner})"),
            Filter::Equality(attr, value) => {
                write!(f, "({attr}=")?;
                write_value(f, value, is_bare_range(attr))?;
                f.write_str(")")
            }
            Filter::Substrings(attr, s) => {
                let hide = is_bare_range(attr);
                write!(f, "({attr}=")?;
                if let Some(initial) = &s.initial {
                    write_value(f, initial, hide)?;
                }
                f.write_str("*")?;
                for any in &s.any {
                    write_value(f, any, hide)?;
                    f.write_str("*")?;
                }
                if let Some(final_) = &s.final_ {
                    write_value(f, final_, hide)?;
                }
                f.write_str(")")
            }
            Filter::GreaterOrEqual(attr, value) => {
                write!(f, "({attr}>=")?;
                write_value(f, value, false)?;
                f.write_str(")")
            }
            Filter::LessOrEqual(attr, value) => {
                write!(f, "({attr}<=")?;
                write_value(f, value, false)?;
                f.write_str(")")
            }
            Filter::Present(attr) => write!(f, "({attr}=*)"),
            Filter::Approx(attr, value) => {
                write!(f, "({attr}~=")?;
                write_value(f, value, false)?;
                f.write_str(")")
            }
            Filter::Extensible(e) => {
                f.write_str("(")?;
                if let Some(attr) = &e.attr {
                    f.write_str(attr)?;
                }
                if e.dn_attributes {
                    f.write_str(":dn")?;
                }
                if let Some(rule) = &e.rule {
                    write!(f, ":{rule}")?;
                }
                f.write_str(":=")?;
                write_value(f, &e.value, false)?;
                f.write_str(")")
            }
        }
    }
}

impl From<&LdapFilter> for Filter {
    fn from(filter: &LdapFilter) -> Self {
        let bytes = |s: &String| s.as_bytes().to_vec();
        match filter {
            LdapFilter::And(filters) => Filter::And(filters.iter().map(Filter::from).collect()),
            LdapFilter::Or(filters) => Filter::Or(filters.iter().map(Filter::from).collect()),
            LdapFilter::Not(inner) => Filter::Not(Box::new(Filter::from(inner.as_ref()))),
            LdapFilter::Equality(attr, value) => Filter::Equality(attr.clone(), bytes(value)),
            LdapFilter::Substring(attr, s) => Filter::Substrings(
                attr.clone(),
                Substrings {
                    initial: s.initial.as_ref().map(bytes),
                    any: s.any.iter().map(bytes).collect(),
                    final_: s.final_.as_ref().map(bytes),
                },
            ),
            LdapFilter::GreaterOrEqual(attr, value) => {
                Filter::GreaterOrEqual(attr.clone(), bytes(value))
            }
            LdapFilter::LessOrEqual(attr, value) => Filter::LessOrEqual(attr.clone(), bytes(value)),
            LdapFilter::Present(attr) => Filter::Present(attr.clone()),
            LdapFilter::Approx(attr, value) => Filter::Approx(attr.clone(), bytes(value)),
            LdapFilter::Extensible(m) => Filter::Extensible(Extensible {
                rule: m.matching_rule.clone(),
                attr: m.type_.clone(),
                value: bytes(&m.match_value),
                dn_attributes: m.dn_attributes,
            }),
        }
    }
}

/// A [`Filter`] holds a value that is not UTF-8, which `ldap3_proto::LdapFilter` (String
/// values) cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the filter value for {} is not UTF-8, which ldap3_proto's LdapFilter cannot hold",
    .attribute.as_deref().map_or_else(|| "an extensible match".to_string(), |a| format!("'{a}'"))
)]
pub struct NonUtf8FilterValue {
    /// The attribute whose value is binary; `None` for an extensible match without one.
    pub attribute: Option<String>,
}

impl TryFrom<&Filter> for LdapFilter {
    type Error = NonUtf8FilterValue;

    fn try_from(filter: &Filter) -> Result<Self, Self::Error> {
        let text = |attr: Option<&String>, value: &[u8]| {
            String::from_utf8(value.to_vec()).map_err(|_| NonUtf8FilterValue {
                attribute: attr.cloned(),
            })
        };
        let list = |filters: &[Filter]| {
            filters
                .iter()
                .map(LdapFilter::try_from)
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(match filter {
            Filter::And(filters) => LdapFilter::And(list(filters)?),
            Filter::Or(filters) => LdapFilter::Or(list(filters)?),
            Filter::Not(inner) => LdapFilter::Not(Box::new(LdapFilter::try_from(inner.as_ref())?)),
            Filter::Equality(attr, value) => {
                LdapFilter::Equality(attr.clone(), text(Some(attr), value)?)
            }
            Filter::Substrings(attr, s) => {
                let part = |v: &Vec<u8>| text(Some(attr), v);
                LdapFilter::Substring(
                    attr.clone(),
                    LdapSubstringFilter {
                        initial: s.initial.as_ref().map(part).transpose()?,
                        any: s.any.iter().map(part).collect::<Result<_, _>>()?,
                        final_: s.final_.as_ref().map(part).transpose()?,
                    },
                )
            }
            Filter::GreaterOrEqual(attr, value) => {
                LdapFilter::GreaterOrEqual(attr.clone(), text(Some(attr), value)?)
            }
            Filter::LessOrEqual(attr, value) => {
                LdapFilter::LessOrEqual(attr.clone(), text(Some(attr), value)?)
            }
            Filter::Present(attr) => LdapFilter::Present(attr.clone()),
            Filter::Approx(attr, value) => {
                LdapFilter::Approx(attr.clone(), text(Some(attr), value)?)
            }
            Filter::Extensible(e) => LdapFilter::Extensible(LdapMatchingRuleAssertion {
                matching_rule: e.rule.clone(),
                type_: e.attr.clone(),
                match_value: text(e.attr.as_ref(), &e.value)?,
                dn_attributes: e.dn_attributes,
            }),
        })
    }
}
