//! What an administrator configures: how to reach the directory and what a sync may do.
//!
//! Both structs are read from YAML or JSON with kebab-case keys (`primary-host`,
//! `link-aliases`), the spelling SPEC uses for its own enumerations (`ca-signed`,
//! `strict`). Unknown keys are refused so a typo (`delete-user: true`) cannot silently
//! leave a safety setting at its default.
//!
//! Bad settings are refused before any connection, all at once, each message naming its
//! field ([`SettingsErrors`]). A connector read from YAML is checked while it is read;
//! one built in code is checked with [`ConnectorSettings::validate`].

use std::fmt;
use std::net::Ipv6Addr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the connection to the domain controller is protected.
///
/// There is no `Default`: SPEC allows plain LDAP but never as the default, so the mode
/// must always be written down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EncryptionMode {
    /// TLS; the certificate must chain to a trusted CA, be valid now and match the host.
    Strict,
    /// TLS; self-signed or otherwise untrusted certificates are accepted.
    Relaxed,
    /// Plain LDAP: the password crosses the network readable.
    None,
}

/// One field that is wrong, with a message that names the field and hints at the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A required field is absent from the settings file.
    #[error("{field}: missing; {hint}")]
    Missing {
        /// The field as SPEC names it, e.g. `bind DN`.
        field: &'static str,
        /// What to write there.
        hint: &'static str,
    },
    /// A host field is empty.
    #[error("{0}: must not be empty")]
    EmptyHost(&'static str),
    /// A host field holds a URL, a port or whitespace instead of a bare host name.
    #[error("{field}: '{value}' is not a host name or IP address; {hint}")]
    BadHost {
        /// `primary host` or `secondary host`.
        field: &'static str,
        /// What was given.
        value: String,
        /// Why it was refused and what to write instead.
        hint: &'static str,
    },
    /// Failing over to the primary host again would only repeat the same failure.
    #[error("secondary host: '{0}' is the primary host again; name another domain controller or leave it out")]
    SecondaryIsPrimary(String),
    /// Port 0 cannot be connected to.
    #[error("port: 0 is not a valid port; use 636 for TLS or 389 for plain LDAP")]
    PortZero,
    /// A DN field is empty.
    #[error("{0}: must not be empty")]
    EmptyDn(&'static str),
    /// A DN field does not look like `attr=value,attr=value`.
    #[error("{field}: '{value}' is not a distinguished name; write it like {example}")]
    BadDn {
        /// `bind DN` or `root DN`.
        field: &'static str,
        /// What was given.
        value: String,
        /// A DN of the right shape, derived from the value where possible.
        example: String,
    },
    /// AD treats a simple bind with an empty password as an anonymous bind and lets it
    /// succeed, so an empty password would look like a working service account.
    #[error(
        "password: must not be empty (Active Directory would bind an empty password anonymously)"
    )]
    EmptyPassword,
    /// A registered domain that cannot match any address.
    #[error(
        "domains: '{0}' is not a domain name; write the part after '@', e.g. corp.example.test"
    )]
    BadDomain(String),
    /// An additional attribute whose name LDAP would refuse.
    #[error("additional attributes: '{0}' is not an LDAP attribute name; use names such as department or telephoneNumber")]
    BadAttribute(String),
}

/// Every field error found in one set of settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SettingsErrors(pub Vec<SettingsError>);

impl fmt::Display for SettingsErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// The directory connector: how the cloud reaches the domain controller (SPEC table
/// "Connector settings").
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", try_from = "ConnectorSettingsFile")]
pub struct ConnectorSettings {
    /// Host name or IP address of the domain controller tried first.
    pub primary_host: String,
    /// Tried only when the primary cannot be reached (refused, timed out, reset); never
    /// after a bind or certificate failure, which would fail there too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_host: Option<String>,
    /// How the connection is protected; always explicit (see [`EncryptionMode`]).
    pub encryption: EncryptionMode,
    /// TCP port on both hosts; usually 636 for TLS and 389 for plain LDAP.
    pub port: u16,
    /// The service account's distinguished name.
    pub bind_dn: String,
    /// The service account's password; hidden from `Debug` output so logs never hold it.
    pub password: String,
    /// Where the subtree search starts, e.g. `DC=corp,DC=example,DC=test`.
    pub root_dn: String,
    /// How a delta run finds what changed (see [`ChangeTracking`]); absent means
    /// `usn-changed`.
    #[serde(default, skip_serializing_if = "ChangeTracking::is_default")]
    pub change_tracking: ChangeTracking,
}

