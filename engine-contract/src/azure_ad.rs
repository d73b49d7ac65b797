//! The Azure AD method's side of the contract: the settings an administrator enters
//! (tenant, application, client secret, optionally the groups whose members to sync)
//! and where the runner's fake Microsoft Graph listens, since an engine under test must
//! not reach for `login.microsoftonline.com` and `graph.microsoft.com`.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the administrator configures for the Azure AD method.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AzureAdSettings {
    /// The directory (tenant) ID, or the tenant's initial domain
    /// (`contoso.onmicrosoft.com`).
    pub tenant: String,
    /// The application (client) ID of the app registration, a GUID.
    pub application: String,
    /// The client secret's value; hidden from `Debug` output.
    pub secret: String,
    /// Only members of these groups (by display name or object ID, nested members
    /// included) are synced; empty: every user of the tenant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

impl fmt::Debug for AzureAdSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureAdSettings")
            .field("tenant", &self.tenant)
            .field("application", &self.application)
            .field("secret", &"<hidden>")
            .field("groups", &self.groups)
            .finish()
    }
}

/// One field of [`AzureAdSettings`] that is wrong, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AzureAdSettingsError {
    /// The tenant is neither a GUID nor a domain name.
    #[error("tenant: '{0}' is neither a directory ID (a GUID) nor a domain like contoso.onmicrosoft.com")]
    BadTenant(String),
    /// The application ID is not a GUID.
    #[error("application: '{0}' is not an application (client) ID; copy the GUID from the app registration")]
    BadApplication(String),
    /// No secret.
    #[error("secret: must not be empty; paste the client secret's value, not its ID")]
    EmptySecret,
    /// A group entry that is empty.
    #[error("groups: entry {0} is empty; name a group by display name or object ID")]
    EmptyGroup(usize),
}

/// Whether `s` is a GUID in its usual text form.
pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

impl AzureAdSettings {
    /// Every field error, before any request is made.
    pub fn validate(&self) -> Result<(), Vec<AzureAdSettingsError>> {
        let mut errors = Vec::new();
        let tenant = self.tenant.trim();
        let domain_like = tenant.contains('.')
            && tenant
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !is_guid(tenant) && !domain_like {
            errors.push(AzureAdSettingsError::BadTenant(self.tenant.clone()));
        }
        if !is_guid(self.application.trim()) {
            errors.push(AzureAdSettingsError::BadApplication(
                self.application.clone(),
            ));
        }
        if self.secret.is_empty() {
            errors.push(AzureAdSettingsError::EmptySecret);
        }
        for (i, g) in self.groups.iter().enumerate() {
            if g.trim().is_empty() {
                errors.push(AzureAdSettingsError::EmptyGroup(i));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Where the runner's Microsoft Graph listens. Both are HTTPS, with a certificate the
/// request's `ca-pem` vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct GraphEndpoint {
    /// The identity platform's authority host, in place of
    /// `https://login.microsoftonline.com`; the token endpoint is
    /// `<authority>/<tenant>/oauth2/v2.0/token`.
    pub authority: String,
    /// Graph's base URL, in place of `https://graph.microsoft.com/v1.0`.
    pub graph: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(tenant: &str, application: &str, secret: &str) -> AzureAdSettings {
        AzureAdSettings {
            tenant: tenant.into(),
            application: application.into(),
            secret: secret.into(),
            groups: vec![],
        }
    }

    #[test]
    fn each_field_is_checked_and_named() {
        let ok = settings(
            "6a1f0e54-3c1b-4b8e-9d2a-0f5e1c7b9a31",
            "0e2c3f5a-7b44-4a0c-8d1e-52b7c9f1a6d3",
            "s",
        );
        assert_eq!(ok.validate(), Ok(()));
        let by_domain = AzureAdSettings {
            tenant: "contoso.onmicrosoft.com".into(),
            ..ok.clone()
        };
        assert_eq!(by_domain.validate(), Ok(()));
        let bad = settings("contoso", "app", "");
        let errors = bad.validate().err().unwrap_or_default();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].starts_with("tenant:") && text[1].starts_with("application:"));
        assert!(text[2].starts_with("secret:"));
        assert!(!format!("{ok:?}").contains("\"s\""));
    }
}
