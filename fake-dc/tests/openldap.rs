//! Interop with OpenLDAP's command-line clients (ldap-utils): what a person debugging a
//! sync would type. These tests fail — they do not skip — when the tools are missing;
//! `scripts/setup-test-env` installs them.

// Helpers outside #[test] fns are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::*;
use fake_dc::server::FakeDc;

struct Tools {
    /// The DC's CA certificate on disk, for LDAPTLS_CACERT.
    ca: PathBuf,
}

impl Tools {
    fn new(dc: &FakeDc) -> Tools {
        let ca = std::env::temp_dir().join(format!(
            "fake-dc-ca-{}-{:?}.pem",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&ca, dc.ca_pem()).unwrap();
        Tools { ca }
    }

    /// Runs an OpenLDAP tool with no user config, trusting only the DC's CA.
    async fn run(&self, tool: &str, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(test_peers::tool(tool));
        cmd.args(args)
            // Not LDAPNOINIT: it would also ignore the LDAPTLS_* variables below.
            .env("LDAPCONF", "/dev/null")
            .env("LDAPRC", "/dev/null")
            .env("LDAPTLS_CACERT", &self.ca)
            .env("LDAPTLS_REQCERT", "demand")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let input = stdin.map(str::to_string);
        let tool = tool.to_string();
        tokio::task::spawn_blocking(move || {
            let mut child = cmd.spawn().unwrap_or_else(|e| {
                panic!("{tool} could not be run ({e}): {}", test_peers::SETUP_HINT)
            });
            if let (Some(text), Some(mut pipe)) = (input, child.stdin.take()) {
                use std::io::Write;
                pipe.write_all(text.as_bytes()).unwrap();
            }
            drop(child.stdin.take());
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap()
    }
}

impl Drop for Tools {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca);
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn url(scheme: &str, addr: std::net::SocketAddr) -> String {
    format!("{scheme}://127.0.0.1:{}", addr.port())
}

#[tokio::test(flavor = "multi_thread")]
async fn ldapsearch_reads_the_root_dse_anonymously() {
    let dc = start().await;
    let t = Tools::new(&dc);
    let o = t
        .run(
            "ldapsearch",
            &[
                "-x",
                "-H",
                &url("ldap", ldap_addr(&dc, DC1)),
                "-b",
                "",
                "-s",
                "base",
                "-LLL",
                "dnsHostName",
                "isGlobalCatalogReady",
                "defaultNamingContext",
            ],
            None,
        )
        .await;
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "dn:\ndefaultNamingContext: DC=corp,DC=example,DC=test\ndnsHostName: dc1.corp.example.test\nisGlobalCatalogReady: TRUE\n\n"
    );
    // Anonymous access to the domain is refused the AD way.
    let o = t
        .run(
            "ldapsearch",
            &[
                "-x",
                "-H",
                &url("ldap", ldap_addr(&dc, DC1)),
                "-b",
                DOMAIN,
                "(objectClass=user)",
                "cn",
            ],
            None,
        )
        .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("result: 1 Operations error"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("000004DC: LdapErr: DSID-0C090A5C"),
        "{}",
        text(&o)
    );
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ldapwhoami_over_plain_starttls_and_ldaps() {
    let dc = start().await;
    let t = Tools::new(&dc);
    let a = dc.addresses(DC1).unwrap();
    for args in [
        vec!["-x", "-H", &url("ldap", a.ldap.unwrap())[..]],
        vec!["-x", "-ZZ", "-H", &url("ldap", a.ldap.unwrap())[..]],
        vec!["-x", "-H", &url("ldaps", a.ldaps.unwrap())[..]],
        vec!["-x", "-H", &url("ldaps", a.gc_tls.unwrap())[..]],
    ] {
        let mut full = args.clone();
        full.extend(["-D", SVC_DN, "-w", SVC_PW]);
        let o = t.run("ldapwhoami", &full, None).await;
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        assert_eq!(String::from_utf8_lossy(&o.stdout), "u:CORP\\svc-sync\n");
    }
    let o = t
        .run(
            "ldapwhoami",
            &[
                "-x",
                "-H",
                &url("ldap", a.ldap.unwrap()),
                "-D",
                "CORP\\svc-sync",
                "-w",
                "wrong",
            ],
            None,
        )
        .await;
    assert_eq!(o.status.code(), Some(49));
    assert!(text(&o).contains("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563"), "{}", text(&o));
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ldapsearch_pages_ranges_and_escaped_binary_filters() {
    let dc = start().await;
    let t = Tools::new(&dc);
    let h = url("ldap", ldap_addr(&dc, DC1));
    let bind = ["-x", "-H", h.as_str(), "-D", SVC_DN, "-w", SVC_PW];
    let with = |extra: &[&str]| -> Vec<String> {
        bind.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let t = &t;
    let run = |args: Vec<String>| async move {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        t.run("ldapsearch", &refs, None).await
    };
    // Paged: every user, plus AD's continuation references.
    let o = run(with(&[
        "-E",
        "pr=500/noprompt",
        "-b",
        DOMAIN,
        "(objectClass=user)",
        "1.1",
    ]))
    .await;
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("# numEntries: 1614"), "{out}");
    assert!(out.contains("# numReferences: 4"), "{out}");
    // Unpaged: 1,000 then sizeLimitExceeded.
    let o = run(with(&["-b", DOMAIN, "(objectClass=user)", "1.1"])).await;
    assert_eq!(o.status.code(), Some(4));
    assert!(
        text(&o).contains("# numEntries: 1000")
            && text(&o).contains("result: 4 Size limit exceeded")
    );
    // Ranged.
    let o = run(with(&[
        "-LLL",
        "-b",
        BIG_GROUP,
        "-s",
        "base",
        "(objectClass=*)",
        "member;range=1500-*",
    ]))
    .await;
    let lines = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.starts_with("member;range=1500-*:"))
        .count();
    assert_eq!(lines, 100);
    // Binary objectGUID in an escaped filter.
    let guid =
        dc.with_directory(|d| d.guid(d.resolve(&fake_dc::dn::Dn::parse(ALICE).unwrap()).unwrap()));
    let escaped: String = guid.0.iter().map(|b| format!("\\{b:02x}")).collect();
    let o = run(with(&[
        "-LLL",
        "-b",
        DOMAIN,
        &format!("(objectGUID={escaped})"),
        "1.1",
    ]))
    .await;
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().next(),
        Some(format!("dn: {ALICE}").as_str())
    );
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ldapmodify_over_ldaps() {
    let dc = start().await;
    let t = Tools::new(&dc);
    let h = url("ldaps", dc.addresses(DC1).unwrap().ldaps.unwrap());
    let ldif = "dn: CN=Tool User,OU=Sales,OU=Staff,DC=corp,DC=example,DC=test\n\
                changetype: add\n\
                objectClass: user\n\
                sAMAccountName: tooluser\n\
                mail: tool.user@corp.example.test\n\
                unicodePwd: \"T00l-Secret\"\n\
                \n\
                dn: CN=Tool User,OU=Sales,OU=Staff,DC=corp,DC=example,DC=test\n\
                changetype: modify\n\
                replace: department\n\
                department: Tools\n\
                -\n";
    let o = t
        .run(
            "ldapmodify",
            &["-x", "-H", &h, "-D", SVC_DN, "-w", SVC_PW],
            Some(ldif),
        )
        .await;
    assert!(o.status.success(), "{}", text(&o));
    let o = t
        .run(
            "ldapwhoami",
            &[
                "-x",
                "-H",
                &h,
                "-D",
                "tooluser@corp.example.test",
                "-w",
                "T00l-Secret",
            ],
            None,
        )
        .await;
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "u:CORP\\tooluser\n",
        "{}",
        text(&o)
    );
    let refused = "dn: CN=Tool User,OU=Sales,OU=Staff,DC=corp,DC=example,DC=test\nchangetype: modify\nadd: memberOf\nmemberOf: CN=Sales Team,OU=Groups,DC=corp,DC=example,DC=test\n-\n";
    let o = t
        .run(
            "ldapmodify",
            &["-x", "-H", &h, "-D", SVC_DN, "-w", SVC_PW],
            Some(refused),
        )
        .await;
    assert_eq!(o.status.code(), Some(53), "{}", text(&o));
    assert!(
        text(&o).contains("Server is unwilling to perform (53)"),
        "{}",
        text(&o)
    );
    dc.shutdown().await;
}
