//! The watermark is taken before the searches: a change committed while a delta run
//! reads is read by the next run, never lost. A proxy between the stack and fake-dc
//! commits the change at an exact point, with no timing involved: when the run sends its
//! fifth LDAP message (bind, rootDSE, tombstones and changes have been answered), before
//! forwarding it. A delta run planted to take its watermark after the searches loses the
//! change, and the same check says so.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use fake_dc::dn::{Dn, Rdn};
use fake_dc::schema::ObjectKind;
use futures::future::BoxFuture;
use reference_stack::account::Account;
use reference_stack::address::Address;
use reference_stack::delta::DeltaState;
use reference_stack::report::SyncMethod;
use reference_stack::resolve::Resolver;
use reference_stack::settings::{AccountSettings, ConnectorSettings};
use reference_stack::stack::{run_delta_sync, DeltaSyncOutcome, SyncEnvironment};
use reference_stack::testing::dc::{LiveDc, DC1};
use reference_stack::testing::model::Directory;
use reference_stack::testing::planted::delta_sync_with_late_watermark;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// The message (1-based) of the second run's first connection before which the change is
/// committed. Connections are counted, not armed from the test, because a run's last
/// message (its unbind) may reach the proxy after the run has returned.
const COMMIT_BEFORE_MESSAGE: usize = 5;

/// A forwarding proxy to `upstream`. Before forwarding [`COMMIT_BEFORE_MESSAGE`] of
/// connection `commit_on_connection` (1-based), it sends a sender on the returned channel and
/// waits for the test to answer on it.
async fn proxy(
    upstream: SocketAddr,
    commit_on_connection: usize,
) -> (SocketAddr, mpsc::UnboundedReceiver<oneshot::Sender<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut connections = 0;
        while let Ok((client, _)) = listener.accept().await {
            connections += 1;
            let armed = connections == commit_on_connection;
            let Ok(server) = TcpStream::connect(upstream).await else {
                continue;
            };
            let (mut from_client, mut to_client) = client.into_split();
            let (mut from_server, to_server) = server.into_split();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
            });
            let tx = tx.clone();
            tokio::spawn(async move {
                let _ = forward(&mut from_client, to_server, armed, tx).await;
            });
        }
    });
    (address, rx)
}

/// The length of the first complete BER element in `buffer`, if there is one.
fn element_length(buffer: &[u8]) -> Option<usize> {
    let first = *buffer.get(1)?;
    let (header, length) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let n = usize::from(first & 0x7f);
        let bytes = buffer.get(2..2 + n)?;
        let length = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (2 + n, length)
    };
    (buffer.len() >= header + length).then_some(header + length)
}

async fn forward(
    from_client: &mut tokio::net::tcp::OwnedReadHalf,
    mut to_server: tokio::net::tcp::OwnedWriteHalf,
    armed: bool,
    trigger: mpsc::UnboundedSender<oneshot::Sender<()>>,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut messages = 0;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = from_client.read(&mut chunk).await?;
        if n == 0 {
            return to_server.shutdown().await;
        }
        buffer.extend_from_slice(&chunk[..n]);
        while let Some(length) = element_length(&buffer) {
            messages += 1;
            if armed && messages == COMMIT_BEFORE_MESSAGE {
                let (done, wait) = oneshot::channel();
                if trigger.send(done).is_ok() {
                    let _ = wait.await;
                }
            }
            let message: Vec<u8> = buffer.drain(..length).collect();
            to_server.write_all(&message).await?;
        }
    }
}

type DeltaSync = for<'a> fn(
    &'a SyncEnvironment,
    &'a ConnectorSettings,
    &'a AccountSettings,
    &'a Account,
    Option<&'a DeltaState>,
) -> BoxFuture<'a, DeltaSyncOutcome>;

fn real<'a>(
    env: &'a SyncEnvironment,
    connector: &'a ConnectorSettings,
    settings: &'a AccountSettings,
    account: &'a Account,
    state: Option<&'a DeltaState>,
) -> BoxFuture<'a, DeltaSyncOutcome> {
    Box::pin(run_delta_sync(env, connector, settings, account, state))
}

fn late_watermark<'a>(
    env: &'a SyncEnvironment,
    connector: &'a ConnectorSettings,
    settings: &'a AccountSettings,
    account: &'a Account,
    state: Option<&'a DeltaState>,
) -> BoxFuture<'a, DeltaSyncOutcome> {
    Box::pin(delta_sync_with_late_watermark(
        env, connector, settings, account, state,
    ))
}

/// Three delta runs; a user is created in the middle of the second. Returns whether
/// the second and the third run's accounts hold the user.
/// `connections_per_run` is how many connections one run opens.
async fn late_comer_seen(delta: DeltaSync, connections_per_run: usize) -> (bool, bool) {
    let live = LiveDc::start(&Directory::default()).await.unwrap();
    let upstream = live.dc.addresses(DC1).and_then(|a| a.ldap).unwrap();
    let (address, mut trigger) = proxy(upstream, connections_per_run + 1).await;
    let mut resolver = Resolver::pinned();
    resolver.pin(DC1, 389, address);
    let env = SyncEnvironment::new(resolver, Vec::new(), SyncMethod::DirectoryConnector);
    let mut connector = live.connector();
    connector.secondary_host = None;
    let settings: AccountSettings =
        serde_yaml::from_str("region: europe\ndomains: [corp.test]").unwrap();
    let late = Address::parse("late.comer@corp.test").unwrap();

    let first = delta(&env, &connector, &settings, &Account::default(), None).await;
    assert!(first.sync.report.errors.is_empty(), "{}", first.sync.report);
    let second = delta(
        &env,
        &connector,
        &settings,
        &first.sync.account,
        first.state.as_ref(),
    );
    let commit = async {
        let done = tokio::time::timeout(Duration::from_secs(20), trigger.recv())
            .await
            .expect("the second run sent a fifth message")
            .unwrap();
        live.dc
            .with_directory(|d| {
                let users = d.resolve(&Dn::parse("CN=Users,DC=corp,DC=test").unwrap())?;
                let user = fake_dc::directory::NewEntry::new(
                    users,
                    Rdn::new("CN", "Late Comer"),
                    ObjectKind::User,
                )
                .with("sAMAccountName", &["latecomer"])
                .with("mail", &["late.comer@corp.test"]);
                d.create(user).map(|_| ())
            })
            .unwrap();
        done.send(()).unwrap();
    };
    let (second, ()) = tokio::join!(second, commit);
    assert!(
        second.sync.report.errors.is_empty(),
        "{}",
        second.sync.report
    );
    let third = delta(
        &env,
        &connector,
        &settings,
        &second.sync.account,
        second.state.as_ref(),
    )
    .await;
    assert!(third.sync.report.errors.is_empty(), "{}", third.sync.report);
    live.shutdown().await;
    (
        second.sync.account.users.contains_key(&late),
        third.sync.account.users.contains_key(&late),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_change_made_while_a_delta_run_reads_is_read_by_the_next_run() {
    let (second, third) = runtime().block_on(late_comer_seen(real, 1));
    assert!(
        !second,
        "committed after the change search: not this run's to see"
    );
    assert!(third, "the next run reads it: the watermark predates it");
}

#[test]
fn a_delta_that_takes_its_watermark_late_is_caught() {
    // The late watermark is read on a connection of its own after each run.
    let (second, third) = runtime().block_on(late_comer_seen(late_watermark, 2));
    assert!(!second);
    assert!(
        !third,
        "a watermark taken after the change lies above it: lost"
    );
}
