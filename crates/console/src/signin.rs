//! Signing in and out. Two ways in, one session: the person's API token
//! typed into the form (for break-glass and deployments without an
//! identity provider), or a sign-in through an identity provider
//! (OpenID Connect). Either way the vault opens a session — a credential of
//! its own, stored hashed, ending at the latest after eight hours — whose
//! secret is sealed into the cookie; signing out revokes it, so a copied
//! cookie opens nothing afterwards.
//!
//! The provider's sign-in leaves the site and comes back: the browser
//! binding of the sign-in travels in a `SameSite=Lax` cookie scoped to
//! `/console/oidc` (a `Strict` one would not come back with the provider's
//! redirect), and the session cookie, `Strict`, is set by a page of ours
//! that then moves on to the console, so that it is sent from there on.

use std::collections::HashMap;

use askama::Template;
use axum::{
    Form,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use mamori_vault::{
    VaultError,
    identity::{Fresh, ProviderInfo},
};
use serde::Deserialize;

use crate::{
    ConsoleState,
    i18n::{Lang, Tr},
    pages::{Chrome, ClientAddr, CsrfForm, Person, forged, lang, now, render, to_login},
    session::{self, PRE_COOKIE, Session},
};

/// The browser binding of a sign-in at the identity provider.
const OIDC_COOKIE: &str = "mamori_oidc";
const OIDC_PATH: &str = "/console/oidc";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: Tr,
    page: Chrome,
    message: Option<&'static str>,
    providers: Vec<ProviderInfo>,
}

#[derive(Template)]
#[template(path = "signed_in.html")]
struct SignedInPage {
    t: Tr,
    page: Chrome,
    /// Where the page moves on to: the console, or the page a step-up
    /// sign-in was begun from.
    to: String,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    expired: Option<String>,
}

/// The sign-in page: a button per identity provider, and the token form
/// with a CSRF token of its own (there is no session yet).
pub async fn login_form(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    login_page(
        &state,
        lang(&headers),
        q.expired.map(|_| "login.expired"),
        StatusCode::OK,
    )
}

fn login_page(
    state: &ConsoleState,
    lang: Lang,
    message: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let csrf = session::random_token();
    let t = Tr(lang);
    let page = Chrome {
        title: t.get("login.title"),
        who: None,
        csrf: csrf.clone(),
        customer_data: false,
    };
    let providers = state.vault.identity_providers();
    let html = render(LoginPage {
        t,
        page,
        message,
        providers,
    });
    let pre = format!(
        "{PRE_COOKIE}={csrf}; Path=/console; Max-Age=900; HttpOnly; Secure; SameSite=Strict"
    );
    with_cookies((status, Html(html)).into_response(), &[pre])
}

fn with_cookies(mut r: Response, cookies: &[String]) -> Response {
    let h = r.headers_mut();
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    r
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    token: zeroize::Zeroizing<String>,
}

/// Signs in with the person's API token: the vault authenticates it (and
/// records a refusal) and opens a session, whose secret is sealed into the
/// cookie.
pub async fn login(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    client: ClientAddr,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = lang(&headers);
    let expected = session::cookie(&headers, PRE_COOKIE).unwrap_or_default();
    if expected.is_empty() || !session::same(&f.csrf, expected) {
        return login_page(&state, lang, Some("error.csrf"), StatusCode::FORBIDDEN);
    }
    let vault = state.vault.clone();
    let token = f.token;
    let opened =
        tokio::task::spawn_blocking(move || vault.open_session_with_token(&token, client.0)).await;
    let Ok(Ok(opened)) = opened else {
        return login_page(&state, lang, Some("login.failed"), StatusCode::UNAUTHORIZED);
    };
    let mut s = Session::new(opened.secret.to_string(), now());
    let cookie = s.set_cookie(&state.key, now());
    with_cookies(
        Redirect::to("/console/").into_response(),
        &[cookie, session::clear_cookie(PRE_COOKIE)],
    )
}

/// Signs out: the vault revokes the session, and the cookie is cleared.
pub async fn logout(
    State(state): State<ConsoleState>,
    p: Person,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let vault = state.vault.clone();
    let secret = zeroize::Zeroizing::new(p.session.secret.clone());
    let client = p.caller.client.clone();
    let _ = tokio::task::spawn_blocking(move || vault.close_session(&secret, client)).await;
    to_login(false)
}

#[derive(Deserialize)]
pub struct StepUpQuery {
    tenant: String,
    back: String,
}

