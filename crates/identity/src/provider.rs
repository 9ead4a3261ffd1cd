//! One identity provider at run time: its discovery document, its JWK Set,
//! the authorisation URL of a new sign-in and the exchange of the code that
//! comes back.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use parking_lot::{Mutex, RwLock};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{
    Error, ProviderConfig, Refusal, Verified,
    id_token::{self, Expected},
    jose::{self, Key},
};

/// Most bytes read of any answer of the provider.
const MOST_BODY: u64 = 512 * 1024;
/// The discovery document is read again after this long.
const METADATA_TTL: Duration = Duration::from_secs(24 * 3600);
/// The JWK Set is read again after this long even without an unknown key.
const JWKS_TTL: Duration = Duration::from_secs(6 * 3600);

pub struct Provider {
    pub config: ProviderConfig,
    /// None where the process was not given it (an administrative command):
    /// such a provider can be named and linked to, not signed in through.
    secret: Option<Zeroizing<String>>,
    http: mamori_outbound::Client,
    metadata: RwLock<Option<(Arc<Metadata>, Instant)>>,
    jwks: Mutex<Jwks>,
}

#[derive(Default)]
struct Jwks {
    keys: Arc<Vec<Key>>,
    fetched: Option<Instant>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

/// What a sign-in asks of the provider beyond a plain sign-in.
#[derive(Clone, Debug, Default)]
pub struct Fresh {
    /// Ask for a new authentication (`prompt=login`, `max_age=0`), e.g.
    /// before a sensitive act.
    pub reauthenticate: bool,
    /// `acr_values` to request.
    pub acr_values: Vec<String>,
    /// A `claims` request (e.g. Entra's authentication context in `acrs`).
    pub claims: Option<serde_json::Value>,
}

/// A sign-in begun: where to send the browser, and the secrets to keep
/// (server-side) until it comes back.
pub struct Begun {
    pub url: String,
    pub state: Zeroizing<String>,
    pub nonce: Zeroizing<String>,
    pub verifier: Zeroizing<String>,
    /// `max_age` asked for (checked against `auth_time` on return).
    pub max_age: Option<i64>,
}

/// 256 random bits, URL-safe.
pub fn random() -> Result<Zeroizing<String>, Error> {
    let mut b = Zeroizing::new([0u8; 32]);
    getrandom::fill(b.as_mut()).map_err(|_| Error::Unavailable("no randomness".into()))?;
    Ok(Zeroizing::new(B64.encode(&b[..])))
}

/// The PKCE S256 challenge of a verifier (RFC 7636 4.2).
pub fn challenge(verifier: &str) -> String {
    B64.encode(Sha256::digest(verifier.as_bytes()))
}

pub use mamori_outbound::{install_tls, secure_url};

impl Provider {
    /// A provider from its configuration and client secret; `dir` resolves
    /// a relative CA path. Nothing is fetched yet.
    pub fn new(
        config: ProviderConfig,
        secret: Option<Zeroizing<String>>,
        dir: &Path,
    ) -> Result<Provider, Error> {
        config.check()?;
        if secret.as_ref().is_some_and(|s| s.is_empty()) {
            return Err(Error::Config(format!(
                "provider {}: the client secret is empty",
                config.name
            )));
        }
        let ca = (!config.ca.is_empty()).then(|| dir.join(&config.ca));
        let http = mamori_outbound::Client::new(ca.as_deref(), MOST_BODY)
            .map_err(|m| Error::Config(format!("provider {}: {m}", config.name)))?;
        Ok(Provider {
            config,
            secret,
            http,
            metadata: RwLock::new(None),
            jwks: Mutex::new(Jwks::default()),
        })
    }

    fn http(&self) -> &reqwest::blocking::Client {
        self.http.http()
    }

