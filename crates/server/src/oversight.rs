//! Oversight over HTTP: the entitlement table (who can see which segment,
//! per department) and its quarterly trend, the self-inspection from facts
//! and declarations of what no record can show, and surprise audits of
//! vendors with their explanations. Glue over the vault's methods of the
//! same names; the gate decides who may.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::{get, post},
};
use mamori_vault::{
    dashboard::Dashboard,
    egress::{EgressEntry, ListFormat},
    inspection::Inspection,
    report::{EntitlementRow, TrendPoint},
    system::SystemStatus,
    vendor_audit::{Questionnaire, Sampled, VendorAudit},
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::{
    AppState,
    extract::{Authed, Body, parse_instant, with_caller},
    problem::{ApiError, Problem},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/reports/entitlements", get(entitlements))
        .route("/v1/reports/entitlements/trend", get(trend))
        .route("/v1/dashboard", get(dashboard))
        .route("/v1/system", get(system))
        .route("/v1/inspections", get(inspect))
        .route("/v1/inspections/declarations", post(declare))
        .route("/v1/vendors/{id}/audits", post(start_audit))
        .route("/v1/vendor-audits/asked", get(asked))
        .route("/v1/vendor-audits/{id}", get(show_audit))
        .route("/v1/vendor-audits/{id}/explanations", post(explain))
        .route("/v1/vendor-questionnaire", post(answer_questionnaire))
        .route("/v1/vendors/{id}/questionnaire", get(questionnaire))
        .route("/v1/egress", get(egress_list).post(egress_request))
        .route("/v1/egress/allow-list", get(egress_publish))
        .route("/v1/egress/{id}/approve", post(egress_approve))
        .route("/v1/egress/{id}/revoke", post(egress_revoke))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AnswersBody {
    /// Every question answered: `staff_count` a number, the others `yes` or `no`.
    answers: std::collections::BTreeMap<String, String>,
}

/// Answer the vendor questionnaire for the caller's own company (a vendor's people).
#[utoipa::path(post, path = "/v1/vendor-questionnaire", request_body = AnswersBody,
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn answer_questionnaire(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Body(b): Body<AnswersBody>,
) -> Result<StatusCode, ApiError> {
    with_caller(&state, caller, move |v, c| {
        v.answer_questionnaire(c, &b.answers)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A vendor's latest answers, each checked against the vault's records
/// (security office, auditors).
#[utoipa::path(get, path = "/v1/vendors/{id}/questionnaire", params(("id" = String, Path)),
    responses((status = 200, body = Questionnaire), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn questionnaire(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<Questionnaire>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.questionnaire(c, &id)).await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EgressBody {
    /// A host (`api.example.co.jp`), `.domain` (with its subdomains), an address or a CIDR block.
    destination: String,
    #[schema(minimum = 1, maximum = 65535)]
    port: u16,
    /// What the secure area needs it for.
    purpose: String,
    /// Days an approval lasts before it must be re-approved (1-366; default 180).
    days: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonBody {
    /// Why (at most 2,000 characters).
    reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// `squid` (default) or `pac`.
    format: Option<ListFormat>,
    /// The proxy a PAC file sends allowed traffic to (host:port).
    proxy: Option<String>,
}

/// The egress register (supervisors, system administrators, the security office, auditors).
#[utoipa::path(get, path = "/v1/egress",
    responses((status = 200, body = Vec<EgressEntry>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn egress_list(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> Result<Json<Vec<EgressEntry>>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.egress_register(c)).await?;
    Ok(Json(out))
}

/// Ask for a destination to be allowed from the secure area.
#[utoipa::path(post, path = "/v1/egress", request_body = EgressBody,
    responses((status = 201, body = EgressEntry), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
pub async fn egress_request(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Body(b): Body<EgressBody>,
) -> Result<(StatusCode, Json<EgressEntry>), ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        v.egress_request(c, &b.destination, b.port, &b.purpose, b.days.unwrap_or(180))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Approve a destination, or re-approve it for another period (security
/// office; never one's own request).
#[utoipa::path(post, path = "/v1/egress/{id}/approve", params(("id" = String, Path)),
    responses((status = 200, body = EgressEntry), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn egress_approve(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<EgressEntry>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.egress_approve(c, &id)).await?;
    Ok(Json(out))
}

/// Revoke a destination at once (security office).
#[utoipa::path(post, path = "/v1/egress/{id}/revoke", params(("id" = String, Path)), request_body = ReasonBody,
    responses((status = 200, body = EgressEntry), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn egress_revoke(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<ReasonBody>,
) -> Result<Json<EgressEntry>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        v.egress_revoke(c, &id, &b.reason)
    })
    .await?;
    Ok(Json(out))
}

/// The allow-list of the destinations in force, as a squid ACL or a PAC
/// file (security office); recorded with its SHA-256.
#[utoipa::path(get, path = "/v1/egress/allow-list", params(ListQuery),
    responses((status = 200, description = "the list: squid.conf lines, or a PAC file",
            content((String = "text/plain"), (String = "application/x-ns-proxy-autoconfig"))),
        (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn egress_publish(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(q): Query<ListQuery>,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), ApiError> {
    let format = q.format.unwrap_or(ListFormat::Squid);
    let proxy = q.proxy.unwrap_or_else(|| "proxy.internal:3128".into());
    let out = with_caller(&state, caller, move |v, c| {
        v.egress_publish(c, format, &proxy)
    })
    .await?;
    let kind = match format {
        ListFormat::Squid => "text/plain; charset=utf-8",
        ListFormat::Pac => "application/x-ns-proxy-autoconfig",
    };
    Ok(([(axum::http::header::CONTENT_TYPE, kind)], out))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AuditBody {
    /// Start of the period, RFC 3339.
    #[schema(format = DateTime)]
    from: String,
    /// End (exclusive), at most 62 days after `from`.
    #[schema(format = DateTime)]
    to: String,
    /// Reads to sample (1-500).
    sample: usize,
    /// Re-draw a recorded sample (random when absent).
    seed: Option<u64>,
    /// Explanations are due by this time (RFC 3339).
    #[schema(format = DateTime)]
    deadline: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ExplainBody {
    /// The sampled read: its log and position, as the audit lists it.
    log: String,
    seq: u64,
    /// Why it was read (at most 2,000 characters).
    text: String,
}

/// A sampled read the caller is asked to explain.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Asked {
    audit: String,
    read: Sampled,
}

/// Start a surprise audit of a vendor: its facts and a seeded sample of its
/// people's reads for explanation (security office).
#[utoipa::path(post, path = "/v1/vendors/{id}/audits", params(("id" = String, Path)), request_body = AuditBody,
    responses((status = 201, body = VendorAudit), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn start_audit(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<AuditBody>,
) -> Result<(StatusCode, Json<VendorAudit>), ApiError> {
    let period = (parse_instant("from", &b.from)?, parse_instant("to", &b.to)?);
    let deadline = parse_instant("deadline", &b.deadline)?;
    let out = with_caller(&state, caller, move |v, c| {
        v.audit_vendor(c, &id, period, b.sample, b.seed, deadline)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// An audit with its facts, sample and explanations (security office, auditors).
#[utoipa::path(get, path = "/v1/vendor-audits/{id}", params(("id" = String, Path)),
    responses((status = 200, body = VendorAudit), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn show_audit(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<VendorAudit>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.vendor_audit(c, &id)).await?;
    Ok(Json(out))
}

/// The sampled reads the caller made and is asked to explain.
#[utoipa::path(get, path = "/v1/vendor-audits/asked",
    responses((status = 200, body = Vec<Asked>), (status = 401, body = Problem)))]
pub async fn asked(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> Result<Json<Vec<Asked>>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.my_audit_items(c)).await?;
    Ok(Json(
        out.into_iter()
            .map(|(audit, read)| Asked { audit, read })
            .collect(),
    ))
}

/// Explain one of the caller's sampled reads, once, before the deadline.
#[utoipa::path(post, path = "/v1/vendor-audits/{id}/explanations", params(("id" = String, Path)),
    request_body = ExplainBody,
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn explain(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<ExplainBody>,
) -> Result<StatusCode, ApiError> {
    with_caller(&state, caller, move |v, c| {
        v.explain_read(c, &id, (&b.log, b.seq), &b.text)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EntitlementQuery {
    /// One tenant (default: every active one).
    tenant: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PeriodQuery {
    /// Start, RFC 3339 (e.g. `2026-11-01T00:00:00+09:00`).
    #[param(format = DateTime)]
    from: String,
    /// End (exclusive), RFC 3339; at most 62 days after `from`.
    #[param(format = DateTime)]
    to: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeclareBody {
    /// `facility_locks`, `device_disposal` or `clean_desk`.
    item: String,
    /// What was checked, by whom, how (at most 2,000 characters).
    statement: String,
}

/// Per tenant, segment and department: how many people can see the
/// segment's customers now, out of how many (security office, auditors).
#[utoipa::path(get, path = "/v1/reports/entitlements", params(EntitlementQuery),
    responses((status = 200, body = Vec<EntitlementRow>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn entitlements(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(q): Query<EntitlementQuery>,
) -> Result<Json<Vec<EntitlementRow>>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        v.entitlements(c, q.tenant.as_deref())
    })
    .await?;
    Ok(Json(out))
}

/// The entitlement table as each closed review campaign left it, oldest first.
#[utoipa::path(get, path = "/v1/reports/entitlements/trend",
    responses((status = 200, body = Vec<TrendPoint>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn trend(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> Result<Json<Vec<TrendPoint>>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.entitlement_trend(c)).await?;
    Ok(Json(out))
}

/// What needs attention now: open alerts by severity and rule, alerts per
/// day, exports and requests waiting, full-access holders against each
/// tenant's cap, training lapsed or lapsing, vendor contracts ending
/// (security office, auditors). Recorded.
#[utoipa::path(get, path = "/v1/dashboard",
    responses((status = 200, body = Dashboard), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn dashboard(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> Result<Json<Dashboard>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.dashboard(c)).await?;
    Ok(Json(out))
}

/// The system's health: the store, the audit log's writes, each log's
/// length against its latest signed checkpoint, witnesses, notifications
/// waiting, tenants by status (system administrators, the security office,
/// auditors). No customer data. Recorded.
#[utoipa::path(get, path = "/v1/system",
    responses((status = 200, body = SystemStatus), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn system(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> Result<Json<SystemStatus>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.system_status(c)).await?;
    Ok(Json(out))
}

/// Run the self-inspection over a period: each item verified or failed from
/// the vault's records, declared items as declared (security office,
/// auditors). Recorded as an audit event with the result's SHA-256.
#[utoipa::path(get, path = "/v1/inspections", params(PeriodQuery),
    responses((status = 200, body = Inspection), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
pub async fn inspect(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<Inspection>, ApiError> {
    let (from, to) = (parse_instant("from", &q.from)?, parse_instant("to", &q.to)?);
    let out = with_caller(&state, caller, move |v, c| v.inspect(c, from, to)).await?;
    Ok(Json(out))
}

/// Declare an item no record can show (security office); the inspection
/// prints it as declared, by whom, never as verified.
#[utoipa::path(post, path = "/v1/inspections/declarations", request_body = DeclareBody,
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn declare(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Body(b): Body<DeclareBody>,
) -> Result<StatusCode, ApiError> {
    with_caller(&state, caller, move |v, c| {
        v.declare(c, &b.item, &b.statement)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
