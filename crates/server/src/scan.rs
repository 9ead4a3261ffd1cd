//! `/v1/scan/match`: a scanning machine (a PC agent, `mamori scan --server`)
//! sends the values it found in one file and learns which tenants' customers
//! they name — counts and per-file pseudonyms, never a record. The machine
//! holds no key and no index; the vault normalises every value again, charges
//! the customers named to the credential's daily budget and records the call.

use axum::{
    Json, Router,
    extract::{Query, State},
    http::StatusCode,
    routing::{get, post},
};
use mamori_core::FieldType;
use mamori_store::HuntRow;
use mamori_vault::{
    ErrorCode, VaultError,
    leak::{
        agents::{MachineView, NewHunt, ReportReceipt, ScanReport},
        matching::{Found, MatchReport},
    },
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use zeroize::Zeroizing;

use crate::{
    AppState,
    extract::{Authed, Body, with_caller},
    problem::{ApiError, Problem},
};

/// A part of a file's values: 100,000 values of a few dozen bytes each.
const MAX_MATCH_BYTES: usize = 16 * 1024 * 1024;

/// A report listing up to `agents::MAX_FILES` files of a few hundred bytes each.
const MAX_REPORT_BYTES: usize = 32 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/scan/match",
            post(match_values).layer(axum::extract::DefaultBodyLimit::max(MAX_MATCH_BYTES)),
        )
        .route(
            "/v1/scan/reports",
            post(report_scan).layer(axum::extract::DefaultBodyLimit::max(MAX_REPORT_BYTES)),
        )
        .route("/v1/scan/hunts", post(start_hunt))
        .route("/v1/scan/hunts/pending", get(pending_hunts))
        .route("/v1/scan/quarantined", post(quarantined))
        .route("/v1/scan/machines", get(list_machines))
}

/// What kind of value a scanner found.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    Phone,
    Email,
    MyNumber,
    PostalCode,
    Date,
    Address,
    Kana,
    /// A customer-number-like cell.
    Text,
}

impl From<ValueKind> for FieldType {
    fn from(k: ValueKind) -> FieldType {
        match k {
            ValueKind::Phone => FieldType::Phone,
            ValueKind::Email => FieldType::Email,
            ValueKind::MyNumber => FieldType::MyNumber,
            ValueKind::PostalCode => FieldType::PostalCode,
            ValueKind::Date => FieldType::Date,
            ValueKind::Address => FieldType::Address,
            ValueKind::Kana => FieldType::Kana,
            ValueKind::Text => FieldType::Text,
        }
    }
}

/// One value found in a file.
#[derive(Deserialize, ToSchema)]
pub struct FoundValue {
    kind: ValueKind,
    /// The value as found (it is normalised again here).
    #[schema(value_type = String, max_length = 1000)]
    value: Zeroizing<String>,
    /// The line or row it was found in: two values of one group naming the
    /// same customer confirm them.
    #[schema(minimum = 0)]
    group: u64,
}

/// Values found in one file (or one part of it: whole lines or rows).
#[derive(Deserialize, ToSchema)]
pub struct MatchBody {
    /// SHA-256 of the file, 64 hex digits.
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    file_sha256: String,
    /// At most `[scan] values_per_call` (100,000 by default).
    values: Vec<FoundValue>,
}

/// Which tenants' customers the values of one file name (the security office and scanner credentials).
#[utoipa::path(post, path = "/v1/scan/match", request_body = MatchBody,
    responses((status = 200, body = MatchReport, description = "per tenant: values matched, customers possible (one value) and confirmed (two values of one line or row), and each customer under a pseudonym that holds for this file only"),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 429, body = Problem)))]
async fn match_values(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Body(b): Body<MatchBody>,
) -> Result<Json<MatchReport>, ApiError> {
    let file = parse_sha256(&b.file_sha256)?;
    let found = b
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let group = (v.group <= i64::MAX as u64).then_some(v.group);
            group
                .and_then(|g| Found::new(v.kind.into(), &v.value, g))
                .ok_or_else(|| {
                    ApiError(VaultError::bad(
                        ErrorCode::ScanValueInvalid,
                        format!("values[{i}] does not read as its kind"),
                    ))
                })
        })
        .collect::<Result<Vec<Found>, ApiError>>()?;
    drop(b);
    let out = with_caller(&state, caller, move |v, c| v.match_found(c, &file, &found)).await?;
    Ok(Json(out))
}

