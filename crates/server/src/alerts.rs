//! Alerts over HTTP: list, show, acknowledge, assign, resolve, mark false
//! positive; suspend and reinstate a person. Glue over `Vault::*_alert`;
//! the gate decides who sees and handles which alerts.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    routing::{get, post},
};
use mamori_core::TenantId;
use mamori_store::{AlertFilter, AlertState};
use mamori_vault::ErrorCode;
use mamori_vault::{VaultError, alerts::Outcome};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use mamori_vault::alerts::AlertView;

use crate::{
    AppState,
    extract::{Authed, Body, with_caller},
    problem::{ApiError, Problem},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/alerts", get(list_alerts))
        .route("/v1/alerts/{id}", get(show_alert))
        .route("/v1/alerts/{id}/ack", post(ack_alert))
        .route("/v1/alerts/{id}/assign", post(assign_alert))
        .route("/v1/alerts/{id}/resolve", post(resolve_alert))
        .route("/v1/alerts/{id}/false-positive", post(false_positive))
        .route("/v1/users/{login}/suspend", post(suspend_user))
        .route("/v1/users/{login}/reinstate", post(reinstate_user))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AlertQuery {
    /// open, acknowledged, resolved or false_positive.
    #[param(value_type = Option<AlertState>, inline)]
    state: Option<String>,
    /// Only alerts about this person.
    user: Option<String>,
    /// Only this tenant's (a tenant id; another form is refused).
    #[param(value_type = Option<String>)]
    tenant: Option<TenantId>,
    /// Rule name, e.g. `honey`, `hourly_volume`.
    rule: Option<String>,
    /// Raised at or after (Unix seconds).
    since: Option<i64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignBody {
    /// Who handles the alert (login).
    to: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NoteBody {
    /// What was found (sealed under the tenant key).
    note: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SuspendBody {
    /// The alert the suspension follows, if any.
    alert: Option<String>,
}

fn filter(q: AlertQuery) -> Result<AlertFilter, ApiError> {
    let state = match q.state.as_deref() {
        None => None,
        Some(s) => Some(AlertState::parse(s).ok_or_else(|| {
            ApiError(VaultError::bad(
                ErrorCode::StateInvalid,
                "state is one of open, acknowledged, resolved, false_positive",
            ))
        })?),
    };
    Ok(AlertFilter {
        state,
        login: q.user,
        logins: None,
        tenant: q.tenant.map(String::from),
        rule: q.rule,
        since: q.since,
        limit: q.limit.unwrap_or(100),
    })
}

/// Alerts the caller may see (security office and auditors: all; a supervisor: their team's), newest first.
#[utoipa::path(get, path = "/v1/alerts", params(AlertQuery),
    responses((status = 200, body = Vec<AlertView>), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list_alerts(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Query(q): Query<AlertQuery>,
) -> Result<Json<Vec<AlertView>>, ApiError> {
    let f = filter(q)?;
    let out = with_caller(&state, caller, move |v, c| v.alerts(c, &f)).await?;
    Ok(Json(out))
}

/// One alert.
#[utoipa::path(get, path = "/v1/alerts/{id}", params(("id" = String, Path)),
    responses((status = 200, body = AlertView), (status = 404, body = Problem)))]
pub async fn show_alert(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<AlertView>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.alert(c, &id)).await?;
    Ok(Json(out))
}

/// Take an open alert in hand.
#[utoipa::path(post, path = "/v1/alerts/{id}/ack", params(("id" = String, Path)),
    responses((status = 200, body = AlertView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn ack_alert(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<AlertView>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| v.acknowledge_alert(c, &id)).await?;
    Ok(Json(out))
}

/// Give an alert to someone to handle.
#[utoipa::path(post, path = "/v1/alerts/{id}/assign", params(("id" = String, Path)), request_body = AssignBody,
    responses((status = 200, body = AlertView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn assign_alert(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<AssignBody>,
) -> Result<Json<AlertView>, ApiError> {
    let to = b.to;
    let out = with_caller(&state, caller, move |v, c| v.assign_alert(c, &id, &to)).await?;
    Ok(Json(out))
}

async fn close(
    state: AppState,
    caller: mamori_vault::Caller,
    id: String,
    b: NoteBody,
    outcome: Outcome,
) -> Result<Json<AlertView>, ApiError> {
    let note = b.note;
    let out = with_caller(&state, caller, move |v, c| {
        v.close_alert(c, &id, outcome, &note)
    })
    .await?;
    Ok(Json(out))
}

/// Close an alert as handled, with a note saying what was found.
#[utoipa::path(post, path = "/v1/alerts/{id}/resolve", params(("id" = String, Path)), request_body = NoteBody,
    responses((status = 200, body = AlertView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn resolve_alert(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<NoteBody>,
) -> Result<Json<AlertView>, ApiError> {
    close(state, caller, id, b, Outcome::Resolved).await
}

/// Close an alert as a false positive, with a note saying why.
#[utoipa::path(post, path = "/v1/alerts/{id}/false-positive", params(("id" = String, Path)), request_body = NoteBody,
    responses((status = 200, body = AlertView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn false_positive(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    Body(b): Body<NoteBody>,
) -> Result<Json<AlertView>, ApiError> {
    close(state, caller, id, b, Outcome::FalsePositive).await
}

/// A person's suspension as it now stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuspensionOut {
    user: String,
    suspended: bool,
}

/// Suspend a person's access pending review.
#[utoipa::path(post, path = "/v1/users/{login}/suspend", params(("login" = String, Path)), request_body = SuspendBody,
    responses((status = 200, body = SuspensionOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn suspend_user(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(login): Path<String>,
    Body(b): Body<SuspendBody>,
) -> Result<Json<SuspensionOut>, ApiError> {
    let alert = b.alert;
    let who = login.clone();
    with_caller(&state, caller, move |v, c| {
        v.suspend_user(c, &login, alert.as_deref())
    })
    .await?;
    Ok(Json(SuspensionOut {
        user: who,
        suspended: true,
    }))
}

/// End a suspension.
#[utoipa::path(post, path = "/v1/users/{login}/reinstate", params(("login" = String, Path)),
    responses((status = 200, body = SuspensionOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn reinstate_user(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(login): Path<String>,
) -> Result<Json<SuspensionOut>, ApiError> {
    let who = login.clone();
    with_caller(&state, caller, move |v, c| v.reinstate_user(c, &login)).await?;
    Ok(Json(SuspensionOut {
        user: who,
        suspended: false,
    }))
}
