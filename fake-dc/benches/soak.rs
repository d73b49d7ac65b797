//! Soak: 1,000 concurrent connections against fake-dc serving the 100,000-user fixture
//! (fixtures/large-100k.yaml), held for a minute, with the server's resident memory
//! sampled before, during and after they close.
//!
//! ```text
//! cargo bench -p fake-dc --bench soak
//! SOAK_SECS=300 SOAK_CONNS=2000 cargo bench -p fake-dc --bench soak
//! ```
//! The server runs as a child process (the `fake-dc serve` binary of the same build), so
//! its VmRSS is the server's alone; the clients speak raw BER over loopback from this
//! process. A quarter of the connections each: idle (connect and wait), binding (a simple
//! bind every 200 ms), searching (bind, then an indexed `mail` equality every 200 ms),
//! paging (bind, then a paged subtree read of the 100,000 users, 100 a page every 500 ms,
//! released after 20 pages and started again, so cookies come and go).
//!
//! `SOAK_KINDS=paging` (or any comma-separated subset) runs only those kinds.
//! `SOAK_ROUNDS=2` repeats the load on the same server: memory that grows again in the
//! second round is a leak, memory that stays flat is the allocator keeping freed pages.
//!
//! Needs about two file descriptors per connection in this process and one in the server:
//! raise the limit first if it is low (`ulimit -n 4096`). Bounded: `SOAK_SECS` (default 60)
//! of load, `SOAK_SETTLE` (default 20) seconds of sampling after the close, every request
//! with a 30 s timeout. Not run by `cargo test`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/large-100k.yaml");
const SVC_DN: &str = "CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test";
const SVC_PW: &str = "Sync-Secret-1";
const PEOPLE: &str = "OU=People,DC=corp,DC=example,DC=test";
const PAGED_OID: &[u8] = b"1.2.840.113556.1.4.319";
const TIMEOUT: Duration = Duration::from_secs(30);

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---- BER, just enough for these requests and their answers ----

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

fn int(n: u32) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let mut skip = bytes.iter().take_while(|b| **b == 0).count().min(3);
    if bytes[skip] & 0x80 != 0 {
        skip -= 1;
    }
    tlv(0x02, &bytes[skip..])
}

fn message(id: u32, op: Vec<u8>, controls: Option<Vec<u8>>) -> Vec<u8> {
    let mut body = [int(id), op].concat();
    if let Some(c) = controls {
        body.extend(tlv(0xa0, &c));
    }
    tlv(0x30, &body)
}

fn bind(id: u32) -> Vec<u8> {
    let op = [
        int(3),
        tlv(0x04, SVC_DN.as_bytes()),
        tlv(0x80, SVC_PW.as_bytes()),
    ]
    .concat();
    message(id, tlv(0x60, &op), None)
}

fn search(
    id: u32,
    base: &str,
    filter: Vec<u8>,
    attrs: &[&str],
    paged: Option<(u32, &[u8])>,
) -> Vec<u8> {
    let attrs: Vec<u8> = attrs.iter().flat_map(|a| tlv(0x04, a.as_bytes())).collect();
    let op = [
        tlv(0x04, base.as_bytes()),
        tlv(0x0a, &[2]),
        tlv(0x0a, &[0]),
        int(0),
        int(0),
        tlv(0x01, &[0]),
        filter,
        tlv(0x30, &attrs),
    ]
    .concat();
    let controls = paged.map(|(size, cookie)| {
        let value = tlv(0x30, &[int(size), tlv(0x04, cookie)].concat());
        tlv(0x30, &[tlv(0x04, PAGED_OID), tlv(0x04, &value)].concat())
    });
    message(id, tlv(0x63, &op), controls)
}

fn equality(attr: &str, value: &str) -> Vec<u8> {
    tlv(
        0xa3,
        &[tlv(0x04, attr.as_bytes()), tlv(0x04, value.as_bytes())].concat(),
    )
}

fn present(attr: &str) -> Vec<u8> {
    tlv(0x87, attr.as_bytes())
}

