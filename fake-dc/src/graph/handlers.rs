//! The `/v1.0` routes: collections, single objects, relations, `$count` and delta.
//! Each handler parses its options, asks the fault state whether to answer, and does
//! the directory work on the blocking pool (a filter over 100,000 users must not hold
//! an I/O thread).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::auth::origin;
use super::delta;
use super::error::GraphError;
use super::objects::{Kind, Obj, View};
use super::page;
use super::query::Options;
use super::state::{Cursor, GraphState, Item, Shape};
use super::view::{project, render};

type Pairs = Query<Vec<(String, String)>>;

fn kind_of(collection: &str) -> Result<Kind, GraphError> {
    match collection.to_ascii_lowercase().as_str() {
        "users" => Ok(Kind::User),
        "groups" => Ok(Kind::Group),
        _ => Err(GraphError::bad_request(format!(
            "Resource not found for the segment '{collection}'."
        ))),
    }
}

fn respond(result: Result<Value, GraphError>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Runs directory work on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, GraphError> + Send + 'static,
) -> Result<T, GraphError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|_| {
        Err(GraphError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "An internal error occurred.",
        ))
    })
}

/// The directory (a snapshot) and its tenant, now.
pub fn snapshot(state: &GraphState) -> Result<(crate::directory::Directory, i64), GraphError> {
    let dir = state
        .directory
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if dir.azure_ad.is_none() {
        return Err(GraphError::invalid_token("The tenant no longer exists."));
    }
    let now = dir.now();
    Ok((dir.clone(), now))
}

/// Filters, counts and opens a listing, serving its first page.
/// What a listing is of: its URL path, its resource, its items' shape, `@odata.context`.
struct Target {
    path: String,
    kind: Kind,
    shape: Shape,
    context: String,
}

fn list(
    state: &GraphState,
    opts: Options,
    origin: &str,
    target: Target,
    items: impl FnOnce(View<'_>) -> Result<Vec<Obj>, GraphError>,
) -> Result<Value, GraphError> {
    let Target {
        path,
        kind,
        shape,
        context,
    } = target;
    let (dir, now) = snapshot(state)?;
    let tenant = dir
        .azure_ad
        .clone()
        .ok_or_else(|| GraphError::invalid_token("The tenant no longer exists."))?;
    let view = View {
        dir: &dir,
        tenant: &tenant,
    };
    let mut objs = items(view)?;
    if let Some(f) = &opts.filter {
        objs.retain(|o| f.matches(&render(view, *o)));
    }
    let count = opts.count.then_some(objs.len());
    let usn = dir.highest_usn();
    let cursor = Cursor {
        snapshot: dir,
        tenant: tenant.clone(),
        items: Arc::new(objs.into_iter().map(Item::Obj).collect()),
        pos: 0,
        top: opts.page_size(),
        select: opts.select,
        kind,
        shape,
        path,
        context,
        query: opts.carried,
        opened: now,
        page: 1,
        usn,
    };
    Ok(page::serve(state, cursor, origin, count))
}

fn context(kind: Kind, select: Option<&[String]>) -> String {
    match select {
        Some(s) => format!("{}({})", kind.collection(), s.join(",")),
        None => kind.collection().to_owned(),
    }
}

/// `GET /v1.0/users`, `GET /v1.0/groups`.
pub async fn collection(
    State(state): State<Arc<GraphState>>,
    Path(collection): Path<String>,
    Query(pairs): Pairs,
    headers: HeaderMap,
) -> Response {
    let origin = origin(&headers);
    respond(
        async {
            let kind = kind_of(&collection)?;
            let opts = Options::parse(&pairs, &headers)?;
            if let Some(token) = opts.skiptoken.clone() {
                return blocking(move || page::next(&state, &token, &origin)).await;
            }
            state.admit(1)?;
            let path = format!("/v1.0/{}", kind.collection());
            let ctx = context(kind, opts.select.as_deref());
            blocking(move || {
                let target = Target {
                    path,
                    kind,
                    shape: Shape::List,
                    context: ctx,
                };
                list(&state, opts, &origin, target, |v| Ok(v.all(kind)))
            })
            .await
        }
        .await,
    )
}

/// `GET /v1.0/{collection}/{segment}`: `delta` (also `delta()` and
/// `microsoft.graph.delta()`, as the SDKs write it), `$count`, or an object by id (a
/// user also by userPrincipalName).
pub async fn item(
    State(state): State<Arc<GraphState>>,
    Path((collection, segment)): Path<(String, String)>,
    Query(pairs): Pairs,
    headers: HeaderMap,
) -> Response {
    let origin = origin(&headers);
    let kind = match kind_of(&collection) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    let opts = match Options::parse(&pairs, &headers) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let function = segment.trim_start_matches("microsoft.graph.");
    if function == "delta" || function == "delta()" {
        let path = format!("/v1.0/{}/{segment}", kind.collection());
        return respond(delta::delta(state, opts, origin, path, kind).await);
    }
    if segment == "$count" {
        if !opts.eventual {
            return GraphError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "$count is not currently supported.",
            )
            .into_response();
        }
        if let Err(e) = state.admit(1) {
            return e.into_response();
        }
        let counted = blocking(move || {
            let (dir, _) = snapshot(&state)?;
            let tenant = dir
                .azure_ad
                .clone()
                .ok_or_else(|| GraphError::not_found("tenant"))?;
            let view = View {
                dir: &dir,
                tenant: &tenant,
            };
            let mut objs = view.all(kind);
            if let Some(f) = &opts.filter {
                objs.retain(|o| f.matches(&render(view, *o)));
            }
            Ok(objs.len())
        })
        .await;
        return match counted {
            Ok(n) => ([(header::CONTENT_TYPE, "text/plain")], n.to_string()).into_response(),
            Err(e) => e.into_response(),
        };
    }
    if let Err(e) = state.admit(1) {
        return e.into_response();
    }
    respond(
        blocking(move || {
            let (dir, _) = snapshot(&state)?;
            let tenant = dir
                .azure_ad
                .clone()
                .ok_or_else(|| GraphError::not_found(&segment))?;
            let view = View {
                dir: &dir,
                tenant: &tenant,
            };
            let found = match kind {
                Kind::User => view.find_user(&segment),
                Kind::Group => view.find(&segment).filter(|o| view.kind(*o) == Kind::Group),
            };
            let obj = found.ok_or_else(|| GraphError::not_found(&segment))?;
            let mut out = Map::new();
            out.insert(
                "@odata.context".into(),
                json!(format!(
                    "{origin}/v1.0/$metadata#{}/$entity",
                    context(kind, opts.select.as_deref())
                )),
            );
            out.extend(project(render(view, obj), kind, opts.select.as_deref()));
            Ok(Value::Object(out))
        })
        .await,
    )
}

