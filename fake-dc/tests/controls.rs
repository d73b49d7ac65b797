//! AD's sync controls through OpenLDAP's ldapsearch, as a person checking a sync would
//! type them: DirSync rounds (`-E '!dirSync=…'`), server-side sort (`-E sss=`), the
//! virtual list view (`-E vlv=`) and change notification (`-E '!serverNotif'`). These
//! tests fail — they do not skip — when the tools are missing; `scripts/setup-test-env`
//! installs them. Behaviour and sources: docs/dirsync.md.

// Helpers outside #[test] fns are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{host, ldap_addr, FIXED_TIME};
use fake_dc::directory::{Directory, EntryId};
use fake_dc::dn::Dn;
use fake_dc::fixture::{self, LoadOptions};
use fake_dc::server::FakeDc;
use fake_dc::tls::CertProfile;

const FIXTURE: &str = include_str!("fixtures/controls.yaml");
const DC1: &str = "dc1.corp.example.test";
const DC2: &str = "dc2.corp.example.test";
const DOMAIN: &str = "DC=corp,DC=example,DC=test";
const PEOPLE: &str = "OU=People,DC=corp,DC=example,DC=test";
const READER: &str = "CN=DirSync Reader,OU=Service Accounts,DC=corp,DC=example,DC=test";
const READER_PW: &str = "Sync-Secret-1";
const PLAIN: &str = "CN=Plain Reader,OU=Service Accounts,DC=corp,DC=example,DC=test";
const PLAIN_PW: &str = "Sync-Secret-2";
const SALES: &str = "CN=Sales Team,OU=Groups,DC=corp,DC=example,DC=test";

async fn start() -> FakeDc {
    let dir = fixture::load_str(
        FIXTURE,
        "controls.yaml",
        LoadOptions {
            fixed_time: Some(FIXED_TIME),
        },
    )
    .unwrap();
    FakeDc::builder(dir)
        .host(DC1, host(CertProfile::CaSigned))
        .host(DC2, host(CertProfile::CaSigned))
        .start()
        .await
        .unwrap()
}

fn url(dc: &FakeDc, name: &str) -> String {
    format!("ldap://127.0.0.1:{}", ldap_addr(dc, name).port())
}

