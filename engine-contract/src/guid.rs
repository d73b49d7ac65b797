//! `objectGUID`, the identity of a directory object.
//!
//! SPEC: "The identity of an object is its `objectGUID`, not its DN: renames and moves
//! are updates." The binary attribute is 16 bytes in the order Windows stores a `GUID`
//! struct: the first three fields little-endian, the last eight bytes as they are. AD
//! tools (and `[guid]` in PowerShell) print it with those fields byte-swapped, so the
//! string form is not a plain hex dump of the bytes.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a GUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a GUID: expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx in hex")]
pub struct GuidError(pub String);

/// An `objectGUID` as the 16 bytes LDAP returns.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Guid(pub [u8; 16]);

/// Where each byte of the string form comes from in the binary form.
///
/// Applying it to the wire bytes gives the bytes in print order; it is its own inverse.
const PRINT_ORDER: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];

impl Guid {
    /// The bytes in the order the string form shows them.
    fn print_bytes(&self) -> [u8; 16] {
        PRINT_ORDER.map(|index| self.0[index])
    }

    /// Builds a GUID from bytes in print order (the order of the hex digits).
    fn from_print_bytes(bytes: [u8; 16]) -> Self {
        Self(PRINT_ORDER.map(|index| bytes[index]))
    }
}

impl PartialOrd for Guid {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Ordered as printed, so sorted reports read in the order of the GUID strings.
impl Ord for Guid {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        self.print_order_key().cmp(&other.print_order_key())
    }
}

impl Guid {
    /// The print-order bytes as one big-endian integer: comparing two of these is
    /// comparing the printed strings. Every GUID-keyed map lookup compares GUIDs a
    /// dozen times, so this is the diff's hottest function; building the print-order
    /// array per comparison made a 1M-object plan several times slower.
    #[inline]
    pub fn print_order_key(&self) -> u128 {
        let [a0, a1, a2, a3, b0, b1, c0, c1, rest @ ..] = self.0;
        (u128::from(u32::from_le_bytes([a0, a1, a2, a3])) << 96)
            | (u128::from(u16::from_le_bytes([b0, b1])) << 80)
            | (u128::from(u16::from_le_bytes([c0, c1])) << 64)
            | u128::from(u64::from_be_bytes(rest))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.print_bytes();
        write!(
            f,
            "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-\
             {:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            b[0],
            b[1],
            b[2],
            b[3],
            b[4],
            b[5],
            b[6],
            b[7],
            b[8],
            b[9],
            b[10],
            b[11],
            b[12],
            b[13],
            b[14],
            b[15]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

impl FromStr for Guid {
    type Err = GuidError;

    /// Accepts the AD string form, optionally in braces and in either case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || GuidError(text.to_owned());
        let trimmed = text.trim();
        let inner = trimmed
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
            .unwrap_or(trimmed);
        let groups: Vec<&str> = inner.split('-').collect();
        let lengths: Vec<usize> = groups.iter().map(|group| group.len()).collect();
        if lengths != [8, 4, 4, 4, 12] {
            return Err(error());
        }
        let hex: String = groups.concat();
        let mut bytes = [0u8; 16];
        for (index, byte) in bytes.iter_mut().enumerate() {
            let pair = hex.get(index * 2..index * 2 + 2).ok_or_else(error)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| error())?;
        }
        Ok(Self::from_print_bytes(bytes))
    }
}

impl Serialize for Guid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The AD string form [`Guid`]'s `FromStr` accepts (braces optional, either case).
impl JsonSchema for Guid {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Guid".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An objectGUID in the string form AD tools print (first three groups byte-swapped relative to the wire bytes).",
            "type": "string",
            "pattern": "^\\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\}?$"
        })
    }
}

impl<'de> Deserialize<'de> for Guid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes as LDAP returns them for the GUID PowerShell prints as
    /// `b9aeb4a1-2c3d-4e5f-8a9b-0c1d2e3f4a5b`.
    const WIRE: [u8; 16] = [
        0xa1, 0xb4, 0xae, 0xb9, 0x3d, 0x2c, 0x5f, 0x4e, 0x8a, 0x9b, 0x0c, 0x1d, 0x2e, 0x3f, 0x4a,
        0x5b,
    ];

    #[test]
    fn prints_the_first_three_groups_byte_swapped() {
        assert_eq!(
            Guid(WIRE).to_string(),
            "b9aeb4a1-2c3d-4e5f-8a9b-0c1d2e3f4a5b"
        );
    }

    #[test]
    fn parses_what_it_prints_in_any_case_and_with_braces() {
        let guid = Guid(WIRE);
        assert_eq!("b9aeb4a1-2c3d-4e5f-8a9b-0c1d2e3f4a5b".parse(), Ok(guid));
        assert_eq!("{B9AEB4A1-2C3D-4E5F-8A9B-0C1D2E3F4A5B}".parse(), Ok(guid));
        assert!("b9aeb4a1-2c3d-4e5f-8a9b".parse::<Guid>().is_err());
        assert!("g9aeb4a1-2c3d-4e5f-8a9b-0c1d2e3f4a5b"
            .parse::<Guid>()
            .is_err());
        assert!("b9aeb4a12c3d4e5f8a9b0c1d2e3f4a5b".parse::<Guid>().is_err());
    }

    #[test]
    fn the_fast_order_is_the_print_order() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let (mut x, mut y) = ([0u8; 16], [0u8; 16]);
            for byte in x.iter_mut().chain(y.iter_mut()) {
                // Few values per byte, so equal prefixes and ties are common.
                *byte = (next() % 3) as u8;
            }
            let (x, y) = (Guid(x), Guid(y));
            assert_eq!(x.cmp(&y), x.print_bytes().cmp(&y.print_bytes()), "{x} {y}");
        }
    }

    #[test]
    fn orders_as_printed() {
        // Wire bytes sort the other way round for these two: the order must follow the text.
        let low: Guid = "00000001-0000-0000-0000-000000000000"
            .parse()
            .expect("guid");
        let high: Guid = "01000000-0000-0000-0000-000000000000"
            .parse()
            .expect("guid");
        assert!(low.0 > high.0);
        assert!(low < high);
    }
}