/// `GET /v1.0/{collection}/{id}/{relation}`: `members` and `transitiveMembers` of a
/// group, `memberOf` and `transitiveMemberOf` of a user or group.
pub async fn relation(
    State(state): State<Arc<GraphState>>,
    Path((collection, id, relation)): Path<(String, String, String)>,
    Query(pairs): Pairs,
    headers: HeaderMap,
) -> Response {
    let origin = origin(&headers);
    respond(
        async {
            let kind = kind_of(&collection)?;
            let opts = Options::parse(&pairs, &headers)?;
            if let Some(token) = opts.skiptoken.clone() {
                return blocking(move || page::next(&state, &token, &origin)).await;
            }
            let rel = relation.to_ascii_lowercase();
            let known = matches!(
                (kind, rel.as_str()),
                (Kind::Group, "members" | "transitivemembers")
                    | (_, "memberof" | "transitivememberof")
            );
            if !known {
                return Err(GraphError::bad_request(format!(
                    "Resource not found for the segment '{relation}'."
                )));
            }
            state.admit(1)?;
            let path = format!("/v1.0/{}/{id}/{relation}", kind.collection());
            blocking(move || {
                let target = Target {
                    path,
                    kind,
                    shape: Shape::DirectoryObjects,
                    context: "directoryObjects".into(),
                };
                list(&state, opts, &origin, target, |view| {
                    let obj = match kind {
                        Kind::User => view.find_user(&id),
                        Kind::Group => view.find(&id).filter(|o| view.kind(*o) == Kind::Group),
                    }
                    .ok_or_else(|| GraphError::not_found(&id))?;
                    Ok(match rel.as_str() {
                        "members" => view.members(obj),
                        "transitivemembers" => view.transitive_members(obj),
                        "memberof" => view.member_of(obj),
                        _ => view.transitive_member_of(obj),
                    })
                })
            })
            .await
        }
        .await,
    )
}
