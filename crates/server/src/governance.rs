//! `/v1/access`, `/v1/people`, `/v1/vendors`: just-in-time access requests
//! and grants, training and compliance records, vendor contracts. Glue only:
//! every decision is the vault's (and its policy gate's).

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::{get, post, put},
};
use mamori_core::TenantId;
use mamori_vault::ErrorCode;
use mamori_vault::{
    VaultError,
    grants::{ListFilter, NewRequest},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use mamori_store::{ComplianceRow, TrainingRow};
use mamori_vault::{
    full_access::FullAccessView,
    grants::RequestView,
    people::{PersonView, VendorView},
};

use crate::{
    AppState,
    extract::{Authed, Body, whole, with_caller},
    problem::{ApiError, Problem},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/access/requests",
            post(create_request).get(list_requests),
        )
        .route("/v1/access/requests/{id}", get(show_request))
        .route("/v1/access/requests/{id}/approve", post(approve_request))
        .route("/v1/access/requests/{id}/deny", post(deny_request))
        .route("/v1/access/requests/{id}/revoke", post(revoke_request))
        .route("/v1/access/grants", post(issue_grant))
        .route("/v1/people/{login}", get(show_person))
        .route("/v1/people/{login}/training", post(record_training))
        .route("/v1/people/{login}/compliance", post(record_compliance))
        .route("/v1/vendors", get(list_vendors))
        .route("/v1/vendors/{id}", put(put_vendor))
        .route("/v1/tenants/{tenant}/full-access-cap", put(set_cap))
        .route("/v1/tenants/{tenant}/full-access", get(list_full_access))
        .route(
            "/v1/tenants/{tenant}/full-access/{login}/approve",
            post(approve_full_access),
        )
        .route(
            "/v1/tenants/{tenant}/full-access/{login}/deny",
            post(deny_full_access),
        )
        .route(
            "/v1/tenants/{tenant}/full-access/{login}/revoke",
            post(revoke_full_access),
        )
}

/// What a request asks for.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RequestBody {
    tenant: String,
    /// One segment; absent: every segment of the tenant.
    segment: Option<String>,
    /// Fields the work needs (a subset of the purpose's view).
    fields: Vec<String>,
    /// Purpose (利用目的) from the tenant's list.
    purpose: String,
    /// Case or ticket id.
    case_id: String,
    /// Why the work needs it (letters or digits; punctuation does not count).
    justification: String,
    /// Most distinct customers the grant may read.
    #[serde(deserialize_with = "whole::number")]
    #[schema(minimum = 1)]
    record_budget: u64,
    /// Start, RFC 3339; absent: now.
    #[schema(schema_with = crate::extract::optional_time)]
    starts_at: Option<String>,
    /// Window length in hours.
    #[serde(default, deserialize_with = "whole::optional")]
    #[schema(minimum = 1)]
    hours: Option<u32>,
}

impl RequestBody {
    fn into_request(self) -> Result<NewRequest, ApiError> {
        Ok(NewRequest {
            starts_at: crate::extract::parse_time("starts_at", self.starts_at)?
                .map(|micros| micros.div_euclid(1_000_000)),
            tenant: self.tenant,
            segment: self.segment,
            fields: self.fields,
            purpose: self.purpose,
            case_id: self.case_id,
            justification: self.justification,
            record_budget: self.record_budget,
            hours: self.hours,
        })
    }
}

/// File an access request (事前申請); the requester's supervisor or the security office decides.
#[utoipa::path(post, path = "/v1/access/requests", request_body = RequestBody,
    responses((status = 201, body = RequestView, description = "the request: status (pending|lapsed|denied|scheduled|active|expired|revoked), window, budget used and history"), (status = 400, body = Problem), (status = 403, body = Problem)))]
async fn create_request(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Body(b): Body<RequestBody>,
) -> Result<(StatusCode, Json<RequestView>), ApiError> {
    let req = b.into_request()?;
    let out = with_caller(&state, caller, move |v, c| v.request_access(c, &req)).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct IssueBody {
    /// The person the grant is for.
    to: String,
    #[serde(flatten)]
    grant: RequestBody,
}

/// Issue a time-limited grant (holders of standing full access; default 8 hours).
#[utoipa::path(post, path = "/v1/access/grants", request_body = IssueBody,
    responses((status = 201, body = RequestView, description = "the request: status (pending|lapsed|denied|scheduled|active|expired|revoked), window, budget used and history"), (status = 400, body = Problem), (status = 403, body = Problem)))]
