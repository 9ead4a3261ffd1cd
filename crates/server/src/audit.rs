//! `/v1/audit/…`: reading the audit log (events, filtered and paged), and
//! what an auditor needs to check it without trusting this server — the
//! latest signed checkpoint, inclusion proofs of events and consistency
//! proofs between sizes (RFC 9162), with the log named in the query or in
//! the path. Glue only: the vault decides who may read what.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    routing::get,
};
use mamori_core::TenantId;
use mamori_store::AuditQuery;
use serde::Deserialize;
use utoipa::IntoParams;

use mamori_vault::{
    admin::AuditPage,
    audit_proofs::{CheckpointView, ConsistencyView, InclusionView},
};

use crate::{
    AppState,
    extract::{Authed, parse_time, with_caller},
    problem::{ApiError, Problem},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/audit/events", get(audit_events))
        .route("/v1/audit/checkpoint", get(checkpoint))
        .route("/v1/audit/proofs/inclusion", get(inclusion))
        .route("/v1/audit/proofs/consistency", get(consistency))
        .route("/v1/audit/system/checkpoint", get(system_checkpoint))
        .route("/v1/audit/system/proofs/inclusion", get(system_inclusion))
        .route(
            "/v1/audit/system/proofs/consistency",
            get(system_consistency),
        )
        .route(
            "/v1/audit/tenant/{tenant}/checkpoint",
            get(tenant_checkpoint),
        )
        .route(
            "/v1/audit/tenant/{tenant}/proofs/inclusion",
            get(tenant_inclusion),
        )
        .route(
            "/v1/audit/tenant/{tenant}/proofs/consistency",
            get(tenant_consistency),
        )
}

/// Query parameters of an inclusion proof when the log is in the path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct SeqParams {
    /// The event's sequence number (1-based).
    seq: u64,
    /// Tree size; default: the latest signed checkpoint's.
    size: Option<u64>,
}

/// Query parameters of a consistency proof when the log is in the path.
#[derive(Debug, Deserialize, IntoParams)]
pub struct SizeParams {
    /// The older size.
    first: u64,
    /// The newer size; default: the latest signed checkpoint's.
    second: Option<u64>,
}

fn tenant_log(tenant: &str) -> String {
    mamori_audit::log_for(Some(tenant))
}

fn system_log() -> String {
    mamori_audit::log_for(None)
}

/// The latest signed checkpoint of the system log.
#[utoipa::path(get, path = "/v1/audit/system/checkpoint",
    responses((status = 200, body = CheckpointView, description = "log, size, note (origin, size, base64 root hash, Ed25519 signature)")))]
pub async fn system_checkpoint(
    state: State<AppState>,
    caller: Authed,
) -> Result<Json<CheckpointView>, ApiError> {
    checkpoint(state, caller, Query(LogParam { log: system_log() })).await
}

/// The latest signed checkpoint of a tenant's log.
#[utoipa::path(get, path = "/v1/audit/tenant/{tenant}/checkpoint", params(("tenant" = String, Path)),
    responses((status = 200, body = CheckpointView, description = "log, size, note (origin, size, base64 root hash, Ed25519 signature)")))]
pub async fn tenant_checkpoint(
    state: State<AppState>,
    caller: Authed,
    Path(tenant): Path<String>,
) -> Result<Json<CheckpointView>, ApiError> {
    checkpoint(
        state,
        caller,
        Query(LogParam {
            log: tenant_log(&tenant),
        }),
    )
    .await
}

/// An event of the system log with its inclusion proof.
#[utoipa::path(get, path = "/v1/audit/system/proofs/inclusion", params(SeqParams),
    responses((status = 200, body = InclusionView)))]
pub async fn system_inclusion(
    state: State<AppState>,
    caller: Authed,
    Query(p): Query<SeqParams>,
) -> Result<Json<InclusionView>, ApiError> {
    let q = InclusionParams {
        log: system_log(),
        seq: p.seq,
        size: p.size,
    };
    inclusion(state, caller, Query(q)).await
}

/// An event of a tenant's log with its inclusion proof.
#[utoipa::path(get, path = "/v1/audit/tenant/{tenant}/proofs/inclusion", params(("tenant" = String, Path), SeqParams),
    responses((status = 200, body = InclusionView)))]
pub async fn tenant_inclusion(
    state: State<AppState>,
    caller: Authed,
    Path(tenant): Path<String>,
    Query(p): Query<SeqParams>,
) -> Result<Json<InclusionView>, ApiError> {
    let q = InclusionParams {
        log: tenant_log(&tenant),
        seq: p.seq,
        size: p.size,
    };
    inclusion(state, caller, Query(q)).await
}

