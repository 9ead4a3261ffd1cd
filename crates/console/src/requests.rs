//! Temporary access (just-in-time grants) in the console: the operator's
//! request form (reached from a refused lookup, purpose and case carried
//! over) and the approver's inbox of requests waiting for them, each
//! approved or denied with a comment — the vault's `request_access`,
//! `access_requests`, `approve_request` and `deny_request`, which decide
//! who may file and who may approve (never the requester, never their report).

use askama::Template;
use axum::{
    Form,
    extract::{Path, Query, State},
    response::Response,
};
use mamori_vault::{
    approval_context::RequesterContext,
    exports::{ExportListFilter, ExportView},
    grants::{ListFilter, NewRequest, RequestView},
};
use serde::Deserialize;

use crate::{
    ConsoleState,
    i18n::Tr,
    pages::{Chrome, Person, Refused, blocking, forged, guarded, label, purposes, render, tenants},
};

/// Choices of a select or checkboxes: (value, label).
type Choices = Vec<(String, String)>;

#[derive(Default, Deserialize)]
pub struct RequestQuery {
    #[serde(default)]
    pub tenant: String,
    #[serde(default)]
    pub purpose: String,
    #[serde(default)]
    pub case_id: String,
}

#[derive(Template)]
#[template(path = "request.html")]
struct RequestPage {
    t: Tr,
    page: Chrome,
    tenants: Vec<String>,
    purposes: Vec<(String, String)>,
    segments: Vec<(String, String)>,
    fields: Vec<(String, String)>,
    form: RequestQuery,
    filed: Option<String>,
    refused: Option<String>,
}

/// The chosen purpose's fields and the tenant's segments, labelled.
fn scope_choices(state: &ConsoleState, p: &Person, q: &RequestQuery) -> (Choices, Choices) {
    let mine = tenants(p).contains(&q.tenant);
    let Some(schema) = mine
        .then(|| state.vault.tenant_schema(&q.tenant).ok())
        .flatten()
    else {
        return (Vec::new(), Vec::new());
    };
    let segments = (schema.segments.iter())
        .map(|s| (s.id.clone(), label(p.lang, &s.label_ja, &s.label_en)))
        .collect();
    let fields = (schema.purposes.iter())
        .find(|x| x.id == q.purpose && x.roles.contains(&p.caller.role))
        .map(|purpose| {
            (purpose.fields.keys())
                .map(|name| {
                    let f = schema.fields.iter().find(|f| f.name == *name);
                    let l = f.map_or(name.clone(), |f| label(p.lang, &f.label_ja, &f.label_en));
                    (name.clone(), l)
                })
                .collect()
        })
        .unwrap_or_default();
    (segments, fields)
}

fn request_page(
    state: &ConsoleState,
    p: Person,
    q: RequestQuery,
    filed: Option<String>,
    refused: Option<String>,
) -> Response {
    let t = Tr(p.lang);
    let page = p.chrome(t.get("request.title"), false);
    let (segments, fields) = scope_choices(state, &p, &q);
    let html = render(RequestPage {
        t,
        page,
        tenants: tenants(&p),
        purposes: purposes(state, &p),
        segments,
        fields,
        form: q,
        filed,
        refused,
    });
    p.page(state, html)
}

pub async fn request_form(
    State(state): State<ConsoleState>,
    p: Person,
    Query(q): Query<RequestQuery>,
) -> Response {
    request_page(&state, p, q, None, None)
}

#[derive(Deserialize)]
pub struct RequestForm {
    csrf: String,
    tenant: String,
    purpose: String,
    #[serde(default)]
    segment: String,
    #[serde(default)]
    fields: Vec<String>,
    case_id: String,
    justification: String,
    records: u64,
    hours: u32,
}

/// Files the request as the person; the page says what became of it.
pub async fn file_request(
    State(state): State<ConsoleState>,
    p: Person,
    MultiForm(f): MultiForm<RequestForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let req = NewRequest {
        tenant: f.tenant.clone(),
        segment: Some(f.segment.clone()).filter(|s| !s.is_empty()),
        fields: f.fields,
        purpose: f.purpose.clone(),
        case_id: f.case_id.clone(),
        justification: f.justification,
        record_budget: f.records,
        starts_at: None,
        hours: Some(f.hours),
    };
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let done = blocking(move || vault.request_access(&caller, &req)).await;
    let q = RequestQuery {
        tenant: f.tenant,
        purpose: f.purpose,
        case_id: f.case_id,
    };
    match done {
        Ok(view) => request_page(&state, p, q, Some(view.id), None),
        Err(why) => request_page(&state, p, q, None, Some(why)),
    }
}

/// A request waiting for the person, with what the vault tells an
/// approver about its requester.
struct Waiting {
    r: RequestView,
    context: Option<Context>,
}

/// The requester's last week, as the page shows it.
struct Context {
    reads: u64,
    customers: u64,
    last_read: String,
    open_alerts: u64,
    training_current: bool,
    days: u32,
}

