//! `harness preview`: what a sync with a customer's settings would change in a directory,
//! without applying it. The settings file holds what a scenario says about the customer
//! (`connector`, `settings`, and optionally `account`, `method`, `trust-ca`, `dcs`,
//! `start`); the directory is a fixture (an anonymized capture, say). The preview is a
//! scenario of one `preview` step, played through the contract like any other, so every
//! engine can answer it.

use std::path::Path;

use serde::Deserialize;

use crate::scenario::model::{DcSpec, DirectorySpec, Scenario, Step};
use crate::scenario::{LoadedScenario, ScenarioError};
use engine_contract::account::Account;
use engine_contract::report::SyncMethod;
use engine_contract::settings::{AccountSettings, ConnectorSettings};

/// A preview's settings file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PreviewSettings {
    /// Directory connector (default) or agent.
    #[serde(default = "directory_connector")]
    pub method: SyncMethod,
    /// The connector settings, as the customer entered them.
    pub connector: ConnectorSettings,
    /// The account settings (max unlink, registered domains, …).
    pub settings: AccountSettings,
    /// The cloud account as it is before the sync; default: empty.
    #[serde(default)]
    pub account: Account,
    /// Whether strict mode trusts fake-dc's CA (default: yes).
    #[serde(default = "yes")]
    pub trust_ca: bool,
    /// DC hosts and certificates; default: every DC of the fixture.
    #[serde(default)]
    pub dcs: Vec<DcSpec>,
    /// The clock (RFC 3339) the preview runs at.
    #[serde(default)]
    pub start: Option<String>,
}

fn directory_connector() -> SyncMethod {
    SyncMethod::DirectoryConnector
}

fn yes() -> bool {
    true
}

/// The preview of `fixture` with the settings file `settings` as a scenario.
pub fn scenario(fixture: &Path, settings: &Path) -> Result<LoadedScenario, ScenarioError> {
    let file = settings.display().to_string();
    let text = std::fs::read_to_string(settings).map_err(|source| ScenarioError::Io {
        file: file.clone(),
        source,
    })?;
    let parsed: PreviewSettings = serde_yaml::from_str(&text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        let message = e.to_string();
        let message = match message.rfind(" at line ") {
            Some(cut) => message[..cut].to_string(),
            None => message,
        };
        ScenarioError::Invalid {
            file: file.clone(),
            line,
            column,
            message,
        }
    })?;
    // The fixture is named as given on the command line, not relative to the settings.
    let fixture = std::path::absolute(fixture).map_err(|source| ScenarioError::Io {
        file: fixture.display().to_string(),
        source,
    })?;
    let scenario = Scenario {
        description: format!(
            "Preview of a sync of {} with the settings of {file}: a dry run, nothing applied.",
            fixture.display()
        ),
        directory: DirectorySpec {
            fixture: Some(fixture.display().to_string()),
            inline: None,
            changes: Vec::new(),
        },
        dcs: parsed.dcs,
        trust_ca: parsed.trust_ca,
        method: parsed.method,
        connector: Some(parsed.connector),
        azure_ad: None,
        google_workspace: None,
        settings: parsed.settings,
        account: parsed.account,
        property: None,
        start: parsed.start,
        steps: vec![Step::Preview],
    };
    Ok(LoadedScenario::from_parts("preview", settings, scenario))
}
