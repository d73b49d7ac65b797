//! The report of a run, in the contract's words ([`engine_contract::report`]): built here
//! from the stack's plan, or from the error that stopped a run before one.

pub use engine_contract::report::{Counts, Report, SyncMethod, TlsOutcome};

use crate::plan::Plan;

/// The report of a run that got as far as a plan.
pub fn from_plan(method: SyncMethod, host: Option<String>, tls: TlsOutcome, plan: Plan) -> Report {
    // Taken by value: a full run's change list is one entry per object (about 200 MB at
    // 100,000 users), and a copy of it beside the plan was part of the sync's peak.
    Report {
        counts: Counts::of(&plan.changes, &plan.conflicts, &plan.out_of_domain),
        stopped: plan.stopped,
        changes: plan.changes,
        conflicts: plan.conflicts,
        out_of_domain: plan.out_of_domain,
        warnings: plan.warnings,
        ..Report::new(method, host, tls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Account;
    use crate::apply::sync;
    use crate::settings::AccountSettings;
    use crate::snapshot::DirectorySnapshot;

    const ACCOUNT: &str = r#"
users:
  - address: alice@corp.example.test
  - address: bob@corp.example.test
    origin: { directory-generated: 00000000-0000-0000-0000-000000000002 }
  - address: left@corp.example.test
    origin: { directory-generated: 00000000-0000-0000-0000-000000000009 }
"#;

    const DIRECTORY: &str = r#"
users:
  - guid: 00000000-0000-0000-0000-000000000001
    dn: CN=Alice,OU=Staff,DC=corp,DC=example,DC=test
    primary: alice@corp.example.test
    aliases: [al@corp.example.test]
    attributes: { department: [Sales] }
  - guid: 00000000-0000-0000-0000-000000000002
    dn: CN=Bob,OU=Staff,DC=corp,DC=example,DC=test
    primary: robert@corp.example.test
    disabled: true
  - guid: 00000000-0000-0000-0000-000000000003
    dn: CN=Carol,OU=Staff,DC=corp,DC=example,DC=test
    primary: carol@corp.example.test
  - guid: 00000000-0000-0000-0000-000000000004
    dn: CN=Carol Duplicate,OU=Staff,DC=corp,DC=example,DC=test
    primary: Carol@corp.example.test
  - guid: 00000000-0000-0000-0000-000000000005
    dn: CN=Dan,OU=Staff,DC=corp,DC=example,DC=test
    primary: dan@personal.example
groups:
  - guid: 00000000-0000-0000-0000-0000000000aa
    dn: CN=Sales,OU=Groups,DC=corp,DC=example,DC=test
    name: Sales
    address: sales@corp.example.test
    members:
      - 00000000-0000-0000-0000-000000000001
      - 00000000-0000-0000-0000-000000000002
      - 00000000-0000-0000-0000-0000000000c1
contacts:
  - guid: 00000000-0000-0000-0000-0000000000c1
    dn: CN=Supplier,OU=Contacts,DC=corp,DC=example,DC=test
    name: Supplier
    primary: orders@supplier.example
"#;

    const SETTINGS: &str = r#"
region: europe
domains: [corp.example.test]
link-aliases: true
acknowledge-disabled: true
sync-contacts: true
additional-attributes: [department]
"#;

    fn report() -> Report {
        let account: Account = serde_yaml::from_str(ACCOUNT).expect("account");
        let directory: DirectorySnapshot = serde_yaml::from_str(DIRECTORY).expect("directory");
        let settings: AccountSettings = serde_yaml::from_str(SETTINGS).expect("settings");
        let (_, plan) = sync(&account, &directory, &settings);
        from_plan(
            SyncMethod::DirectoryConnector,
            Some("dc1.corp.example.test".into()),
            TlsOutcome::Verified {
                server_name: "dc1.corp.example.test".into(),
            },
            plan,
        )
    }

    #[test]
    fn text_has_one_line_per_item_in_plan_order() {
        insta::assert_snapshot!("report_text", report().to_text());
    }

    #[test]
    fn json_carries_the_same_report() {
        let report = report();
        let json = report.to_json().expect("json");
        insta::assert_snapshot!("report_json", json);
        let back: Report = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, report);
    }

    #[test]
    fn counts_are_of_objects_not_lines() {
        let counts = report().counts;
        assert_eq!(
            counts.users_updated, 2,
            "alice (alias, department) and bob (address)"
        );
        assert_eq!(counts.groups_added, 1);
        assert_eq!(counts.conflicts, 1);
        assert_eq!(counts.out_of_domain, 1);
    }

    #[test]
    fn a_failed_run_names_its_host_and_the_whole_cause_chain() {
        #[derive(Debug, thiserror::Error)]
        #[error("bind as the service account failed")]
        struct Bind(#[source] std::io::Error);

        let cause = std::io::Error::other("invalid credentials (AD data 52e: wrong password)");
        let report = Report::failed(
            SyncMethod::DirectoryConnector,
            Some("dc2.corp.example.test".into()),
            TlsOutcome::Relaxed,
            &Bind(cause),
        );
        assert_eq!(
            report.to_text(),
            "sync: directory connector\n\
             host: dc2.corp.example.test\n\
             tls: relaxed (certificate not verified)\n\
             users: 0 added, 0 converted, 0 relinked, 0 updated, 0 unlinked, 0 removed, 0 disabled, 0 enabled\n\
             groups: 0 added, 0 updated, 0 removed\n\
             contacts: 0 added, 0 updated, 0 removed\n\
             conflicts: 0, out of domain: 0\n\
             errors:\n  \
             bind as the service account failed: invalid credentials (AD data 52e: wrong password)\n"
        );
    }
}
