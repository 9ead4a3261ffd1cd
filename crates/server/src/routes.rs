//! The router: every route of the API and of the metrics address, and the
//! layers every answer passes (counting, security headers, problem
//! documents for the framework's own rejections, body limits).

use std::time::Instant;

use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{HeaderValue, header},
    middleware::{self, Next},
    response::Response,
    routing::get,
};
use mamori_vault::ErrorCode;

use crate::{
    AppState,
    metrics::{RequestLabels, RouteLabels},
    problem::problem,
};

pub fn routes(state: AppState) -> Router {
    Router::new()
        .merge(crate::records::routes())
        .merge(crate::governance::routes())
        .merge(crate::audit::routes())
        .merge(crate::exports::routes())
        .merge(crate::directives::routes())
        .merge(crate::alerts::routes())
        .merge(crate::reconcile::routes())
        .merge(crate::reviews::routes())
        .merge(crate::oversight::routes())
        .merge(crate::reports::routes())
        .merge(crate::scan::routes())
        .merge(crate::breach::routes())
        .merge(crate::scim::routes())
        .route("/healthz", get(crate::health::healthz))
        .route("/readyz", get(crate::health::readyz))
        .route("/metrics", get(crate::metrics::metrics_on_api))
        .route("/openapi.json", get(crate::openapi::document))
        .fallback(|| async { problem(ErrorCode::RouteNotFound, "no such endpoint".into()) })
        // JSON bodies are small; the routes that take a file or a file's values set their own.
        .layer(DefaultBodyLimit::max(crate::extract::MAX_BODY_BYTES))
        .layer(middleware::from_fn(problems_only))
        .layer(middleware::from_fn(secure_headers))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Counts and times every request under its route template.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(start.elapsed().as_secs_f64());
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: resp.status().as_u16(),
        })
        .inc();
    resp
}

/// Headers every answer carries: no content sniffing, and no caching of
/// anything (customer records, audit events, people's requests) by a browser
/// or a proxy on the way.
async fn secure_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Every error is a problem document. The framework's own rejections (a
/// malformed path or query string, a method the route does not take) come
/// as plain text that may repeat what was sent; they are replaced here by a
/// problem with a stable code and no part of the request.
async fn problems_only(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let plain = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return resp;
    }
    let (code, detail) = match status.as_u16() {
        404 => (ErrorCode::RouteNotFound, "no such endpoint"),
        405 => (
            ErrorCode::MethodNotAllowed,
            "this endpoint does not take that method",
        ),
        413 => (
            ErrorCode::BodyTooLarge,
            "the request body is larger than this endpoint accepts",
        ),
        415 => (
            ErrorCode::MediaTypeUnsupported,
            "this endpoint takes another content type",
        ),
        s if s < 500 => (
            ErrorCode::RequestInvalid,
            "the path or query string is malformed: a parameter is missing or has the wrong form",
        ),
        _ => (ErrorCode::Internal, "internal error; see the server log"),
    };
    let mut fixed = problem(code, detail.into());
    if let Some(allow) = resp.headers().get(header::ALLOW) {
        fixed.headers_mut().insert(header::ALLOW, allow.clone());
    }
    fixed
}

/// The routes of a separate metrics address (`server.metrics_listen`):
/// `/metrics` only, open to whoever reaches that address.
pub fn metrics_routes(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(crate::metrics::metrics))
        .fallback(|| async { problem(ErrorCode::RouteNotFound, "no such endpoint".into()) })
        .layer(middleware::from_fn(secure_headers))
        .with_state(state)
}
