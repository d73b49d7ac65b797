//! The fixture's `google:` section: a Google Workspace tenant served over Secure LDAP.
//!
//! The tenant's people, groups and organizational units are those of one of the
//! fixture's domains (`from:`), shown in Google's tree under the Google domain's DN, the
//! way Google Cloud Directory Sync leaves a tenant it fills from Active Directory. So a
//! scenario step that changes that domain changes what Secure LDAP serves, and the same
//! person is on premises and in Google (a hybrid user) without being written twice.

use serde::{Deserialize, Serialize};

/// `google:` in a fixture.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GoogleSpec {
    /// The primary domain the tenant enrolled with, e.g. `example.com`; the tree's base
    /// is `dc=example,dc=com`.
    pub domain: String,
    /// The fixture domain (DNS name) whose objects the tenant holds; defaults to the
    /// first domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The LDAP clients added in the Admin console; each gets a certificate and key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientSpec>,
    /// Binds accepted per second over the whole tenant before ADMIN_LIMIT_EXCEEDED (11).
    /// Google's quota is 4; left out, no quota is applied, so test suites that open
    /// many connections at once are not throttled unless they ask to be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_quota_per_second: Option<u32>,
}

/// One LDAP client of the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientSpec {
    /// The client's name in the Admin console; names its certificate files.
    pub name: String,
    /// The state of the certificate fake-dc issues it.
    #[serde(default)]
    pub certificate: CertState,
    /// Optional access credentials for clients that must send a simple bind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_credentials: Option<AccessCredentials>,
}

/// What became of a client's certificate in the Admin console.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertState {
    /// Issued and current.
    #[default]
    Valid,
    /// Revoked by an administrator: still within its dates, refused.
    Revoked,
    /// Past its end date.
    Expired,
}

impl CertState {
    /// The kebab-case name used in YAML and the ready line.
    pub fn name(self) -> &'static str {
        match self {
            CertState::Valid => "valid",
            CertState::Revoked => "revoked",
            CertState::Expired => "expired",
        }
    }
}

/// A username and password generated for a client.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccessCredentials {
    pub username: String,
    pub password: String,
}

impl GoogleSpec {
    /// `dc=example,dc=com` for `example.com`.
    pub fn base_dn(&self) -> String {
        self.domain
            .split('.')
            .map(|label| format!("dc={label}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Every problem of the section, as (YAML path, message) pairs; `domains` are the
    /// fixture's domain DNS names.
    pub fn problems(&self, domains: &[String]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let labels_ok = !self.domain.is_empty()
            && self
                .domain
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !labels_ok {
            out.push((
                "google.domain".to_string(),
                format!(
                    "'{}' is not a domain name; write the domain the tenant enrolled with, \
                     e.g. example.com",
                    self.domain
                ),
            ));
        }
        if let Some(from) = &self.from {
            if !domains.iter().any(|d| d.eq_ignore_ascii_case(from)) {
                out.push((
                    "google.from".to_string(),
                    format!(
                        "'{from}' is not a domain of this fixture; known: {}",
                        domains.join(", ")
                    ),
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, client) in self.clients.iter().enumerate() {
            let ok = !client.name.is_empty()
                && client
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !ok {
                out.push((
                    format!("google.clients[{i}].name"),
                    format!(
                        "'{}' cannot name certificate files; use letters, digits, '-', '_' \
                         or '.'",
                        client.name
                    ),
                ));
            }
            if !seen.insert(client.name.to_ascii_lowercase()) {
                out.push((
                    format!("google.clients[{i}].name"),
                    format!("client '{}' is declared twice", client.name),
                ));
            }
            if let Some(c) = &client.access_credentials {
                if c.username.is_empty() || c.password.is_empty() {
                    out.push((
                        format!("google.clients[{i}].accessCredentials"),
                        "username and password must not be empty".to_string(),
                    ));
                }
            }
        }
        out
    }
}
