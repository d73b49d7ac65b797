//! The `preview` step: what a sync with the scenario's settings would change, without
//! applying it. It is a dry run through the contract (`dry-run: true`), so any engine
//! answers it; the runner keeps neither the account nor the `engine-state` it returns,
//! whatever the engine did. When max unlink stops the plan, the same dry run with the
//! limit lifted shows what the stop holds back.

use std::fmt::Write as _;

use engine_contract::engine::SyncMode;

use super::super::render;
use super::Run;

impl Run<'_> {
    pub(super) async fn preview(&mut self, index: usize) {
        let mut request = self.request(SyncMode::Full);
        request.dry_run = true;
        let response = match self.engine.sync(&request).await {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(self.out, "engine error: {e}");
                self.fail(index, format!("preview: {e}"));
                return;
            }
        };
        let _ = writeln!(self.out, "dry run: nothing applied");
        if let Some(ex) = &response.extraction {
            let _ = writeln!(self.out, "extracted: {ex}");
        }
        let _ = write!(self.out, "{}", render::report(&response.report));
        if response.account != request.account {
            self.fail(
                index,
                "preview: the engine answered a dry run with a changed account".into(),
            );
        }
        if let Some(stop) = &response.report.stopped {
            let mut lifted = request.clone();
            lifted.settings.max_unlink = usize::MAX;
            let _ = writeln!(
                self.out,
                "-- what max unlink ({}) holds back: the same dry run without the limit",
                stop.max_unlink
            );
            match self.engine.sync(&lifted).await {
                Ok(r) => {
                    let _ = write!(self.out, "{}", render::report(&r.report));
                }
                Err(e) => {
                    let _ = writeln!(self.out, "engine error: {e}");
                    self.fail(index, format!("preview without max unlink: {e}"));
                }
            }
        }
        // `expect: { last-sync: … }` after a preview judges the preview's report.
        self.last = Some(response);
    }
}
