//! Google Secure LDAP against real clients: OpenLDAP's ldapsearch with a client
//! certificate (LDAPTLS_CERT / LDAPTLS_KEY / LDAPTLS_CACERT) and python-ldap3 from the
//! tests' venv. Both are served, and both are refused without a certificate, with a
//! revoked one, an expired one, and one Google never issued.

// Helpers outside #[test] fns are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

mod serve_support;

use fake_dc::fixture::{self, LoadOptions};
use fake_dc::server::{FakeDc, HostConfig};

const FIXTURE: &str = include_str!("fixtures/google.yaml");
const BASE: &str = "dc=example,dc=com";

struct Google {
    /// Held so the service runs as long as the test needs it.
    _dc: FakeDc,
    /// CA, certificates and keys on disk.
    dir: PathBuf,
    port: u16,
}

impl Google {
    async fn start() -> Google {
        Google::start_with(
            fixture::load_str(FIXTURE, "google.yaml", LoadOptions::default()).unwrap(),
        )
        .await
    }

    async fn start_with(dir: fake_dc::directory::Directory) -> Google {
        let dc = FakeDc::builder(dir)
            .host(
                "dc1.corp.example.test",
                HostConfig {
                    ldaps: Some("127.0.0.1:0".parse().unwrap()),
                    ..HostConfig::default()
                },
            )
            .start()
            .await
            .unwrap();
        let folder = std::env::temp_dir().join(format!(
            "fake-dc-google-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let google = dc.google().expect("the fixture declares a tenant");
        fake_dc::serve::write_google_credentials(google, &folder).unwrap();
        std::fs::write(folder.join("ca.pem"), dc.ca_pem()).unwrap();
        // A certificate and key Google never issued, for the "unknown" case.
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["stranger".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(folder.join("stranger.crt"), cert.pem()).unwrap();
        std::fs::write(folder.join("stranger.key"), key.serialize_pem()).unwrap();
        let port = google.address.port();
        Google {
            _dc: dc,
            dir: folder,
            port,
        }
    }

    /// By address: libldap swaps `localhost` for the machine's own name before checking
    /// the certificate, and the certificate names 127.0.0.1.
    fn url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.port)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Runs an OpenLDAP tool trusting fake-dc's CA, presenting `client`'s certificate
    /// (none when `None`).
    async fn openldap(&self, tool: &str, client: Option<&str>, args: &[&str]) -> Output {
        let mut cmd = Command::new(test_peers::tool(tool));
        cmd.args(args)
            .env("LDAPCONF", "/dev/null")
            .env("LDAPRC", "/dev/null")
            .env("LDAPTLS_CACERT", self.file("ca.pem"))
            .env("LDAPTLS_REQCERT", "demand")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(client) = client {
            cmd.env("LDAPTLS_CERT", self.file(&format!("{client}.crt")))
                .env("LDAPTLS_KEY", self.file(&format!("{client}.key")));
        }
        tokio::task::spawn_blocking(move || {
            cmd.output().unwrap_or_else(|e| {
                panic!(
                    "ldap-utils could not be run ({e}): {}",
                    test_peers::SETUP_HINT
                )
            })
        })
        .await
        .unwrap()
    }

    /// Runs `script` under the venv's Python with python-ldap3; argv: URL port, CA, cert,
    /// key (the last two empty for none).
    async fn python(&self, script: &str, client: Option<&str>) -> Output {
        let (cert, key) = match client {
            Some(c) => (
                self.file(&format!("{c}.crt")).display().to_string(),
                self.file(&format!("{c}.key")).display().to_string(),
            ),
            None => (String::new(), String::new()),
        };
        let mut cmd = Command::new(test_peers::python());
        cmd.arg("-c")
            .arg(script)
            .arg(self.port.to_string())
            .arg(self.file("ca.pem"))
            .arg(cert)
            .arg(key)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }
}

impl Drop for Google {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ldapsearch_args<'a>(url: &'a str, filter: &'a str, attrs: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["-x", "-LLL", "-H", url, "-b", BASE, filter];
    args.extend_from_slice(attrs);
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn ldapsearch_with_a_client_certificate_reads_googles_tree() {
    let g = Google::start().await;
    let url = g.url();
    let o = g
        .openldap(
            "ldapsearch",
            Some("sync"),
            &ldapsearch_args(
                &url,
                "(uid=lisasmith)",
                &[
                    "objectClass",
                    "uid",
                    "googleUid",
                    "mail",
                    "memberOf",
                    "posixUid",
                ],
            ),
        )
        .await;
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "dn: uid=lisasmith,ou=Sales,ou=Staff,ou=Users,dc=example,dc=com\n\
         objectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\n\
         objectClass: inetOrgPerson\nobjectClass: posixAccount\n\
         uid: lisasmith\ngoogleUid: lisasmith\nposixUid: lisasmith_example_com\n\
         mail: lisasmith@example.com\n\
         memberOf: cn=group1,ou=Groups,dc=example,dc=com\n\n"
    );
    // Groups: nested membership as a group DN among the members; people without a
    // Google account (no mail) are not there.
    let o = g
        .openldap(
            "ldapsearch",
            Some("sync"),
            &ldapsearch_args(
                &url,
                "(objectClass=posixGroup)",
                &["cn", "member", "memberUid"],
            ),
        )
        .await;
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "dn: cn=group1,ou=Groups,dc=example,dc=com\ncn: group1\n\
         member: uid=lisasmith,ou=Sales,ou=Staff,ou=Users,dc=example,dc=com\n\
         member: cn=group2,ou=Groups,dc=example,dc=com\nmemberUid: lisasmith\n\n\
         dn: cn=group2,ou=Groups,dc=example,dc=com\ncn: group2\n\
         member: uid=jimsmith,ou=Staff,ou=Users,dc=example,dc=com\nmemberUid: jimsmith\n\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ldapsearch_sasl_external_and_access_credentials() {
    let g = Google::start().await;
    let url = g.url();
    let o = g
        .openldap(
            "ldapsearch",
            Some("sync"),
            &[
                "-Y",
                "EXTERNAL",
                "-LLL",
                "-H",
                &url,
                "-b",
                BASE,
                "(uid=jimsmith)",
                "mail",
            ],
        )
        .await;
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("mail: jimsmith@example.com"),
        "{}",
        text(&o)
    );
    for (password, code) in [("Vpn-Secret-1", Some(0)), ("wrong", Some(49))] {
        let o = g
            .openldap(
                "ldapsearch",
                Some("vpn"),
                &[
                    "-x",
                    "-D",
                    "vpnUser",
                    "-w",
                    password,
                    "-LLL",
                    "-H",
                    &url,
                    "-b",
                    BASE,
                    "(uid=jimsmith)",
                    "uid",
                ],
            )
            .await;
        assert_eq!(o.status.code(), code, "{password}: {}", text(&o));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ldapsearch_is_refused_without_a_good_certificate() {
    let g = Google::start().await;
    let url = g.url();
    for (client, why) in [
        (None, "no client certificate"),
        (Some("revoked-client"), "revoked"),
        (Some("expired-client"), "expired"),
        (Some("stranger"), "not issued by this Secure LDAP service"),
    ] {
        let o = g
            .openldap(
                "ldapsearch",
                client,
                &ldapsearch_args(&url, "(uid=*)", &["uid"]),
            )
            .await;
        assert_eq!(o.status.code(), Some(48), "{client:?}: {}", text(&o));
        let out = text(&o);
        assert!(out.contains("Inappropriate authentication (48)"), "{out}");
        assert!(out.contains(why), "{client:?}: {out}");
        assert!(!out.contains("uid: "), "{client:?} read entries: {out}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_are_refused_with_googles_protocol_error() {
    let g = Google::start().await;
    let url = g.url();
    let ldif = g.file("change.ldif");
    std::fs::write(
        &ldif,
        "dn: uid=jimsmith,ou=Staff,ou=Users,dc=example,dc=com\nchangetype: modify\n\
         replace: sn\nsn: Changed\n",
    )
    .unwrap();
    let o = g
        .openldap(
            "ldapmodify",
            Some("sync"),
            &["-x", "-H", &url, "-f", ldif.to_str().unwrap()],
        )
        .await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("read-only"), "{}", text(&o));
}

/// Reads the tenant page by page with ldap3 and prints what it saw, or the bind's
/// result code when it is refused.
const LDAP3_SCRIPT: &str = r#"
import json, ssl, sys
from ldap3 import Server, Connection, Tls, SUBTREE, MODIFY_REPLACE
port, ca, cert, key = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
tls = Tls(ca_certs_file=ca, validate=ssl.CERT_REQUIRED,
          local_certificate_file=cert or None, local_private_key_file=key or None)
server = Server("localhost", port=int(port), use_ssl=True, tls=tls, get_info=None)
conn = Connection(server)
conn.open()
if not conn.bind():
    print(json.dumps({"bind": conn.result["result"], "message": conn.result["message"]}))
    sys.exit(0)
entries = conn.extend.standard.paged_search(
    "dc=example,dc=com", "(|(objectClass=posixAccount)(objectClass=posixGroup))",
    SUBTREE, attributes=["uid", "cn", "mail", "memberOf", "apple-generateduid"],
    paged_size=1, generator=False)
people = sorted(e["dn"] for e in entries if e["type"] == "searchResEntry")
conn.modify("uid=jimsmith,ou=Staff,ou=Users,dc=example,dc=com", {"sn": [(MODIFY_REPLACE, ["X"])]})
print(json.dumps({"bind": 0, "entries": people, "modify": conn.result["result"]}))
"#;

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

#[tokio::test(flavor = "multi_thread")]
async fn python_ldap3_pages_through_the_tenant_with_its_certificate() {
    let g = Google::start().await;
    let seen = json(&g.python(LDAP3_SCRIPT, Some("sync")).await);
    assert_eq!(seen["bind"], 0, "{seen}");
    assert_eq!(
        seen["entries"],
        serde_json::json!([
            "cn=group1,ou=Groups,dc=example,dc=com",
            "cn=group2,ou=Groups,dc=example,dc=com",
            "uid=jimsmith,ou=Staff,ou=Users,dc=example,dc=com",
            "uid=lisasmith,ou=Sales,ou=Staff,ou=Users,dc=example,dc=com",
        ])
    );
    // Google answers a write with PROTOCOL_ERROR.
    assert_eq!(seen["modify"], 2, "{seen}");
}

#[tokio::test(flavor = "multi_thread")]
async fn python_ldap3_is_refused_without_a_good_certificate() {
    let g = Google::start().await;
    for (client, why) in [
        (None, "no client certificate"),
        (Some("revoked-client"), "revoked"),
        (Some("expired-client"), "expired"),
    ] {
        let seen = json(&g.python(LDAP3_SCRIPT, client).await);
        assert_eq!(seen["bind"], 48, "{client:?}: {seen}");
        assert!(
            seen["message"].as_str().unwrap_or_default().contains(why),
            "{client:?}: {seen}"
        );
    }
}

/// Binds three times in a row (one process, so well inside a second) and prints each
/// bind's result code.
const QUOTA_SCRIPT: &str = r#"
import json, ssl, sys
from ldap3 import Server, Connection, Tls
port, ca, cert, key = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
tls = Tls(ca_certs_file=ca, validate=ssl.CERT_REQUIRED,
          local_certificate_file=cert, local_private_key_file=key)
codes = []
for _ in range(3):
    conn = Connection(Server("localhost", port=int(port), use_ssl=True, tls=tls, get_info=None))
    conn.open()
    conn.bind()
    codes.append(conn.result["result"])
    conn.unbind()
print(json.dumps(codes))
"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_bind_quota_answers_admin_limit_exceeded() {
    let text = FIXTURE.replace(
        "  domain: example.com\n",
        "  domain: example.com\n  bindQuotaPerSecond: 2\n",
    );
    let dir = fixture::load_str(&text, "google.yaml", LoadOptions::default()).unwrap();
    let g = Google::start_with(dir).await;
    let codes = json(&g.python(QUOTA_SCRIPT, Some("sync")).await);
    assert_eq!(codes, serde_json::json!([0, 0, 11]));
}

#[test]
fn a_bad_google_section_names_each_field() {
    let text = FIXTURE
        .replace("domain: example.com", "domain: \"not a domain\"")
        .replace("- { name: sync }", "- { name: sync }\n    - { name: sync }");
    let e = fixture::load_str(&text, "google.yaml", LoadOptions::default()).unwrap_err();
    let out = e.to_string();
    assert!(out.contains("google.domain"), "{out}");
    assert!(out.contains("client 'sync' is declared twice"), "{out}");
    assert!(out.starts_with("google.yaml:"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn fake_dc_serve_reports_the_service_and_writes_the_client_files() {
    let served = serve_support::serve(&serve_support::fixture("google-workspace.yaml"), &[]);
    let google = &served.ready["google"];
    assert_eq!(google["base-dn"], BASE, "{google}");
    let url = google["url"].as_str().unwrap().to_string();
    let client = |name: &str| {
        google["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no client {name} in {google}"))
    };
    let sync = client("sync-client");
    assert_eq!(client("revoked-client")["certificate"], "revoked");
    let cert = PathBuf::from(sync["cert-path"].as_str().unwrap());
    let key = PathBuf::from(sync["key-path"].as_str().unwrap());
    let ca = served.ready["ca"]["path"].as_str().unwrap().to_string();
    let mut cmd = Command::new(test_peers::tool("ldapsearch"));
    cmd.args(["-x", "-LLL", "-H", &url, "-b", BASE, "(uid=alice)", "mail"])
        .env("LDAPCONF", "/dev/null")
        .env("LDAPRC", "/dev/null")
        .env("LDAPTLS_CACERT", &ca)
        .env("LDAPTLS_REQCERT", "demand")
        .env("LDAPTLS_CERT", &cert)
        .env("LDAPTLS_KEY", &key);
    let o = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("mail: alice@example.com"),
        "{}",
        text(&o)
    );
    // The files go with the process.
    let Some(folder) = cert.parent().map(PathBuf::from) else {
        panic!("{cert:?} has no folder")
    };
    let mut served = served;
    drop(served.stdin.take());
    let status = served.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!folder.exists(), "{folder:?} was left behind");
}
