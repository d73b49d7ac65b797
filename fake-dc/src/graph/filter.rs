//! `$filter` on users and groups: the part of OData's language Microsoft Graph accepts
//! on directory objects. `eq`, `ge`, `le`, `in`, `startswith`, `and`, `or`, parentheses
//! and `any` over a collection (`proxyAddresses/any(p:p eq 'smtp:a@b')`) work on every
//! request; `ne`, `not` and `endswith` are "advanced queries" that Graph accepts only
//! with `ConsistencyLevel: eventual` and `$count=true`, and so does fake-dc. Strings
//! compare case-insensitively, as directory properties do in Graph.

use serde_json::{Map, Value};

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Compare(String, Op, Literal),
    In(String, Vec<Literal>),
    StartsWith(String, String),
    EndsWith(String, String),
    /// `prop/any(v: <test on v>)`.
    Any(String, Box<ItemTest>),
}

/// What `any` checks on each element.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemTest {
    Compare(Op, Literal),
    StartsWith(String),
    In(Vec<Literal>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Ge,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Bool(bool),
    Num(f64),
    Null,
}

/// A filter Graph would refuse, with Graph's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid filter clause: {0}")]
pub struct FilterError(pub String);

impl Filter {
    /// Whether this needs Graph's advanced query capabilities.
    pub fn is_advanced(&self) -> bool {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => a.is_advanced() || b.is_advanced(),
            Filter::Not(_) | Filter::EndsWith(..) => true,
            Filter::Compare(_, Op::Ne, _) => true,
            Filter::Any(_, t) => matches!(**t, ItemTest::Compare(Op::Ne, _)),
            _ => false,
        }
    }

    /// Whether a rendered object matches.
    pub fn matches(&self, obj: &Map<String, Value>) -> bool {
        match self {
            Filter::And(a, b) => a.matches(obj) && b.matches(obj),
            Filter::Or(a, b) => a.matches(obj) || b.matches(obj),
            Filter::Not(f) => !f.matches(obj),
            Filter::Compare(p, op, lit) => compare(property(obj, p), *op, lit),
            Filter::In(p, lits) => lits.iter().any(|l| compare(property(obj, p), Op::Eq, l)),
            Filter::StartsWith(p, prefix) => property(obj, p)
                .and_then(Value::as_str)
                .is_some_and(|v| starts_with(v, prefix)),
            Filter::EndsWith(p, suffix) => property(obj, p)
                .and_then(Value::as_str)
                .is_some_and(|v| v.to_lowercase().ends_with(&suffix.to_lowercase())),
            Filter::Any(p, test) => {
                property(obj, p)
                    .and_then(Value::as_array)
                    .is_some_and(|items| {
                        items.iter().any(|item| match &**test {
                            ItemTest::Compare(op, lit) => compare(Some(item), *op, lit),
                            ItemTest::StartsWith(prefix) => {
                                item.as_str().is_some_and(|v| starts_with(v, prefix))
                            }
                            ItemTest::In(lits) => {
                                lits.iter().any(|l| compare(Some(item), Op::Eq, l))
                            }
                        })
                    })
            }
        }
    }
}

fn starts_with(value: &str, prefix: &str) -> bool {
    value.to_lowercase().starts_with(&prefix.to_lowercase())
}

/// Property names are case-insensitive in Graph's query options.
fn property<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn compare(value: Option<&Value>, op: Op, lit: &Literal) -> bool {
    let value = value.unwrap_or(&Value::Null);
    let ordering = match (value, lit) {
        (Value::Null, Literal::Null) => Some(std::cmp::Ordering::Equal),
        (_, Literal::Null) | (Value::Null, _) => None,
        (Value::String(v), Literal::Str(l)) => Some(v.to_lowercase().cmp(&l.to_lowercase())),
        (Value::Bool(v), Literal::Bool(l)) => Some(v.cmp(l)),
        (Value::Number(v), Literal::Num(l)) => v.as_f64().and_then(|v| v.partial_cmp(l)),
        _ => None,
    };
    match op {
        Op::Eq => ordering == Some(std::cmp::Ordering::Equal),
        Op::Ne => ordering != Some(std::cmp::Ordering::Equal),
        Op::Ge => ordering.is_some_and(|o| o.is_ge()),
        Op::Le => ordering.is_some_and(|o| o.is_le()),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
    Comma,
    Colon,
}

/// The longest filter text accepted; Graph's URLs are limited well below this.
const MAX_LEN: usize = 16 * 1024;
/// How deep parentheses and `not` may nest, so a hostile filter cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

fn tokens(text: &str) -> Result<Vec<Token>, FilterError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\t' => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            ',' => {
                chars.next();
                out.push(Token::Comma);
            }
            ':' => {
                chars.next();
                out.push(Token::Colon);
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            s.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => s.push(c),
                        None => return Err(FilterError("unterminated string literal".into())),
                    }
                }
                out.push(Token::Str(s));
            }
            c if c.is_alphanumeric() || "/._-+@$".contains(c) => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_alphanumeric() || "/._-+@$".contains(c) {
                        w.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(w));
            }
            other => return Err(FilterError(format!("unexpected character '{other}'"))),
        }
    }
    Ok(out)
}

