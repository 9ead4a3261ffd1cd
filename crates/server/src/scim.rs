//! `/scim/v2`: SCIM 2.0 provisioning for an identity provider (Entra ID,
//! Okta, Keycloak…) with a provisioning token of its own (`mamori scim
//! token issue`). Users, Groups and the discovery documents; answers in
//! `application/scim+json`, errors as SCIM error bodies (RFC 7644 §3.12)
//! that never repeat what was sent. The token is checked from the
//! request's head before a byte of the body is read; a deactivation or a
//! delete has offboarded the person when its answer goes out.

use std::net::SocketAddr;

use axum::{
    Router,
    body::Bytes,
    extract::{ConnectInfo, FromRequestParts, Path, RawQuery, State, rejection::BytesRejection},
    http::{HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::{any, get, post},
};
use mamori_identity::scim::{ListQuery, ScimError, discovery};
use mamori_store::ScimKind;
use mamori_vault::identity::{ScimClient, ScimFail};
use mamori_vault::{Vault, VaultError};
use serde_json::Value;

use crate::AppState;

/// Largest SCIM request body (a Group replaced with its members).
const MAX_SCIM_BODY: usize = 2 * 1024 * 1024;

const CONTENT_TYPE: &str = "application/scim+json";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(service_provider_config),
        )
        .route("/scim/v2/ResourceTypes", get(resource_types))
        .route("/scim/v2/ResourceTypes/{id}", get(resource_type))
        .route("/scim/v2/Schemas", get(schemas))
        .route("/scim/v2/Schemas/{id}", get(schema))
        .route("/scim/v2/Users", get(list_users).post(create_user))
        .route(
            "/scim/v2/Users/{id}",
            get(get_user)
                .put(put_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/scim/v2/Groups", get(list_groups).post(create_group))
        .route(
            "/scim/v2/Groups/{id}",
            get(get_group)
                .put(put_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .route("/scim/v2/.search", post(search_all))
        .route("/scim/v2/Users/.search", post(search_users))
        .route("/scim/v2/Groups/.search", post(search_groups))
        .route("/scim/v2/Bulk", post(not_implemented))
        .route("/scim/v2", any(no_such))
        .route("/scim/v2/{*rest}", any(no_such))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_SCIM_BODY))
}

/// A SCIM answer: a body with its status, or an error.
pub struct Scim(Result<(StatusCode, Value), ScimFail>);

impl IntoResponse for Scim {
    fn into_response(self) -> Response {
        let (status, body, unauthenticated) = match self.0 {
            Ok((s, v)) => (s, v, false),
            Err(ScimFail::Scim(e)) => {
                let s = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
                (s, e.body(), false)
            }
            Err(ScimFail::Vault(e)) => vault_error(&e),
        };
        if status == StatusCode::NO_CONTENT {
            return status.into_response();
        }
        let location = (status == StatusCode::CREATED)
            .then(|| {
                body.pointer("/meta/location")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .flatten();
        let mut resp = (status, body.to_string()).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if unauthenticated {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="mamori-scim""#),
            );
        }
        if let Some(l) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            h.insert(header::LOCATION, l);
        }
        resp
    }
}

/// The vault's errors as SCIM errors: the status of its code, its message
/// (which names no value), and internal details only in the server log.
fn vault_error(e: &VaultError) -> (StatusCode, Value, bool) {
    let detail = match e {
        VaultError::Internal(msg) => {
            tracing::error!(error = %msg, "internal error");
            "internal error; see the server log".to_owned()
        }
        other => other.to_string(),
    };
    let status = e.status();
    let scim_type = match e {
        VaultError::Conflict(_) => Some("uniqueness"),
        _ => None,
    };
    let err = ScimError {
        status,
        scim_type,
        detail,
    };
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        err.body(),
        matches!(e, VaultError::Unauthenticated),
    )
}

/// The provisioning client the request's bearer token belongs to.
pub struct ScimAuthed(ScimClient);

impl FromRequestParts<AppState> for ScimAuthed {
    type Rejection = Scim;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Scim> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned());
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let vault = state.vault.clone();
        tokio::task::spawn_blocking(move || vault.scim_authenticate(token.as_deref(), client))
            .await
            .map_err(|e| {
                Scim(Err(
                    VaultError::Internal(format!("worker failed: {e}")).into()
                ))
            })?
            .map(ScimAuthed)
            .map_err(|e| Scim(Err(e.into())))
    }
}

