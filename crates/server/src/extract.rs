//! What every handler takes from a request: the authenticated caller, and
//! JSON bodies whose errors say where, never what.
//!
//! `Authed` reads only the request's head, and axum runs every head
//! extractor of a handler before the one that reads the body; so a request
//! without a valid token is answered 401 before a byte of its body is
//! buffered (a large upload costs an unauthenticated client nothing of ours),
//! and a body is validated only for someone who may send it.

use std::net::SocketAddr;

use axum::{
    body::Bytes,
    extract::{ConnectInfo, FromRequest, FromRequestParts, Request, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use mamori_vault::{Caller, Vault, VaultError};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::{
    AppState,
    problem::{ApiError, problem},
};

/// The person the request's bearer token belongs to.
pub struct Authed(pub Caller);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers);
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let vault = state.vault.clone();
        tokio::task::spawn_blocking(move || vault.authenticate(token.as_deref(), client))
            .await
            .map_err(|e| ApiError(VaultError::Internal(format!("worker failed: {e}"))))?
            .map(Authed)
            .map_err(ApiError)
    }
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
}

/// Runs a vault call for `caller` on the blocking pool (the vault's calls
/// block on the store and the audit log).
pub(crate) async fn with_caller<T: Send + 'static>(
    state: &AppState,
    caller: Caller,
    f: impl FnOnce(&Vault, &Caller) -> Result<T, VaultError> + Send + 'static,
) -> Result<T, ApiError> {
    let vault = state.vault.clone();
    tokio::task::spawn_blocking(move || f(&vault, &caller))
        .await
        .map_err(|e| ApiError(VaultError::Internal(format!("worker failed: {e}"))))?
        .map_err(ApiError)
}

/// A JSON request body. Its problems are answered as problem documents that
/// name the top-level member at fault and what was expected — never the
/// submitted value, nor a key the client made up (invariant 12): 415 when
/// the body is not declared JSON, 413 when it is over the route's limit,
/// 400 otherwise.
pub struct Body<T>(pub T);

/// Why a body was not taken: answered as a problem document.
#[derive(Debug)]
pub struct Rejected {
    status: u16,
    code: &'static str,
    detail: String,
}

impl Rejected {
    fn new(status: u16, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
        }
    }
}

impl IntoResponse for Rejected {
    fn into_response(self) -> Response {
        problem(self.status, self.code, self.detail)
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Rejected;

    async fn from_request(req: Request, state: &S) -> Result<Self, Rejected> {
        if !declared_json(req.headers()) {
            return Err(Rejected::new(
                415,
                "media_type_unsupported",
                "the body must be JSON (Content-Type: application/json)",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| unreadable(&e))?;
        parse_json(&bytes).map(Body)
    }
}

fn declared_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

/// A body that could not be read: too large for the route, or cut off.
fn unreadable(e: &BytesRejection) -> Rejected {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Rejected::new(
            413,
            "body_too_large",
            "the request body is larger than this endpoint accepts",
        )
    } else {
        Rejected::new(400, "body_invalid", "the request body could not be read")
    }
}

/// Parses a whole JSON document into `T`, or says why not.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Rejected> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = top_member(e.path());
        Rejected::new(400, "body_invalid", describe(at.as_deref(), e.inner()))
    })?;
    de.end()
        .map_err(|e| Rejected::new(400, "body_invalid", describe(None, &e)))?;
    Ok(value)
}

/// The first member of an error's path, when it is a plain member name:
/// the top level of every body is a struct of ours whose unknown members are
/// ignored, so a member named there is one of ours. Deeper keys may be the
/// client's own (field names, search keys) and are not repeated.
fn top_member(path: &serde_path_to_error::Path) -> Option<String> {
    match path.iter().next()? {
        serde_path_to_error::Segment::Map { key }
            if !key.is_empty()
                && key.len() <= 40
                && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
        {
            Some(key.clone())
        }
        _ => None,
    }
}

