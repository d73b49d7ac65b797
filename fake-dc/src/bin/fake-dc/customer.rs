//! The commands that reproduce a customer's directory: `anonymize`, `shape` and
//! `generate --like`.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use fake_dc::anonymize::{self, Key, Mapping};
use fake_dc::fixture::{self, LoadOptions};
use fake_dc::shape::Shape;

/// The environment variable `anonymize` reads its key from when no option gives one.
pub const KEY_VARIABLE: &str = "FAKE_DC_ANONYMIZE_KEY";

#[derive(clap::Args)]
pub struct AnonymizeArgs {
    /// The fixture to anonymize (with --reverse: a text file to translate back; standard
    /// input when left out).
    input: Option<PathBuf>,
    /// Where the anonymized fixture goes.
    #[arg(short, long, conflicts_with = "reverse")]
    output: Option<PathBuf>,
    /// The secret key (16 bytes or more); prefer --key-file or FAKE_DC_ANONYMIZE_KEY,
    /// which stay out of the process list and the shell history.
    #[arg(long, conflicts_with_all = ["key_file", "reverse"])]
    key: Option<String>,
    /// A file holding the secret key (e.g. from `openssl rand -hex 32`).
    #[arg(long, conflicts_with = "reverse")]
    key_file: Option<PathBuf>,
    /// Where the mapping from pseudonyms back to the originals goes. It holds the
    /// customer's names: it stays with the customer.
    #[arg(long, conflicts_with = "reverse")]
    mapping: Option<PathBuf>,
    /// A YAML file naming the directory's hosts, DNs, domains and addresses (the
    /// customer's settings for `harness preview`), anonymized with the same pseudonyms.
    #[arg(long, requires = "settings_output", conflicts_with = "reverse")]
    settings: Option<PathBuf>,
    /// Where the anonymized --settings go.
    #[arg(long, requires = "settings")]
    settings_output: Option<PathBuf>,
    /// Translate text written against the anonymized fixture back with this mapping, and
    /// print it.
    #[arg(long, value_name = "MAPPING")]
    reverse: Option<PathBuf>,
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn key(args: &AnonymizeArgs) -> anyhow::Result<Key> {
    let bytes = match (&args.key, &args.key_file) {
        (Some(k), _) => k.clone().into_bytes(),
        (None, Some(file)) => std::fs::read(file)
            .with_context(|| format!("reading the key file {}", file.display()))?,
        (None, None) => std::env::var(KEY_VARIABLE)
            .map(String::into_bytes)
            .map_err(|_| {
                anyhow::anyhow!("no key: give --key-file FILE, --key KEY or set {KEY_VARIABLE}")
            })?,
    };
    Ok(Key::new(&bytes)?)
}

pub fn anonymize(args: AnonymizeArgs) -> anyhow::Result<()> {
    if let Some(map) = &args.reverse {
        let mapping = Mapping::from_json(&read(map)?, &map.display().to_string())?;
        let text = match &args.input {
            Some(p) => read(p)?,
            None => {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("reading standard input")?;
                s
            }
        };
        std::io::stdout()
            .lock()
            .write_all(mapping.reverse(&text).as_bytes())
            .context("writing standard output")?;
        return Ok(());
    }
    let input = args
        .input
        .as_deref()
        .context("which fixture? (fake-dc anonymize FIXTURE -o OUT --mapping MAP)")?;
    let output = args.output.as_deref().context("--output FILE is needed")?;
    let mapping_path = args
        .mapping
        .as_deref()
        .context("--mapping FILE is needed: without it nothing could translate a finding back")?;
    let key = key(&args)?;
    let file = input.display().to_string();
    let text = read(input)?;
    let original = fixture::parse(&text, &file)?;
    // A fixture that does not load would give an anonymized one that does not either,
    // with every problem's names hidden: report them here, in the customer's names.
    fixture::load_str(&text, &file, LoadOptions::default())?;
    let companions = match &args.settings {
        Some(path) => {
            let text = read(path)?;
            let value: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| {
                let at = e
                    .location()
                    .map(|l| format!(":{}:{}", l.line(), l.column()))
                    .unwrap_or_default();
                anyhow::anyhow!("{}{at}: not YAML: {e}", path.display())
            })?;
            vec![value]
        }
        None => Vec::new(),
    };
    let (anonymized, companions, mapping) = anonymize::anonymize_with(&original, &companions, &key);
    write_fixture(output, &anonymized, ANONYMIZED_HEADER)?;
    if let (Some(path), Some(doc)) = (&args.settings_output, companions.first()) {
        let text = serde_yaml::to_string(doc).context("writing the settings as YAML")?;
        write(path, &text)?;
    }
    write(mapping_path, &mapping.to_json())?;
    eprintln!(
        "anonymized {} into {} ({} names, {} domains mapped; mapping in {})",
        input.display(),
        output.display(),
        mapping.words.len(),
        mapping.domains.len(),
        mapping_path.display()
    );
    Ok(())
}

const ANONYMIZED_HEADER: &str = "Anonymized by `fake-dc anonymize`: names, addresses, domains and free text are\nkeyed pseudonyms; the shape is the original's.";

fn write_fixture(path: &Path, f: &fixture::Fixture, header: &str) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    fixture::write::write(f, header, file).with_context(|| format!("writing {}", path.display()))
}

#[derive(clap::Args)]
pub struct ShapeArgs {
    /// A fixture (YAML) or an LDIF file (`.ldif`).
    input: PathBuf,
    /// Print the shape as JSON (the input of `generate --like`).
    #[arg(long)]
    json: bool,
}

pub fn shape(args: ShapeArgs) -> anyhow::Result<()> {
    let dir = load_any(&args.input)?;
    let shape = Shape::of(&dir);
    let text = if args.json {
        shape.to_json()
    } else {
        shape.to_text()
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("writing standard output")?;
    Ok(())
}

/// Loads a fixture, or an LDIF file (by its extension, `.ldif` or `.ldf`).
fn load_any(path: &Path) -> anyhow::Result<fake_dc::directory::Directory> {
    let ldif = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("ldif") || e.eq_ignore_ascii_case("ldf"));
    if !ldif {
        return Ok(fixture::load_file(path, LoadOptions::default())?);
    }
    let collected =
        fake_dc::reproduce::import::import_file(path, None, fake_dc::reproduce::import::Quiet)?;
    fixture::build(&collected.fixture, LoadOptions::default()).map_err(|problems| {
        let lines: Vec<String> = problems
            .iter()
            .map(|(at, m)| format!("{at}: {m}"))
            .collect();
        anyhow::anyhow!(
            "{} does not load as a directory:\n{}",
            path.display(),
            lines.join("\n")
        )
    })
}

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// The shape to reproduce (`fake-dc shape --json` of the customer's directory).
    #[arg(long, value_name = "SHAPE_JSON")]
    like: PathBuf,
    /// Where the fixture goes.
    #[arg(short, long)]
    output: PathBuf,
    /// Seed of the generated names and of the fixture.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let shape = Shape::from_json(&read(&args.like)?, &args.like.display().to_string())?;
    let fixture = fake_dc::shape::like(&shape, args.seed)?;
    let header = format!(
        "Generated by `fake-dc generate --like {}`: fits that shape, names made up.",
        args.like.display()
    );
    write_fixture(&args.output, &fixture, &header)?;
    eprintln!(
        "generated {} ({} users) like {}",
        args.output.display(),
        shape.users(),
        args.like.display()
    );
    Ok(())
}
