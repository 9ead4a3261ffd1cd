//! Signing in through an OpenID Connect provider.
//!
//! `begin_sign_in` makes the provider's authorisation URL (state, nonce and
//! PKCE from `mamori_identity`) and keeps the sign-in server-side: under
//! the hash of its state, its nonce, verifier and the hash of a browser
//! binding sealed (the deployment's sign-in key), for ten minutes, to be
//! taken once. The binding is a random value the console puts in a cookie
//! of the browser that began, so a callback carried to another browser
//! (login CSRF, a phished callback URL) does not sign that browser in.
//!
//! `finish_sign_in` takes the sign-in back by its state, checks the binding,
//! exchanges the code and validates the ID token, then decides who this is
//! to mamori: the person linked to the token's subject at this issuer —
//! never matched by name or mail — still in post, and, when the provider
//! maps groups to roles, in a group mapped to their role. Every outcome is
//! recorded, each refusal with its code.

use std::sync::Arc;

use mamori_audit::{Decision as AuditDecision, Event};
use mamori_identity::{Fresh, Provider, Verified};
use mamori_store::SignInRow;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::OpenedSession;
use crate::{
    Vault,
    error::{Result, VaultError},
    kernel::caller::SignedInWith,
};

/// A sign-in not answered within this long is forgotten.
const PENDING_S: i64 = 600;
/// At most this many sign-ins under way (begun within `PENDING_S`, not yet
/// answered): far above what a workforce signing in needs, bounding what
/// a flood of unfinished ones can store.
const MOST_PENDING: u64 = 10_000;

/// A configured provider, as the sign-in page lists it.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderInfo {
    pub name: String,
    pub label: String,
}

/// Where to send the browser, and the binding its cookie must carry back.
pub struct SignInStart {
    pub url: String,
    pub binding: Zeroizing<String>,
}

/// What the provider sent back to the callback.
#[derive(Default)]
pub struct Callback<'a> {
    pub state: Option<&'a str>,
    pub code: Option<&'a str>,
    /// RFC 9207's `iss`.
    pub iss: Option<&'a str>,
    /// The provider's `error` (e.g. `access_denied`).
    pub error: Option<&'a str>,
}

/// What is kept sealed while the provider has the browser.
#[derive(Serialize, Deserialize)]
struct Pending {
    nonce: String,
    verifier: String,
    max_age: Option<i64>,
    /// SHA-256 of the browser binding, hex.
    binding: String,
    /// The console page to return to (checked: a path under /console/).
    #[serde(default)]
    back: Option<String>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.nonce.zeroize();
        self.verifier.zeroize();
    }
}

