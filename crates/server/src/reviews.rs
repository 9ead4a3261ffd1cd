//! Access review campaigns over HTTP: the security office opens and closes
//! them; reviewers list their items with the evidence and keep or revoke
//! each with a reason; the security office and auditors read the figures.
//! Glue over `Vault::open_campaign` and its neighbours; the gate decides who
//! sees and decides which. The schedule (notices, deadlines, successors)
//! runs in the server's sweeper, not over the API.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::{get, post},
};
use mamori_vault::{
    review_evidence::Scope,
    reviews::{CampaignSpec, CampaignStats, CampaignView, ItemView, NoAnswer, Verdict},
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
        .route(
            "/v1/reviews/campaigns",
            get(list_campaigns).post(open_campaign),
        )
        .route("/v1/reviews/campaigns/{id}/close", post(close_campaign))
        .route("/v1/reviews/campaigns/{id}/stats", get(campaign_stats))
        .route("/v1/reviews/items", get(list_items))
        .route("/v1/reviews/items/{id}/decide", post(decide_item))
}

fn default_notice() -> u32 {
    7
}
fn default_every() -> u32 {
    3
}
fn default_evidence() -> u32 {
    90
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OpenCampaignBody {
    title: String,
    /// Which entitlements; every one of them when empty.
    #[serde(default)]
    scope: Scope,
    /// Reviews what a person's manager cannot.
    fallback: Option<String>,
    /// RFC 3339, e.g. `2026-12-25T00:00:00+09:00`.
    #[schema(format = DateTime)]
    deadline: String,
    #[serde(default = "default_notice")]
    notice_days: u32,
    #[serde(default)]
    on_no_answer: NoAnswer,
    /// 0 (once), 1, 3 (quarterly), 6 or 12.
    #[serde(default = "default_every")]
    every_months: u32,
    #[serde(default = "default_evidence")]
    evidence_days: u32,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CampaignQuery {
    /// Closed ones too (default: open ones only).
    #[serde(default)]
    all: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ItemQuery {
    /// One campaign's items (default: every campaign's).
    campaign: Option<String>,
    /// Decided ones too (default: undecided only).
    #[serde(default)]
    decided: bool,
    /// Every item, not only those the caller reviews (security office, auditors).
    #[serde(default)]
    everyone: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DecideBody {
    verdict: Verdict,
    /// Why: what the evidence showed and what the job needs (at most 2,000 characters).
    reason: String,
}

/// Open a campaign over a scope: every entitlement an item with its reviewer
/// and the vault's evidence (security office).
#[utoipa::path(post, path = "/v1/reviews/campaigns", request_body = OpenCampaignBody,
    responses((status = 201, body = CampaignView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn open_campaign(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Body(b): Body<OpenCampaignBody>,
) -> Result<(StatusCode, Json<CampaignView>), ApiError> {
    let deadline = parse_instant("deadline", &b.deadline)?;
    let spec = CampaignSpec {
        title: b.title,
        scope: b.scope,
        fallback: b.fallback,
        deadline,
        notice_days: b.notice_days,
        on_no_answer: b.on_no_answer,
        every_months: b.every_months,
        evidence_days: b.evidence_days,
    };
    let out = with_caller(&state, caller, move |v, c| v.open_campaign(c, &spec)).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Campaigns, newest first: all for the security office and auditors, those
/// the caller reviews something in for others.
#[utoipa::path(get, path = "/v1/reviews/campaigns", params(CampaignQuery),
    responses((status = 200, body = Vec<CampaignView>), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list_campaigns(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(q): Query<CampaignQuery>,
) -> Result<Json<Vec<CampaignView>>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.campaigns(c, !q.all)).await?;
    Ok(Json(out))
}

/// Close a campaign now: every undecided item takes its default (security office).
#[utoipa::path(post, path = "/v1/reviews/campaigns/{id}/close", params(("id" = String, Path)),
    responses((status = 200, body = CampaignView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn close_campaign(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.close_campaign(c, &id)).await?;
    Ok(Json(out))
}

/// Per reviewer: items, decisions, share kept, median seconds per decision
/// (security office, auditors).
#[utoipa::path(get, path = "/v1/reviews/campaigns/{id}/stats", params(("id" = String, Path)),
    responses((status = 200, body = CampaignStats), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn campaign_stats(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<CampaignStats>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.campaign_stats(c, &id)).await?;
    Ok(Json(out))
}

/// The items the caller reviews (or every item, for the security office and
/// auditors with `everyone`), with the evidence taken at opening.
#[utoipa::path(get, path = "/v1/reviews/items", params(ItemQuery),
    responses((status = 200, body = Vec<ItemView>), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list_items(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(q): Query<ItemQuery>,
) -> Result<Json<Vec<ItemView>>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        v.review_items(c, q.campaign.as_deref(), q.everyone, !q.decided)
    })
    .await?;
    Ok(Json(out))
}

/// Keep or revoke an item, once, with a reason (its reviewer only); a
/// revocation is applied with the decision and checked.
#[utoipa::path(post, path = "/v1/reviews/items/{id}/decide", params(("id" = String, Path)),
    request_body = DecideBody,
    responses((status = 200, body = ItemView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn decide_item(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<DecideBody>,
) -> Result<Json<ItemView>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        v.decide_item(c, &id, b.verdict, &b.reason)
    })
    .await?;
    Ok(Json(out))
}
