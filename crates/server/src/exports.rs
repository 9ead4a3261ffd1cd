//! `/v1/exports`: bulk exports with k-of-n approval, the one download of the
//! encrypted package, and tracing a leaked file back to its export. Glue
//! only: every decision is the vault's (and its policy gate's).

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use mamori_core::TenantId;
use mamori_vault::ErrorCode;
use mamori_vault::{
    VaultError,
    exports::{ExportListFilter, NewExport},
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use mamori_vault::exports::{ExportView, TraceReport};

use crate::{
    AppState,
    extract::{Authed, Body, with_caller},
    governance::CommentBody,
    problem::{ApiError, Problem},
};

/// Largest leaked file accepted for tracing.
const MAX_TRACE_BYTES: usize = 64 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/exports", post(create_export).get(list_exports))
        // Only a leaked file may be large; every other body keeps the default limit.
        .route(
            "/v1/exports/trace",
            post(trace).layer(axum::extract::DefaultBodyLimit::max(MAX_TRACE_BYTES)),
        )
        .route("/v1/exports/{id}", get(show_export))
        .route("/v1/exports/{id}/approve", post(approve_export))
        .route("/v1/exports/{id}/deny", post(deny_export))
        .route("/v1/exports/{id}/revoke", post(revoke_export))
        .route("/v1/exports/{id}/download", post(download_export))
}

/// What an export asks for.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ExportBody {
    tenant: String,
    /// One segment; absent: the whole tenant (needs a whole-tenant assignment).
    segment: Option<String>,
    /// Fields to export (a subset of the purpose's view; the view's masks apply).
    fields: Vec<String>,
    /// Purpose (利用目的) from the tenant's list.
    purpose: String,
    /// Case or ticket id.
    case_id: String,
    /// Why the data must leave (letters or digits; punctuation does not count).
    reason: String,
    /// Who receives it (company or department).
    recipient_name: String,
    /// The recipient's age public key (`age1…`).
    recipient_key: String,
}

/// File a bulk export; it needs k approvals (default 2: a supervisor and the security office).
#[utoipa::path(post, path = "/v1/exports", request_body = ExportBody,
    responses((status = 201, body = ExportView, description = "the export: status (pending|lapsed|denied|revoked|ready|expired|downloaded), approvals, package, history"), (status = 400, body = Problem), (status = 403, body = Problem)))]
async fn create_export(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Body(b): Body<ExportBody>,
) -> Result<(StatusCode, Json<ExportView>), ApiError> {
    let req = NewExport {
        tenant: b.tenant,
        segment: b.segment,
        fields: b.fields,
        purpose: b.purpose,
        case_id: b.case_id,
        reason: b.reason,
        recipient_name: b.recipient_name,
        recipient_key: b.recipient_key,
    };
    let out = with_caller(&state, caller, move |v, c| v.request_export(c, &req)).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ExportListParams {
    /// Only this tenant's (a tenant id; another form is refused).
    #[param(value_type = Option<String>)]
    tenant: Option<TenantId>,
    /// Only exports waiting for approvals.
    pending: Option<bool>,
    /// Only the caller's own exports.
    mine: Option<bool>,
    /// 1-1000 (default 100).
    limit: Option<usize>,
}

/// Exports the caller may see, newest first.
#[utoipa::path(get, path = "/v1/exports", params(ExportListParams),
    responses((status = 200, body = Vec<ExportView>, description = "exports"), (status = 401, body = Problem)))]
async fn list_exports(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(p): Query<ExportListParams>,
) -> Result<Json<Vec<ExportView>>, ApiError> {
    let f = ExportListFilter {
        tenant: p.tenant.map(String::from),
        pending: p.pending.unwrap_or(false),
        mine: p.mine.unwrap_or(false),
        limit: p.limit,
    };
    let out = with_caller(&state, caller, move |v, c| v.exports(c, &f)).await?;
    Ok(Json(out))
}

/// One export with its approvals and history.
#[utoipa::path(get, path = "/v1/exports/{id}", params(("id" = String, Path)),
    responses((status = 200, body = ExportView), (status = 404, body = Problem)))]
async fn show_export(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<ExportView>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.export(c, &id)).await?;
    Ok(Json(out))
}

/// Approve an export (never one's own, nor one's manager's); the k-th approval builds the package.
#[utoipa::path(post, path = "/v1/exports/{id}/approve", params(("id" = String, Path)), request_body = CommentBody,
    responses((status = 200, body = ExportView), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn approve_export(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<CommentBody>,
) -> Result<Json<ExportView>, ApiError> {
    let comment = b.comment;
    let out = with_caller(&state, caller, move |v, c| {
        v.approve_export(c, &id, comment.as_deref())
    })
    .await?;
    Ok(Json(out))
}

/// Deny an export, saying why; one denial ends it.
#[utoipa::path(post, path = "/v1/exports/{id}/deny", params(("id" = String, Path)), request_body = CommentBody,
    responses((status = 200, body = ExportView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn deny_export(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<CommentBody>,
) -> Result<Json<ExportView>, ApiError> {
    let comment = b.comment.unwrap_or_default();
    let out = with_caller(&state, caller, move |v, c| v.deny_export(c, &id, &comment)).await?;
    Ok(Json(out))
}

/// Stop a pending export or delete a package not yet downloaded, saying why.
#[utoipa::path(post, path = "/v1/exports/{id}/revoke", params(("id" = String, Path)), request_body = CommentBody,
    responses((status = 200, body = ExportView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn revoke_export(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<CommentBody>,
) -> Result<Json<ExportView>, ApiError> {
    let comment = b.comment.unwrap_or_default();
    let out = with_caller(&state, caller, move |v, c| {
        v.revoke_export(c, &id, &comment)
    })
    .await?;
    Ok(Json(out))
}

/// Take the encrypted package (once; the requester only). A POST, because it changes state.
#[utoipa::path(post, path = "/v1/exports/{id}/download", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", description = "the age-encrypted CSV; header X-Mamori-Sha256 carries its SHA-256"), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn download_export(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let d = with_caller(&state, caller, move |v, c| v.download_export(c, &id))
        .await?
        .into_inner();
    let disposition = format!("attachment; filename=\"{}\"", d.file_name);
    let mut resp = d.bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&d.sha256) {
        h.insert("x-mamori-sha256", v);
    }
    Ok(resp)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct TraceParams {
    /// Only this tenant's exports (default: all).
    /// Only this tenant's (a tenant id; another form is refused).
    #[param(value_type = Option<String>)]
    tenant: Option<TenantId>,
}

/// Which export a leaked file came from (the body is the file, UTF-8 CSV or text).
#[utoipa::path(post, path = "/v1/exports/trace", params(TraceParams), request_body(content_type = "text/csv", description = "The leaked file as it was found: UTF-8 text (CSV or any other layout)."),
    responses((status = 200, body = TraceReport, description = "cells read, exports checked, matches best first with canary hits, formatting agreement and verdict"), (status = 400, body = Problem), (status = 403, body = Problem)))]
async fn trace(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(p): Query<TraceParams>,
    bytes: Bytes,
) -> Result<Json<TraceReport>, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError(VaultError::bad(
            ErrorCode::BodyInvalid,
            "the body is empty: send the leaked file",
        )));
    }
    let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
        ApiError(VaultError::bad(
            ErrorCode::BodyInvalid,
            "the file must be UTF-8 text (convert Shift_JIS files first)",
        ))
    })?;
    let out = with_caller(&state, caller, move |v, c| {
        v.trace_leak(c, p.tenant.as_ref().map(TenantId::as_str), &text)
    })
    .await?;
    Ok(Json(out))
}