/// A fresh, stronger sign-in that a tenant asks for before a sensitive
/// act: to the provider with `prompt=login`, `max_age=0` and the tenant's
/// `acr_values`, and back to the page the act was tried from.
pub async fn step_up(
    State(state): State<ConsoleState>,
    p: Person,
    Query(q): Query<StepUpQuery>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let begun =
        tokio::task::spawn_blocking(move || vault.begin_step_up(&caller, &q.tenant, &q.back)).await;
    let (status, message) = match begun {
        Ok(Ok(start)) => return bound_redirect(&start),
        Ok(Err(VaultError::BadRequest { .. })) => (StatusCode::BAD_REQUEST, "error.not_found"),
        _ => (StatusCode::BAD_GATEWAY, "login.provider_unavailable"),
    };
    let t = Tr(p.lang);
    let page = p.chrome(t.get("error.title"), false);
    let html = render(crate::pages::ErrorPage { t, page, message });
    (status, Html(html)).into_response()
}

/// To the provider, with the cookie that binds the sign-in to this browser.
fn bound_redirect(start: &mamori_vault::identity::SignInStart) -> Response {
    let binding = format!(
        "{OIDC_COOKIE}={}; Path={OIDC_PATH}; Max-Age=600; HttpOnly; Secure; SameSite=Lax",
        start.binding.as_str()
    );
    with_cookies(Redirect::to(&start.url).into_response(), &[binding])
}

/// Sends the browser to the identity provider, binding the sign-in to it.
pub async fn oidc_start(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    Path(provider): Path<String>,
) -> Response {
    let vault = state.vault.clone();
    let begun =
        tokio::task::spawn_blocking(move || vault.begin_sign_in(&provider, &Fresh::default()))
            .await;
    let start = match begun {
        Ok(Ok(s)) => s,
        Ok(Err(VaultError::NotFound { .. })) => {
            return login_page(
                &state,
                lang(&headers),
                Some("login.provider_unknown"),
                StatusCode::NOT_FOUND,
            );
        }
        Ok(Err(VaultError::Limited { retry_after_s, .. })) => {
            let mut page = login_page(
                &state,
                lang(&headers),
                Some("login.busy"),
                StatusCode::TOO_MANY_REQUESTS,
            );
            if let Ok(v) = axum::http::HeaderValue::from_str(&retry_after_s.to_string()) {
                page.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
            return page;
        }
        _ => {
            return login_page(
                &state,
                lang(&headers),
                Some("login.provider_unavailable"),
                StatusCode::BAD_GATEWAY,
            );
        }
    };
    bound_redirect(&start)
}

/// The identity provider's answer: the vault finishes the sign-in; the
/// session cookie is set by a page that moves on to the console.
pub async fn oidc_callback(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    client: ClientAddr,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = lang(&headers);
    let binding =
        session::cookie(&headers, OIDC_COOKIE).map(|b| zeroize::Zeroizing::new(b.to_owned()));
    let vault = state.vault.clone();
    let finished = tokio::task::spawn_blocking(move || {
        let get = |k: &str| q.get(k).map(String::as_str);
        let cb = mamori_vault::identity::Callback {
            state: get("state"),
            code: get("code"),
            iss: get("iss"),
            error: get("error"),
        };
        vault.finish_sign_in(&cb, binding.as_deref().map(String::as_str), client.0)
    })
    .await;
    let clear_binding =
        format!("{OIDC_COOKIE}=; Path={OIDC_PATH}; Max-Age=0; HttpOnly; Secure; SameSite=Lax");
    let opened = match finished {
        Ok(Ok(o)) => o,
        Ok(Err(VaultError::SignIn { code })) => {
            let r = login_page(&state, lang, Some(message(code)), StatusCode::UNAUTHORIZED);
            return with_cookies(r, &[clear_binding]);
        }
        _ => {
            let r = login_page(
                &state,
                lang,
                Some("login.provider_unavailable"),
                StatusCode::INTERNAL_SERVER_ERROR,
            );
            return with_cookies(r, &[clear_binding]);
        }
    };
    let mut s = Session::new(opened.secret.to_string(), now());
    let cookie = s.set_cookie(&state.key, now());
    let t = Tr(lang);
    let page = Chrome {
        title: t.get("login.signed_in"),
        who: None,
        csrf: String::new(),
        customer_data: false,
    };
    let to = opened.back.clone().unwrap_or_else(|| "/console/".into());
    let html = render(SignedInPage { t, page, to });
    with_cookies(Html(html).into_response(), &[cookie, clear_binding])
}

/// What the sign-in page says about a refused sign-in.
fn message(code: &str) -> &'static str {
    match code {
        "not_provisioned" => "login.not_provisioned",
        "role_not_granted" => "login.role_not_granted",
        "user_suspended" | "user_left" => "login.ended",
        "state_missing" | "state_unknown" | "state_expired" | "browser_mismatch" => {
            "login.start_again"
        }
        "provider_unavailable" | "provider_config" => "login.provider_unavailable",
        _ => "login.provider_refused",
    }
}
