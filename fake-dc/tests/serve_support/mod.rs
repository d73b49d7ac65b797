//! A `fake-dc serve --ready-json` child process and a small HTTP client for its control
//! API, as a test suite in another language would use them: the binary, its stdout line,
//! plain HTTP/1.1 over a socket.
// Each test binary uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The repository's fixtures folder.
pub fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name)
}

/// A running `fake-dc serve` child, killed when dropped.
pub struct Served {
    pub child: Child,
    /// Kept open: the child stops when it closes (`--exit-on-stdin-close`).
    pub stdin: Option<ChildStdin>,
    pub ready: Value,
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `fake-dc serve --ports auto --ready-json --exit-on-stdin-close <fixture>
/// <extra…>` and reads its ready line.
pub fn serve(fixture: &Path, extra: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-dc"))
        .arg("serve")
        .args(["--ports", "auto", "--ready-json", "--exit-on-stdin-close"])
        .args(extra)
        .arg(fixture)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fake-dc");
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut err = child.stderr.take().unwrap();
    let sink = stderr.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
        panic!(
            "no ready line ({e}): {line:?}; stderr: {}",
            stderr.lock().unwrap()
        )
    });
    assert_eq!(ready["ready"], true);
    Served {
        stdin: child.stdin.take(),
        child,
        ready,
        stderr,
    }
}

/// An LDAP connection to `dc1.corp.example.test`'s plain listener, bound as the sync
/// account the fixtures share (`CN=Sync Service,OU=Service Accounts`).
pub async fn bound_as_sync_account(served: &Served) -> ldap3::Ldap {
    let url = format!("ldap://{}", served.addr("dc1.corp.example.test", "ldap"));
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&url).await.unwrap();
    ldap3::drive!(conn);
    ldap.simple_bind(
        "CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test",
        "Sync-Secret-1",
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    ldap
}

impl Served {
    /// The control API's base URL without `http://`.
    fn control_addr(&self) -> String {
        self.ready["control"]["url"]
            .as_str()
            .unwrap()
            .trim_start_matches("http://")
            .to_string()
    }

    /// The bearer token.
    pub fn token(&self) -> String {
        self.ready["control"]["token"].as_str().unwrap().to_string()
    }

    /// A listener of a host, e.g. `("dc1.corp.example.test", "ldap")`.
    pub fn addr(&self, host: &str, service: &str) -> String {
        let hosts = self.ready["hosts"].as_array().unwrap();
        let h = hosts.iter().find(|h| h["name"] == host).unwrap();
        h[service].as_str().unwrap().to_string()
    }

    /// A request with the right token; (status, JSON body or Null).
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let auth = format!("Bearer {}", self.token());
        http(&self.control_addr(), method, path, Some(&auth), body)
    }

    /// A request with the given Authorization header, or none.
    pub fn call_as(&self, auth: Option<&str>, method: &str, path: &str) -> (u16, Value) {
        http(&self.control_addr(), method, path, auth, None)
    }
}

/// One HTTP/1.1 request, `Connection: close`, the whole answer read.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let (head, rest) = answer.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let text = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    let json = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    (status, json)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}
