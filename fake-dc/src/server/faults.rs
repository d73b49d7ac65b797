//! Misbehaviour on demand, per simulated DC host, so a client's failure paths can be tested.
//!
//! Every fault is decided here and nowhere else. The rest of the server asks at a few
//! fixed points — before an operation ([`FaultSet::refusal`]), at a TLS handshake, while a
//! search pages or ranges, and on the way to the wire ([`FaultSet::on_the_wire`]) — and
//! does what the answer says, so a new fault is one variant and one answer in this file.
//! Nothing here touches a socket: the wire faults come back as a [`Wire`] plan that
//! `send.rs` writes.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use ldap3_proto::proto::{LdapMsg, LdapOp, LdapPartialAttribute, LdapResultCode};

use super::errors::LdapError;
use super::ids::IdQueue;
use super::paging::PagedSearch;
use crate::directory::EntryId;

/// One way a host can misbehave. Faults add up; `FakeDc::clear_faults` removes them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Every listener of the host is closed (connects are refused) and its open
    /// connections are dropped; clearing re-opens the listeners on the same ports.
    Down,
    /// Every response is held back this long (the whole reply of an operation).
    Latency(Duration),
    /// A connection is dropped once it has sent this many search entries in total
    /// (counted per connection, so with pages of 1,000 a value of 1,500 drops mid-page 2).
    DropAfterEntries(u64),
    /// A paged search's connection is dropped when the client asks for this page
    /// (1-based: 2 drops on the first request carrying a cookie).
    DropOnPage(u32),
    /// Every operation but unbind and abandon answers 51 busy.
    Busy,
    /// Every operation but unbind and abandon answers 52 unavailable.
    Unavailable,
    /// TLS handshakes (LDAPS, GC over TLS, StartTLS) fail: the server sends a fatal
    /// `handshake_failure` alert and closes.
    TlsHandshakeFailure,
    /// Protocol faults: the DC answers, but breaks LDAP inside the answer.
    Protocol(ProtocolFault),
}

/// Ways a DC can break the protocol in the middle of an answer, for testing how a sync
/// engine survives a misbehaving server (not just an absent one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolFault {
    /// After this many search entries on a connection, 64 bytes that are not BER are sent
    /// where the next message belongs; the answer then goes on.
    GarbageAfterEntries(u64),
    /// After this many search entries on a connection, the first half of the next message
    /// is sent and the connection closes.
    TruncateAfterEntries(u64),
    /// Search responses carry a message ID the client never sent.
    WrongMessageId,
    /// The first entry of every search answer carries a 10 MB `description` value.
    HugeValue,
    /// Paged searches never end: past the last entry the first entries come again, always
    /// with a cookie.
    EndlessPaging,
    /// Ranged retrieval never ends: every request for `member;range=L-*` past the first
    /// chunk is answered with the same `member;range=1500-2999`.
    EndlessRange,
    /// Every search but the rootDSE answers referral (10) pointing at this same host and
    /// base.
    SelfReferral,
    /// Every response is written one byte per second.
    SlowDrip,
    /// Each page of a paged search is missing every other entry, and still says more are
    /// to come (success, with a cookie).
    MissingEntries,
}

/// How large [`ProtocolFault::HugeValue`]'s value is: AD's whole MaxReceiveBuffer.
const HUGE_VALUE_BYTES: usize = 10 * 1024 * 1024;

/// The faults active on one host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultSet {
    /// Listeners closed.
    pub down: bool,
    /// Delay before each reply.
    pub latency: Option<Duration>,
    /// Drop after this many entries per connection.
    pub drop_after_entries: Option<u64>,
    /// Drop when this page number is requested.
    pub drop_on_page: Option<u32>,
    /// Answer 51.
    pub busy: bool,
    /// Answer 52.
    pub unavailable: bool,
    /// Fail TLS handshakes.
    pub tls_failure: bool,
    /// Garbage after this many entries.
    pub garbage_after_entries: Option<u64>,
    /// A cut message, then close, after this many entries.
    pub truncate_after_entries: Option<u64>,
    /// Wrong message IDs on search responses.
    pub wrong_message_id: bool,
    /// A 10 MB value in the first entry of each answer.
    pub huge_value: bool,
    /// Paged searches never end.
    pub endless_paging: bool,
    /// Ranged retrieval never ends.
    pub endless_range: bool,
    /// Searches answer a referral to themselves.
    pub self_referral: bool,
    /// One byte per second.
    pub slow_drip: bool,
    /// Pages miss every other entry.
    pub missing_entries: bool,
}

