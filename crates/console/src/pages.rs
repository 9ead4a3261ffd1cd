//! The pages: sign-in and sign-out, the home page by role, the customer
//! lookup. Each handler takes the signed-in person (`Person`: the session
//! opened and the person authenticated by the vault) and makes the vault
//! call the API makes; a refusal is shown with the vault's own reason.

use std::net::SocketAddr;

use askama::Template;
use axum::{
    Form,
    extract::{ConnectInfo, FromRequestParts, State},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{Html, IntoResponse, Redirect, Response},
};
use mamori_core::Role;
use mamori_vault::{Caller, SearchBy, access::Access};
use serde::Deserialize;

use crate::{
    ConsoleState,
    i18n::{Lang, Tr},
    session::{self, LANG_COOKIE, Missing, Session},
};

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(crate) fn lang(headers: &HeaderMap) -> Lang {
    Lang::from_cookie(session::cookie(headers, LANG_COOKIE))
}

/// The signed-in person shown in the page's header.
pub struct Who {
    pub login: String,
    pub role: String,
    /// Whether the role reads customer data at all (operators, back office,
    /// supervisors, vendor staff); the lookup is offered to them only.
    pub reads: bool,
    /// Whether the role approves others' requests (supervisors, the security office).
    pub approves: bool,
    /// Whether the role sees alerts, reads the audit log and takes part in
    /// access reviews (the security office, supervisors, auditors; the
    /// vault scopes what each sees).
    pub alerts: bool,
    /// Whether the role oversees (the security office, auditors): the
    /// dashboard and the oversight screens.
    pub oversees: bool,
    /// Whether the role keeps people's records (the security office).
    pub keeps_people: bool,
    /// Whether the role keeps the egress register (supervisors, system
    /// administrators, the security office, auditors).
    pub egress: bool,
    /// Whether the role reads the system's health (system administrators,
    /// the security office, auditors).
    pub system: bool,
}

/// What the base template needs.
pub struct Chrome {
    pub title: &'static str,
    pub who: Option<Who>,
    pub csrf: String,
    pub customer_data: bool,
}

/// A signed-in person: their session and the vault's caller for them.
pub struct Person {
    pub session: Session,
    pub caller: Caller,
    pub lang: Lang,
}

impl Person {
    /// The watermark's text: the viewer and the time (Japan).
    fn mark(&self) -> String {
        let at = chrono::Utc::now()
            .with_timezone(&mamori_core::jst::zone())
            .format("%Y-%m-%d %H:%M");
        format!("{} {at}", self.caller.principal.login)
    }

    pub(crate) fn chrome(&self, title: &'static str, customer_data: bool) -> Chrome {
        let p = &self.caller.principal;
        Chrome {
            title,
            who: Some(Who {
                login: p.login.clone(),
                role: self.caller.role.as_str().to_owned(),
                reads: reads(self.caller.role),
                approves: matches!(self.caller.role, Role::Supervisor | Role::SecurityOfficer),
                alerts: matches!(
                    self.caller.role,
                    Role::Supervisor | Role::SecurityOfficer | Role::Auditor
                ),
                oversees: matches!(self.caller.role, Role::SecurityOfficer | Role::Auditor),
                keeps_people: self.caller.role == Role::SecurityOfficer,
                egress: matches!(
                    self.caller.role,
                    Role::Supervisor | Role::Sysadmin | Role::SecurityOfficer | Role::Auditor
                ),
                system: matches!(
                    self.caller.role,
                    Role::Sysadmin | Role::SecurityOfficer | Role::Auditor
                ),
            }),
            csrf: self.session.csrf.clone(),
            customer_data,
        }
    }

    /// The page, with the session re-sealed (its idle limit restarts).
    pub(crate) fn page(mut self, state: &ConsoleState, html: String) -> Response {
        let cookie = self.session.set_cookie(&state.key, now());
        let mut r = Html(html).into_response();
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
        r
    }
}

fn reads(role: Role) -> bool {
    matches!(
        role,
        Role::Operator | Role::Backyard | Role::Supervisor | Role::VendorUser
    )
}

