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
            // RFC 9470 §3: the authentication is not recent or strong
            // enough; what a new one must give.
            VaultError::StepUp {
                acr_values,
                max_age,
                ..
            } => {
                if let Ok(v) = HeaderValue::from_str(&step_up_challenge(acr_values, *max_age)) {
                    h.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            VaultError::Limited { retry_after_s, .. } => {
                h.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
            }
            _ => {}
        }
        resp
    }
}

/// The RFC 9470 challenge: `insufficient_user_authentication`, with the
/// `acr_values` (from the tenant's schema, quoted without quotes or
/// backslashes) and `max_age` a new sign-in must meet.
pub fn step_up_challenge(acr_values: &[String], max_age: i64) -> String {
    let acr: Vec<String> = acr_values
        .iter()
        .map(|a| a.replace(['"', '\\'], ""))
        .collect();
    let mut c = String::from(
        r#"Bearer realm="mamori", error="insufficient_user_authentication", error_description="a fresh sign-in with multi-factor authentication is required""#,
    );
    if !acr.is_empty() {
        c.push_str(&format!(r#", acr_values="{}""#, acr.join(" ")));
    }
    c.push_str(&format!(r#", max_age={max_age}"#));
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_up_refusal_carries_the_rfc_9470_challenge() {
        let e = VaultError::StepUp {
            tenant: "city".into(),
            acr_values: vec!["urn:mamori:mfa".into(), "bad\"\\acr".into()],
            max_age: 300,
            provider: None,
        };
        let r = ApiError(e).into_response();
        assert_eq!(r.status(), 401);
        let c = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(
            c.starts_with(r#"Bearer realm="mamori", error="insufficient_user_authentication""#)
        );
        assert!(c.contains(r#"acr_values="urn:mamori:mfa badacr""#), "{c}");
        assert!(c.ends_with("max_age=300"), "{c}");
    }
}
