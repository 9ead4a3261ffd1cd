//! `/v1/tenants/{tenant}/records/…`: find, read, write and delete customer
//! records. Glue: the vault's gate decides, masks and audits.

use std::collections::BTreeMap;

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use mamori_core::schema::MaskKind;
use mamori_vault::{ErrorCode, SearchBy, VaultError, access::Access};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    AppState,
    extract::{Authed, Body, with_caller},
    problem::{ApiError, Problem},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/tenants/{tenant}/records/search", post(search))
        .route(
            "/v1/tenants/{tenant}/records/{key}",
            get(get_record).put(put_record).delete(delete_record),
        )
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SearchBody {
    /// Purpose (利用目的) defined by the tenant, e.g. `inquiry`.
    purpose: Option<String>,
    /// Case, ticket or call id (letters, digits, -_.:/#).
    case_id: Option<String>,
    /// Exactly one search key and the value as typed, e.g. `{"phone": "０９０ー１２３４ー５６７８"}`.
    #[schema(schema_with = one_search_key)]
    by: BTreeMap<String, String>,
}

/// `by`: an object with exactly one member, a string.
fn one_search_key() -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .min_properties(Some(1))
        .max_properties(Some(1))
        .additional_properties(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordOut {
    id: String,
    segment: String,
    /// Field name → value as the purpose shows it (masked where `masked` says).
    fields: BTreeMap<String, String>,
    /// Field name → the mask applied to it.
    #[schema(value_type = BTreeMap<String, String>)]
    masked: BTreeMap<String, MaskKind>,
    updated_at: i64,
}

impl From<mamori_vault::RecordView> for RecordOut {
    fn from(r: mamori_vault::RecordView) -> Self {
        Self {
            id: r.id,
            segment: r.segment,
            fields: r.fields,
            masked: r.masked,
            updated_at: r.updated_at,
        }
    }
}

/// What a search shows. Matches in segments the caller may not see are not
/// shown nor counted (a count would tell that the value belongs to someone
/// there); the audit log records them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchOut {
    records: Vec<RecordOut>,
}

/// Find customers by phone, e-mail, customer number or kana name.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/records/search", request_body = SearchBody,
    params(("tenant" = String, Path, description = "Tenant id")),
    responses((status = 200, body = SearchOut), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 410, body = Problem), (status = 503, body = Problem)))]
pub async fn search(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(tenant): Path<String>,
    Body(body): Body<SearchBody>,
) -> Result<Json<SearchOut>, ApiError> {
    if body.by.len() != 1 {
        return Err(ApiError(VaultError::bad(
            ErrorCode::SearchByInvalid,
            "`by` must hold exactly one search key",
        )));
    }
    let (key, value) = body.by.into_iter().next().expect("one entry");
    let out = with_caller(&state, caller, move |v, c| {
        let access = Access {
            purpose: body.purpose.as_deref(),
            case_id: body.case_id.as_deref(),
        };
        v.search(c, &tenant, access, &SearchBy { key, value })
    })
    .await?
    .into_inner();
    Ok(Json(SearchOut {
        records: out.records.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AccessParams {
    /// Purpose (利用目的).
    purpose: Option<String>,
    /// Case, ticket or call id.
    case_id: Option<String>,
}

/// Read one record by its opaque id.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/records/{key}",
    params(("tenant" = String, Path), ("key" = String, Path, description = "Record id"), AccessParams),
    responses((status = 200, body = RecordOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_record(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((tenant, id)): Path<(String, String)>,
    Query(q): Query<AccessParams>,
) -> Result<Json<RecordOut>, ApiError> {
    let rec = with_caller(&state, caller, move |v, c| {
        v.get(
            c,
            &tenant,
            &id,
            Access {
                purpose: q.purpose.as_deref(),
                case_id: q.case_id.as_deref(),
            },
        )
    })
    .await?
    .into_inner();
    Ok(Json(rec.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PutBody {
    purpose: Option<String>,
    case_id: Option<String>,
    /// Segment of the record; the tenant's first segment when absent.
    segment: Option<String>,
    /// Field name → value. Replaces the whole record.
    fields: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WriteOut {
    id: String,
    created: bool,
}

/// Create or replace the record of a customer number.
#[utoipa::path(put, path = "/v1/tenants/{tenant}/records/{key}", request_body = PutBody,
    params(("tenant" = String, Path), ("key" = String, Path, description = "Customer number")),
    responses((status = 200, body = WriteOut), (status = 201, body = WriteOut), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn put_record(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((tenant, customer_no)): Path<(String, String)>,
    Body(body): Body<PutBody>,
) -> Result<Response, ApiError> {
    let out = with_caller(&state, caller, move |v, c| {
        let access = Access {
            purpose: body.purpose.as_deref(),
            case_id: body.case_id.as_deref(),
        };
        v.upsert(
            c,
            &tenant,
            &customer_no,
            body.segment.as_deref(),
            &body.fields,
            access,
        )
    })
    .await?;
    let status = if out.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(WriteOut {
            id: out.id,
            created: out.created,
        }),
    )
        .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeleteOut {
    id: String,
    deleted: bool,
}

/// Delete the record of a customer number.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/records/{key}",
    params(("tenant" = String, Path), ("key" = String, Path, description = "Customer number"), AccessParams),
    responses((status = 200, body = DeleteOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_record(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((tenant, customer_no)): Path<(String, String)>,
    Query(q): Query<AccessParams>,
) -> Result<Json<DeleteOut>, ApiError> {
    let id = with_caller(&state, caller, move |v, c| {
        v.delete(
            c,
            &tenant,
            &customer_no,
            Access {
                purpose: q.purpose.as_deref(),
                case_id: q.case_id.as_deref(),
            },
        )
    })
    .await?;
    Ok(Json(DeleteOut { id, deleted: true }))
}
