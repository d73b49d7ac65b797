//! A real Samba AD domain controller on loopback, set up by `scripts/samba-ad ensure`
//! (Debian's samba packages, provisioned once into `target/samba-ad/`). Tests that
//! compare fake-dc with a real AD get its addresses and credentials here.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::{workspace_root, SETUP_HINT};

/// Where the DC listens and how to bind to it (the fields of `target/samba-ad/env`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SambaAd {
    /// `ldap://127.0.N.2`, plain LDAP on 389 (simple binds allowed).
    pub url: String,
    /// `ldaps://127.0.N.2`, LDAPS on 636 with Samba's self-signed certificate.
    pub ldaps_url: String,
    /// The Global Catalog on 3268.
    pub gc_url: String,
    /// `DC=samdom,DC=test`.
    pub base_dn: String,
    /// `SAMDOM.TEST`.
    pub realm: String,
    /// `SAMDOM`, for `SAMDOM\user` binds.
    pub netbios: String,
    pub admin_dn: String,
    pub admin_upn: String,
    pub password: String,
    /// The CA that signed the LDAPS certificate.
    pub ca: PathBuf,
}

/// Why the DC is not available.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("cannot run scripts/samba-ad: {0}; {SETUP_HINT}")]
    Spawn(String),
    #[error("scripts/samba-ad ensure failed ({status}): {stderr}\n{SETUP_HINT}")]
    Failed { status: String, stderr: String },
    #[error("{file}: {problem}; {SETUP_HINT}")]
    Env { file: String, problem: String },
}

/// Installs, provisions and starts the DC as needed (once per process; the script itself
/// is idempotent and serializes concurrent callers), and returns where it listens.
pub fn ensure() -> Result<SambaAd, Error> {
    static DC: OnceLock<Result<SambaAd, Error>> = OnceLock::new();
    DC.get_or_init(run_ensure).clone()
}

fn run_ensure() -> Result<SambaAd, Error> {
    let root = workspace_root();
    let output = Command::new(root.join("scripts/samba-ad"))
        .arg("ensure")
        .current_dir(&root)
        .output()
        .map_err(|e| Error::Spawn(e.to_string()))?;
    if !output.status.success() {
        return Err(Error::Failed {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let file = root.join("target/samba-ad/env");
    let text = std::fs::read_to_string(&file).map_err(|e| Error::Env {
        file: file.display().to_string(),
        problem: e.to_string(),
    })?;
    parse_env(&text).map_err(|problem| Error::Env {
        file: file.display().to_string(),
        problem,
    })
}

/// Reads `KEY=value` lines; every field must be there.
fn parse_env(text: &str) -> Result<SambaAd, String> {
    let vars: HashMap<&str, &str> = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .collect();
    let get = |key: &str| {
        vars.get(key)
            .map(|v| v.to_string())
            .ok_or_else(|| format!("{key} is missing"))
    };
    Ok(SambaAd {
        url: get("SAMBA_AD_URL")?,
        ldaps_url: get("SAMBA_AD_LDAPS_URL")?,
        gc_url: get("SAMBA_AD_GC_URL")?,
        base_dn: get("SAMBA_AD_BASE_DN")?,
        realm: get("SAMBA_AD_REALM")?,
        netbios: get("SAMBA_AD_NETBIOS")?,
        admin_dn: get("SAMBA_AD_ADMIN_DN")?,
        admin_upn: get("SAMBA_AD_ADMIN_UPN")?,
        password: get("SAMBA_AD_PASSWORD")?,
        ca: PathBuf::from(get("SAMBA_AD_CA")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_field_is_named() {
        let err = parse_env("SAMBA_AD_URL=ldap://127.0.0.2\n").unwrap_err();
        assert_eq!(err, "SAMBA_AD_LDAPS_URL is missing");
    }

    #[test]
    fn values_keep_their_equals_signs() {
        let text = "SAMBA_AD_URL=ldap://a\nSAMBA_AD_LDAPS_URL=ldaps://a\nSAMBA_AD_GC_URL=ldap://a:3268\n\
                    SAMBA_AD_BASE_DN=DC=samdom,DC=test\nSAMBA_AD_REALM=SAMDOM.TEST\nSAMBA_AD_NETBIOS=SAMDOM\n\
                    SAMBA_AD_ADMIN_DN=CN=Administrator,CN=Users,DC=samdom,DC=test\n\
                    SAMBA_AD_ADMIN_UPN=Administrator@samdom.test\nSAMBA_AD_PASSWORD=a=b\nSAMBA_AD_CA=/ca.pem\n";
        let dc = parse_env(text).unwrap();
        assert_eq!(dc.base_dn, "DC=samdom,DC=test");
        assert_eq!(dc.password, "a=b");
    }
}
