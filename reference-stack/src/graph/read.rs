//! Reading the tenant: a delta round follows `@odata.nextLink` to the page carrying
//! `@odata.deltaLink`; a first round (no link yet) lists everything, which is the Azure
//! AD method's full read. `transitiveMembers` resolves the groups whose members the
//! administrator chose to sync, nested groups included.

use std::collections::BTreeSet;

use serde_json::Value;

use super::client::{GraphClient, GraphError};

/// The properties read of a user: identity, addresses, state and where it came from.
pub const USER_SELECT: &str = "id,displayName,userPrincipalName,mail,proxyAddresses,accountEnabled,onPremisesImmutableId,onPremisesSyncEnabled,onPremisesDistinguishedName";
/// The properties read of a group, with `members` so rounds carry `members@delta`.
pub const GROUP_SELECT: &str = "id,displayName,mail,mailEnabled,securityEnabled,proxyAddresses,onPremisesSyncEnabled,onPremisesDistinguishedName,members";

/// Pages followed at most in one round: 100,000 objects at 999 a page is ~100 pages; a
/// server that never ends a round must not keep the run going forever.
const MAX_PAGES: u32 = 10_000;

/// A finished round.
pub struct Round {
    /// Every item of every page, in order.
    pub items: Vec<Value>,
    /// Where the next round continues.
    pub delta_link: String,
    /// Pages read.
    pub pages: u32,
}

fn value(page: &mut Value) -> Result<Vec<Value>, GraphError> {
    match page.get_mut("value").map(Value::take) {
        Some(Value::Array(items)) => Ok(items),
        _ => Err(GraphError::Malformed("a page without a value array".into())),
    }
}

/// Follows a round from `url` to its delta link.
pub async fn round(client: &mut GraphClient, url: &str) -> Result<Round, GraphError> {
    let mut items = Vec::new();
    let mut next = url.to_owned();
    for pages in 1..=MAX_PAGES {
        let mut page = client.get(&next).await?;
        items.append(&mut value(&mut page)?);
        if let Some(link) = page["@odata.deltaLink"].as_str() {
            return Ok(Round {
                items,
                delta_link: link.to_owned(),
                pages,
            });
        }
        match page["@odata.nextLink"].as_str() {
            Some(link) => next = link.to_owned(),
            None => {
                return Err(GraphError::Malformed(
                    "a delta page with neither @odata.nextLink nor @odata.deltaLink".into(),
                ))
            }
        }
    }
    Err(GraphError::Malformed(format!(
        "a delta round did not end within {MAX_PAGES} pages"
    )))
}

/// The ids of every user in `group`, nested groups included.
pub async fn transitive_users(
    client: &mut GraphClient,
    group_id: &str,
) -> Result<BTreeSet<String>, GraphError> {
    let mut users = BTreeSet::new();
    let mut next = format!(
        "{}/groups/{group_id}/transitiveMembers?$select=id&$top=999",
        client.graph_url()
    );
    for _ in 0..MAX_PAGES {
        let mut page = client.get(&next).await?;
        for item in value(&mut page)? {
            if item["@odata.type"] == "#microsoft.graph.user" {
                if let Some(id) = item["id"].as_str() {
                    users.insert(id.to_owned());
                }
            }
        }
        match page["@odata.nextLink"].as_str() {
            Some(link) => next = link.to_owned(),
            None => return Ok(users),
        }
    }
    Err(GraphError::Malformed(format!(
        "transitiveMembers of {group_id} did not end within {MAX_PAGES} pages"
    )))
}