/// Runs a provisioning call on the blocking pool.
async fn call(
    state: &AppState,
    client: ScimClient,
    status: StatusCode,
    f: impl FnOnce(&Vault, &ScimClient) -> Result<Value, ScimFail> + Send + 'static,
) -> Scim {
    let vault = state.vault.clone();
    let done = tokio::task::spawn_blocking(move || f(&vault, &client))
        .await
        .map_err(|e| VaultError::Internal(format!("worker failed: {e}")).into())
        .and_then(|r| r);
    Scim(done.map(|v| (status, v)))
}

/// A JSON body; its faults are named without its content.
fn json(body: Result<Bytes, BytesRejection>) -> Result<Value, ScimFail> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ScimError {
                status: 413,
                scim_type: None,
                detail: format!("a SCIM request body is at most {MAX_SCIM_BODY} bytes"),
            }
        } else {
            ScimError::invalid_syntax("the request body could not be read")
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ScimError::invalid_syntax(format!(
            "the body is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
        .into()
    })
}

fn query(raw: Option<String>) -> Result<ListQuery, ScimFail> {
    let raw = raw.unwrap_or_default();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    Ok(ListQuery::from_params(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )?)
}

fn base(state: &AppState) -> String {
    state.vault.scim_base()
}

async fn service_provider_config(State(s): State<AppState>, _a: ScimAuthed) -> Scim {
    Scim(Ok((
        StatusCode::OK,
        discovery::service_provider_config(&base(&s)),
    )))
}

async fn resource_types(State(s): State<AppState>, _a: ScimAuthed) -> Scim {
    Scim(Ok((
        StatusCode::OK,
        discovery::list(discovery::resource_types(&base(&s))),
    )))
}

async fn resource_type(State(s): State<AppState>, _a: ScimAuthed, Path(id): Path<String>) -> Scim {
    one_of(discovery::resource_types(&base(&s)), &id, "resource type")
}

async fn schemas(State(s): State<AppState>, _a: ScimAuthed) -> Scim {
    Scim(Ok((
        StatusCode::OK,
        discovery::list(discovery::schemas(&base(&s))),
    )))
}

async fn schema(State(s): State<AppState>, _a: ScimAuthed, Path(id): Path<String>) -> Scim {
    one_of(discovery::schemas(&base(&s)), &id, "schema")
}

fn one_of(items: Vec<Value>, id: &str, what: &str) -> Scim {
    Scim(
        items
            .into_iter()
            .find(|v| v["id"].as_str() == Some(id))
            .map(|v| (StatusCode::OK, v))
            .ok_or_else(|| ScimError::not_found(what).into()),
    )
}

async fn not_implemented(_a: ScimAuthed) -> Scim {
    Scim(Err(ScimError::not_implemented(
        "bulk operations are not supported",
    )
    .into()))
}

/// A SearchRequest body, over one kind or (None) both.
async fn search(
    s: &AppState,
    a: ScimAuthed,
    kind: Option<ScimKind>,
    body: Result<Bytes, BytesRejection>,
) -> Scim {
    let q = match json(body).and_then(|b| Ok(ListQuery::from_search(&b)?)) {
        Ok(q) => q,
        Err(e) => return Scim(Err(e)),
    };
    call(s, a.0, StatusCode::OK, move |v, c| match kind {
        Some(k) => v.scim_list(c, k, &q),
        None => v.scim_search_all(c, &q),
    })
    .await
}

async fn search_all(
    State(s): State<AppState>,
    a: ScimAuthed,
    b: Result<Bytes, BytesRejection>,
) -> Scim {
    search(&s, a, None, b).await
}
async fn search_users(
    State(s): State<AppState>,
    a: ScimAuthed,
    b: Result<Bytes, BytesRejection>,
) -> Scim {
    search(&s, a, Some(ScimKind::User), b).await
}
async fn search_groups(
    State(s): State<AppState>,
    a: ScimAuthed,
    b: Result<Bytes, BytesRejection>,
) -> Scim {
    search(&s, a, Some(ScimKind::Group), b).await
}

async fn no_such(_a: ScimAuthed) -> Scim {
    Scim(Err(ScimError::not_found("endpoint").into()))
}

async fn list(s: &AppState, a: ScimAuthed, kind: ScimKind, raw: Option<String>) -> Scim {
    let q = match query(raw) {
        Ok(q) => q,
        Err(e) => return Scim(Err(e)),
    };
    call(s, a.0, StatusCode::OK, move |v, c| v.scim_list(c, kind, &q)).await
}

