//! Routes and handlers of `/v1`, and the OpenAPI document generated from them.

use std::{collections::BTreeMap, time::Instant};

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use mamori_store::AuditQuery;
use mamori_vault::{SearchBy, VaultError, access::Access};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::{
    AppState,
    extract::{Authed, Body, with_caller},
    metrics::{RequestLabels, RouteLabels},
    problem::{ApiError, Problem, problem},
};

#[derive(OpenApi)]
#[openapi(
    info(title = "mamori API", description = "Customer-data vault: purpose-bound, audited access to encrypted customer records."),
    paths(search, get_record, put_record, delete_record, audit_events, healthz,
        crate::governance::create_request, crate::governance::list_requests, crate::governance::show_request,
        crate::governance::approve_request, crate::governance::deny_request, crate::governance::revoke_request,
        crate::governance::issue_grant, crate::governance::show_person, crate::governance::record_training,
        crate::governance::record_compliance, crate::governance::list_vendors, crate::governance::put_vendor,
        crate::governance::set_cap, crate::governance::list_full_access, crate::governance::approve_full_access,
        crate::governance::deny_full_access, crate::governance::revoke_full_access,
        crate::exports::create_export, crate::exports::list_exports, crate::exports::show_export,
        crate::exports::approve_export, crate::exports::deny_export, crate::exports::revoke_export,
        crate::exports::download_export, crate::exports::trace,
        crate::audit::checkpoint, crate::audit::inclusion, crate::audit::consistency,
        crate::directives::issue_directive, crate::directives::list_directives,
        crate::directives::show_directive, crate::directives::ack_directive,
        crate::alerts::list_alerts, crate::alerts::show_alert, crate::alerts::ack_alert,
        crate::alerts::assign_alert, crate::alerts::resolve_alert, crate::alerts::false_positive,
        crate::alerts::suspend_user, crate::alerts::reinstate_user),
    components(schemas(SearchBody, SearchOut, RecordOut, PutBody, WriteOut, DeleteOut, AuditPageOut, Problem,
        crate::governance::RequestBody, crate::governance::IssueBody,
        crate::governance::CommentBody, crate::governance::TrainingBody, crate::governance::ComplianceBody,
        crate::governance::VendorBody, crate::governance::CapBody, crate::exports::ExportBody,
        crate::directives::DirectiveBody, crate::directives::AckBody,
        crate::alerts::AssignBody, crate::alerts::NoteBody, crate::alerts::SuspendBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v1/tenants/{tenant}/records/search", post(search))
        .route(
            "/v1/tenants/{tenant}/records/{key}",
            get(get_record).put(put_record).delete(delete_record),
        )
        .route("/v1/audit/events", get(audit_events))
        .merge(crate::governance::routes())
        .merge(crate::audit::routes())
        .merge(crate::exports::routes())
        .merge(crate::directives::routes())
        .merge(crate::alerts::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_on_api))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { problem(404, "route_not_found", "no such endpoint".into()) })
        // JSON bodies are small; the one route that takes a file sets its own.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(problems_only))
        .layer(middleware::from_fn(secure_headers))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Counts and times every request under its route template.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(start.elapsed().as_secs_f64());
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: resp.status().as_u16(),
        })
        .inc();
    resp
}

/// Headers every answer carries: no content sniffing, and no caching of
/// anything (customer records, audit events, people's requests) by a browser
/// or a proxy on the way.
async fn secure_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Every error is a problem document. The framework's own rejections (a
/// malformed path or query string, a method the route does not take) come
/// as plain text that may repeat what was sent; they are replaced here by a
/// problem with a stable code and no part of the request.
async fn problems_only(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let plain = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return resp;
    }
    let (code, detail) = match status.as_u16() {
        404 => ("route_not_found", "no such endpoint"),
        405 => (
            "method_not_allowed",
            "this endpoint does not take that method",
        ),
        413 => (
            "body_too_large",
            "the request body is larger than this endpoint accepts",
        ),
        415 => (
            "media_type_unsupported",
            "this endpoint takes another content type",
        ),
        s if s < 500 => (
            "request_invalid",
            "the path or query string is malformed: a parameter is missing or has the wrong form",
        ),
        _ => ("internal", "internal error; see the server log"),
    };
    let mut fixed = problem(status.as_u16(), code, detail.into());
    if let Some(allow) = resp.headers().get(header::ALLOW) {
        fixed.headers_mut().insert(header::ALLOW, allow.clone());
    }
    fixed
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SearchBody {
    /// Purpose (利用目的) defined by the tenant, e.g. `inquiry`.
    purpose: Option<String>,
    /// Case, ticket or call id (letters, digits, -_.:/#).
    case_id: Option<String>,
    /// Exactly one search key and the value as typed, e.g. `{"phone": "０９０ー１２３４ー５６７８"}`.
    #[schema(value_type = Object)]
    by: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordOut {
    id: String,
    segment: String,
    #[schema(value_type = Object)]
    fields: BTreeMap<String, String>,
    /// Fields shown masked, with the mask applied.
    #[schema(value_type = Object)]
    masked: BTreeMap<String, String>,
    updated_at: i64,
}

impl From<mamori_vault::RecordView> for RecordOut {
    fn from(r: mamori_vault::RecordView) -> Self {
        let masked = r
            .masked
            .into_iter()
            .map(|(k, m)| {
                (
                    k,
                    serde_json::to_value(m)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                )
            })
            .collect();
        Self {
            id: r.id,
            segment: r.segment,
            fields: r.fields,
            masked,
            updated_at: r.updated_at,
        }
    }
}

/// What a search shows. Matches in segments the caller may not see are not
/// shown nor counted (a count would tell that the value belongs to someone
/// there); the audit log records them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchOut {
    records: Vec<RecordOut>,
}

