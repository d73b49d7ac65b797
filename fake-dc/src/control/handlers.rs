//! One function per route. Each parses and checks its input first, then does its work
//! on the blocking pool when it touches the directory (a snapshot, a reload or a batch
//! over 100,000 entries must not hold up the I/O threads other clients share).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;

use super::changes::{self, ChangeError};
use super::error::ApiError;
use super::model::{
    AllStats, ChangesApplied, ChangesQuery, ChangesRequest, ChangesSince, ClockRequest, ClockState,
    ErrorBody, Faults, HostInfo, ReloadRequest, Reloaded, SnapshotInfo, SnapshotRequest,
};
use super::state::ControlState;
use crate::server::{Fault, ProtocolFault, StatsSnapshot};

/// The shared state as handlers receive it.
pub type Ctl = State<Arc<ControlState>>;

/// A JSON body whose errors name the field at fault (`changes[0].add-user.parent`)
/// instead of axum's plain-text rejection. An empty body reads as `{}`.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad("body", e.body_text()))?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(de).map(Body).map_err(|e| {
            let field = match e.path().to_string() {
                p if p == "." => "body".to_string(),
                p => p,
            };
            ApiError::bad(field, e.into_inner().to_string())
        })
    }
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The host named in the path, checked.
fn host(state: &ControlState, name: &str) -> Result<String, ApiError> {
    let lower = name.to_ascii_lowercase();
    let names = state.dc.host_names();
    if names.contains(&lower) {
        Ok(lower)
    } else {
        Err(ApiError::not_found(
            "host",
            format!(
                "'{name}' is not a served DC host; served: {}",
                names.join(", ")
            ),
        ))
    }
}

/// Where every host listens.
#[utoipa::path(get, path = "/hosts", tag = "hosts",
    responses((status = 200, body = Vec<HostInfo>), (status = 401, body = ErrorBody)))]
pub async fn hosts(State(state): Ctl) -> Json<Vec<HostInfo>> {
    let show = |a: Option<std::net::SocketAddr>| a.map(|a| a.to_string());
    Json(
        state
            .dc
            .all_addresses()
            .into_iter()
            .map(|(name, a)| HostInfo {
                name,
                ldap: show(a.ldap),
                ldaps: show(a.ldaps),
                gc: show(a.gc),
                gc_tls: show(a.gc_tls),
            })
            .collect(),
    )
}

/// Applies a batch of directory changes in order, all or nothing.
#[utoipa::path(post, path = "/changes", tag = "directory", request_body = ChangesRequest,
    responses(
        (status = 200, body = ChangesApplied),
        (status = 400, description = "malformed: the field is named", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "refused by the directory; nothing applied", body = ErrorBody)))]
pub async fn apply_changes(
    State(state): Ctl,
    Body(req): Body<ChangesRequest>,
) -> Result<Json<ChangesApplied>, ApiError> {
    let applied = req.changes.len();
    let result = blocking(move || {
        state.write(|d| changes::apply_all(d, &req.changes).map(|()| d.highest_usn()))
    })
    .await?;
    match result {
        Ok(highest_usn) => Ok(Json(ChangesApplied {
            applied,
            highest_usn,
        })),
        Err((
            i,
            ChangeError {
                field,
                message,
                malformed,
            },
        )) => {
            let field = format!("changes[{i}].{field}");
            let message = format!("{field}: {message} (nothing was applied)");
            Err(if malformed {
                ApiError::bad(field, message)
            } else {
                ApiError::Unprocessable { field, message }
            })
        }
    }
}

/// The entries changed since a USN (what a delta sync should see).
#[utoipa::path(get, path = "/changes", tag = "directory", params(ChangesQuery),
    responses((status = 200, body = ChangesSince), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn changes_since(
    State(state): Ctl,
    RawQuery(query): RawQuery,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let value = query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("since="))
        .ok_or_else(|| ApiError::bad("since", "give ?since=USN (0 for every entry)"))?;
    let since: u64 = value
        .parse()
        .map_err(|_| ApiError::bad("since", format!("'{value}' is not a USN")))?;
    // Since 0 on 100,000 entries is megabytes of JSON: written on the blocking pool too.
    let body = blocking(move || serde_json::to_vec(&state.changes_since(since)))
        .await?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    ))
}

