//! Add, modify, delete, modify DN and compare over LDAP, with AD's refusals, and the
//! in-process API's changes showing through the server.

// Helpers outside #[test] fns are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use common::*;
use ldap3::{Mod, Scope};

fn set<'a>(values: &[&'a str]) -> HashSet<&'a str> {
    values.iter().copied().collect()
}

async fn usn(ldap: &mut ldap3::Ldap, dn: &str) -> u64 {
    let (e, _) = search(ldap, dn, Scope::Base, "(objectClass=*)", &["uSNChanged"]).await;
    e[0].attrs["uSNChanged"][0].parse().unwrap()
}

#[tokio::test]
async fn add_modify_rename_delete_round_trip() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    let dn = "CN=New Hire,OU=Sales,OU=Staff,DC=corp,DC=example,DC=test";
    let res = ldap
        .add(
            dn,
            vec![
                (
                    "objectClass",
                    set(&["top", "person", "organizationalPerson", "user"]),
                ),
                ("sAMAccountName", set(&["newhire"])),
                ("mail", set(&["new.hire@corp.example.test"])),
            ],
        )
        .await
        .unwrap();
    assert_eq!(res.rc, 0, "{}", res.text);
    let (e, _) = search(
        &mut ldap,
        dn,
        Scope::Base,
        "(objectClass=*)",
        &["userAccountControl", "objectGUID", "uSNChanged"],
    )
    .await;
    assert_eq!(
        e[0].attrs["userAccountControl"],
        ["546"],
        "AD's default for a user added without a password"
    );
    let guid = e[0].bin_attrs["objectGUID"][0].clone();
    let before = usn(&mut ldap, dn).await;
    ldap.modify(
        dn,
        vec![Mod::Replace("mail", set(&["nh@corp.example.test"]))],
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    assert!(
        usn(&mut ldap, dn).await > before,
        "a change bumps uSNChanged"
    );
    // Rename and move: the identity stays.
    ldap.modifydn(
        dn,
        "CN=Renamed Hire",
        true,
        Some("OU=Accounts,OU=Staff,DC=corp,DC=example,DC=test"),
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    let moved = "CN=Renamed Hire,OU=Accounts,OU=Staff,DC=corp,DC=example,DC=test";
    let (e, _) = search(
        &mut ldap,
        moved,
        Scope::Base,
        "(objectClass=*)",
        &["objectGUID", "mail"],
    )
    .await;
    assert_eq!(e[0].bin_attrs["objectGUID"][0], guid);
    assert_eq!(e[0].attrs["mail"], ["nh@corp.example.test"]);
    // Group membership through `member`; memberOf follows and cannot be written.
    let group = "CN=Sales Team,OU=Groups,DC=corp,DC=example,DC=test";
    ldap.modify(group, vec![Mod::Add("member", set(&[moved]))])
        .await
        .unwrap()
        .success()
        .unwrap();
    let (e, _) = search(
        &mut ldap,
        moved,
        Scope::Base,
        "(objectClass=*)",
        &["memberOf"],
    )
    .await;
    assert_eq!(e[0].attrs["memberOf"], [group]);
    let res = ldap
        .modify(moved, vec![Mod::Add("memberOf", set(&[group]))])
        .await
        .unwrap();
    assert_eq!(res.rc, 53, "memberOf is a back-link");
    let res = ldap
        .modify(group, vec![Mod::Add("member", set(&[moved]))])
        .await
        .unwrap();
    assert_eq!(res.rc, 68, "adding a member twice");
    // Delete leaves a tombstone.
    ldap.delete(moved).await.unwrap().success().unwrap();
    let (_, res) = search(&mut ldap, moved, Scope::Base, "(objectClass=*)", &["cn"]).await;
    assert_eq!(res.rc, 32);
    dc.shutdown().await;
}

#[tokio::test]
async fn ad_refusals_come_through() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    let res = ldap
        .add(
            "CN=Alice Twin,OU=Sales,OU=Staff,DC=corp,DC=example,DC=test",
            vec![
                ("objectClass", set(&["user"])),
                ("sAMAccountName", set(&["alice"])),
            ],
        )
        .await
        .unwrap();
    assert_eq!(res.rc, 68, "duplicate sAMAccountName: {}", res.text);
    assert!(res.text.starts_with("00000524: UpdErr: "), "{}", res.text);
    let res = ldap
        .add(
            "CN=X,OU=Nowhere,DC=corp,DC=example,DC=test",
            vec![("objectClass", set(&["user"]))],
        )
        .await
        .unwrap();
    assert_eq!((res.rc, res.matched.as_str()), (32, DOMAIN));
    let res = ldap
        .delete("OU=Sales,OU=Staff,DC=corp,DC=example,DC=test")
        .await
        .unwrap();
    assert_eq!(res.rc, 66, "deleting a non-leaf");
    let res = ldap
        .modify("not a dn", vec![Mod::Replace("mail", set(&["x"]))])
        .await
        .unwrap();
    assert_eq!(res.rc, 34);
    // Anonymous writes need a bind first; the GC is read-only.
    let mut anon = connect(ldap_addr(&dc, DC1)).await;
    assert_eq!(anon.delete(ALICE).await.unwrap().rc, 1);
    let mut gc = connect(dc.addresses(DC1).unwrap().gc.unwrap()).await;
    gc.simple_bind(SVC_DN, SVC_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(gc.delete(ALICE).await.unwrap().rc, 53);
    dc.shutdown().await;
}

#[tokio::test]
async fn compare_answers_true_false_and_no_such_attribute() {
    let dc = start().await;
    let mut ldap = svc(&dc).await;
    assert_eq!(
        ldap.compare(ALICE, "MAIL", "Alice.Archer@corp.example.test")
            .await
            .unwrap()
            .0
            .rc,
        6
    );
    assert_eq!(
        ldap.compare(ALICE, "mail", "someone@else.test")
            .await
            .unwrap()
            .0
            .rc,
        5
    );
    assert_eq!(ldap.compare(ALICE, "title", "x").await.unwrap().0.rc, 16);
    dc.shutdown().await;
}

#[tokio::test]
async fn in_process_changes_show_through_every_host() {
    let dc = start().await;
    let mut dc1 = svc(&dc).await;
    let mut dc2 = connect(ldap_addr(&dc, DC2)).await;
    dc2.simple_bind(SVC_DN, SVC_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    let (root, _) = search(
        &mut dc1,
        "",
        Scope::Base,
        "(objectClass=*)",
        &["highestCommittedUSN"],
    )
    .await;
    let before: u64 = root[0].attrs["highestCommittedUSN"][0].parse().unwrap();
    dc.with_directory(|d| {
        let id = d.resolve(&fake_dc::dn::Dn::parse(ALICE).unwrap()).unwrap();
        d.set(id, "department", &["Marketing"]).unwrap();
    });
    for ldap in [&mut dc1, &mut dc2] {
        let (e, _) = search(
            ldap,
            ALICE,
            Scope::Base,
            "(objectClass=*)",
            &["department", "uSNChanged"],
        )
        .await;
        assert_eq!(e[0].attrs["department"], ["Marketing"]);
        let changed: u64 = e[0].attrs["uSNChanged"][0].parse().unwrap();
        assert!(changed > before);
        let (found, _) = search(
            ldap,
            DOMAIN,
            Scope::Subtree,
            &format!("(uSNChanged>={changed})"),
            &["1.1"],
        )
        .await;
        assert_eq!(found.len(), 1, "a delta search finds exactly the change");
    }
    dc.shutdown().await;
}
