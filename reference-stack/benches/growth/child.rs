//! The workloads, each run in a child process of its own (see `main.rs` for why). A
//! child prints `key value` lines on stdout; the parent collects them into the table.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use fake_dc::directory::{ModOp, Modification};
use fake_dc::fixture::{self, LoadOptions};
use fake_dc::ldif::{export, LdifFlavour};
use fake_dc::schema::ObjectKind;
use fake_dc::server::{FakeDc, HostConfig};
use reference_stack::account::Account;
use reference_stack::report::SyncMethod;
use reference_stack::resolve::Resolver;
use reference_stack::settings::{AccountSettings, ConnectorSettings, EncryptionMode, Region};
use reference_stack::stack::{run_delta_sync, run_delta_sync_owned, SyncEnvironment};

use crate::clients::{BIND_DN, PASSWORD};

const HOST: &str = "dc1.corp.example.test";
/// How many `mail` values the search clients draw from.
const PROBES: usize = 20_000;

/// A line of /proc/self/status, in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(field: &str) -> String {
    status_kib(field).map_or_else(|| "n/a".into(), |kib| format!("{:.0}", kib as f64 / 1024.0))
}

/// Bytes the allocator has handed out and not had back: the live heap, which unlike the
/// resident size does not include pages freed but not yet returned.
fn heap_bytes() -> Option<usize> {
    tikv_jemalloc_ctl::epoch::advance().ok()?;
    tikv_jemalloc_ctl::stats::allocated::read().ok()
}

fn heap_mib(bytes: usize) -> String {
    format!("{:.0}", bytes as f64 / (1024.0 * 1024.0))
}

/// The live heap's highest value while a workload runs, sampled every 2 ms by a thread
/// of its own: `VmHWM` cannot say which part of a peak was the DC and which the sync.
struct HeapPeak {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<usize>,
}

impl HeapPeak {
    fn start() -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(heap_bytes().unwrap_or(0));
                std::thread::sleep(Duration::from_millis(2));
            }
            peak.max(heap_bytes().unwrap_or(0))
        });
        Self { stop, thread }
    }

    fn stop(self) -> usize {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or(0)
    }
}

fn say(key: &str, value: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{key} {value}");
    let _ = out.flush();
}

fn secs(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64())
}

pub fn main(args: &[String]) -> anyhow::Result<()> {
    let [workload, fixture, work, rest @ ..] = args else {
        bail!("usage: --child load|cached|sync|serve FIXTURE WORKDIR [ldif|probes]");
    };
    let (fixture, work) = (Path::new(fixture), Path::new(work));
    let runtime = tokio::runtime::Runtime::new()?;
    match workload.as_str() {
        "load" => load(
            fixture,
            work,
            rest.first().map(String::as_str) == Some("ldif"),
        ),
        "cached" => cached(fixture, work),
        "sync" => runtime.block_on(sync(fixture)),
        "serve" => runtime.block_on(serve(fixture)),
        other => bail!("unknown workload '{other}'"),
    }
}

fn load_fixture(fixture: &Path) -> anyhow::Result<(fake_dc::directory::Directory, Duration)> {
    let started = Instant::now();
    let directory = fixture::load_file(fixture, LoadOptions::default())
        .with_context(|| format!("loading {}", fixture.display()))?;
    Ok((directory, started.elapsed()))
}

