//! The `fake-dc` command: check fixtures, serve a directory, export it as LDIF, and
//! reproduce a directory as a fixture (capture over LDAP, import LDIF).

#[path = "fake-dc/cache.rs"]
mod cache;
#[path = "fake-dc/customer.rs"]
mod customer;
#[path = "fake-dc/reproduce.rs"]
mod reproduce;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use fake_dc::control::{self, ControlState, DirectoryClock};
use fake_dc::directory::Directory;
use fake_dc::fixture::{self, LoadOptions};
use fake_dc::ldif::{self, LdifFlavour};
use fake_dc::serve::{stop_signal, ControlInfo, ReadyLine};
use fake_dc::server::{FakeDc, HostConfig, ServerOptions};
use fake_dc::tls::CertProfile;
use tokio_util::sync::CancellationToken;

/// jemalloc hands freed pages back to the system a few seconds after a burst of
/// connections ends (with its background purging thread), where glibc's malloc keeps them
/// in per-thread arenas for good: a long-lived fake DC shared by a CI job should shrink
/// back once the job's clients are gone. See the soak bench (benches/soak.rs).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "fake-dc",
    version,
    about = "A fake Active Directory domain controller"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load fixture files (or every *.yaml in a folder) and report every problem found.
    Check {
        /// Fixture files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Serve a fixture over LDAP, LDAPS, GC and GC-TLS until Ctrl-C or SIGTERM.
    ///
    /// Without any listener option, serves one DC host on 127.0.0.1 at AD's ports 389,
    /// 636, 3268 and 3269. For test suites: `--ports auto --ready-json
    /// --exit-on-stdin-close` serves every DC host of the fixture on free ports, prints
    /// one JSON line (listeners, CA, control API URL and token) and stops when standard
    /// input closes (docs/control-api.md).
    Serve(Box<ServeArgs>),
    /// Print a fixture as LDIF on standard output.
    ExportLdif {
        /// The fixture file.
        fixture: PathBuf,
        /// Map onto OpenLDAP's standard schemas (for loading into slapd with slapadd).
        #[arg(long)]
        openldap: bool,
    },
    /// Read a live directory (AD, Samba AD, fake-dc; what it can of others) into a
    /// fixture: read-only, paged, ranged members, identities kept.
    Capture(Box<reproduce::CaptureArgs>),
    /// Read an LDIF file (ldapsearch -LLL, ldifde -f, fake-dc export-ldif) into a
    /// fixture, identities kept.
    Import(reproduce::ImportArgs),
    /// Anonymize a fixture: consistent keyed pseudonyms for names, addresses, domains
    /// and free text, the shape kept; a mapping file reads findings back (--reverse).
    Anonymize(customer::AnonymizeArgs),
    /// Report a directory's shape (classes, account states, OU depth, group sizes and
    /// nesting, aliases, special characters, cross-domain members) as text or JSON.
    Shape(customer::ShapeArgs),
    /// Generate a fixture that fits a shape (`--like shape.json`), names made up.
    Generate(customer::GenerateArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// The fixture file.
    fixture: PathBuf,
    /// A DC host to simulate; repeat for more (default: the first DC of the first domain,
    /// or with `--ports auto` every DC host of the fixture).
    #[arg(long = "host")]
    hosts: Vec<String>,
    /// `auto`: every listener of every host on 127.0.0.1, each on a free port (read them
    /// from the ready line); the listener options below are then not allowed.
    #[arg(long, value_parser = ["auto"])]
    ports: Option<String>,
    /// Print one JSON line on standard output once listening (hosts and listeners, CA
    /// path and PEM, domains, control URL and token, pid); turns the control API on.
    #[arg(long)]
    ready_json: bool,
    /// Serve the control API here (port 0: a free one; default with --ready-json:
    /// 127.0.0.1:0). Every request needs the ready line's bearer token.
    #[arg(long, value_name = "ADDR")]
    control: Option<SocketAddr>,
    /// Serve Microsoft Graph and the token endpoint here when the fixture declares an
    /// `azureAd:` tenant (default 127.0.0.1:0, a free port; see docs/graph.md).
    #[arg(long, value_name = "ADDR")]
    graph: Option<SocketAddr>,
    /// Stop when standard input closes, so a test framework's child never outlives it.
    #[arg(long)]
    exit_on_stdin_close: bool,
    /// Reload the fixture when its file changes (objectGUIDs kept by DN); a file that
    /// does not load is reported and the previous directory kept.
    #[arg(long)]
    watch: bool,
    /// Plain LDAP listener, e.g. 127.0.0.1:389 (port 0: a free one).
    #[arg(long)]
    ldap: Option<SocketAddr>,
    /// LDAPS listener, e.g. 127.0.0.1:636.
    #[arg(long)]
    ldaps: Option<SocketAddr>,
    /// Global Catalog listener, e.g. 127.0.0.1:3268.
    #[arg(long)]
    gc: Option<SocketAddr>,
    /// Global Catalog over TLS listener, e.g. 127.0.0.1:3269.
    #[arg(long)]
    gc_tls: Option<SocketAddr>,
    /// Certificate profile: ca-signed, self-signed, expired, wrong-host, untrusted-ca.
    #[arg(long, default_value = "ca-signed")]
    cert: CertProfile,
    /// Write the CA certificate (PEM) here, for clients to trust.
    #[arg(long)]
    ca_out: Option<PathBuf>,
    /// Google Secure LDAP listener, when the fixture declares a `google:` tenant
    /// (default: a free port on 127.0.0.1; Google's own is 636).
    #[arg(long, value_name = "ADDR")]
    google: Option<SocketAddr>,
    /// Write each Google LDAP client's certificate and key here as NAME.crt and NAME.key
    /// (default with --ready-json: a folder in the temporary directory, removed on exit).
    #[arg(long, value_name = "DIR")]
    google_certs_out: Option<PathBuf>,
    /// Extra certificate names besides the host and domain (e.g. localhost).
    #[arg(long = "cert-name")]
    cert_names: Vec<String>,
    #[command(flatten)]
    cache: cache::CacheArgs,
    /// Close connections idle this long, e.g. 900s or 15m; a bare number is seconds
    /// (AD's MaxConnIdleTime; default: the fixture's queryPolicy, else 900s).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    idle_timeout: Option<Duration>,
    /// Most simultaneous connections (AD's MaxConnections; default 5000).
    #[arg(long)]
    max_connections: Option<usize>,
    /// Most entries per page or unpaged search (AD's MaxPageSize; default 1000).
    #[arg(long)]
    max_page_size: Option<usize>,
    /// Most values of one attribute per response (AD's MaxValRange; default 1500).
    #[arg(long)]
    max_val_range: Option<usize>,
    /// Stop a search running this long with timeLimitExceeded, e.g. 2s; a bare number is
    /// seconds (AD's MaxQueryDuration; default 120s).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    max_query_duration: Option<Duration>,
    /// Largest request in bytes; a larger one closes the connection (AD's
    /// MaxReceiveBuffer; default 10485760).
    #[arg(long)]
    max_receive_buffer: Option<usize>,
    /// Searches and writes that may run at once across all connections (default: twice
    /// the cores, at least 4); binds and rootDSE reads never wait for one.
    #[arg(long)]
    workers: Option<usize>,
    /// Pin the directory clock to this Unix time (reproducible whenChanged, currentTime).
    #[arg(long)]
    fixed_time: Option<i64>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Purging freed pages on a timer rather than on the next allocation is what lets an
    // idle server's memory fall after a load ends. Without it memory still works, only
    // later, so a failure here is no reason to stop.
    #[cfg(not(target_env = "msvc"))]
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        eprintln!("warning: jemalloc's background purging is off: {e}");
    }
    match cli.command {
        Command::Check { paths } => check(&paths),
        Command::Serve(args) => report(serve(*args)),
        Command::ExportLdif { fixture, openldap } => report(export(&fixture, openldap)),
        Command::Capture(args) => report(reproduce::capture(*args)),
        Command::Import(args) => report(reproduce::import(args)),
        Command::Anonymize(args) => report(customer::anonymize(args)),
        Command::Shape(args) => report(customer::shape(args)),
        Command::Generate(args) => report(customer::generate(args)),
    }
}

