//! `/v1/audit/checkpoint` and `/v1/audit/proofs/…`: what an auditor needs to
//! check the log without trusting this server — the latest signed
//! checkpoint, inclusion proofs of events and consistency proofs between
//! sizes (RFC 9162). Glue only: the vault decides who may read them.

use std::net::SocketAddr;

use axum::{
    Json, Router,
    extract::{ConnectInfo, Query, State},
    http::HeaderMap,
    routing::get,
};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use crate::{
    AppState,
    api::with_caller,
    governance::json,
    problem::{ApiError, Problem},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/audit/checkpoint", get(checkpoint))
        .route("/v1/audit/proofs/inclusion", get(inclusion))
        .route("/v1/audit/proofs/consistency", get(consistency))
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
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Query(p): Query<LogParam>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let out = with_caller(&state, &headers, addr, move |v, c| {
        v.audit_checkpoint(c, &p.log)
    })
    .await?;
    Ok(json(out))
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
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Query(p): Query<InclusionParams>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let out = with_caller(&state, &headers, addr, move |v, c| {
        v.audit_inclusion(c, &p.log, p.seq, p.size)
    })
    .await?;
    Ok(json(out))
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
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Query(p): Query<ConsistencyParams>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let out = with_caller(&state, &headers, addr, move |v, c| {
        v.audit_consistency(c, &p.log, p.first, p.second)
    })
    .await?;
    Ok(json(out))
}
