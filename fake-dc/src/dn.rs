//! Distinguished names: RFC 4514 parsing, AD-style escaping and case-insensitive keys.
//!
//! AD allows almost any character in a CN (`,` `+` `"` `\` `<` `>` `;` `=`, a leading `#`,
//! leading or trailing spaces, non-ASCII), so names are stored unescaped and escaped only
//! when printed. Printing follows what AD returns: `,+"\<>` and a leading `#` or a
//! leading/trailing space get a backslash; `=` and `;` and control characters are
//! hex-escaped (`\3D`, `\3B`, `\0A`); non-ASCII stays raw UTF-8.

use std::fmt;

/// One `type=value` pair of an RDN.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Ava {
    /// The attribute type as written (`CN`, `ou`, an OID); compared case-insensitively.
    pub attr: String,
    /// The unescaped value.
    pub value: String,
}

/// A relative distinguished name: one or more AVAs joined by `+` (multi-valued RDNs are
/// legal in LDAP, although AD itself never creates them).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Rdn {
    pub avas: Vec<Ava>,
}

/// A distinguished name, most specific RDN first. The empty DN names the rootDSE.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Dn {
    pub rdns: Vec<Rdn>,
}

/// Why a string is not a DN; `position` is a 0-based byte offset into the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a distinguished name: {reason} at column {}", position + 1)]
pub struct DnError {
    pub input: String,
    pub position: usize,
    pub reason: &'static str,
}

impl Rdn {
    /// A single-valued RDN.
    pub fn new(attr: impl Into<String>, value: impl Into<String>) -> Self {
        Rdn {
            avas: vec![Ava {
                attr: attr.into(),
                value: value.into(),
            }],
        }
    }

    /// The first AVA's attribute type (`CN`, `OU`, `DC`).
    pub fn attr(&self) -> &str {
        self.avas.first().map_or("", |a| a.attr.as_str())
    }

    /// The first AVA's value: what AD calls the object's `name`.
    pub fn value(&self) -> &str {
        self.avas.first().map_or("", |a| a.value.as_str())
    }

    /// The case-folded form used for comparisons and index keys.
    pub fn key(&self) -> String {
        let mut out = String::new();
        self.write_key(&mut out);
        out
    }

    /// Appends the case-folded form to `out`.
    pub fn write_key(&self, out: &mut String) {
        for (i, ava) in self.avas.iter().enumerate() {
            if i > 0 {
                out.push('+');
            }
            out.push_str(&ava.attr.to_ascii_lowercase());
            out.push('=');
            escape_value(&fold_case(&ava.value), out);
        }
    }
}

impl Dn {
    /// The empty DN (the rootDSE).
    pub fn root() -> Self {
        Dn::default()
    }

    /// Parses an RFC 4514 string. Spaces around `,`, `+` and `=` are tolerated, as AD does.
    pub fn parse(input: &str) -> Result<Dn, DnError> {
        Parser { input, pos: 0 }.dn()
    }

    pub fn is_root(&self) -> bool {
        self.rdns.is_empty()
    }

    /// The most specific RDN.
    pub fn rdn(&self) -> Option<&Rdn> {
        self.rdns.first()
    }

    /// The DN one level up; `None` for the empty DN.
    pub fn parent(&self) -> Option<Dn> {
        (!self.rdns.is_empty()).then(|| Dn {
            rdns: self.rdns[1..].to_vec(),
        })
    }

    /// This DN with `rdn` prepended.
    pub fn child(&self, rdn: Rdn) -> Dn {
        let mut rdns = Vec::with_capacity(self.rdns.len() + 1);
        rdns.push(rdn);
        rdns.extend(self.rdns.iter().cloned());
        Dn { rdns }
    }

    /// True when `self` is `ancestor` or lies below it.
    pub fn is_within(&self, ancestor: &Dn) -> bool {
        let n = ancestor.rdns.len();
        self.rdns.len() >= n
            && self.rdns[self.rdns.len() - n..]
                .iter()
                .zip(&ancestor.rdns)
                .all(|(a, b)| a.key() == b.key())
    }

    /// The case-folded form: equal keys name the same entry.
    pub fn key(&self) -> String {
        let mut out = String::new();
        for (i, rdn) in self.rdns.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            rdn.write_key(&mut out);
        }
        out
    }

    /// The DNS name of a `DC=a,DC=b` DN, when every RDN is a DC component.
    pub fn dns_name(&self) -> Option<String> {
        let parts: Option<Vec<&str>> = self
            .rdns
            .iter()
            .map(|r| r.attr().eq_ignore_ascii_case("dc").then(|| r.value()))
            .collect();
        parts.filter(|p| !p.is_empty()).map(|p| p.join("."))
    }

    /// The `DC=a,DC=b` DN of a DNS name.
    pub fn from_dns_name(dns: &str) -> Dn {
        Dn {
            rdns: dns
                .split('.')
                .filter(|s| !s.is_empty())
                .map(|part| Rdn::new("DC", part))
                .collect(),
        }
    }
}

