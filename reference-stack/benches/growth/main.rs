//! Growth: the same workloads at 100,000, 250,000, 500,000 and 1,000,000 users, one table.
//!
//! ```text
//! cargo bench -p reference-stack --bench growth                  # all four sizes
//! cargo bench -p reference-stack --bench growth -- --sizes 100k  # or GROWTH_SIZES=100k,250k
//! cargo bench -p reference-stack --bench growth -- --no-slapd    # fake-dc only
//! ```
//! Per size: the first load of the fixture (time, peak and resident memory, bytes per
//! entry); a full sync over LDAPS with the DC in process (time, peak memory), then a
//! delta sync after 1% of the users changed; exact searches (`(mail=…)` over the
//! subtree) from 4 clients against the directory served in its own process, and against
//! OpenLDAP's slapd loaded with the same entries (`export-ldif --openldap`) in the same
//! run. Fixtures: `fixtures/large-100k.yaml` and `fixtures/scale/large-*.yaml`.
//!
//! Every workload runs in a child process of its own (this executable, `--child …`):
//! a process's peak resident size (`VmHWM`) only ever grows, so in one process the
//! sync's peak would include whatever the load or the previous size left behind, and
//! freed memory is not reliably returned to the system. A child per workload and size
//! starts from nothing, and its `VmHWM` is that workload's peak, read by the child just
//! before it exits. Bounded: `BENCH_SECS` (default 5) per search run, each child killed
//! after `GROWTH_TIMEOUT_SECS` (default 900).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod child;
mod clients;
mod slapd;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// The processes allocate as the `fake-dc` binary does, so resident sizes are the ones
/// `fake-dc serve` would show.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The sizes and where their fixtures are.
const SIZES: &[(&str, &str)] = &[
    ("100k", "fixtures/large-100k.yaml"),
    ("250k", "fixtures/scale/large-250k.yaml"),
    ("500k", "fixtures/scale/large-500k.yaml"),
    ("1m", "fixtures/scale/large-1m.yaml"),
];

/// What a child reported: `key value` lines.
type Results = BTreeMap<String, String>;

struct Options {
    sizes: Vec<(String, PathBuf)>,
    slapd: bool,
    secs: f64,
    timeout: Duration,
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn options() -> anyhow::Result<Options> {
    let mut wanted = std::env::var("GROWTH_SIZES").ok();
    let mut slapd = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sizes" => wanted = args.next(),
            "--no-slapd" => slapd = false,
            _ => {} // cargo bench passes --bench
        }
    }
    let sizes = match wanted {
        None => SIZES
            .iter()
            .map(|(name, path)| (name.to_string(), workspace().join(path)))
            .collect(),
        Some(list) => list
            .split(',')
            .map(|name| {
                let name = name.trim().to_ascii_lowercase();
                SIZES
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(n, path)| (n.to_string(), workspace().join(path)))
                    .with_context(|| {
                        format!("--sizes: unknown size '{name}' (one of 100k, 250k, 500k, 1m)")
                    })
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let env_num = |name: &str, default: f64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(default)
    };
    Ok(Options {
        sizes,
        slapd,
        secs: env_num("BENCH_SECS", 5.0),
        timeout: Duration::from_secs_f64(env_num("GROWTH_TIMEOUT_SECS", 900.0)),
    })
}

/// Starts this executable as a child running one workload.
fn spawn(args: &[&str]) -> anyhow::Result<Child> {
    let exe = std::env::current_exe()?;
    Command::new(exe)
        .arg("--child")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting a child")
}

/// The child's stdout, line by line, on a channel (so reading it can time out).
fn lines(child: &mut Child) -> anyhow::Result<Receiver<String>> {
    let stdout = child.stdout.take().context("child stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Ok(rx)
}

/// Reads `key value` lines until the child closes stdout (then waits for it) or, with
/// `until_ready`, says `ready`; kills it when `timeout` passes.
fn collect(
    child: &mut Child,
    rx: &Receiver<String>,
    timeout: Duration,
    until_ready: bool,
) -> anyhow::Result<Results> {
    let deadline = Instant::now() + timeout;
    let mut results = Results::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let (key, value) = line.split_once(' ').unwrap_or((line.as_str(), ""));
                results.insert(key.into(), value.into());
                if key == "ready" && until_ready {
                    return Ok(results);
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("a child ran past {timeout:?} and was stopped");
            }
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("a child failed ({status})");
    }
    Ok(results)
}

fn run_child(args: &[&str], timeout: Duration) -> anyhow::Result<Results> {
    let mut child = spawn(args)?;
    let rx = lines(&mut child)?;
    collect(&mut child, &rx, timeout, false)
}

/// One size's row.
#[derive(Default)]
struct Row {
    size: String,
    values: Results,
}

impl Row {
    fn get(&self, key: &str) -> &str {
        self.values.get(key).map_or("-", String::as_str)
    }
}