/// To the sign-in page, the session cookie cleared.
pub(crate) fn to_login(expired: bool) -> Response {
    let to = if expired {
        "/console/login?expired=1"
    } else {
        "/console/login"
    };
    let mut r = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(session::COOKIE)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn client(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

impl FromRequestParts<ConsoleState> for Person {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Self, Response> {
        let session = match Session::from_headers(&state.key, &parts.headers, now()) {
            Ok(s) => s,
            Err(Missing::None) => return Err(to_login(false)),
            Err(Missing::Expired) => return Err(to_login(true)),
        };
        // The copy handed to the blocking pool is wiped when it is done with.
        let secret = zeroize::Zeroizing::new(session.secret.clone());
        let (vault, client) = (state.vault.clone(), client(parts));
        let caller =
            tokio::task::spawn_blocking(move || vault.authenticate_session(&secret, client))
                .await
                .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
        match caller {
            Ok(caller) => Ok(Person {
                session,
                caller,
                lang: lang(&parts.headers),
            }),
            // Signed out, revoked, expired, suspended, gone: the session ends.
            Err(_) => Err(to_login(false)),
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    t: Tr,
    page: Chrome,
}

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    pub(crate) t: Tr,
    pub(crate) page: Chrome,
    pub(crate) message: &'static str,
}

/// A vault call on the blocking pool (the vault's calls block on the store
/// and the audit log); a refusal as the text a page shows — the vault's
/// messages never hold a submitted value.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, mamori_vault::VaultError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("internal error".into()),
    }
}

/// What became of an act a tenant may guard with step-up: the vault's
/// refusal as the page shows it, or the way to the fresh sign-in it asks.
pub(crate) enum Refused {
    Said(String),
    StepUp(Response),
}

/// `blocking` for acts a tenant may guard with step-up (approving,
/// downloading): a step-up refusal sends the person to a fresh sign-in
/// that brings them back to `back`, to repeat the act.
/// To a fresh sign-in the tenant's rule asks for, and back to `back`.
pub(crate) fn step_up_redirect(tenant: &str, back: &str) -> Response {
    let q = serde_urlencoded::to_string([("tenant", tenant), ("back", back)]).unwrap_or_default();
    Redirect::to(&format!("/console/step-up?{q}")).into_response()
}

pub(crate) async fn guarded<T: Send + 'static>(
    back: &str,
    f: impl FnOnce() -> Result<T, mamori_vault::VaultError> + Send + 'static,
) -> Result<T, Refused> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(mamori_vault::VaultError::StepUp { tenant, .. })) => {
            Err(Refused::StepUp(step_up_redirect(&tenant, back)))
        }
        Ok(Err(e)) => Err(Refused::Said(e.to_string())),
        Err(_) => Err(Refused::Said("internal error".into())),
    }
}

/// What a list page shows: the vault's list, each item made ready for the
/// page, with `earlier` (the refusal of the act that led here, if any); or
/// nothing and why not.
pub(crate) fn listed<T, U>(
    got: Result<Vec<T>, String>,
    earlier: Option<String>,
    each: impl FnMut(T) -> U,
) -> (Vec<U>, Option<String>) {
    match got {
        Ok(v) => (v.into_iter().map(each).collect(), earlier),
        Err(why) => (Vec::new(), Some(why)),
    }
}

pub(crate) fn render(t: impl Template) -> String {
    t.render()
        .unwrap_or_else(|_| "<!doctype html><title>error</title>".into())
}

/// The client's address, for the audit log (as the API records it).
pub struct ClientAddr(pub(crate) Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client(parts)))
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    pub(crate) csrf: String,
}

/// A form's CSRF token against the session's: the error page when it differs.
pub(crate) fn forged(p: &Person, csrf: &str) -> Option<Response> {
    if session::same(csrf, &p.session.csrf) {
        return None;
    }
    let t = Tr(p.lang);
    let page = p.chrome(t.get("error.title"), false);
    let html = render(ErrorPage {
        t,
        page,
        message: "error.csrf",
    });
    Some((StatusCode::FORBIDDEN, Html(html)).into_response())
}

