//! The Graph listener's faults through the control API: `GET`, `POST` and `DELETE
//! /graph/faults`, in the shape of the fixture's `azureAd.faults`. Answers 404 when the
//! fixture declares no tenant.

use std::sync::Arc;

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::handlers::{Body, Ctl};
use super::model::ErrorBody;
use crate::graph::{GraphFaultSpec, GraphState};

/// The Graph faults in force.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub struct GraphFaults {
    /// As set: the fixture's, plus every POST since the last DELETE.
    pub set: GraphFaultSpec,
    /// 429 answers still to give.
    pub throttle_left: u32,
    /// 503 answers still to give.
    pub unavailable_left: u32,
    /// Graph requests answered so far (token requests not counted).
    pub requests: u64,
}

fn graph(state: &super::state::ControlState) -> Result<Arc<GraphState>, ApiError> {
    state.graph().ok_or_else(|| {
        ApiError::not_found(
            "graph",
            "this fake-dc serves no Microsoft Graph: the fixture declares no azureAd: tenant",
        )
    })
}

fn now(g: &GraphState) -> Json<GraphFaults> {
    let f = g.faults();
    Json(GraphFaults {
        set: f.spec,
        throttle_left: f.throttle_left,
        unavailable_left: f.unavailable_left,
        requests: g.requests(),
    })
}

/// The Graph listener's faults.
#[utoipa::path(get, path = "/graph/faults", tag = "graph",
    responses((status = 200, body = GraphFaults), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_faults(axum::extract::State(state): Ctl) -> Result<Json<GraphFaults>, ApiError> {
    let g = graph(&state)?;
    Ok(now(&g))
}

/// Adds faults: counts add to those left, flags are set.
#[utoipa::path(post, path = "/graph/faults", tag = "graph", request_body = GraphFaultSpec,
    responses((status = 200, body = GraphFaults), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_faults(
    axum::extract::State(state): Ctl,
    Body(req): Body<GraphFaultSpec>,
) -> Result<Json<GraphFaults>, ApiError> {
    let g = graph(&state)?;
    g.add_faults(req);
    Ok(now(&g))
}

/// Clears every Graph fault.
#[utoipa::path(delete, path = "/graph/faults", tag = "graph",
    responses((status = 200, body = GraphFaults), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn clear_faults(axum::extract::State(state): Ctl) -> Result<Json<GraphFaults>, ApiError> {
    let g = graph(&state)?;
    g.clear_faults();
    Ok(now(&g))
}