fn measure(size: &str, fixture: &Path, o: &Options) -> anyhow::Result<Row> {
    let work = std::env::temp_dir().join(format!("fake-dc-growth-{}-{size}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let fixture = fixture.to_str().context("fixture path is UTF-8")?;
    let work_s = work.to_str().context("temp path is UTF-8")?;
    let mut row = Row {
        size: size.into(),
        values: Results::new(),
    };
    eprintln!(
        "== {size}: load (and export the probes{})",
        if o.slapd { " and LDIF" } else { "" }
    );
    let export = if o.slapd { "ldif" } else { "probes" };
    row.values
        .extend(run_child(&["load", fixture, work_s, export], o.timeout)?);
    eprintln!("== {size}: load through the fixture cache, writing the image, then reading it");
    for _ in 0..2 {
        row.values
            .extend(run_child(&["cached", fixture, work_s], o.timeout)?);
    }
    eprintln!("== {size}: full sync over LDAPS, then delta after 1% changed");
    row.values
        .extend(run_child(&["sync", fixture, work_s], o.timeout)?);
    eprintln!("== {size}: exact searches, 4 clients, fake-dc in its own process");
    let probes = clients::read_probes(&work.join("probes.txt"))?;
    let mut server = spawn(&["serve", fixture, work_s])?;
    let rx = lines(&mut server)?;
    let ready = collect(&mut server, &rx, o.timeout, true)?;
    let url = ready
        .get("ready")
        .context("the serving child gave no address")?
        .clone();
    let searched = clients::exact_searches(&url, &probes, 4, o.secs);
    drop(server.stdin.take()); // the child prints its peak and exits
    row.values
        .extend(collect(&mut server, &rx, o.timeout, false)?);
    row.values
        .insert("fdc_rate".into(), format!("{:.0}", searched?));
    if o.slapd {
        eprintln!("== {size}: the same searches against slapd");
        let s = slapd::measure(&work, &url_free_port()?, &probes, o.secs, o.timeout)?;
        row.values.extend(s);
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(row)
}

/// A loopback port nobody listens on right now, for slapd.
fn url_free_port() -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    drop(listener);
    Ok(format!("ldap://127.0.0.1:{port}/"))
}

fn print_table(rows: &[Row], slapd: bool) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\n| users | entries | load, first start | load peak RSS | RSS after load | bytes/entry | cached start (peak RSS; image) | full sync (LDAPS, DC in process) | sync peak RSS | delta after 1% | exact searches, 4 clients{} |",
        if slapd { " (fake-dc / slapd)" } else { "" }
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let searches = if slapd {
            format!(
                "{} / {} per s ({}×; slapadd {} s, slapd RSS {} MiB)",
                r.get("fdc_rate"),
                r.get("slapd_rate"),
                ratio(r.get("fdc_rate"), r.get("slapd_rate")),
                r.get("slapadd_secs"),
                r.get("slapd_rss_mib"),
            )
        } else {
            format!("{} per s", r.get("fdc_rate"))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} s | {} MiB | {} MiB | {} | {} s ({} MiB; {} MiB, written in {} s) | {} s | {} MiB | {} s ({} changed) | {searches} |",
            r.size,
            r.get("entries"),
            r.get("load_secs"),
            r.get("load_peak_mib"),
            r.get("load_rss_mib"),
            r.get("bytes_per_entry"),
            r.get("cached_secs"),
            r.get("cached_peak_mib"),
            r.get("image_mib"),
            r.get("cache_write_secs"),
            r.get("full_secs"),
            r.get("sync_peak_mib"),
            r.get("delta_secs"),
            r.get("delta_changed"),
        );
    }
    let _ = writeln!(
        out,
        "\nserving child's peak RSS while searched: {}",
        rows.iter()
            .map(|r| format!("{} {} MiB", r.size, r.get("serve_peak_mib")))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{}: full sync {} s = {}; delta {} s = {} ({} entries read); heap by the footprint {} B/entry",
            r.size,
            r.get("full_secs"),
            r.get("full_stages"),
            r.get("delta_secs"),
            r.get("delta_stages"),
            r.get("delta_entries"),
            r.get("footprint_per_entry"),
        );
        let _ = writeln!(
            out,
            "{}: live heap in the full sync: {}; in the delta: {}",
            r.size,
            r.get("full_heap"),
            r.get("delta_heap"),
        );
    }
}

fn ratio(a: &str, b: &str) -> String {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(a), Ok(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "-".into(),
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        return child::main(&args[at + 1..]);
    }
    let o = options()?;
    if o.slapd {
        slapd::check_installed()?;
    }
    let mut rows = Vec::new();
    for (size, fixture) in &o.sizes {
        match measure(size, fixture, &o) {
            Ok(row) => rows.push(row),
            Err(e) => {
                eprintln!("{size}: {e:#}");
                rows.push(Row {
                    size: format!("{size} (failed: {e})"),
                    values: Results::new(),
                });
            }
        }
    }
    print_table(&rows, o.slapd);
    Ok(())
}
