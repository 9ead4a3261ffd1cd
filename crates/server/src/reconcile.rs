//! The reconciliation's discrepancies over HTTP: list those the caller may
//! see, and judge one (explained, mistake, escalated) with a reason. Glue
//! over `Vault::discrepancies` and `dispose_discrepancy`; the gate decides
//! who sees and judges which.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    routing::{get, post},
};
use mamori_vault::discrepancies::{DiscrepancyView, Outcome};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    AppState,
    extract::{Authed, Body, with_caller},
    problem::{ApiError, Problem},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/reconciliation/discrepancies", get(list_discrepancies))
        .route(
            "/v1/reconciliation/discrepancies/{id}/dispose",
            post(dispose_discrepancy),
        )
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DiscrepancyQuery {
    /// Judged ones too (default: open ones only).
    #[serde(default)]
    all: bool,
    /// Only those the run with this id (its report's SHA-256) found.
    run: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DisposeBody {
    /// What the discrepancy was.
    outcome: Outcome,
    /// Why: what was checked and found (at most 2,000 characters).
    reason: String,
}

/// Discrepancies the caller may see (security office and auditors: all; a
/// supervisor: those about their team; nobody: those about themselves), by day.
#[utoipa::path(get, path = "/v1/reconciliation/discrepancies", params(DiscrepancyQuery),
    responses((status = 200, body = Vec<DiscrepancyView>), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list_discrepancies(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(q): Query<DiscrepancyQuery>,
) -> Result<Json<Vec<DiscrepancyView>>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        v.discrepancies(c, !q.all, q.run.as_deref())
    })
    .await?;
    Ok(Json(out))
}

/// Judge a discrepancy, once, with a reason; `escalated` raises an alert
/// about the person it concerns.
#[utoipa::path(post, path = "/v1/reconciliation/discrepancies/{id}/dispose", params(("id" = String, Path)),
    request_body = DisposeBody,
    responses((status = 200, body = DiscrepancyView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn dispose_discrepancy(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<DisposeBody>,
) -> Result<Json<DiscrepancyView>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        v.dispose_discrepancy(c, &id, b.outcome, &b.reason)
    })
    .await?;
    Ok(Json(out))
}
