//! Oversight reports over HTTP: the entitlement table (who can see which
//! segment, per department) and its quarterly trend, the self-inspection
//! from facts, and declarations of what no record can show. Glue over
//! `Vault::entitlements`, `entitlement_trend`, `inspect` and `declare`.

use axum::{
    Json, Router,
    extract::{Query, State},
    http::StatusCode,
    routing::{get, post},
};
use mamori_vault::{
    inspection::Inspection,
    report::{EntitlementRow, TrendPoint},
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    AppState,
    extract::{Authed, Body, parse_instant, with_caller},
    problem::{ApiError, Problem},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/reports/entitlements", get(entitlements))
        .route("/v1/reports/entitlements/trend", get(trend))
        .route("/v1/inspections", get(inspect))
        .route("/v1/inspections/declarations", post(declare))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EntitlementQuery {
    /// One tenant (default: every active one).
    tenant: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PeriodQuery {
    /// Start, RFC 3339 (e.g. `2026-11-01T00:00:00+09:00`).
    #[param(format = DateTime)]
    from: String,
    /// End (exclusive), RFC 3339; at most 62 days after `from`.
    #[param(format = DateTime)]
    to: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeclareBody {
    /// `facility_locks`, `device_disposal` or `clean_desk`.
    item: String,
    /// What was checked, by whom, how (at most 2,000 characters).
    statement: String,
}

/// Per tenant, segment and department: how many people can see the
/// segment's customers now, out of how many (security office, auditors).
#[utoipa::path(get, path = "/v1/reports/entitlements", params(EntitlementQuery),
    responses((status = 200, body = Vec<EntitlementRow>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn entitlements(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(q): Query<EntitlementQuery>,
) -> Result<Json<Vec<EntitlementRow>>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        v.entitlements(c, q.tenant.as_deref())
    })
    .await?;
    Ok(Json(out))
}

/// The entitlement table as each closed review campaign left it, oldest first.
#[utoipa::path(get, path = "/v1/reports/entitlements/trend",
    responses((status = 200, body = Vec<TrendPoint>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn trend(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> Result<Json<Vec<TrendPoint>>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.entitlement_trend(c)).await?;
    Ok(Json(out))
}

/// Run the self-inspection over a period: each item verified or failed from
/// the vault's records, declared items as declared (security office,
/// auditors). Recorded as an audit event with the result's SHA-256.
#[utoipa::path(get, path = "/v1/inspections", params(PeriodQuery),
    responses((status = 200, body = Inspection), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
pub async fn inspect(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<Inspection>, ApiError> {
    let (from, to) = (parse_instant("from", &q.from)?, parse_instant("to", &q.to)?);
    let out = with_caller(&state, caller, move |v, c| v.inspect(c, from, to)).await?;
    Ok(Json(out))
}

/// Declare an item no record can show (security office); the inspection
/// prints it as declared, by whom, never as verified.
#[utoipa::path(post, path = "/v1/inspections/declarations", request_body = DeclareBody,
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn declare(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Body(b): Body<DeclareBody>,
) -> Result<StatusCode, ApiError> {
    with_caller(&state, caller, move |v, c| {
        v.declare(c, &b.item, &b.statement)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
