//! Rules a scenario must keep beyond parsing, so that every check it writes can fail:
//! it states at least one expectation besides its snapshot (an `expect` step, or a
//! `sign-in` with its expected result), and nothing in an `expect` is empty. An empty
//! `includes`, `excludes`, `expect`, or an entry without a field checks nothing and
//! would pass any engine. Exact forms may be empty: `aliases: []` and `members: []` say
//! "none".

use super::model::{Expectation, Scenario, Step};

/// One broken rule: the YAML path of the offending node (for its line) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path as [`fake_dc::fixture::Locator`] reads it (`steps[2].expect.groups.X`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Every broken rule of `scenario`.
pub fn problems(scenario: &Scenario) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut expectations = 0;
    for (i, step) in scenario.steps.iter().enumerate() {
        match step {
            Step::Expect(e) => {
                expectations += 1;
                expectation(&format!("steps[{i}].expect"), e, &mut out);
            }
            Step::SignIn(_) => expectations += 1,
            _ => {}
        }
    }
    let azure = scenario.method == engine_contract::report::SyncMethod::AzureAd;
    if azure && scenario.azure_ad.is_none() {
        out.push(Problem {
            path: "method".into(),
            message: "method azure-ad needs an `azure-ad:` section (tenant, application, secret)"
                .into(),
        });
    }
    let google = scenario.method == engine_contract::report::SyncMethod::GoogleWorkspace;
    if !azure && !google && scenario.connector.is_none() {
        out.push(Problem {
            path: "method".into(),
            message: format!("method {} needs a `connector:` section", scenario.method),
        });
    }
    if azure && scenario.steps.iter().any(|s| matches!(s, Step::SignIn(_))) {
        out.push(Problem {
            path: "steps".into(),
            message: "the azure-ad method has no sign-in pass-through".into(),
        });
    }
    out.extend(super::google::problems(scenario));
    if expectations == 0 {
        out.push(Problem {
            path: "steps".into(),
            message: "no expectation: a scenario must check something besides its snapshot \
                      (an `expect` step, or a `sign-in` with its expected result)"
                .into(),
        });
    }
    out
}

fn expectation(at: &str, e: &Expectation, out: &mut Vec<Problem>) {
    let mut empty = |path: String, what: &str| {
        out.push(Problem {
            path,
            message: format!("{what} checks nothing: give what to check, or leave it out"),
        });
    };
    if e.users.is_empty()
        && e.groups.is_empty()
        && e.contacts.is_empty()
        && e.totals.is_none()
        && e.last_sync.is_none()
    {
        empty(at.to_string(), "an empty `expect`");
        return;
    }
    for (address, u) in &e.users {
        let path = format!("{at}.users.{address}");
        if u.exists.is_none()
            && u.disabled.is_none()
            && u.origin.is_none()
            && u.aliases.is_none()
            && u.attributes.is_empty()
            && u.object_guid.is_none()
        {
            empty(path, &format!("user {address} without a field"));
        }
    }
    for (name, g) in &e.groups {
        let path = format!("{at}.groups.{name}");
        if g.includes.is_none()
            && g.excludes.is_none()
            && g.exists.is_none()
            && g.members.is_none()
            && g.member_count.is_none()
            && g.object_guid.is_none()
        {
            empty(path.clone(), &format!("group {name} without a field"));
        }
        for (field, list) in [("includes", &g.includes), ("excludes", &g.excludes)] {
            if list.as_ref().is_some_and(Vec::is_empty) {
                empty(format!("{path}.{field}"), &format!("an empty `{field}`"));
            }
        }
    }
    if let Some(t) = &e.totals {
        if t.users.is_none()
            && t.directory_users.is_none()
            && t.groups.is_none()
            && t.contacts.is_none()
        {
            empty(format!("{at}.totals"), "an empty `totals`");
        }
    }
    if let Some(r) = &e.last_sync {
        if r.outcome.is_none()
            && r.host.is_none()
            && r.tls.is_none()
            && r.error_contains.is_none()
            && r.changes.is_none()
            && r.conflicts.is_none()
            && r.out_of_domain.is_none()
            && r.extraction.is_none()
        {
            empty(format!("{at}.last-sync"), "an empty `last-sync`");
        }
    }
}
