//! `/v1/audit/checkpoint` and `/v1/audit/proofs/…`: what an auditor needs to
//! check the log without trusting this server — the latest signed
//! checkpoint, inclusion proofs of events and consistency proofs between
//! sizes (RFC 9162). Glue only: the vault decides who may read them.

use axum::{
    Json, Router,
    extract::{Query, RawPathParams, State},
    routing::get,
};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use crate::{
    AppState,
    extract::{Authed, with_caller},
    governance::json,
    problem::{ApiError, Problem},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/audit/checkpoint", get(checkpoint))
        .route("/v1/audit/proofs/inclusion", get(inclusion))
        .route("/v1/audit/proofs/consistency", get(consistency))
        // The same, with the log in the path: /v1/audit/system/… and
        // /v1/audit/tenant/{tenant}/….
        .route("/v1/audit/system/checkpoint", get(checkpoint_at))
        .route("/v1/audit/system/proofs/inclusion", get(inclusion_at))
        .route("/v1/audit/system/proofs/consistency", get(consistency_at))
        .route("/v1/audit/tenant/{tenant}/checkpoint", get(checkpoint_at))
        .route(
            "/v1/audit/tenant/{tenant}/proofs/inclusion",
            get(inclusion_at),
        )
        .route(
            "/v1/audit/tenant/{tenant}/proofs/consistency",
            get(consistency_at),
        )
}

/// The log a path names: `tenant/<tenant>` when it has one, else `system`.
fn path_log(params: &RawPathParams) -> String {
    let tenant = params.iter().find(|(k, _)| *k == "tenant").map(|(_, t)| t);
    mamori_audit::log_for(tenant)
}

/// Query parameters of an inclusion proof when the log is in the path.
#[derive(Debug, Deserialize)]
struct SeqParams {
    seq: u64,
    size: Option<u64>,
}

/// Query parameters of a consistency proof when the log is in the path.
#[derive(Debug, Deserialize)]
struct SizeParams {
    first: u64,
    second: Option<u64>,
}

async fn checkpoint_at(
    state: State<AppState>,
    caller: Authed,
    params: RawPathParams,
) -> Result<Json<Value>, ApiError> {
    let log = path_log(&params);
    checkpoint(state, caller, Query(LogParam { log })).await
}

async fn inclusion_at(
    state: State<AppState>,
    caller: Authed,
    params: RawPathParams,
    Query(p): Query<SeqParams>,
) -> Result<Json<Value>, ApiError> {
    let q = InclusionParams {
        log: path_log(&params),
        seq: p.seq,
        size: p.size,
    };
    inclusion(state, caller, Query(q)).await
}

async fn consistency_at(
    state: State<AppState>,
    caller: Authed,
    params: RawPathParams,
    Query(p): Query<SizeParams>,
) -> Result<Json<Value>, ApiError> {
    let q = ConsistencyParams {
        log: path_log(&params),
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
    responses((status = 200, body = Object, description = "log, size, note (origin, size, base64 root hash, Ed25519 signature)"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn checkpoint(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(p): Query<LogParam>,
) -> Result<Json<Value>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.audit_checkpoint(c, &p.log)).await?;
    json(out)
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
    responses((status = 200, body = Object, description = "log, seq, size, leaf_hash, proof (hex, leaf to root), checkpoint (the signed note of that size, if any), event"), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn inclusion(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(p): Query<InclusionParams>,
) -> Result<Json<Value>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        v.audit_inclusion(c, &p.log, p.seq, p.size)
    })
    .await?;
    json(out)
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
    responses((status = 200, body = Object, description = "log, first, second, proof (hex)"), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn consistency(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(p): Query<ConsistencyParams>,
) -> Result<Json<Value>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        v.audit_consistency(c, &p.log, p.first, p.second)
    })
    .await?;
    json(out)
}
