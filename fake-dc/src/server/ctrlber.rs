//! BER for the values of AD's search controls (DirSync, sort, VLV): reading a request's
//! value into a tag tree with `ldap3_lber`'s parser, and writing a response's value from
//! a tag tree with `encode.rs`. `ldap3_proto` knows some of these controls, but
//! fake-dc receives controls as raw values (`codec.rs`) and answers each of them the
//! same way, as an OID and its value.

use bytes::BytesMut;
use ldap3_lber::common::TagClass;
use ldap3_lber::parse::Parser;
use ldap3_lber::structure::{StructureTag, PL};
use ldap3_proto::control::LdapControl;

use super::codec::ber_int;
use super::encode::encode_into;

/// Deepest nesting a control value may have (VLV's is three levels).
const MAX_DEPTH: usize = 6;

/// A control value's outer SEQUENCE, parsed; `None` when it is not one, or has bytes
/// after it.
pub(crate) fn sequence(value: &[u8]) -> Option<Vec<StructureTag>> {
    let (rest, tag) = Parser::new(MAX_DEPTH).parse(value).ok()?;
    if !rest.is_empty() || tag.class != TagClass::Universal || tag.id != 16 {
        return None;
    }
    match tag.payload {
        PL::C(inner) => Some(inner),
        PL::P(_) => None,
    }
}

/// An INTEGER or ENUMERATED element's value.
pub(crate) fn int(tag: &StructureTag) -> Option<i64> {
    match &tag.payload {
        PL::P(b) => ber_int(b),
        PL::C(_) => None,
    }
}

/// A primitive element's bytes (OCTET STRING and friends).
pub(crate) fn bytes(tag: &StructureTag) -> Option<&[u8]> {
    match &tag.payload {
        PL::P(b) => Some(b),
        PL::C(_) => None,
    }
}

/// A universal INTEGER.
pub(crate) fn integer(v: i64) -> StructureTag {
    prim(2, minimal(v))
}

/// A universal ENUMERATED.
pub(crate) fn enumerated(v: i64) -> StructureTag {
    prim(10, minimal(v))
}

/// A universal OCTET STRING.
pub(crate) fn octets(v: &[u8]) -> StructureTag {
    prim(4, v.to_vec())
}

fn prim(id: u64, v: Vec<u8>) -> StructureTag {
    StructureTag {
        class: TagClass::Universal,
        id,
        payload: PL::P(v),
    }
}

/// Two's complement, shortest form (X.690 8.3.2).
fn minimal(v: i64) -> Vec<u8> {
    let b = v.to_be_bytes();
    let mut start = 0;
    while start < 7
        && ((b[start] == 0 && b[start + 1] & 0x80 == 0)
            || (b[start] == 0xff && b[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    b[start..].to_vec()
}

/// A response control: `oid` with the SEQUENCE of `inner` as its value.
pub(crate) fn response(oid: &str, inner: Vec<StructureTag>) -> LdapControl {
    let seq = StructureTag {
        class: TagClass::Universal,
        id: 16,
        payload: PL::C(inner),
    };
    let mut buf = BytesMut::new();
    encode_into(&mut buf, &seq);
    LdapControl::Unknown {
        oid: oid.to_string(),
        criticality: false,
        value: Some(buf.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_take_their_shortest_form() {
        assert_eq!(minimal(0), vec![0]);
        assert_eq!(minimal(127), vec![0x7f]);
        assert_eq!(minimal(128), vec![0, 0x80]);
        assert_eq!(minimal(-1), vec![0xff]);
        assert_eq!(minimal(-2_147_483_648), vec![0x80, 0, 0, 0]);
        assert_eq!(ber_int(&minimal(2_147_483_648)), Some(2_147_483_648));
    }
}
