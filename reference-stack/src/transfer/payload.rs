//! The payload format: the snapshot framed, versioned and authenticated for one site.
//!
//! ```text
//! "HSYN"  version:u16be  site-id-len:u16be  site-id  body-len:u64be  mac[32]  body
//! ```
//!
//! The body is the snapshot as compact JSON. The MAC is HMAC-SHA256 keyed by the site's
//! binding secret over everything before it plus the body, so the version, the site and
//! the length are authenticated too. A payload of another version, shorter or longer than
//! its length says, for another site, or with any byte changed is refused
//! ([`TransferError`]) before the body is parsed, and nothing is applied.
//!
//! HMAC comes from `ring`, already in the tree as rustls's crypto provider: no new crate
//! to vet, and `ring::hmac::verify` compares in constant time.

use ring::hmac;

use super::TransferError;
use crate::snapshot::DirectorySnapshot;

/// The payload format this build writes and reads.
pub const PAYLOAD_VERSION: u16 = 1;

/// The largest payload accepted (a 100,000-user directory is about 30 MB).
pub const MAX_PAYLOAD_BYTES: u64 = 512 * 1024 * 1024;

const MAGIC: &[u8; 4] = b"HSYN";
const MAC_LEN: usize = 32;

/// An agent site's binding credentials: the site's name and the secret shared with the
/// cloud when the site was bound.
#[derive(Clone, PartialEq, Eq)]
pub struct SiteBinding {
    /// The site's identifier, sent in the clear.
    pub site_id: String,
    /// The shared secret; keys the payload's MAC, never sent.
    pub secret: String,
}

impl std::fmt::Debug for SiteBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteBinding")
            .field("site_id", &self.site_id)
            .field("secret", &"<hidden>")
            .finish()
    }
}

impl SiteBinding {
    /// A binding from a site id and secret.
    pub fn new(site_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            site_id: site_id.into(),
            secret: secret.into(),
        }
    }

    fn key(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, self.secret.as_bytes())
    }
}

/// Encodes a snapshot for `site`.
pub fn encode(site: &SiteBinding, snapshot: &DirectorySnapshot) -> Result<Vec<u8>, TransferError> {
    let body = serde_json::to_vec(snapshot).map_err(|e| TransferError::Body(e.to_string()))?;
    let site_id = site.site_id.as_bytes();
    let site_len =
        u16::try_from(site_id.len()).map_err(|_| TransferError::SiteIdTooLong(site_id.len()))?;
    let mut out = Vec::with_capacity(body.len() + site_id.len() + 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&PAYLOAD_VERSION.to_be_bytes());
    out.extend_from_slice(&site_len.to_be_bytes());
    out.extend_from_slice(site_id);
    out.extend_from_slice(&(body.len() as u64).to_be_bytes());
    let mut context = hmac::Context::with_key(&site.key());
    context.update(&out);
    context.update(&body);
    out.extend_from_slice(context.sign().as_ref());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads the site id a payload claims, so the receiver can pick that site's binding.
pub fn site_of(payload: &[u8]) -> Result<String, TransferError> {
    let header = Header::read(payload)?;
    Ok(header.site_id.to_owned())
}

struct Header<'a> {
    site_id: &'a str,
    /// Bytes covered by the MAC before the body.
    signed_head: &'a [u8],
    mac: &'a [u8],
    body: &'a [u8],
}