impl std::str::FromStr for Dn {
    type Err = DnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dn::parse(s)
    }
}

impl fmt::Display for Ava {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(self.value.len() + 8);
        escape_value(&self.value, &mut out);
        write!(f, "{}={}", self.attr, out)
    }
}

impl fmt::Display for Rdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, ava) in self.avas.iter().enumerate() {
            if i > 0 {
                f.write_str("+")?;
            }
            write!(f, "{ava}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Dn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rdn) in self.rdns.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{rdn}")?;
        }
        Ok(())
    }
}

/// AD compares names case-insensitively across Unicode, not only ASCII.
pub fn fold_case(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

/// Escapes one attribute value the way AD prints it.
pub fn escape_value(value: &str, out: &mut String) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '=' => out.push_str("\\3D"),
            ';' => out.push_str("\\3B"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\{:02X}", c as u32));
            }
            c => out.push(c),
        }
    }
}

/// A recursive-descent parser over the input; `pos` is a byte offset.
struct Parser<'a> {
    input: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, reason: &'static str) -> DnError {
        DnError {
            input: self.input.to_string(),
            position: self.pos,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    fn dn(mut self) -> Result<Dn, DnError> {
        let mut rdns = Vec::new();
        if self.input.trim().is_empty() {
            return Ok(Dn { rdns });
        }
        loop {
            rdns.push(self.rdn()?);
            match self.peek() {
                None => return Ok(Dn { rdns }),
                Some(b',') => self.pos += 1,
                Some(_) => return Err(self.err("expected ','")),
            }
        }
    }

    fn rdn(&mut self) -> Result<Rdn, DnError> {
        let mut avas = Vec::new();
        loop {
            avas.push(self.ava()?);
            if self.peek() == Some(b'+') {
                self.pos += 1;
            } else {
                return Ok(Rdn { avas });
            }
        }
    }

    fn ava(&mut self) -> Result<Ava, DnError> {
        self.skip_spaces();
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.pos == start {
            return Err(self.err("expected an attribute type"));
        }
        let attr = self.input[start..self.pos].to_string();
        if !attr.as_bytes()[0].is_ascii_alphabetic() && !attr.as_bytes()[0].is_ascii_digit() {
            return Err(self.err("an attribute type starts with a letter or digit"));
        }
        self.skip_spaces();
        if self.peek() != Some(b'=') {
            return Err(self.err("expected '='"));
        }
        self.pos += 1;
        self.skip_spaces();
        let value = self.value()?;
        Ok(Ava { attr, value })
    }

    /// Reads an escaped value up to an unescaped `,`, `+` or the end. Unescaped trailing
    /// spaces are dropped; escaped ones (`\ `) are kept.
    fn value(&mut self) -> Result<String, DnError> {
        if self.peek() == Some(b'#') {
            return Err(
                self.err("BER-encoded (#hex) values are not supported; escape the '#' as '\\#'")
            );
        }
        let mut bytes: Vec<u8> = Vec::new();
        let mut keep = 0; // length of `bytes` up to the last byte that is not an unescaped space
        while let Some(b) = self.peek() {
            match b {
                b',' | b'+' => break,
                b'\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c) if c.is_ascii_hexdigit() => {
                            let hex = self.input.as_bytes().get(self.pos..self.pos + 2);
                            let byte = hex
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u8::from_str_radix(h, 16).ok())
                                .ok_or_else(|| self.err("'\\' must be followed by two hex digits or a special character"))?;
                            bytes.push(byte);
                            self.pos += 2;
                        }
                        Some(c) if b" \"#+,;<=>\\".contains(&c) => {
                            bytes.push(c);
                            self.pos += 1;
                        }
                        _ => {
                            return Err(self.err(
                                "'\\' must be followed by two hex digits or a special character",
                            ))
                        }
                    }
                    keep = bytes.len();
                }
                b'"' => return Err(self.err("unescaped '\"'")),
                b';' | b'<' | b'>' | b'=' => {
                    // RFC 4514 wants these escaped, but AD and most clients accept them raw
                    // inside a value; keeping them loses nothing.
                    bytes.push(b);
                    self.pos += 1;
                    keep = bytes.len();
                }
                b' ' => {
                    bytes.push(b);
                    self.pos += 1;
                }
                _ => {
                    bytes.push(b);
                    self.pos += 1;
                    keep = bytes.len();
                }
            }
        }
        bytes.truncate(keep);
        String::from_utf8(bytes).map_err(|_| self.err("escaped bytes are not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(input: &str, printed: &str, values: &[&str]) {
        let dn = Dn::parse(input).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dn.to_string(), printed, "printed form of {input:?}");
        let got: Vec<&str> = dn.rdns.iter().map(|r| r.value()).collect();
        assert_eq!(got, values, "values of {input:?}");
    }

    #[test]
    fn parses_and_prints_like_ad() {
        check(
            "CN=Alice,OU=Staff,DC=corp",
            "CN=Alice,OU=Staff,DC=corp",
            &["Alice", "Staff", "corp"],
        );
        check(
            "cn=Smith\\, John,dc=x",
            "cn=Smith\\, John,dc=x",
            &["Smith, John", "x"],
        );
        check(
            "CN=a\\+b\\\"c\\<d\\>e\\\\f,DC=x",
            "CN=a\\+b\\\"c\\<d\\>e\\\\f,DC=x",
            &["a+b\"c<d>e\\f", "x"],
        );
        check("CN=\\#hash,DC=x", "CN=\\#hash,DC=x", &["#hash", "x"]);
        check(
            "CN=\\ lead and trail\\ ,DC=x",
            "CN=\\ lead and trail\\ ,DC=x",
            &[" lead and trail ", "x"],
        );
        check("CN=a=b;c,DC=x", "CN=a\\3Db\\3Bc,DC=x", &["a=b;c", "x"]);
        check("CN=Zoë Ünal,DC=x", "CN=Zoë Ünal,DC=x", &["Zoë Ünal", "x"]);
        check("CN=Z\\C3\\B6e,DC=x", "CN=Zöe,DC=x", &["Zöe", "x"]);
        check(
            "CN=bob\\0ADEL:1234,DC=x",
            "CN=bob\\0ADEL:1234,DC=x",
            &["bob\nDEL:1234", "x"],
        );
        check("CN=a , OU = b ,DC=x", "CN=a,OU=b,DC=x", &["a", "b", "x"]);
        check("", "", &[]);
    }

    #[test]
    fn multi_valued_rdn() {
        let dn = Dn::parse("CN=a+UID=b,DC=x").unwrap();
        assert_eq!(dn.rdns[0].avas.len(), 2);
        assert_eq!(dn.to_string(), "CN=a+UID=b,DC=x");
    }

    #[test]
    fn keys_fold_case_including_non_ascii() {
        let a = Dn::parse("CN=ZOË,OU=Staff,DC=Corp").unwrap();
        let b = Dn::parse("cn=zoë,ou=STAFF,dc=corp").unwrap();
        assert_eq!(a.key(), b.key());
        assert!(a.is_within(&Dn::parse("dc=CORP").unwrap()));
        assert!(!a.is_within(&Dn::parse("OU=Other,DC=corp").unwrap()));
    }

    #[test]
    fn rejects_bad_dns_with_position() {
        for (input, col) in [
            ("CN", 3),
            ("=x", 1),
            ("CN=a\\zz", 6),
            ("CN=a,", 6),
            ("CN=\"q\"", 4),
            ("CN=#04", 4),
        ] {
            let err = Dn::parse(input).unwrap_err();
            assert_eq!(err.position + 1, col, "{input}: {err}");
        }
    }

    #[test]
    fn dns_names() {
        let dn = Dn::from_dns_name("corp.example.test");
        assert_eq!(dn.to_string(), "DC=corp,DC=example,DC=test");
        assert_eq!(dn.dns_name().as_deref(), Some("corp.example.test"));
        assert_eq!(Dn::parse("OU=x,DC=a").unwrap().dns_name(), None);
    }

    fn value_strategy() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[ a-zA-Z0-9,+\"\\\\<>;=#äöüЖ\n-]{1,12}").expect("regex")
    }

    proptest! {
        #[test]
        fn escape_then_parse_round_trips(values in proptest::collection::vec(value_strategy(), 1..5)) {
            let dn = Dn { rdns: values.iter().map(|v| Rdn::new("CN", v.clone())).collect() };
            let parsed = Dn::parse(&dn.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&parsed, &dn);
            prop_assert_eq!(parsed.key(), dn.key());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = Dn::parse(&s);
        }

        #[test]
        fn key_is_case_insensitive(values in proptest::collection::vec(value_strategy(), 1..4)) {
            let lower = Dn { rdns: values.iter().map(|v| Rdn::new("cn", v.to_lowercase())).collect() };
            let upper = Dn { rdns: values.iter().map(|v| Rdn::new("CN", v.to_uppercase())).collect() };
            // Upper-casing can change length for a few letters; both fold to the same key.
            prop_assert_eq!(fold_case(&lower.key()), fold_case(&upper.key()));
        }
    }
}
