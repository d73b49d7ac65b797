//! The LDAP session target: one in-process fake-dc on the test forest; each input is
//! written to a fresh connection as it is, then the writing half closes. The server must
//! answer with whole LDAP messages and close within a few seconds, never panic (panics in
//! its tasks are caught by tokio, so a panic hook counts them), and afterwards still
//! answer a bind and a rootDSE read on a new connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::Duration;

use fake_dc::fixture::{self, LoadOptions};
use fake_dc::policy::QueryPolicy;
use fake_dc::server::{FakeDc, HostConfig, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

use super::ber::{check_responses, Tlv};

const FIXTURE: &str = include_str!("../fixtures/forest.yaml");
const HOST: &str = "dc1.corp.example.test";
pub const SVC_DN: &str = "CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test";
pub const SVC_PW: &str = "Sync-Secret-1";

/// How long the server may take to answer an input and close after the client's EOF.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

static PANICS: AtomicUsize = AtomicUsize::new(0);
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());
static HOOK: Once = Once::new();

/// The server runtime's threads (workers and blocking pool), so the hook counts only the
/// server's panics, not those of other fuzz targets running in the same process.
const SERVER_THREADS: &str = "fuzz-dc";

/// Counts every panic on the server's threads (then runs the hook that was there before).
fn count_panics() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(SERVER_THREADS) {
                if let Ok(mut last) = LAST_PANIC.lock() {
                    *last = info.to_string();
                }
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

/// Searches stop well inside [`ANSWER_WITHIN`] (timeLimitExceeded), so a slow but legal
/// input on a loaded machine is not taken for a stalled server.
fn options() -> ServerOptions {
    ServerOptions {
        policy: QueryPolicy {
            max_query_duration: Duration::from_secs(2),
            ..QueryPolicy::default()
        },
        ..ServerOptions::default()
    }
}

pub struct Session {
    runtime: Runtime,
    dc: Option<FakeDc>,
    addr: SocketAddr,
}

impl Session {
    pub fn start() -> Session {
        count_panics();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(SERVER_THREADS)
            .enable_all()
            .build()
            .expect("runtime");
        let directory = fixture::load_str(
            FIXTURE,
            "forest.yaml",
            LoadOptions {
                fixed_time: Some(1_795_300_000),
            },
        )
        .expect("the test forest loads");
        let dc = runtime
            .block_on(
                FakeDc::builder(directory)
                    .host(HOST, HostConfig::loopback())
                    .options(options())
                    .start(),
            )
            .expect("fake DC starts");
        let addr = dc
            .addresses(HOST)
            .and_then(|a| a.ldap)
            .expect("an LDAP listener");
        Session {
            runtime,
            dc: Some(dc),
            addr,
        }
    }

    /// Sends one input and checks the server's behaviour; returns an outcome label (the
    /// protocolOps answered) for the mutation loop's feedback.
    pub fn check(&self, input: &[u8]) -> String {
        let before = PANICS.load(Ordering::SeqCst);
        let addr = self.addr;
        let answer = self.runtime.block_on(async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            // The server may close before taking everything (e.g. at a malformed frame).
            let _ = stream.write_all(input).await;
            let _ = stream.shutdown().await;
            let mut out = Vec::new();
            let read = tokio::time::timeout(ANSWER_WITHIN, read_all(&mut stream, &mut out)).await;
            (read, out)
        });
        let (read, out) = answer;
        let Ok(reset) = read else {
            panic!(
                "the server neither closed nor stopped writing within {ANSWER_WITHIN:?} (wrote {} bytes)",
                out.len()
            );
        };
        // A server that closes with part of the input unread (after a malformed frame,
        // say) makes the kernel reset the connection, and a reset drops whatever the
        // client had not read yet: then only the last message may be cut off. (Found by
        // this target: fake-dc closes without draining the rest of the input.)
        let ops = check_responses(&out, reset).unwrap_or_else(|e| {
            panic!(
                "malformed answer ({e}): {:02x?}",
                &out[..out.len().min(256)]
            )
        });
        self.still_serves();
        let after = PANICS.load(Ordering::SeqCst);
        if after != before {
            let last = LAST_PANIC.lock().map(|l| l.clone()).unwrap_or_default();
            panic!("the server panicked on this input: {last}");
        }
        let mut kinds: Vec<u8> = ops.iter().map(|(_, op)| *op).collect();
        kinds.dedup();
        kinds.truncate(6);
        format!("{kinds:?}")
    }

    /// A normal client still gets a bind answer and a rootDSE entry.
    fn still_serves(&self) {
        let addr = self.addr;
        let ops = self.runtime.block_on(async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect after input");
            let mut request = bind(1, SVC_DN, SVC_PW);
            request.extend(root_dse(2));
            request.extend(unbind(3));
            stream.write_all(&request).await.expect("write after input");
            let mut out = Vec::new();
            tokio::time::timeout(Duration::from_secs(5), read_all(&mut stream, &mut out))
                .await
                .expect("the server answers a normal client after the input");
            check_responses(&out, false).expect("a normal client's answers are well formed")
        });
        let has = |id: i64, op: u8| ops.contains(&(id, op));
        assert!(has(1, 1), "no bindResponse for a normal client: {ops:?}");
        assert!(
            has(2, 4) && has(2, 5),
            "no rootDSE for a normal client: {ops:?}"
        );
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(dc) = self.dc.take() {
            self.runtime.block_on(dc.shutdown());
        }
    }
}

/// Reads until the server closes; `true` when it ended in a reset rather than EOF.
async fn read_all(stream: &mut TcpStream, out: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => return false,
            Err(_) => return true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

fn message(id: u8, op: Tlv) -> Vec<u8> {
    Tlv::constructed(0x30, vec![Tlv::primitive(0x02, &[id]), op]).to_bytes()
}

/// A simple bindRequest (LDAPv3).
pub fn bind(id: u8, dn: &str, password: &str) -> Vec<u8> {
    message(
        id,
        Tlv::constructed(
            0x60,
            vec![
                Tlv::primitive(0x02, &[3]),
                Tlv::primitive(0x04, dn.as_bytes()),
                Tlv::primitive(0x80, password.as_bytes()),
            ],
        ),
    )
}

/// A base search of the rootDSE for `(objectClass=*)`.
pub fn root_dse(id: u8) -> Vec<u8> {
    search(id, "", 0, Tlv::primitive(0x87, b"objectClass"), &[], vec![])
}

/// A searchRequest with the given scope, filter, attributes and controls.
pub fn search(
    id: u8,
    base: &str,
    scope: u8,
    filter: Tlv,
    attrs: &[&str],
    controls: Vec<Tlv>,
) -> Vec<u8> {
    let op = Tlv::constructed(
        0x63,
        vec![
            Tlv::primitive(0x04, base.as_bytes()),
            Tlv::primitive(0x0a, &[scope]),
            Tlv::primitive(0x0a, &[0]),
            Tlv::primitive(0x02, &[0]),
            Tlv::primitive(0x02, &[0]),
            Tlv::primitive(0x01, &[0]),
            filter,
            Tlv::constructed(
                0x30,
                attrs
                    .iter()
                    .map(|a| Tlv::primitive(0x04, a.as_bytes()))
                    .collect(),
            ),
        ],
    );
    let mut children = vec![Tlv::primitive(0x02, &[id]), op];
    if !controls.is_empty() {
        children.push(Tlv::constructed(0xa0, controls));
    }
    Tlv::constructed(0x30, children).to_bytes()
}

pub fn unbind(id: u8) -> Vec<u8> {
    message(id, Tlv::primitive(0x42, &[]))
}
