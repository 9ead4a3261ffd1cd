//! RFC 9457 problem documents. One conversion from `VaultError`, so every
//! handler reports errors the same way, with a stable `code` and no values.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use mamori_vault::{ErrorCode, VaultError};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:mamori:problem:<code>`
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine code, e.g. `purpose_missing`, `forbidden`, `not_found`.
    pub code: String,
}

pub struct ApiError(pub VaultError);

impl From<VaultError> for ApiError {
    fn from(e: VaultError) -> Self {
        ApiError(e)
    }
}

/// The problem document of `code`, with the status the code table gives it.
pub fn problem(code: ErrorCode, detail: String) -> Response {
    let status = code.status();
    let status_code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = Problem {
        kind: format!("urn:mamori:problem:{code}"),
        title: status_code.canonical_reason().unwrap_or("Error").to_owned(),
        status,
        detail,
        code: code.as_str().to_owned(),
    };
    let mut resp = (status_code, axum::Json(body)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let detail = match &e {
            // Internal details go to the server log, not to the client.
            VaultError::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                "internal error; see the server log".to_owned()
            }
            other => other.to_string(),
        };
        let mut resp = problem(e.error_code(), detail);
        let h = resp.headers_mut();
        match &e {
            // RFC 6750 §3: how to authenticate here.
            VaultError::Unauthenticated => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer realm="mamori""#),
                );
            }
            VaultError::Limited { retry_after_s, .. } => {
                h.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
            }
            _ => {}
        }
        resp
    }
}
