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
    routing::{get, post},
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
    let scim = Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema))
        .route("/.search", post(search_all))
        .route("/Bulk", post(not_implemented))
        .route("/{kind}", get(list).post(create))
        .route("/{kind}/.search", post(search))
        .route(
            "/{kind}/{id}",
            get(get_one).put(replace).patch(patch).delete(delete),
        )
        // Anything else under /scim/v2 is answered in SCIM's words.
        .fallback(no_such)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_SCIM_BODY));
    Router::new().nest("/scim/v2", scim)
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

async fn no_such(_a: ScimAuthed) -> Scim {
    Scim(Err(ScimError::not_found("endpoint").into()))
}

/// The resource type a path names (`Users`, `Groups`); anything else is
/// an endpoint that does not exist.
fn kind_of(name: &str) -> Result<ScimKind, ScimFail> {
    match name {
        "Users" => Ok(ScimKind::User),
        "Groups" => Ok(ScimKind::Group),
        _ => Err(ScimError::not_found("endpoint").into()),
    }
}

/// The value of a step before the vault is asked (the path's resource
/// type, a query, a body), or its fault as the answer.
macro_rules! with {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Scim(Err(e)),
        }
    };
}

async fn list(
    State(s): State<AppState>,
    a: ScimAuthed,
    Path(kind): Path<String>,
    RawQuery(raw): RawQuery,
) -> Scim {
    let kind = with!(kind_of(&kind));
    let q = with!(query(raw));
    call(&s, a.0, StatusCode::OK, move |v, c| {
        v.scim_list(c, kind, &q)
    })
    .await
}

async fn get_one(
    State(s): State<AppState>,
    a: ScimAuthed,
    Path((kind, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Scim {
    let kind = with!(kind_of(&kind));
    let q = with!(query(raw));
    call(&s, a.0, StatusCode::OK, move |v, c| {
        v.scim_get(c, kind, &id, &q.projection)
    })
    .await
}

async fn create(
    State(s): State<AppState>,
    a: ScimAuthed,
    Path(kind): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Scim {
    let kind = with!(kind_of(&kind));
    let body = with!(json(body));
    call(&s, a.0, StatusCode::CREATED, move |v, c| {
        v.scim_create(c, kind, &body)
    })
    .await
}

async fn replace(
    State(s): State<AppState>,
    a: ScimAuthed,
    Path((kind, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Scim {
    let kind = with!(kind_of(&kind));
    let body = with!(json(body));
    call(&s, a.0, StatusCode::OK, move |v, c| {
        v.scim_replace(c, kind, &id, &body)
    })
    .await
}

async fn patch(
    State(s): State<AppState>,
    a: ScimAuthed,
    Path((kind, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Scim {
    let kind = with!(kind_of(&kind));
    let body = with!(json(body));
    let answer = call(&s, a.0, StatusCode::OK, move |v, c| {
        Ok(v.scim_patch(c, kind, &id, &body)?.unwrap_or(Value::Null))
    })
    .await;
    // A Group's members alone changed: no body (RFC 7644 §3.5.2).
    match answer.0 {
        Ok((_, Value::Null)) => Scim(Ok((StatusCode::NO_CONTENT, Value::Null))),
        other => Scim(other),
    }
}

async fn delete(
    State(s): State<AppState>,
    a: ScimAuthed,
    Path((kind, id)): Path<(String, String)>,
) -> Scim {
    let kind = with!(kind_of(&kind));
    call(&s, a.0, StatusCode::NO_CONTENT, move |v, c| {
        v.scim_delete(c, kind, &id).map(|()| Value::Null)
    })
    .await
}

/// A SearchRequest body over the path's resource type.
async fn search(
    State(s): State<AppState>,
    a: ScimAuthed,
    Path(kind): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Scim {
    let kind = with!(kind_of(&kind));
    let q = with!(json(body).and_then(|b| Ok(ListQuery::from_search(&b)?)));
    call(&s, a.0, StatusCode::OK, move |v, c| {
        v.scim_list(c, kind, &q)
    })
    .await
}

/// A SearchRequest body over Users and Groups at once.
async fn search_all(
    State(s): State<AppState>,
    a: ScimAuthed,
    body: Result<Bytes, BytesRejection>,
) -> Scim {
    let q = with!(json(body).and_then(|b| Ok(ListQuery::from_search(&b)?)));
    call(&s, a.0, StatusCode::OK, move |v, c| {
        v.scim_search_all(c, &q)
    })
    .await
}
