//! `advance-clock`: the scenario's clock moves, and every scheduled sync that falls due
//! on the way runs at its time, as the service's scheduler would run it.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use engine_contract::engine::SyncMode;
use time::OffsetDateTime;

use super::Run;
use crate::schedule;

impl Run<'_> {
    /// Moves the clock, running every scheduled sync that falls due on the way.
    pub(super) async fn advance(&mut self, by: std::time::Duration) {
        let region = self.loaded.scenario.settings.region;
        let from_secs = self.now.load(Ordering::SeqCst);
        let to_secs = from_secs.saturating_add(i64::try_from(by.as_secs()).unwrap_or(i64::MAX / 2));
        let (Ok(from), Ok(to)) = (
            OffsetDateTime::from_unix_timestamp(from_secs),
            OffsetDateTime::from_unix_timestamp(to_secs),
        ) else {
            self.failures
                .push("advance-clock: time out of range".into());
            return;
        };
        let runs = schedule::runs_between(region, from.to_utc(), to.to_utc());
        let _ = writeln!(
            self.out,
            "{} scheduled sync(s) between {} and {}",
            runs.len(),
            fmt_time(from),
            fmt_time(to)
        );
        for at in runs {
            self.now.store(at.unix_timestamp(), Ordering::SeqCst);
            let zone = schedule::zone_name(region, at);
            let local = at.to_offset(schedule::utc_offset(region, at));
            let _ = writeln!(
                self.out,
                "-- scheduled sync at {} ({:02}:{:02} {zone})",
                fmt_time(at.into()),
                local.hour(),
                local.minute()
            );
            self.sync("scheduled", SyncMode::Full).await;
        }
        self.now.store(to_secs, Ordering::SeqCst);
    }
}

fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}
