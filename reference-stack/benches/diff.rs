//! How long the diff takes on large directories: `plan` and `apply` on N directory
//! objects (mostly users, some groups and contacts) against an account already in step
//! with them, after 1% of the objects changed (adds, removals, attribute, alias and
//! membership changes).
//!
//! Run with `cargo bench -p reference-stack --bench diff`; `DIFF_BENCH_SIZES=1000000` picks the
//! sizes (comma-separated), `DIFF_BENCH_REPEAT` the timed runs per size (the fastest is
//! reported). Prints each size's times and the cost per object, so linear growth shows
//! as a flat per-object column. Target: under 1 s for plan + apply at 1M.
//!
//! Times are wall-clock: the planner walks a large snapshot on two threads. The CPU
//! time of all threads is printed next to the total; on a machine shared with other
//! work, compare the two (and run more repeats) before trusting a wall time.

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::time::{Duration, Instant};

use reference_stack::account::Account;
use reference_stack::address::Address;
use reference_stack::apply::{apply_owned, plan, sync};
use reference_stack::guid::Guid;
use reference_stack::settings::{AccountSettings, Region};
use reference_stack::snapshot::{DirContact, DirGroup, DirUser, DirectorySnapshot, GroupKind};

/// Sizes measured when `DIFF_BENCH_SIZES` is not set.
const SIZES: [usize; 4] = [100_000, 250_000, 500_000, 1_000_000];

/// Timed repetitions per size; the fastest is reported (the others only add noise from
/// the allocator and the machine).
const REPEAT: usize = 3;

/// Members per group: a sales team, not "all staff".
const GROUP_SIZE: usize = 25;

/// Object `n`'s GUID. Real objectGUIDs are random (version 4), so GUID order has
/// nothing to do with the order objects were made in, or with address order.
fn guid(n: usize) -> Guid {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&splitmix(n as u64).to_le_bytes());
    bytes[8..].copy_from_slice(&splitmix(!(n as u64)).to_le_bytes());
    Guid(bytes)
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn address(text: &str) -> Address {
    match Address::parse(text) {
        Ok(address) => address,
        Err(error) => panic!("benchmark address {text}: {error}"),
    }
}

fn user(n: usize) -> DirUser {
    DirUser {
        guid: guid(n),
        dn: format!("CN=User {n},OU=Staff,DC=corp,DC=test"),
        primary: address(&format!("user{n}@corp.test")),
        aliases: BTreeSet::from([address(&format!("u{n}@corp.test"))]),
        disabled: n.is_multiple_of(50),
        attributes: BTreeMap::from([("department".to_owned(), vec![format!("Dept {}", n % 40)])]),
    }
}

/// `objects` directory objects: 1% groups, 5% contacts, the rest users; group `g`
/// holds a run of [`GROUP_SIZE`] users.
fn directory(objects: usize) -> DirectorySnapshot {
    let groups = objects / 100;
    let contacts = objects / 20;
    let users = objects - groups - contacts;
    let mut snapshot = DirectorySnapshot::default();
    for n in 0..users {
        snapshot.users.insert(guid(n), user(n));
    }
    for c in 0..contacts {
        let n = users + c;
        snapshot.contacts.insert(
            guid(n),
            DirContact {
                guid: guid(n),
                dn: format!("CN=Partner {c},OU=Contacts,DC=corp,DC=test"),
                name: format!("Partner {c}"),
                primary: address(&format!("partner{c}@partner.test")),
                aliases: BTreeSet::new(),
            },
        );
    }
    for g in 0..groups {
        let n = users + contacts + g;
        let first = (g * GROUP_SIZE) % users.max(1);
        snapshot.groups.insert(
            guid(n),
            DirGroup {
                guid: guid(n),
                dn: format!("CN=Team {g},OU=Groups,DC=corp,DC=test"),
                name: format!("Team {g}"),
                kind: GroupKind::Group,
                address: Some(address(&format!("team{g}@corp.test"))),
                members: (first..first + GROUP_SIZE)
                    .map(|m| guid(m % users))
                    .collect(),
            },
        );
    }
    snapshot
}

/// Changes 1% of the objects, a quarter each: new users, deleted users, users with a
/// new department and alias (and every tenth also disabled), and group membership
/// edits.
fn one_percent_changed(mut snapshot: DirectorySnapshot, objects: usize) -> DirectorySnapshot {
    let quarter = (objects / 400).max(1);
    let users: Vec<Guid> = snapshot.users.keys().copied().collect();
    let stride = (users.len() / quarter).max(1);
    for k in 0..quarter {
        let n = objects + k;
        snapshot.users.insert(guid(n), user(n));
    }
    for k in 0..quarter {
        if let Some(gone) = users.get(k * stride) {
            snapshot.users.remove(gone);
        }
    }
    for k in 0..quarter {
        if let Some(changed) = users
            .get(k * stride + stride / 2)
            .and_then(|guid| snapshot.users.get_mut(guid))
        {
            changed
                .attributes
                .insert("department".to_owned(), vec!["Moved".to_owned()]);
            changed
                .aliases
                .insert(address(&format!("new{k}@corp.test")));
            if k.is_multiple_of(10) {
                changed.disabled = !changed.disabled;
            }
        }
    }
    let groups: Vec<Guid> = snapshot.groups.keys().copied().collect();
    for k in 0..quarter {
        let Some(group) = groups
            .get(k % groups.len().max(1))
            .and_then(|guid| snapshot.groups.get_mut(guid))
        else {
            continue;
        };
        if k.is_multiple_of(2) {
            group.members.pop_first();
        } else if let Some(user) = users.get((k * 7919) % users.len()) {
            group.members.insert(*user);
        }
    }
    snapshot
}

