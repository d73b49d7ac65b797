//! Reproducing the 100,000-user directory (fixtures/large-100k.yaml) as a fixture:
//! - import: its LDIF (as `fake-dc export-ldif` writes it) read into a fixture written to
//!   disk, in a child process that does only that, so its peak memory (VmHWM) is the
//!   import's alone (aims: under 3 s, under 500 MB);
//! - capture: the directory read from a running fake-dc over LDAPS with a strict client
//!   (paged, ranged members) into a fixture (aim: under 10 s).
//!
//! `cargo bench -p fake-dc --bench reproduce`; prints numbers, asserts nothing.

#![allow(clippy::unwrap_used)] // benches fail loudly on broken fixtures
use std::path::Path;
use std::time::{Duration, Instant};

use fake_dc::fixture::{load_file, write, LoadOptions};
use fake_dc::reproduce::capture::{capture, CaptureOptions, Quiet, Tls};
use fake_dc::reproduce::import::{self, import_file};
use fake_dc::server::{FakeDc, HostConfig, ServerOptions};

/// Set in the child process: the LDIF file to import.
const CHILD: &str = "FAKE_DC_BENCH_IMPORT";

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn child(ldif: &str) {
    let started = Instant::now();
    let collected = import_file(Path::new(ldif), None, import::Quiet).unwrap();
    let out = std::env::temp_dir().join(format!("fake-dc-bench-{}.yaml", std::process::id()));
    write::write(&collected.fixture, "", std::fs::File::create(&out).unwrap()).unwrap();
    let elapsed = started.elapsed();
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_file(&out);
    println!(
        "import: {} objects in {:.2} s, fixture {:.1} MB, peak memory {:.0} MiB",
        collected.objects,
        elapsed.as_secs_f64(),
        size as f64 / 1e6,
        peak_rss_mib()
    );
}

fn main() {
    if let Ok(ldif) = std::env::var(CHILD) {
        return child(&ldif);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/large-100k.yaml");
    let dir = load_file(&path, LoadOptions::default()).unwrap();
    let ldif = std::env::temp_dir().join(format!("fake-dc-bench-{}.ldif", std::process::id()));
    std::fs::write(
        &ldif,
        fake_dc::ldif::export(&dir, fake_dc::ldif::LdifFlavour::Ad),
    )
    .unwrap();
    println!(
        "LDIF of {} entries: {:.1} MB",
        dir.len(),
        std::fs::metadata(&ldif).unwrap().len() as f64 / 1e6
    );
    for _ in 0..2 {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env(CHILD, &ldif)
            .output()
            .unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    }
    let _ = std::fs::remove_file(&ldif);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let host = "dc1.corp.example.test";
        let dc = FakeDc::builder(dir)
            .host(host, HostConfig::loopback())
            .options(ServerOptions::default())
            .start()
            .await
            .unwrap();
        let addr = dc.addresses(host).unwrap().ldaps.unwrap();
        let options = CaptureOptions {
            url: format!("ldaps://{host}:{}", addr.port()),
            address: Some(addr),
            tls: Tls::Strict {
                ca_pem: dc.ca_pem().to_string(),
            },
            starttls: false,
            bind: Some("CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test".into()),
            password: Some("Sync-Secret-1".into()),
            forest: false,
            tombstones: false,
            page_size: None,
            timeout: Duration::from_secs(300),
            default_password: None,
        };
        for _ in 0..2 {
            let started = Instant::now();
            let (collected, stats) = capture(&options, &mut Quiet).await.unwrap();
            let read = started.elapsed();
            let yaml = write::to_string(&collected.fixture).unwrap();
            println!(
                "capture over LDAPS: {} entries, {} pages, {} ranged reads in {:.2} s; fixture of {:.1} MB written in {:.2} s more",
                stats.entries,
                stats.pages,
                stats.ranged_fetches,
                read.as_secs_f64(),
                yaml.len() as f64 / 1e6,
                (started.elapsed() - read).as_secs_f64()
            );
        }
        dc.shutdown().await;
    });
}
