//! A scenario's Microsoft Graph: started beside its fake-dc when the directory declares
//! an Azure AD tenant, its faults driven by `graph-fault` steps, its URLs handed to the
//! engine with every sync.

use fake_dc::graph::GraphServer;
use fake_dc::server::FakeDc;

use super::model::{Scenario, Step};
use engine_contract::azure_ad::GraphEndpoint;
use engine_contract::report::SyncMethod;

/// Starts Graph when the directory declares a tenant; the azure-ad method needs one.
pub(super) async fn start(dc: &FakeDc, method: SyncMethod) -> Result<Option<GraphServer>, String> {
    let has_tenant = dc
        .directory()
        .read()
        .map(|d| d.azure_ad.is_some())
        .unwrap_or(false);
    if !has_tenant {
        if method == SyncMethod::AzureAd {
            return Err(
                "method azure-ad: the directory declares no tenant; add an azureAd: section to the fixture"
                    .into(),
            );
        }
        return Ok(None);
    }
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    GraphServer::start(dc.directory().clone(), dc.ca(), addr)
        .await
        .map(Some)
        .map_err(|e| format!("cannot start microsoft graph: {e}"))
}

/// Where the engine finds the tenant.
pub(super) fn endpoint(graph: &GraphServer) -> GraphEndpoint {
    GraphEndpoint {
        authority: graph.url(),
        graph: format!("{}/v1.0", graph.url()),
    }
}

/// A `graph-fault` or `clear-graph-faults` step.
pub(super) fn fault(graph: Option<&GraphServer>, step: &Step) -> Result<(), String> {
    let graph =
        graph.ok_or("the directory declares no Azure AD tenant to serve as Microsoft Graph")?;
    match step {
        Step::GraphFault(spec) => graph.state().add_faults(spec.clone()),
        _ => graph.state().clear_faults(),
    }
    Ok(())
}

/// The transcript's second line: how the engine reaches the directory.
pub(super) fn header(sc: &Scenario) -> String {
    match (&sc.connector, &sc.azure_ad) {
        (_, Some(azure)) if sc.method == SyncMethod::AzureAd => format!(
            "method: {}; tenant: {}; application: {}",
            sc.method, azure.tenant, azure.application
        ),
        // The change tracking is named only when it is not the default, so the
        // transcripts of scenarios that never chose one stay as they were.
        (Some(c), _) => {
            let tracking = match c.change_tracking.is_default() {
                true => String::new(),
                false => format!("; change tracking: {}", c.change_tracking),
            };
            format!(
                "method: {}; connector: {} {:?} port {}{tracking}",
                sc.method, c.primary_host, c.encryption, c.port
            )
        }
        _ => format!("method: {}", sc.method),
    }
}
