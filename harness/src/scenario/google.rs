//! Scenarios of the `google-workspace` method: the `google-workspace:` section (which
//! tenant domain, which of the fixture's LDAP clients the administrator set up), the
//! rules tying it to `method:`, and the request part the runner fills from the running
//! fake-dc (the client's certificate and key as downloaded, the service's address).

use serde::Deserialize;

use engine_contract::google::{AccessCredentials, GoogleWorkspaceRequest, GoogleWorkspaceSettings};
use engine_contract::report::SyncMethod;

use super::check::Problem;
use super::model::Scenario;

/// `google-workspace:` in a scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GoogleScenario {
    /// The tenant's primary domain as the administrator enters it.
    pub domain: String,
    /// The fixture's LDAP client (`google.clients[].name`) whose certificate and key are
    /// entered.
    pub client: String,
    /// Also enter the client's access credentials (from the fixture).
    #[serde(default)]
    pub access_credentials: bool,
}

/// `google-fault:` in a scenario: Secure LDAP misbehaving the way Google's does.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GoogleFault {
    /// The next this many binds get ADMIN_LIMIT_EXCEEDED (11), Google's answer to a
    /// client over its bind quota, however slowly they come.
    pub refuse_binds: u32,
}

/// The rules between `method:`, `connector:` and `google-workspace:`.
pub fn problems(scenario: &Scenario) -> Vec<Problem> {
    let mut out = Vec::new();
    let google = scenario.method == SyncMethod::GoogleWorkspace;
    if google && scenario.google_workspace.is_none() {
        out.push(Problem {
            path: "method".into(),
            message: "method google-workspace needs a `google-workspace:` section (domain, \
                      client)"
                .into(),
        });
    }
    if !google && scenario.google_workspace.is_some() {
        out.push(Problem {
            path: "google-workspace".into(),
            message: format!(
                "`google-workspace:` is only read with `method: google-workspace`, not {}",
                scenario.method
            ),
        });
    }
    out
}

/// The request part for a running fake-dc, or why it cannot be made.
pub fn request(
    section: &GoogleScenario,
    dc: &fake_dc::server::FakeDc,
) -> Result<GoogleWorkspaceRequest, String> {
    let google = dc
        .google()
        .ok_or("google-workspace: the directory declares no `google:` tenant")?;
    let client = google.client(&section.client).ok_or_else(|| {
        let known: Vec<&str> = google.clients.iter().map(|c| c.name.as_str()).collect();
        format!(
            "google-workspace.client: '{}' is not an LDAP client of the tenant; known: {}",
            section.client,
            known.join(", ")
        )
    })?;
    let access_credentials = if section.access_credentials {
        let spec = client.access_credentials.clone().ok_or_else(|| {
            format!(
                "google-workspace.access-credentials: client '{}' has none in the fixture",
                section.client
            )
        })?;
        Some(AccessCredentials {
            username: spec.username,
            password: spec.password,
        })
    } else {
        None
    };
    Ok(GoogleWorkspaceRequest {
        settings: GoogleWorkspaceSettings {
            domain: section.domain.clone(),
            certificate: client.cert_pem.clone(),
            key: client.key_pem.clone(),
            access_credentials,
        },
        endpoint: google.address,
    })
}