async fn issue_grant(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Body(b): Body<IssueBody>,
) -> Result<(StatusCode, Json<RequestView>), ApiError> {
    let IssueBody { to, grant } = b;
    let req = grant.into_request()?;
    let out = with_caller(&state, caller, move |v, c| v.issue_grant(c, &to, &req)).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListParams {
    /// Only this tenant's (a tenant id; another form is refused).
    #[param(value_type = Option<String>)]
    tenant: Option<TenantId>,
    /// Only requests waiting for a decision.
    pending: Option<bool>,
    /// Only the caller's own requests.
    mine: Option<bool>,
    /// 1-1000 (default 100).
    limit: Option<usize>,
}

/// Requests the caller may see, newest first.
#[utoipa::path(get, path = "/v1/access/requests", params(ListParams),
    responses((status = 200, body = Vec<RequestView>, description = "requests: id, tenant, requester, segment, fields, purpose, case_id, justification, record_budget, records_used, starts_at, ends_at, status, origin, decided_by, revoked_by, history"), (status = 401, body = Problem)))]
async fn list_requests(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(p): Query<ListParams>,
) -> Result<Json<Vec<RequestView>>, ApiError> {
    let f = ListFilter {
        tenant: p.tenant.map(String::from),
        pending: p.pending.unwrap_or(false),
        mine: p.mine.unwrap_or(false),
        limit: p.limit,
    };
    let out = with_caller(&state, caller, move |v, c| v.access_requests(c, &f)).await?;
    Ok(Json(out))
}

/// One request with its full history (also after it ended).
#[utoipa::path(get, path = "/v1/access/requests/{id}", params(("id" = String, Path)),
    responses((status = 200, body = RequestView, description = "the request: status (pending|lapsed|denied|scheduled|active|expired|revoked), window, budget used and history"), (status = 404, body = Problem)))]
async fn show_request(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.access_request(c, &id)).await?;
    Ok(Json(out))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CommentBody {
    /// Why (required to deny or revoke; optional to approve).
    pub comment: Option<String>,
}