fn context(t: Tr, c: RequesterContext) -> Context {
    let last_read = (c.last_read.as_deref())
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map_or_else(
            || t.get("inbox.never").to_owned(),
            |d| t.time(d.timestamp()),
        );
    Context {
        reads: c.reads,
        customers: c.customers,
        last_read,
        open_alerts: c.open_alerts,
        training_current: c.training_current,
        days: c.days,
    }
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    t: Tr,
    page: Chrome,
    requests: Vec<Waiting>,
    exports: Vec<ExportView>,
    done: Option<String>,
    refused: Option<String>,
}

/// What waits for the person: pending requests they may decide, each with
/// its requester's context, and exports collecting approvals they have not
/// given (the vault lists what its gate lets them see; their own are left
/// out: never self-approval).
async fn inbox_page(
    state: &ConsoleState,
    p: Person,
    done: Option<String>,
    refused: Option<String>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let me = p.caller.principal.login.clone();
    let listed = blocking(move || {
        let requests = vault.access_requests(
            &caller,
            &ListFilter {
                pending: true,
                ..ListFilter::default()
            },
        )?;
        let requests: Vec<RequestView> = (requests.into_iter())
            .filter(|r| r.requester != me)
            .collect();
        let pairs: Vec<(String, String)> = (requests.iter())
            .map(|r| (r.requester.clone(), r.tenant.clone()))
            .collect();
        let contexts = vault.requester_context(&caller, &pairs)?;
        let exports = vault.exports(
            &caller,
            &ExportListFilter {
                pending: true,
                ..ExportListFilter::default()
            },
        )?;
        let exports: Vec<ExportView> = (exports.into_iter())
            .filter(|e| e.requester != me && !e.approvals.iter().any(|a| a.approver == me))
            .collect();
        Ok((requests, contexts, exports))
    })
    .await;
    let t = Tr(p.lang);
    let (requests, exports, refused) = match listed {
        Ok((requests, contexts, exports)) => {
            let waiting = (requests.into_iter())
                .map(|r| {
                    let c = (contexts.iter())
                        .find(|c| c.login == r.requester && c.tenant == r.tenant)
                        .cloned()
                        .map(|c| context(t, c));
                    Waiting { r, context: c }
                })
                .collect();
            (waiting, exports, refused)
        }
        Err(why) => (Vec::new(), Vec::new(), Some(why)),
    };
    let page = p.chrome(t.get("inbox.title"), false);
    let html = render(InboxPage {
        t,
        page,
        requests,
        exports,
        done,
        refused,
    });
    p.page(state, html)
}

pub async fn inbox(State(state): State<ConsoleState>, p: Person) -> Response {
    inbox_page(&state, p, None, None).await
}

#[derive(Deserialize)]
pub struct DecideForm {
    csrf: String,
    verdict: String,
    #[serde(default)]
    comment: String,
}

/// Approves or denies one request as the person; the inbox again, saying what happened.
pub async fn decide(
    State(state): State<ConsoleState>,
    p: Person,
    Path(id): Path<String>,
    Form(f): Form<DecideForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let verdict = f.verdict.clone();
    let done = guarded("/console/inbox", move || {
        let comment = Some(f.comment.as_str()).filter(|c| !c.trim().is_empty());
        match verdict.as_str() {
            "approve" => vault.approve_request(&caller, &id, comment),
            _ => vault.deny_request(&caller, &id, comment.unwrap_or_default()),
        }
    })
    .await;
    match done {
        Ok(view) => {
            let what = format!("{}: {}", Tr(p.lang).done(&f.verdict), view.id);
            inbox_page(&state, p, Some(what), None).await
        }
        Err(Refused::StepUp(r)) => r,
        Err(Refused::Said(why)) => inbox_page(&state, p, None, Some(why)).await,
    }
}

/// A form whose fields may repeat (`fields=a&fields=b`): serde_urlencoded
/// cannot, so the pairs are gathered into sequences first.
pub struct MultiForm<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S>
    for MultiForm<T>
{
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        use axum::response::IntoResponse;
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let mut map = serde_json::Map::new();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| axum::http::StatusCode::BAD_REQUEST.into_response())?;
        for (k, v) in pairs {
            match map.get_mut(&k) {
                Some(serde_json::Value::Array(a)) => a.push(v.into()),
                Some(other) => {
                    let first = other.take();
                    *other = serde_json::Value::Array(vec![first, v.into()]);
                }
                None if k == "fields" => {
                    map.insert(k, serde_json::Value::Array(vec![v.into()]));
                }
                None => {
                    map.insert(k, v.into());
                }
            }
        }
        // Numbers arrive as text: let the typed form take them as numbers.
        for n in ["records", "hours"] {
            if let Some(v) = map.get_mut(n)
                && let Some(x) = v.as_str().and_then(|s| s.trim().parse::<u64>().ok())
            {
                *v = x.into();
            }
        }
        serde_json::from_value(serde_json::Value::Object(map))
            .map(MultiForm)
            .map_err(|_| axum::http::StatusCode::UNPROCESSABLE_ENTITY.into_response())
    }
}
