//! The directory clock the control API moves: the real clock (or `--fixed-time`) plus an
//! offset, so "advance 6h" shows in whenChanged, lockout expiry and password age at once,
//! and a snapshot can carry the offset it was taken at.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::directory::Clock;

/// A clock with a movable offset; clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct DirectoryClock {
    /// A pinned base time (Unix seconds), else the system clock.
    fixed: Option<i64>,
    /// Seconds added to the base.
    offset: Arc<AtomicI64>,
}

impl DirectoryClock {
    /// A clock at the system time, or pinned at `fixed`.
    pub fn new(fixed: Option<i64>) -> Self {
        DirectoryClock {
            fixed,
            offset: Arc::default(),
        }
    }

    /// The clock for [`crate::directory::Directory::set_clock`]: it follows the offset.
    pub fn clock(&self) -> Clock {
        let me = self.clone();
        Arc::new(move || me.now())
    }

    fn base(&self) -> i64 {
        self.fixed.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        })
    }

    /// The time now, Unix seconds.
    pub fn now(&self) -> i64 {
        self.base().saturating_add(self.offset())
    }

    /// Seconds the clock has been moved.
    pub fn offset(&self) -> i64 {
        self.offset.load(Ordering::SeqCst)
    }

    /// Moves the clock to `offset` seconds from its base.
    pub fn set_offset(&self, offset: i64) {
        self.offset.store(offset, Ordering::SeqCst);
    }

    /// Makes the time now `unix`.
    pub fn set(&self, unix: i64) {
        self.set_offset(unix.saturating_sub(self.base()));
    }

    /// Moves the clock forward.
    pub fn advance(&self, seconds: i64) {
        self.set_offset(self.offset().saturating_add(seconds));
    }
}