    /// Whether this process holds the client secret (a server must).
    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// The discovery document, fetched on first use and daily after.
    pub fn metadata(&self) -> Result<Arc<Metadata>, Error> {
        if let Some((m, at)) = &*self.metadata.read()
            && at.elapsed() < METADATA_TTL
        {
            return Ok(m.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let m: Metadata = serde_json::from_slice(&self.get(&url)?)
            .map_err(|_| Error::Unavailable("the discovery document is not valid".into()))?;
        // OpenID Connect Discovery 4.3: exactly the issuer configured.
        if m.issuer != self.config.issuer {
            return Err(Error::Unavailable(format!(
                "the discovery document names issuer {} instead of {}",
                m.issuer, self.config.issuer
            )));
        }
        for u in [&m.authorization_endpoint, &m.token_endpoint, &m.jwks_uri] {
            secure_url(u).map_err(|e| Error::Unavailable(format!("endpoint {u} {e}")))?;
        }
        let m = Arc::new(m);
        *self.metadata.write() = Some((m.clone(), Instant::now()));
        Ok(m)
    }

    /// A new sign-in: its state, nonce and PKCE verifier, and the URL of
    /// the provider's authorisation endpoint carrying them.
    pub fn begin(&self, fresh: &Fresh) -> Result<Begun, Error> {
        let m = self.metadata()?;
        let (state, nonce, verifier) = (random()?, random()?, random()?);
        let mut url = url::Url::parse(&m.authorization_endpoint)
            .map_err(|_| Error::Unavailable("authorization_endpoint is not a URL".into()))?;
        let max_age = fresh.reauthenticate.then_some(0);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.config.client_id)
                .append_pair("redirect_uri", &self.config.redirect_uri)
                .append_pair("scope", &self.config.scopes.join(" "))
                .append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", &challenge(&verifier))
                .append_pair("code_challenge_method", "S256");
            if fresh.reauthenticate {
                q.append_pair("prompt", "login").append_pair("max_age", "0");
            }
            if !fresh.acr_values.is_empty() {
                q.append_pair("acr_values", &fresh.acr_values.join(" "));
            }
            if let Some(c) = &fresh.claims {
                q.append_pair("claims", &c.to_string());
            }
        }
        Ok(Begun {
            url: url.into(),
            state,
            nonce,
            verifier,
            max_age,
        })
    }

    /// The authorisation response's `iss` (RFC 9207): when the provider
    /// sends it, it must be this provider's issuer; when the provider says
    /// it always sends it, it must be there.
    pub fn check_response_issuer(&self, iss: Option<&str>) -> Result<(), Error> {
        let m = self.metadata()?;
        match iss {
            Some(i) if i != m.issuer => Err(Refusal::ResponseIssuer.into()),
            None if m.authorization_response_iss_parameter_supported => {
                Err(Refusal::ResponseIssuer.into())
            }
            _ => Ok(()),
        }
    }

    /// Exchanges the code for tokens and validates the ID token against
    /// this sign-in's nonce (and `max_age`).
    pub fn finish(
        &self,
        code: &str,
        verifier: &str,
        nonce: &str,
        max_age: Option<i64>,
        now: i64,
    ) -> Result<Verified, Error> {
        let m = self.metadata()?;
        let id_token = self.exchange(&m, code, verifier)?;
        self.verify(&id_token, nonce, max_age, now)
    }

    /// Verifies an ID token: its signature under the provider's keys, then
    /// its claims against this sign-in's nonce (and `max_age`). `finish`
    /// does this after the exchange; tests give it tokens made otherwise.
    pub fn verify(
        &self,
        id_token: &str,
        nonce: &str,
        max_age: Option<i64>,
        now: i64,
    ) -> Result<Verified, Error> {
        let payload = self.verify_signature(id_token)?;
        let want = Expected {
            issuer: &self.config.issuer,
            client_id: &self.config.client_id,
            nonce,
            now,
            max_age,
        };
        Ok(id_token::validate(
            &payload,
            &want,
            self.config.subject,
            &self.config.groups_claim,
        )?)
    }