/// How a delta run finds what changed since the last run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ChangeTracking {
    /// Search for `uSNChanged` above the last run's `highestCommittedUSN`, and for
    /// tombstones with the Show Deleted control: needs only read access.
    #[default]
    #[serde(rename = "usn-changed")]
    UsnChanged,
    /// AD's DirSync control (1.2.840.113556.1.4.841) with the object-security flag: the
    /// DC's cookie says what changed, deletions included.
    #[serde(rename = "dirsync")]
    DirSync,
}

impl ChangeTracking {
    /// Whether this is the default, which settings files leave out.
    pub fn is_default(&self) -> bool {
        *self == ChangeTracking::UsnChanged
    }
}

impl fmt::Display for ChangeTracking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChangeTracking::UsnChanged => "usn-changed",
            ChangeTracking::DirSync => "dirsync",
        })
    }
}

impl fmt::Debug for ConnectorSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorSettings")
            .field("primary_host", &self.primary_host)
            .field("secondary_host", &self.secondary_host)
            .field("encryption", &self.encryption)
            .field("port", &self.port)
            .field("bind_dn", &self.bind_dn)
            .field("password", &"<hidden>")
            .field("root_dn", &self.root_dn)
            .field("change_tracking", &self.change_tracking)
            .finish()
    }
}

impl ConnectorSettings {
    /// Checks every field and returns all the errors found, before any connection.
    ///
    /// The bind DN must be a distinguished name: AD would also accept `user@upn-suffix`
    /// or `DOMAIN\name`, but sign-in pass-through and the reports name the service
    /// account by DN, and SPEC's table asks for one.
    pub fn validate(&self) -> Result<(), SettingsErrors> {
        let mut errors = Vec::new();
        check_host("primary host", &self.primary_host, &mut errors);
        if let Some(secondary) = &self.secondary_host {
            check_host("secondary host", secondary, &mut errors);
            if !secondary.trim().is_empty()
                && secondary
                    .trim()
                    .eq_ignore_ascii_case(self.primary_host.trim())
            {
                errors.push(SettingsError::SecondaryIsPrimary(secondary.clone()));
            }
        }
        if self.port == 0 {
            errors.push(SettingsError::PortZero);
        }
        check_dn(
            "bind DN",
            &self.bind_dn,
            BIND_DN_EXAMPLE,
            false,
            &mut errors,
        );
        if self.password.is_empty() {
            errors.push(SettingsError::EmptyPassword);
        }
        check_dn("root DN", &self.root_dn, ROOT_DN_EXAMPLE, true, &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(SettingsErrors(errors))
        }
    }

    /// The hosts to try, in order.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.primary_host.as_str()).chain(self.secondary_host.as_deref())
    }
}

/// Written by hand: derived from `try_from`, every field would look optional, yet all but
/// the secondary host are required (a missing one is refused, see [`SettingsError::Missing`]).
impl JsonSchema for ConnectorSettings {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ConnectorSettings".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let encryption = generator.subschema_for::<EncryptionMode>();
        let tracking = generator.subschema_for::<ChangeTracking>();
        schemars::json_schema!({
            "description": "The directory connector: how the cloud reaches the domain controller.",
            "type": "object",
            "properties": {
                "primary-host": { "type": "string", "description": "Host name or IP address of the domain controller tried first." },
                "secondary-host": { "type": "string", "description": "Tried only when the primary cannot be reached (refused, timed out, reset)." },
                "encryption": encryption,
                "port": { "type": "integer", "minimum": 1, "maximum": 65535, "description": "TCP port on both hosts; usually 636 for TLS and 389 for plain LDAP." },
                "bind-dn": { "type": "string", "description": "The service account's distinguished name." },
                "password": { "type": "string", "minLength": 1, "description": "The service account's password." },
                "root-dn": { "type": "string", "description": "Where the subtree search starts, e.g. DC=corp,DC=example,DC=test." },
                "change-tracking": tracking
            },
            "required": ["primary-host", "encryption", "port", "bind-dn", "password", "root-dn"],
            "additionalProperties": false
        })
    }
}

const BIND_DN_EXAMPLE: &str = "CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test";
const ROOT_DN_EXAMPLE: &str = "DC=corp,DC=example,DC=test";

/// The connector as a file may hold it: every field optional, so that all missing and
/// wrong fields can be reported together instead of serde stopping at the first.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct ConnectorSettingsFile {
    primary_host: Option<String>,
    secondary_host: Option<String>,
    encryption: Option<EncryptionMode>,
    port: Option<u16>,
    bind_dn: Option<String>,
    password: Option<String>,
    root_dn: Option<String>,
    #[serde(default)]
    change_tracking: ChangeTracking,
}

