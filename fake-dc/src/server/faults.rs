//! Misbehaviour on demand, per simulated DC host, so a client's failure paths can be tested.

use std::time::Duration;

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
pub const HUGE_VALUE_BYTES: usize = 10 * 1024 * 1024;

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
pub const TLS_HANDSHAKE_FAILURE_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];

/// AD's text for result 51 (the DC is too busy, e.g. MaxActiveQueries reached).
pub const BUSY_TEXT: &str = "000020BE: SvcErr: DSID-03210B7D, problem 5001 (BUSY), data 0\n";

/// AD's text for result 52 (the DC is shutting down or not yet advertising).
pub const UNAVAILABLE_TEXT: &str =
    "00002079: SvcErr: DSID-03210B7D, problem 5002 (UNAVAILABLE), data 0\n";
