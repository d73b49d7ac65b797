//! Why a filter string does not parse: the error kinds, and messages that point at the
//! column and hint at the fix (a stray space, a missing parenthesis, an unescaped `*`).

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
    pub(super) fn new(input: &str, offset: usize, kind: FilterParseErrorKind) -> Self {
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