impl TryFrom<ConnectorSettingsFile> for ConnectorSettings {
    type Error = SettingsErrors;

    fn try_from(file: ConnectorSettingsFile) -> Result<Self, Self::Error> {
        let mut missing = Vec::new();
        let mut need = |present: bool, field: &'static str, hint: &'static str| {
            if !present {
                missing.push(SettingsError::Missing { field, hint });
            }
        };
        need(
            file.primary_host.is_some(),
            "primary host",
            "give the domain controller's host name or IP address",
        );
        need(
            file.encryption.is_some(),
            "encryption",
            "choose strict, relaxed or none; none is allowed but never the default",
        );
        need(
            file.port.is_some(),
            "port",
            "use 636 for TLS or 389 for plain LDAP",
        );
        need(
            file.bind_dn.is_some(),
            "bind DN",
            "give the service account's distinguished name",
        );
        need(
            file.password.is_some(),
            "password",
            "give the service account's password",
        );
        need(
            file.root_dn.is_some(),
            "root DN",
            "give the DN extraction starts from, e.g. DC=corp,DC=example,DC=test",
        );
        // Check the fields that are present with placeholders for the missing ones, then
        // drop the placeholders' own errors: the `Missing` entry already covers them.
        let placeholder = ConnectorSettings {
            primary_host: file.primary_host.clone().unwrap_or_else(|| "-".into()),
            secondary_host: file.secondary_host,
            encryption: file.encryption.unwrap_or(EncryptionMode::Strict),
            port: file.port.unwrap_or(1),
            bind_dn: file.bind_dn.clone().unwrap_or_else(|| "CN=-".into()),
            password: file.password.clone().unwrap_or_else(|| "-".into()),
            root_dn: file.root_dn.clone().unwrap_or_else(|| "DC=-".into()),
            change_tracking: file.change_tracking,
        };
        let mut errors = missing;
        if let Err(SettingsErrors(found)) = placeholder.validate() {
            errors.extend(found);
        }
        if errors.is_empty() {
            Ok(placeholder)
        } else {
            Err(SettingsErrors(errors))
        }
    }
}

fn check_host(field: &'static str, host: &str, errors: &mut Vec<SettingsError>) {
    let host = host.trim();
    let bad = |hint| SettingsError::BadHost {
        field,
        value: host.to_owned(),
        hint,
    };
    if host.is_empty() {
        errors.push(SettingsError::EmptyHost(field));
    } else if host.contains("://") {
        errors.push(bad(
            "give only the host name; the port and encryption are separate settings",
        ));
    } else if host.chars().any(char::is_whitespace) {
        errors.push(bad("host names contain no spaces"));
    } else if host.contains(':') && !is_ipv6(host) {
        errors.push(bad("put the port in the port setting, not after the host"));
    }
}

fn is_ipv6(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<Ipv6Addr>().is_ok()
}

/// `suggest` derives the example from a DNS-looking value; that fits a root DN only (a
/// bind DN names an account, which a domain name says nothing about).
fn check_dn(
    field: &'static str,
    dn: &str,
    example: &str,
    suggest: bool,
    errors: &mut Vec<SettingsError>,
) {
    if dn.trim().is_empty() {
        errors.push(SettingsError::EmptyDn(field));
    } else if !is_distinguished_name(dn) {
        errors.push(SettingsError::BadDn {
            field,
            value: dn.to_owned(),
            example: suggest
                .then(|| suggest_dn(dn))
                .flatten()
                .unwrap_or_else(|| example.to_owned()),
        });
    }
}

/// A light RFC 4514 shape check: one or more `attr=value` RDNs separated by unescaped
/// commas (or `+` inside a multi-valued RDN), attribute types as names or OIDs.
///
/// It does not decode escapes or hex values: the DC is the authority on whether the DN
/// exists; this only catches values that are plainly something else (a UPN, a DNS name).
pub fn is_distinguished_name(dn: &str) -> bool {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for ch in dn.chars() {
        if escaped {
            current.push(ch);
            escaped = false;
        } else if ch == '\\' {
            current.push(ch);
            escaped = true;
        } else if ch == ',' || ch == '+' {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(ch);
        }
    }
    parts.push(current);
    parts.iter().all(|part| {
        let Some((attr, value)) = part.split_once('=') else {
            return false;
        };
        is_attribute_type(attr.trim()) && !value.trim().is_empty()
    })
}

/// An LDAP attribute description: a name (`cn`, `msExchHideFromAddressLists`) or an OID.
pub fn is_attribute_type(attr: &str) -> bool {
    let mut chars = attr.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphabetic() => {
            chars.all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        }
        Some(first) if first.is_ascii_digit() => attr
            .split('.')
            .all(|arc| !arc.is_empty() && arc.chars().all(|ch| ch.is_ascii_digit())),
        _ => false,
    }
}

