//! The tenant as the Azure AD method remembers it between runs: users and groups as
//! Graph last described them (properties merged round by round, since a delta answer
//! may carry only what changed), each group's direct members, and the delta links to
//! continue from. It travels as the contract's `engine-state`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a run leaves for the next one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TenantState {
    /// Which settings the state was read with; other settings read everything again.
    pub tenant: String,
    /// The application ID.
    pub application: String,
    /// Where to continue the users' delta query.
    pub users_link: String,
    /// Where to continue the groups' delta query.
    pub groups_link: String,
    /// Users by Graph id.
    pub users: BTreeMap<String, Map<String, Value>>,
    /// Groups by Graph id (without `members@delta`).
    pub groups: BTreeMap<String, Map<String, Value>>,
    /// Each group's direct members, by Graph id.
    pub members: BTreeMap<String, BTreeSet<String>>,
}

/// What one round changed, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Objects created or changed.
    pub changed: u64,
    /// Objects removed.
    pub removed: u64,
}

fn is_removed(item: &Map<String, Value>) -> bool {
    item.contains_key("@removed")
}

impl TenantState {
    /// Folds a round of `/users/delta` items in.
    pub fn apply_users(&mut self, items: Vec<Value>) -> Result<Applied, String> {
        let mut applied = Applied::default();
        for item in items {
            let Value::Object(item) = item else {
                return Err("a delta item is not an object".into());
            };
            let id = id_of(&item)?;
            if is_removed(&item) {
                self.users.remove(&id);
                applied.removed += 1;
            } else {
                merge(self.users.entry(id).or_default(), item);
                applied.changed += 1;
            }
        }
        Ok(applied)
    }

    /// Folds a round of `/groups/delta` items in, `members@delta` included.
    pub fn apply_groups(&mut self, items: Vec<Value>) -> Result<Applied, String> {
        let mut applied = Applied::default();
        for item in items {
            let Value::Object(mut item) = item else {
                return Err("a delta item is not an object".into());
            };
            let id = id_of(&item)?;
            if is_removed(&item) {
                self.groups.remove(&id);
                self.members.remove(&id);
                applied.removed += 1;
                continue;
            }
            applied.changed += 1;
            if let Some(Value::Array(refs)) = item.remove("members@delta") {
                let members = self.members.entry(id.clone()).or_default();
                for r in refs {
                    let Value::Object(r) = r else {
                        return Err("a members@delta item is not an object".into());
                    };
                    let member = id_of(&r)?;
                    if is_removed(&r) {
                        members.remove(&member);
                    } else {
                        members.insert(member);
                    }
                }
            }
            merge(self.groups.entry(id).or_default(), item);
        }
        Ok(applied)
    }
}

fn id_of(item: &Map<String, Value>) -> Result<String, String> {
    item.get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| "a delta item has no id".to_owned())
}

/// Later properties win; annotations (`@odata.type`) are not kept.
fn merge(into: &mut Map<String, Value>, item: Map<String, Value>) {
    for (k, v) in item {
        if !k.starts_with('@') {
            into.insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn items(v: Value) -> Vec<Value> {
        v.as_array().cloned().unwrap_or_default()
    }

    #[test]
    fn rounds_merge_properties_members_and_removals() {
        let mut s = TenantState::default();
        s.apply_users(items(
            json!([{"id": "a", "mail": "a@x", "displayName": "A"}, {"id": "b"}]),
        ))
        .ok();
        s.apply_groups(items(json!([{"id": "g", "displayName": "G",
            "members@delta": [{"@odata.type": "#microsoft.graph.user", "id": "a"}, {"id": "b"}]}])))
            .ok();
        let a = s
            .apply_users(items(json!([{"id": "a", "mail": "a2@x"}, {"id": "b", "@removed": {"reason": "changed"}}])))
            .ok();
        assert_eq!(
            a,
            Some(Applied {
                changed: 1,
                removed: 1
            })
        );
        assert_eq!(s.users["a"]["displayName"], "A");
        assert_eq!(s.users["a"]["mail"], "a2@x");
        assert!(!s.users.contains_key("b"));
        s.apply_groups(items(
            json!([{"id": "g", "members@delta": [{"id": "b", "@removed": {"reason": "deleted"}}]}]),
        ))
        .ok();
        assert_eq!(s.members["g"], BTreeSet::from(["a".to_owned()]));
        assert_eq!(s.groups["g"]["displayName"], "G");
        assert!(s.apply_users(items(json!([{"mail": "no id"}]))).is_err());
    }
}
