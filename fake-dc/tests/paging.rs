//! Paged results (AD's MaxPageSize and cookie rules) and ranged retrieval (MaxValRange).

// Helpers outside #[test] fns are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use common::*;
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::controls::{PagedResults as PagedControl, RawControl};
use ldap3::{Ldap, Scope, SearchEntry};

/// One page request with a raw paged-results control; returns (entries, rc, cookie).
async fn page(ldap: &mut Ldap, filter: &str, size: i32, cookie: Vec<u8>) -> (usize, u32, Vec<u8>) {
    let ctrl: RawControl = PagedControl { size, cookie }.into();
    let ldap3::SearchResult(raw, res) = ldap
        .with_controls(ctrl)
        .search(DOMAIN, Scope::Subtree, filter, vec!["1.1"])
        .await
        .unwrap();
    let cookie = res
        .ctrls
        .iter()
        .find(|c| c.1.ctype == "1.2.840.113556.1.4.319")
        .map(|c| c.1.parse::<PagedControl>().cookie)
        .unwrap_or_default();
    (raw.iter().filter(|e| !e.is_ref()).count(), res.rc, cookie)
}

#[tokio::test]
async fn a_paged_subtree_search_returns_every_entry_once() {
    let dc = start().await;
    // objectClass=user matches computers too (their class chain includes user).
    let expected = dc.with_directory(|d| {
        use fake_dc::schema::ObjectKind::{Computer, User};
        d.of_kind(User)
            .chain(d.of_kind(Computer))
            .filter(|id| d.naming_context(*id) == d.domains[0].head)
            .count()
    });
    assert!(expected > 1_600);
    let mut ldap = svc(&dc).await;
    let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(400)),
    ];
    let mut stream = ldap
        .streaming_search_with(
            adapters,
            DOMAIN,
            Scope::Subtree,
            "(objectClass=user)",
            vec!["sAMAccountName"],
        )
        .await
        .unwrap();
    let mut seen = HashSet::new();
    while let Some(entry) = stream.next().await.unwrap() {
        let e = SearchEntry::construct(entry);
        assert!(seen.insert(e.dn), "an entry came twice");
    }
    let res = stream.finish().await;
    assert_eq!(res.rc, 0);
    assert_eq!(seen.len(), expected);
    dc.shutdown().await;
}

#[tokio::test]
async fn pages_are_cut_to_1000_and_cookies_follow_ad_rules() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    let (n, rc, cookie) = page(&mut ldap, "(objectClass=user)", 5_000, Vec::new()).await;
    assert_eq!(
        (n, rc),
        (1_000, 0),
        "a page larger than MaxPageSize is cut to 1,000"
    );
    assert!(!cookie.is_empty());
    // The same cookie with another filter: 12.
    let (_, rc, _) = page(&mut ldap, "(objectClass=group)", 1_000, cookie.clone()).await;
    assert_eq!(rc, 12);
    // A bogus cookie: 53.
    let (_, rc, _) = page(
        &mut ldap,
        "(objectClass=user)",
        1_000,
        b"not a cookie".to_vec(),
    )
    .await;
    assert_eq!(rc, 53);
    // Another connection's cookie is bogus there.
    let mut other = svc(&dc).await;
    let (_, rc, _) = page(&mut other, "(objectClass=user)", 1_000, cookie.clone()).await;
    assert_eq!(rc, 53, "cookies are valid only on their connection");
    // The right one continues; the last page has an empty cookie.
    let (n, rc, next) = page(&mut ldap, "(objectClass=user)", 1_000, cookie).await;
    assert_eq!(rc, 0);
    assert!(n > 600 && next.is_empty(), "{n} entries, cookie {next:?}");
    dc.shutdown().await;
}

#[tokio::test]
async fn a_zero_page_size_abandons_the_search() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    let (_, _, cookie) = page(&mut ldap, "(objectClass=user)", 10, Vec::new()).await;
    let (n, rc, next) = page(&mut ldap, "(objectClass=user)", 0, cookie.clone()).await;
    assert_eq!((n, rc, next.is_empty()), (0, 0, true));
    let (_, rc, _) = page(&mut ldap, "(objectClass=user)", 10, cookie).await;
    assert_eq!(rc, 53, "an abandoned search's cookie is gone");
    dc.shutdown().await;
}

/// The attribute names and value counts of the big group for the requested attributes.
async fn group_attrs(ldap: &mut Ldap, group: &str, attrs: &[&str]) -> Vec<(String, usize)> {
    let ldap3::SearchResult(raw, res) = ldap
        .search(group, Scope::Base, "(objectClass=*)", attrs.to_vec())
        .await
        .unwrap();
    assert_eq!(res.rc, 0);
    let e = SearchEntry::construct(raw.into_iter().next().unwrap());
    let mut out: Vec<(String, usize)> = e.attrs.into_iter().map(|(k, v)| (k, v.len())).collect();
    out.sort();
    out
}

#[tokio::test]
async fn large_groups_come_back_in_ranges() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    let s = |v: &[(&str, usize)]| {
        v.iter()
            .map(|(a, n)| (a.to_string(), *n))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        group_attrs(&mut ldap, BIG_GROUP, &["member"]).await,
        s(&[("member", 0), ("member;range=0-1499", 1500)])
    );
    assert_eq!(
        group_attrs(&mut ldap, BIG_GROUP, &["member;range=1500-*"]).await,
        s(&[("member;range=1500-*", 100)])
    );
    assert_eq!(
        group_attrs(&mut ldap, BIG_GROUP, &["member;range=0-99"]).await,
        s(&[("member;range=0-99", 100)])
    );
    assert_eq!(
        group_attrs(&mut ldap, BIG_GROUP, &["member;range=1000-1999"]).await,
        s(&[("member;range=1000-*", 600)]),
        "an explicit end past the last value is renamed …-*"
    );
    assert_eq!(
        group_attrs(&mut ldap, BIG_GROUP, &["member;range=0-*"]).await,
        s(&[("member;range=0-1499", 1500)])
    );
    assert!(
        group_attrs(&mut ldap, BIG_GROUP, &["member;range=2000-*"])
            .await
            .is_empty(),
        "past the end: dropped"
    );
    assert!(
        group_attrs(&mut ldap, BIG_GROUP, &["member;range=10-5"])
            .await
            .is_empty(),
        "inverted: dropped"
    );
    // `*` ranges too; a small group comes back whole.
    let all = group_attrs(&mut ldap, BIG_GROUP, &["*"]).await;
    assert!(
        all.contains(&("member;range=0-1499".to_string(), 1500))
            && all.contains(&("member".to_string(), 0))
    );
    let small = group_attrs(
        &mut ldap,
        "CN=Sales Team,OU=Groups,DC=corp,DC=example,DC=test",
        &["member"],
    )
    .await;
    assert_eq!(small, s(&[("member", 3)]));
    // A client walking the ranges gets every member exactly once.
    let mut members = HashSet::new();
    let mut start = 0;
    loop {
        let attr = format!("member;range={start}-*");
        let ldap3::SearchResult(raw, _) = ldap
            .search(
                BIG_GROUP,
                Scope::Base,
                "(objectClass=*)",
                vec![attr.as_str()],
            )
            .await
            .unwrap();
        let e = SearchEntry::construct(raw.into_iter().next().unwrap());
        let (name, values) = e.attrs.into_iter().next().unwrap();
        let n = values.len();
        members.extend(values);
        if name.ends_with("-*") {
            break;
        }
        start += n;
    }
    assert_eq!(members.len(), 1_600);
    dc.shutdown().await;
}
