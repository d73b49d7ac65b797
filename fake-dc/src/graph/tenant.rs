//! The tenant as served: the fixture's `azureAd:` section checked and resolved against
//! the directory (cloud members found, secrets' expiry read, ids derived), kept in the
//! [`Directory`] so snapshots, restores and reloads carry it with the objects.

use std::sync::Arc;

use super::spec::{AzureAdSpec, CloudGroupSpec, CloudUserSpec, GraphFaultSpec};
use crate::directory::{Directory, EntryId, Guid};
use crate::tls::CertProfile;

/// The identity platform's default access-token lifetime.
const DEFAULT_TOKEN_LIFETIME: u64 = 3599;
/// How long a nextLink stays usable when the fixture does not say.
const DEFAULT_PAGE_TOKEN_LIFETIME: u64 = 600;

/// A resolved tenant.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The tenant ID, lower case.
    pub tenant_id: String,
    /// `contoso.onmicrosoft.com`, lower case.
    pub initial_domain: String,
    pub applications: Vec<Application>,
    pub token_lifetime: u64,
    pub page_token_lifetime: u64,
    pub certificate: CertProfile,
    /// The OUs Azure AD Connect synchronizes; empty: the whole forest.
    pub synced_ous: Vec<EntryId>,
    pub users: Vec<CloudUser>,
    pub groups: Vec<CloudGroup>,
    /// Faults to start with.
    pub faults: GraphFaultSpec,
    /// XOR'd with an objectGUID to make the Graph object id of a synchronized object:
    /// in Azure AD an object's id is not its on-premises GUID, and keeping the two apart
    /// lets a test catch an engine that confuses them. XOR keeps the mapping invertible,
    /// so an id in a URL finds its entry through the GUID index.
    pub id_mask: [u8; 16],
}

/// An app registration.
#[derive(Debug, Clone)]
pub struct Application {
    pub app_id: String,
    pub display_name: String,
    pub secrets: Vec<Secret>,
}

/// A client secret.
#[derive(Debug, Clone)]
pub struct Secret {
    pub value: String,
    /// Unix seconds; `None`: never.
    pub expires: Option<i64>,
    pub revoked: bool,
}

/// A cloud-only user.
#[derive(Debug, Clone)]
pub struct CloudUser {
    pub id: String,
    pub spec: CloudUserSpec,
    /// Cloud groups it is a direct member of.
    pub member_of: Vec<u32>,
}

/// A cloud-only group.
#[derive(Debug, Clone)]
pub struct CloudGroup {
    pub id: String,
    pub spec: CloudGroupSpec,
    pub members: Vec<Member>,
    /// Cloud groups it is a direct member of.
    pub member_of: Vec<u32>,
}

/// A member of a cloud group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    /// A synchronized user or group, by its objectGUID (ids change on reload, GUIDs not).
    OnPremises(Guid),
    CloudUser(u32),
    CloudGroup(u32),
}

impl Tenant {
    /// The Graph id of a synchronized object.
    pub fn object_id(&self, guid: &Guid) -> String {
        let mut b = guid.0;
        for (x, m) in b.iter_mut().zip(self.id_mask) {
            *x ^= m;
        }
        // Printed as a plain big-endian UUID: the mixed-endian form is AD's, not Graph's.
        format_uuid(&b)
    }

    /// The objectGUID behind a Graph id of a synchronized object, if it is one.
    pub fn guid_of(&self, id: &str) -> Option<Guid> {
        let mut b = parse_uuid(id)?;
        for (x, m) in b.iter_mut().zip(self.id_mask) {
            *x ^= m;
        }
        Some(Guid(b))
    }

    /// The application with this client ID.
    pub fn application(&self, app_id: &str) -> Option<&Application> {
        self.applications
            .iter()
            .find(|a| a.app_id.eq_ignore_ascii_case(app_id))
    }

