//! Searches the way AD answers them: rootDSE, anonymous refusal, errors with AD's texts,
//! attribute selection, binary filters, limits, references and referrals, the Global
//! Catalog, read scopes, tombstones and controls.

// Helpers outside #[test] fns are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use fake_dc::server::ServerOptions;
use ldap3::controls::RawControl;
use ldap3::{Scope, SearchEntry, SearchOptions};

fn render_entry(e: &SearchEntry) -> String {
    let mut out = format!("dn: {}\n", e.dn);
    let mut names: Vec<&String> = e.attrs.keys().collect();
    names.sort();
    for n in names {
        for v in &e.attrs[n] {
            out.push_str(&format!("{n}: {v}\n"));
        }
    }
    out
}

#[tokio::test]
async fn root_dse_is_readable_anonymously() {
    let dc = start().await;
    let mut ldap = connect(ldap_addr(&dc, DC1)).await;
    let (entries, res) = search(&mut ldap, "", Scope::Base, "(objectClass=*)", &[]).await;
    assert_eq!(res.rc, 0);
    insta::assert_snapshot!("root_dse_dc1", render_entry(&entries[0]));
    // The child domain's DC names its own domain and host.
    let mut emea = connect(ldap_addr(&dc, EMEA_DC)).await;
    let (entries, _) = search(
        &mut emea,
        "",
        Scope::Base,
        "(objectClass=*)",
        &["defaultNamingContext", "DNSHOSTNAME", "ldapServiceName"],
    )
    .await;
    assert_eq!(
        entries[0].attrs["defaultNamingContext"],
        vec![EMEA.to_string()]
    );
    assert_eq!(entries[0].attrs["dnsHostName"], vec![EMEA_DC.to_string()]);
    assert_eq!(
        entries[0].attrs["ldapServiceName"],
        vec!["corp.example.test:dc1$@EMEA.CORP.EXAMPLE.TEST".to_string()]
    );
    assert_eq!(entries[0].attrs.len(), 3);
    dc.shutdown().await;
}

#[tokio::test]
async fn anonymous_search_is_refused_like_ad() {
    let dc = start().await;
    let mut ldap = connect(ldap_addr(&dc, DC1)).await;
    let (entries, res) = search(
        &mut ldap,
        DOMAIN,
        Scope::Subtree,
        "(objectClass=user)",
        &["cn"],
    )
    .await;
    assert!(entries.is_empty());
    assert_eq!(res.rc, 1);
    assert_eq!(res.text, "000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563");
    dc.shutdown().await;
}

#[tokio::test]
async fn missing_and_invalid_bases() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    let (_, res) = search(
        &mut ldap,
        "OU=Nowhere,OU=Staff,DC=corp,DC=example,DC=test",
        Scope::Subtree,
        "(objectClass=*)",
        &[],
    )
    .await;
    assert_eq!(res.rc, 32);
    assert_eq!(res.matched, "OU=Staff,DC=corp,DC=example,DC=test");
    assert_eq!(
        res.text,
        "0000208D: NameErr: DSID-0310028B, problem 2001 (NO_OBJECT), data 0, best match of:\n\t'OU=Staff,DC=corp,DC=example,DC=test'\n"
    );
    let (_, res) = search(
        &mut ldap,
        "this is not a DN",
        Scope::Base,
        "(objectClass=*)",
        &[],
    )
    .await;
    assert_eq!(res.rc, 34);
    assert!(res.text.starts_with("00002032: "), "{}", res.text);
    dc.shutdown().await;
}

#[tokio::test]
async fn attributes_are_selected_case_insensitively_and_returned_in_canonical_case() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    let (e, _) = search(
        &mut ldap,
        ALICE,
        Scope::Base,
        "(objectClass=*)",
        &["MAIL", "samaccountname", "PROXYADDRESSES"],
    )
    .await;
    let mut names: Vec<&String> = e[0].attrs.keys().collect();
    names.sort();
    assert_eq!(names, ["mail", "proxyAddresses", "sAMAccountName"]);
    // 1.1: no attributes at all.
    let (e, _) = search(&mut ldap, ALICE, Scope::Base, "(objectClass=*)", &["1.1"]).await;
    assert!(e[0].attrs.is_empty() && e[0].bin_attrs.is_empty());
    // *: stored and default computed attributes, binary ones included.
    let (e, _) = search(&mut ldap, ALICE, Scope::Base, "(objectClass=*)", &["*"]).await;
    assert!(e[0].bin_attrs.contains_key("objectGUID") && e[0].bin_attrs.contains_key("objectSid"));
    assert!(e[0].attrs.contains_key("memberOf") && e[0].attrs.contains_key("uSNChanged"));
    assert!(
        !e[0].attrs.contains_key("canonicalName"),
        "constructed attributes only when named"
    );
    // +: the constructed ones.
    let (e, _) = search(&mut ldap, ALICE, Scope::Base, "(objectClass=*)", &["+"]).await;
    assert_eq!(
        e[0].attrs["canonicalName"],
        ["corp.example.test/Staff/Sales/Alice Archer"]
    );
    // Types only: names without values.
    let opts = ldap.with_search_options(SearchOptions::new().typesonly(true));
    let ldap3::SearchResult(raw, _) = opts
        .search(ALICE, Scope::Base, "(objectClass=*)", vec!["mail"])
        .await
        .unwrap();
    let e = SearchEntry::construct(raw.into_iter().next().unwrap());
    assert_eq!(e.attrs.get("mail").map(Vec::len), Some(0));
    dc.shutdown().await;
}

