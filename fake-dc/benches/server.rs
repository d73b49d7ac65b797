//! Searches per second against fake-dc (in process) or another LDAP server (`--external`),
//! with 1 and 32 concurrent clients: base read by DN, equality on mail, and paged subtree
//! over the 100,000-user bench fixture; plus the time from starting an in-process DC on a
//! ~50-user fixture to its first answered search.
//!
//! ```text
//! cargo bench -p fake-dc --bench server
//! cargo bench -p fake-dc --bench server -- --external ldap://127.0.0.1:3890 \
//!     --bind-dn 'CN=Bench Reader,OU=Service Accounts,DC=corp,DC=example,DC=test' --password Bench-Secret-1
//! ```
//! Every workload is bounded: `BENCH_SECS` (default 2) per workload, twice that for the
//! paged ones (whose latency column is per complete paged search). Loopback only. In process, the clients share the CPU
//! with the server; against slapd they do not (slapd runs in its own process).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_dc::fixture::{self, LoadOptions};
use fake_dc::server::{FakeDc, HostConfig, ServerOptions};
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, Scope};

const BASE: &str = "DC=corp,DC=example,DC=test";
const BIND_DN: &str = "CN=Bench Reader,OU=Service Accounts,DC=corp,DC=example,DC=test";
const PASSWORD: &str = "Bench-Secret-1";

struct Args {
    external: Option<String>,
    bind_dn: String,
    password: String,
    label: String,
    secs: f64,
}

fn args() -> Args {
    let mut a = Args {
        external: None,
        bind_dn: BIND_DN.into(),
        password: PASSWORD.into(),
        label: "fake-dc".into(),
        secs: std::env::var("BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2.0),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--external" => a.external = it.next(),
            "--bind-dn" => a.bind_dn = it.next().unwrap_or_default(),
            "--password" => a.password = it.next().unwrap_or_default(),
            "--label" => a.label = it.next().unwrap_or_default(),
            "--secs" => a.secs = it.next().and_then(|s| s.parse().ok()).unwrap_or(a.secs),
            _ => {} // cargo bench passes --bench; ignore what we do not know
        }
    }
    if a.external.is_some() && a.label == "fake-dc" {
        a.label = "external".into();
    }
    a
}

async fn client(url: &str, dn: &str, pw: &str) -> Ldap {
    let (conn, mut ldap) = LdapConnAsync::new(url).await.expect("connect");
    ldap3::drive!(conn);
    ldap.simple_bind(dn, pw)
        .await
        .expect("bind")
        .success()
        .expect("bind succeeds");
    ldap
}

/// Tiny xorshift so clients pick different entries without a rand dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

struct Outcome {
    ops: usize,
    secs: f64,
    latencies: Vec<Duration>,
}

fn report(label: &str, workload: &str, clients: usize, o: &mut Outcome, unit: &str) {
    // Latencies are per search (for paged: per complete paged search, if any finished).
    o.latencies.sort();
    let pct = |p: f64| {
        o.latencies
            .get(((o.latencies.len() as f64 * p) as usize).min(o.latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{label:<8} {workload:<22} {clients:>3} clients {:>8} {unit:<8} in {:>5.2}s = {:>9.0} {unit}/s   p50 {:>7.2} ms  p99 {:>7.2} ms",
        o.ops,
        o.secs,
        o.ops as f64 / o.secs,
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
}

/// Runs `op` on `clients` connections until `secs` pass; every op is one search.
async fn timed<F, Fut>(url: &str, a: &Args, clients: usize, op: F) -> Outcome
where
    F: Fn(Ldap, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Ldap> + Send,
{
    let deadline = Instant::now() + Duration::from_secs_f64(a.secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let ldap = client(url, &a.bind_dn, &a.password).await;
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut ldap = ldap;
            let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ (c as u64 + 1);
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                ldap = op(ldap, next(&mut seed)).await;
                lat.push(t.elapsed());
            }
            let _ = ldap.unbind().await;
            lat
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    Outcome {
        ops: latencies.len(),
        secs: started.elapsed().as_secs_f64(),
        latencies,
    }
}

/// Full paged subtree searches (pages of 1,000) on `clients` connections until `secs`
/// pass; a search still running at the deadline is cut off there. Counts entries.
async fn paged(url: &str, a: &Args, clients: usize) -> Outcome {
    let deadline = Instant::now() + Duration::from_secs_f64(a.secs.max(1.0) * 2.0);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let mut ldap = client(url, &a.bind_dn, &a.password).await;
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut entries = 0;
            'searches: while Instant::now() < deadline {
                let t = Instant::now();
                let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
                    Box::new(EntriesOnly::new()),
                    Box::new(PagedResults::new(1000)),
                ];
                let mut s = ldap
                    .streaming_search_with(
                        adapters,
                        BASE,
                        Scope::Subtree,
                        "(objectClass=person)",
                        vec!["mail", "sn"],
                    )
                    .await
                    .unwrap();
                while s.next().await.unwrap().is_some() {
                    entries += 1;
                    if Instant::now() >= deadline {
                        break 'searches;
                    }
                }
                assert_eq!(s.finish().await.rc, 0);
                lat.push(t.elapsed());
            }
            (lat, entries)
        }));
    }
    let mut latencies = Vec::new();
    let mut entries = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        latencies.extend(l);
        entries += e;
    }
    Outcome {
        ops: entries,
        secs: started.elapsed().as_secs_f64(),
        latencies,
    }
}

