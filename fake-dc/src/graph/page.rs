//! Serving a listing page by page: the first page when the listing is made, the rest
//! through `@odata.nextLink` (`$skiptoken`), a delta round's last page with its
//! `@odata.deltaLink`. Pages are rendered from the directory as it was when the listing
//! began, so a change made mid-listing never tears a page.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::error::GraphError;
use super::objects::{Kind, Obj, View};
use super::state::{Cursor, DeltaState, GraphState, Item, Shape};
use super::view::{directory_object, project, render};

/// Whether `members@delta` goes with a group of a delta round: asked for by `$select`,
/// or no `$select` at all.
pub fn wants_members(select: Option<&[String]>) -> bool {
    select.is_none_or(|s| s.iter().any(|p| p.eq_ignore_ascii_case("members")))
}

/// A group's members as `members@delta` lists them.
pub fn member_refs(view: View<'_>, members: &[Obj]) -> Value {
    Value::Array(
        members
            .iter()
            .map(|m| json!({"@odata.type": view.kind(*m).odata_type(), "id": view.id(*m)}))
            .collect(),
    )
}

fn render_item(cursor: &Cursor, item: &Item) -> Value {
    let view = View {
        dir: &cursor.snapshot,
        tenant: &cursor.tenant,
    };
    let select = cursor.select.as_deref();
    match (item, cursor.shape) {
        (Item::Rendered(v), _) => v.clone(),
        (Item::Obj(o), Shape::DirectoryObjects) => directory_object(view, *o, select),
        (Item::Obj(o), Shape::List) => {
            Value::Object(project(render(view, *o), cursor.kind, select))
        }
        (Item::Obj(o), Shape::Delta) => {
            let mut m: Map<String, Value> = project(render(view, *o), cursor.kind, select);
            if cursor.kind == Kind::Group && wants_members(select) {
                m.insert("members@delta".into(), member_refs(view, &view.members(*o)));
            }
            Value::Object(m)
        }
    }
}

/// Serves the cursor's next page; keeps it for a nextLink when items remain.
pub fn serve(state: &GraphState, mut cursor: Cursor, origin: &str, count: Option<usize>) -> Value {
    let end = (cursor.pos + cursor.top).min(cursor.items.len());
    let value: Vec<Value> = cursor.items[cursor.pos..end]
        .iter()
        .map(|item| render_item(&cursor, item))
        .collect();
    let mut page = Map::new();
    page.insert(
        "@odata.context".into(),
        json!(format!("{origin}/v1.0/$metadata#{}", cursor.context)),
    );
    if let Some(n) = count {
        page.insert("@odata.count".into(), json!(n));
    }
    let path = cursor.path.clone();
    let carried = cursor.query.clone();
    if end < cursor.items.len() {
        cursor.pos = end;
        cursor.page += 1;
        let token = state.open(cursor);
        let sep = if carried.is_empty() { "" } else { "&" };
        page.insert(
            "@odata.nextLink".into(),
            json!(format!("{origin}{path}?{carried}{sep}$skiptoken={token}")),
        );
    } else if cursor.shape == Shape::Delta {
        let token = state.keep_delta(DeltaState {
            snapshot: cursor.snapshot,
            tenant: cursor.tenant,
            kind: cursor.kind,
            select: cursor.select,
            usn: cursor.usn,
        });
        page.insert(
            "@odata.deltaLink".into(),
            json!(format!("{origin}{path}?$deltatoken={token}")),
        );
    }
    page.insert("value".into(), Value::Array(value));
    Value::Object(page)
}

/// The next page of the listing behind `token`.
pub fn next(state: &GraphState, token: &str, origin: &str) -> Result<Value, GraphError> {
    let expired = || {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your request.",
        )
    };
    if state.faults().spec.expire_page_tokens {
        return Err(expired());
    }
    let cursor = state.take_cursor(token).ok_or_else(expired)?;
    let now = state.tenant().map_or(0, |(_, now)| now);
    let lifetime = i64::try_from(cursor.tenant.page_token_lifetime).unwrap_or(i64::MAX / 2);
    if now > cursor.opened.saturating_add(lifetime) {
        return Err(expired());
    }
    state.admit(cursor.page)?;
    Ok(serve(state, cursor, origin, None))
}
