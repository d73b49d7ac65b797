//! Puts a fake-dc fixture's content into the Samba AD DC of `scripts/samba-ad`, so the
//! same queries can be sent to both. The fixture is loaded with fake-dc's own loader and
//! its entries copied over LDAPS, so defaults (sAMAccountName, UPN, account states) are the
//! ones fake-dc computed.
//!
//! Scope, and why: the fixture's first domain must be Samba's (`samdom.test`) so DNs are
//! the same on both sides, and its objects must live in OUs under the domain head: the
//! loader deletes each of those top-level OUs (tree delete) before creating them again, which
//! makes a load idempotent without touching anything else. Built-in accounts are left
//! alone (Samba's Administrator keeps `SAMBA_AD_PASSWORD`). Dynamic lists need Exchange's
//! schema and are skipped; an account in state `password-expired` cannot be made over LDAP
//! (Samba takes only 0 or -1 for pwdLastSet) and is reported in [`Loaded::not_reproduced`].

use std::path::Path;

use fake_dc::directory::{Directory, EntryId, Scope, FILETIME_NEVER};
use fake_dc::fixture::{self, LoadOptions};
use fake_dc::schema::{uac, ObjectKind};
use ldap3::controls::RawControl;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Mod};
use std::collections::HashSet;
use test_peers::samba::SambaAd;

/// What a load did.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The fixture's directory as fake-dc loads it.
    pub entries: usize,
    /// DNs of entries Samba could not be given (and why).
    pub not_reproduced: Vec<(String, String)>,
}

/// Why a load failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Fixture(String),
    #[error("the fixture's first domain is {found}, Samba's is {want}: DNs would differ")]
    WrongDomain { found: String, want: String },
    #[error("Samba refused {what} of {dn}: {message}")]
    Refused {
        what: &'static str,
        dn: String,
        message: String,
    },
}

const TREE_DELETE: &str = "1.2.840.113556.1.4.805";

/// Attributes copied as they are, per kind; the rest is computed by Samba.
const USER_ATTRS: &[&str] = &[
    "sAMAccountName",
    "userPrincipalName",
    "givenName",
    "sn",
    "displayName",
    "mail",
    "proxyAddresses",
    "description",
    "department",
    "title",
    "company",
    "telephoneNumber",
    "dNSHostName",
];
const GROUP_ATTRS: &[&str] = &[
    "sAMAccountName",
    "groupType",
    "mail",
    "proxyAddresses",
    "description",
];
const CONTACT_ATTRS: &[&str] = &[
    "givenName",
    "sn",
    "displayName",
    "mail",
    "proxyAddresses",
    "description",
];

/// Loads `path` into Samba; see the module's documentation for what is copied.
pub async fn load_fixture(dc: &SambaAd, path: &Path) -> Result<(Directory, Loaded), LoadError> {
    let dir = fixture::load_file(path, LoadOptions::default())
        .map_err(|e| LoadError::Fixture(e.to_string()))?;
    let head = dir.domains[0].head;
    let head_dn = dir.dn_str(head).to_string();
    if !head_dn.eq_ignore_ascii_case(&dc.base_dn) {
        return Err(LoadError::WrongDomain {
            found: head_dn,
            want: dc.base_dn.clone(),
        });
    }
    let mut ldap = admin(dc).await?;
    let tops: Vec<EntryId> = dir
        .entry(head)
        .children
        .iter()
        .copied()
        .filter(|id| {
            let e = dir.entry(*id);
            e.kind == ObjectKind::OrganizationalUnit
                && !e.rdn.value().eq_ignore_ascii_case("Domain Controllers")
        })
        .collect();
    for top in &tops {
        let dn = dir.dn_str(*top).to_string();
        let res = ldap
            .with_controls(RawControl {
                ctype: TREE_DELETE.into(),
                crit: true,
                val: None,
            })
            .delete(&dn)
            .await
            .map_err(|e| refused("tree delete", &dn, e))?;
        if res.rc != 0 && res.rc != 32 {
            return Err(refused("tree delete", &dn, res.text));
        }
    }
    let everything = "(objectClass=*)"
        .parse()
        .map_err(|e| LoadError::Fixture(format!("{e}")))?;
    let mut ids: Vec<EntryId> = tops
        .iter()
        .flat_map(|t| dir.search(*t, Scope::Subtree, &everything, false))
        .collect();
    ids.sort();
    let mut loaded = Loaded {
        entries: ids.len(),
        ..Loaded::default()
    };
    let mut created = HashSet::new();
    for id in &ids {
        if create(&mut ldap, &dir, *id, &mut loaded).await? {
            created.insert(*id);
        }
    }
    // References once everything exists: members, managers, then primary groups (AD
    // requires membership first), then lockouts.
    for id in &ids {
        if created.contains(id) {
            references(&mut ldap, &dir, *id).await?;
        }
    }
    for id in &ids {
        if created.contains(id) {
            states(&mut ldap, &dir, *id).await?;
        }
    }
    let _ = ldap.unbind().await;
    Ok((dir, loaded))
}

fn refused(what: &'static str, dn: &str, message: impl ToString) -> LoadError {
    LoadError::Refused {
        what,
        dn: dn.to_string(),
        message: message.to_string(),
    }
}

