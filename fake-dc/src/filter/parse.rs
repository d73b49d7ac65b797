//! The RFC 4515 string form of a [`Filter`]: parser, printer, and conversions to and from
//! `ldap3_proto::LdapFilter`.
//!
//! The accepted dialect (RFC 4515 plus a few leniencies) is documented on
//! [`Filter::parse`].

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
    /// Parses an RFC 4515 filter string.
    ///
    /// It follows RFC 4515 with these deliberate choices:
    ///
    /// - Empty `(&)` and `(|)` are accepted (RFC 4526 absolute true/false).
    /// - As AD does, a filter without outer parentheses (`mail=*`, `&(a=b)(c=d)`) is read
    ///   as if it were parenthesised; sync engines configured against AD come to rely on it.
    /// - No whitespace is skipped anywhere, as RFC 4515 allows none between filter parts;
    ///   spaces inside values are part of the value.
    /// - Extensible-match values may contain `=`; ldap3_proto's own parser splits on it and
    ///   so cannot read AD's in-chain filters such as
    ///   `(memberOf:1.2.840.113556.1.4.1941:=CN=…)`.
    /// - An empty `any` substring (`(cn=a**b)`) is grammatical but matches trivially, so it is
    ///   dropped; a substring filter with nothing left (`(cn=**)`) becomes a presence filter.
    /// - AD's ranged-retrieval option `;range=low-high` (high may be `*`) may end an attribute
    ///   description. Because `=` is also the equality operator, it is read as part of the
    ///   description only when a filter operator follows it: `(member;range=0-1499=x)` tests
    ///   attribute `member;range=0-1499`, `(member;range=0-5)` tests `member;range` for `0-5`.
    /// - Where `(attr:dn:=v)` could mean either the `:dn` flag or a matching rule named `dn`,
    ///   it is the flag.
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
/// `;range=low-high` belong to the attribute description (see [`Filter::parse`]).
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn eq(attr: &str, value: &[u8]) -> Filter {
        Filter::Equality(attr.to_string(), value.to_vec())
    }

    fn sub(attr: &str, initial: Option<&[u8]>, any: &[&[u8]], final_: Option<&[u8]>) -> Filter {
        Filter::Substrings(
            attr.to_string(),
            Substrings {
                initial: initial.map(<[u8]>::to_vec),
                any: any.iter().map(|a| a.to_vec()).collect(),
                final_: final_.map(<[u8]>::to_vec),
            },
        )
    }

    fn ext(attr: Option<&str>, dn: bool, rule: Option<&str>, value: &[u8]) -> Filter {
        Filter::Extensible(Extensible {
            rule: rule.map(str::to_string),
            attr: attr.map(str::to_string),
            value: value.to_vec(),
            dn_attributes: dn,
        })
    }

    fn present(attr: &str) -> Filter {
        Filter::Present(attr.to_string())
    }

    /// Parses `input`, compares with `expected`, and checks that printing the result
    /// parses back to the same filter.
    #[track_caller]
    fn check(input: &str, expected: Filter) {
        let parsed = Filter::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(parsed, expected, "parsing {input}");
        let printed = parsed.to_string();
        assert_eq!(Filter::parse(&printed), Ok(parsed), "reparsing {printed}");
    }

    #[track_caller]
    fn check_error(input: &str, kind: FilterParseErrorKind, column: usize, message: &str) {
        let err = Filter::parse(input).expect_err(input);
        assert_eq!(err.kind(), &kind, "{input}: {err}");
        assert_eq!(err.column(), column, "{input}: {err}");
        assert_eq!(err.to_string(), message, "{input}");
    }

    #[test]
    fn simple_items() {
        let table = [
            ("(cn=John)", eq("cn", b"John")),
            ("(cn=)", eq("cn", b"")),
            ("(cn=a b)", eq("cn", b"a b")),
            ("(cn=a=b)", eq("cn", b"a=b")),
            ("(cn=*)", present("cn")),
            (
                "(uSNChanged>=1000)",
                Filter::GreaterOrEqual("uSNChanged".into(), b"1000".to_vec()),
            ),
            (
                "(uSNChanged<=5)",
                Filter::LessOrEqual("uSNChanged".into(), b"5".to_vec()),
            ),
            ("(cn~=jon)", Filter::Approx("cn".into(), b"jon".to_vec())),
            ("(2.5.4.3=x)", eq("2.5.4.3", b"x")),
            ("(cn;lang-en=x)", eq("cn;lang-en", b"x")),
            (
                "(msDS-User-Account-Control-Computed=16)",
                eq("msDS-User-Account-Control-Computed", b"16"),
            ),
            ("(objectCategory=person)", eq("objectCategory", b"person")),
        ];
        for (input, expected) in table {
            check(input, expected);
        }
    }

    #[test]
    fn substrings_place_stars() {
        let table = [
            ("(cn=Jo*)", sub("cn", Some(b"Jo"), &[], None)),
            ("(cn=*hn)", sub("cn", None, &[], Some(b"hn"))),
            ("(cn=*o*)", sub("cn", None, &[b"o"], None)),
            (
                "(cn=J*o*h*n)",
                sub("cn", Some(b"J"), &[b"o", b"h"], Some(b"n")),
            ),
            ("(cn=a**b)", sub("cn", Some(b"a"), &[], Some(b"b"))),
            ("(cn=**)", present("cn")),
            ("(cn=\\2a*)", sub("cn", Some(b"*"), &[], None)),
        ];
        for (input, expected) in table {
            check(input, expected);
        }
    }

    #[test]
    fn composites() {
        let table = [
            ("(&)", Filter::And(vec![])),
            ("(|)", Filter::Or(vec![])),
            ("(!(a=b))", Filter::Not(Box::new(eq("a", b"b")))),
            ("(|(a=b))", Filter::Or(vec![eq("a", b"b")])),
            (
                "(&(objectClass=user)(!(cn=x*))(|(a=1)(b=*)))",
                Filter::And(vec![
                    eq("objectClass", b"user"),
                    Filter::Not(Box::new(sub("cn", Some(b"x"), &[], None))),
                    Filter::Or(vec![eq("a", b"1"), present("b")]),
                ]),
            ),
        ];
        for (input, expected) in table {
            check(input, expected);
        }
    }

    #[test]
    fn extensible_forms() {
        let table = [
            ("(cn:=x)", ext(Some("cn"), false, None, b"x")),
            ("(cn:dn:=x)", ext(Some("cn"), true, None, b"x")),
            ("(cn:DN:=x)", ext(Some("cn"), true, None, b"x")),
            (
                "(cn:2.5.13.5:=x)",
                ext(Some("cn"), false, Some("2.5.13.5"), b"x"),
            ),
            (
                "(cn:dn:caseExactMatch:=x)",
                ext(Some("cn"), true, Some("caseExactMatch"), b"x"),
            ),
            ("(:2.5.13.5:=x)", ext(None, false, Some("2.5.13.5"), b"x")),
            ("(:dn:2.5.13.5:=x)", ext(None, true, Some("2.5.13.5"), b"x")),
            ("(cn:dn:dn:=x)", ext(Some("cn"), true, Some("dn"), b"x")),
            ("(cn;lang-en:=)", ext(Some("cn;lang-en"), false, None, b"")),
            (
                "(o:dn:=Ace Industry)",
                ext(Some("o"), true, None, b"Ace Industry"),
            ),
        ];
        for (input, expected) in table {
            check(input, expected);
        }
    }

    #[test]
    fn ad_examples() {
        let table = [
            (
                "(userAccountControl:1.2.840.113556.1.4.803:=2)",
                ext(Some("userAccountControl"), false, Some("1.2.840.113556.1.4.803"), b"2"),
            ),
            (
                "(groupType:1.2.840.113556.1.4.804:=2147483648)",
                ext(Some("groupType"), false, Some("1.2.840.113556.1.4.804"), b"2147483648"),
            ),
            (
                "(memberOf:1.2.840.113556.1.4.1941:=CN=Staff,OU=Groups,DC=corp,DC=example,DC=test)",
                ext(
                    Some("memberOf"),
                    false,
                    Some("1.2.840.113556.1.4.1941"),
                    b"CN=Staff,OU=Groups,DC=corp,DC=example,DC=test",
                ),
            ),
            (
                "(objectGUID=\\d2\\8d\\00\\ff\\A0\\7f)",
                eq("objectGUID", &[0xd2, 0x8d, 0x00, 0xff, 0xa0, 0x7f]),
            ),
            ("(cn=\\2a)", eq("cn", b"*")),
            ("(cn=\\28\\29)", eq("cn", b"()")),
            ("(cn=a\\5cb)", eq("cn", b"a\\b")),
            ("(cn=Zoë Ünal)", eq("cn", "Zoë Ünal".as_bytes())),
            ("(cn=Zo\\c3\\ab)", eq("cn", "Zoë".as_bytes())),
            ("(member;range=0-1499=x)", eq("member;range=0-1499", b"x")),
            ("(member;range=0-*=*)", present("member;range=0-*")),
            ("(member;Range=10-20>=x)", Filter::GreaterOrEqual("member;Range=10-20".into(), b"x".to_vec())),
            ("(member;range=0-5:=x)", ext(Some("member;range=0-5"), false, None, b"x")),
            ("(member;range=0-5)", eq("member;range", b"0-5")),
            ("(member;range=0-*)", sub("member;range", Some(b"0-"), &[], None)),
            ("(member;range=0-5~x)", eq("member;range", b"0-5~x")),
            (
                "(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))",
                Filter::And(vec![
                    eq("objectCategory", b"person"),
                    eq("objectClass", b"user"),
                    Filter::Not(Box::new(ext(
                        Some("userAccountControl"),
                        false,
                        Some("1.2.840.113556.1.4.803"),
                        b"2",
                    ))),
                ]),
            ),
        ];
        for (input, expected) in table {
            check(input, expected);
        }
    }

    #[test]
    fn missing_outer_parentheses_are_tolerated() {
        let table = [
            ("mail=*", present("mail")),
            ("cn=x", eq("cn", b"x")),
            ("cn=", eq("cn", b"")),
            (
                "&(a=b)(c=d)",
                Filter::And(vec![eq("a", b"b"), eq("c", b"d")]),
            ),
            ("!(a=b)", Filter::Not(Box::new(eq("a", b"b")))),
            (
                "memberOf:1.2.840.113556.1.4.1941:=CN=G,DC=x",
                ext(
                    Some("memberOf"),
                    false,
                    Some("1.2.840.113556.1.4.1941"),
                    b"CN=G,DC=x",
                ),
            ),
        ];
        for (input, expected) in table {
            check(input, expected);
        }
    }

    #[test]
    fn nesting_up_to_the_limit_parses() {
        let depth = MAX_FILTER_DEPTH;
        let input = format!("{}(a=b){}", "(!".repeat(depth - 1), ")".repeat(depth - 1));
        let mut expected = eq("a", b"b");
        for _ in 1..depth {
            expected = Filter::Not(Box::new(expected));
        }
        check(&input, expected);
    }

    #[test]
    fn printing_escapes_what_must_be_escaped() {
        let table = [
            (
                eq("cn", b"a*b(c)d\\e\0f"),
                "(cn=a\\2ab\\28c\\29d\\5ce\\00f)",
            ),
            // 0xd2 0x8d alone would be valid UTF-8 (U+048D) and print raw; real GUIDs can.
            (
                eq("objectGUID", &[0xd2, b'A', 0x8d, 0xff]),
                "(objectGUID=\\d2A\\8d\\ff)",
            ),
            (eq("cn", "Zoë\n".as_bytes()), "(cn=Zoë\\0a)"),
            (
                eq("member;range", b"0-5=x:y"),
                "(member;range=0-5\\3dx\\3ay)",
            ),
            (eq("member;range=0-5", b"0-5=x"), "(member;range=0-5=0-5=x)"),
            (sub("cn", Some(b"a"), &[b"b"], Some(b"c")), "(cn=a*b*c)"),
            (ext(None, true, Some("1.2.3"), b"CN=x"), "(:dn:1.2.3:=CN=x)"),
            (Filter::And(vec![Filter::Or(vec![])]), "(&(|))"),
        ];
        for (filter, printed) in table {
            assert_eq!(filter.to_string(), printed);
            assert_eq!(Filter::parse(printed), Ok(filter));
        }
    }

    #[test]
    fn error_empty() {
        check_error(
            "",
            FilterParseErrorKind::Empty,
            1,
            "empty filter; write e.g. (objectClass=*)",
        );
    }

    #[test]
    fn error_expected() {
        use FilterParseErrorKind::Expected;
        let table = [
            (
                "(!(a=b)(c=d))",
                "')' ('!' negates exactly one filter)",
                Some('('),
                8,
            ),
            ("(cn x)", "'=', '~=', '>=', '<=' or ':'", Some(' '), 4),
            (
                "((a=b))",
                "'&', '|', '!', ':' or an attribute description",
                Some('('),
                2,
            ),
            (
                "( cn=x)",
                "'&', '|', '!', ':' or an attribute description",
                Some(' '),
                2,
            ),
            ("(&(a=b)x)", "'(' or ')'", Some('x'), 8),
            ("(!x)", "'(' after '!'", Some('x'), 3),
            ("(cn>x)", "'='", Some('x'), 5),
            (
                "(1..2=x)",
                "a digit after '.' in a numeric OID",
                Some('.'),
                4,
            ),
            (
                "(12=x)",
                "'.' (a numeric OID has at least two parts)",
                Some('='),
                4,
            ),
            ("(cn;=x)", "an option name after ';'", Some('='), 5),
            ("(cn:1.2.3=x)", "':' after the matching rule", Some('='), 10),
            (
                "(cn:1.2:dn:=x)",
                "'=' (an extensible match ends in ':=')",
                Some('d'),
                9,
            ),
            ("(cn:-x:=y)", "'dn', a matching rule or '='", Some('-'), 5),
            ("(Zoë=x)", "'=', '~=', '>=', '<=' or ':'", Some('ë'), 4),
            ("mail", "'=', '~=', '>=', '<=' or ':'", None, 5),
        ];
        for (input, expected, found, column) in table {
            let err = Filter::parse(input).expect_err(input);
            assert_eq!(err.kind(), &Expected { expected, found }, "{input}: {err}");
            assert_eq!(err.column(), column, "{input}: {err}");
        }
        check_error(
            "(!(a=b)(c=d))",
            Expected {
                expected: "')' ('!' negates exactly one filter)",
                found: Some('('),
            },
            8,
            "expected ')' ('!' negates exactly one filter) at column 8, found '('",
        );
        check_error(
            "( cn=x)",
            Expected {
                expected: "'&', '|', '!', ':' or an attribute description",
                found: Some(' '),
            },
            2,
            "expected '&', '|', '!', ':' or an attribute description at column 2, found ' ' \
             (RFC 4515 allows no whitespace between the parts of a filter)",
        );
        check_error(
            "mail",
            Expected {
                expected: "'=', '~=', '>=', '<=' or ':'",
                found: None,
            },
            5,
            "expected '=', '~=', '>=', '<=' or ':' at column 5, but the filter ends there",
        );
    }

    #[test]
    fn error_invalid_escape() {
        check_error(
            "(cn=abcd\\4g)",
            FilterParseErrorKind::InvalidEscape {
                text: "\\4g".into(),
            },
            9,
            "invalid escape '\\4g' at column 9: '\\' must be followed by two hex digits \
             (write a literal backslash as \\5c)",
        );
        // Columns count characters: 'ë' is two bytes but one column.
        let err = Filter::parse("(cn=Zoë\\zz)").expect_err("bad escape");
        assert_eq!((err.offset(), err.column()), (8, 8));
        assert_eq!(
            err.kind(),
            &FilterParseErrorKind::InvalidEscape {
                text: "\\zz".into()
            }
        );
        let err = Filter::parse("(cn=x\\").expect_err("escape at the end");
        assert_eq!(
            err.kind(),
            &FilterParseErrorKind::InvalidEscape { text: "\\".into() }
        );
        assert_eq!(err.column(), 6);
        let err = Filter::parse("(cn=x\\aë)").expect_err("escape into non-ASCII");
        assert_eq!(
            err.kind(),
            &FilterParseErrorKind::InvalidEscape {
                text: "\\aë".into()
            }
        );
    }

    #[test]
    fn error_unclosed_paren() {
        let message = "unbalanced parentheses: the '(' at column 1 is never closed";
        check_error("(&(cn=x)", FilterParseErrorKind::UnclosedParen, 1, message);
        check_error("(cn=x", FilterParseErrorKind::UnclosedParen, 1, message);
        check_error("(", FilterParseErrorKind::UnclosedParen, 1, message);
        check_error(
            "(&(cn=x",
            FilterParseErrorKind::UnclosedParen,
            3,
            &message.replace('1', "3"),
        );
        check_error(
            "&(a=b)(cn:dn",
            FilterParseErrorKind::UnclosedParen,
            7,
            &message.replace('1', "7"),
        );
    }

    #[test]
    fn error_unexpected_close_paren() {
        check_error(
            "(cn=x))",
            FilterParseErrorKind::UnexpectedCloseParen,
            7,
            "unbalanced parentheses: unexpected ')' at column 7",
        );
        check_error(
            "cn=x)",
            FilterParseErrorKind::UnexpectedCloseParen,
            5,
            "unbalanced parentheses: unexpected ')' at column 5",
        );
    }

    #[test]
    fn error_too_deep() {
        let depth = MAX_FILTER_DEPTH + 1;
        let input = format!("{}(a=b){}", "(!".repeat(depth - 1), ")".repeat(depth - 1));
        check_error(
            &input,
            FilterParseErrorKind::TooDeep,
            2 * MAX_FILTER_DEPTH + 1,
            "filter nested deeper than 100 levels at column 201",
        );
        // Far past the limit must still be an error, not a stack overflow.
        let err = Filter::parse(&"(&".repeat(1_000_000)).expect_err("deep");
        assert_eq!(err.kind(), &FilterParseErrorKind::TooDeep);
        // Without outer parentheses the implicit level still counts.
        let input = format!(
            "!{}(a=b){}",
            "(!".repeat(MAX_FILTER_DEPTH - 1),
            ")".repeat(99)
        );
        let err = Filter::parse(&input).expect_err("implicit level");
        assert_eq!(err.kind(), &FilterParseErrorKind::TooDeep);
    }

    #[test]
    fn error_trailing_input() {
        check_error(
            "(cn=x)(sn=y)",
            FilterParseErrorKind::TrailingInput { found: '(' },
            7,
            "unexpected '(' at column 7 after the end of the filter \
             (combine several filters with (&...) or (|...))",
        );
        check_error(
            "(cn=x)\n",
            FilterParseErrorKind::TrailingInput { found: '\n' },
            7,
            "unexpected '\\n' at column 7 after the end of the filter \
             (RFC 4515 allows no whitespace between the parts of a filter)",
        );
    }

    #[test]
    fn error_unescaped_in_value() {
        check_error(
            "(cn=a(b))",
            FilterParseErrorKind::UnescapedInValue { found: '(' },
            6,
            "unescaped '(' in a value at column 6; write it as \\28",
        );
        check_error(
            "(cn=a\0)",
            FilterParseErrorKind::UnescapedInValue { found: '\0' },
            6,
            "unescaped '\\0' in a value at column 6; write it as \\00",
        );
    }

    #[test]
    fn error_star_not_allowed() {
        let message = "'*' at column 7 is a wildcard only after '='; write a literal '*' as \\2a";
        check_error("(cn>=a*)", FilterParseErrorKind::StarNotAllowed, 7, message);
        check_error(
            "(cn:=ab*)",
            FilterParseErrorKind::StarNotAllowed,
            8,
            &message.replace('7', "8"),
        );
    }

    #[test]
    fn error_missing_matching_rule() {
        let message = "the extensible match at column 2 names no attribute, so it needs a \
                       matching rule, e.g. (:dn:2.5.13.5:=value)";
        check_error(
            "(:dn:=x)",
            FilterParseErrorKind::MissingMatchingRule,
            2,
            message,
        );
        check_error(
            "(:=x)",
            FilterParseErrorKind::MissingMatchingRule,
            2,
            message,
        );
    }

    #[test]
    fn from_ldap3_proto() {
        let ldap = LdapFilter::And(vec![
            LdapFilter::Equality("cn".into(), "Zoë".into()),
            LdapFilter::Substring(
                "sn".into(),
                LdapSubstringFilter {
                    initial: Some("a".into()),
                    any: vec!["b".into()],
                    final_: None,
                },
            ),
            LdapFilter::Not(Box::new(LdapFilter::Present("mail".into()))),
            LdapFilter::Or(vec![
                LdapFilter::GreaterOrEqual("u".into(), "1".into()),
                LdapFilter::LessOrEqual("u".into(), "9".into()),
                LdapFilter::Approx("cn".into(), "jon".into()),
            ]),
            LdapFilter::Extensible(LdapMatchingRuleAssertion {
                matching_rule: Some("1.2.840.113556.1.4.1941".into()),
                type_: Some("memberOf".into()),
                match_value: "CN=G,DC=x".into(),
                dn_attributes: false,
            }),
        ]);
        let expected = Filter::And(vec![
            eq("cn", "Zoë".as_bytes()),
            sub("sn", Some(b"a"), &[b"b"], None),
            Filter::Not(Box::new(present("mail"))),
            Filter::Or(vec![
                Filter::GreaterOrEqual("u".into(), b"1".to_vec()),
                Filter::LessOrEqual("u".into(), b"9".to_vec()),
                Filter::Approx("cn".into(), b"jon".to_vec()),
            ]),
            ext(
                Some("memberOf"),
                false,
                Some("1.2.840.113556.1.4.1941"),
                b"CN=G,DC=x",
            ),
        ]);
        assert_eq!(Filter::from(&ldap), expected);
        assert_eq!(LdapFilter::try_from(&expected), Ok(ldap));
    }

    #[test]
    fn to_ldap3_proto_refuses_binary_values() {
        let filter = Filter::Or(vec![eq("cn", b"x"), eq("objectGUID", &[0xd2, 0x00, 0x8d])]);
        let err = LdapFilter::try_from(&filter).expect_err("binary value");
        assert_eq!(err.attribute.as_deref(), Some("objectGUID"));
        assert_eq!(
            err.to_string(),
            "the filter value for 'objectGUID' is not UTF-8, which ldap3_proto's LdapFilter \
             cannot hold"
        );
        let err =
            LdapFilter::try_from(&ext(None, false, Some("1.2"), &[0xff])).expect_err("binary");
        assert_eq!(err.attribute, None);
    }

    fn attribute() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "cn",
            "objectClass",
            "CN",
            "x-Attr-1",
            "2.5.4.3",
            "1.2.840.113556.1.4.8",
            "cn;lang-en",
            "cn;binary;lang-en",
            "member;range",
            "member;range=0-1499",
            "member;RANGE=1500-*",
        ])
        .prop_map(str::to_string)
    }

    fn rule() -> impl Strategy<Value = String> {
        // Not "dn": where a rule of that name is ambiguous the parser reads the flag.
        prop::sample::select(vec![
            "1.2.840.113556.1.4.803",
            "1.2.840.113556.1.4.1941",
            "caseExactMatch",
            "2.5.13.5",
        ])
        .prop_map(str::to_string)
    }

    fn value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..8),
            // Mostly-printable text hits the raw-character paths, not just escapes.
            "[a-z=:*()\\\\ ~<>0-9\\-ëÜ]{0,8}".prop_map(String::into_bytes),
            // Values that could be misread as a `;range=low-high` option when printed.
            "[0-9]{1,2}-([0-9]{1,2}|\\*)?([=:]|[~<>]=)?[a-z]{0,2}".prop_map(String::into_bytes),
        ]
    }

    fn non_empty_value() -> impl Strategy<Value = Vec<u8>> {
        value().prop_filter("substring parts are non-empty", |v| !v.is_empty())
    }

    fn leaf() -> impl Strategy<Value = Filter> {
        prop_oneof![
            (attribute(), value()).prop_map(|(a, v)| Filter::Equality(a, v)),
            (
                attribute(),
                prop::option::of(non_empty_value()),
                prop::collection::vec(non_empty_value(), 0..3),
                prop::option::of(non_empty_value()),
            )
                .prop_filter("a substring filter has a part", |(_, i, a, f)| {
                    i.is_some() || !a.is_empty() || f.is_some()
                })
                .prop_map(|(attr, initial, any, final_)| {
                    Filter::Substrings(
                        attr,
                        Substrings {
                            initial,
                            any,
                            final_,
                        },
                    )
                }),
            (attribute(), value()).prop_map(|(a, v)| Filter::GreaterOrEqual(a, v)),
            (attribute(), value()).prop_map(|(a, v)| Filter::LessOrEqual(a, v)),
            attribute().prop_map(Filter::Present),
            (attribute(), value()).prop_map(|(a, v)| Filter::Approx(a, v)),
            (
                prop::option::of(attribute()),
                prop::option::of(rule()),
                value(),
                any::<bool>()
            )
                .prop_filter(
                    "an extensible match has an attribute or a rule",
                    |(a, r, _, _)| { a.is_some() || r.is_some() }
                )
                .prop_map(|(attr, rule, value, dn_attributes)| {
                    Filter::Extensible(Extensible {
                        rule,
                        attr,
                        value,
                        dn_attributes,
                    })
                }),
        ]
    }

    fn filter() -> impl Strategy<Value = Filter> {
        leaf().prop_recursive(6, 48, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::And),
                prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::Or),
                inner.prop_map(|f| Filter::Not(Box::new(f))),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn printing_then_parsing_gives_the_same_filter(filter in filter()) {
            let printed = filter.to_string();
            prop_assert_eq!(Filter::parse(&printed), Ok(filter), "printed as {}", printed);
        }

        #[test]
        fn parsing_any_string_never_panics(input in any::<String>()) {
            let _ = Filter::parse(&input);
        }

        #[test]
        fn parsing_filter_like_strings_never_panics(
            input in "[()&|!=*~<>:;\\\\a-z0-9.\\- ë]{0,40}"
        ) {
            if let Err(e) = Filter::parse(&input) {
                // Error positions must point into the input, for display under it.
                prop_assert!(e.offset() <= input.len());
                prop_assert!(input.is_char_boundary(e.offset()));
                prop_assert!(e.column() <= input.chars().count() + 1);
            }
        }

        #[test]
        fn utf8_filters_survive_ldap3_proto(filter in filter()) {
            if let Ok(ldap) = LdapFilter::try_from(&filter) {
                prop_assert_eq!(Filter::from(&ldap), filter);
            }
        }
    }
}