impl<'a> Header<'a> {
    fn read(payload: &'a [u8]) -> Result<Self, TransferError> {
        let truncated = |expected: usize| TransferError::Truncated {
            expected: expected as u64,
            got: payload.len() as u64,
        };
        if payload.len() < 4 {
            return if MAGIC.starts_with(payload) {
                Err(truncated(4))
            } else {
                Err(TransferError::NotAPayload)
            };
        }
        if &payload[..4] != MAGIC {
            return Err(TransferError::NotAPayload);
        }
        let version = u16::from_be_bytes([
            *payload.get(4).ok_or_else(|| truncated(6))?,
            *payload.get(5).ok_or_else(|| truncated(6))?,
        ]);
        if version != PAYLOAD_VERSION {
            return Err(TransferError::Version { found: version });
        }
        let site_len = u16::from_be_bytes([
            *payload.get(6).ok_or_else(|| truncated(8))?,
            *payload.get(7).ok_or_else(|| truncated(8))?,
        ]) as usize;
        let site_end = 8 + site_len;
        let site_id = payload
            .get(8..site_end)
            .ok_or_else(|| truncated(site_end))?;
        let site_id = std::str::from_utf8(site_id).map_err(|_| TransferError::NotAPayload)?;
        let len_end = site_end + 8;
        let len_bytes: [u8; 8] = payload
            .get(site_end..len_end)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| truncated(len_end))?;
        let body_len = u64::from_be_bytes(len_bytes);
        if body_len > MAX_PAYLOAD_BYTES {
            return Err(TransferError::TooLarge(body_len));
        }
        let mac_end = len_end + MAC_LEN;
        let total = mac_end as u64 + body_len;
        if (payload.len() as u64) < total {
            return Err(TransferError::Truncated {
                expected: total,
                got: payload.len() as u64,
            });
        }
        if (payload.len() as u64) > total {
            return Err(TransferError::Trailing(payload.len() - total as usize));
        }
        Ok(Self {
            site_id,
            signed_head: &payload[..len_end],
            mac: &payload[len_end..mac_end],
            body: &payload[mac_end..],
        })
    }
}

/// Checks a payload for `site` and returns the snapshot it carries.
pub fn decode(site: &SiteBinding, payload: &[u8]) -> Result<DirectorySnapshot, TransferError> {
    let header = Header::read(payload)?;
    if header.site_id != site.site_id {
        return Err(TransferError::WrongSite {
            expected: site.site_id.clone(),
            found: header.site_id.to_owned(),
        });
    }
    let mut signed = Vec::with_capacity(header.signed_head.len() + header.body.len());
    signed.extend_from_slice(header.signed_head);
    signed.extend_from_slice(header.body);
    hmac::verify(&site.key(), &signed, header.mac)
        .map_err(|_| TransferError::Tampered(site.site_id.clone()))?;
    serde_json::from_slice(header.body).map_err(|e| TransferError::Body(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> DirectorySnapshot {
        serde_yaml::from_str(
            "users:\n  - { guid: 00000000-0000-0000-0000-000000000001, dn: 'CN=A,DC=x', primary: a@x.test }\n",
        )
        .unwrap()
    }

    #[test]
    fn a_payload_round_trips() {
        let site = SiteBinding::new("site-1", "secret");
        let payload = encode(&site, &snapshot()).unwrap();
        assert_eq!(decode(&site, &payload).unwrap(), snapshot());
        assert_eq!(site_of(&payload).unwrap(), "site-1");
    }

    #[test]
    fn version_truncation_tampering_and_wrong_keys_are_refused() {
        let site = SiteBinding::new("site-1", "secret");
        let payload = encode(&site, &snapshot()).unwrap();

        let mut other_version = payload.clone();
        other_version[5] = 2;
        assert!(matches!(
            decode(&site, &other_version),
            Err(TransferError::Version { found: 2 })
        ));

        for cut in [0, 3, 7, 20, payload.len() - 1] {
            let result = decode(&site, &payload[..cut]);
            assert!(
                matches!(result, Err(TransferError::Truncated { .. })),
                "cut at {cut}: {result:?}"
            );
        }

        let mut tampered = payload.clone();
        let last = tampered.len() - 2;
        tampered[last] ^= 0x20;
        assert!(matches!(
            decode(&site, &tampered),
            Err(TransferError::Tampered(_))
        ));

        let other_secret = SiteBinding::new("site-1", "other");
        assert!(matches!(
            decode(&other_secret, &payload),
            Err(TransferError::Tampered(_))
        ));
        let other_site = SiteBinding::new("site-2", "secret");
        assert!(matches!(
            decode(&other_site, &payload),
            Err(TransferError::WrongSite { .. })
        ));

        let mut longer = payload.clone();
        longer.push(0);
        assert!(matches!(
            decode(&site, &longer),
            Err(TransferError::Trailing(1))
        ));
        assert!(matches!(
            decode(&site, b"GET / HTTP/1.1"),
            Err(TransferError::NotAPayload)
        ));
    }
}