impl FaultSet {
    /// Adds one fault.
    pub fn add(&mut self, fault: Fault) {
        match fault {
            Fault::Down => self.down = true,
            Fault::Latency(d) => self.latency = Some(d),
            Fault::DropAfterEntries(n) => self.drop_after_entries = Some(n),
            Fault::DropOnPage(n) => self.drop_on_page = Some(n),
            Fault::Busy => self.busy = true,
            Fault::Unavailable => self.unavailable = true,
            Fault::TlsHandshakeFailure => self.tls_failure = true,
            Fault::Protocol(p) => match p {
                ProtocolFault::GarbageAfterEntries(n) => self.garbage_after_entries = Some(n),
                ProtocolFault::TruncateAfterEntries(n) => self.truncate_after_entries = Some(n),
                ProtocolFault::WrongMessageId => self.wrong_message_id = true,
                ProtocolFault::HugeValue => self.huge_value = true,
                ProtocolFault::EndlessPaging => self.endless_paging = true,
                ProtocolFault::EndlessRange => self.endless_range = true,
                ProtocolFault::SelfReferral => self.self_referral = true,
                ProtocolFault::SlowDrip => self.slow_drip = true,
                ProtocolFault::MissingEntries => self.missing_entries = true,
            },
        }
    }
}

/// A TLS 1.2-framed fatal `handshake_failure` alert (RFC 8446 §6: level 2, description 40).
/// Clients of any TLS version understand it before the handshake has settled a version.
const TLS_HANDSHAKE_FAILURE_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];

/// AD's text for result 51 (the DC is too busy, e.g. MaxActiveQueries reached).
const BUSY_TEXT: &str = "000020BE: SvcErr: DSID-03210B7D, problem 5001 (BUSY), data 0\n";

/// AD's text for result 52 (the DC is shutting down or not yet advertising).
const UNAVAILABLE_TEXT: &str =
    "00002079: SvcErr: DSID-03210B7D, problem 5002 (UNAVAILABLE), data 0\n";

/// Bytes that are not BER: a tag of 0xFF and a length no message has.
const GARBAGE: [u8; 64] = [0xFF; 64];

/// Added to a search response's message ID under `WrongMessageId`.
const WRONG_ID_OFFSET: i32 = 7_919;

/// One step of writing a reply, faults included; `send.rs` carries the steps out in order.
#[derive(Debug)]
pub(crate) enum Wire {
    /// Wait this long before anything else (`Latency`).
    Delay(Duration),
    /// A message, through the codec.
    Message(LdapMsg),
    /// A message written one byte a second (`SlowDrip`).
    Drip(LdapMsg),
    /// Bytes that are not a message (`GarbageAfterEntries`).
    Raw(&'static [u8]),
    /// The first half of a message, then close (`TruncateAfterEntries`).
    Cut(LdapMsg),
    /// Flush what went before, then close (`DropAfterEntries`).
    Close,
}

impl FaultSet {
    /// `Busy` or `Unavailable`: what every operation but unbind and abandon answers instead.
    pub(crate) fn refusal(&self) -> Option<LdapError> {
        if self.busy {
            Some(LdapError::new(LdapResultCode::Busy, BUSY_TEXT))
        } else if self.unavailable {
            Some(LdapError::new(
                LdapResultCode::Unavailable,
                UNAVAILABLE_TEXT,
            ))
        } else {
            None
        }
    }

    /// `TlsHandshakeFailure`: the bytes to send, then close, instead of a handshake.
    pub(crate) fn handshake_refusal(&self) -> Option<&'static [u8]> {
        self.tls_failure.then_some(&TLS_HANDSHAKE_FAILURE_ALERT[..])
    }

    /// `SelfReferral`: what a search below the rootDSE answers instead of its entries.
    pub(crate) fn search_refusal(
        &self,
        host: &str,
        base: &str,
        peer: &SocketAddr,
    ) -> Option<LdapError> {
        if !self.self_referral {
            return None;
        }
        tracing::info!(%peer, "fault: referral to this same host");
        Some(LdapError::referral(host, base))
    }

    /// `EndlessPaging`: the first page's matches, kept to be served again past the end.
    pub(crate) fn replay(&self, ids: &[EntryId], page_size: usize) -> Vec<EntryId> {
        if self.endless_paging {
            ids.iter().take(page_size).copied().collect()
        } else {
            Vec::new()
        }
    }

