//! Corrective directives over HTTP: issue, list, show, acknowledge. Glue
//! over `Vault::*_directive`; the gate decides who may do what.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::{get, post},
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use mamori_vault::directives::DirectiveView;

use crate::{
    AppState,
    extract::{Authed, Body, with_caller},
    problem::{ApiError, Problem},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/tenants/{tenant}/directives",
            post(issue_directive).get(list_directives),
        )
        .route("/v1/tenants/{tenant}/directives/{id}", get(show_directive))
        .route(
            "/v1/tenants/{tenant}/directives/{id}/ack",
            post(ack_directive),
        )
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DirectiveBody {
    /// The person directed (login).
    to: String,
    /// `tenant/<id>#<seq>` (an audit event of this tenant) or `alert:<id>`.
    about: String,
    /// What to correct (sealed under the tenant key in the audit log).
    text: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AckBody {
    /// What the recipient did about it.
    response: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DirectiveFilter {
    /// Only those addressed to this person.
    to: Option<String>,
}

/// Issue a corrective directive (security office; a supervisor to their team).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/directives", params(("tenant" = String, Path)), request_body = DirectiveBody,
    responses((status = 201, body = DirectiveView, description = "the directive, with the audit event that holds it"), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn issue_directive(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(tenant): Path<String>,
    Body(b): Body<DirectiveBody>,
) -> Result<(StatusCode, Json<DirectiveView>), ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        v.issue_directive(c, &tenant, &b.to, &b.about, &b.text)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// The tenant's directives the caller may see, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/directives", params(("tenant" = String, Path), DirectiveFilter),
    responses((status = 200, body = Vec<DirectiveView>), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list_directives(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(tenant): Path<String>,
    Query(f): Query<DirectiveFilter>,
) -> Result<Json<Vec<DirectiveView>>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        v.directives(c, &tenant, f.to.as_deref())
    })
    .await?;
    Ok(Json(out))
}

/// One directive.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/directives/{id}", params(("tenant" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = DirectiveView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn show_directive(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<DirectiveView>, ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        v.show_directive(c, &tenant, &id)
    })
    .await?;
    Ok(Json(out))
}

/// Acknowledge a directive addressed to you.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/directives/{id}/ack", params(("tenant" = String, Path), ("id" = String, Path)), request_body = AckBody,
    responses((status = 200, body = DirectiveView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn ack_directive(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((tenant, id)): Path<(String, String)>,
    Body(b): Body<AckBody>,
) -> Result<Json<DirectiveView>, ApiError> {
    let response = b.response;
    let out = with_caller(&state, caller, move |v, c| {
        v.acknowledge_directive(c, &tenant, &id, response.as_deref())
    })
    .await?;
    Ok(Json(out))
}
