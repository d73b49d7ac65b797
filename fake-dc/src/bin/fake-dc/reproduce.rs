//! `fake-dc capture` and `fake-dc import`: a live directory or an LDIF file into a
//! fixture, with a progress bar on standard error and what could not be carried over
//! listed after it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use fake_dc::reproduce::capture::{self, CaptureOptions, Tls};
use fake_dc::reproduce::{import, Collected};
use indicatif::{ProgressBar, ProgressStyle};

/// The environment variable a key may come in (out of the process list and history).
const KEY_VARIABLE: &str = "FAKE_DC_ANONYMIZE_KEY";

/// `--anonymize` and its key and mapping, shared by capture and import.
#[derive(clap::Args)]
pub struct AnonymizeOptions {
    /// Write the fixture anonymized: consistent keyed pseudonyms for names, addresses,
    /// domains and free text, the shape kept (see `fake-dc anonymize`).
    #[arg(long, requires = "mapping")]
    anonymize: bool,
    /// The secret key (16 bytes or more); prefer --key-file or FAKE_DC_ANONYMIZE_KEY.
    #[arg(long, requires = "anonymize", conflicts_with = "key_file")]
    key: Option<String>,
    /// A file holding the secret key (e.g. from `openssl rand -hex 32`); the same key
    /// maps a later capture of the same customer the same way.
    #[arg(long, requires = "anonymize")]
    key_file: Option<PathBuf>,
    /// Where the mapping from pseudonyms back to the originals goes. It holds the
    /// customer's names: it stays with the customer.
    #[arg(long, requires = "anonymize")]
    mapping: Option<PathBuf>,
}

impl AnonymizeOptions {
    /// The fixture anonymized when asked, the mapping written; the notes, which may name
    /// the customer's objects, are dropped then (their count is kept).
    fn apply(&self, collected: &mut Collected) -> anyhow::Result<()> {
        use fake_dc::anonymize::{anonymize, Key};
        if !self.anonymize {
            return Ok(());
        }
        let bytes = match (&self.key, &self.key_file) {
            (Some(k), _) => k.clone().into_bytes(),
            (None, Some(file)) => std::fs::read(file)
                .with_context(|| format!("reading the key file {}", file.display()))?,
            (None, None) => std::env::var(KEY_VARIABLE)
                .map(String::into_bytes)
                .map_err(|_| {
                    anyhow::anyhow!(
                        "--anonymize needs a key: --key-file FILE, --key KEY or {KEY_VARIABLE}"
                    )
                })?,
        };
        let key = Key::new(&bytes)?;
        let (fixture, mapping) = anonymize(&collected.fixture, &key);
        if let Some(path) = &self.mapping {
            std::fs::write(path, mapping.to_json())
                .with_context(|| format!("writing the mapping {}", path.display()))?;
        }
        collected.fixture = fixture;
        let n = collected.notes.len();
        collected.notes.clear();
        if n > 0 {
            collected.notes.push(format!(
                "{n} notes left out: they name the source's objects (run without --anonymize to read them)"
            ));
        }
        Ok(())
    }
}

#[derive(clap::Args)]
pub struct CaptureArgs {
    /// The directory: ldap://host:389, ldaps://host:636, or a Global Catalog
    /// (ldap://host:3268, ldaps://host:3269) with --forest.
    url: String,
    /// Where to write the fixture (`-`: standard output).
    #[arg(short, long, default_value = "-")]
    output: PathBuf,
    /// Bind as this account: a DN, a UPN or DOMAIN\name (default: anonymous).
    #[arg(long = "bind", short = 'D', value_name = "ACCOUNT")]
    bind: Option<String>,
    /// The account's password (or set FAKE_DC_CAPTURE_PASSWORD, which keeps it out of
    /// the process list).
    #[arg(long, short = 'w')]
    password: Option<String>,
    /// Trust this CA certificate (PEM) and check the server's certificate strictly.
    #[arg(long, value_name = "PEM_FILE", conflicts_with = "insecure")]
    ca: Option<PathBuf>,
    /// Accept any certificate (relaxed TLS).
    #[arg(long)]
    insecure: bool,
    /// Upgrade an ldap:// connection with StartTLS (needs --ca or --insecure).
    #[arg(long)]
    starttls: bool,
    /// Connect to this address rather than the URL's host, which the certificate must
    /// still name.
    #[arg(long, value_name = "IP:PORT")]
    address: Option<SocketAddr>,
    /// Read every domain of the forest through the Global Catalog.
    #[arg(long)]
    forest: bool,
    /// Read tombstones (CN=Deleted Objects) too, with the Show Deleted control.
    #[arg(long)]
    tombstones: bool,
    /// Entries per page (default: the server's MaxPageSize, else 1000).
    #[arg(long)]
    page_size: Option<i32>,
    /// Bound on connecting and on each operation, e.g. 30s.
    #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// The fixture's defaultPassword, so captured users can bind to fake-dc.
    #[arg(long)]
    default_password: Option<String>,
    #[command(flatten)]
    anonymize: AnonymizeOptions,
}

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The LDIF file (ldapsearch -LLL, ldifde -f, fake-dc export-ldif).
    file: PathBuf,
    /// Where to write the fixture (`-`: standard output).
    #[arg(short, long, default_value = "-")]
    output: PathBuf,
    /// The fixture's defaultPassword, so imported users can bind to fake-dc.
    #[arg(long)]
    default_password: Option<String>,
    #[command(flatten)]
    anonymize: AnonymizeOptions,
}

