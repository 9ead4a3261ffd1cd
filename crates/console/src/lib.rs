//! The web console (issue 26): server-rendered pages, in Japanese by
//! default and English on request, over the vault's own services — the
//! console never decides access itself: every page authenticates its
//! person through the vault (the cookie holds the secret of a session the
//! vault opened, with the person's API token or through an identity
//! provider) and every
//! action is the vault call the API makes, refused or allowed by the same
//! gate and recorded in the same audit log.
//!
//! Plain HTML forms, no script at all; strict headers on every answer (a
//! Content-Security-Policy without inline code, no framing, no caching,
//! no referrer); sealed `HttpOnly; Secure; SameSite=Strict` session cookies
//! with idle and absolute limits; a CSRF token on every form; pages with
//! customer data carry a watermark of the viewer and the time and print
//! only a notice.

mod alerts;
mod audit;
mod charts;
mod dashboard;
mod directives;
mod egress;
mod exports;
mod i18n;
mod leak;
mod machines;
mod oversight;
mod pages;
mod people;
mod reconciliation;
mod requests;
mod reviews;
mod session;
mod signin;
mod system;
mod upload;
mod vendor_audits;

use std::sync::Arc;

use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use mamori_crypto::session::SessionKey;
use mamori_vault::Vault;

pub use i18n::{Lang, Tr};

/// What every page handler gets.
#[derive(Clone)]
pub struct ConsoleState {
    pub(crate) vault: Arc<Vault>,
    pub(crate) key: Arc<SessionKey>,
    /// The Japanese font PDF reports are drawn with (none: no PDF offered).
    pub(crate) report_font: Option<Arc<Vec<u8>>>,
}

/// What the server hands the console beside the vault.
#[derive(Clone, Default)]
pub struct Options {
    /// The font for PDF reports, as the API's `/v1/reports` uses it.
    pub report_font: Option<Arc<Vec<u8>>>,
}

/// The console's routes, all under `/console`.
pub fn router(vault: Arc<Vault>, options: Options) -> Router {
    let state = ConsoleState {
        key: Arc::new(vault.console_session_key()),
        vault,
        report_font: options.report_font,
    };
    Router::new()
        .route("/console", get(pages::home))
        .route("/console/", get(pages::home))
        .route(
            "/console/login",
            get(signin::login_form).post(signin::login),
        )
        .route("/console/logout", post(signin::logout))
        .route("/console/oidc/{provider}/start", get(signin::oidc_start))
        .route("/console/oidc/callback", get(signin::oidc_callback))
        .route("/console/step-up", get(signin::step_up))
        .route("/console/lang", post(pages::switch_lang))
        .route(
            "/console/lookup",
            get(pages::lookup_form).post(pages::lookup),
        )
        .route("/console/requests/new", get(requests::request_form))
        .route("/console/requests", post(requests::file_request))
        .route("/console/inbox", get(requests::inbox))
        .route("/console/requests/{id}/decide", post(requests::decide))
        .route("/console/dashboard", get(dashboard::show))
        .route("/console/system", get(system::show))
        .route("/console/exports", get(exports::list))
        .route("/console/exports/{id}", get(exports::show))
        .route("/console/exports/{id}/act", post(exports::act))
        .route("/console/exports/{id}/download", post(exports::download))
        .route("/console/people", get(people::list))
        .route("/console/people/{login}", get(people::show))
        .route("/console/people/{login}/act", post(people::act))
        .route("/console/vendors", get(people::vendors))
        .route("/console/honey", get(people::honey).post(people::plant))
        .route("/console/reviews", get(reviews::list).post(reviews::open))
        .route("/console/reviews/items", get(reviews::items))
        .route("/console/reviews/items/{id}/decide", post(reviews::decide))
        .route("/console/reviews/{id}", get(reviews::stats))
        .route(
            "/console/leak",
            get(leak::form)
                .post(leak::analyze)
                .layer(axum::extract::DefaultBodyLimit::max(leak::MAX_LEAK_BYTES)),
        )
        .route(
            "/console/leak/notice",
            post(leak::notice).layer(axum::extract::DefaultBodyLimit::max(leak::MAX_LEAK_BYTES)),
        )
        .route("/console/oversight", get(oversight::show))
        .route("/console/oversight/declare", post(oversight::declare))
        .route("/console/oversight/report", post(oversight::report))
        .route(
            "/console/audits",
            get(vendor_audits::list).post(vendor_audits::start),
        )
        .route("/console/audits/{id}", get(vendor_audits::show))
        .route(
            "/console/explain",
            get(vendor_audits::mine).post(vendor_audits::explain),
        )
        .route(
            "/console/reconciliation",
            get(reconciliation::list).post(reconciliation::run).layer(
                axum::extract::DefaultBodyLimit::max(reconciliation::MAX_RUN_BYTES),
            ),
        )
        .route(
            "/console/reconciliation/{id}/dispose",
            post(reconciliation::dispose),
        )
        .route("/console/egress", get(egress::list).post(egress::request))
        .route("/console/egress/{id}/act", post(egress::act))
        .route(
            "/console/machines",
            get(machines::list).post(machines::hunt),
        )
        .route("/console/alerts", get(alerts::list))
        .route("/console/alerts/{id}", get(alerts::show))
        .route("/console/alerts/{id}/act", post(alerts::act))
        .route(
            "/console/alerts/{id}/directive",
            post(directives::issue_from_alert),
        )
        .route("/console/directives", get(directives::list))
        .route(
            "/console/directives/{tenant}/{id}/ack",
            post(directives::acknowledge),
        )
        .route("/console/audit", get(audit::search))
        .route("/console/audit/proof", get(audit::proof))
        .route("/console/static/console.css", get(stylesheet))
        .route("/console/static/icon.svg", get(icon))
        .route("/console/watermark.svg", get(pages::watermark))
        .layer(middleware::from_fn(strict_headers))
        .with_state(state)
}

/// The stylesheet: the only resource a page loads.
async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../static/console.css"),
    )
        .into_response()
}

async fn icon() -> Response {
    (
        [(header::CONTENT_TYPE, "image/svg+xml")],
        include_str!("../static/icon.svg"),
    )
        .into_response()
}

/// The policy every answer carries: nothing but this origin's stylesheet
/// and forms, no script, no frames, no plugins.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

async fn strict_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            header::HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), clipboard-write=()",
        ),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    resp
}