#[tokio::test]
async fn binary_guid_and_sid_filters_match() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    let (e, _) = search(
        &mut ldap,
        ALICE,
        Scope::Base,
        "(objectClass=*)",
        &["objectGUID", "objectSid"],
    )
    .await;
    let escape = |b: &[u8]| b.iter().map(|x| format!("\\{x:02x}")).collect::<String>();
    let guid = escape(&e[0].bin_attrs["objectGUID"][0]);
    let sid_bytes = e[0].bin_attrs["objectSid"][0].clone();
    let sid = escape(&sid_bytes);
    for filter in [
        format!("(objectGUID={guid})"),
        format!("(&(objectClass=user)(objectSid={sid}))"),
    ] {
        let (found, res) = search(&mut ldap, DOMAIN, Scope::Subtree, &filter, &["cn"]).await;
        assert_eq!(res.rc, 0, "{filter}");
        assert_eq!(found.len(), 1, "{filter}");
        assert_eq!(found[0].dn, ALICE);
    }
    // The string form of a SID works too, and <GUID=…> as a base.
    let sid_string = {
        let sub: Vec<u32> = sid_bytes[8..]
            .chunks(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        format!(
            "S-1-5-{}",
            sub.iter().map(u32::to_string).collect::<Vec<_>>().join("-")
        )
    };
    let (found, _) = search(
        &mut ldap,
        DOMAIN,
        Scope::Subtree,
        &format!("(objectSid={sid_string})"),
        &["cn"],
    )
    .await;
    assert_eq!(found.len(), 1);
    let hex: String = e[0].bin_attrs["objectGUID"][0]
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    let (found, _) = search(
        &mut ldap,
        &format!("<GUID={hex}>"),
        Scope::Base,
        "(objectClass=*)",
        &["cn"],
    )
    .await;
    assert_eq!(found[0].dn, ALICE);
    dc.shutdown().await;
}

#[tokio::test]
async fn unpaged_searches_stop_at_max_page_size() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    let (e, res) = search(
        &mut ldap,
        DOMAIN,
        Scope::Subtree,
        "(objectClass=user)",
        &["1.1"],
    )
    .await;
    assert_eq!(
        (e.len(), res.rc),
        (1000, 4),
        "1,000 entries then sizeLimitExceeded"
    );
    let opts = ldap.with_search_options(SearchOptions::new().sizelimit(5));
    let ldap3::SearchResult(raw, res) = opts
        .search(DOMAIN, Scope::Subtree, "(objectClass=user)", vec!["1.1"])
        .await
        .unwrap();
    assert_eq!((raw.len(), res.rc), (5, 4));
    dc.shutdown().await;
}

/// The query policy is the server's, not a constant: a lower MaxPageSize cuts unpaged
/// searches and pages, a lower MaxValRange ranges `member` sooner, and a client's own
/// time limit ends a search with timeLimitExceeded and AD's text.
#[tokio::test]
async fn the_query_policy_sets_the_limits() {
    let dc = start_with(ServerOptions {
        policy: fake_dc::policy::QueryPolicy {
            max_page_size: 7,
            max_val_range: 100,
            ..Default::default()
        },
        ..ServerOptions::default()
    })
    .await;
    let mut ldap = svc(&dc).await;
    let (e, res) = search(
        &mut ldap,
        DOMAIN,
        Scope::Subtree,
        "(objectClass=user)",
        &["1.1"],
    )
    .await;
    assert_eq!((e.len(), res.rc), (7, 4));
    let (e, _) = search(
        &mut ldap,
        BIG_GROUP,
        Scope::Base,
        "(objectClass=*)",
        &["member"],
    )
    .await;
    let mut ranged: Vec<(&String, usize)> = e[0].attrs.iter().map(|(k, v)| (k, v.len())).collect();
    ranged.sort();
    assert_eq!(
        ranged,
        [
            (&"member".to_string(), 0),
            (&"member;range=0-99".to_string(), 100)
        ]
    );
    dc.shutdown().await;
}