    /// Whether `name` (from a token URL) names this tenant: its ID or initial domain.
    pub fn is_named(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(&self.tenant_id)
            || name.eq_ignore_ascii_case(&self.initial_domain)
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` of 16 bytes in order.
pub fn format_uuid(b: &[u8; 16]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The inverse of [`format_uuid`], case-insensitive.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let groups: Vec<&str> = s.split('-').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    if lens != [8, 4, 4, 4, 12] {
        return None;
    }
    let hex: String = groups.concat();
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// 16 bytes derived from the fixture's seed and a label, stable on every machine.
fn derived(seed: u64, label: &str) -> [u8; 16] {
    let mut input = seed.to_le_bytes().to_vec();
    input.extend_from_slice(label.as_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest.as_ref()[..16]);
    // A version-4 shape, so clients that check UUIDs accept the ids.
    out[6] = (out[6] & 0x0f) | 0x40;
    out[8] = (out[8] & 0x3f) | 0x80;
    out
}

/// Resolves the section against a loaded directory; every problem as (YAML path, message).
pub fn resolve(
    spec: &AzureAdSpec,
    dir: &Directory,
    seed: u64,
) -> Result<Arc<Tenant>, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let mut bad =
        |path: String, message: String| problems.push((format!("azureAd.{path}"), message));
    if parse_uuid(&spec.tenant_id).is_none() {
        bad(
            "tenantId".into(),
            format!(
                "'{}' is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                spec.tenant_id
            ),
        );
    }
    let initial_domain = spec.initial_domain.clone().unwrap_or_else(|| {
        let first = dir
            .domains
            .first()
            .and_then(|d| d.dns_name.split('.').next().map(str::to_owned))
            .unwrap_or_else(|| "tenant".into());
        format!("{first}.onmicrosoft.com")
    });
    let mut applications = Vec::new();
    for (i, app) in spec.applications.iter().enumerate() {
        if parse_uuid(&app.app_id).is_none() {
            bad(
                format!("applications[{i}].appId"),
                format!(
                    "'{}' is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                    app.app_id
                ),
            );
        }
        let mut secrets = Vec::new();
        for (s, secret) in app.secrets.iter().enumerate() {
            let expires = match &secret.expires {
                None => None,
                Some(text) => {
                    match time::OffsetDateTime::parse(
                        text,
                        &time::format_description::well_known::Rfc3339,
                    ) {
                        Ok(t) => Some(t.unix_timestamp()),
                        Err(e) => {
                            bad(
                            format!("applications[{i}].secrets[{s}].expires"),
                            format!("'{text}' is not an RFC 3339 time like 2030-01-01T00:00:00Z: {e}"),
                        );
                            None
                        }
                    }
                }
            };
            if secret.value.is_empty() {
                bad(
                    format!("applications[{i}].secrets[{s}].value"),
                    "a client secret must not be empty".into(),
                );
            }
            secrets.push(Secret {
                value: secret.value.clone(),
                expires,
                revoked: secret.revoked,
            });
        }
        applications.push(Application {
            app_id: app.app_id.to_ascii_lowercase(),
            display_name: app
                .display_name
                .clone()
                .unwrap_or_else(|| "fake-dc sync".into()),
            secrets,
        });
    }
    let mut synced_ous = Vec::new();
    for (i, ou) in spec.synced_ous.iter().enumerate() {
        match ou.parse::<crate::dn::Dn>().ok().and_then(|dn| dir.lookup(&dn)) {
            Some(id) => synced_ous.push(id),
            None => bad(
                format!("syncedOus[{i}]"),
                format!("'{ou}' names no entry of the directory; write an OU's DN, e.g. OU=Staff,DC=corp,DC=example,DC=test"),
            ),
        }
    }
    let users: Vec<CloudUser> = spec
        .users
        .iter()
        .map(|u| CloudUser {
            id: format_uuid(&derived(
                seed,
                &format!("cloud-user:{}", u.user_principal_name.to_lowercase()),
            )),
            spec: u.clone(),
            member_of: Vec::new(),
        })
        .collect();
    for (i, u) in spec.users.iter().enumerate() {
        if dir.by_upn(&u.user_principal_name).is_some()
            || spec.users[..i].iter().any(|o| {
                o.user_principal_name
                    .eq_ignore_ascii_case(&u.user_principal_name)
            })
        {
            bad(
                format!("users[{i}].userPrincipalName"),
                format!(
                    "'{}' is already the userPrincipalName of another user",
                    u.user_principal_name
                ),
            );
        }
    }
    let mut groups: Vec<CloudGroup> = spec
        .groups
        .iter()
        .map(|g| CloudGroup {
            id: format_uuid(&derived(
                seed,
                &format!("cloud-group:{}", g.display_name.to_lowercase()),
            )),
            spec: g.clone(),
            members: Vec::new(),
            member_of: Vec::new(),
        })
        .collect();
    let mut users = users;
    for gi in 0..groups.len() {
        let names = groups[gi].spec.members.clone();
        for (m, name) in names.iter().enumerate() {
            let member = find_member(name, dir, &users, &groups);
            match member {
                Some(Member::CloudGroup(g)) if g as usize == gi => bad(
                    format!("groups[{gi}].members[{m}]"),
                    "a group cannot be a member of itself".into(),
                ),
                Some(member) => {
                    match member {
                        Member::CloudUser(u) => users[u as usize].member_of.push(gi as u32),
                        Member::CloudGroup(g) => groups[g as usize].member_of.push(gi as u32),
                        Member::OnPremises(_) => {}
                    }
                    groups[gi].members.push(member);
                }
                None => bad(
                    format!("groups[{gi}].members[{m}]"),
                    format!("'{name}' is neither a user's userPrincipalName, a cloud group's displayName nor a synchronized group's sAMAccountName"),
                ),
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Arc::new(Tenant {
        tenant_id: spec.tenant_id.to_ascii_lowercase(),
        initial_domain: initial_domain.to_ascii_lowercase(),
        applications,
        token_lifetime: spec.token_lifetime.unwrap_or(DEFAULT_TOKEN_LIFETIME),
        page_token_lifetime: spec
            .page_token_lifetime
            .unwrap_or(DEFAULT_PAGE_TOKEN_LIFETIME),
        certificate: spec.certificate,
        synced_ous,
        users,
        groups,
        faults: spec.faults.clone(),
        id_mask: derived(
            seed,
            &format!("object-ids:{}", spec.tenant_id.to_lowercase()),
        ),
    }))
}

fn find_member(
    name: &str,
    dir: &Directory,
    users: &[CloudUser],
    groups: &[CloudGroup],
) -> Option<Member> {
    if let Some(i) = users
        .iter()
        .position(|u| u.spec.user_principal_name.eq_ignore_ascii_case(name))
    {
        return Some(Member::CloudUser(i as u32));
    }
    if let Some(id) = dir.by_upn(name) {
        return Some(Member::OnPremises(dir.entry(id).guid));
    }
    if let Some(i) = groups
        .iter()
        .position(|g| g.spec.display_name.eq_ignore_ascii_case(name))
    {
        return Some(Member::CloudGroup(i as u32));
    }
    dir.domains
        .iter()
        .find_map(|d| dir.by_sam(d.head, name))
        .map(|id| Member::OnPremises(dir.entry(id).guid))
}
