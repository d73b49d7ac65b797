//! Faults on demand, host by host: down, latency, dropped connections, busy, unavailable.

// Helpers outside #[test] fns are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use fake_dc::server::Fault;
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{LdapConnAsync, LdapConnSettings, Scope};

async fn refused(addr: std::net::SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_err()
}

/// Pages through every user; Err when the connection breaks mid-way.
async fn paged_users(ldap: &mut ldap3::Ldap) -> Result<usize, String> {
    let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(500)),
    ];
    let mut stream = ldap
        .streaming_search_with(
            adapters,
            DOMAIN,
            Scope::Subtree,
            "(objectClass=user)",
            vec!["1.1"],
        )
        .await
        .map_err(|e| e.to_string())?;
    let mut n = 0;
    loop {
        match stream.next().await {
            Ok(Some(_)) => n += 1,
            Ok(None) => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    let res = stream.finish().await;
    if res.rc == 0 {
        Ok(n)
    } else {
        Err(format!("rc {} after {n} entries", res.rc))
    }
}

#[tokio::test]
async fn a_down_host_refuses_connections_until_cleared() {
    let dc = start().await;
    let a = dc.addresses(DC1).unwrap();
    let mut open = svc(&dc).await;
    dc.fault(DC1, Fault::Down).await.unwrap();
    for addr in [a.ldap, a.ldaps, a.gc, a.gc_tls].into_iter().flatten() {
        assert!(refused(addr).await, "{addr} still accepts");
    }
    assert!(
        open.simple_bind(SVC_DN, SVC_PW).await.is_err(),
        "open connections are dropped too"
    );
    // dc2 serves on.
    let mut other = connect(ldap_addr(&dc, DC2)).await;
    other
        .simple_bind(SVC_DN, SVC_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    dc.clear_faults(DC1).await.unwrap();
    assert_eq!(
        dc.addresses(DC1).unwrap(),
        a,
        "same ports after coming back"
    );
    let mut back = svc(&dc).await;
    back.simple_bind(SVC_DN, SVC_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    dc.shutdown().await;
}

/// A down host keeps its ports bound: another server cannot take one, and a client's
/// connect cannot pick one as its source port (a loopback self-connect, where a TLS
/// client reads its own ClientHello back instead of being refused).
#[tokio::test]
async fn a_down_host_keeps_its_ports() {
    let dc = start().await;
    let a = dc.addresses(DC1).unwrap();
    dc.fault(DC1, Fault::Down).await.unwrap();
    for addr in [a.ldap, a.ldaps, a.gc, a.gc_tls].into_iter().flatten() {
        let other = tokio::net::TcpSocket::new_v4().unwrap();
        assert!(other.bind(addr).is_err(), "{addr} was given up while down");
        assert!(refused(addr).await, "{addr} accepts while down");
    }
    dc.clear_faults(DC1).await.unwrap();
    let mut back = svc(&dc).await;
    back.simple_bind(SVC_DN, SVC_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    dc.shutdown().await;
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    dc.fault(DC1, Fault::Latency(Duration::from_millis(300)))
        .await
        .unwrap();
    let started = Instant::now();
    ldap.simple_bind(SVC_DN, SVC_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    // A client timeout fires.
    let settings = LdapConnSettings::new().set_conn_timeout(Duration::from_secs(2));
    let (conn, mut slow) =
        LdapConnAsync::with_settings(settings, &format!("ldap://{}", ldap_addr(&dc, DC1)))
            .await
            .unwrap();
    ldap3::drive!(conn);
    let res = slow
        .with_timeout(Duration::from_millis(100))
        .simple_bind(SVC_DN, SVC_PW)
        .await;
    assert!(res.is_err(), "the bind should time out");
    dc.shutdown().await;
}

#[tokio::test]
async fn dropped_connections_mid_search() {
    let dc = start().await;
    dc.fault(DC1, Fault::DropAfterEntries(700)).await.unwrap();
    let mut ldap = svc(&dc).await;
    assert!(
        paged_users(&mut ldap).await.is_err(),
        "the connection drops after 700 entries"
    );
    dc.clear_faults(DC1).await.unwrap();
    dc.fault(DC1, Fault::DropOnPage(2)).await.unwrap();
    let mut ldap = svc(&dc).await;
    assert!(
        paged_users(&mut ldap).await.is_err(),
        "the connection drops when page 2 is asked for"
    );
    dc.clear_faults(DC1).await.unwrap();
    let mut ldap = svc(&dc).await;
    assert!(paged_users(&mut ldap).await.unwrap() > 1_600);
    dc.shutdown().await;
}

/// Pages through every user `page` at a time: the entries received, and whether the
/// search completed (false: the connection broke).
async fn users_received(ldap: &mut ldap3::Ldap, page: i32) -> (usize, bool) {
    let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(page)),
    ];
    let Ok(mut stream) = ldap
        .streaming_search_with(
            adapters,
            DOMAIN,
            Scope::Subtree,
            "(objectClass=user)",
            vec!["1.1"],
        )
        .await
    else {
        return (0, false);
    };
    let mut n = 0;
    loop {
        match stream.next().await {
            Ok(Some(_)) => n += 1,
            Ok(None) => break,
            Err(_) => return (n, false),
        }
    }
    (n, stream.finish().await.rc == 0)
}

/// `DropAfterEntries(n)` sends exactly n entries, whatever the page boundaries, then
/// drops; counting is per connection and across searches; a search needing no more than
/// n entries completes.
#[tokio::test]
async fn drop_after_entries_delivers_exactly_n_entries() {
    let dc = start().await;
    let total = users_received(&mut svc(&dc).await, 500).await;
    assert!(total.1 && total.0 > 1_600, "{total:?}");
    let total = total.0;
    for n in [0u64, 1, 499, 500, 501, 700, 1_000] {
        dc.fault(DC1, Fault::DropAfterEntries(n)).await.unwrap();
        let got = users_received(&mut svc(&dc).await, 500).await;
        assert_eq!(got, (n as usize, false), "DropAfterEntries({n})");
        dc.clear_faults(DC1).await.unwrap();
    }
    dc.fault(DC1, Fault::DropAfterEntries(total as u64))
        .await
        .unwrap();
    let got = users_received(&mut svc(&dc).await, 500).await;
    assert_eq!(got, (total, true), "exactly enough: no drop");
    // Per connection: a first search's entries count towards the limit of the second.
    dc.fault(DC1, Fault::DropAfterEntries(700)).await.unwrap();
    let mut ldap = svc(&dc).await;
    let (entries, res) = search(&mut ldap, ALICE, Scope::Base, "(objectClass=*)", &["1.1"]).await;
    assert_eq!((entries.len(), res.rc), (1, 0));
    assert_eq!(users_received(&mut ldap, 500).await, (699, false));
    dc.shutdown().await;
}

/// `DropOnPage(p)` serves pages 1 to p-1 in full and drops when page p is asked for.
#[tokio::test]
async fn drop_on_page_delivers_every_earlier_page() {
    let dc = start().await;
    for (page, size, expected) in [
        (1u32, 500, 0usize),
        (2, 500, 500),
        (3, 500, 1_000),
        (2, 7, 7),
    ] {
        dc.fault(DC1, Fault::DropOnPage(page)).await.unwrap();
        let got = users_received(&mut svc(&dc).await, size).await;
        assert_eq!(
            got,
            (expected, false),
            "DropOnPage({page}) with pages of {size}"
        );
        dc.clear_faults(DC1).await.unwrap();
    }
    // A search with fewer pages than p never reaches the fault.
    dc.fault(DC1, Fault::DropOnPage(9)).await.unwrap();
    let (n, completed) = users_received(&mut svc(&dc).await, 500).await;
    assert!(completed && n > 1_600, "{n} {completed}");
    dc.shutdown().await;
}

#[tokio::test]
async fn busy_and_unavailable() {
    let dc = start().await;
    dc.fault(DC1, Fault::Busy).await.unwrap();
    let mut ldap = connect(ldap_addr(&dc, DC1)).await;
    let res = ldap.simple_bind(SVC_DN, SVC_PW).await.unwrap();
    assert_eq!(res.rc, 51);
    dc.clear_faults(DC1).await.unwrap();
    let mut ldap = svc(&dc).await;
    dc.fault(DC1, Fault::Unavailable).await.unwrap();
    let (_, res) = search(&mut ldap, DOMAIN, Scope::Base, "(objectClass=*)", &["1.1"]).await;
    assert_eq!(res.rc, 52);
    assert!(dc.faults(DC1).unwrap().unavailable);
    dc.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_every_connection() {
    let dc = start().await;
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(svc(&dc).await);
    }
    tokio::time::timeout(Duration::from_secs(5), dc.shutdown())
        .await
        .expect("shutdown joins every task promptly");
    for c in &mut clients {
        assert!(c.simple_bind(SVC_DN, SVC_PW).await.is_err());
    }
}