    fn exchange(&self, m: &Metadata, code: &str, verifier: &str) -> Result<String, Error> {
        let Some(secret) = &self.secret else {
            return Err(Error::Config(format!(
                "provider {}: this process has no client secret",
                self.config.name
            )));
        };
        if code.is_empty() || code.len() > 2048 {
            return Err(Error::Provider("invalid_grant".into()));
        }
        let form = Zeroizing::new(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "authorization_code")
                .append_pair("code", code)
                .append_pair("redirect_uri", &self.config.redirect_uri)
                .append_pair("code_verifier", verifier)
                .finish(),
        );
        // client_secret_basic: both parts form-encoded first (RFC 6749 2.3.1).
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let resp = self
            .http()
            .post(&m.token_endpoint)
            .basic_auth(enc(&self.config.client_id), Some(enc(secret)))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(form.as_bytes().to_vec())
            .send()
            .map_err(|e| Error::Unavailable(format!("token endpoint: {}", e.without_url())))?;
        let status = resp.status();
        let body = self.http.read(resp).map_err(Error::Unavailable)?;
        #[derive(Deserialize)]
        struct TokenResponse {
            #[serde(default)]
            id_token: Option<String>,
            #[serde(default)]
            error: Option<String>,
        }
        let t: TokenResponse = serde_json::from_slice(&body)
            .map_err(|_| Error::Unavailable(format!("token endpoint answered {status}")))?;
        if let Some(e) = t.error {
            return Err(Error::Provider(oauth_error(&e)));
        }
        if !status.is_success() {
            return Err(Error::Unavailable(format!(
                "token endpoint answered {status}"
            )));
        }
        t.id_token.ok_or(Error::Refused(Refusal::Malformed))
    }

    /// The payload of an ID token whose signature verifies under a key of
    /// the provider's JWK Set (fetched again once if the key is unknown).
    fn verify_signature(&self, token: &str) -> Result<Vec<u8>, Error> {
        let unverified = jose::split(token, &self.config.algorithms)?;
        let keys = self.keys(false)?;
        if let Some(k) = unverified.key_in(&keys) {
            return Ok(unverified.verify(k)?);
        }
        let keys = self.keys(true)?;
        let k = unverified.key_in(&keys).ok_or(Refusal::UnknownKey)?;
        Ok(unverified.verify(k)?)
    }

    /// The JWK Set; `unknown_kid` asks for a fresh copy, given at most once
    /// per `jwks_refresh_min_s` (a flood of made-up key ids must not turn
    /// into a flood of requests to the provider).
    fn keys(&self, unknown_kid: bool) -> Result<Arc<Vec<Key>>, Error> {
        let mut j = self.jwks.lock();
        let min = Duration::from_secs(self.config.jwks_refresh_min_s);
        let stale = match j.fetched {
            None => true,
            Some(at) if unknown_kid => at.elapsed() >= min,
            Some(at) => at.elapsed() >= JWKS_TTL,
        };
        if stale {
            let m = self.metadata()?;
            let body = self.get(&m.jwks_uri)?;
            let keys = jose::parse_jwks(&body).map_err(Error::Unavailable)?;
            tracing::info!(provider = %self.config.name, keys = keys.len(), "fetched the JWK Set");
            j.keys = Arc::new(keys);
            j.fetched = Some(Instant::now());
        }
        Ok(j.keys.clone())
    }

    fn get(&self, url: &str) -> Result<Vec<u8>, Error> {
        let resp = self
            .http()
            .get(url)
            .header("accept", "application/json")
            .send()
            .map_err(|e| Error::Unavailable(format!("{url}: {}", e.without_url())))?;
        if !resp.status().is_success() {
            return Err(Error::Unavailable(format!(
                "{url} answered {}",
                resp.status()
            )));
        }
        self.http.read(resp).map_err(Error::Unavailable)
    }
}

/// An OAuth error code as recorded: its registered form, or "other" (the
/// provider's text is not repeated).
fn oauth_error(e: &str) -> String {
    const KNOWN: [&str; 7] = [
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "access_denied",
    ];
    KNOWN
        .iter()
        .find(|k| **k == e)
        .map_or("other", |k| k)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_the_rfc_example() {
        // RFC 7636 Appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn oauth_errors_are_recorded_by_their_registered_code_only() {
        assert_eq!(oauth_error("invalid_grant"), "invalid_grant");
        assert_eq!(oauth_error("090-1234-5678"), "other");
    }
}