/// (tag, content start, content end) of the TLV at `pos`.
fn header(bytes: &[u8], pos: usize) -> Option<(u8, usize, usize)> {
    let tag = *bytes.get(pos)?;
    let first = *bytes.get(pos + 1)?;
    let (start, len) = if first < 0x80 {
        (pos + 2, first as usize)
    } else {
        let n = (first & 0x7f) as usize;
        let len = (0..n).try_fold(0usize, |acc, i| {
            Some((acc << 8) | *bytes.get(pos + 2 + i)? as usize)
        })?;
        (pos + 2 + n, len)
    };
    Some((tag, start, start + len))
}

/// The children of the constructed TLV spanning `start..end`.
fn children(bytes: &[u8], start: usize, end: usize) -> Vec<(u8, usize, usize)> {
    let mut out = Vec::new();
    let mut pos = start;
    while pos < end {
        let Some(h) = header(bytes, pos) else { break };
        out.push(h);
        pos = h.2;
    }
    out
}

/// One LDAPMessage: its protocolOp tag, result code (for responses that carry one) and
/// the paged-results cookie among its controls.
struct Reply {
    op: u8,
    code: Option<u8>,
    cookie: Option<Vec<u8>>,
}

fn reply(msg: &[u8]) -> Option<Reply> {
    let (_, start, end) = header(msg, 0)?;
    let parts = children(msg, start, end);
    let &(op, op_start, op_end) = parts.get(1)?;
    let code = children(msg, op_start, op_end)
        .first()
        .filter(|c| c.0 == 0x0a && c.2 == c.1 + 1)
        .map(|c| msg[c.1]);
    let mut cookie = None;
    if let Some(&(_, cs, ce)) = parts.iter().find(|p| p.0 == 0xa0) {
        for (_, s, e) in children(msg, cs, ce) {
            let fields = children(msg, s, e);
            if fields.first().is_some_and(|f| &msg[f.1..f.2] == PAGED_OID) {
                let value = fields.last()?;
                let (_, vs, ve) = header(msg, value.1)?;
                let inner = children(msg, vs, ve);
                cookie = inner.get(1).map(|c| msg[c.1..c.2].to_vec());
            }
        }
    }
    Some(Reply { op, code, cookie })
}

/// A connection that reads whole messages.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    next_id: u32,
}

