//! `GET /v1.0/users/delta` and `/groups/delta`: a first round lists every object (groups
//! with all their members in `members@delta`) and ends with an `@odata.deltaLink`; a
//! later round, from that link, lists what changed since: objects created or changed
//! (by their `uSNChanged` against the round's watermark), objects gone as `@removed`
//! (deleted or moved out of the synchronized OUs; reason `changed`, as a soft-deleted
//! object is), and for a changed group the members added and removed in
//! `members@delta`. `$deltatoken=latest` answers no objects and a link from now.
//! A link fake-dc no longer holds (evicted, or dropped by the `invalidate-delta-tokens`
//! fault) answers Graph's `syncStateNotFound`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::error::GraphError;
use super::handlers::snapshot;
use super::objects::{Kind, Obj, View};
use super::page::{self, member_refs, wants_members};
use super::query::Options;
use super::state::{Cursor, DeltaState, GraphState, Item, Shape};
use super::view::{project, render};

fn sync_state_not_found() -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "syncStateNotFound",
        "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
    )
}

pub async fn delta(
    state: Arc<GraphState>,
    opts: Options,
    origin: String,
    path: String,
    kind: Kind,
) -> Result<Value, GraphError> {
    if let Some(token) = opts.skiptoken.clone() {
        return run(move || page::next(&state, &token, &origin)).await;
    }
    if opts.filter.is_some() {
        return Err(GraphError::unsupported_query(
            "fake-dc's delta query does not take $filter; filter the changes on the client.",
        ));
    }
    let page_number = 1;
    state.admit(page_number)?;
    run(move || {
        let (dir, now) = snapshot(&state)?;
        let tenant = dir.azure_ad.clone().ok_or_else(sync_state_not_found)?;
        let latest = opts
            .deltatoken
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("latest"));
        let items: Vec<Item> = match opts.deltatoken.as_deref() {
            None => View {
                dir: &dir,
                tenant: &tenant,
            }
            .all(kind)
            .into_iter()
            .map(Item::Obj)
            .collect(),
            Some(_) if latest => Vec::new(),
            Some(token) => {
                let old = state.delta(token).ok_or_else(sync_state_not_found)?;
                if old.kind != kind {
                    return Err(sync_state_not_found());
                }
                let new = View {
                    dir: &dir,
                    tenant: &tenant,
                };
                changes(&old, new, opts.select.as_deref().or(old.select.as_deref()))
            }
        };
        let select = opts.select.clone().or_else(|| {
            opts.deltatoken
                .as_deref()
                .and_then(|t| state.delta(t))
                .and_then(|s| s.select)
        });
        let usn = dir.highest_usn();
        let cursor = Cursor {
            snapshot: dir,
            tenant,
            items: Arc::new(items),
            pos: 0,
            top: opts.page_size(),
            select: select.clone(),
            kind,
            shape: Shape::Delta,
            path,
            context: match &select {
                Some(s) => format!("{}({})", kind.collection(), s.join(",")),
                None => kind.collection().to_owned(),
            },
            query: match &select {
                Some(s) => {
                    serde_urlencoded::to_string([("$select", s.join(","))]).unwrap_or_default()
                }
                None => String::new(),
            },
            opened: now,
            page: 1,
            usn,
        };
        Ok(page::serve(&state, cursor, &origin, None))
    })
    .await
}

async fn run<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, GraphError> + Send + 'static,
) -> Result<T, GraphError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|_| {
        Err(GraphError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "An internal error occurred.",
        ))
    })
}

/// What changed between the round that issued `old` and `new`, rendered.
fn changes(old: &DeltaState, new: View<'_>, select: Option<&[String]>) -> Vec<Item> {
    let before = View {
        dir: &old.snapshot,
        tenant: &old.tenant,
    };
    let old_ids: HashMap<String, Obj> = before
        .all(old.kind)
        .into_iter()
        .map(|o| (before.id(o), o))
        .collect();
    let mut out = Vec::new();
    let mut present = std::collections::HashSet::new();
    for obj in new.all(old.kind) {
        let id = new.id(obj);
        let previous = old_ids.get(&id).copied();
        present.insert(id);
        let changed = match (obj, previous) {
            (_, None) => true,
            (Obj::Entry(e), Some(_)) => new.dir.entry(e).usn_changed > old.usn,
            // Cloud objects change only with the fixture.
            _ => false,
        };
        if !changed {
            continue;
        }
        let mut m: Map<String, Value> = project(render(new, obj), old.kind, select);
        if old.kind == Kind::Group && wants_members(select) {
            let now_members = new.members(obj);
            let now_ids: std::collections::HashSet<String> =
                now_members.iter().map(|m| new.id(*m)).collect();
            let mut refs = match previous {
                None => member_refs(new, &now_members),
                Some(p) => {
                    let then: Vec<Obj> = before.members(p);
                    let then_ids: std::collections::HashSet<String> =
                        then.iter().map(|m| before.id(*m)).collect();
                    let added: Vec<Obj> = now_members
                        .iter()
                        .copied()
                        .filter(|m| !then_ids.contains(&new.id(*m)))
                        .collect();
                    let mut refs = member_refs(new, &added);
                    if let Value::Array(list) = &mut refs {
                        for m in then.iter().filter(|m| !now_ids.contains(&before.id(**m))) {
                            list.push(json!({
                                "@odata.type": before.kind(*m).odata_type(),
                                "id": before.id(*m),
                                "@removed": {"reason": "deleted"},
                            }));
                        }
                    }
                    refs
                }
            };
            if let Value::Array(list) = &mut refs {
                list.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
            }
            m.insert("members@delta".into(), refs);
        }
        out.push(Item::Rendered(Value::Object(m)));
    }
    let mut removed: Vec<&String> = old_ids.keys().filter(|id| !present.contains(*id)).collect();
    removed.sort();
    for id in removed {
        out.push(Item::Rendered(json!({
            "id": id,
            "@removed": {"reason": "changed"},
        })));
    }
    out
}
