//! The control API's OpenAPI document, derived from the handlers' annotations and the
//! request and response types, so it cannot drift from the code. `docs/control-api.
//! openapi.json` is this document, and a test fails when the two differ.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::changes::{Change, Modify as ModifyChange, NewContact, NewGroup, NewUser};
use super::graph::{self, GraphFaults};
use super::handlers;
use super::model::{
    AllStats, ChangedEntry, ChangesApplied, ChangesRequest, ChangesSince, ClockRequest, ClockState,
    ErrorBody, Faults, HostInfo, ReloadRequest, Reloaded, SnapshotInfo, SnapshotRequest,
};
use crate::graph::GraphFaultSpec;
use crate::server::StatsSnapshot;

/// Every route needs the ready line's token as a bearer token.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "fake-dc control API",
        description = "Drive a running fake-dc: change its directory, inject faults per host, move its clock, snapshot and restore it, read what clients asked. Loopback only; every request carries the ready line's token as `Authorization: Bearer <token>`.",
        version = "1"
    ),
    paths(
        handlers::hosts,
        handlers::apply_changes,
        handlers::changes_since,
        handlers::get_faults,
        handlers::add_faults,
        handlers::clear_faults,
        handlers::host_stats,
        handlers::all_stats,
        handlers::reset_stats,
        handlers::get_clock,
        handlers::set_clock,
        handlers::take_snapshot,
        handlers::list_snapshots,
        handlers::restore_snapshot,
        handlers::delete_snapshot,
        handlers::reload,
        graph::get_faults,
        graph::add_faults,
        graph::clear_faults,
    ),
    components(schemas(
        Change, NewUser, NewGroup, NewContact, ModifyChange, ChangesRequest, ChangesApplied,
        ChangedEntry, ChangesSince, Faults, HostInfo, ClockRequest, ClockState,
        SnapshotRequest, SnapshotInfo, ReloadRequest, Reloaded, AllStats, StatsSnapshot,
        ErrorBody, GraphFaults, GraphFaultSpec
    )),
    modifiers(&BearerToken),
    security(("token" = []))
)]
struct ApiDoc;

/// The OpenAPI document, pretty-printed, with a final newline.
pub fn document() -> String {
    let json = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json + "\n"
}