/// The faults a request body asks for, checked.
fn faults_of(f: &Faults) -> Result<Vec<Fault>, ApiError> {
    let mut out = Vec::new();
    let flags = [
        (f.down, Fault::Down),
        (f.busy, Fault::Busy),
        (f.unavailable, Fault::Unavailable),
        (f.tls_failure, Fault::TlsHandshakeFailure),
        (
            f.wrong_message_id,
            Fault::Protocol(ProtocolFault::WrongMessageId),
        ),
        (f.huge_value, Fault::Protocol(ProtocolFault::HugeValue)),
        (
            f.endless_paging,
            Fault::Protocol(ProtocolFault::EndlessPaging),
        ),
        (
            f.endless_range,
            Fault::Protocol(ProtocolFault::EndlessRange),
        ),
        (
            f.self_referral,
            Fault::Protocol(ProtocolFault::SelfReferral),
        ),
        (f.slow_drip, Fault::Protocol(ProtocolFault::SlowDrip)),
        (
            f.missing_entries,
            Fault::Protocol(ProtocolFault::MissingEntries),
        ),
    ];
    out.extend(flags.into_iter().filter(|(on, _)| *on).map(|(_, x)| x));
    if let Some(ms) = f.latency_ms {
        out.push(Fault::Latency(Duration::from_millis(ms)));
    }
    if let Some(n) = f.drop_after_entries {
        out.push(Fault::DropAfterEntries(n));
    }
    if let Some(n) = f.drop_on_page {
        if n == 0 {
            return Err(ApiError::bad("drop-on-page", "pages count from 1"));
        }
        out.push(Fault::DropOnPage(n));
    }
    if let Some(n) = f.garbage_after_entries {
        out.push(Fault::Protocol(ProtocolFault::GarbageAfterEntries(n)));
    }
    if let Some(n) = f.truncate_after_entries {
        out.push(Fault::Protocol(ProtocolFault::TruncateAfterEntries(n)));
    }
    if out.is_empty() {
        return Err(ApiError::bad(
            "body",
            "no fault given (e.g. {\"busy\": true})",
        ));
    }
    Ok(out)
}

/// The faults active on a host.
#[utoipa::path(get, path = "/hosts/{host}/faults", tag = "faults",
    params(("host" = String, Path, description = "a served DC host")),
    responses((status = 200, body = Faults), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_faults(
    State(state): Ctl,
    Path(name): Path<String>,
) -> Result<Json<Faults>, ApiError> {
    let name = host(&state, &name)?;
    let set = state
        .dc
        .faults(&name)
        .map_err(|e| ApiError::not_found("host", e.to_string()))?;
    Ok(Json(set.into()))
}

/// Adds faults to a host (they add up); answers the faults now active.
#[utoipa::path(post, path = "/hosts/{host}/faults", tag = "faults", request_body = Faults,
    params(("host" = String, Path, description = "a served DC host")),
    responses((status = 200, body = Faults), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_faults(
    State(state): Ctl,
    Path(name): Path<String>,
    Body(req): Body<Faults>,
) -> Result<Json<Faults>, ApiError> {
    let name = host(&state, &name)?;
    for fault in faults_of(&req)? {
        state
            .dc
            .fault(&name, fault)
            .await
            .map_err(|e| ApiError::not_found("host", e.to_string()))?;
    }
    get_faults(State(state), Path(name)).await
}

/// Clears every fault of a host (a host that was down listens again on its ports).
#[utoipa::path(delete, path = "/hosts/{host}/faults", tag = "faults",
    params(("host" = String, Path, description = "a served DC host")),
    responses((status = 200, body = Faults), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn clear_faults(
    State(state): Ctl,
    Path(name): Path<String>,
) -> Result<Json<Faults>, ApiError> {
    let name = host(&state, &name)?;
    state
        .dc
        .clear_faults(&name)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    get_faults(State(state), Path(name)).await
}

/// Operation statistics of one host.
#[utoipa::path(get, path = "/hosts/{host}/stats", tag = "stats",
    params(("host" = String, Path, description = "a served DC host")),
    responses((status = 200, body = StatsSnapshot), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn host_stats(
    State(state): Ctl,
    Path(name): Path<String>,
) -> Result<Json<StatsSnapshot>, ApiError> {
    let name = host(&state, &name)?;
    state
        .dc
        .stats(&name)
        .map(Json)
        .map_err(|e| ApiError::not_found("host", e.to_string()))
}

/// Operation statistics of every host.
#[utoipa::path(get, path = "/stats", tag = "stats",
    responses((status = 200, body = AllStats), (status = 401, body = ErrorBody)))]
pub async fn all_stats(State(state): Ctl) -> Json<AllStats> {
    let hosts = state
        .dc
        .host_names()
        .into_iter()
        .filter_map(|h| state.dc.stats(&h).ok().map(|s| (h, s)))
        .collect();
    Json(AllStats { hosts })
}

/// Sets every host's statistics back to zero.
#[utoipa::path(delete, path = "/stats", tag = "stats",
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn reset_stats(State(state): Ctl) -> StatusCode {
    for h in state.dc.host_names() {
        let _ = state.dc.reset_stats(&h);
    }
    StatusCode::NO_CONTENT
}

/// 1601-01-01T00:00:00Z, FILETIME's zero, in Unix seconds.
const MIN_UNIX: i64 = -11_644_473_600;
/// 9999-12-31T23:59:59Z, the last generalized time.
const MAX_UNIX: i64 = 253_402_300_799;

/// The directory clock.
#[utoipa::path(get, path = "/clock", tag = "clock",
    responses((status = 200, body = ClockState), (status = 401, body = ErrorBody)))]
