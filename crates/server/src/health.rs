//! `/healthz` and `/readyz`: liveness, and readiness for a load balancer
//! (the store answers, the audit log took its last write). No token.

use axum::{
    Json,
    extract::State,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// What `/healthz` and `/readyz` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `ready`, `store unavailable`, `audit log unavailable` or
    /// `key provider unavailable`.
    status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", security(()), responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness for a load balancer: the store answers (one query). A node
/// whose database is unreachable, whose audit log could not be written in
/// the last few seconds (it refuses every read then), or whose root-key
/// provider no longer answers (an HSM token gone, a Transit engine sealed;
/// asked at most every five seconds) is taken out of rotation, not sent
/// requests that would fail.
#[utoipa::path(get, path = "/readyz", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health, description = "the store, the audit log or the root key's provider is unavailable")))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let v = state.vault.clone();
    let (store_ok, keys_ok) = tokio::task::spawn_blocking(move || {
        (v.store().governance_rev().is_ok(), v.key_provider_answers())
    })
    .await
    .unwrap_or((false, false));
    let audit_ok = !state.vault.audit().failed_within(AUDIT_FAILURE_BACKOFF);
    let unavailable = axum::http::StatusCode::SERVICE_UNAVAILABLE;
    let (status, text) = match (store_ok, audit_ok, keys_ok) {
        (true, true, true) => (axum::http::StatusCode::OK, "ready"),
        (false, _, _) => (unavailable, "store unavailable"),
        (true, false, _) => (unavailable, "audit log unavailable"),
        (true, true, false) => (unavailable, "key provider unavailable"),
    };
    (status, Json(Health { status: text })).into_response()
}

/// How long a node reports itself unready after its audit log failed to
/// take a write; then requests are let through again, and the first one
/// that fails starts the next pause.
const AUDIT_FAILURE_BACKOFF: std::time::Duration = std::time::Duration::from_secs(5);