/// An LDAPS connection bound as Samba's administrator (unicodePwd needs encryption; the
/// certificate is Samba's self-signed one, on loopback).
pub async fn admin(dc: &SambaAd) -> Result<Ldap, LoadError> {
    let settings = LdapConnSettings::new().set_no_tls_verify(true);
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &dc.ldaps_url)
        .await
        .map_err(|e| refused("a connection", &dc.ldaps_url, e))?;
    ldap3::drive!(conn);
    ldap.simple_bind(&dc.admin_dn, &dc.password)
        .await
        .and_then(|r| r.success())
        .map_err(|e| refused("a bind", &dc.admin_dn, e))?;
    Ok(ldap)
}

fn copy(dir: &Directory, id: EntryId, names: &[&str]) -> Vec<(String, HashSet<String>)> {
    let e = dir.entry(id);
    names
        .iter()
        .filter_map(|n| {
            let values: HashSet<String> = e.get_strs(n).into_iter().map(str::to_string).collect();
            (!values.is_empty()).then(|| (n.to_string(), values))
        })
        .collect()
}

async fn create(
    ldap: &mut Ldap,
    dir: &Directory,
    id: EntryId,
    loaded: &mut Loaded,
) -> Result<bool, LoadError> {
    let e = dir.entry(id);
    let dn = dir.dn_str(id).to_string();
    let (class, mut attrs) = match e.kind {
        ObjectKind::OrganizationalUnit => ("organizationalUnit", copy(dir, id, &["description"])),
        ObjectKind::User => ("user", copy(dir, id, USER_ATTRS)),
        ObjectKind::Computer => ("computer", copy(dir, id, USER_ATTRS)),
        ObjectKind::Group => ("group", copy(dir, id, GROUP_ATTRS)),
        ObjectKind::Contact => ("contact", copy(dir, id, CONTACT_ATTRS)),
        other => {
            loaded.not_reproduced.push((
                dn,
                format!("{} needs a schema Samba does not have", other.class_name()),
            ));
            return Ok(false);
        }
    };
    attrs.push(("objectClass".into(), HashSet::from([class.to_string()])));
    let res = ldap
        .add(&dn, attrs)
        .await
        .map_err(|err| refused("the add", &dn, err))?;
    if res.rc != 0 {
        return Err(refused("the add", &dn, format!("{} {}", res.rc, res.text)));
    }
    if matches!(e.kind, ObjectKind::User | ObjectKind::Computer) {
        if let Some(password) = &e.password {
            let quoted: Vec<u8> = format!("\"{password}\"")
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect();
            modify(
                ldap,
                &dn,
                vec![Mod::Replace(
                    b"unicodePwd".to_vec(),
                    HashSet::from([quoted]),
                )],
            )
            .await?;
        }
        let flags = e.get_int("userAccountControl").unwrap_or(0);
        let mut mods = vec![Mod::Replace(
            b"userAccountControl".to_vec(),
            HashSet::from([flags.to_string().into_bytes()]),
        )];
        if let Some(at) = e.get_int("accountExpires").filter(|a| *a != FILETIME_NEVER) {
            mods.push(Mod::Replace(
                b"accountExpires".to_vec(),
                HashSet::from([at.to_string().into_bytes()]),
            ));
        }
        if e.get_int("pwdLastSet") == Some(0) {
            mods.push(Mod::Replace(
                b"pwdLastSet".to_vec(),
                HashSet::from([b"0".to_vec()]),
            ));
        }
        modify(ldap, &dn, mods).await?;
        if dir.password_expired(id) && flags as u32 & uac::DONT_EXPIRE_PASSWORD == 0 {
            loaded.not_reproduced.push((
                dn,
                "password-expired: Samba takes only 0 or -1 for pwdLastSet".into(),
            ));
        }
    }
    Ok(true)
}

async fn modify(ldap: &mut Ldap, dn: &str, mods: Vec<Mod<Vec<u8>>>) -> Result<(), LoadError> {
    let res = ldap
        .modify(dn, mods)
        .await
        .map_err(|e| refused("a modify", dn, e))?;
    if res.rc != 0 {
        return Err(refused("a modify", dn, format!("{} {}", res.rc, res.text)));
    }
    Ok(())
}

async fn references(ldap: &mut Ldap, dir: &Directory, id: EntryId) -> Result<(), LoadError> {
    let e = dir.entry(id);
    let dn = dir.dn_str(id).to_string();
    let members: HashSet<Vec<u8>> = e
        .members
        .iter()
        .map(|m| dir.dn_str(*m).as_bytes().to_vec())
        .collect();
    let mut mods = Vec::new();
    if !members.is_empty() {
        mods.push(Mod::Add(b"member".to_vec(), members));
    }
    if let Some(manager) = e.get_str("manager") {
        mods.push(Mod::Replace(
            b"manager".to_vec(),
            HashSet::from([manager.as_bytes().to_vec()]),
        ));
    }
    if !mods.is_empty() {
        modify(ldap, &dn, mods).await?;
    }
    Ok(())
}

async fn states(ldap: &mut Ldap, dir: &Directory, id: EntryId) -> Result<(), LoadError> {
    let e = dir.entry(id);
    let dn = dir.dn_str(id).to_string();
    let mut mods = Vec::new();
    if let Some(pg) = e
        .get_int("primaryGroupID")
        .filter(|g| ![513, 515].contains(g))
    {
        mods.push(Mod::Replace(
            b"primaryGroupID".to_vec(),
            HashSet::from([pg.to_string().into_bytes()]),
        ));
    }
    if let Some(t) = e.get_int("lockoutTime").filter(|t| *t != 0) {
        mods.push(Mod::Replace(
            b"lockoutTime".to_vec(),
            HashSet::from([t.to_string().into_bytes()]),
        ));
    }
    if !mods.is_empty() {
        modify(ldap, &dn, mods).await?;
    }
    Ok(())
}
