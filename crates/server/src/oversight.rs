//! Oversight over HTTP: the entitlement table (who can see which segment,
//! per department) and its quarterly trend, the self-inspection from facts
//! and declarations of what no record can show, and surprise audits of
//! vendors with their explanations. Glue over the vault's methods of the
//! same names; the gate decides who may.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::{get, post},
};
use mamori_vault::{
    inspection::Inspection,
    report::{EntitlementRow, TrendPoint},
    vendor_audit::{Sampled, VendorAudit},
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
        .route("/v1/vendors/{id}/audits", post(start_audit))
        .route("/v1/vendor-audits/asked", get(asked))
        .route("/v1/vendor-audits/{id}", get(show_audit))
        .route("/v1/vendor-audits/{id}/explanations", post(explain))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AuditBody {
    /// Start of the period, RFC 3339.
    #[schema(format = DateTime)]
    from: String,
    /// End (exclusive), at most 62 days after `from`.
    #[schema(format = DateTime)]
    to: String,
    /// Reads to sample (1-500).
    sample: usize,
    /// Re-draw a recorded sample (random when absent).
    seed: Option<u64>,
    /// Explanations are due by this time (RFC 3339).
    #[schema(format = DateTime)]
    deadline: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ExplainBody {
    /// The sampled read: its log and position, as the audit lists it.
    log: String,
    seq: u64,
    /// Why it was read (at most 2,000 characters).
    text: String,
}

/// A sampled read the caller is asked to explain.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Asked {
    audit: String,
    read: Sampled,
}

/// Start a surprise audit of a vendor: its facts and a seeded sample of its
/// people's reads for explanation (security office).
#[utoipa::path(post, path = "/v1/vendors/{id}/audits", params(("id" = String, Path)), request_body = AuditBody,
    responses((status = 201, body = VendorAudit), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn start_audit(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<AuditBody>,
) -> Result<(StatusCode, Json<VendorAudit>), ApiError> {
    let period = (parse_instant("from", &b.from)?, parse_instant("to", &b.to)?);
    let deadline = parse_instant("deadline", &b.deadline)?;
    let out = with_caller(&state, caller, move |v, c| {
        v.audit_vendor(c, &id, period, b.sample, b.seed, deadline)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// An audit with its facts, sample and explanations (security office, auditors).
#[utoipa::path(get, path = "/v1/vendor-audits/{id}", params(("id" = String, Path)),
    responses((status = 200, body = VendorAudit), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn show_audit(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<VendorAudit>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.vendor_audit(c, &id)).await?;
    Ok(Json(out))
}

/// The sampled reads the caller made and is asked to explain.
#[utoipa::path(get, path = "/v1/vendor-audits/asked",
    responses((status = 200, body = Vec<Asked>), (status = 401, body = Problem)))]
pub async fn asked(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> Result<Json<Vec<Asked>>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.my_audit_items(c)).await?;
    Ok(Json(
        out.into_iter()
            .map(|(audit, read)| Asked { audit, read })
            .collect(),
    ))
}

/// Explain one of the caller's sampled reads, once, before the deadline.
#[utoipa::path(post, path = "/v1/vendor-audits/{id}/explanations", params(("id" = String, Path)),
    request_body = ExplainBody,
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn explain(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<ExplainBody>,
) -> Result<StatusCode, ApiError> {
    with_caller(&state, caller, move |v, c| {
        v.explain_read(c, &id, (&b.log, b.seq), &b.text)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
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