#[tokio::test]
async fn subtree_searches_from_the_head_return_continuation_references() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    let ldap3::SearchResult(raw, res) = ldap
        .search(
            DOMAIN,
            Scope::Subtree,
            "(sAMAccountName=alice)",
            vec!["1.1"],
        )
        .await
        .unwrap();
    assert_eq!((res.rc, raw.len()), (0, 1));
    // ldap3 collects SearchResultReferences into the result's `refs`.
    let mut refs = res.refs.clone();
    refs.sort();
    assert_eq!(
        refs,
        [
            "ldap://DomainDnsZones.corp.example.test/DC=DomainDnsZones,DC=corp,DC=example,DC=test",
            "ldap://ForestDnsZones.corp.example.test/DC=ForestDnsZones,DC=corp,DC=example,DC=test",
            "ldap://corp.example.test/CN=Configuration,DC=corp,DC=example,DC=test",
            "ldap://emea.corp.example.test/DC=emea,DC=corp,DC=example,DC=test",
        ]
    );
    dc.shutdown().await;
}

#[tokio::test]
async fn another_domains_base_is_a_referral_off_the_gc() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    let base = "OU=Staff,DC=emea,DC=corp,DC=example,DC=test";
    let (_, res) = search(
        &mut ldap,
        base,
        Scope::Subtree,
        "(objectClass=user)",
        &["cn"],
    )
    .await;
    assert_eq!(res.rc, 10);
    assert_eq!(res.text, "0000202B: RefErr: DSID-0310082F, data 0, 1 access points\n\tref 1: 'emea.corp.example.test'\n");
    assert_eq!(res.refs, [format!("ldap://emea.corp.example.test/{base}")]);
    // The GC port holds the whole forest.
    let gc = dc.addresses(DC1).unwrap().gc.unwrap();
    let mut g = connect(gc).await;
    g.simple_bind(SVC_DN, SVC_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    let (e, res) = search(&mut g, base, Scope::Subtree, "(objectClass=user)", &["cn"]).await;
    assert_eq!((res.rc, e.len()), (0, 1));
    dc.shutdown().await;
}