/// `value` as it arrives where apply runs: the account loaded from storage, the
/// snapshot decoded from the agent's transfer payload. Both then lie in memory in key
/// order, as they do in a real run (the connector's transform also builds the snapshot
/// in GUID order); values built by this file's loops would lie in creation order.
fn reloaded<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T) -> T {
    let text = match serde_json::to_string(value) {
        Ok(text) => text,
        Err(error) => panic!("benchmark data does not serialize: {error}"),
    };
    match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(error) => panic!("benchmark data does not deserialize: {error}"),
    }
}

/// `DIFF_BENCH_PROFILE=N`: only plan N times at the first size, for a profiler.
fn profile_runs() -> Option<usize> {
    std::env::var("DIFF_BENCH_PROFILE")
        .ok()
        .and_then(|runs| runs.parse().ok())
}

fn settings() -> AccountSettings {
    AccountSettings {
        link_aliases: true,
        acknowledge_disabled: true,
        additional_attributes: vec!["department".to_owned()],
        max_unlink: usize::MAX,
        sync_contacts: true,
        domains: vec!["corp.test".to_owned()],
        ..AccountSettings::new(Region::Europe)
    }
}

/// The process's CPU time, all threads (including finished ones) counted, if the
/// kernel reports it: `/proc/self/stat` fields 14 and 15, in the clock ticks of
/// `USER_HZ`, which is 100 on Linux. Coarse (10 ms), which is fine for runs of about
/// a second.
fn cpu_time() -> Option<Duration> {
    const TICKS_PER_SECOND: u64 = 100;
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it do not.
    let after_name = text.get(text.rfind(')')? + 1..)?;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis(
        (user + system) * 1000 / TICKS_PER_SECOND,
    ))
}

/// Runs `work` and returns (wall time, CPU time of every thread, or the wall time
/// where unavailable).
fn timed(work: impl FnOnce()) -> (Duration, Duration) {
    let (cpu, wall) = (cpu_time(), Instant::now());
    work();
    let wall = wall.elapsed();
    let cpu = cpu
        .zip(cpu_time())
        .map(|(start, end)| end.saturating_sub(start));
    (wall, cpu.unwrap_or(wall))
}

fn fastest(mut run: impl FnMut() -> (Duration, Duration)) -> (Duration, Duration) {
    let repeat = std::env::var("DIFF_BENCH_REPEAT")
        .ok()
        .and_then(|repeat| repeat.parse().ok())
        .unwrap_or(REPEAT);
    (0..repeat).map(|_| run()).min().unwrap_or_default()
}

fn per_object(duration: Duration, objects: usize) -> f64 {
    duration.as_nanos() as f64 / objects as f64
}

fn main() {
    let sizes: Vec<usize> = std::env::var("DIFF_BENCH_SIZES")
        .ok()
        .map(|sizes| {
            sizes
                .split(',')
                .filter_map(|size| size.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| SIZES.to_vec());
    let settings = settings();
    println!(
        "{:>10} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "objects", "changes", "plan", "apply", "total", "ns/object", "cpu"
    );
    for objects in sizes {
        let before = directory(objects);
        let (account, _) = sync(&Account::default(), &before, &settings);
        let account: Account = reloaded(&account);
        let after: DirectorySnapshot = reloaded(&one_percent_changed(before, objects));
        if let Some(runs) = profile_runs() {
            for _ in 0..runs {
                black_box(plan(black_box(&account), &after, &settings));
            }
            return;
        }
        let mut changes = 0;
        let (plan_time, plan_cpu) = fastest(|| {
            timed(|| {
                let plan = black_box(plan(black_box(&account), &after, &settings));
                changes = plan.changes.len();
            })
        });
        let the_plan = plan(&account, &after, &settings);
        // Apply consumes its account: the copy it starts from is made, and the account
        // it returns dropped, outside the timing (a cloud service applies in place).
        let (apply_time, apply_cpu) = fastest(|| {
            let copy = account.clone();
            let mut result = None;
            let times = timed(|| {
                result = Some(black_box(apply_owned(black_box(copy), &the_plan)));
            });
            drop(result);
            times
        });
        let total = plan_time + apply_time;
        println!(
            "{objects:>10} {changes:>8} {:>8.0}ms {:>8.0}ms {:>8.0}ms {:>10.0} {:>8.0}ms",
            plan_time.as_secs_f64() * 1e3,
            apply_time.as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3,
            per_object(total, objects),
            (plan_cpu + apply_cpu).as_secs_f64() * 1e3,
        );
    }
}
