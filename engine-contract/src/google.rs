//! The `google-workspace` method: the cloud reads a Google Workspace tenant over Google's
//! Secure LDAP, authenticating with the client certificate and key the tenant's Admin
//! console issued (and, when the client has them, access credentials).
//!
//! A request for this method carries [`GoogleWorkspaceRequest`] in `google-workspace`;
//! its `connector` then describes the same service in connector terms
//! ([`GoogleWorkspaceSettings::connector`]) so the request stays what older engines
//! parse, but an engine authenticates with the certificate, never with that connector.

use std::fmt;
use std::net::SocketAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Google's Secure LDAP host: what the service certificate names.
pub const SECURE_LDAP_HOST: &str = "ldap.google.com";

/// What an administrator enters for the Google Workspace method.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GoogleWorkspaceSettings {
    /// The tenant's primary domain, e.g. `example.com`: the search base is
    /// `dc=example,dc=com`.
    pub domain: String,
    /// The LDAP client's certificate, PEM, as downloaded from the Admin console.
    pub certificate: String,
    /// Its private key, PEM; hidden from `Debug` output.
    pub key: String,
    /// Access credentials, for a client that has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_credentials: Option<AccessCredentials>,
}

/// A Secure LDAP client's generated username and password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AccessCredentials {
    /// The generated username.
    pub username: String,
    /// Hidden from `Debug` output.
    pub password: String,
}

impl fmt::Debug for GoogleWorkspaceSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleWorkspaceSettings")
            .field("domain", &self.domain)
            .field("certificate", &format!("{} bytes", self.certificate.len()))
            .field("key", &"<hidden>")
            .field("access_credentials", &self.access_credentials)
            .finish()
    }
}

impl fmt::Debug for AccessCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessCredentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// One field of the Google settings that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoogleSettingsError {
    /// The domain is not a DNS name.
    #[error("google domain: '{0}' is not a domain name; write the domain the tenant enrolled with, e.g. example.com")]
    Domain(String),
    /// The certificate is not PEM.
    #[error("google certificate: no PEM CERTIFICATE block; paste the .crt file the Admin console gave the LDAP client")]
    Certificate,
    /// The key is not PEM.
    #[error(
        "google key: no PEM PRIVATE KEY block; paste the .key file downloaded with the certificate"
    )]
    Key,
    /// Half of the access credentials is missing.
    #[error("google access credentials: username and password must both be given")]
    AccessCredentials,
}

/// Every wrong field, all at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct GoogleSettingsErrors(pub Vec<GoogleSettingsError>);

impl fmt::Display for GoogleSettingsErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl GoogleWorkspaceSettings {
    /// `dc=example,dc=com` for `example.com`.
    pub fn base_dn(&self) -> String {
        self.domain
            .trim()
            .split('.')
            .map(|label| format!("dc={label}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Checks every field before any connection.
    pub fn validate(&self) -> Result<(), GoogleSettingsErrors> {
        let mut errors = Vec::new();
        let domain = self.domain.trim();
        let ok = !domain.is_empty()
            && domain.contains('.')
            && domain
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !ok {
            errors.push(GoogleSettingsError::Domain(self.domain.clone()));
        }
        if !self.certificate.contains("-----BEGIN CERTIFICATE-----") {
            errors.push(GoogleSettingsError::Certificate);
        }
        if !self.key.contains("PRIVATE KEY-----") {
            errors.push(GoogleSettingsError::Key);
        }
        if let Some(c) = &self.access_credentials {
            if c.username.is_empty() || c.password.is_empty() {
                errors.push(GoogleSettingsError::AccessCredentials);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(GoogleSettingsErrors(errors))
        }
    }
}

/// The `google-workspace` part of a sync request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GoogleWorkspaceRequest {
    /// What the administrator entered.
    pub settings: GoogleWorkspaceSettings,
    /// Where the Secure LDAP service listens; connect there and check its certificate
    /// against [`SECURE_LDAP_HOST`] and the request's `ca-pem`.
    pub endpoint: SocketAddr,
}