/// Turns a DNS name (`corp.example.test`) into the DN an administrator probably meant.
fn suggest_dn(value: &str) -> Option<String> {
    let value = value.trim();
    let dns = value.rsplit_once('@').map_or(value, |(_, domain)| domain);
    let labels: Vec<&str> = dns.split('.').collect();
    let plausible = labels.len() > 1
        && labels.iter().all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    plausible.then(|| {
        labels
            .iter()
            .map(|label| format!("DC={label}"))
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// The data centre region an account lives in; it fixes the time zone of the schedule.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Region {
    /// Scheduled in GMT (UTC+0 all year, no British Summer Time).
    Europe,
    /// Scheduled in US Eastern time (EST/EDT).
    NorthAmerica,
    /// Scheduled in South African Standard Time (UTC+2, no daylight saving).
    SouthAfrica,
    /// Scheduled in Sydney time (AEST/AEDT).
    Australia,
}

/// What a sync may do to the cloud account (SPEC "Apply").
///
/// Booleans default to `false`: every setting that changes the account beyond adding
/// and converting users is opt-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AccountSettings {
    /// Link each directory user's alias addresses to it; when off, the sync neither links
    /// nor unlinks aliases and leaves whatever aliases the cloud holds alone.
    #[serde(default)]
    pub link_aliases: bool,
    /// Disable users disabled in the directory and enable them again when the directory
    /// does; when off, the cloud's own enabled/disabled flag is left alone.
    #[serde(default)]
    pub acknowledge_disabled: bool,
    /// Directory attributes carried onto cloud users (e.g. `department`); attributes not
    /// listed are never touched, so removing one from this list keeps its last values.
    #[serde(default)]
    pub additional_attributes: Vec<String>,
    /// Remove users that left the directory instead of keeping them as unmanaged users.
    #[serde(default)]
    pub delete_users: bool,
    /// The most directory-generated users one run may unlink or remove; a run that would
    /// exceed it is stopped whole. See [`DEFAULT_MAX_UNLINK`].
    #[serde(default = "default_max_unlink")]
    pub max_unlink: usize,
    /// Mirror mail-enabled contacts as cloud contacts; when off, contacts only count as
    /// group members and existing cloud contacts are left alone.
    #[serde(default)]
    pub sync_contacts: bool,
    /// The account's registered domains. Only users and group addresses in these domains
    /// are applied; the rest is reported. An empty list registers nothing, so every such
    /// address is reported as out of domain (loud rather than syncing everything).
    #[serde(default)]
    pub domains: Vec<String>,
    /// The region whose time zone the automatic schedule follows.
    pub region: Region,
}

/// Fifty users: above a normal day's leavers for most accounts, far below the size of
/// any real account, so an empty or truncated extraction trips it.
pub const DEFAULT_MAX_UNLINK: usize = 50;

fn default_max_unlink() -> usize {
    DEFAULT_MAX_UNLINK
}

impl AccountSettings {
    /// Settings with every option off, the default max unlink and no registered domain.
    pub fn new(region: Region) -> Self {
        Self {
            link_aliases: false,
            acknowledge_disabled: false,
            additional_attributes: Vec::new(),
            delete_users: false,
            max_unlink: DEFAULT_MAX_UNLINK,
            sync_contacts: false,
            domains: Vec::new(),
            region,
        }
    }

    /// Checks the registered domains and attribute names, returning every error found.
    pub fn validate(&self) -> Result<(), SettingsErrors> {
        let mut errors = Vec::new();
        for domain in &self.domains {
            let trimmed = domain.trim();
            if trimmed.is_empty()
                || trimmed.contains('@')
                || trimmed.chars().any(char::is_whitespace)
            {
                errors.push(SettingsError::BadDomain(domain.clone()));
            }
        }
        for attribute in &self.additional_attributes {
            if !is_attribute_type(attribute) {
                errors.push(SettingsError::BadAttribute(attribute.clone()));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(SettingsErrors(errors))
        }
    }

    /// Whether `domain` is registered: exact, case-insensitive, a trailing dot ignored.
    ///
    /// Subdomains are not implied: `eu.corp.example.test` must be registered itself,
    /// as a mail domain is verified one by one.
    pub fn is_registered(&self, domain: &str) -> bool {
        let wanted = domain.trim().trim_end_matches('.');
        self.domains.iter().any(|registered| {
            registered
                .trim()
                .trim_end_matches('.')
                .eq_ignore_ascii_case(wanted)
        })
    }
}

#[cfg(test)]
mod tests;
