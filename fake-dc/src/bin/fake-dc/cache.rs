//! `serve`'s fixture cache flags: a big fixture's second start reads the directory's
//! image instead of parsing and generating it again (`fake_dc::fixture::cache`).

use std::path::{Path, PathBuf};

use fake_dc::directory::Directory;
use fake_dc::fixture::{self, Cache, CacheUse, LoadOptions};

#[derive(clap::Args)]
pub struct CacheArgs {
    /// Keep loaded directories of 10,000 entries or more here, keyed by the fixture's
    /// content and this build (default: $FAKE_DC_CACHE, else $XDG_CACHE_HOME/fake-dc,
    /// else ~/.cache/fake-dc).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Load the fixture without the cache, reading and writing no image.
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
}

/// Loads `path` through the cache unless told not to (or there is nowhere to keep one),
/// and says on the log which it did.
pub fn load(path: &Path, options: LoadOptions, args: &CacheArgs) -> anyhow::Result<Directory> {
    let dir = match (args.no_cache, &args.cache_dir) {
        (true, _) => None,
        (false, Some(dir)) => Some(dir.clone()),
        (false, None) => Cache::default_dir(),
    };
    let Some(dir) = dir else {
        return Ok(fixture::load_file(path, options)?);
    };
    let started = std::time::Instant::now();
    let (directory, used) = Cache::at(dir).load(path, options)?;
    let took = started.elapsed();
    match &used {
        CacheUse::Unusable(_) => tracing::warn!("{}: {used}", path.display()),
        _ => tracing::info!(
            "{}: {} entries {used} in {:.2} s",
            path.display(),
            directory.len(),
            took.as_secs_f64()
        ),
    }
    Ok(directory)
}