/// Parses a `$filter` value.
pub fn parse(text: &str) -> Result<Filter, FilterError> {
    if text.len() > MAX_LEN {
        return Err(FilterError("the filter is too long".into()));
    }
    let toks = tokens(text)?;
    let mut p = Parser { toks, pos: 0 };
    let f = p.or(0)?;
    if p.pos != p.toks.len() {
        return Err(FilterError(format!("unexpected '{}'", p.describe())));
    }
    Ok(f)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn describe(&self) -> String {
        match self.peek() {
            None => "end of filter".into(),
            Some(Token::Word(w)) => w.clone(),
            Some(Token::Str(s)) => format!("'{s}'"),
            Some(Token::Open) => "(".into(),
            Some(Token::Close) => ")".into(),
            Some(Token::Comma) => ",".into(),
            Some(Token::Colon) => ":".into(),
        }
    }

    fn keyword(&mut self, k: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(k)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: Token) -> Result<(), FilterError> {
        if self.peek() == Some(&t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(FilterError(format!(
                "expected {t:?} but found '{}'",
                self.describe()
            )))
        }
    }

    fn word(&mut self) -> Result<String, FilterError> {
        match self.peek().cloned() {
            Some(Token::Word(w)) => {
                self.pos += 1;
                Ok(w)
            }
            _ => Err(FilterError(format!(
                "expected a property name but found '{}'",
                self.describe()
            ))),
        }
    }

    fn string(&mut self) -> Result<String, FilterError> {
        match self.peek().cloned() {
            Some(Token::Str(s)) => {
                self.pos += 1;
                Ok(s)
            }
            _ => Err(FilterError(format!(
                "expected a string literal but found '{}'",
                self.describe()
            ))),
        }
    }

    fn or(&mut self, depth: usize) -> Result<Filter, FilterError> {
        let mut f = self.and(depth)?;
        while self.keyword("or") {
            f = Filter::Or(Box::new(f), Box::new(self.and(depth)?));
        }
        Ok(f)
    }

    fn and(&mut self, depth: usize) -> Result<Filter, FilterError> {
        let mut f = self.unary(depth)?;
        while self.keyword("and") {
            f = Filter::And(Box::new(f), Box::new(self.unary(depth)?));
        }
        Ok(f)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, FilterError> {
        if depth > MAX_DEPTH {
            return Err(FilterError("the filter nests too deeply".into()));
        }
        if self.keyword("not") {
            return Ok(Filter::Not(Box::new(self.unary(depth + 1)?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.pos += 1;
            let f = self.or(depth + 1)?;
            self.expect(Token::Close)?;
            return Ok(f);
        }
        let name = self.word()?;
        let lower = name.to_ascii_lowercase();
        if (lower == "startswith" || lower == "endswith") && self.peek() == Some(&Token::Open) {
            self.pos += 1;
            let prop = self.word()?;
            self.expect(Token::Comma)?;
            let value = self.string()?;
            self.expect(Token::Close)?;
            return Ok(if lower == "startswith" {
                Filter::StartsWith(prop, value)
            } else {
                Filter::EndsWith(prop, value)
            });
        }
        if let Some((prop, lambda)) = name.split_once('/') {
            if !lambda.eq_ignore_ascii_case("any") {
                return Err(FilterError(format!("'{lambda}' is not supported; use any")));
            }
            return self.any(prop.to_owned());
        }
        if self.keyword("in") {
            return Ok(Filter::In(name, self.list()?));
        }
        let op = self.op()?;
        Ok(Filter::Compare(name, op, self.literal()?))
    }

    fn any(&mut self, prop: String) -> Result<Filter, FilterError> {
        self.expect(Token::Open)?;
        let var = self.word()?;
        self.expect(Token::Colon)?;
        let test = if self.keyword("startswith") {
            self.expect(Token::Open)?;
            let v = self.word()?;
            if v != var {
                return Err(FilterError(format!(
                    "'{v}' is not the lambda variable '{var}'"
                )));
            }
            self.expect(Token::Comma)?;
            let s = self.string()?;
            self.expect(Token::Close)?;
            ItemTest::StartsWith(s)
        } else {
            let v = self.word()?;
            if v != var {
                return Err(FilterError(format!(
                    "'{v}' is not the lambda variable '{var}'"
                )));
            }
            if self.keyword("in") {
                ItemTest::In(self.list()?)
            } else {
                let op = self.op()?;
                ItemTest::Compare(op, self.literal()?)
            }
        };
        self.expect(Token::Close)?;
        Ok(Filter::Any(prop, Box::new(test)))
    }

    fn list(&mut self) -> Result<Vec<Literal>, FilterError> {
        self.expect(Token::Open)?;
        let mut out = vec![self.literal()?];
        while self.peek() == Some(&Token::Comma) {
            self.pos += 1;
            out.push(self.literal()?);
        }
        self.expect(Token::Close)?;
        Ok(out)
    }

    fn op(&mut self) -> Result<Op, FilterError> {
        let w = self.word()?;
        match w.to_ascii_lowercase().as_str() {
            "eq" => Ok(Op::Eq),
            "ne" => Ok(Op::Ne),
            "ge" => Ok(Op::Ge),
            "le" => Ok(Op::Le),
            _ => Err(FilterError(format!(
                "'{w}' is not a supported operator (eq, ne, ge, le, in)"
            ))),
        }
    }

    fn literal(&mut self) -> Result<Literal, FilterError> {
        match self.peek().cloned() {
            Some(Token::Str(s)) => {
                self.pos += 1;
                Ok(Literal::Str(s))
            }
            Some(Token::Word(w)) => {
                self.pos += 1;
                match w.to_ascii_lowercase().as_str() {
                    "true" => Ok(Literal::Bool(true)),
                    "false" => Ok(Literal::Bool(false)),
                    "null" => Ok(Literal::Null),
                    _ => w.parse::<f64>().map(Literal::Num).map_err(|_| {
                        FilterError(format!("'{w}' is not a literal; quote strings like 'text'"))
                    }),
                }
            }
            _ => Err(FilterError(format!(
                "expected a literal but found '{}'",
                self.describe()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj() -> Map<String, Value> {
        json!({"displayName": "Alice Archer", "mail": "alice@corp.test", "accountEnabled": true,
               "proxyAddresses": ["SMTP:alice@corp.test", "smtp:aa@corp.test"], "jobTitle": null})
        .as_object()
        .cloned()
        .unwrap_or_default()
    }

    fn check(filter: &str, expected: bool) {
        let f = parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        assert_eq!(f.matches(&obj()), expected, "{filter}");
    }

    #[test]
    fn graph_filters() {
        check("displayName eq 'alice archer'", true);
        check("startswith(displayName,'Ali')", true);
        check("startsWith(mail, 'bob')", false);
        check("mail in ('x@y', 'ALICE@corp.test')", true);
        check("proxyAddresses/any(p:p eq 'smtp:aa@corp.test')", true);
        check("proxyAddresses/any(x:startswith(x,'smtp:zz'))", false);
        check(
            "accountEnabled eq true and (jobTitle eq null or mail eq 'n')",
            true,
        );
        check("not(displayName eq 'Alice Archer')", false);
        check("displayName eq 'O''Brien'", false);
    }

    #[test]
    fn advanced_and_errors() {
        assert!(parse("mail ne null")
            .map(|f| f.is_advanced())
            .unwrap_or(false));
        assert!(parse("endswith(mail,'@corp.test')")
            .map(|f| f.is_advanced())
            .unwrap_or(false));
        assert!(!parse("mail eq 'a'")
            .map(|f| f.is_advanced())
            .unwrap_or(true));
        assert!(parse("mail eq").is_err());
        assert!(parse("mail gt 'a'").is_err());
        assert!(parse("displayName eq 'open").is_err());
        assert!(parse(&"(".repeat(500)).is_err());
    }
}