fn parse_sha256(s: &str) -> Result<[u8; 32], ApiError> {
    let mut out = [0u8; 32];
    match hex::decode_to_slice(s, &mut out) {
        Ok(()) => Ok(out),
        Err(_) => Err(ApiError(VaultError::bad(
            ErrorCode::BodyInvalid,
            "`file_sha256` must be 64 hex digits",
        ))),
    }
}

/// Report one scan of this machine (PC agents; the security office's own machine too).
#[utoipa::path(post, path = "/v1/scan/reports", request_body = ScanReport,
    responses((status = 201, body = ReportReceipt, description = "recorded: the verdict the vault gave it (clean, findings, incomplete) and its audit record's hash"),
        (status = 200, body = ReportReceipt, description = "this scan was reported before: its first record, nothing new recorded"),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn report_scan(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Body(b): Body<ScanReport>,
) -> Result<(StatusCode, Json<ReportReceipt>), ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.record_scan_report(c, &b)).await?;
    let status = if out.recorded {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(out)))
}

/// Send PC agents hunting: the machines named (or all) scan at their next contact (security office).
#[utoipa::path(post, path = "/v1/scan/hunts", request_body = NewHunt,
    responses((status = 201, body = HuntRow), (status = 400, body = Problem), (status = 403, body = Problem)))]
async fn start_hunt(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Body(b): Body<NewHunt>,
) -> Result<(StatusCode, Json<HuntRow>), ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.start_hunt(c, &b)).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// The hunts this machine has not answered yet, oldest first (PC agents).
#[utoipa::path(get, path = "/v1/scan/hunts/pending",
    responses((status = 200, body = Vec<HuntRow>), (status = 403, body = Problem)))]
async fn pending_hunts(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> Result<Json<Vec<HuntRow>>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.pending_hunts(c)).await?;
    Ok(Json(out))
}

/// A file a machine put away for a hunt.
#[derive(Deserialize, ToSchema)]
pub struct QuarantinedBody {
    /// The hunt that asked for it (32 hex digits).
    #[schema(value_type = String, pattern = "^[0-9a-fA-F]{32}$")]
    hunt: mamori_core::HuntId,
    /// SHA-256 of the file as it was (64 hex digits).
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    file_sha256: String,
    #[schema(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    bytes: u64,
}

/// Record a file this machine put away (encrypted in place) for a hunt that asks for it (PC agents).
#[utoipa::path(post, path = "/v1/scan/quarantined", request_body = QuarantinedBody,
    responses((status = 200, body = Recorded, description = "recorded"), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn quarantined(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Body(b): Body<QuarantinedBody>,
) -> Result<Json<Recorded>, ApiError> {
    let file = parse_sha256(&b.file_sha256)?;
    if b.bytes > i64::MAX as u64 {
        return Err(ApiError(VaultError::bad(
            ErrorCode::BodyInvalid,
            "`bytes` is larger than 2^63 - 1",
        )));
    }
    with_caller(&state, caller, move |v, c| {
        v.record_hunt_quarantine(c, b.hunt, &file, b.bytes)
    })
    .await?;
    Ok(Json(Recorded { recorded: true }))
}

/// That an act was recorded in the audit log.
#[derive(serde::Serialize, ToSchema)]
pub struct Recorded {
    recorded: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct MachinesQuery {
    /// A machine with no report in this many days is `silent` (1–365, 7 by default).
    #[param(minimum = 1, maximum = 365)]
    silent_days: Option<u32>,
}

/// Every scanner credential, its last report and verdict, and whether it went silent (security office, auditors).
#[utoipa::path(get, path = "/v1/scan/machines", params(MachinesQuery),
    responses((status = 200, body = Vec<MachineView>), (status = 400, body = Problem), (status = 403, body = Problem)))]
async fn list_machines(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(q): Query<MachinesQuery>,
) -> Result<Json<Vec<MachineView>>, ApiError> {
    let days = q.silent_days.unwrap_or(7);
    if !(1..=365).contains(&days) {
        return Err(ApiError(VaultError::bad(
            ErrorCode::RequestInvalid,
            "`silent_days` is 1 to 365",
        )));
    }
    let out = with_caller(&state, caller, move |v, c| v.machines(c, days)).await?;
    Ok(Json(out))
}
