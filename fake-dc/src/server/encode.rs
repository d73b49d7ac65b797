//! Writes `ldap3_lber` tag trees as BER, byte for byte what `ldap3_lber::write` writes.
//!
//! Why not `ldap3_lber::write::encode_into` itself: it encodes every constructed value into
//! a temporary vector, then copies that into its parent's, so a search result entry's
//! values are copied once per nesting level (five or six times) and every level allocates;
//! then the whole message is appended to the output byte by byte. For a paged search that
//! copying and allocation was most of the server's time. Here the sizes of all constructed
//! values are worked out first, in one walk, and every byte is then written once, straight
//! into the output buffer.
//!
//! The tree still comes from `ldap3_proto` (`LdapMsg` → `StructureTag`), so what the
//! messages say stays its business; the tests check the bytes against `ldap3_lber`.

use bytes::{BufMut, BytesMut};
use ldap3_lber::common::TagClass;
use ldap3_lber::structure::{StructureTag, PL};

/// Appends the BER encoding of `tag` to `buf`.
pub fn encode_into(buf: &mut BytesMut, tag: &StructureTag) {
    // Content lengths of every element, in pre-order.
    let mut lens = Vec::with_capacity(64);
    let total = measure(tag, &mut lens);
    buf.reserve(total);
    let mut next = 0;
    write(buf, tag, &lens, &mut next);
}

/// The encoded size of `tag`; pushes its content length (then its children's) to `lens`.
fn measure(tag: &StructureTag, lens: &mut Vec<usize>) -> usize {
    let slot = lens.len();
    lens.push(0);
    let content = match &tag.payload {
        PL::P(v) => v.len(),
        PL::C(children) => children.iter().map(|c| measure(c, lens)).sum(),
    };
    lens[slot] = content;
    identifier_len(tag.id) + length_len(content) + content
}

fn write(buf: &mut BytesMut, tag: &StructureTag, lens: &[usize], next: &mut usize) {
    let content = lens.get(*next).copied().unwrap_or_default();
    *next += 1;
    let constructed = matches!(tag.payload, PL::C(_));
    write_identifier(buf, tag.class, constructed, tag.id);
    write_length(buf, content);
    match &tag.payload {
        PL::P(v) => buf.put_slice(v),
        PL::C(children) => {
            for c in children {
                write(buf, c, lens, next);
            }
        }
    }
}

/// Tag numbers above 30 take the high-tag-number form: 0x1F, then base-128 digits.
fn identifier_len(id: u64) -> usize {
    if id <= 30 {
        1
    } else {
        1 + base128_digits(id)
    }
}

fn base128_digits(mut id: u64) -> usize {
    let mut n = 0;
    while id > 0 {
        n += 1;
        id >>= 7;
    }
    n
}

fn write_identifier(buf: &mut BytesMut, class: TagClass, constructed: bool, id: u64) {
    let head = ((class as u8) << 6) | (u8::from(constructed) << 5);
    if id <= 30 {
        buf.put_u8(head | id as u8);
        return;
    }
    buf.put_u8(head | 0x1F);
    let digits = base128_digits(id);
    for i in (0..digits).rev() {
        let byte = ((id >> (7 * i)) & 0x7F) as u8;
        buf.put_u8(if i > 0 { byte | 0x80 } else { byte });
    }
}

/// Definite lengths: short form below 128, else 0x80 | count and the minimal big-endian
/// bytes.
fn length_len(len: usize) -> usize {
    if len < 128 {
        1
    } else {
        1 + (usize::BITS as usize / 8 - len.leading_zeros() as usize / 8)
    }
}

fn write_length(buf: &mut BytesMut, len: usize) {
    if len < 128 {
        buf.put_u8(len as u8);
        return;
    }
    let count = length_len(len) - 1;
    buf.put_u8(0x80 | count as u8);
    buf.put_slice(&len.to_be_bytes()[std::mem::size_of::<usize>() - count..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(tag: StructureTag) -> Vec<u8> {
        let mut buf = BytesMut::new();
        ldap3_lber::write::encode_into(&mut buf, tag).unwrap();
        buf.to_vec()
    }

    fn ours(tag: &StructureTag) -> Vec<u8> {
        let mut buf = BytesMut::from(&b"prefix"[..]);
        encode_into(&mut buf, tag);
        buf[6..].to_vec()
    }

    fn class() -> impl Strategy<Value = TagClass> {
        prop_oneof![
            Just(TagClass::Universal),
            Just(TagClass::Application),
            Just(TagClass::Context),
            Just(TagClass::Private),
        ]
    }

    fn tag() -> impl Strategy<Value = StructureTag> {
        // Ids around the 30/31 boundary and multi-digit ones; values around the 127/128
        // and 255/256 length boundaries.
        let id = prop_oneof![0u64..40, 100u64..20_000, Just(u64::from(u32::MAX))];
        let leaf = (
            class(),
            id.clone(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..4),
                proptest::collection::vec(any::<u8>(), 120..300),
            ],
        )
            .prop_map(|(class, id, v)| StructureTag {
                class,
                id,
                payload: PL::P(v),
            });
        leaf.prop_recursive(5, 64, 6, move |inner| {
            (class(), id.clone(), proptest::collection::vec(inner, 0..6)).prop_map(
                |(class, id, children)| StructureTag {
                    class,
                    id,
                    payload: PL::C(children),
                },
            )
        })
    }

    proptest! {
        #[test]
        fn bytes_match_ldap3_lber(t in tag()) {
            prop_assert_eq!(ours(&t), reference(t));
        }
    }

    #[test]
    fn long_lengths_match() {
        for n in [0, 127, 128, 255, 256, 65_535, 65_536, 16_777_216] {
            let t = StructureTag {
                class: TagClass::Universal,
                id: 4,
                payload: PL::P(vec![7; n]),
            };
            assert_eq!(ours(&t), reference(t), "length {n}");
        }
    }
}