/// A bar over the file's bytes (import) or a counter of entries (capture); hidden when
/// standard error is not a terminal.
fn bar(total: Option<u64>) -> ProgressBar {
    let bar = match total {
        Some(t) => ProgressBar::new(t).with_style(
            ProgressStyle::with_template(
                "{spinner} importing [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {pos} entries read ({per_sec}) {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(10));
    bar
}

struct CaptureBar(ProgressBar);

impl capture::Progress for CaptureBar {
    fn entries(&mut self, n: u64) {
        self.0.inc(n);
    }
    fn message(&mut self, text: &str) {
        self.0.set_message(text.to_string());
    }
    fn finish(&mut self) {
        self.0.finish_and_clear();
    }
}

struct ImportBar(ProgressBar);

impl import::Progress for ImportBar {
    fn start(&mut self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&mut self, read: u64) {
        self.0.set_position(read);
    }
    fn finish(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Writes the fixture and lists the notes on standard error.
fn write_out(collected: &Collected, output: &Path, header: &str) -> anyhow::Result<()> {
    use fake_dc::fixture::write::write;
    if output == Path::new("-") {
        write(&collected.fixture, header, std::io::stdout().lock())?;
    } else {
        let file = std::fs::File::create(output)
            .with_context(|| format!("creating {}", output.display()))?;
        write(&collected.fixture, header, file)
            .with_context(|| format!("writing {}", output.display()))?;
    }
    for note in &collected.notes {
        eprintln!("note: {note}");
    }
    Ok(())
}

pub fn capture(args: CaptureArgs) -> anyhow::Result<()> {
    let tls = match (&args.ca, args.insecure) {
        (Some(path), _) => Tls::Strict {
            ca_pem: std::fs::read_to_string(path)
                .with_context(|| format!("reading the CA certificate {}", path.display()))?,
        },
        (None, true) => Tls::Relaxed,
        (None, false) => Tls::None,
    };
    let options = CaptureOptions {
        url: args.url.clone(),
        address: args.address,
        tls,
        starttls: args.starttls,
        bind: args.bind.clone(),
        password: args
            .password
            .clone()
            .or_else(|| std::env::var("FAKE_DC_CAPTURE_PASSWORD").ok()),
        forest: args.forest,
        tombstones: args.tombstones,
        page_size: args.page_size,
        timeout: args.timeout,
        default_password: args.default_password.clone(),
    };
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut progress = CaptureBar(bar(None));
    let (mut collected, stats) = runtime.block_on(capture::capture(&options, &mut progress))?;
    args.anonymize.apply(&mut collected)?;
    let header = if args.anonymize.anonymize {
        "Captured by fake-dc capture and anonymized (the mapping back stays with the customer)."
            .to_string()
    } else {
        format!(
            "Captured from {} by fake-dc capture{}{}.\nIdentities (objectGUID, objectSid, USNs, times) are the source's; passwords are not.",
            args.url,
            args.bind.as_deref().map(|b| format!(" as {b}")).unwrap_or_default(),
            if args.forest { ", every domain through the Global Catalog" } else { "" },
        )
    };
    write_out(&collected, &args.output, &header)?;
    eprintln!(
        "captured {} entries ({} pages, {} ranged member reads, {} tombstones) into {} objects in {:.1?}",
        stats.entries,
        stats.pages,
        stats.ranged_fetches,
        stats.tombstones,
        collected.objects,
        started.elapsed()
    );
    Ok(())
}

pub fn import(args: ImportArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut collected = import::import_file(
        &args.file,
        args.default_password.clone(),
        ImportBar(bar(Some(0))),
    )?;
    args.anonymize.apply(&mut collected)?;
    let header = if args.anonymize.anonymize {
        "Imported by fake-dc import and anonymized (the mapping back stays with the customer)."
            .to_string()
    } else {
        format!(
            "Imported from {} by fake-dc import.\nIdentities (objectGUID, objectSid, USNs, times) are the file's; passwords are not.",
            args.file.display()
        )
    };
    write_out(&collected, &args.output, &header)?;
    eprintln!(
        "imported {} objects in {:.1?}",
        collected.objects,
        started.elapsed()
    );
    Ok(())
}