fn sha256(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

impl Vault {
    /// The identity providers people may sign in through.
    pub fn identity_providers(&self) -> Vec<ProviderInfo> {
        self.identity
            .iter()
            .map(|p| ProviderInfo {
                name: p.config.name.clone(),
                label: if p.config.label.is_empty() {
                    p.config.name.clone()
                } else {
                    p.config.label.clone()
                },
            })
            .collect()
    }

    fn provider(&self, name: &str) -> Option<&Arc<Provider>> {
        self.identity.iter().find(|p| p.config.name == name)
    }

    /// Begins a sign-in through `provider`.
    pub fn begin_sign_in(&self, provider: &str, fresh: &Fresh) -> Result<SignInStart> {
        self.begin_sign_in_to(provider, fresh, None)
    }

    /// Begins a sign-in that returns to the console page `back`.
    pub(crate) fn begin_sign_in_to(
        &self,
        provider: &str,
        fresh: &Fresh,
        back: Option<&str>,
    ) -> Result<SignInStart> {
        if back.is_some_and(|b| !console_path(b)) {
            return Err(VaultError::bad(
                crate::ErrorCode::FieldInvalid,
                "the page to return to must be a console path",
            ));
        }
        let p = self
            .provider(provider)
            .ok_or(VaultError::NotFound {
                what: "identity provider",
            })?
            .clone();
        let begun = p.begin(fresh).map_err(|e| {
            tracing::warn!(provider = %p.config.name, error = %e, "cannot begin a sign-in");
            VaultError::SignIn { code: e.code() }
        })?;
        let binding = mamori_identity::provider::random().map_err(|_| VaultError::SignIn {
            code: "provider_unavailable",
        })?;
        let pending = Pending {
            nonce: begun.nonce.to_string(),
            verifier: begun.verifier.to_string(),
            max_age: begun.max_age,
            binding: hex(&sha256(&binding)),
            back: back.map(str::to_owned),
        };
        let plain = Zeroizing::new(
            serde_json::to_vec(&pending).map_err(|e| VaultError::Internal(e.to_string()))?,
        );
        let now = self.now();
        let kept = self.store.put_sign_in(
            &sha256(&begun.state),
            &SignInRow {
                provider: p.config.name.clone(),
                sealed: self.deployment.sign_in().seal(&plain),
                created_at: now,
            },
            now - PENDING_S,
            MOST_PENDING,
        )?;
        if !kept {
            // Someone begins sign-ins and never finishes them: each is a
            // row for ten minutes, so their number is bounded.
            tracing::warn!("too many sign-ins under way; refusing new ones for now");
            return Err(VaultError::Limited {
                code: crate::ErrorCode::RateLimited,
                message: "too many sign-ins are under way; try again in a minute".into(),
                retry_after_s: 60,
            });
        }
        Ok(SignInStart {
            url: begun.url,
            binding,
        })
    }

    /// Finishes a sign-in from the provider's callback and the browser's
    /// binding cookie; opens a session for the person it proves.
    pub fn finish_sign_in(
        &self,
        cb: &Callback<'_>,
        binding: Option<&str>,
        client: Option<String>,
    ) -> Result<OpenedSession> {
        let refuse = |provider: Option<&str>, code: &'static str| -> Result<VaultError> {
            let mut e = Event::new("anonymous", "auth.oidc", AuditDecision::Deny, code);
            e.client = client.clone();
            if let Some(p) = provider {
                e = e.detail("provider", p);
            }
            self.audit.append(e)?;
            Ok(VaultError::SignIn { code })
        };
        let state = cb.state.filter(|s| !s.is_empty() && s.len() <= 256);
        let Some(row) = state
            .map(|s| self.store.take_sign_in(&sha256(s)))
            .transpose()?
        else {
            return Err(refuse(None, "state_missing")?);
        };
        let Some(row) = row else {
            return Err(refuse(None, "state_unknown")?);
        };
        let name = row.provider.as_str();
        if self.now() - row.created_at > PENDING_S {
            return Err(refuse(Some(name), "state_expired")?);
        }
        let Some(p) = self.provider(name).cloned() else {
            return Err(refuse(Some(name), "provider_unknown")?);
        };
        let pending: Pending = self
            .deployment
            .sign_in()
            .open(&row.sealed)
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .ok_or_else(|| VaultError::Internal("a pending sign-in does not open".into()))?;
        let bound = binding.is_some_and(|b| {
            bool::from(hex(&sha256(b)).as_bytes().ct_eq(pending.binding.as_bytes()))
        });
        if !bound {
            return Err(refuse(Some(name), "browser_mismatch")?);
        }
        if cb.error.is_some() {
            return Err(refuse(Some(name), "provider_error")?);
        }
        if let Err(e) = p.check_response_issuer(cb.iss) {
            return Err(refuse(Some(name), e.code())?);
        }
        let Some(code) = cb.code else {
            return Err(refuse(Some(name), "code_missing")?);
        };
        let verified = match p.finish(
            code,
            &pending.verifier,
            &pending.nonce,
            pending.max_age,
            self.now(),
        ) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(provider = name, error = %e, "sign-in refused");
                return Err(refuse(Some(name), e.code())?);
            }
        };
        let mut opened = self.admit(&p, &verified, client)?;
        opened.back = pending.back.clone();
        Ok(opened)
    }

    /// Decides who a verified subject is to mamori and opens their session.
    fn admit(&self, p: &Provider, v: &Verified, client: Option<String>) -> Result<OpenedSession> {
        let name = p.config.name.as_str();
        let deny = |actor: String, code: &'static str| -> Result<VaultError> {
            let mut e = Event::new(actor, "auth.oidc", AuditDecision::Deny, code)
                .detail("provider", name)
                .detail("subject", v.subject.as_str());
            e.client = client.clone();
            self.audit.append(e)?;
            Ok(VaultError::SignIn { code })
        };
        let Some(login) = self.store.identity(&p.config.issuer, &v.subject)? else {
            return Err(deny("anonymous".into(), "not_provisioned")?);
        };
        let actor = format!("user:{login}");
        let Some(user) = self.store.user(&login)? else {
            return Err(deny(actor, "not_provisioned")?);
        };
        if user.suspended_at.is_some() {
            return Err(deny(actor, "user_suspended")?);
        }
        if user.leaves_at.is_some_and(|t| t <= self.now()) {
            return Err(deny(actor, "user_left")?);
        }
        if !p.config.roles.is_empty() {
            let granted = v
                .groups
                .iter()
                .filter_map(|g| p.config.roles.get(g))
                .any(|r| *r == user.role);
            if !granted {
                return Err(deny(actor, "role_not_granted")?);
            }
        }
        let role: mamori_core::Role = user
            .role
            .parse()
            .map_err(|e| VaultError::Internal(format!("{e}")))?;
        let with = SignedInWith {
            method: "oidc".into(),
            provider: Some(name.to_owned()),
            acr: v.acr.clone(),
            amr: v.amr.clone(),
            acrs: v.acrs.clone(),
            auth_time: v.auth_time,
        };
        let tenants = (!p.config.tenants.is_empty()).then(|| p.config.tenants.clone());
        self.open_session(&login, &role, tenants, None, with, client)
    }
}

/// A path of the console's own (no scheme, no host, no way out of it).
fn console_path(p: &str) -> bool {
    p.starts_with("/console/")
        && p.len() <= 200
        && !p.contains("//")
        && !p.contains('\\')
        && !p.contains("..")
        && p.chars().all(|c| c.is_ascii_graphic())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