/// Says what is wrong with a body without repeating any of it. serde's own
/// messages quote the offending value ("invalid type: string \"…\"") or a
/// made-up key ("unknown variant `…`"); only their fixed parts are kept: a
/// missing or duplicate member (our names) and what was expected (our types).
fn describe(at: Option<&str>, e: &serde_json::Error) -> String {
    let place = at.map_or_else(String::new, |m| format!("`{m}`: "));
    match e.classify() {
        Category::Syntax => format!(
            "the body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
        Category::Eof => "the body ends before its JSON does".to_owned(),
        Category::Io => "the body could not be read".to_owned(),
        Category::Data => {
            let message = e.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m);
            if message.starts_with("missing field `") || message.starts_with("duplicate field `") {
                return format!("{place}{message}");
            }
            match message.rsplit_once(", expected ") {
                Some((_, expected)) if !expected.contains('"') => {
                    format!("{place}wrong type or value; expected {expected}")
                }
                _ => format!("{place}wrong type or value"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        purpose: Option<String>,
        limit: Option<u32>,
        by: BTreeMap<String, String>,
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Phone,
    }

    fn detail(body: &str) -> String {
        parse_json::<Sample>(body.as_bytes()).unwrap_err().detail
    }

    #[test]
    fn errors_name_the_member_and_never_the_value() {
        let secret = "090-1234-5678 原田 勇気";
        let cases = [
            r#"{"purpose": 5, "by": {}}"#.to_owned(),
            format!(r#"{{"purpose": ["{secret}"], "by": {{}}}}"#),
            format!(r#"{{"by": {{"phone": ["{secret}"]}}}}"#),
            format!(r#"{{"by": {{"{secret}": 1}}}}"#),
            format!(r#"{{"by": {{}}, "limit": "{secret}"}}"#),
            format!(r#"{{"by": {{}}, "kind": "{secret}"}}"#),
            format!(r#"{{"by": {{}}}} "{secret}""#),
            r#"{"by": "#.to_owned(),
            format!(r#"{{"purpose": "{secret}"}}"#),
        ];
        for body in &cases {
            let d = detail(body);
            assert!(!d.contains("1234") && !d.contains("原田"), "{body} -> {d}");
        }
        assert_eq!(
            detail(r#"{"purpose": 5, "by": {}}"#),
            "`purpose`: wrong type or value; expected a string"
        );
        assert_eq!(
            detail(r#"{"by": {"phone": 1}}"#),
            "`by`: wrong type or value; expected a string"
        );
        assert_eq!(detail(r#"{"purpose": "x"}"#), "missing field `by`");
        assert!(detail("{").contains("ends before"), "{}", detail("{"));
        assert!(detail("{]").contains("line 1"), "{}", detail("{]"));
    }
}

/// For the fuzz targets (`fuzz/`): `bytes` parsed as every JSON body the API
/// takes, each rejection's detail returned — what a client would be told.
#[doc(hidden)]
pub fn fuzz_bodies(bytes: &[u8]) -> Vec<String> {
    use crate::{alerts, api, directives, exports, governance};
    fn detail<T: DeserializeOwned>(bytes: &[u8]) -> Option<String> {
        parse_json::<T>(bytes).err().map(|r| r.detail)
    }
    [
        detail::<api::SearchBody>(bytes),
        detail::<api::PutBody>(bytes),
        detail::<governance::RequestBody>(bytes),
        detail::<governance::IssueBody>(bytes),
        detail::<governance::CommentBody>(bytes),
        detail::<governance::TrainingBody>(bytes),
        detail::<governance::ComplianceBody>(bytes),
        detail::<governance::VendorBody>(bytes),
        detail::<governance::CapBody>(bytes),
        detail::<exports::ExportBody>(bytes),
        detail::<directives::DirectiveBody>(bytes),
        detail::<directives::AckBody>(bytes),
        detail::<alerts::AssignBody>(bytes),
        detail::<alerts::NoteBody>(bytes),
        detail::<alerts::SuspendBody>(bytes),
    ]
    .into_iter()
    .flatten()
    .collect()
}
