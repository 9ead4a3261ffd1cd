//! What every handler takes from a request: the authenticated caller, and
//! JSON bodies whose errors say where, never what.
//!
//! `Authed` reads only the request's head, and axum runs every head
//! extractor of a handler before the one that reads the body; so a request
//! without a valid token is answered 401 before a byte of its body is
//! buffered (a large upload costs an unauthenticated client nothing of ours),
//! and a body is validated only for someone who may send it.

use mamori_vault::ErrorCode;
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

/// A time given as RFC 3339 text in a query or body member, as Unix
/// microseconds; the error names the member, never the text.
/// A required RFC 3339 time, in Unix seconds.
pub(crate) fn parse_instant(name: &str, v: &str) -> Result<i64, ApiError> {
    let us = parse_time(name, Some(v.to_owned()))?.unwrap_or_default();
    Ok(us.div_euclid(1_000_000))
}

pub(crate) fn parse_time(name: &str, v: Option<String>) -> Result<Option<i64>, ApiError> {
    v.map(|s| {
        chrono::DateTime::parse_from_rfc3339(&s)
            .map(|t| t.timestamp_micros())
            .map_err(|_| {
                ApiError(VaultError::bad(
                    ErrorCode::TimeInvalid,
                    format!("`{name}` must be an RFC 3339 time, e.g. 2026-11-22T09:00:00+09:00"),
                ))
            })
    })
    .transpose()
}

/// An optional RFC 3339 time member: a date-time string, or null. (Written
/// as a choice rather than a type list, which test generators read as a
/// plain string and fill with text that is no time.)
pub fn optional_time() -> utoipa::openapi::Schema {
    use utoipa::openapi::{
        KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type, schema::AnyOfBuilder,
    };
    Schema::AnyOf(
        AnyOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
            )
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .build(),
    )
}

/// Largest request body of every route but a leaked file's (`/v1/exports/trace`).
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;

/// A JSON request body. Its problems are answered as problem documents that
/// name the top-level member at fault and what was expected — never the
/// submitted value, nor a key the client made up (invariant 12): 415 when
/// the body is not declared JSON, 413 when it is over the route's limit,
/// 400 otherwise.
pub struct Body<T>(pub T);

/// Why a body was not taken: answered as a problem document.
#[derive(Debug)]
pub struct Rejected {
    code: ErrorCode,
    pub(crate) detail: String,
}

impl Rejected {
    fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

impl IntoResponse for Rejected {
    fn into_response(self) -> Response {
        problem(self.code, self.detail)
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Rejected;

    async fn from_request(req: Request, state: &S) -> Result<Self, Rejected> {
        if !declared_json(req.headers()) {
            return Err(Rejected::new(
                ErrorCode::MediaTypeUnsupported,
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
            ErrorCode::BodyTooLarge,
            "the request body is larger than this endpoint accepts",
        )
    } else {
        Rejected::new(ErrorCode::BodyInvalid, "the request body could not be read")
    }
}

/// Parses a whole JSON document into `T`, or says why not.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Rejected> {
    // Every body is a JSON object; serde would also fill a struct from an
    // array of its members in order, which no client means.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(Rejected::new(
            ErrorCode::BodyInvalid,
            "the body must be a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = top_member(e.path());
        Rejected::new(ErrorCode::BodyInvalid, describe(at.as_deref(), e.inner()))
    })?;
    de.end()
        .map_err(|e| Rejected::new(ErrorCode::BodyInvalid, describe(None, &e)))?;
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
        assert_eq!(detail("[]"), "the body must be a JSON object");
        assert_eq!(detail(" [null, 5]"), "the body must be a JSON object");
        assert!(detail("{]").contains("line 1"), "{}", detail("{]"));
    }
}

/// Whole numbers in JSON bodies. `653` and `653.0` are the same number in
/// JSON and in the description's `integer`; serde's own integers take only
/// the first. Used as `#[serde(deserialize_with = "whole::number")]`.
pub(crate) mod whole {
    use serde::{Deserialize, Deserializer, de::Error};

    fn take<T: TryFrom<u64>>(n: &serde_json::Number) -> Option<T> {
        let u = match n.as_u64() {
            Some(u) => u,
            None => {
                let f = n.as_f64()?;
                // Exactly representable whole numbers only (below 2^53).
                if f.fract() != 0.0 || !(0.0..9_007_199_254_740_992.0).contains(&f) {
                    return None;
                }
                f as u64
            }
        };
        T::try_from(u).ok()
    }

    pub fn number<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<T, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        take(&n).ok_or_else(|| D::Error::custom("out of range, expected a whole number in range"))
    }

    pub fn optional<'de, D: Deserializer<'de>, T: TryFrom<u64>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        match Option::<serde_json::Number>::deserialize(d)? {
            None => Ok(None),
            Some(n) => take(&n)
                .map(Some)
                .ok_or_else(|| D::Error::custom("out of range, expected a whole number in range")),
        }
    }
}