/// Prints an error with its cause chain and turns it into the exit code: 2, since
/// `serve` and `export-ldif` fail only when they cannot run at all (a fixture that does
/// not load, a port that cannot be bound); 1 is `check`'s verdict on fixtures.
fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn export(path: &std::path::Path, openldap: bool) -> anyhow::Result<()> {
    let dir = fixture::load_file(path, LoadOptions::default())?;
    let flavour = if openldap {
        LdifFlavour::OpenLdap
    } else {
        LdifFlavour::Ad
    };
    use std::io::Write as _;
    std::io::stdout()
        .lock()
        .write_all(ldif::export(&dir, flavour).as_bytes())
        .context("writing LDIF")?;
    Ok(())
}

/// Which hosts to serve, and where each listens.
fn host_configs(args: &ServeArgs, dir: &Directory) -> anyhow::Result<Vec<(String, HostConfig)>> {
    let listeners = [args.ldap, args.ldaps, args.gc, args.gc_tls];
    let all_hosts: Vec<String> = dir
        .domains
        .iter()
        .flat_map(|d| d.dc_hosts.iter().cloned())
        .collect();
    let with_cert = |c: HostConfig| HostConfig {
        cert: args.cert,
        extra_names: args.cert_names.clone(),
        ..c
    };
    if args.ports.is_some() {
        if listeners.iter().any(Option::is_some) {
            anyhow::bail!(
                "--ports auto chooses every listener: drop --ldap, --ldaps, --gc and --gc-tls"
            );
        }
        let hosts = if args.hosts.is_empty() {
            all_hosts
        } else {
            args.hosts.clone()
        };
        return Ok(hosts
            .into_iter()
            .map(|h| (h, with_cert(HostConfig::loopback())))
            .collect());
    }
    let host = match args.hosts.as_slice() {
        [] => all_hosts
            .first()
            .cloned()
            .context("the fixture has no DC host")?,
        [one] => one.clone(),
        _ => anyhow::bail!("several --host need --ports auto (each host needs its own ports)"),
    };
    let at = |port: u16| Some(SocketAddr::from(([127, 0, 0, 1], port)));
    let config = if listeners.iter().all(Option::is_none) {
        HostConfig {
            ldap: at(389),
            ldaps: at(636),
            gc: at(3268),
            gc_tls: at(3269),
            ..HostConfig::default()
        }
    } else {
        HostConfig {
            ldap: args.ldap,
            ldaps: args.ldaps,
            gc: args.gc,
            gc_tls: args.gc_tls,
            ..HostConfig::default()
        }
    };
    Ok(vec![(host, with_cert(config))])
}