/// A consistency proof of the system log.
#[utoipa::path(get, path = "/v1/audit/system/proofs/consistency", params(SizeParams),
    responses((status = 200, body = ConsistencyView)))]
pub async fn system_consistency(
    state: State<AppState>,
    caller: Authed,
    Query(p): Query<SizeParams>,
) -> Result<Json<ConsistencyView>, ApiError> {
    let q = ConsistencyParams {
        log: system_log(),
        first: p.first,
        second: p.second,
    };
    consistency(state, caller, Query(q)).await
}

/// A consistency proof of a tenant's log.
#[utoipa::path(get, path = "/v1/audit/tenant/{tenant}/proofs/consistency", params(("tenant" = String, Path), SizeParams),
    responses((status = 200, body = ConsistencyView)))]
pub async fn tenant_consistency(
    state: State<AppState>,
    caller: Authed,
    Path(tenant): Path<String>,
    Query(p): Query<SizeParams>,
) -> Result<Json<ConsistencyView>, ApiError> {
    let q = ConsistencyParams {
        log: tenant_log(&tenant),
        first: p.first,
        second: p.second,
    };
    consistency(state, caller, Query(q)).await
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LogParam {
    /// `system` or `tenant/<id>`.
    log: String,
}

/// The latest signed checkpoint of a log (C2SP signed note; audit readers).
#[utoipa::path(get, path = "/v1/audit/checkpoint", params(LogParam),
    responses((status = 200, body = CheckpointView, description = "log, size, note (origin, size, base64 root hash, Ed25519 signature)"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn checkpoint(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(p): Query<LogParam>,
) -> Result<Json<CheckpointView>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.audit_checkpoint(c, &p.log)).await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct InclusionParams {
    /// `system` or `tenant/<id>`.
    log: String,
    /// The event's sequence number (1-based).
    seq: u64,
    /// Tree size; default: the latest signed checkpoint's.
    size: Option<u64>,
}

/// An event with its inclusion proof (RFC 9162 §2.1.3) in the tree of a signed size.
#[utoipa::path(get, path = "/v1/audit/proofs/inclusion", params(InclusionParams),
    responses((status = 200, body = InclusionView, description = "log, seq, size, leaf_hash, proof (hex, leaf to root), checkpoint (the signed note of that size, if any), event"), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn inclusion(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(p): Query<InclusionParams>,
) -> Result<Json<InclusionView>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        v.audit_inclusion(c, &p.log, p.seq, p.size)
    })
    .await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ConsistencyParams {
    /// `system` or `tenant/<id>`.
    log: String,
    /// The older size.
    first: u64,
    /// The newer size; default: the latest signed checkpoint's.
    second: Option<u64>,
}

/// The proof that a log of size `second` extends the log of size `first` (RFC 9162 §2.1.4).
#[utoipa::path(get, path = "/v1/audit/proofs/consistency", params(ConsistencyParams),
    responses((status = 200, body = ConsistencyView, description = "log, first, second, proof (hex)"), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn consistency(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(p): Query<ConsistencyParams>,
) -> Result<Json<ConsistencyView>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        v.audit_consistency(c, &p.log, p.first, p.second)
    })
    .await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditParams {
    actor: Option<String>,
    /// Only this tenant's (a tenant id; another form is refused).
    #[param(value_type = Option<String>)]
    tenant: Option<TenantId>,
    action: Option<String>,
    /// Events that touched this record id: who saw a customer, and why.
    record: Option<String>,
    purpose: Option<String>,
    case_id: Option<String>,
    /// RFC 3339 lower bound (inclusive).
    #[param(format = DateTime)]
    from: Option<String>,
    /// RFC 3339 upper bound (exclusive).
    #[param(format = DateTime)]
    to: Option<String>,
    /// Cursor from the previous page's `next`.
    after: Option<i64>,
    /// Page size, 1-1000 (default 100).
    limit: Option<usize>,
}

/// Audit events (supervisors, security officers, auditors).
#[utoipa::path(get, path = "/v1/audit/events", params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn audit_events(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(p): Query<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    let q = AuditQuery {
        from_ts: parse_time("from", p.from)?,
        to_ts: parse_time("to", p.to)?,
        actor: p.actor,
        tenant: p.tenant.map(String::from),
        action: p.action,
        record: p.record,
        purpose: p.purpose,
        case_id: p.case_id,
        after: p.after,
        limit: p.limit.unwrap_or(100),
    };
    let page = with_caller(&state, caller, move |v, c| v.audit_events(c, q)).await?;
    Ok(Json(page))
}
