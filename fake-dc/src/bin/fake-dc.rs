//! The `fake-dc` command: check fixtures, serve a directory.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fake_dc::fixture::{self, LoadOptions};

#[derive(Parser)]
#[command(name = "fake-dc", version, about = "A fake Active Directory domain controller")]
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { paths } => check(&paths),
    }
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

fn check(paths: &[PathBuf]) -> ExitCode {
    let files = match fixture_files(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
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
                    eprintln!("{p}");
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
