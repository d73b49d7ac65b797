//! Printing a [`Filter`] in RFC 4515 form, escaped so that [`Filter::parse`] reads it
//! back to an equal filter.

use std::fmt::{self, Write as _};

use super::ast::Filter;

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
