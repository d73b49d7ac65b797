//! Paged results (RFC 2696, control 1.2.840.113556.1.4.319) with AD's rules: at most
//! MaxPageSize (1,000) entries a page whatever the client asks, cookies opaque and valid
//! only on the connection that got them, a cookie nobody handed out → 53, a cookie sent
//! with a different search → 12.
//!
//! A paged search keeps the ids matched on its first page (a snapshot, like AD's result
//! set): later pages skip entries deleted or hidden since, and never show entries created
//! since. Like Samba, a connection keeps at most [`MAX_PAGED_SEARCHES`] searches open;
//! opening one more forgets the oldest, which bounds the memory a client can pin.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;

use ldap3_lber::common::TagClass;
use ldap3_lber::parse::Parser;
use ldap3_lber::structure::PL;

use super::codec::{ber_int, SearchRequest};
use super::ids::IdQueue;
use crate::directory::EntryId;

/// The paged-results control's OID.
pub const PAGED_OID: &str = "1.2.840.113556.1.4.319";

/// Paged searches one connection may keep open.
pub const MAX_PAGED_SEARCHES: usize = 10;

/// A decoded request control value: `SEQUENCE { size INTEGER, cookie OCTET STRING }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Entries wanted; 0 abandons the search (RFC 2696 §3).
    pub size: i64,
    /// Empty on the first page.
    pub cookie: Vec<u8>,
}

/// Decodes the control value; `None` when it is not what RFC 2696 §2 says.
pub fn decode_page_request(value: &[u8]) -> Option<PageRequest> {
    let (rest, tag) = Parser::new(4).parse(value).ok()?;
    if !rest.is_empty() || tag.class != TagClass::Universal || tag.id != 16 {
        return None;
    }
    let PL::C(inner) = tag.payload else {
        return None;
    };
    let [size, cookie] = <[_; 2]>::try_from(inner).ok()?;
    let (PL::P(size), PL::P(cookie)) = (size.payload, cookie.payload) else {
        return None;
    };
    Some(PageRequest {
        size: ber_int(&size)?,
        cookie,
    })
}

/// One paged search in progress.
#[derive(Debug)]
pub struct PagedSearch {
    /// Hash of base, scope and filter: a cookie must come back with the same search.
    pub fingerprint: u64,
    /// Matched ids not yet sent, in order, compactly.
    pub remaining: IdQueue,
    /// Continuation references to send with the last page.
    pub references: Vec<String>,
    /// Pages served so far (the next one is `pages + 1`).
    pub pages: u32,
    /// Entries sent so far (for the request's size limit).
    pub sent: usize,
    /// The first matches again, served past the end under the `EndlessPaging` fault.
    pub replay: Vec<EntryId>,
}

/// A connection's paged searches.
#[derive(Debug)]
pub struct Paging {
    /// Open searches by cookie.
    open: HashMap<Vec<u8>, PagedSearch>,
    /// Cookies oldest first, to forget the oldest past the limit.
    order: VecDeque<Vec<u8>>,
    /// Per-connection salt: another connection's cookie never matches here.
    salt: u64,
    /// Cookie counter.
    next: u64,
}

/// Why a cookie was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieError {
    /// Never handed out on this connection, or already used up: 53.
    Unknown,
    /// Handed out for another search: 12.
    OtherSearch,
}

impl Paging {
    /// Empty state; `peer` and the clock seed the salt.
    pub fn new(peer: &SocketAddr) -> Self {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        peer.hash(&mut h);
        std::time::SystemTime::now().hash(&mut h);
        Paging {
            open: HashMap::new(),
            order: VecDeque::new(),
            salt: h.finish(),
            next: 0,
        }
    }

    /// Forgets every search (a new bind).
    pub fn clear(&mut self) {
        self.open.clear();
        self.order.clear();
    }

    /// The fingerprint of a search, for matching cookies to searches.
    pub fn fingerprint(req: &SearchRequest) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        req.base.to_ascii_lowercase().hash(&mut h);
        (req.scope as u8).hash(&mut h);
        req.filter.hash(&mut h);
        h.finish()
    }

    /// Takes the search a cookie continues.
    pub fn take(&mut self, cookie: &[u8], fingerprint: u64) -> Result<PagedSearch, CookieError> {
        match self.open.get(cookie) {
            None => Err(CookieError::Unknown),
            Some(s) if s.fingerprint != fingerprint => Err(CookieError::OtherSearch),
            Some(_) => {
                self.order.retain(|c| c != cookie);
                self.open.remove(cookie).ok_or(CookieError::Unknown)
            }
        }
    }

    /// Stores a search to continue and returns its new cookie.
    pub fn keep(&mut self, search: PagedSearch) -> Vec<u8> {
        self.next += 1;
        let mut cookie = Vec::with_capacity(16);
        cookie.extend_from_slice(&self.salt.to_be_bytes());
        cookie.extend_from_slice(&self.next.to_be_bytes());
        while self.order.len() >= MAX_PAGED_SEARCHES {
            if let Some(old) = self.order.pop_front() {
                self.open.remove(&old);
            }
        }
        self.order.push_back(cookie.clone());
        self.open.insert(cookie.clone(), search);
        cookie
    }

    /// Open searches (for tests).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_per_connection_and_bounded() {
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut a = Paging::new(&peer);
        let mut b = Paging::new(&"127.0.0.1:2".parse().unwrap());
        let s = || PagedSearch {
            fingerprint: 1,
            remaining: IdQueue::default(),
            references: vec![],
            pages: 1,
            sent: 0,
            replay: vec![],
        };
        let cookie = a.keep(s());
        assert_eq!(b.take(&cookie, 1).unwrap_err(), CookieError::Unknown);
        assert_eq!(a.take(&cookie, 2).unwrap_err(), CookieError::OtherSearch);
        assert!(a.take(&cookie, 1).is_ok());
        assert_eq!(a.take(&cookie, 1).unwrap_err(), CookieError::Unknown);
        for _ in 0..25 {
            a.keep(s());
        }
        assert_eq!(a.len(), MAX_PAGED_SEARCHES);
    }

    #[test]
    fn control_value_decodes() {
        // SEQUENCE { INTEGER 1000, OCTET STRING "" }
        let v = [0x30, 0x06, 0x02, 0x02, 0x03, 0xe8, 0x04, 0x00];
        assert_eq!(
            decode_page_request(&v),
            Some(PageRequest {
                size: 1000,
                cookie: vec![]
            })
        );
        assert_eq!(decode_page_request(&[0x30, 0x00]), None);
        assert_eq!(decode_page_request(&[0xff]), None);
    }
}
