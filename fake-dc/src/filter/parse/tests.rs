//! The RFC 4515 parser and printer: examples from the RFC and AD's documentation, every
//! error kind, and ldap3_proto conversions; the properties are in `properties.rs`.

use super::*;
use ldap3_proto::proto::{LdapFilter, LdapMatchingRuleAssertion, LdapSubstringFilter};

mod properties;

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
    let err = LdapFilter::try_from(&ext(None, false, Some("1.2"), &[0xff])).expect_err("binary");
    assert_eq!(err.attribute, None);
}
