//! `fake-dc capture` against a running fake-dc: what comes back, loaded again, is the
//! same directory — entries, attributes, memberships (ranged past 1,500), identities —
//! over LDAPS with a strict client, over StartTLS, and for a two-domain forest through
//! the Global Catalog (its partial attribute set, which is all a GC holds).

#![allow(clippy::unwrap_used)]

mod reproduce_support;

use std::time::Duration;

use fake_dc::directory::Directory;
use fake_dc::reproduce::capture::{capture, CaptureOptions, Quiet, Tls};
use fake_dc::server::{FakeDc, HostConfig, ServerOptions};
use fake_dc::tls::CertProfile;
use reproduce_support::*;

const DC1: &str = "dc1.corp.example.test";
const SVC: &str = "CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test";

async fn serve(dir: Directory) -> FakeDc {
    let options = ServerOptions {
        policy: dir.query_policy.clone(),
        ..ServerOptions::default()
    };
    FakeDc::builder(dir)
        .host(
            DC1,
            HostConfig {
                cert: CertProfile::CaSigned,
                ..HostConfig::loopback()
            },
        )
        .options(options)
        .start()
        .await
        .unwrap()
}

fn options(dc: &FakeDc, scheme: &str, addr: std::net::SocketAddr) -> CaptureOptions {
    CaptureOptions {
        url: format!("{scheme}://{DC1}:{}", addr.port()),
        address: Some(addr),
        tls: Tls::Strict {
            ca_pem: dc.ca_pem().to_string(),
        },
        starttls: false,
        bind: Some(SVC.into()),
        password: Some("Sync-Secret-1".into()),
        forest: false,
        tombstones: false,
        page_size: None,
        timeout: Duration::from_secs(60),
        default_password: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn small_org_over_ldaps_comes_back_the_same() {
    let original = shipped("small-org.yaml");
    let expected = picture(&original, false);
    let dc = serve(original).await;
    let addr = dc.addresses(DC1).unwrap().ldaps.unwrap();
    let (collected, stats) = capture(&options(&dc, "ldaps", addr), &mut Quiet)
        .await
        .unwrap();
    dc.shutdown().await;
    // The contractors' group holds 1,600 members: over AD's 1,500-value range.
    assert!(stats.ranged_fetches >= 1, "{stats:?}");
    assert!(stats.pages >= 2, "paged at the server's limit: {stats:?}");
    let yaml = fake_dc::fixture::write::to_string(&collected.fixture).unwrap();
    let loaded = load(&yaml);
    assert_same(
        &expected,
        &picture(&loaded, false),
        "small-org captured over LDAPS",
    );
    // The fixture reads like a hand-written one: people in their OUs, not generic objects.
    assert!(
        yaml.contains("sAMAccountName: aarcher"),
        "{}",
        &yaml[..2000]
    );
    assert!(collected.notes.is_empty(), "{:?}", collected.notes);
}

#[tokio::test(flavor = "multi_thread")]
async fn start_tls_and_a_page_limit_below_the_page_asked_for() {
    let mut original = shipped("small-org.yaml");
    // A DC whose MaxPageSize is 100 answers pages of 1,000 with 100 entries and a cookie.
    original.query_policy.max_page_size = 100;
    let expected = picture(&original, false);
    let dc = serve(original).await;
    let addr = dc.addresses(DC1).unwrap().ldap.unwrap();
    let mut o = options(&dc, "ldap", addr);
    o.starttls = true;
    o.tls = Tls::Relaxed;
    let (collected, stats) = capture(&o, &mut Quiet).await.unwrap();
    dc.shutdown().await;
    assert!(stats.pages > 10, "{stats:?}");
    let yaml = fake_dc::fixture::write::to_string(&collected.fixture).unwrap();
    assert_same(
        &expected,
        &picture(&load(&yaml), false),
        "small-org over StartTLS",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_strict_client_refuses_a_certificate_it_cannot_trust() {
    let dc = serve(shipped("small-org.yaml")).await;
    let addr = dc.addresses(DC1).unwrap().ldaps.unwrap();
    let mut o = options(&dc, "ldaps", addr);
    // Right CA, wrong name: the URL's host is what the certificate must name.
    o.url = format!("ldaps://dc9.elsewhere.test:{}", addr.port());
    let err = capture(&o, &mut Quiet).await.err().unwrap().to_string();
    dc.shutdown().await;
    assert!(
        err.contains("cannot connect to ldaps://dc9.elsewhere.test"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_domain_forest_through_the_global_catalog() {
    let original = shipped("two-domain-forest.yaml");
    let expected = picture(&original, true);
    assert!(expected
        .keys()
        .any(|k| k.ends_with("dc=emea,dc=corp,dc=example,dc=test")));
    let dc = serve(original).await;
    let addr = dc.addresses(DC1).unwrap().gc_tls.unwrap();
    let mut o = options(&dc, "ldaps", addr);
    o.forest = true;
    let (collected, _) = capture(&o, &mut Quiet).await.unwrap();
    dc.shutdown().await;
    let f = &collected.fixture;
    let names: Vec<&str> = f.domains.iter().map(|d| d.dns.as_str()).collect();
    assert_eq!(names, ["corp.example.test", "emea.corp.example.test"]);
    assert!(
        collected
            .notes
            .iter()
            .any(|n| n.contains("partial attribute set")),
        "{:?}",
        collected.notes
    );
    let yaml = fake_dc::fixture::write::to_string(f).unwrap();
    assert_same(
        &expected,
        &picture(&load(&yaml), true),
        "two domains through the GC",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tombstones_come_back_as_tombstones() {
    let mut original = shipped("two-domain-forest.yaml");
    let carol = original
        .lookup(
            &fake_dc::dn::Dn::parse("CN=Carol Chen,OU=Staff,DC=corp,DC=example,DC=test").unwrap(),
        )
        .unwrap();
    let guid = original.guid(carol);
    original.delete(carol).unwrap();
    let dc = serve(original).await;
    let addr = dc.addresses(DC1).unwrap().ldaps.unwrap();
    let mut o = options(&dc, "ldaps", addr);
    o.tombstones = true;
    let (collected, stats) = capture(&o, &mut Quiet).await.unwrap();
    dc.shutdown().await;
    assert_eq!(stats.tombstones, 1);
    let loaded = load(&fake_dc::fixture::write::to_string(&collected.fixture).unwrap());
    let id = loaded
        .by_guid(&guid)
        .expect("the tombstone keeps its objectGUID");
    let e = loaded.entry(id);
    assert!(e.deleted);
    assert!(e.rdn.value().starts_with("Carol Chen\nDEL:"), "{:?}", e.rdn);
    assert_eq!(
        loaded.dn_str(e.last_known_parent.unwrap()),
        "OU=Staff,DC=corp,DC=example,DC=test"
    );
}

/// Computers, in `CN=Computers` and in an OU, come back in the fixture's `computers:`
/// sections with their identities, and the fixture serves what the source served.
#[tokio::test(flavor = "multi_thread")]
async fn computers_come_back_in_their_section() {
    const HOST: &str = "aberdeen-dc01.ad.fabrikam-energy.com";
    let original = shipped("../fake-dc/tests/fixtures/hybrid-customer.yaml");
    let expected = picture(&original, false);
    let dc = FakeDc::builder(original)
        .host(
            HOST,
            HostConfig {
                cert: CertProfile::CaSigned,
                ..HostConfig::loopback()
            },
        )
        .start()
        .await
        .unwrap();
    let addr = dc.addresses(HOST).unwrap().ldaps.unwrap();
    let mut o = options(&dc, "ldaps", addr);
    o.url = format!("ldaps://{HOST}:{}", addr.port());
    o.bind =
        Some("CN=Torquil Macpherson,OU=Offshore Operations,DC=ad,DC=fabrikam-energy,DC=com".into());
    o.password = Some("Passw0rd!".into());
    let (collected, _) = capture(&o, &mut Quiet).await.unwrap();
    dc.shutdown().await;
    let domain = &collected.fixture.domains[0];
    let names = |list: &[fake_dc::fixture::model::ComputerSpec]| -> Vec<String> {
        list.iter().map(|c| c.cn.clone()).collect()
    };
    assert_eq!(names(&domain.computers), ["ABZ-LT-MCALLISTER"]);
    assert_eq!(names(&domain.ous[0].computers), ["FORTIES-HMI-02"]);
    let console = &domain.ous[0].computers[0];
    assert_eq!(console.sam_account_name.as_deref(), Some("FORTIESHMI02$"));
    assert!(console.object_sid.is_some() && console.usn_created.is_some());
    // The DC stays the domain's `dcs:` entry, which loading makes.
    assert_eq!(domain.dcs, [HOST]);
    assert!(
        !domain
            .objects
            .iter()
            .any(|o| o.object_class == "computer" && !o.dn.contains("Domain Controllers")),
        "{:?}",
        domain.objects.iter().map(|o| &o.dn).collect::<Vec<_>>()
    );
    let yaml = fake_dc::fixture::write::to_string(&collected.fixture).unwrap();
    assert_same(
        &expected,
        &picture(&load(&yaml), false),
        "the hybrid customer captured over LDAPS",
    );
}
