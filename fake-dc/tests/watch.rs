//! `fake-dc serve --watch`: an edited fixture is served within a second or two, entries
//! keep their objectGUIDs, and a bad edit is reported with its place while the previous
//! directory is kept.

#![allow(clippy::unwrap_used)]

mod serve_support;

use std::time::{Duration, Instant};

use ldap3::Scope;
use serve_support::{fixture, serve, Served};

const BASE: &str = "DC=corp,DC=example,DC=test";

/// (cn, objectGUID bytes) of the entries matching `filter`, read as the sync account.
async fn find(served: &Served, filter: &str) -> Vec<(String, Vec<u8>)> {
    let mut ldap = serve_support::bound_as_sync_account(served).await;
    let (entries, _) = ldap
        .search(BASE, Scope::Subtree, filter, vec!["cn", "objectGUID"])
        .await
        .unwrap()
        .success()
        .unwrap();
    entries
        .into_iter()
        .map(|e| {
            let e = ldap3::SearchEntry::construct(e);
            (
                e.attrs["cn"][0].clone(),
                e.bin_attrs["objectGUID"][0].clone(),
            )
        })
        .collect()
}

/// Waits up to 10 s for `cond`.
async fn eventually<F: std::future::Future<Output = bool>>(mut cond: impl FnMut() -> F) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if cond().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn an_edited_fixture_is_reloaded_keeping_identities_and_a_bad_edit_is_refused() {
    let dir = std::env::temp_dir().join(format!("fake-dc-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fixture.yaml");
    let original = std::fs::read_to_string(fixture("minimal.yaml")).unwrap();
    std::fs::write(&file, &original).unwrap();
    let served = serve(&file, &["--watch"]);
    let alice = find(&served, "(cn=Alice Archer)").await;
    assert_eq!(alice.len(), 1);

    // A new user in the Staff OU, beside Alice.
    let edited = original.replace(
        "      - name: Staff\n        users:\n",
        "      - name: Staff\n        users:\n          - { cn: Walter Watch, sAMAccountName: wwatch }\n",
    );
    assert_ne!(
        edited, original,
        "the fixture changed shape: adjust the edit"
    );
    std::fs::write(&file, &edited).unwrap();
    assert!(
        eventually(|| async { find(&served, "(cn=Walter Watch)").await.len() == 1 }).await,
        "the edit was not served; stderr:\n{}",
        served.stderr.lock().unwrap()
    );
    assert_eq!(
        find(&served, "(cn=Alice Archer)").await,
        alice,
        "Alice's objectGUID changed"
    );

    // A broken edit: reported with file:line:col, the last good directory kept.
    std::fs::write(&file, format!("{edited}\n  - {{ cn: [unclosed\n")).unwrap();
    let place = format!("{}:", file.display());
    assert!(
        eventually(|| async {
            let err = served.stderr.lock().unwrap().clone();
            // `<file>:<line>:<col>`: the file's name followed by a line number.
            err.contains("not reloaded")
                && err
                    .match_indices(&place)
                    .any(|(i, _)| err[i + place.len()..].starts_with(|c: char| c.is_ascii_digit()))
        })
        .await,
        "no error with a file:line:col; stderr:\n{}",
        served.stderr.lock().unwrap()
    );
    assert_eq!(find(&served, "(cn=Walter Watch)").await.len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
