//! The reconciliation over HTTP: a run with its files (base64 in one JSON
//! body, held in memory for the call and never written), the discrepancies
//! the caller may see, and the judgement of one (explained, mistake,
//! escalated) with a reason. Glue over `Vault::reconcile`, `discrepancies`
//! and `dispose_discrepancy`; the gate decides who runs, sees and judges.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    routing::{get, post},
};
use base64::Engine;
use mamori_reconcile::Params;
use mamori_vault::{
    ErrorCode, VaultError,
    discrepancies::{DiscrepancyView, Outcome},
    reconciliation::{ReconcileFiles, Reconciliation},
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    AppState,
    extract::{Authed, Body, parse_instant, with_caller},
    problem::{ApiError, Problem},
};

/// A run's files together, base64 (a month of a 2,000-person centre's PC
/// events is about 70 MB; bigger months go through `mamori reconcile run`).
const MAX_RUN_BYTES: usize = 128 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/reconciliation/runs",
            post(run).layer(axum::extract::DefaultBodyLimit::max(MAX_RUN_BYTES)),
        )
        .route("/v1/reconciliation/discrepancies", get(list_discrepancies))
        .route(
            "/v1/reconciliation/discrepancies/{id}/dispose",
            post(dispose_discrepancy),
        )
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RunBody {
    /// First instant of the period, RFC 3339 (e.g. `2026-11-01T00:00:00+09:00`).
    #[schema(format = DateTime)]
    from: String,
    /// End of the period (exclusive); at most 62 days after `from`.
    #[schema(format = DateTime)]
    to: String,
    /// Clock skew allowed between the vault, the door system and the PCs (default 120).
    skew_s: Option<i64>,
    /// A logon without a recorded logoff ends this many hours after it began (default 12).
    max_session_h: Option<i64>,
    /// An entry without an exit counts as presence this many hours at most (default 16).
    max_stay_h: Option<i64>,
    files: RunFiles,
}

/// The files of a run as they came from their systems, each base64.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RunFiles {
    /// The person map (CSV: login, badge, pc_account).
    #[schema(format = Byte)]
    people: String,
    /// The secure area's door log (CSV, UTF-8 or Shift_JIS).
    #[schema(format = Byte)]
    rooms: String,
    /// The dedicated PCs' security events (CSV, JSON array or JSON lines).
    #[schema(format = Byte)]
    logons: String,
    /// The dedicated PCs and their addresses (CSV: host, address).
    #[schema(format = Byte)]
    hosts: Option<String>,
    /// Pre-applications from outside the vault (CSV: login or badge, date).
    #[schema(format = Byte)]
    applications: Option<String>,
    /// The column mapping (TOML), where the files' headers differ from the defaults.
    #[schema(format = Byte)]
    mapping: Option<String>,
}

/// A file decoded; the member is named, its content never.
fn decoded(name: &str, b64: &str) -> Result<Vec<u8>, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| {
            ApiError(VaultError::bad(
                ErrorCode::BodyInvalid,
                format!("files.{name} is not base64"),
            ))
        })
}

/// Reconcile a period with the files from outside: every read of the
/// period joined with grants, standing access, the door log and the PCs'
/// logons (security office). Recorded with every file's SHA-256 and the
/// report's; discrepancies are kept for their dispositions.
#[utoipa::path(post, path = "/v1/reconciliation/runs", request_body = RunBody,
    responses((status = 200, content_type = "application/json",
            description = "the run: its audit event (log, seq), the report's SHA-256, the inputs' digests and the report"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem)))]
pub async fn run(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Body(b): Body<RunBody>,
) -> Result<Json<Reconciliation>, ApiError> {
    let (from, to) = (parse_instant("from", &b.from)?, parse_instant("to", &b.to)?);
    let d = Params::default();
    let params = Params {
        skew_s: b.skew_s.unwrap_or(d.skew_s),
        max_session_h: b.max_session_h.unwrap_or(d.max_session_h),
        max_stay_h: b.max_stay_h.unwrap_or(d.max_stay_h),
    };
    let f = &b.files;
    let opt = |name: &str, v: &Option<String>| v.as_deref().map(|s| decoded(name, s)).transpose();
    let (people, rooms, logons) = (
        decoded("people", &f.people)?,
        decoded("rooms", &f.rooms)?,
        decoded("logons", &f.logons)?,
    );
    let (hosts, applications, mapping) = (
        opt("hosts", &f.hosts)?,
        opt("applications", &f.applications)?,
        opt("mapping", &f.mapping)?,
    );
    drop(b);
    let out = with_caller(&state, caller, move |v, c| {
        let files = ReconcileFiles {
            mapping: mapping.as_deref(),
            people: &people,
            rooms: &rooms,
            logons: &logons,
            hosts: hosts.as_deref(),
            applications: applications.as_deref(),
        };
        v.reconcile(c, from, to, params, files)
    })
    .await?;
    Ok(Json(out))
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