async fn get_one(
    s: &AppState,
    a: ScimAuthed,
    kind: ScimKind,
    id: String,
    raw: Option<String>,
) -> Scim {
    let q = match query(raw) {
        Ok(q) => q,
        Err(e) => return Scim(Err(e)),
    };
    call(s, a.0, StatusCode::OK, move |v, c| {
        v.scim_get(c, kind, &id, &q.projection)
    })
    .await
}

async fn create(
    s: &AppState,
    a: ScimAuthed,
    kind: ScimKind,
    body: Result<Bytes, BytesRejection>,
) -> Scim {
    let body = match json(body) {
        Ok(b) => b,
        Err(e) => return Scim(Err(e)),
    };
    call(s, a.0, StatusCode::CREATED, move |v, c| {
        v.scim_create(c, kind, &body)
    })
    .await
}

async fn replace(
    s: &AppState,
    a: ScimAuthed,
    kind: ScimKind,
    id: String,
    body: Result<Bytes, BytesRejection>,
) -> Scim {
    let body = match json(body) {
        Ok(b) => b,
        Err(e) => return Scim(Err(e)),
    };
    call(s, a.0, StatusCode::OK, move |v, c| {
        v.scim_replace(c, kind, &id, &body)
    })
    .await
}

async fn patch(
    s: &AppState,
    a: ScimAuthed,
    kind: ScimKind,
    id: String,
    body: Result<Bytes, BytesRejection>,
) -> Scim {
    let body = match json(body) {
        Ok(b) => b,
        Err(e) => return Scim(Err(e)),
    };
    call(s, a.0, StatusCode::OK, move |v, c| {
        v.scim_patch(c, kind, &id, &body)
    })
    .await
}

async fn delete(s: &AppState, a: ScimAuthed, kind: ScimKind, id: String) -> Scim {
    call(s, a.0, StatusCode::NO_CONTENT, move |v, c| {
        v.scim_delete(c, kind, &id).map(|()| Value::Null)
    })
    .await
}

async fn list_users(State(s): State<AppState>, a: ScimAuthed, RawQuery(q): RawQuery) -> Scim {
    list(&s, a, ScimKind::User, q).await
}
async fn list_groups(State(s): State<AppState>, a: ScimAuthed, RawQuery(q): RawQuery) -> Scim {
    list(&s, a, ScimKind::Group, q).await
}
async fn get_user(
    State(s): State<AppState>,
    a: ScimAuthed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Scim {
    get_one(&s, a, ScimKind::User, id, q).await
}
async fn get_group(
    State(s): State<AppState>,
    a: ScimAuthed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Scim {
    get_one(&s, a, ScimKind::Group, id, q).await
}
async fn create_user(
    State(s): State<AppState>,
    a: ScimAuthed,
    b: Result<Bytes, BytesRejection>,
) -> Scim {
    create(&s, a, ScimKind::User, b).await
}
async fn create_group(
    State(s): State<AppState>,
    a: ScimAuthed,
    b: Result<Bytes, BytesRejection>,
) -> Scim {
    create(&s, a, ScimKind::Group, b).await
}
async fn put_user(
    State(s): State<AppState>,
    a: ScimAuthed,
    Path(id): Path<String>,
    b: Result<Bytes, BytesRejection>,
) -> Scim {
    replace(&s, a, ScimKind::User, id, b).await
}
async fn put_group(
    State(s): State<AppState>,
    a: ScimAuthed,
    Path(id): Path<String>,
    b: Result<Bytes, BytesRejection>,
) -> Scim {
    replace(&s, a, ScimKind::Group, id, b).await
}
async fn patch_user(
    State(s): State<AppState>,
    a: ScimAuthed,
    Path(id): Path<String>,
    b: Result<Bytes, BytesRejection>,
) -> Scim {
    patch(&s, a, ScimKind::User, id, b).await
}
async fn patch_group(
    State(s): State<AppState>,
    a: ScimAuthed,
    Path(id): Path<String>,
    b: Result<Bytes, BytesRejection>,
) -> Scim {
    patch(&s, a, ScimKind::Group, id, b).await
}
async fn delete_user(State(s): State<AppState>, a: ScimAuthed, Path(id): Path<String>) -> Scim {
    delete(&s, a, ScimKind::User, id).await
}
async fn delete_group(State(s): State<AppState>, a: ScimAuthed, Path(id): Path<String>) -> Scim {
    delete(&s, a, ScimKind::Group, id).await
}