/// The first load: time, peak, resident and live heap per entry; then what the other
/// workloads need from the same directory (probe values, the LDIF for slapd).
fn load(fixture: &Path, work: &Path, ldif: bool) -> anyhow::Result<()> {
    let heap_before = heap_bytes().unwrap_or(0);
    let rss_before = status_kib("VmRSS:").unwrap_or(0);
    let (directory, took) = load_fixture(fixture)?;
    let entries = directory.len();
    say("entries", entries);
    say("load_secs", secs(took));
    say("load_peak_mib", mib("VmHWM:"));
    say("load_rss_mib", mib("VmRSS:"));
    let rss = status_kib("VmRSS:").unwrap_or(0).saturating_sub(rss_before) * 1024;
    say("rss_per_entry", rss / entries.max(1) as u64);
    if let Some(heap) = heap_bytes() {
        say(
            "bytes_per_entry",
            heap.saturating_sub(heap_before) / entries.max(1),
        );
    }
    // The breakdown goes to stderr, for the reader; the table takes the total.
    let footprint = directory.footprint();
    eprintln!("{}", footprint);
    say("footprint_per_entry", footprint.total() / entries.max(1));
    let users: Vec<_> = directory.of_kind(ObjectKind::User).collect();
    let step = (users.len() / PROBES).max(1);
    let mut probes = String::new();
    for id in users.iter().step_by(step) {
        if let Some(mail) = directory.entry(*id).get_str("mail") {
            probes.push_str(mail);
            probes.push('\n');
        }
    }
    std::fs::write(work.join("probes.txt"), probes)?;
    if ldif {
        let started = Instant::now();
        std::fs::write(
            work.join("data.ldif"),
            export(&directory, LdifFlavour::OpenLdap),
        )?;
        say("ldif_secs", secs(started.elapsed()));
    }
    Ok(())
}

/// A load through the fixture cache in `WORKDIR/cache`: the first writes the image
/// (`cache_write_*`: load and write), the second reads it (`cached_*`), as `fake-dc serve`
/// does on its first and second start.
fn cached(fixture: &Path, work: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let (_directory, used) = fixture::Cache::at(work.join("cache"))
        .load(fixture, LoadOptions::default())
        .with_context(|| format!("loading {}", fixture.display()))?;
    let took = started.elapsed();
    let prefix = match &used {
        fixture::CacheUse::Read(image) => {
            say(
                "image_mib",
                format!("{:.0}", std::fs::metadata(image)?.len() as f64 / 1048576.0),
            );
            "cached"
        }
        fixture::CacheUse::Written(_) => "cache_write",
        other => bail!("the cache was not used: {other}"),
    };
    say(&format!("{prefix}_secs"), secs(took));
    say(&format!("{prefix}_peak_mib"), mib("VmHWM:"));
    say(&format!("{prefix}_rss_mib"), mib("VmRSS:"));
    Ok(())
}