/// The server options: the fixture's query policy, overridden by the flags given.
fn server_options(args: &ServeArgs, dir: &Directory) -> ServerOptions {
    let mut options = ServerOptions {
        policy: dir.query_policy.clone(),
        ..ServerOptions::default()
    };
    let policy = &mut options.policy;
    if let Some(d) = args.idle_timeout {
        policy.max_conn_idle_time = d;
    }
    if let Some(d) = args.max_query_duration {
        policy.max_query_duration = d;
    }
    for (flag, value) in [
        (&mut policy.max_connections, args.max_connections),
        (&mut policy.max_page_size, args.max_page_size),
        (&mut policy.max_val_range, args.max_val_range),
        (&mut policy.max_receive_buffer, args.max_receive_buffer),
        (&mut options.workers, args.workers),
    ] {
        if let Some(v) = value {
            *flag = v.max(1);
        }
    }
    options
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let options = LoadOptions {
        fixed_time: args.fixed_time,
    };
    let mut dir = cache::load(&args.fixture, options, &args.cache)?;
    // The control API moves this clock; --fixed-time pins its base.
    let clock = DirectoryClock::new(args.fixed_time);
    dir.set_clock(clock.clock());
    let hosts = host_configs(&args, &dir)?;
    let options = server_options(&args, &dir);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let result = runtime.block_on(async move {
        let mut builder = FakeDc::builder(dir).options(options);
        if let Some(addr) = args.google {
            builder = builder.google_address(addr);
        }
        for (name, config) in hosts {
            builder = builder.host(name, config);
        }
        let dc = Arc::new(builder.start().await?);
        // With --ready-json the CA always goes to a file, so clients that want a path
        // (OpenSSL's LDAPTLS_CACERT, Java keystores) have one.
        let ca_path = match (&args.ca_out, args.ready_json) {
            (Some(p), _) => Some(p.clone()),
            (None, true) => {
                Some(std::env::temp_dir().join(format!("fake-dc-{}-ca.pem", std::process::id())))
            }
            (None, false) => None,
        };
        if let Some(path) = &ca_path {
            std::fs::write(path, dc.ca_pem())
                .with_context(|| format!("writing the CA certificate to {}", path.display()))?;
            eprintln!("CA certificate written to {}", path.display());
        }
        let stop = CancellationToken::new();
        let control_addr = args.control.or(args
            .ready_json
            .then(|| SocketAddr::from(([127, 0, 0, 1], 0))));
        let has_tenant = dc
            .directory()
            .read()
            .map(|d| d.azure_ad.is_some())
            .unwrap_or(false);
        let graph = if has_tenant {
            let addr = args.graph.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
            let server =
                fake_dc::graph::GraphServer::start(dc.directory().clone(), dc.ca(), addr).await?;
            eprintln!("Microsoft Graph on {}", server.url());
            Some(server)
        } else {
            None
        };
        let token = control::new_token()?;
        let mut state =
            ControlState::new(dc.clone(), clock, token.clone(), Some(args.fixture.clone()));
        if let Some(g) = &graph {
            state = state.with_graph(g.state().clone());
        }
        let state = Arc::new(state);
        let mut control_info = None;
        if let Some(addr) = control_addr {
            if !addr.ip().is_loopback() {
                eprintln!("warning: the control API listens on {addr}, beyond loopback");
            }
            let (bound, _task) = control::serve(state.clone(), addr, stop.clone()).await?;
            eprintln!("control API on http://{bound}");
            control_info = Some(ControlInfo {
                url: format!("http://{bound}"),
                token,
            });
        }
        if args.watch {
            tokio::spawn(fake_dc::serve::watch(
                state.clone(),
                args.fixture.clone(),
                stop.clone(),
            ));
        }
        let google_dir = match (&args.google_certs_out, args.ready_json) {
            (Some(p), _) => Some(p.clone()),
            (None, true) => {
                Some(std::env::temp_dir().join(format!("fake-dc-{}-google", std::process::id())))
            }
            (None, false) => None,
        };
        let mut google_info = None;
        if let (Some(google), Some(folder)) = (dc.google(), &google_dir) {
            let info =
                fake_dc::serve::write_google_credentials(google, folder).with_context(|| {
                    format!(
                        "writing the Google LDAP client certificates to {}",
                        folder.display()
                    )
                })?;
            eprintln!(
                "Google Secure LDAP client certificates written to {}",
                folder.display()
            );
            google_info = Some(info);
        }
        if args.ready_json {
            let mut line = ReadyLine::new(
                &dc,
                ca_path.as_deref().unwrap_or(Path::new("")),
                control_info,
            );
            line.graph = graph.as_ref().map(fake_dc::serve::GraphInfo::of);
            line.google = google_info;
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", line.to_json())
                .and_then(|()| out.flush())
                .context("writing the ready line")?;
        } else {
            if let Some(g) = &graph {
                println!("microsoft graph listening on {}", g.url());
            }
            for (name, a) in dc.all_addresses() {
                for (what, addr) in [
                    ("ldap", a.ldap),
                    ("ldaps", a.ldaps),
                    ("gc", a.gc),
                    ("gc-tls", a.gc_tls),
                ] {
                    if let Some(addr) = addr {
                        println!("{name} {what} listening on {addr}");
                    }
                }
            }
            if let Some(google) = dc.google() {
                println!("Google Secure LDAP listening on {}", google.url());
            }
        }
        let why = stop_signal(args.exit_on_stdin_close)
            .await
            .context("waiting for a signal to stop")?;
        eprintln!("shutting down ({why:?})");
        stop.cancel();
        dc.stop().await;
        if let (Some(path), None) = (&ca_path, &args.ca_out) {
            let _ = std::fs::remove_file(path);
        }
        if let (Some(folder), None, true) =
            (&google_dir, &args.google_certs_out, dc.google().is_some())
        {
            let _ = std::fs::remove_dir_all(folder);
        }
        anyhow::Ok(())
    });
    // Reading stdin blocks a pool thread that a signal cannot interrupt; dropping the
    // runtime would wait for it forever, so it is left behind as the process exits.
    runtime.shutdown_background();
    result
}

