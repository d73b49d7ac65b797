//! The search load: `clients` connections, each binding as the sync account and asking
//! for one user by `mail` over the whole domain until the time is up. The same code
//! drives fake-dc and slapd.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ldap3::{LdapConnAsync, Scope};

pub const BASE: &str = "DC=corp,DC=example,DC=test";
pub const BIND_DN: &str = "CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test";
pub const PASSWORD: &str = "Sync-Secret-1";

/// The `mail` values the load child wrote, one a line.
pub fn read_probes(path: &Path) -> anyhow::Result<Arc<Vec<String>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let probes: Vec<String> = text.lines().map(str::to_string).collect();
    if probes.is_empty() {
        bail!("{}: no probe values", path.display());
    }
    Ok(Arc::new(probes))
}

/// Exact searches per second from `clients` connections over `secs`; every answer must
/// be the one entry asked for.
pub fn exact_searches(
    url: &str,
    probes: &Arc<Vec<String>>,
    clients: usize,
    secs: f64,
) -> anyhow::Result<f64> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let mut connections = Vec::new();
        for _ in 0..clients {
            let (conn, mut ldap) = LdapConnAsync::new(url)
                .await
                .with_context(|| format!("connecting to {url}"))?;
            ldap3::drive!(conn);
            ldap.simple_bind(BIND_DN, PASSWORD)
                .await?
                .success()
                .context("bind")?;
            connections.push(ldap);
        }
        let started = Instant::now();
        let deadline = started + Duration::from_secs_f64(secs);
        let mut tasks = Vec::new();
        for (c, mut ldap) in connections.into_iter().enumerate() {
            let probes = probes.clone();
            tasks.push(tokio::spawn(async move {
                let mut n = 0usize;
                let mut at = c * probes.len() / clients;
                while Instant::now() < deadline {
                    let mail = &probes[at % probes.len()];
                    at += 7919; // a prime stride: clients spread over the directory
                    let (entries, result) = ldap
                        .search(BASE, Scope::Subtree, &format!("(mail={mail})"), vec!["cn"])
                        .await?
                        .success()?;
                    let _ = result;
                    if entries.len() != 1 {
                        bail!("(mail={mail}) found {} entries", entries.len());
                    }
                    n += 1;
                }
                let _ = ldap.unbind().await;
                anyhow::Ok(n)
            }));
        }
        let mut total = 0;
        for task in tasks {
            total += task.await??;
        }
        Ok(total as f64 / started.elapsed().as_secs_f64())
    })
}