impl Conn {
    async fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        Ok(Conn {
            stream: TcpStream::connect(addr).await?,
            buf: Vec::new(),
            next_id: 1,
        })
    }

    fn id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    /// The next whole message, as bytes.
    async fn read_raw(&mut self) -> std::io::Result<Vec<u8>> {
        loop {
            if let Some((_, _, end)) = header(&self.buf, 0).filter(|h| h.2 <= self.buf.len()) {
                return Ok(self.buf.drain(..end).collect());
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::Error::other("server closed the connection"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn read(&mut self) -> std::io::Result<Reply> {
        let msg = self.read_raw().await?;
        reply(&msg).ok_or_else(|| std::io::Error::other("unreadable message"))
    }

    /// Sends a request and reads up to the reply with one of `done` ops; returns it and
    /// how many entries came before it.
    async fn call(&mut self, request: &[u8], done: u8) -> std::io::Result<(Reply, u64)> {
        tokio::time::timeout(TIMEOUT, async {
            self.stream.write_all(request).await?;
            let mut entries = 0;
            loop {
                let r = self.read().await?;
                match r.op {
                    op if op == done => return Ok((r, entries)),
                    0x64 => entries += 1,
                    _ => {}
                }
            }
        })
        .await
        .map_err(|_| std::io::Error::other("timed out"))?
    }

    async fn bind(&mut self) -> std::io::Result<()> {
        let id = self.id();
        let (r, _) = self.call(&bind(id), 0x61).await?;
        match r.code {
            Some(0) => Ok(()),
            code => Err(std::io::Error::other(format!("bind refused: {code:?}"))),
        }
    }
}

// ---- the server process and its memory ----

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fake-dc"))
            .args([
                "serve",
                FIXTURE,
                "--ldap",
                "127.0.0.1:0",
                "--fixed-time",
                "1795300000",
            ])
            // A log line per operation would cost the server more than the operation.
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start fake-dc serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut addr = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read fake-dc's output");
            if let Some(a) = line.split("ldap listening on ").nth(1) {
                addr = Some(a.trim().parse().expect("listener address"));
                break;
            }
        }
        Server {
            child,
            addr: addr.expect("fake-dc printed its LDAP address"),
        }
    }

    /// (VmRSS, VmHWM) in MiB, and open file descriptors.
    fn memory(&self) -> (f64, f64, usize) {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .map_or(f64::NAN, |kb| kb / 1024.0)
        };
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
        (field("VmRSS:"), field("VmHWM:"), fds)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- the clients ----

#[derive(Default)]
struct Counts {
    binds: AtomicU64,
    searches: AtomicU64,
    pages: AtomicU64,
    errors: AtomicU64,
    connected: AtomicU64,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Idle,
    Binding,
    Searching,
    Paging,
}

async fn client(
    kind: Kind,
    n: usize,
    addr: SocketAddr,
    mails: Arc<Vec<String>>,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
) {
    let Ok(mut conn) = Conn::open(addr).await else {
        counts.errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    counts.connected.fetch_add(1, Ordering::Relaxed);
    let result: std::io::Result<()> = async {
        if !matches!(kind, Kind::Idle | Kind::Binding) {
            conn.bind().await?;
        }
        let mut pick = n;
        let mut cookie: Vec<u8> = Vec::new();
        let mut pages = 0;
        while !stop.load(Ordering::Relaxed) {
            match kind {
                Kind::Idle => tokio::time::sleep(Duration::from_millis(200)).await,
                Kind::Binding => {
                    conn.bind().await?;
                    counts.binds.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Kind::Searching => {
                    pick = (pick * 7919 + 13) % mails.len();
                    let id = conn.id();
                    let req = search(
                        id,
                        "DC=corp,DC=example,DC=test",
                        equality("mail", &mails[pick]),
                        &["cn", "mail"],
                        None,
                    );
                    let (r, entries) = conn.call(&req, 0x65).await?;
                    if r.code != Some(0) || entries != 1 {
                        return Err(std::io::Error::other(format!(
                            "search: code {:?}, {entries} entries",
                            r.code
                        )));
                    }
                    counts.searches.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Kind::Paging => {
                    // Page size 0 with the cookie releases the search (RFC 2696).
                    let size = if pages == 20 { 0 } else { 100 };
                    let id = conn.id();
                    let req = search(
                        id,
                        PEOPLE,
                        present("objectClass"),
                        &["cn", "mail"],
                        Some((size, &cookie)),
                    );
                    let (r, _) = conn.call(&req, 0x65).await?;
                    if r.code != Some(0) {
                        return Err(std::io::Error::other(format!(
                            "paged search: code {:?}",
                            r.code
                        )));
                    }
                    cookie = r.cookie.unwrap_or_default();
                    pages += 1;
                    if size == 0 || cookie.is_empty() {
                        cookie.clear();
                        pages = 0;
                    }
                    counts.pages.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        if counts.errors.fetch_add(1, Ordering::Relaxed) < 5 {
            eprintln!("{kind:?} client {n}: {e}");
        }
    }
}

/// Mail addresses of the first thousand users, for the searching clients.
async fn mails(addr: SocketAddr) -> Vec<String> {
    let mut conn = Conn::open(addr).await.expect("connect");
    conn.bind().await.expect("bind");
    let id = conn.id();
    let req = search(id, PEOPLE, present("mail"), &["mail"], Some((1000, b"")));
    conn.stream.write_all(&req).await.expect("write");
    let mut out = Vec::new();
    loop {
        let msg = conn.read_raw().await.expect("read");
        let r = reply(&msg).expect("reply");
        if r.op == 0x65 {
            break;
        }
        if r.op == 0x64 {
            // The attribute type `mail` as an OCTET STRING, then its SET of values.
            let at = msg
                .windows(6)
                .rposition(|w| w == b"\x04\x04mail")
                .expect("mail attribute");
            let (_, s, e) = header(&msg, at + 6).expect("value set");
            let (_, vs, ve) = header(&msg, s).filter(|_| e > s).expect("value");
            out.push(String::from_utf8_lossy(&msg[vs..ve]).into_owned());
        }
    }
    out
}

fn report(label: &str, server: &Server, start: Instant) {
    let (rss, hwm, fds) = server.memory();
    println!(
        "{:>6.1} s  {label:<28} VmRSS {rss:>7.1} MiB  (peak {hwm:>7.1} MiB)  fds {fds}",
        start.elapsed().as_secs_f64()
    );
}

/// The kinds of client to spread the connections over: `SOAK_KINDS`, a comma-separated
/// subset of idle, binding, searching, paging (default all four), to see what each costs.
fn kinds() -> Vec<Kind> {
    let all = [Kind::Idle, Kind::Binding, Kind::Searching, Kind::Paging];
    let wanted = std::env::var("SOAK_KINDS")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let picked: Vec<Kind> = all
        .into_iter()
        .filter(|k| wanted.is_empty() || wanted.contains(&format!("{k:?}").to_ascii_lowercase()))
        .collect();
    assert!(!picked.is_empty(), "SOAK_KINDS names no kind: {wanted}");
    picked
}

/// One round: `conns` clients for `secs` seconds, closed, then `settle` seconds of samples.
/// Returns the peak and the last VmRSS sampled, and the descriptors left open.
async fn round(
    server: &Server,
    mails: &Arc<Vec<String>>,
    (conns, secs, settle): (usize, u64, u64),
    start: Instant,
) -> (f64, f64, usize) {
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let kinds = kinds();
    let mut tasks = Vec::new();
    for n in 0..conns {
        let kind = kinds[n % kinds.len()];
        tasks.push(tokio::spawn(client(
            kind,
            n,
            server.addr,
            mails.clone(),
            counts.clone(),
            stop.clone(),
        )));
        if n % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut peak = server.memory().0;
    let load_end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < load_end {
        tokio::time::sleep(
            Duration::from_secs(5).min(load_end.saturating_duration_since(Instant::now())),
        )
        .await;
        peak = peak.max(server.memory().0);
        report(
            &format!("{} connected", counts.connected.load(Ordering::Relaxed)),
            server,
            start,
        );
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    report("clients closed", server, start);
    let settle_end = Instant::now() + Duration::from_secs(settle);
    let (mut after, _, mut fds) = server.memory();
    while Instant::now() < settle_end {
        tokio::time::sleep(Duration::from_secs(2)).await;
        (after, _, fds) = server.memory();
        report("after", server, start);
    }
    let c = &counts;
    println!(
        "{conns} connections for {secs} s: {} binds, {} searches, {} pages, {} errors",
        c.binds.load(Ordering::Relaxed),
        c.searches.load(Ordering::Relaxed),
        c.pages.load(Ordering::Relaxed),
        c.errors.load(Ordering::Relaxed)
    );
    (peak, after, fds)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let conns = env_u64("SOAK_CONNS", 1_000) as usize;
    let secs = env_u64("SOAK_SECS", 60);
    let settle = env_u64("SOAK_SETTLE", 20);
    let rounds = env_u64("SOAK_ROUNDS", 1).max(1);
    let t0 = Instant::now();
    let server = Server::start();
    println!(
        "fake-dc serving {FIXTURE} on {} (loaded in {:.1?})",
        server.addr,
        t0.elapsed()
    );
    let mails = Arc::new(mails(server.addr).await);
    assert!(!mails.is_empty(), "no mail addresses found");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let start = Instant::now();
    let (before, _, fds_before) = server.memory();
    report("before", &server, start);
    // A second round tells a leak (growing again) from memory the allocator keeps for
    // reuse after the first (flat).
    for r in 1..=rounds {
        let (peak, after, fds) = round(&server, &mails, (conns, secs, settle), start).await;
        println!(
            "round {r}: server VmRSS before {before:.1} MiB, peak sampled {peak:.1} MiB (+{:.1}), after {after:.1} MiB (+{:.1}); fds before {fds_before}, after {fds}\n",
            peak - before,
            after - before
        );
    }
}