/// Approve a pending request (never one's own, nor one's manager's).
#[utoipa::path(post, path = "/v1/access/requests/{id}/approve", params(("id" = String, Path)), request_body = CommentBody,
    responses((status = 200, body = RequestView, description = "the request: status (pending|lapsed|denied|scheduled|active|expired|revoked), window, budget used and history"), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn approve_request(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<CommentBody>,
) -> Result<Json<RequestView>, ApiError> {
    let c_body = b;
    let out = with_caller(&state, caller, move |v, c| {
        v.approve_request(c, &id, c_body.comment.as_deref())
    })
    .await?;
    Ok(Json(out))
}

/// Deny a pending request, saying why.
#[utoipa::path(post, path = "/v1/access/requests/{id}/deny", params(("id" = String, Path)), request_body = CommentBody,
    responses((status = 200, body = RequestView, description = "the request: status (pending|lapsed|denied|scheduled|active|expired|revoked), window, budget used and history"), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn deny_request(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<CommentBody>,
) -> Result<Json<RequestView>, ApiError> {
    let comment = b.comment.unwrap_or_default();
    let out = with_caller(&state, caller, move |v, c| v.deny_request(c, &id, &comment)).await?;
    Ok(Json(out))
}

/// End a pending request or a live grant early, saying why.
#[utoipa::path(post, path = "/v1/access/requests/{id}/revoke", params(("id" = String, Path)), request_body = CommentBody,
    responses((status = 200, body = RequestView, description = "the request: status (pending|lapsed|denied|scheduled|active|expired|revoked), window, budget used and history"), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn revoke_request(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<CommentBody>,
) -> Result<Json<RequestView>, ApiError> {
    let comment = b.comment.unwrap_or_default();
    let out = with_caller(&state, caller, move |v, c| {
        v.revoke_request(c, &id, &comment)
    })
    .await?;
    Ok(Json(out))
}

/// A person's training, compliance and people-gate verdict (themselves, or the security office).
#[utoipa::path(get, path = "/v1/people/{login}", params(("login" = String, Path)),
    responses((status = 200, body = PersonView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn show_person(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(login): Path<String>,
) -> Result<Json<PersonView>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.person(c, &login)).await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TrainingBody {
    course: String,
    /// Comprehension-test score, 0-100.
    #[serde(deserialize_with = "whole::number")]
    #[schema(maximum = 100)]
    score: u32,
    /// RFC 3339; absent: now.
    #[schema(schema_with = crate::extract::optional_time)]
    completed_at: Option<String>,
}

/// Record a completed course (security office).
#[utoipa::path(post, path = "/v1/people/{login}/training", params(("login" = String, Path)), request_body = TrainingBody,
    responses((status = 201, body = TrainingRow), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "this course is already recorded for the person at that time")))]
async fn record_training(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(login): Path<String>,
    Body(b): Body<TrainingBody>,
) -> Result<(StatusCode, Json<TrainingRow>), ApiError> {
    let t = b;
    let at = crate::extract::parse_time("completed_at", t.completed_at)?.map(|m| m / 1_000_000);
    let out = with_caller(&state, caller, move |v, c| {
        v.record_training(c, &login, &t.course, t.score, at)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ComplianceBody {
    /// RFC 3339; absent: now.
    #[schema(schema_with = crate::extract::optional_time)]
    confirmed_at: Option<String>,
}

/// Record an annual compliance confirmation (security office).
#[utoipa::path(post, path = "/v1/people/{login}/compliance", params(("login" = String, Path)), request_body = ComplianceBody,
    responses((status = 201, body = ComplianceRow), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "a confirmation is already recorded for the person at that time")))]
async fn record_compliance(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(login): Path<String>,
    Body(b): Body<ComplianceBody>,
) -> Result<(StatusCode, Json<ComplianceRow>), ApiError> {
    let at = crate::extract::parse_time("confirmed_at", b.confirmed_at)?.map(|m| m / 1_000_000);
    let out = with_caller(&state, caller, move |v, c| {
        v.record_compliance(c, &login, at)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Vendors, whether each contract is in force, and missing clauses (the
/// security office and auditors).
#[utoipa::path(get, path = "/v1/vendors",
    responses((status = 200, body = Vec<VendorView>), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
async fn list_vendors(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> Result<Json<Vec<VendorView>>, ApiError> {
    let out = with_caller(&state, caller, |v, c| v.vendor_list(c)).await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VendorBody {
    /// The vendor's name (not blank).
    #[schema(pattern = "\\S")]
    name: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    contract_start: String,
    /// RFC 3339, exclusive.
    #[schema(format = DateTime)]
    contract_end: String,
    /// confidentiality, subcontracting, liability, return_erasure, audit_rights.
    #[schema(schema_with = clause_ids)]
    clauses: Vec<String>,
}

/// `clauses`: the known clause ids.
fn clause_ids() -> utoipa::openapi::Array {
    use utoipa::openapi::{ArrayBuilder, ObjectBuilder, Type};
    let ids = mamori_core::governance::CLAUSES
        .iter()
        .map(|(id, _, _)| *id);
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(ids)),
        )
        .build()
}

/// Create or update a vendor's contract (security office).
#[utoipa::path(put, path = "/v1/vendors/{id}", params(("id" = String, Path)), request_body = VendorBody,
    responses((status = 200, body = VendorView), (status = 400, body = Problem), (status = 403, body = Problem)))]
async fn put_vendor(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<VendorBody>,
) -> Result<Json<VendorView>, ApiError> {
    let vb = b;
    let time = |name: &str, s: String| -> Result<i64, ApiError> {
        crate::extract::parse_time(name, Some(s))?
            .map(|m| m / 1_000_000)
            .ok_or_else(|| {
                ApiError(VaultError::bad(
                    ErrorCode::TimeInvalid,
                    format!("`{name}` is required"),
                ))
            })
    };
    let (start, end) = (
        time("contract_start", vb.contract_start)?,
        time("contract_end", vb.contract_end)?,
    );
    let out = with_caller(&state, caller, move |v, c| {
        v.put_vendor(c, &id, &vb.name, start, end, &vb.clauses)
    })
    .await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CapBody {
    /// Most standing full-access holders; null: the configured default.
    #[serde(default, deserialize_with = "whole::optional")]
    cap: Option<u32>,
}

/// A tenant's cap on standing full access as it now stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct CapOut {
    tenant: String,
    /// null: the configured default applies.
    full_access_cap: Option<u32>,
}

/// Cap the people with standing access to every segment of a tenant (security office).
#[utoipa::path(put, path = "/v1/tenants/{tenant}/full-access-cap", params(("tenant" = String, Path)), request_body = CapBody,
    responses((status = 200, body = CapOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn set_cap(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(tenant): Path<String>,
    Body(b): Body<CapBody>,
) -> Result<Json<CapOut>, ApiError> {
    let cap = b.cap;
    let t = tenant.clone();
    with_caller(&state, caller, move |v, c| {
        v.set_full_access_cap(c, &t, cap)
    })
    .await?;
    Ok(Json(CapOut {
        tenant,
        full_access_cap: cap,
    }))
}

/// Holders of standing full access to a tenant and nominations for it, with history.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/full-access", params(("tenant" = String, Path)),
    responses((status = 200, body = Vec<FullAccessView>, description = "nominations: id, tenant, login, status (pending|approved|denied|revoked), nominated_by/at, decided_by/at, revoked_by/at, history"), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn list_full_access(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<FullAccessView>>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.full_access_list(c, &tenant)).await?;
    Ok(Json(out))
}

/// What the security office does with a nomination.
type FullAccessStep = fn(
    &mamori_vault::Vault,
    &mamori_vault::Caller,
    &str,
    &str,
    Option<&str>,
) -> mamori_vault::Result<mamori_vault::full_access::FullAccessView>;

async fn full_access_step(
    state: AppState,
    caller: mamori_vault::Caller,
    (tenant, login): (String, String),
    b: CommentBody,
    step: FullAccessStep,
) -> Result<Json<FullAccessView>, ApiError> {
    let comment = b.comment;
    let out = with_caller(&state, caller, move |v, c| {
        step(v, c, &tenant, &login, comment.as_deref())
    })
    .await?;
    Ok(Json(out))
}

/// Approve a nomination for standing full access (security office; never one's own), within the tenant's cap.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/full-access/{login}/approve", params(("tenant" = String, Path), ("login" = String, Path)), request_body = CommentBody,
    responses((status = 200, body = FullAccessView, description = "the nomination, now approved"), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn approve_full_access(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(p): Path<(String, String)>,
    Body(b): Body<CommentBody>,
) -> Result<Json<FullAccessView>, ApiError> {
    full_access_step(state, caller, p, b, |v, c, t, l, why| {
        v.approve_full_access(c, t, l, why)
    })
    .await
}

/// Deny a nomination for standing full access, saying why (security office).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/full-access/{login}/deny", params(("tenant" = String, Path), ("login" = String, Path)), request_body = CommentBody,
    responses((status = 200, body = FullAccessView, description = "the nomination, now denied"), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn deny_full_access(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(p): Path<(String, String)>,
    Body(b): Body<CommentBody>,
) -> Result<Json<FullAccessView>, ApiError> {
    full_access_step(state, caller, p, b, |v, c, t, l, why| {
        v.deny_full_access(c, t, l, why.unwrap_or_default())
    })
    .await
}

/// End standing full access at once, or withdraw a nomination, saying why (security office or the holder).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/full-access/{login}/revoke", params(("tenant" = String, Path), ("login" = String, Path)), request_body = CommentBody,
    responses((status = 200, body = FullAccessView, description = "the nomination, now revoked"), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn revoke_full_access(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(p): Path<(String, String)>,
    Body(b): Body<CommentBody>,
) -> Result<Json<FullAccessView>, ApiError> {
    full_access_step(state, caller, p, b, |v, c, t, l, why| {
        v.revoke_full_access(c, t, l, why.unwrap_or_default())
    })
    .await
}
