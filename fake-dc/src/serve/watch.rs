//! `--watch`: reload the fixture when its file changes, for people editing a
//! reproduction while an engine runs against it.
//!
//! The file's modification time (and size) is polled every half second rather than
//! watched with inotify: one `stat` a half second costs nothing, works the same on every
//! platform and on bind mounts and network file systems where change notification is
//! missing, and editors that replace the file (write a new one, rename it over) need no
//! special case. A change is reloaded once the file has stayed the same for one more
//! poll, so a save in progress is not read half-written.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::control::ControlState;

/// How often the file is looked at.
const POLL: Duration = Duration::from_millis(500);

/// What identifies a version of the file.
fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Polls `path` until `shutdown`, reloading it into `state` after each change. A file
/// that does not load is reported (every problem with its file:line:col) and the
/// directory already served is kept.
pub async fn watch(state: Arc<ControlState>, path: PathBuf, shutdown: CancellationToken) {
    let mut served = stamp(&path);
    let mut pending: Option<(SystemTime, u64)> = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(POLL) => {}
        }
        let now = stamp(&path);
        if now == served {
            pending = None;
            continue;
        }
        if now.is_none() || pending != now {
            // Changed since the last look (or gone for a moment mid-save): wait for it
            // to settle.
            pending = now;
            continue;
        }
        served = now;
        pending = None;
        let (state, file) = (state.clone(), path.clone());
        let result = tokio::task::spawn_blocking(move || state.reload(Some(&file))).await;
        match result {
            Ok(Ok(r)) => tracing::info!(
                file = %r.path,
                entries = r.entries,
                kept_identities = r.kept_identities,
                "fixture reloaded"
            ),
            Ok(Err(e)) => tracing::error!(
                "{}: not reloaded, still serving the previous directory:\n{e}",
                path.display()
            ),
            Err(e) => tracing::error!(error = %e, "reload task failed"),
        }
    }
}