    /// `DropOnPage`: whether asking for page `page` (1-based) closes the connection.
    pub(crate) fn drops_page(&self, page: u32, peer: &SocketAddr) -> bool {
        let drops = self.drop_on_page == Some(page);
        if drops {
            tracing::info!(%peer, page, "fault: dropping connection on page");
        }
        drops
    }

    /// `EndlessPaging`, met at the end of the matches in the middle of a page: refills the
    /// search from its replay and says so. At most once a page (`refilled` remembers), so
    /// a replay of entries that are all unreadable still ends the page.
    pub(crate) fn start_over(
        &self,
        search: &mut PagedSearch,
        refilled: &mut bool,
        peer: &SocketAddr,
    ) -> bool {
        if !self.endless_paging || *refilled || search.replay.is_empty() {
            return false;
        }
        tracing::info!(%peer, page = search.pages, "fault: the paged search starts over");
        search.remaining = IdQueue::new(search.replay.iter().copied());
        *refilled = true;
        true
    }

    /// `MissingEntries`, after an entry went into the page: the next match is silently
    /// left out.
    pub(crate) fn after_entry(&self, search: &mut PagedSearch) {
        if self.missing_entries {
            search.remaining.pop_front();
        }
    }

    /// At the end of a page of `taken` entries: `EndlessPaging` refills a search that ran
    /// out, so it never ends; the answer is whether to promise more although none are
    /// left (`MissingEntries`, so the short page it made is one a careful client notices).
    pub(crate) fn end_page(&self, search: &mut PagedSearch, taken: usize) -> bool {
        if self.endless_paging && search.remaining.is_empty() {
            search.remaining = IdQueue::new(search.replay.iter().copied());
        }
        self.missing_entries && taken > 0
    }

    /// `EndlessRange`: for a request of `range=lo-…` on an attribute of `n` values, chunks
    /// of `max`, the values to return and the upper bound to claim instead of the true
    /// ones: always the second chunk, never `…-*`.
    pub(crate) fn repeated_range(
        &self,
        lo: usize,
        n: usize,
        max: usize,
    ) -> Option<(RangeInclusive<usize>, usize)> {
        if !self.endless_range || lo < max || n <= max {
            return None;
        }
        let claimed = 2 * max - 1;
        Some((max..=claimed.min(n - 1), claimed))
    }

    /// How to write `messages`, with the faults that act on the wire. `entries_sent` is the
    /// connection's count of search entries so far, which the entry faults count from.
    pub(crate) fn on_the_wire(
        &self,
        messages: Vec<LdapMsg>,
        entries_sent: &mut u64,
        peer: &SocketAddr,
    ) -> Vec<Wire> {
        let mut plan = Vec::with_capacity(messages.len() + 1);
        if let Some(delay) = self.latency {
            plan.push(Wire::Delay(delay));
        }
        let mut first_entry = true;
        for mut msg in messages {
            let is_search = matches!(
                msg.op,
                LdapOp::SearchResultEntry(_)
                    | LdapOp::SearchResultDone(_)
                    | LdapOp::SearchResultReference(_)
            );
            if let LdapOp::SearchResultEntry(entry) = &mut msg.op {
                let sent = *entries_sent;
                if self.drop_after_entries.is_some_and(|n| sent >= n) {
                    tracing::info!(%peer, sent, "fault: dropping connection after entries");
                    plan.push(Wire::Close);
                    return plan;
                }
                if self.garbage_after_entries == Some(sent) {
                    tracing::info!(%peer, sent, "fault: garbage in the answer");
                    plan.push(Wire::Raw(&GARBAGE));
                }
                if self.truncate_after_entries == Some(sent) {
                    tracing::info!(%peer, sent, "fault: cutting a message and closing");
                    plan.push(Wire::Cut(msg));
                    return plan;
                }
                if self.huge_value && first_entry {
                    entry.attributes.push(LdapPartialAttribute {
                        atype: "description".into(),
                        vals: vec![vec![b'x'; HUGE_VALUE_BYTES]],
                    });
                }
                first_entry = false;
                *entries_sent += 1;
            }
            if self.wrong_message_id && is_search {
                msg.msgid = msg.msgid.saturating_add(WRONG_ID_OFFSET);
            }
            plan.push(if self.slow_drip {
                Wire::Drip(msg)
            } else {
                Wire::Message(msg)
            });
        }
        plan
    }
}
