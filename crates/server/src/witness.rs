//! `mamori witness serve`: the C2SP tlog-witness HTTP interface over a
//! [`Witness`] — `POST /add-checkpoint` for logs, and `GET /checkpoints`
//! for auditors (the protocol leaves monitoring open; this returns what the
//! witness holds for every origin under a prefix, cosigned).

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use mamori_audit::{
    witness::{AddCheckpoint, Witness, WitnessError, now_secs},
    witness_client::Held,
};
use serde::Deserialize;

/// A request is a proof of at most 63 hashes and one checkpoint.
const BODY_LIMIT: usize = 16 * 1024;

pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/checkpoints", get(checkpoints))
        .route("/health", get(|| async { "ok\n" }))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(witness)
}

fn refused(e: WitnessError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match e {
        // The protocol's 409 body is the size the witness holds.
        WitnessError::Conflict { size } => (
            status,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{size}\n"),
        )
            .into_response(),
        e => (status, format!("{e}\n")).into_response(),
    }
}

async fn add_checkpoint(State(w): State<Arc<Witness>>, body: String) -> Response {
    let req = match AddCheckpoint::parse(&body) {
        Ok(r) => r,
        Err(e) => return refused(e),
    };
    let result = tokio::task::spawn_blocking(move || {
        let out = w.add_checkpoint(&req, now_secs());
        (req, out)
    })
    .await;
    match result {
        Ok((_, Ok(cosignatures))) => cosignatures.into_response(),
        Ok((req, Err(e))) => {
            // A refused checkpoint signed by a followed log may be evidence
            // of a rollback or fork: keep it in the witness's own log.
            tracing::warn!(error = %e, old = req.old, note = %req.note, "checkpoint refused");
            refused(e)
        }
        Err(e) => refused(WitnessError::Unavailable(e.to_string())),
    }
}

#[derive(Deserialize)]
struct Prefix {
    #[serde(default)]
    prefix: String,
}

async fn checkpoints(State(w): State<Arc<Witness>>, Query(q): Query<Prefix>) -> Response {
    let result = tokio::task::spawn_blocking(move || w.all(&q.prefix)).await;
    match result {
        Ok(Ok(held)) => Json(held.into_iter().map(Held::from).collect::<Vec<_>>()).into_response(),
        Ok(Err(e)) => refused(e),
        Err(e) => refused(WitnessError::Unavailable(e.to_string())),
    }
}