pub async fn get_clock(State(state): Ctl) -> Json<ClockState> {
    Json(ClockState {
        now: state.clock.now(),
        offset_seconds: state.clock.offset(),
    })
}

/// Moves the directory clock: forward by a duration, or to a time.
#[utoipa::path(post, path = "/clock", tag = "clock", request_body = ClockRequest,
    responses((status = 200, body = ClockState), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn set_clock(
    State(state): Ctl,
    Body(req): Body<ClockRequest>,
) -> Result<Json<ClockState>, ApiError> {
    let target = match (req.advance, req.set) {
        (Some(text), None) => {
            let by = humantime::parse_duration(&text).map_err(|e| {
                ApiError::bad(
                    "advance",
                    format!("'{text}' is not a duration (90m, 6h, 2d): {e}"),
                )
            })?;
            let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
            ("advance", state.clock.now().saturating_add(secs))
        }
        (None, Some(unix)) => ("set", unix),
        _ => {
            return Err(ApiError::bad(
                "body",
                "give exactly one of 'advance' and 'set'",
            ))
        }
    };
    // AD's times are FILETIMEs and generalized times: years 1601 to 9999. Further out,
    // the arithmetic that turns the clock into attribute values would overflow.
    let (field, unix) = target;
    if !(MIN_UNIX..=MAX_UNIX).contains(&unix) {
        return Err(ApiError::bad(
            field,
            format!("the clock would read {unix}: it must stay within the years 1601 to 9999"),
        ));
    }
    state.clock.set(unix);
    Ok(get_clock(State(state)).await)
}

/// Checks a snapshot name.
fn snapshot_name(field: &str, name: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad(
            field,
            format!("'{name}' is not a snapshot name: 1 to 64 of letters, digits, '-', '_', '.'"),
        ))
    }
}

/// Snapshots the whole directory state (entries, USNs, clock offset) under a name.
#[utoipa::path(post, path = "/snapshots", tag = "snapshots", request_body = SnapshotRequest,
    responses((status = 201, body = SnapshotInfo), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn take_snapshot(
    State(state): Ctl,
    Body(req): Body<SnapshotRequest>,
) -> Result<(StatusCode, Json<SnapshotInfo>), ApiError> {
    snapshot_name("name", &req.name)?;
    let info = blocking(move || state.take_snapshot(&req.name)).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// The stored snapshots.
#[utoipa::path(get, path = "/snapshots", tag = "snapshots",
    responses((status = 200, body = Vec<SnapshotInfo>), (status = 401, body = ErrorBody)))]
pub async fn list_snapshots(State(state): Ctl) -> Json<Vec<SnapshotInfo>> {
    Json(state.list_snapshots())
}

/// Makes the directory what a snapshot holds; the snapshot stays for the next restore.
#[utoipa::path(post, path = "/snapshots/{name}/restore", tag = "snapshots",
    params(("name" = String, Path, description = "a snapshot's name")),
    responses((status = 200, body = SnapshotInfo), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn restore_snapshot(
    State(state): Ctl,
    Path(name): Path<String>,
) -> Result<Json<SnapshotInfo>, ApiError> {
    snapshot_name("name", &name)?;
    let missing = format!("no snapshot named '{name}'");
    blocking(move || state.restore_snapshot(&name))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("name", missing))
}

/// Forgets a snapshot.
#[utoipa::path(delete, path = "/snapshots/{name}", tag = "snapshots",
    params(("name" = String, Path, description = "a snapshot's name")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_snapshot(
    State(state): Ctl,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let missing = format!("no snapshot named '{name}'");
    if blocking(move || state.delete_snapshot(&name)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("name", missing))
    }
}

/// Reloads the fixture (or another file), entries keeping their objectGUIDs by DN.
#[utoipa::path(post, path = "/reload", tag = "directory", request_body = ReloadRequest,
    responses((status = 200, body = Reloaded),
        (status = 401, body = ErrorBody),
        (status = 422, description = "the file does not load; the old directory is kept", body = ErrorBody)))]
pub async fn reload(
    State(state): Ctl,
    Body(req): Body<ReloadRequest>,
) -> Result<Json<Reloaded>, ApiError> {
    let path = req.path.map(std::path::PathBuf::from);
    let result = blocking(move || state.reload(path.as_deref())).await?;
    result.map(Json).map_err(|e| ApiError::Unprocessable {
        field: "path".into(),
        message: e.to_string(),
    })
}