#[tokio::test]
async fn the_global_catalog_covers_the_forest_with_the_partial_attribute_set() {
    let dc = start().await;
    let gc = dc.addresses(DC1).unwrap().gc.unwrap();
    let mut g = connect(gc).await;
    g.simple_bind(SVC_DN, SVC_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    let (e, res) = search(
        &mut g,
        "",
        Scope::Subtree,
        "(department=Sales)",
        &["mail", "department"],
    )
    .await;
    assert_eq!(res.rc, 0);
    let mut dns: Vec<&str> = e.iter().map(|e| e.dn.as_str()).collect();
    dns.sort();
    assert_eq!(dns.len(), 3, "{dns:?}");
    assert!(dns.contains(&"CN=Eva Eklund,OU=Staff,DC=emea,DC=corp,DC=example,DC=test"));
    for entry in &e {
        assert!(
            entry.attrs.contains_key("mail"),
            "mail is in the partial attribute set"
        );
        assert!(!entry.attrs.contains_key("department"), "department is not");
    }
    // Off the GC, base "" with a subtree scope holds nothing.
    let mut ldap = svc(&dc).await;
    let (_, res) = search(&mut ldap, "", Scope::Subtree, "(objectClass=user)", &["cn"]).await;
    assert_eq!(res.rc, 32);
    dc.shutdown().await;
}

#[tokio::test]
async fn read_scopes_hide_the_rest_of_the_directory() {
    let dc = start().await;
    let mut ldap = connect(ldap_addr(&dc, DC1)).await;
    ldap.simple_bind("CORP\\svc-sales", "Sync-Secret-2")
        .await
        .unwrap()
        .success()
        .unwrap();
    let (e, res) = search(
        &mut ldap,
        DOMAIN,
        Scope::Subtree,
        "(objectClass=user)",
        &["1.1"],
    )
    .await;
    assert_eq!(res.rc, 0, "invisible is not an error");
    let mut dns: Vec<String> = e.into_iter().map(|e| e.dn).collect();
    dns.sort();
    assert_eq!(
        dns,
        [
            ALICE,
            "CN=Bob Baker,OU=Sales,OU=Staff,DC=corp,DC=example,DC=test",
            "CN=Restricted Sync,OU=Service Accounts,DC=corp,DC=example,DC=test"
        ]
    );
    let (_, res) = search(
        &mut ldap,
        BIG_GROUP,
        Scope::Base,
        "(objectClass=*)",
        &["cn"],
    )
    .await;
    assert_eq!(res.rc, 32);
    dc.shutdown().await;
}

#[tokio::test]
async fn tombstones_show_only_with_the_show_deleted_control() {
    let dc = start().await;
    dc.with_directory(|d| {
        let id = d
            .resolve(
                &fake_dc::dn::Dn::parse(
                    "CN=Bob Baker,OU=Sales,OU=Staff,DC=corp,DC=example,DC=test",
                )
                .unwrap(),
            )
            .unwrap();
        d.delete(id).unwrap();
    });
    let mut ldap = svc(&dc).await;
    let (e, _) = search(
        &mut ldap,
        DOMAIN,
        Scope::Subtree,
        "(isDeleted=TRUE)",
        &["cn"],
    )
    .await;
    assert!(e.is_empty());
    let show = RawControl {
        ctype: "1.2.840.113556.1.4.417".into(),
        crit: true,
        val: None,
    };
    let ldap3::SearchResult(raw, res) = ldap
        .with_controls(show)
        .search(
            DOMAIN,
            Scope::Subtree,
            "(&(isDeleted=TRUE)(sAMAccountName=bob))",
            vec!["isDeleted", "lastKnownParent"],
        )
        .await
        .unwrap();
    assert_eq!(res.rc, 0);
    let e: Vec<SearchEntry> = raw
        .into_iter()
        .filter(|r| !r.is_ref())
        .map(SearchEntry::construct)
        .collect();
    assert_eq!(e.len(), 1);
    assert!(e[0].dn.starts_with("CN=Bob Baker\\0ADEL:"), "{}", e[0].dn);
    assert!(e[0]
        .dn
        .ends_with(",CN=Deleted Objects,DC=corp,DC=example,DC=test"));
    assert_eq!(
        e[0].attrs["lastKnownParent"],
        ["OU=Sales,OU=Staff,DC=corp,DC=example,DC=test"]
    );
    dc.shutdown().await;
}

#[tokio::test]
async fn token_groups_only_on_base_searches() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    let (e, _) = search(
        &mut ldap,
        ALICE,
        Scope::Base,
        "(objectClass=*)",
        &["tokenGroups"],
    )
    .await;
    assert_eq!(
        e[0].bin_attrs["tokenGroups"].len(),
        2,
        "Sales Team and Domain Users"
    );
    let (e, _) = search(
        &mut ldap,
        DOMAIN,
        Scope::Subtree,
        "(sAMAccountName=alice)",
        &["tokenGroups"],
    )
    .await;
    assert!(!e[0].bin_attrs.contains_key("tokenGroups"));
    dc.shutdown().await;
}

#[tokio::test]
async fn unknown_critical_controls_are_refused() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    let unknown = |crit| RawControl {
        ctype: "1.2.3.4.5.6.7".into(),
        crit,
        val: None,
    };
    let ldap3::SearchResult(_, res) = ldap
        .with_controls(unknown(true))
        .search(ALICE, Scope::Base, "(objectClass=*)", vec!["cn"])
        .await
        .unwrap();
    assert_eq!(res.rc, 12);
    let ldap3::SearchResult(raw, res) = ldap
        .with_controls(unknown(false))
        .search(ALICE, Scope::Base, "(objectClass=*)", vec!["cn"])
        .await
        .unwrap();
    assert_eq!(
        (res.rc, raw.len()),
        (0, 1),
        "a non-critical unknown control is ignored"
    );
    dc.shutdown().await;
}

#[tokio::test]
async fn extended_dn_control_prefixes_guid_and_sid() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    let ctrl = RawControl {
        ctype: "1.2.840.113556.1.4.529".into(),
        crit: false,
        val: Some(vec![0x30, 0x03, 0x02, 0x01, 0x01]),
    };
    let ldap3::SearchResult(raw, _) = ldap
        .with_controls(ctrl)
        .search(ALICE, Scope::Base, "(objectClass=*)", vec!["memberOf"])
        .await
        .unwrap();
    let e = SearchEntry::construct(raw.into_iter().next().unwrap());
    assert!(
        e.dn.starts_with("<GUID=")
            && e.dn.contains(">;<SID=S-1-5-21-")
            && e.dn.ends_with(&format!(">;{ALICE}")),
        "{}",
        e.dn
    );
    assert!(e.attrs["memberOf"][0].starts_with("<GUID="));
    dc.shutdown().await;
}
