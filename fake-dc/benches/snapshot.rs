//! Snapshot and restore of the 100,000-user directory through the control API's state
//! (what `POST /snapshots` and `POST /snapshots/{name}/restore` run), and the first
//! write after each, which pays for copying the shared indexes.
//! `cargo bench -p fake-dc --bench snapshot`; prints numbers, asserts nothing.

#![allow(clippy::unwrap_used)] // benches fail loudly on broken fixtures
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_dc::control::{ControlState, DirectoryClock};
use fake_dc::directory::ModOp;
use fake_dc::directory::Modification;
use fake_dc::dn::Dn;
use fake_dc::fixture::{load_file, LoadOptions};
use fake_dc::server::{FakeDc, HostConfig};

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let median = v[v.len() / 2];
    println!(
        "{name:<34} min {:>10}  median {:>10}  max {:>10}  ({} runs)",
        ms(v[0]),
        ms(median),
        ms(v[v.len() - 1]),
        v.len()
    );
}

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/large-100k.yaml");
    let started = Instant::now();
    let mut dir = load_file(&path, LoadOptions::default()).unwrap();
    println!("loaded {} entries in {}", dir.len(), ms(started.elapsed()));
    let clock = DirectoryClock::new(None);
    dir.set_clock(clock.clock());
    let host = dir.domains[0].dc_hosts[0].clone();
    let user = dir
        .of_kind(fake_dc::schema::ObjectKind::User)
        .nth(50_000)
        .unwrap();
    let user_dn = Dn::parse(dir.dn_str(user)).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dc = runtime.block_on(async {
        FakeDc::builder(dir)
            .host(host, HostConfig::loopback())
            .start()
            .await
            .unwrap()
    });
    let state = ControlState::new(Arc::new(dc), clock, "bench".into(), None);
    let write = |i: usize| {
        state.write(|d| {
            let id = d.resolve(&user_dn).unwrap();
            let m = Modification {
                op: ModOp::Replace,
                attr: "description".into(),
                values: vec![format!("run {i}").into_bytes()],
            };
            d.modify(id, &[m], true).unwrap();
        })
    };
    let (mut snap, mut restore, mut first_write, mut next_write) = (vec![], vec![], vec![], vec![]);
    for i in 0..15 {
        let t = Instant::now();
        state.take_snapshot("bench");
        snap.push(t.elapsed());
        write(i);
        let t = Instant::now();
        assert!(state.restore_snapshot("bench").is_some());
        restore.push(t.elapsed());
        let t = Instant::now();
        write(i);
        first_write.push(t.elapsed());
        let t = Instant::now();
        write(i + 1000);
        next_write.push(t.elapsed());
    }
    summary("snapshot (100k entries)", snap);
    summary("restore (100k entries)", restore);
    summary("first write after restore", first_write);
    summary("second write after restore", next_write);
}