/// `ldapsearch` with no user configuration, bound as `who`.
fn ldapsearch(uri: &str, who: (&str, &str), args: &[&str]) -> Command {
    let mut cmd = Command::new(test_peers::tool("ldapsearch"));
    cmd.args(["-x", "-H", uri, "-D", who.0, "-w", who.1])
        .args(args)
        .env("LDAPCONF", "/dev/null")
        .env("LDAPRC", "/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs a command to its end on a blocking thread, feeding it `stdin`.
async fn run(mut cmd: Command, stdin: &str) -> Output {
    let input = stdin.to_string();
    tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "ldapsearch could not be run ({e}): {}",
                test_peers::SETUP_HINT
            )
        });
        if let Some(mut pipe) = child.stdin.take() {
            use std::io::Write;
            pipe.write_all(input.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The DNs of the entries ldapsearch printed, in order (`dn::` base64 ones decoded
/// to `<base64>` markers: tombstone names hold a newline).
fn dns(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| {
            l.strip_prefix("dn: ")
                .map(str::to_string)
                .or_else(|| l.strip_prefix("dn:: ").map(|b| format!("<base64 {b}>")))
        })
        .collect()
}

/// The cookie of a DirSync response, as ldapsearch prints it (`# cookie:: <base64>`).
fn cookie(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("# cookie:: "))
        .unwrap_or_else(|| panic!("no DirSync cookie in:\n{out}"))
        .to_string()
}

fn id(dir: &Directory, dn: &str) -> EntryId {
    dir.resolve(&Dn::parse(dn).unwrap()).unwrap()
}

fn dirsync(dc: &FakeDc, host: &str, who: (&str, &str), spec: &str, attrs: &[&str]) -> Command {
    let mut args = vec![
        "-LLL",
        "-b",
        DOMAIN,
        "-E",
        spec,
        "(|(objectClass=user)(objectClass=group))",
    ];
    args.extend(attrs);
    ldapsearch(&url(dc, host), who, &args)
}

#[tokio::test(flavor = "multi_thread")]
async fn dirsync_rounds_return_only_what_changed_since_the_cookie() {
    let dc = start().await;
    let reader = (READER, READER_PW);
    // First round: every user and group, with the attributes asked for.
    let first = run(
        dirsync(&dc, DC1, reader, "!dirSync=0/0", &["department", "mail"]),
        "",
    )
    .await;
    assert!(first.status.success(), "{}", text(&first));
    let out = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(out.contains("# DirSync control continueFlag=0"), "{out}");
    let all = dns(&out);
    for person in [
        "Alice Archer",
        "Bob Baker",
        "Carol Chen",
        "Dan Dunn",
        "Erin Evans",
    ] {
        assert!(
            all.contains(&format!("CN={person},{PEOPLE}")),
            "{person} missing from the first round:\n{out}"
        );
    }
    assert!(out.contains("department: Legal"), "{out}");
    assert!(out.contains("instanceType: 4"), "{out}");
    assert!(out.contains("objectGUID:: "), "{out}");
    let round1 = cookie(&out);

    // Nothing changed: the second round is empty and hands the same position back.
    let same = run(
        dirsync(
            &dc,
            DC1,
            reader,
            &format!("!dirSync=0/0/{round1}"),
            &["department"],
        ),
        "",
    )
    .await;
    assert!(same.status.success(), "{}", text(&same));
    assert_eq!(
        dns(&String::from_utf8_lossy(&same.stdout)),
        Vec::<String>::new()
    );

    // One change: Alice moves to Support.
    let alice = format!("CN=Alice Archer,{PEOPLE}");
    dc.with_directory(|d| {
        let a = id(d, &alice);
        d.set(a, "department", &["Support"]).unwrap();
    });
    let second = run(
        dirsync(
            &dc,
            DC1,
            reader,
            &format!("!dirSync=0/0/{round1}"),
            &["department", "mail"],
        ),
        "",
    )
    .await;
    assert!(second.status.success(), "{}", text(&second));
    let out = String::from_utf8_lossy(&second.stdout).to_string();
    assert_eq!(dns(&out), vec![alice.clone()], "{out}");
    assert!(out.contains("department: Support"), "{out}");
    assert!(out.contains("instanceType: 4"), "{out}");
    assert!(out.contains("objectGUID:: "), "{out}");
    // Only the changed attribute: Alice's mail did not change.
    assert!(!out.contains("mail:"), "{out}");
    let round2 = cookie(&out);

    // Incremental values: Bob joins Sales Team, Carol leaves it.
    dc.with_directory(|d| {
        let g = id(d, SALES);
        let bob = id(d, &format!("CN=Bob Baker,{PEOPLE}"));
        let carol = id(d, &format!("CN=Carol Chen,{PEOPLE}"));
        d.add_member(g, bob).unwrap();
        d.remove_member(g, carol).unwrap();
    });
    let third = run(
        dirsync(
            &dc,
            DC1,
            reader,
            &format!("!dirSync=-2147483648/0/{round2}"),
            &["member"],
        ),
        "",
    )
    .await;
    assert!(third.status.success(), "{}", text(&third));
    let out = String::from_utf8_lossy(&third.stdout).to_string();
    assert_eq!(dns(&out), vec![SALES.to_string()], "{out}");
    assert!(
        out.contains(&format!("member;range=1-1: CN=Bob Baker,{PEOPLE}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("member;range=0-0: CN=Carol Chen,{PEOPLE}")),
        "{out}"
    );
    // Without incremental values the changed `member` comes back whole.
    let whole = run(
        dirsync(
            &dc,
            DC1,
            reader,
            &format!("!dirSync=0/0/{round2}"),
            &["member"],
        ),
        "",
    )
    .await;
    let out = String::from_utf8_lossy(&whole.stdout).to_string();
    assert!(
        out.contains(&format!("member: CN=Bob Baker,{PEOPLE}")),
        "{out}"
    );
    assert!(!out.contains("range="), "{out}");
    let round3 = cookie(&String::from_utf8_lossy(&third.stdout));

    // A deletion comes back as a tombstone with isDeleted.
    dc.with_directory(|d| {
        let dan = id(d, &format!("CN=Dan Dunn,{PEOPLE}"));
        d.delete(dan).unwrap();
    });
    let fourth = run(
        dirsync(
            &dc,
            DC1,
            reader,
            &format!("!dirSync=0/0/{round3}"),
            &["department"],
        ),
        "",
    )
    .await;
    let out = String::from_utf8_lossy(&fourth.stdout).to_string();
    assert!(fourth.status.success(), "{out}");
    assert!(out.contains("isDeleted: TRUE"), "{out}");
    assert_eq!(dns(&out).len(), 1, "{out}");

    // The cookie is bound to its DC: dc2 answers it with a full round, in which Dan's
    // tombstone reports the department its deletion stripped (with no values).
    let elsewhere = run(
        dirsync(
            &dc,
            DC2,
            reader,
            &format!("!dirSync=0/0/{round3}"),
            &["department"],
        ),
        "",
    )
    .await;
    let out = String::from_utf8_lossy(&elsewhere.stdout).to_string();
    assert!(elsewhere.status.success(), "{out}");
    let mut found = dns(&out);
    found.sort();
    assert_eq!(found.len(), 4, "{out}");
    assert!(found[0].starts_with("CN=Alice Archer"), "{out}");
    assert!(found[1].starts_with("CN=Carol Chen"), "{out}");
    assert!(found[2].starts_with("CN=Dan Dunn\\0ADEL:"), "{out}");
    assert!(found[3].starts_with("CN=Erin Evans"), "{out}");
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dirsync_more_data_continues_by_cookie() {
    let dc = start().await;
    let reader = (READER, READER_PW);
    let whole = run(dirsync(&dc, DC1, reader, "!dirSync=0/0", &["mail"]), "").await;
    let everything = dns(&String::from_utf8_lossy(&whole.stdout));
    assert!(everything.len() > 5, "{}", text(&whole));
    // MaxBytes 1: one object a round, "more data" until the last.
    let mut spec = "!dirSync=0/1".to_string();
    let mut collected = Vec::new();
    for round in 0.. {
        assert!(
            round <= everything.len(),
            "the rounds never end: {collected:?}"
        );
        let o = run(dirsync(&dc, DC1, reader, &spec, &["mail"]), "").await;
        assert!(o.status.success(), "{}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        let got = dns(&out);
        assert!(got.len() <= 1, "{out}");
        collected.extend(got);
        if out.contains("continueFlag=0") {
            break;
        }
        assert!(out.contains("continueFlag=1"), "{out}");
        spec = format!("!dirSync=0/1/{}", cookie(&out));
    }
    collected.sort();
    let mut want = everything;
    want.sort();
    assert_eq!(collected, want);
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dirsync_needs_the_replication_right_unless_object_security_is_asked() {
    let dc = start().await;
    let plain = (PLAIN, PLAIN_PW);
    let refused = run(dirsync(&dc, DC1, plain, "!dirSync=0/0", &["mail"]), "").await;
    assert_eq!(refused.status.code(), Some(50), "{}", text(&refused));
    assert!(
        text(&refused).contains(
            "00000005: SecErr: DSID-03152857, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0"
        ),
        "{}",
        text(&refused)
    );
    let secured = run(dirsync(&dc, DC1, plain, "!dirSync=1/0", &["mail"]), "").await;
    assert!(secured.status.success(), "{}", text(&secured));
    assert!(
        dns(&String::from_utf8_lossy(&secured.stdout)).contains(&format!("CN=Erin Evans,{PEOPLE}")),
        "{}",
        text(&secured)
    );
    // The base must head a naming context: below one, AD refuses it as a missing right,
    // or with object security as unwillingToPerform.
    for (spec, code) in [("!dirSync=0/0", 50), ("!dirSync=1/0", 53)] {
        let sub = run(
            ldapsearch(
                &url(&dc, DC1),
                (READER, READER_PW),
                &["-LLL", "-b", PEOPLE, "-E", spec, "(objectClass=user)"],
            ),
            "",
        )
        .await;
        assert_eq!(sub.status.code(), Some(code), "{spec}: {}", text(&sub));
    }
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sss_sorts_and_answers_with_sort_result() {
    let dc = start().await;
    let who = (READER, READER_PW);
    let args = |spec: &'static str| {
        vec![
            "-LLL",
            "-b",
            PEOPLE,
            "-s",
            "one",
            "-E",
            spec,
            "(objectClass=user)",
            "cn",
        ]
    };
    let o = run(ldapsearch(&url(&dc, DC1), who, &args("!sss=cn")), "").await;
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let names = [
        "Alice Archer",
        "Bob Baker",
        "Carol Chen",
        "Dan Dunn",
        "Erin Evans",
    ];
    let want: Vec<String> = names.iter().map(|n| format!("CN={n},{PEOPLE}")).collect();
    assert_eq!(dns(&out), want, "{out}");
    assert!(out.contains("# sortResult: (0) Success"), "{out}");
    // Reverse, on an attribute some entries lack: those sort after the rest.
    let o = run(
        ldapsearch(&url(&dc, DC1), who, &args("sss=-department")),
        "",
    )
    .await;
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let order: Vec<String> = dns(&out);
    assert_eq!(
        order.last(),
        Some(&format!("CN=Bob Baker,{PEOPLE}")),
        "{out}"
    );
    assert_eq!(
        order.first(),
        Some(&format!("CN=Carol Chen,{PEOPLE}")),
        "{out}"
    );
    // AD sorts on one key only: a critical request with two fails, with sortResult.
    let o = run(ldapsearch(&url(&dc, DC1), who, &args("!sss=sn/cn")), "").await;
    assert_eq!(o.status.code(), Some(12), "{}", text(&o));
    assert!(text(&o).contains("# sortResult: (53)"), "{}", text(&o));
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn vlv_returns_a_window_of_the_sorted_list() {
    let dc = start().await;
    let who = (READER, READER_PW);
    // ldapsearch asks for the next window on standard input; a second window by value,
    // then a spec it rejects, ends it (an empty line would page on forever).
    let o = run(
        ldapsearch(
            &url(&dc, DC1),
            who,
            &[
                "-LLL",
                "-b",
                PEOPLE,
                "-s",
                "one",
                "-E",
                "sss=cn",
                "-E",
                "vlv=1/1/3/5",
                "(objectClass=user)",
                "cn",
            ],
        ),
        "0/1:Dan\nstop\n",
    )
    .await;
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let p = |n: &str| format!("CN={n},{PEOPLE}");
    assert_eq!(
        dns(&out),
        vec![
            p("Bob Baker"),
            p("Carol Chen"),
            p("Dan Dunn"),
            p("Dan Dunn"),
            p("Erin Evans")
        ],
        "{}",
        text(&o)
    );
    assert!(out.contains("pos=3 count=5 context= (0) Success"), "{out}");
    assert!(out.contains("pos=4 count=5 context= (0) Success"), "{out}");
    assert!(
        text(&o).contains("VLV control value \"stop\" invalid"),
        "{}",
        text(&o)
    );
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn server_notification_streams_each_change_and_never_blocks_others() {
    let dc = start().await;
    let who = (READER, READER_PW);
    let uri = url(&dc, DC1);
    let mut child = ldapsearch(
        &uri,
        who,
        &[
            "-LLL",
            "-b",
            PEOPLE,
            "-s",
            "one",
            "-E",
            "!serverNotif",
            "(objectClass=*)",
            "department",
        ],
    )
    .spawn()
    .unwrap_or_else(|e| {
        panic!(
            "ldapsearch could not be run ({e}): {}",
            test_peers::SETUP_HINT
        )
    });
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Registered: nothing arrives until something changes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(rx.try_recv().is_err(), "an entry arrived before any change");
    // Other clients are answered meanwhile.
    let other = run(
        ldapsearch(
            &uri,
            who,
            &["-LLL", "-b", PEOPLE, "-s", "one", "(cn=Erin*)", "cn"],
        ),
        "",
    )
    .await;
    assert!(other.status.success(), "{}", text(&other));
    let erin = format!("CN=Erin Evans,{PEOPLE}");
    dc.with_directory(|d| {
        let e = id(d, &erin);
        d.set(e, "department", &["Support"]).unwrap();
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.iter().any(|l: &String| l == "department: Support") && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(line);
        }
    }
    assert!(seen.contains(&format!("dn: {erin}")), "{seen:?}");
    assert!(
        seen.contains(&"department: Support".to_string()),
        "{seen:?}"
    );
    // A change outside the watched OU is not sent.
    dc.with_directory(|d| {
        let g = id(d, SALES);
        d.set(g, "description", &["quiet"]).unwrap();
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        rx.try_recv().is_err(),
        "a change outside the scope was sent"
    );
    child.kill().unwrap();
    let _ = child.wait();
    // A filter other than (objectClass=*) is refused the AD way.
    let o = run(
        ldapsearch(
            &uri,
            who,
            &[
                "-LLL",
                "-b",
                PEOPLE,
                "-s",
                "one",
                "-E",
                "!serverNotif",
                "(cn=*)",
            ],
        ),
        "",
    )
    .await;
    assert_eq!(o.status.code(), Some(53), "{}", text(&o));
    dc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn notifications_are_limited_per_connection_and_end_on_abandon() {
    use ldap3::controls::RawControl;
    use ldap3::Scope;
    let dc = start().await;
    let mut ldap = common::connect(ldap_addr(&dc, DC1)).await;
    ldap.simple_bind(READER, READER_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    let notify = || RawControl {
        ctype: "1.2.840.113556.1.4.528".into(),
        crit: true,
        val: None,
    };
    let mut ids = Vec::new();
    let mut streams = Vec::new();
    for _ in 0..5 {
        let mut s = ldap
            .with_controls(vec![notify()])
            .streaming_search(PEOPLE, Scope::OneLevel, "(objectClass=*)", vec!["cn"])
            .await
            .unwrap();
        ids.push(s.ldap_handle().last_id());
        streams.push(s);
    }
    // The sixth on the same connection: adminLimitExceeded.
    let mut sixth = ldap
        .with_controls(vec![notify()])
        .streaming_search(PEOPLE, Scope::OneLevel, "(objectClass=*)", vec!["cn"])
        .await
        .unwrap();
    assert!(sixth.next().await.unwrap().is_none());
    assert_eq!(sixth.finish().await.rc, 11);
    // Abandoning one makes room for another.
    ldap.abandon(ids[0]).await.unwrap();
    let mut again = ldap
        .with_controls(vec![notify()])
        .streaming_search(PEOPLE, Scope::Base, "(objectClass=*)", vec!["cn"])
        .await
        .unwrap();
    // A registration answers nothing; the connection takes requests in order, so once a
    // later one is answered the notification is in place.
    ldap.search(
        "",
        Scope::Base,
        "(objectClass=*)",
        vec!["highestCommittedUSN"],
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    dc.with_directory(|d| {
        let ou = id(d, PEOPLE);
        d.set(ou, "description", &["changed"]).unwrap();
    });
    let entry = tokio::time::timeout(Duration::from_secs(10), again.next())
        .await
        .expect("a notification within 10 s")
        .unwrap()
        .unwrap();
    assert_eq!(ldap3::SearchEntry::construct(entry).dn, PEOPLE);
    dc.shutdown().await;
}

#[test]
fn a_fixture_grants_replicating_directory_changes() {
    let dir = fixture::load_str(FIXTURE, "controls.yaml", LoadOptions::default()).unwrap();
    let head = id(&dir, DOMAIN);
    assert!(dir.can_replicate(id(&dir, READER), head));
    assert!(!dir.can_replicate(id(&dir, PLAIN), head));
    let admin = id(&dir, "CN=Administrator,CN=Users,DC=corp,DC=example,DC=test");
    assert!(
        dir.can_replicate(admin, head),
        "Domain Admins hold it by default"
    );
    let bad = FIXTURE.replace("[replicating-directory-changes]", "[replicate-everything]");
    let problems = fixture::load_str(&bad, "controls.yaml", LoadOptions::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(problems.contains("controls.yaml:"), "{problems}");
    assert!(problems.contains("replicate-everything"), "{problems}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_view_without_a_sort_is_refused_and_unknown_critical_controls_still_fail() {
    use ldap3::controls::RawControl;
    use ldap3::Scope;
    let dc = start().await;
    let mut ldap = common::connect(ldap_addr(&dc, DC1)).await;
    ldap.simple_bind(READER, READER_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    // VLV { before 0, after 1, byOffset { offset 1, count 0 } } with no sort control:
    // ldapsearch will not send that, so ldap3 does.
    let vlv = RawControl {
        ctype: "2.16.840.1.113730.3.4.9".into(),
        crit: true,
        val: Some(vec![
            0x30, 0x0e, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01, 0xa0, 0x06, 0x02, 0x01, 0x01, 0x02,
            0x01, 0x00,
        ]),
    };
    let r = ldap
        .with_controls(vec![vlv])
        .search(PEOPLE, Scope::OneLevel, "(objectClass=user)", vec!["cn"])
        .await
        .unwrap();
    assert_eq!(r.1.rc, 76, "{:?}", r.1);
    assert!(r.0.is_empty());
    let view =
        r.1.ctrls
            .iter()
            .find(|c| c.1.ctype == "2.16.840.1.113730.3.4.10")
            .and_then(|c| c.1.val.clone())
            .expect("a VLV response control");
    // virtualListViewResult sortControlMissing (60) is its last element.
    assert_eq!(view.get(view.len() - 3..), Some(&[0x0a, 0x01, 60][..]));
    // A control fake-dc does not implement is not advertised, and fails when critical.
    let unknown = RawControl {
        ctype: "1.2.840.113556.1.4.1504".into(), // ASQ
        crit: true,
        val: None,
    };
    let r = ldap
        .with_controls(vec![unknown])
        .search(PEOPLE, Scope::OneLevel, "(objectClass=user)", vec!["cn"])
        .await
        .unwrap();
    assert_eq!(r.1.rc, 12, "{:?}", r.1);
    let rootdse = ldap
        .search("", Scope::Base, "(objectClass=*)", vec!["supportedControl"])
        .await
        .unwrap()
        .success()
        .unwrap()
        .0;
    let advertised =
        ldap3::SearchEntry::construct(rootdse[0].clone()).attrs["supportedControl"].clone();
    for implemented in [
        "1.2.840.113556.1.4.841",
        "1.2.840.113556.1.4.528",
        "1.2.840.113556.1.4.473",
        "2.16.840.1.113730.3.4.9",
    ] {
        assert!(
            advertised.iter().any(|c| c == implemented),
            "{advertised:?}"
        );
    }
    assert!(
        !advertised.iter().any(|c| c == "1.2.840.113556.1.4.1504"),
        "{advertised:?}"
    );
    dc.shutdown().await;
}