/// Switches the language (a cookie of its own: it outlives the session).
pub async fn switch_lang(headers: HeaderMap) -> Response {
    let next = lang(&headers).other();
    let mut r = Redirect::to("/console/").into_response();
    let c = format!(
        "{LANG_COOKIE}={}; Path=/console; Max-Age=31536000; Secure; SameSite=Strict",
        next.code()
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// The watermark tile of the signed-in viewer: their login and the time,
/// faint and slanted, repeated over every page with customer data (an
/// image, so that it is not text a screen reader or a copy picks up).
pub async fn watermark(p: Person) -> Response {
    let t = Tr(p.lang);
    let text = format!("{}: {}", t.get("watermark.viewer"), p.mark());
    let text = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"420\" height=\"220\">\
         <text x=\"20\" y=\"150\" transform=\"rotate(-18 210 110)\" font-size=\"22\" \
         font-family=\"sans-serif\" fill=\"#1b1f24\" fill-opacity=\"0.13\">{text}</text></svg>"
    );
    ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
}

pub async fn home(State(state): State<ConsoleState>, p: Person) -> Response {
    let t = Tr(p.lang);
    let page = p.chrome(t.get("home.title"), false);
    let html = render(HomePage { t, page });
    p.page(&state, html)
}

/// What the lookup form holds (the value is never sent back to the page).
#[derive(Default, Deserialize)]
pub struct LookupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub tenant: String,
    #[serde(default)]
    pub purpose: String,
    #[serde(default)]
    pub case_id: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    value: zeroize::Zeroizing<String>,
}

/// A record as the lookup shows it: fields in order, each with its mask flag.
pub struct Shown {
    pub segment: String,
    pub fields: Vec<(String, String, bool)>,
}

#[derive(Template)]
#[template(path = "lookup.html")]
struct LookupPage {
    t: Tr,
    page: Chrome,
    tenants: Vec<String>,
    purposes: Vec<(String, String)>,
    form: LookupForm,
    refused: Option<Refusal>,
    searched: bool,
    records: Vec<Shown>,
}

/// Why a lookup was refused, in the vault's words; whether a grant would help.
pub struct Refusal {
    pub why: String,
    pub may_request: bool,
}

/// Not found — and what the person may not see answers the same.
pub(crate) fn not_found(p: &Person) -> Response {
    let t = Tr(p.lang);
    let page = p.chrome(t.get("error.title"), false);
    let html = render(ErrorPage {
        t,
        page,
        message: "error.not_found",
    });
    (StatusCode::NOT_FOUND, Html(html)).into_response()
}

fn forbidden(p: &Person) -> Response {
    let t = Tr(p.lang);
    let page = p.chrome(t.get("error.title"), false);
    let html = render(ErrorPage {
        t,
        page,
        message: "error.forbidden",
    });
    (StatusCode::FORBIDDEN, Html(html)).into_response()
}

pub(crate) fn tenants(p: &Person) -> Vec<String> {
    let mut t: Vec<String> = (p.caller.principal.assignments.iter())
        .map(|(t, _)| t.clone())
        .collect();
    t.sort();
    t.dedup();
    t
}

/// A label in the page's language.
pub(crate) fn label(lang: Lang, ja: &str, en: &str) -> String {
    match lang {
        Lang::Ja => ja.to_owned(),
        Lang::En => en.to_owned(),
    }
}

/// The purposes the person's role may use in their own tenants (id,
/// label), from the tenants' schemas: the choice comes first in the form.
pub(crate) fn purposes(state: &ConsoleState, p: &Person) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for t in tenants(p) {
        let Ok(schema) = state.vault.tenant_schema(&t) else {
            continue;
        };
        for purpose in &schema.purposes {
            if purpose.roles.contains(&p.caller.role)
                && !out.iter().any(|(id, _)| *id == purpose.id)
            {
                out.push((
                    purpose.id.clone(),
                    label(p.lang, &purpose.label_ja, &purpose.label_en),
                ));
            }
        }
    }
    out
}

