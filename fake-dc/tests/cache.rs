//! The fixture cache: a directory read back from its image is the directory that was
//! written, entry for entry and index for index; a damaged, truncated or unwritable
//! cache never fails a load, only slows it; an edit to the fixture is a miss.

#![allow(clippy::unwrap_used)] // tests fail loudly
use std::path::{Path, PathBuf};

use fake_dc::directory::{Directory, ModOp, Modification};
use fake_dc::dn::{Dn, Rdn};
use fake_dc::fixture::{load_file, Cache, CacheUse, LoadOptions};
use fake_dc::schema::ALL_KINDS;

const NOW: i64 = 1_795_262_400;
const FIXED: LoadOptions = LoadOptions {
    fixed_time: Some(NOW),
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fake-dc-cache-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn every_cache(dir: &Path) -> Cache {
    Cache {
        dir: dir.to_path_buf(),
        min_entries: 0,
    }
}

/// Everything a client or the server can read of a directory, as text: every entry with
/// every field, its DN text, and what each index answers for it.
fn render(dir: &Directory) -> Vec<String> {
    let mut out = vec![format!(
        "usn {} domains {:?} contexts {:?} policy {:?} order {:?} grants {:?} google {:?} azure {:?}",
        dir.highest_usn(),
        dir.domains,
        dir.naming_contexts(),
        dir.query_policy,
        dir.entry_order,
        dir.replication_grants,
        dir.google,
        dir.azure_ad,
    )];
    for id in dir.ids() {
        let e = dir.entry(id);
        let mut line = format!("{} {:?} {} {:?}", id.0, e, dir.dn_str(id), dir.dn(id));
        line += &format!(
            " dn→{:?} guid→{:?} sid→{:?}",
            dir.lookup(&dir.dn(id)),
            dir.by_guid(&e.guid),
            e.sid.as_ref().map(|s| dir.by_sid(s)),
        );
        for attr in fake_dc::directory::INDEXED {
            for value in e.get_strs(attr) {
                line += &format!(" {attr}={value}→{:?}", dir.by_value(attr, value));
            }
        }
        out.push(line);
    }
    for kind in ALL_KINDS {
        out.push(format!(
            "{kind:?}: {:?}",
            dir.of_kind(*kind).collect::<Vec<_>>()
        ));
    }
    out
}

fn assert_same(a: &Directory, b: &Directory) {
    let (a, b) = (render(a), render(b));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
}

fn round_trip(dir: &Directory) -> Directory {
    let mut bytes = Vec::new();
    dir.write_image(&mut bytes).unwrap();
    Directory::read_image(&mut bytes.as_slice()).unwrap()
}

#[test]
fn every_fixture_reads_back_as_it_was_loaded() {
    let cache_dir = scratch("fixtures");
    let cache = every_cache(&cache_dir);
    for name in [
        "minimal.yaml",
        "small-org.yaml",
        "two-domain-forest.yaml",
        "azure-tenant.yaml",
        "google-workspace.yaml",
    ] {
        let path = fixture(name);
        let fresh = load_file(&path, FIXED).unwrap();
        let (first, used) = cache.load(&path, FIXED).unwrap();
        assert!(matches!(used, CacheUse::Written(_)), "{name}: {used}");
        let (second, used) = cache.load(&path, FIXED).unwrap();
        assert!(matches!(used, CacheUse::Read(_)), "{name}: {used}");
        assert_same(&fresh, &first);
        assert_same(&fresh, &second);
        // The clock is the one the options ask for, not the one of the load that wrote.
        assert_eq!(second.now(), NOW);
    }
}

#[test]
fn a_changed_directory_reads_back_with_its_history() {
    let mut dir = load_file(&fixture("small-org.yaml"), FIXED).unwrap();
    let alice = dir
        .resolve(
            &Dn::parse("CN=Alice Archer,OU=Engineering,OU=Staff,DC=corp,DC=example,DC=test")
                .unwrap(),
        )
        .unwrap();
    let users = dir.domains[0].users;
    // A new OU, newer than everything, and a user moved under it: a parent that comes
    // after its child in the image.
    let ou = dir
        .create(fake_dc::directory::NewEntry::new(
            users,
            Rdn::new("CN", "Moved Here"),
            fake_dc::schema::ObjectKind::Container,
        ))
        .unwrap();
    dir.rename(alice, Rdn::new("CN", "Alice Moved"), Some(ou))
        .unwrap();
    dir.modify(
        alice,
        &[Modification {
            op: ModOp::Replace,
            attr: "mail".into(),
            values: vec![b"alice.moved@example.test".to_vec()],
        }],
        true,
    )
    .unwrap();
    let group = dir
        .of_kind(fake_dc::schema::ObjectKind::Group)
        .next()
        .unwrap();
    let _ = dir.add_member(group, alice);
    let victim = dir
        .of_kind(fake_dc::schema::ObjectKind::User)
        .last()
        .unwrap();
    dir.delete(victim).unwrap();
    assert!(alice < ou, "the test needs a child older than its parent");
    assert_same(&dir, &round_trip(&dir));
}

#[test]
fn the_hundred_thousand_user_fixture_reads_back_as_it_was_loaded() {
    let cache_dir = scratch("large");
    let cache = Cache::at(&cache_dir);
    let path = fixture("large-100k.yaml");
    let (fresh, used) = cache.load(&path, FIXED).unwrap();
    assert!(matches!(used, CacheUse::Written(_)), "{used}");
    let (read, used) = cache.load(&path, FIXED).unwrap();
    assert!(matches!(used, CacheUse::Read(_)), "{used}");
    assert_same(&fresh, &read);
}

fn only_image(dir: &Path) -> PathBuf {
    let images: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(images.len(), 1, "{images:?}");
    images.into_iter().next().unwrap()
}

#[test]
fn a_damaged_or_truncated_image_is_loaded_around_and_written_again() {
    let cache_dir = scratch("damaged");
    let cache = every_cache(&cache_dir);
    let path = fixture("small-org.yaml");
    let fresh = load_file(&path, FIXED).unwrap();
    cache.load(&path, FIXED).unwrap();
    let image = only_image(&cache_dir);
    let whole = std::fs::read(&image).unwrap();
    let mut flipped = whole.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x5a;
    let truncated = whole[..whole.len() - 100].to_vec();
    for (damage, bytes, says) in [
        ("flipped", flipped, "damaged"),
        ("truncated", truncated, "damaged"),
        ("emptied", Vec::new(), "failed to fill whole buffer"),
        (
            "foreign",
            b"PK\x03\x04 not an image at all".to_vec(),
            "azureAd",
        ),
    ] {
        std::fs::write(&image, &bytes).unwrap();
        let (dir, used) = cache.load(&path, FIXED).unwrap();
        let CacheUse::Unusable(why) = &used else {
            panic!("{damage}: {used}");
        };
        assert!(
            why.contains(says) && why.ends_with("(written again)"),
            "{damage}: {why}"
        );
        assert_same(&fresh, &dir);
        assert_eq!(
            std::fs::read(&image).unwrap(),
            whole,
            "{damage}: rewritten whole"
        );
    }
}

#[test]
fn an_edited_fixture_is_a_new_image() {
    let cache_dir = scratch("edited");
    let cache = every_cache(&cache_dir);
    let work = scratch("edited-fixture");
    let path = work.join("org.yaml");
    let text = std::fs::read_to_string(fixture("small-org.yaml")).unwrap();
    std::fs::write(&path, &text).unwrap();
    cache.load(&path, FIXED).unwrap();
    std::fs::write(
        &path,
        text.replace("cn: Alice Archer,", "cn: Alice Edited,"),
    )
    .unwrap();
    let (dir, used) = cache.load(&path, FIXED).unwrap();
    assert!(matches!(used, CacheUse::Written(_)), "{used}");
    assert!(dir
        .resolve(
            &Dn::parse("CN=Alice Edited,OU=Engineering,OU=Staff,DC=corp,DC=example,DC=test")
                .unwrap()
        )
        .is_ok());
    // Another clock is another directory too (its times differ).
    let (_, used) = cache.load(&path, LoadOptions::default()).unwrap();
    assert!(matches!(used, CacheUse::Written(_)), "{used}");
    assert_eq!(std::fs::read_dir(&cache_dir).unwrap().count(), 3);
}

#[test]
fn small_fixtures_and_unwritable_caches_load_without_an_image() {
    let cache_dir = scratch("small");
    let path = fixture("small-org.yaml");
    let (_, used) = Cache::at(&cache_dir).load(&path, FIXED).unwrap();
    assert_eq!(used, CacheUse::Small);
    assert_eq!(std::fs::read_dir(&cache_dir).unwrap().count(), 0);

    // A file where the cache directory should be.
    let blocked = cache_dir.join("not-a-directory");
    std::fs::write(&blocked, "x").unwrap();
    let (dir, used) = every_cache(&blocked).load(&path, FIXED).unwrap();
    let CacheUse::Unusable(why) = &used else {
        panic!("{used}");
    };
    assert!(why.starts_with("cannot write"), "{why}");
    assert!(dir.len() > 10);
}

#[test]
fn a_fixture_error_is_the_fixtures_own_through_the_cache() {
    let work = scratch("broken");
    let path = work.join("broken.yaml");
    std::fs::write(
        &path,
        "seed: 1\ndomains:\n  - dns: corp.example.test\n    users:\n      - {}\n",
    )
    .unwrap();
    let through_cache = every_cache(&work.join("cache"))
        .load(&path, FIXED)
        .unwrap_err()
        .to_string();
    let direct = load_file(&path, FIXED).unwrap_err().to_string();
    assert_eq!(through_cache, direct);
    assert!(direct.contains("broken.yaml:5:"), "{direct}");
}

#[test]
fn every_cut_of_an_image_is_refused() {
    let dir = load_file(&fixture("minimal.yaml"), FIXED).unwrap();
    let mut bytes = Vec::new();
    dir.write_image(&mut bytes).unwrap();
    // Every prefix is refused with an error, never a panic.
    for cut in (0..bytes.len()).step_by(97) {
        assert!(
            Directory::read_image(&mut &bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
}

mod serve_support;

/// A fixture just big enough to be cached: 12,000 generated users.
fn big_enough(dir: &Path) -> PathBuf {
    let path = dir.join("twelve-thousand.yaml");
    std::fs::write(
        &path,
        "seed: 7\ndomains:\n  - dns: corp.example.test\n    ous:\n      - name: Service Accounts\n        users:\n          - { cn: Sync Service, sAMAccountName: svc-sync, password: \"Sync-Secret-1\" }\n    generate:\n      - { seed: 1, ou: People, users: 12000, groups: 50 }\n",
    )
    .unwrap();
    path
}

/// What the served directory answers: the users under `OU=People`, counted over LDAP.
fn people(served: &serve_support::Served) -> usize {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut ldap = serve_support::bound_as_sync_account(served).await;
        let mut stream = ldap
            .streaming_search_with(
                ldap3::adapters::PagedResults::new(1000),
                "OU=People,DC=corp,DC=example,DC=test",
                ldap3::Scope::Subtree,
                "(objectClass=user)",
                vec!["1.1"],
            )
            .await
            .unwrap();
        let mut count = 0;
        while stream.next().await.unwrap().is_some() {
            count += 1;
        }
        count
    })
}

#[test]
fn serve_reads_its_second_start_from_the_cache() {
    let work = scratch("serve");
    let path = big_enough(&work);
    let cache_dir = work.join("cache");
    let cache_arg = cache_dir.to_str().unwrap();
    let first = serve_support::serve(&path, &["--cache-dir", cache_arg]);
    let counted = people(&first);
    assert!(counted >= 12_000, "{counted}");
    assert!(first.stderr.lock().unwrap().contains("loaded and cached"));
    drop(first);
    let second = serve_support::serve(&path, &["--cache-dir", cache_arg]);
    assert_eq!(people(&second), counted);
    let log = second.stderr.lock().unwrap().clone();
    assert!(log.contains("read from the cache"), "{log}");
    drop(second);

    let bypassed = serve_support::serve(&path, &["--no-cache"]);
    assert!(!bypassed.stderr.lock().unwrap().contains("cache"));
    assert_eq!(std::fs::read_dir(&cache_dir).unwrap().count(), 1);
}