/// Start a DC on a ~50-user fixture and time it to the first answered search.
async fn startup() {
    const SMALL: &str = "seed: 5\ndefaultPassword: \"Passw0rd!\"\ndomains:\n  - dns: corp.example.test\n    ous:\n      - name: Service Accounts\n        users:\n          - { cn: Bench Reader, sAMAccountName: bench, password: \"Bench-Secret-1\" }\n    generate:\n      - { seed: 1, ou: People, users: 50, groups: 5, maxGroupSize: 20 }\n";
    let mut total = Vec::new();
    let mut after_load = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let dir = fixture::load_str(SMALL, "small.yaml", LoadOptions::default()).unwrap();
        let t1 = Instant::now();
        let dc = FakeDc::builder(dir)
            .host(
                "dc1.corp.example.test",
                HostConfig {
                    ldap: Some("127.0.0.1:0".parse().unwrap()),
                    ..HostConfig::default()
                },
            )
            .start()
            .await
            .unwrap();
        let url = format!(
            "ldap://{}",
            dc.addresses("dc1.corp.example.test").unwrap().ldap.unwrap()
        );
        let mut ldap = client(&url, BIND_DN, PASSWORD).await;
        let res = ldap
            .search(BASE, Scope::Base, "(objectClass=*)", vec!["1.1"])
            .await
            .unwrap();
        assert_eq!(res.1.rc, 0);
        total.push(t0.elapsed());
        after_load.push(t1.elapsed());
        dc.shutdown().await;
    }
    total.sort();
    after_load.sort();
    println!(
        "fake-dc  startup (50 users): load+start+first search median {:.1} ms (start+first search {:.1} ms; 5 runs)",
        total[2].as_secs_f64() * 1e3,
        after_load[2].as_secs_f64() * 1e3
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let a = args();
    let fixture_path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/bench-100k.yaml");
    let t = Instant::now();
    let dir =
        fixture::load_file(fixture_path.as_ref(), LoadOptions::default()).expect("bench fixture");
    eprintln!("loaded {} entries in {:.1?}", dir.len(), t.elapsed());
    // The names to ask for, taken from the same fixture the other server was loaded with.
    let people: Vec<(String, String)> = dir
        .of_kind(fake_dc::schema::ObjectKind::User)
        .filter_map(|id| {
            Some((
                dir.dn(id).to_string(),
                dir.entry(id).get_str("mail")?.to_string(),
            ))
        })
        .collect();
    let people = Arc::new(people);
    let mut dc = None;
    let url = match &a.external {
        Some(u) => u.clone(),
        None => {
            let started = FakeDc::builder(dir)
                .host(
                    "dc1.corp.example.test",
                    HostConfig {
                        ldap: Some("127.0.0.1:0".parse().unwrap()),
                        ..HostConfig::default()
                    },
                )
                .options(ServerOptions::default())
                .start()
                .await
                .unwrap();
            let u = format!(
                "ldap://{}",
                started
                    .addresses("dc1.corp.example.test")
                    .unwrap()
                    .ldap
                    .unwrap()
            );
            dc = Some(started);
            u
        }
    };
    for clients in [1, 32] {
        let p = people.clone();
        let mut o = timed(&url, &a, clients, move |mut ldap, r| {
            let dn = p[(r % p.len() as u64) as usize].0.clone();
            async move {
                let res = ldap
                    .search(
                        &dn,
                        Scope::Base,
                        "(objectClass=*)",
                        vec!["mail", "displayName"],
                    )
                    .await
                    .unwrap();
                assert_eq!((res.1.rc, res.0.len()), (0, 1));
                ldap
            }
        })
        .await;
        report(&a.label, "base read by DN", clients, &mut o, "searches");
        let p = people.clone();
        let mut o = timed(&url, &a, clients, move |mut ldap, r| {
            let mail = p[(r % p.len() as u64) as usize].1.clone();
            async move {
                let res = ldap
                    .search(BASE, Scope::Subtree, &format!("(mail={mail})"), vec!["cn"])
                    .await
                    .unwrap();
                assert_eq!(res.1.rc, 0);
                assert_eq!(res.0.iter().filter(|e| !e.is_ref()).count(), 1);
                ldap
            }
        })
        .await;
        report(&a.label, "equality on mail", clients, &mut o, "searches");
    }
    let mut o = paged(&url, &a, 1).await;
    report(&a.label, "paged subtree (100k)", 1, &mut o, "entries");
    let mut o = paged(&url, &a, 32).await;
    report(&a.label, "paged subtree (100k)", 32, &mut o, "entries");
    if let Some(dc) = dc {
        dc.shutdown().await;
        startup().await;
    }
}
