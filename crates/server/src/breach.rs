//! `/v1/breach`: a leaked file, uploaded as it was found, analysed (whose
//! customers, the items, the categories, the accounts and exports it came
//! from) and turned into a tenant's notification package (drafts and the
//! list of affected people encrypted to the tenant's key). The security
//! office's; the file is held in memory for the call and never written.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Query, State},
    routing::post,
};
use base64::Engine;
use mamori_core::TenantId;
use mamori_vault::{
    ErrorCode, VaultError,
    leak::{breach::FileAnalysis, notice::BreachNotice},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    AppState,
    extract::{Authed, parse_time, with_caller},
    problem::{ApiError, Problem},
};

/// A leaked file as big as the scanner reads in one piece.
const MAX_LEAK_BYTES: usize = 64 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/breach/analyze", post(analyze))
        .route("/v1/breach/notify", post(notify))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_LEAK_BYTES))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AnalyzeParams {
    /// The file's name as found (its extension tells the format: .csv,
    /// .xlsx, .zip …); `leak.txt` when not given.
    #[param(max_length = 255, pattern = r"^(?!\.\.?$)[^/\\\x00]{1,255}$")]
    name: Option<String>,
}

/// Whose customers a leaked file holds, what it leaks and where it came from; the body is the file (security office).
#[utoipa::path(post, path = "/v1/breach/analyze", params(AnalyzeParams),
    request_body(content_type = "application/octet-stream", description = "The leaked file as it was found (any format `mamori scan` reads)."),
    responses((status = 200, body = Vec<FileAnalysis>, description = "one analysis per file (per entry of a zip)"),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 413, body = Problem)))]
async fn analyze(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(p): Query<AnalyzeParams>,
    bytes: Bytes,
) -> Result<Json<Vec<FileAnalysis>>, ApiError> {
    let name = file_name(p.name)?;
    not_empty(&bytes)?;
    let out = with_caller(&state, caller, move |v, c| {
        v.analyze_upload(c, &name, &bytes)
    })
    .await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct NotifyParams {
    /// The tenant (委託元) the package is for.
    #[param(value_type = String)]
    tenant: TenantId,
    /// When the business knew of the leak (RFC 3339); now when not given.
    #[param(format = DateTime)]
    known_at: Option<String>,
    /// The file's name as found (its extension tells the format).
    #[param(max_length = 255, pattern = r"^(?!\.\.?$)[^/\\\x00]{1,255}$")]
    name: Option<String>,
}

/// A tenant's notification package.
#[derive(Serialize, ToSchema)]
pub struct NoticeOut {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    notice: BreachNotice,
    /// The list of affected people, an age file encrypted to the tenant's
    /// key (base64), when the tenant has one.
    list_age_base64: Option<String>,
}

/// A tenant's notification package for a leaked file: 速報・確報 drafts and the 本人通知 list encrypted to the tenant's key (security office).
#[utoipa::path(post, path = "/v1/breach/notify", params(NotifyParams),
    request_body(content_type = "application/octet-stream", description = "The leaked file as it was found."),
    responses((status = 200, body = NoticeOut),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 410, body = Problem), (status = 413, body = Problem)))]
async fn notify(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(p): Query<NotifyParams>,
    bytes: Bytes,
) -> Result<Json<NoticeOut>, ApiError> {
    let name = file_name(p.name)?;
    let known_at = parse_time("known_at", p.known_at)?.map(|m| m / 1_000_000);
    not_empty(&bytes)?;
    let notice = with_caller(&state, caller, move |v, c| {
        let leaked = v.read_leak(c, &name, &bytes)?;
        v.breach_notice(c, &leaked, p.tenant.as_str(), known_at)
    })
    .await?;
    let list = notice
        .list
        .as_ref()
        .map(|l| base64::engine::general_purpose::STANDARD.encode(&l.bytes));
    Ok(Json(NoticeOut {
        notice,
        list_age_base64: list,
    }))
}

/// The name the file's format is told by: a plain name, no path.
fn file_name(name: Option<String>) -> Result<String, ApiError> {
    let name = name.unwrap_or_else(|| "leak.txt".into());
    let plain = !name.is_empty()
        && name.len() <= 255
        && !name.contains(['/', '\\', '\0'])
        && name != "."
        && name != "..";
    if plain {
        Ok(name)
    } else {
        Err(ApiError(VaultError::bad(
            ErrorCode::RequestInvalid,
            "`name` is a file name (no path, at most 255 bytes)",
        )))
    }
}

fn not_empty(bytes: &Bytes) -> Result<(), ApiError> {
    if bytes.is_empty() {
        return Err(ApiError(VaultError::bad(
            ErrorCode::BodyInvalid,
            "the body is empty: send the leaked file",
        )));
    }
    Ok(())
}
