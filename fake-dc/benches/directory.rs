//! Directory benchmark: loading the 100,000-user fixture (time, peak memory) and filter
//! evaluation over it. `cargo bench -p fake-dc --bench directory`; prints a table, asserts
//! nothing (numbers belong in notes, not in tests).

#![allow(clippy::unwrap_used)] // tests and benches fail loudly on broken fixtures
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use fake_dc::directory::{Directory, Scope};
use fake_dc::filter::Filter;
use fake_dc::fixture::{load_file, LoadOptions};

/// Peak resident set size so far (Linux `VmHWM`), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Runs `f` repeatedly for about `budget` and returns the mean time per call.
fn time_per_call(budget: Duration, mut f: impl FnMut()) -> (Duration, u32) {
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < budget || n < 3 {
        f();
        n += 1;
    }
    (start.elapsed() / n, n)
}

fn search(dir: &Directory, filter: &str) -> usize {
    let f: Filter = filter.parse().unwrap_or_else(|e| panic!("{filter}: {e}"));
    let head = dir.domains[0].head;
    dir.search(head, Scope::Subtree, &f, false).len()
}

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/large-100k.yaml");
    let before = peak_rss_mib().unwrap_or(0.0);
    let start = Instant::now();
    let dir = load_file(&path, LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let load = start.elapsed();
    let peak = peak_rss_mib().unwrap_or(0.0);
    println!("load large-100k.yaml: {} entries in {load:.2?}; peak RSS {peak:.0} MiB (before load {before:.0} MiB)", dir.len());

    let budget = Duration::from_millis(1500);
    let last_user = dir
        .by_value("sAMAccountName", "u0099999")
        .and_then(|ids| ids.first().copied());
    let probe = last_user
        .and_then(|id| dir.entry(id).get_str("mail").map(str::to_string))
        .unwrap_or_default();
    let probe = probe.as_str();
    let mail_hits = search(&dir, &format!("(mail={probe})"));
    let (lookup, n) = time_per_call(budget, || {
        black_box(dir.by_value("mail", black_box(probe)));
    });
    println!("indexed equality lookup (by_value mail): {lookup:.2?} per call over {n} calls ({mail_hits} hit via search)");
    for filter in [
        format!("(mail={probe})"),
        "(sAMAccountName=u0054321)".to_string(),
        "(&(objectCategory=person)(objectClass=user)(proxyAddresses=smtp:*))".to_string(),
        "(|(mail=*)(proxyAddresses=*)(objectClass=group)(objectClass=msExchDynamicDistributionList))".to_string(),
        "(department=Sales)".to_string(),
        "(userAccountControl:1.2.840.113556.1.4.803:=2)".to_string(),
        "(memberOf:1.2.840.113556.1.4.1941:=CN=People Group 1,OU=People,DC=corp,DC=example,DC=test)".to_string(),
    ] {
        let hits = search(&dir, &filter);
        let (t, n) = time_per_call(budget, || {
            black_box(search(&dir, &filter));
        });
        println!("search subtree {filter}: {hits} entries, {t:.2?} per search ({n} runs)");
    }
    // A sync engine that looks up a batch of addresses at once sends one large OR; it must
    // cost the index lookups, not branches × candidates.
    let batch: Vec<String> = (0..1_000)
        .filter_map(|i| {
            let sam = format!("u{:07}", i * 97);
            let id = *dir.by_value("sAMAccountName", &sam)?.first()?;
            dir.entry(id).get_str("mail").map(|m| format!("(mail={m})"))
        })
        .collect();
    let filter = format!("(|{})", batch.concat());
    let hits = search(&dir, &filter);
    let (t, n) = time_per_call(budget, || {
        black_box(search(&dir, &filter));
    });
    println!(
        "search subtree OR of {} mail equalities: {hits} entries, {t:.2?} per search ({n} runs)",
        batch.len()
    );
}
