//! Console sessions: what a signed-in browser holds, sealed into its cookie
//! (`SessionKey`, derived from the root key: any node opens it, nobody can
//! read or alter it). The cookie carries the secret of a session the vault
//! opened (a credential of its own, stored hashed), so every request is
//! authenticated by the vault — signing out, a revocation, a suspension or
//! a leaving date ends the session at its next request. Idle and absolute
//! limits (the vault's session also ends by itself after eight hours); the
//! cookie is re-sealed with each request; a per-session CSRF token guards
//! every form.

use axum::http::HeaderMap;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use mamori_crypto::session::SessionKey;

pub const COOKIE: &str = "mamori_session";
/// The CSRF token of the sign-in form, before there is a session.
pub const PRE_COOKIE: &str = "mamori_signin";
pub const LANG_COOKIE: &str = "mamori_lang";

/// Signed out after this long without a request.
pub const IDLE_S: i64 = 15 * 60;
/// Signed out this long after signing in, whatever happens.
pub const ABSOLUTE_S: i64 = mamori_vault::identity::SESSION_S;

#[derive(Serialize, Deserialize)]
pub struct Session {
    /// The vault session's secret.
    pub secret: String,
    pub issued: i64,
    pub seen: i64,
    pub csrf: String,
}

impl Drop for Session {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.secret.zeroize();
    }
}

/// Why a cookie did not give a session.
#[derive(Debug, PartialEq, Eq)]
pub enum Missing {
    None,
    Expired,
}

/// A fresh random token (CSRF), URL-safe.
pub fn random_token() -> String {
    let mut b = [0u8; 24];
    rand::rng().fill_bytes(&mut b);
    B64.encode(b)
}

/// Constant-time comparison of a submitted CSRF token with the expected one.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl Session {
    pub fn new(secret: String, now: i64) -> Session {
        Session {
            secret,
            issued: now,
            seen: now,
            csrf: random_token(),
        }
    }

    /// The session in the request's cookie, if it opens and is within its limits.
    pub fn from_headers(
        key: &SessionKey,
        headers: &HeaderMap,
        now: i64,
    ) -> Result<Session, Missing> {
        let sealed = cookie(headers, COOKIE)
            .and_then(|v| B64.decode(v).ok())
            .ok_or(Missing::None)?;
        let plain = key.open(&sealed).ok_or(Missing::None)?;
        let s: Session = serde_json::from_slice(&plain).map_err(|_| Missing::None)?;
        if now - s.seen > IDLE_S || now - s.issued > ABSOLUTE_S || now < s.issued {
            return Err(Missing::Expired);
        }
        Ok(s)
    }

    /// The `Set-Cookie` value carrying this session, seen `now`.
    pub fn set_cookie(&mut self, key: &SessionKey, now: i64) -> String {
        self.seen = now;
        let plain = Zeroizing::new(serde_json::to_vec(&*self).unwrap_or_default());
        let sealed = B64.encode(key.seal(&plain));
        let left = (ABSOLUTE_S - (now - self.issued)).max(0);
        format!(
            "{COOKIE}={sealed}; Path=/console; Max-Age={left}; HttpOnly; Secure; SameSite=Strict"
        )
    }
}

/// The `Set-Cookie` value that ends a session.
pub fn clear_cookie(name: &str) -> String {
    format!("{name}=; Path=/console; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
}