/// Field labels of a tenant's schema, in the page's language.
fn field_labels(
    state: &ConsoleState,
    lang: Lang,
    tenant: &str,
) -> std::collections::BTreeMap<String, String> {
    state
        .vault
        .tenant_schema(tenant)
        .map(|s| {
            (s.fields.iter())
                .map(|f| (f.name.clone(), label(lang, &f.label_ja, &f.label_en)))
                .collect()
        })
        .unwrap_or_default()
}

pub async fn lookup_form(State(state): State<ConsoleState>, p: Person) -> Response {
    if !reads(p.caller.role) {
        return forbidden(&p);
    }
    let t = Tr(p.lang);
    let page = p.chrome(t.get("lookup.title"), false);
    let html = render(LookupPage {
        t,
        page,
        tenants: tenants(&p),
        purposes: purposes(&state, &p),
        form: LookupForm {
            key: "phone".into(),
            ..LookupForm::default()
        },
        refused: None,
        searched: false,
        records: Vec::new(),
    });
    p.page(&state, html)
}

/// The lookup: the vault's search with the purpose and case, as the API
/// makes it; the answer masked by the vault, shown under a watermark.
pub async fn lookup(
    State(state): State<ConsoleState>,
    p: Person,
    Form(mut f): Form<LookupForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    if !reads(p.caller.role) {
        return forbidden(&p);
    }
    let vault = state.vault.clone();
    let caller = p.caller.clone();
    let by = SearchBy {
        key: f.key.clone(),
        value: std::mem::take(&mut *f.value),
    };
    let (tenant, purpose, case_id) = (f.tenant.clone(), f.purpose.clone(), f.case_id.clone());
    let found = tokio::task::spawn_blocking(move || {
        let access = Access {
            purpose: Some(purpose.as_str()).filter(|s| !s.is_empty()),
            case_id: Some(case_id.as_str()).filter(|s| !s.is_empty()),
        };
        vault
            .search(&caller, &tenant, access, &by)
            .map(|r| r.into_inner())
    })
    .await;
    let labels = field_labels(&state, p.lang, &f.tenant);
    let (refused, records) = match found {
        Ok(Ok(result)) => {
            let shown = result
                .records
                .into_iter()
                .map(|r| shown(r, &labels))
                .collect();
            (None, shown)
        }
        // A sensitive field in full on a tenant that asks for a step-up:
        // a fresh sign-in, then the person looks up again (the value sent
        // is not carried through the redirect).
        Ok(Err(mamori_vault::VaultError::StepUp { tenant, .. })) => {
            return step_up_redirect(&tenant, "/console/lookup");
        }
        Ok(Err(e)) => {
            let may_request = matches!(e, mamori_vault::VaultError::Forbidden { .. });
            let why = e.to_string();
            (Some(Refusal { why, may_request }), Vec::new())
        }
        Err(_) => {
            let why = "internal error".to_owned();
            (
                Some(Refusal {
                    why,
                    may_request: false,
                }),
                Vec::new(),
            )
        }
    };
    let t = Tr(p.lang);
    let customer_data = !records.is_empty();
    let page = p.chrome(t.get("lookup.title"), customer_data);
    let html = render(LookupPage {
        t,
        page,
        tenants: tenants(&p),
        purposes: purposes(&state, &p),
        searched: refused.is_none(),
        refused,
        form: f,
        records,
    });
    p.page(&state, html)
}

/// A record with its fields labelled, in the schema's order of labels.
fn shown(
    r: mamori_vault::RecordView,
    labels: &std::collections::BTreeMap<String, String>,
) -> Shown {
    Shown {
        segment: r.segment,
        fields: r
            .fields
            .into_iter()
            .map(|(name, value)| {
                let masked = r.masked.contains_key(&name);
                let label = labels.get(&name).cloned().unwrap_or(name);
                (label, value, masked)
            })
            .collect(),
    }
}
