//! The fixture's `azureAd:` section: the tenant fake-dc serves as Microsoft Graph, the
//! applications that may sign in to it, and the objects that exist only in the cloud.
//! Spelled the way Graph spells the same properties (camelCase), so a fixture reads like
//! the JSON a client will get back. Documented in `docs/graph.md`.

use serde::{Deserialize, Serialize};

use crate::tls::CertProfile;

/// The tenant.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AzureAdSpec {
    /// The directory (tenant) ID, a GUID; the token endpoint also accepts the initial
    /// domain in its place, as the identity platform does.
    pub tenant_id: String,
    /// `contoso.onmicrosoft.com`; defaults to the first label of the forest root's DNS
    /// name followed by `.onmicrosoft.com`.
    #[serde(default)]
    pub initial_domain: Option<String>,
    /// App registrations allowed to use the client-credentials grant.
    #[serde(default)]
    pub applications: Vec<ApplicationSpec>,
    /// Lifetime of an access token in seconds (the identity platform's default: 3599).
    #[serde(default)]
    pub token_lifetime: Option<u64>,
    /// Lifetime of a `$skiptoken` in a nextLink, in seconds (default 600).
    #[serde(default)]
    pub page_token_lifetime: Option<u64>,
    /// The certificate the HTTPS listener presents, one of the LDAPS profiles.
    #[serde(default)]
    pub certificate: CertProfile,
    /// Which directory objects Azure AD Connect synchronizes. Left out: every user and
    /// group except AD's critical system objects (Administrator, krbtgt, Domain Users…).
    #[serde(default)]
    pub synced_ous: Vec<String>,
    /// Users created in the cloud (no on-premises identity).
    #[serde(default)]
    pub users: Vec<CloudUserSpec>,
    /// Groups created in the cloud; they may hold synchronized and cloud members.
    #[serde(default)]
    pub groups: Vec<CloudGroupSpec>,
    /// Faults the listener starts with; the control API adds and clears them later.
    #[serde(default)]
    pub faults: GraphFaultSpec,
}

/// One app registration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApplicationSpec {
    /// The application (client) ID, a GUID.
    pub app_id: String,
    /// Shown in error texts, as the identity platform names the app.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Its client secrets.
    #[serde(default)]
    pub secrets: Vec<SecretSpec>,
}

/// One client secret of an application.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretSpec {
    /// The secret's text.
    pub value: String,
    /// When it stops working (RFC 3339); left out, never. Compared with fake-dc's
    /// directory clock, so the control API's clock can make a secret expire.
    #[serde(default)]
    pub expires: Option<String>,
    /// Deleted from the app registration: refused like any unknown secret.
    #[serde(default)]
    pub revoked: bool,
}

/// A cloud-only user.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CloudUserSpec {
    pub user_principal_name: String,
    pub display_name: String,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub surname: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    /// Defaults to the UPN's local part.
    #[serde(default)]
    pub mail_nickname: Option<String>,
    #[serde(default)]
    pub proxy_addresses: Vec<String>,
    #[serde(default = "yes")]
    pub account_enabled: bool,
    #[serde(default)]
    pub job_title: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
}

/// A cloud-only group.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CloudGroupSpec {
    pub display_name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub mail_nickname: Option<String>,
    /// Defaults to true when the group has a mail address.
    #[serde(default)]
    pub mail_enabled: Option<bool>,
    #[serde(default)]
    pub security_enabled: bool,
    /// `["Unified"]` for a Microsoft 365 group.
    #[serde(default)]
    pub group_types: Vec<String>,
    #[serde(default)]
    pub proxy_addresses: Vec<String>,
    /// Members: a user's userPrincipalName (synchronized or cloud), a cloud group's
    /// displayName, or a synchronized group's sAMAccountName.
    #[serde(default)]
    pub members: Vec<String>,
}

/// Faults of the Graph listener, in the fixture's and the control API's shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct GraphFaultSpec {
    /// Answer this many of the next Graph requests (not token requests) with 429.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle_requests: Option<u32>,
    /// The Retry-After of those answers, in seconds (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
    /// Answer this many of the next Graph requests with 503.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable_requests: Option<u32>,
    /// Every `$skiptoken` handed out so far and from now on is expired when used.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub expire_page_tokens: bool,
    /// Every delta link handed out so far is no longer valid (syncStateNotFound); links
    /// issued later work. A one-off when added (in a fixture it has nothing to act on).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub invalidate_delta_tokens: bool,
    /// Throttle only from this page on (1-based), so a read fails mid-way: with
    /// `throttle-requests`, the first request carrying a `$skiptoken` is page 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_page: Option<u32>,
}

fn yes() -> bool {
    true
}