/// Find customers by phone, e-mail, customer number or kana name.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/records/search", request_body = SearchBody,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = SearchOut), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 410, body = Problem), (status = 503, body = Problem)))]
async fn search(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(tenant): Path<String>,
    Body(body): Body<SearchBody>,
) -> Result<Json<SearchOut>, ApiError> {
    if body.by.len() != 1 {
        return Err(ApiError(VaultError::bad(
            "search_by_invalid",
            "`by` must hold exactly one search key",
        )));
    }
    let (key, value) = body.by.into_iter().next().expect("one entry");
    let out = with_caller(&state, caller, move |v, c| {
        let access = Access {
            purpose: body.purpose.as_deref(),
            case_id: body.case_id.as_deref(),
        };
        v.search(c, &tenant, access, &SearchBy { key, value })
    })
    .await?;
    Ok(Json(SearchOut {
        records: out.records.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AccessParams {
    /// Purpose (利用目的).
    purpose: Option<String>,
    /// Case, ticket or call id.
    case_id: Option<String>,
}

/// Read one record by its opaque id.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/records/{key}",
    params(("tenant" = String, Path), ("key" = String, Path, description = "Record id"), AccessParams),
    responses((status = 200, body = RecordOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_record(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((tenant, id)): Path<(String, String)>,
    Query(q): Query<AccessParams>,
) -> Result<Json<RecordOut>, ApiError> {
    let rec = with_caller(&state, caller, move |v, c| {
        v.get(
            c,
            &tenant,
            &id,
            Access {
                purpose: q.purpose.as_deref(),
                case_id: q.case_id.as_deref(),
            },
        )
    })
    .await?;
    Ok(Json(rec.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PutBody {
    purpose: Option<String>,
    case_id: Option<String>,
    /// Segment of the record; the tenant's first segment when absent.
    segment: Option<String>,
    /// Field name → value. Replaces the whole record.
    #[schema(value_type = Object)]
    fields: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WriteOut {
    id: String,
    created: bool,
}

/// Create or replace the record of a customer number.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/records/{key}", request_body = PutBody,
    params(("tenant" = String, Path), ("key" = String, Path, description = "Customer number")),
    responses((status = 200, body = WriteOut), (status = 201, body = WriteOut), (status = 400, body = Problem), (status = 403, body = Problem)))]
async fn put_record(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((tenant, customer_no)): Path<(String, String)>,
    Body(body): Body<PutBody>,
) -> Result<Response, ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        let access = Access {
            purpose: body.purpose.as_deref(),
            case_id: body.case_id.as_deref(),
        };
        v.upsert(
            c,
            &tenant,
            &customer_no,
            body.segment.as_deref(),
            &body.fields,
            access,
        )
    })
    .await?;
    let status = if out.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(WriteOut {
            id: out.id,
            created: out.created,
        }),
    )
        .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeleteOut {
    id: String,
    deleted: bool,
}

/// Delete the record of a customer number.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/records/{key}",
    params(("tenant" = String, Path), ("key" = String, Path, description = "Customer number"), AccessParams),
    responses((status = 200, body = DeleteOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_record(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((tenant, customer_no)): Path<(String, String)>,
    Query(q): Query<AccessParams>,
) -> Result<Json<DeleteOut>, ApiError> {
    let id = with_caller(&state, caller, move |v, c| {
        v.delete(
            c,
            &tenant,
            &customer_no,
            Access {
                purpose: q.purpose.as_deref(),
                case_id: q.case_id.as_deref(),
            },
        )
    })
    .await?;
    Ok(Json(DeleteOut { id, deleted: true }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditParams {
    actor: Option<String>,
    tenant: Option<String>,
    action: Option<String>,
    /// Events that touched this record id: who saw a customer, and why.
    record: Option<String>,
    purpose: Option<String>,
    case_id: Option<String>,
    /// RFC 3339 lower bound (inclusive).
    from: Option<String>,
    /// RFC 3339 upper bound (exclusive).
    to: Option<String>,
    /// Cursor from the previous page's `next`.
    after: Option<i64>,
    /// Page size, 1-1000 (default 100).
    limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPageOut {
    #[schema(value_type = Vec<Object>)]
    events: Vec<serde_json::Value>,
    next: Option<i64>,
}

pub(crate) fn parse_time(name: &str, v: Option<String>) -> Result<Option<i64>, ApiError> {
    v.map(|s| {
        chrono::DateTime::parse_from_rfc3339(&s)
            .map(|t| t.timestamp_micros())
            .map_err(|_| {
                ApiError(VaultError::bad(
                    "time_invalid",
                    format!("`{name}` must be an RFC 3339 time, e.g. 2026-11-22T09:00:00+09:00"),
                ))
            })
    })
    .transpose()
}

/// Audit events (supervisors, security officers, auditors).
#[utoipa::path(get, path = "/v1/audit/events", params(AuditParams),
    responses((status = 200, body = AuditPageOut), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn audit_events(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(p): Query<AuditParams>,
) -> Result<Json<AuditPageOut>, ApiError> {
    let q = AuditQuery {
        from_ts: parse_time("from", p.from)?,
        to_ts: parse_time("to", p.to)?,
        actor: p.actor,
        tenant: p.tenant,
        action: p.action,
        record: p.record,
        purpose: p.purpose,
        case_id: p.case_id,
        after: p.after,
        limit: p.limit.unwrap_or(100),
    };
    let page = with_caller(&state, caller, move |v, c| v.audit_events(c, q)).await?;
    let events = page
        .events
        .into_iter()
        .map(|e| serde_json::to_value(e).unwrap_or_default())
        .collect();
    Ok(Json(AuditPageOut {
        events,
        next: page.next,
    }))
}

/// Liveness and audit-log readiness.
#[utoipa::path(get, path = "/healthz", security(()), responses((status = 200, description = "ok")))]
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Readiness for a load balancer: the store answers (one query). A node
/// whose database is unreachable, or whose audit log could not be written in
/// the last few seconds (it refuses every read then), is taken out of
/// rotation, not sent requests that would fail.
async fn readyz(State(state): State<AppState>) -> Response {
    let v = state.vault.clone();
    let store_ok = tokio::task::spawn_blocking(move || v.store().governance_rev())
        .await
        .ok()
        .and_then(Result::ok)
        .is_some();
    let audit_ok = !state.vault.audit().failed_within(AUDIT_FAILURE_BACKOFF);
    let (status, text) = match (store_ok, audit_ok) {
        (true, true) => (axum::http::StatusCode::OK, "ready"),
        (false, _) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "store unavailable",
        ),
        (true, false) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "audit log unavailable",
        ),
    };
    (status, Json(serde_json::json!({ "status": text }))).into_response()
}

/// How long a node reports itself unready after its audit log failed to
/// take a write; then requests are let through again, and the first one
/// that fails starts the next pause.
const AUDIT_FAILURE_BACKOFF: std::time::Duration = std::time::Duration::from_secs(5);

/// Largest request body of every route but a leaked file's (`/v1/exports/trace`).
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;

/// The routes of a separate metrics address (`server.metrics_listen`):
/// `/metrics` only, open to whoever reaches that address.
pub fn metrics_routes(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(|| async { problem(404, "route_not_found", "no such endpoint".into()) })
        .layer(middleware::from_fn(secure_headers))
        .with_state(state)
}

/// `/metrics` on the API's own address: only with the scraper's token
/// (`MAMORI_METRICS_TOKEN`), and absent when none is configured — request
/// counts and alert figures are no one else's business.
async fn metrics_on_api(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match state.metrics_access.check(&headers) {
        crate::metrics::Scrape::Allowed => metrics(State(state)).await,
        crate::metrics::Scrape::NotServed => {
            problem(404, "route_not_found", "no such endpoint".into())
        }
        crate::metrics::Scrape::Refused => ApiError(VaultError::Unauthenticated).into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    state.metrics.witnesses(&state.vault.audit_witnesses());
    let v = state.vault.clone();
    let pending = tokio::task::spawn_blocking(move || v.store().pending_deliveries())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    state
        .metrics
        .detection(state.vault.detection_status().as_deref(), &pending);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
