//! Parsing the RFC 4515 string form of a [`Filter`]. Its errors are in `error.rs`, the
//! printer that writes the same form in `print.rs`.
//!
//! The accepted dialect (RFC 4515 plus a few leniencies) is documented on
//! [`Filter::parse`].

use std::str::FromStr;

use super::ast::{Extensible, Filter, Substrings};
use super::error::{FilterParseError, FilterParseErrorKind, MAX_FILTER_DEPTH};

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
        result.map_err(|e| match e.kind() {
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

#[cfg(test)]
mod tests;