/// A full sync over LDAPS with the DC in this process, then a delta after 1% of the
/// users changed department.
async fn sync(fixture: &Path) -> anyhow::Result<()> {
    let (directory, _) = load_fixture(fixture)?;
    let dc = FakeDc::builder(directory)
        .host(HOST, HostConfig::loopback())
        .start()
        .await?;
    let ldaps = dc
        .addresses(HOST)
        .and_then(|a| a.ldaps)
        .context("LDAPS listener")?;
    let mut env = SyncEnvironment::new(
        Resolver::pinned().with(HOST, 636, ldaps),
        vec![dc.ca_pem().to_owned()],
        SyncMethod::DirectoryConnector,
    );
    env.timeout = Duration::from_secs(120);
    let connector = ConnectorSettings {
        primary_host: HOST.into(),
        secondary_host: None,
        encryption: EncryptionMode::Strict,
        port: 636,
        bind_dn: BIND_DN.into(),
        password: PASSWORD.into(),
        root_dn: "DC=corp,DC=example,DC=test".into(),
        change_tracking: Default::default(),
    };
    let settings = AccountSettings {
        link_aliases: true,
        acknowledge_disabled: true,
        additional_attributes: vec!["department".into()],
        domains: vec!["corp.example.test".into()],
        // A full first run adds everything; nothing is unlinked, so no stop applies.
        max_unlink: 1_000_000,
        ..AccountSettings::new(Region::Europe)
    };
    say("sync_rss_before_mib", mib("VmRSS:"));
    let heap_dc = heap_bytes().unwrap_or(0);
    let sampler = HeapPeak::start();
    let started = Instant::now();
    let full = run_delta_sync(&env, &connector, &settings, &Account::default(), None).await;
    let took = started.elapsed();
    let full_heap_peak = sampler.stop();
    if !full.sync.report.errors.is_empty() {
        bail!("full sync failed: {}", full.sync.report.errors.join("; "));
    }
    let s = &full.sync.stats;
    say("full_secs", secs(took));
    say(
        "full_stages",
        format!(
            "connect {} + extract {} + transform {} + apply {}",
            secs(s.connect),
            secs(s.extract),
            secs(s.transform),
            secs(s.apply)
        ),
    );
    say("sync_peak_mib", mib("VmHWM:"));
    let state = full.state.context("the full run left delta state")?;
    let changed = dc.with_directory(|directory| {
        let users: Vec<_> = directory.of_kind(ObjectKind::User).collect();
        let department = Modification {
            op: ModOp::Replace,
            attr: "department".into(),
            values: vec![b"Moved".to_vec()],
        };
        users
            .iter()
            .step_by(100)
            .filter(|id| {
                directory
                    .modify(**id, std::slice::from_ref(&department), true)
                    .is_ok()
            })
            .count()
    });
    let account = full.sync.account;
    let heap_kept = heap_bytes().unwrap_or(0);
    drop(full.sync.snapshot);
    let heap_without_snapshot = heap_bytes().unwrap_or(0);
    // A copy of each, measured and dropped: how the rest divides.
    let size_of_copy = |copy: &dyn Fn() -> Box<dyn std::any::Any>| {
        let before = heap_bytes().unwrap_or(0);
        let held = copy();
        let size = heap_bytes().unwrap_or(0).saturating_sub(before);
        drop(held);
        size
    };
    let state_bytes = size_of_copy(&|| Box::new(state.clone()));
    let account_bytes = size_of_copy(&|| Box::new(account.clone()));
    say(
        "full_heap",
        format!(
            "DC {} MiB, peak {} MiB (+{} over the DC); kept after it: snapshot {} MiB, account, state and report {} MiB (a copy of the state {} MiB, of the account {} MiB)",
            heap_mib(heap_dc),
            heap_mib(full_heap_peak),
            heap_mib(full_heap_peak.saturating_sub(heap_dc)),
            heap_mib(heap_kept.saturating_sub(heap_without_snapshot)),
            heap_mib(heap_without_snapshot.saturating_sub(heap_dc)),
            heap_mib(state_bytes),
            heap_mib(account_bytes),
        ),
    );
    let sampler = HeapPeak::start();
    let started = Instant::now();
    // The account is handed over, as a service that keeps it between runs would: the
    // run applies to it in place.
    let delta = run_delta_sync_owned(&env, &connector, &settings, account, Some(&state)).await;
    let took = started.elapsed();
    let delta_heap_peak = sampler.stop();
    say(
        "delta_heap",
        format!(
            "peak {} MiB (+{} over the DC, account and state)",
            heap_mib(delta_heap_peak),
            heap_mib(delta_heap_peak.saturating_sub(heap_without_snapshot)),
        ),
    );
    if !delta.sync.report.errors.is_empty() {
        bail!("delta sync failed: {}", delta.sync.report.errors.join("; "));
    }
    say("delta_secs", secs(took));
    let s = &delta.sync.stats;
    say(
        "delta_stages",
        format!(
            "connect {} + extract {} + transform {} + apply {}",
            secs(s.connect),
            secs(s.extract),
            secs(s.transform),
            secs(s.apply)
        ),
    );
    say("delta_changed", changed);
    say("delta_entries", delta.sync.stats.entries);
    dc.shutdown().await;
    Ok(())
}

/// The directory served on plain LDAP until stdin closes, like `fake-dc serve` in its
/// own process (slapd runs in its own too); then its peak.
async fn serve(fixture: &Path) -> anyhow::Result<()> {
    let (directory, _) = load_fixture(fixture)?;
    let dc = FakeDc::builder(directory)
        .host(
            HOST,
            HostConfig {
                ldap: Some("127.0.0.1:0".parse()?),
                ..HostConfig::default()
            },
        )
        .start()
        .await?;
    let ldap = dc
        .addresses(HOST)
        .and_then(|a| a.ldap)
        .context("LDAP listener")?;
    say("ready", format!("ldap://{ldap}"));
    tokio::task::spawn_blocking(|| {
        let stdin = std::io::stdin();
        for _ in stdin.lock().lines() {}
    })
    .await?;
    say("serve_peak_mib", mib("VmHWM:"));
    dc.shutdown().await;
    Ok(())
}
