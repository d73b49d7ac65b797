//! Reproducible identities and AD's time encodings.

use super::entry::{Guid, Sid};

/// FNV-1a over the parts, salted: enough to spread identities; nothing here is secret.
pub(crate) fn hash64(seed: u64, parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // A final avalanche so similar DNs do not give similar GUIDs.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

/// A version-4-shaped GUID derived from the seed and a name (the entry's first DN).
pub(crate) fn derive_guid(seed: u64, name: &str) -> Guid {
    let a = hash64(seed, &[b"guid-a", name.as_bytes()]).to_le_bytes();
    let b = hash64(seed, &[b"guid-b", name.as_bytes()]).to_le_bytes();
    let mut g = [0u8; 16];
    g[..8].copy_from_slice(&a);
    g[8..].copy_from_slice(&b);
    g[7] = (g[7] & 0x0f) | 0x40; // version 4 (byte 7 is the high byte of the third group)
    g[8] = (g[8] & 0x3f) | 0x80; // RFC 4122 variant
    Guid(g)
}

/// A domain SID `S-1-5-21-a-b-c` derived from the seed and the domain's DNS name.
pub(crate) fn derive_domain_sid(seed: u64, dns_name: &str) -> Sid {
    let lower = dns_name.to_ascii_lowercase();
    let h1 = hash64(seed, &[b"sid", lower.as_bytes()]);
    let h2 = hash64(seed, &[b"sid2", lower.as_bytes()]);
    Sid::domain((h1 >> 32) as u32, h1 as u32, (h2 >> 32) as u32)
}

pub(crate) fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `accountExpires` value meaning "never".
pub const FILETIME_NEVER: i64 = 9_223_372_036_854_775_807;

/// Seconds between 1601-01-01 and 1970-01-01.
const FILETIME_EPOCH_OFFSET: i64 = 11_644_473_600;

/// A Windows FILETIME (100 ns ticks since 1601) from Unix seconds.
pub fn filetime_from_unix(secs: i64) -> i64 {
    (secs + FILETIME_EPOCH_OFFSET) * 10_000_000
}

/// Unix seconds from a FILETIME.
pub fn unix_from_filetime(ft: i64) -> i64 {
    ft / 10_000_000 - FILETIME_EPOCH_OFFSET
}

/// AD's GeneralizedTime form: `20261121224348.0Z`.
pub fn generalized_time(secs: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}.0Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => "16010101000000.0Z".to_string(),
    }
}

/// Parses `YYYYMMDDHHMM[SS][.f]Z` (and `±hhmm` offsets) into Unix seconds.
pub fn parse_generalized_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let year = digits(0..4)? as i32;
    let month = digits(4..6)? as u8;
    let day = digits(6..8)? as u8;
    let hour = digits(8..10)? as u8;
    let minute = digits(10..12)? as u8;
    let mut rest = s.get(12..)?;
    let mut second = 0u8;
    if rest.len() >= 2 && rest.as_bytes()[..2].iter().all(u8::is_ascii_digit) {
        second = rest[..2].parse().ok()?;
        rest = &rest[2..];
    }
    if let Some(frac) = rest.strip_prefix('.').or_else(|| rest.strip_prefix(',')) {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hh: i64 = rest.get(1..3)?.parse().ok()?;
            let mm: i64 = rest.get(3..5).map_or(Some(0), |m| m.parse().ok())?;
            sign * (hh * 3600 + mm * 60)
        }
    };
    let month = time::Month::try_from(month).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let t = date.with_hms(hour, minute, second).ok()?.assume_utc();
    Some(t.unix_timestamp() - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        let t = 1_795_300_000;
        assert_eq!(parse_generalized_time(&generalized_time(t)), Some(t));
        assert_eq!(
            parse_generalized_time("20261121224348Z"),
            parse_generalized_time("20261121224348.0Z")
        );
        assert_eq!(
            parse_generalized_time("202611212243Z").map(|x| x % 60),
            Some(0)
        );
        assert_eq!(
            parse_generalized_time("20261121224348+0100"),
            parse_generalized_time("20261121214348Z")
        );
        assert_eq!(parse_generalized_time("garbage"), None);
        assert_eq!(unix_from_filetime(filetime_from_unix(t)), t);
    }

    #[test]
    fn identities_are_stable_and_distinct() {
        assert_eq!(derive_guid(1, "cn=a"), derive_guid(1, "cn=a"));
        assert_ne!(derive_guid(1, "cn=a"), derive_guid(1, "cn=b"));
        assert_ne!(derive_guid(1, "cn=a"), derive_guid(2, "cn=a"));
        assert_eq!(derive_domain_sid(1, "corp.example.test").sub.len(), 4);
    }
}
