//! Hostile input: malformed BER, oversized and deeply nested requests, bad message ids,
//! unknown operations, half-open connections and floods get a notice of disconnection or
//! a closed connection — and the server keeps serving everyone else.

// Helpers outside #[test] fns are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::*;
use fake_dc::policy::QueryPolicy;
use fake_dc::server::codec::LdapServerCodec;
use fake_dc::server::ServerOptions;
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder;

const NOTICE_OID: &[u8] = b"1.3.6.1.4.1.1466.20036";

/// BER TLV with a definite length.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let n = content.len();
    let mut v = vec![tag];
    if n < 0x80 {
        v.push(n as u8);
    } else if n < 0x100 {
        v.extend([0x81, n as u8]);
    } else if n < 0x1_0000 {
        v.extend([0x82, (n >> 8) as u8, n as u8]);
    } else {
        v.extend([0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(content);
    v
}

/// A subtree search from "" with the given message id bytes and filter.
fn search_msg(msgid: &[u8], filter: Vec<u8>) -> Vec<u8> {
    let body = [
        tlv(0x04, b""),
        tlv(0x0a, &[2]),
        tlv(0x0a, &[0]),
        tlv(0x02, &[0]),
        tlv(0x02, &[0]),
        tlv(0x01, &[0]),
        filter,
        tlv(0x30, &[]),
    ]
    .concat();
    tlv(0x30, &[tlv(0x02, msgid), tlv(0x63, &body)].concat())
}

/// Sends bytes and reads until the server closes (or 5 s pass).
async fn send_and_drain(addr: SocketAddr, bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(bytes).await;
    let mut out = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .is_ok();
    (out, closed)
}

fn has_notice(bytes: &[u8]) -> bool {
    bytes.windows(NOTICE_OID.len()).any(|w| w == NOTICE_OID)
}

async fn still_serves(addr: SocketAddr) {
    let mut ldap = connect(addr).await;
    ldap.simple_bind(SVC_DN, SVC_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
}

#[tokio::test]
async fn malformed_requests_get_a_notice_of_disconnection() {
    let dc = start().await;
    let addr = ldap_addr(&dc, DC1);
    let deep = (0..300).fold(tlv(0x87, b"cn"), |inner, _| tlv(0xa2, &inner));
    let unknown_op = tlv(0x30, &[tlv(0x02, &[1]), tlv(0x7e, &[])].concat());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "not LDAP at all",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
        (
            "truncated searchRequest",
            tlv(0x30, &[tlv(0x02, &[1]), tlv(0x63, &[])].concat()),
        ),
        ("negative message id", search_msg(&[0xff], tlv(0x87, b"cn"))),
        ("filter nested 300 deep", search_msg(&[1], deep)),
        ("unknown protocolOp", unknown_op),
        (
            "a response sent as a request",
            tlv(
                0x30,
                &[
                    tlv(0x02, &[1]),
                    tlv(
                        0x61,
                        &[tlv(0x0a, &[0]), tlv(0x04, b""), tlv(0x04, b"")].concat(),
                    ),
                ]
                .concat(),
            ),
        ),
        (
            "indefinite length",
            vec![0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00],
        ),
    ];
    for (what, bytes) in cases {
        let (answer, closed) = send_and_drain(addr, &bytes).await;
        assert!(closed, "{what}: the server closes the connection");
        assert!(
            has_notice(&answer),
            "{what}: notice of disconnection expected, got {answer:02x?}"
        );
    }
    still_serves(addr).await;
    dc.shutdown().await;
}

#[tokio::test]
async fn oversized_requests_close_at_once() {
    let dc = start_with(ServerOptions {
        policy: QueryPolicy {
            max_receive_buffer: 64 * 1024,
            ..QueryPolicy::default()
        },
        ..ServerOptions::default()
    })
    .await;
    let addr = ldap_addr(&dc, DC1);
    // The header announces 16 MiB; nothing more is sent: the server must not wait for it.
    let started = Instant::now();
    let (answer, closed) = send_and_drain(addr, &[0x30, 0x84, 0x01, 0x00, 0x00, 0x00]).await;
    assert!(closed && answer.is_empty());
    assert!(started.elapsed() < Duration::from_secs(2));
    // Just under the limit is fine: a filter with a 60 KB value.
    let mut ldap = svc(&dc).await;
    let big = "x".repeat(60_000);
    let (e, res) = search(
        &mut ldap,
        DOMAIN,
        ldap3::Scope::Subtree,
        &format!("(description={big})"),
        &["1.1"],
    )
    .await;
    assert_eq!((e.len(), res.rc), (0, 0));
    dc.shutdown().await;
}

#[tokio::test]
async fn a_default_server_accepts_requests_far_over_32_kib() {
    // ldap3_proto's default codec closes at 32 KiB; AD accepts 10 MB.
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    let big = "y".repeat(1_000_000);
    let (_, res) = search(
        &mut ldap,
        DOMAIN,
        ldap3::Scope::Subtree,
        &format!("(description={big})"),
        &["1.1"],
    )
    .await;
    assert_eq!(res.rc, 0);
    dc.shutdown().await;
}

#[tokio::test]
async fn half_open_connections_time_out() {
    let dc = start_with(ServerOptions {
        policy: QueryPolicy {
            max_conn_idle_time: Duration::from_millis(500),
            ..QueryPolicy::default()
        },
        ..ServerOptions::default()
    })
    .await;
    let addr = ldap_addr(&dc, DC1);
    let started = Instant::now();
    // Half a frame, then silence.
    let (_, closed) = send_and_drain(addr, &[0x30, 0x0c, 0x02, 0x01]).await;
    assert!(closed && started.elapsed() < Duration::from_secs(3));
    // A TLS port with no handshake at all times out the same way.
    let started = Instant::now();
    let (_, closed) = send_and_drain(dc.addresses(DC1).unwrap().ldaps.unwrap(), &[]).await;
    assert!(closed && started.elapsed() < Duration::from_secs(3));
    dc.shutdown().await;
}

#[tokio::test]
async fn connection_floods_are_bounded() {
    let dc = start_with(ServerOptions {
        policy: QueryPolicy {
            max_connections: 8,
            ..QueryPolicy::default()
        },
        ..ServerOptions::default()
    })
    .await;
    let addr = ldap_addr(&dc, DC1);
    let mut socks = Vec::new();
    for _ in 0..40 {
        socks.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut closed = 0;
    for s in &mut socks {
        let mut buf = [0u8; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await
        {
            closed += 1;
        }
    }
    assert!(closed >= 32, "only 8 slots: {closed} of 40 closed");
    drop(socks);
    // Slots come back once the flood is gone.
    tokio::time::sleep(Duration::from_millis(200)).await;
    still_serves(addr).await;
    dc.shutdown().await;
}

#[tokio::test]
async fn unknown_extended_operations_are_protocol_errors() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    let exop = ldap3::exop::Exop {
        name: Some("1.2.3.4.5".into()),
        val: None,
    };
    let res = ldap.extended(exop).await.unwrap();
    assert_eq!(res.1.rc, 2);
    still_serves(ldap_addr(&dc, DC1)).await;
    dc.shutdown().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// Random bytes never panic the decoder, and whatever it refuses is an error, not a hang.
    #[test]
    fn the_codec_survives_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut codec = LdapServerCodec::new(4096, 16);
        let mut buf = BytesMut::from(&bytes[..]);
        for _ in 0..64 {
            match codec.decode(&mut buf) {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => break,
            }
        }
    }

    /// Valid frames with random bytes flipped never panic either.
    #[test]
    fn the_codec_survives_mutated_searches(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let filter = tlv(0xa0, &[tlv(0xa3, &[tlv(0x04, b"objectGUID"), tlv(0x04, &[0xd2, 0x8d, 0xff, 0x00])].concat()), tlv(0x87, b"mail")].concat());
        let mut bytes = search_msg(&[7], filter);
        for (i, b) in flips {
            let i = i.index(bytes.len());
            bytes[i] = b;
        }
        let mut codec = LdapServerCodec::default();
        let mut buf = BytesMut::from(&bytes[..]);
        let _ = codec.decode(&mut buf);
    }
}
