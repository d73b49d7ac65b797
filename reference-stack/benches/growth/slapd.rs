//! OpenLDAP's slapd with the same entries (`export-ldif --openldap` of the same fixture,
//! written by the load child), loaded with `slapadd -q` into an mdb database in the
//! size's temporary directory, serving loopback only, stopped when measured. The
//! configuration is `scripts/slapd-compare.sh`'s: equality indexes on objectClass and
//! mail, anonymous reads, binds against userPassword.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::Results;

const SCHEMA: &str = "/etc/ldap/schema";

fn tool(name: &str) -> String {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin"] {
        let path = format!("{dir}/{name}");
        if Path::new(&path).exists() {
            return path;
        }
    }
    name.to_string()
}

/// Fails, naming how to install it, when slapd is missing (or pass `--no-slapd`).
pub fn check_installed() -> anyhow::Result<()> {
    for name in ["slapd", "slapadd"] {
        let path = tool(name);
        if !Path::new(&path).exists() {
            bail!("{name} not found: run scripts/setup-test-env (Debian's slapd package), or pass --no-slapd");
        }
    }
    if !Path::new(SCHEMA).join("inetorgperson.schema").exists() {
        bail!("{SCHEMA}/inetorgperson.schema missing: run scripts/setup-test-env (Debian's slapd package)");
    }
    Ok(())
}

fn config(work: &Path) -> String {
    let modules = if Path::new("/usr/lib/ldap").is_dir() {
        "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
    } else {
        ""
    };
    let work = work.display();
    format!(
        "include {SCHEMA}/core.schema\ninclude {SCHEMA}/cosine.schema\ninclude {SCHEMA}/inetorgperson.schema\n\
         {modules}pidfile {work}/slapd.pid\nsizelimit unlimited\ndatabase mdb\nmaxsize 34359738368\n\
         suffix \"DC=corp,DC=example,DC=test\"\nrootdn \"cn=admin,DC=corp,DC=example,DC=test\"\nrootpw admin\n\
         directory {work}/db\nindex objectClass eq\nindex mail eq\n\
         access to attrs=userPassword by anonymous auth by * none\naccess to * by * read\n"
    )
}

/// Waits for `child` until `timeout`, killing it past that.
fn wait(child: &mut std::process::Child, timeout: Duration, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                bail!("{what} failed ({status})");
            }
            return Ok(());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{what} ran past {timeout:?} and was stopped");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A line of /proc/PID/status, in MiB.
fn peak_mib(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or_else(|| "n/a".into(), |kib| format!("{:.0}", kib / 1024.0))
}

pub fn measure(
    work: &Path,
    url: &str,
    probes: &Arc<Vec<String>>,
    secs: f64,
    timeout: Duration,
) -> anyhow::Result<Results> {
    let mut out = Results::new();
    std::fs::create_dir_all(work.join("db"))?;
    let conf = work.join("slapd.conf");
    std::fs::write(&conf, config(work))?;
    let started = Instant::now();
    let mut slapadd = Command::new(tool("slapadd"))
        .arg("-q")
        .arg("-f")
        .arg(&conf)
        .arg("-l")
        .arg(work.join("data.ldif"))
        .stdout(Stdio::null())
        .spawn()
        .context("starting slapadd")?;
    wait(&mut slapadd, timeout, "slapadd")?;
    out.insert(
        "slapadd_secs".into(),
        format!("{:.1}", started.elapsed().as_secs_f64()),
    );
    let _ = std::fs::remove_file(work.join("data.ldif"));
    // -d 0 keeps slapd in the foreground as our child, so it is stopped by its pid.
    let mut slapd = Command::new(tool("slapd"))
        .arg("-f")
        .arg(&conf)
        .arg("-h")
        .arg(url)
        .arg("-d")
        .arg("0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting slapd")?;
    let addr = url.trim_start_matches("ldap://").trim_end_matches('/');
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline || slapd.try_wait()?.is_some() {
            let _ = slapd.kill();
            let _ = slapd.wait();
            bail!(
                "slapd did not listen on {url} (try its config: slapd -T test -f {})",
                conf.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let rate = crate::clients::exact_searches(url, probes, 4, secs);
    out.insert("slapd_rss_mib".into(), peak_mib(slapd.id()));
    let _ = slapd.kill();
    let _ = slapd.wait();
    out.insert("slapd_rate".into(), format!("{:.0}", rate?));
    Ok(out)
}