/// Expands folders into the YAML files they hold, sorted so output is stable.
fn fixture_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries = std::fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Checks fixtures; the report (verdicts and each problem under its file) goes to
/// standard output in one stream, so it reads in order when redirected. Exit 1 when a
/// fixture has problems, 2 when the files cannot be listed.
fn check(paths: &[PathBuf]) -> ExitCode {
    let files = match fixture_files(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut failed = 0;
    for file in &files {
        let started = std::time::Instant::now();
        match fixture::load_file(file, LoadOptions::default()) {
            Ok(dir) => println!(
                "ok    {} ({} entries, {} domains, {:.0?})",
                file.display(),
                dir.len(),
                dir.domains.len(),
                started.elapsed()
            ),
            Err(e) => {
                failed += 1;
                let problems = e.problems();
                println!("FAIL  {} ({} problems)", file.display(), problems.len());
                for p in problems {
                    println!("{p}");
                }
            }
        }
    }
    println!("{} fixtures checked, {} failed", files.len(), failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A duration as `harness` takes them (`30s`, `2m`, `500ms`), or a bare number of seconds
/// as AD's policy values are written; zero is refused.
fn duration(text: &str) -> Result<Duration, String> {
    let d = match text.trim().parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(text).map_err(|e| e.to_string())?,
    };
    if d.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(d)
}
