//! `/v1/scan/match`: a scanning machine (a PC agent, `mamori scan --server`)
//! sends the values it found in one file and learns which tenants' customers
//! they name — counts and per-file pseudonyms, never a record. The machine
//! holds no key and no index; the vault normalises every value again, charges
//! the customers named to the credential's daily budget and records the call.

use axum::{Json, Router, extract::State, routing::post};
use mamori_core::FieldType;
use mamori_vault::{
    ErrorCode, VaultError,
    leak::matching::{Found, MatchReport},
};
use serde::Deserialize;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use crate::{
    AppState,
    extract::{Authed, Body, with_caller},
    problem::{ApiError, Problem},
};

/// A part of a file's values: 100,000 values of a few dozen bytes each.
const MAX_MATCH_BYTES: usize = 16 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/v1/scan/match",
        post(match_values).layer(axum::extract::DefaultBodyLimit::max(MAX_MATCH_BYTES)),
    )
}

/// What kind of value a scanner found.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    Phone,
    Email,
    MyNumber,
    PostalCode,
    Date,
    Address,
    Kana,
    /// A customer-number-like cell.
    Text,
}

impl From<ValueKind> for FieldType {
    fn from(k: ValueKind) -> FieldType {
        match k {
            ValueKind::Phone => FieldType::Phone,
            ValueKind::Email => FieldType::Email,
            ValueKind::MyNumber => FieldType::MyNumber,
            ValueKind::PostalCode => FieldType::PostalCode,
            ValueKind::Date => FieldType::Date,
            ValueKind::Address => FieldType::Address,
            ValueKind::Kana => FieldType::Kana,
            ValueKind::Text => FieldType::Text,
        }
    }
}

/// One value found in a file.
#[derive(Deserialize, ToSchema)]
pub struct FoundValue {
    kind: ValueKind,
    /// The value as found (it is normalised again here).
    #[schema(value_type = String, max_length = 1000)]
    value: Zeroizing<String>,
    /// The line or row it was found in: two values of one group naming the
    /// same customer confirm them.
    #[schema(minimum = 0)]
    group: u64,
}

/// Values found in one file (or one part of it: whole lines or rows).
#[derive(Deserialize, ToSchema)]
pub struct MatchBody {
    /// SHA-256 of the file, 64 hex digits.
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    file_sha256: String,
    /// At most `[scan] values_per_call` (100,000 by default).
    values: Vec<FoundValue>,
}

/// Which tenants' customers the values of one file name (the security office and scanner credentials).
#[utoipa::path(post, path = "/v1/scan/match", request_body = MatchBody,
    responses((status = 200, body = MatchReport, description = "per tenant: values matched, customers possible (one value) and confirmed (two values of one line or row), and each customer under a pseudonym that holds for this file only"),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 429, body = Problem)))]
async fn match_values(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Body(b): Body<MatchBody>,
) -> Result<Json<MatchReport>, ApiError> {
    let file = parse_sha256(&b.file_sha256)?;
    let found = b
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            Found::new(v.kind.into(), &v.value, v.group).ok_or_else(|| {
                ApiError(VaultError::bad(
                    ErrorCode::ScanValueInvalid,
                    format!("values[{i}] does not read as its kind"),
                ))
            })
        })
        .collect::<Result<Vec<Found>, ApiError>>()?;
    drop(b);
    let out = with_caller(&state, caller, move |v, c| v.match_found(c, &file, &found)).await?;
    Ok(Json(out))
}

fn parse_sha256(s: &str) -> Result<[u8; 32], ApiError> {
    let mut out = [0u8; 32];
    match hex::decode_to_slice(s, &mut out) {
        Ok(()) => Ok(out),
        Err(_) => Err(ApiError(VaultError::bad(
            ErrorCode::BodyInvalid,
            "`file_sha256` must be 64 hex digits",
        ))),
    }
}
