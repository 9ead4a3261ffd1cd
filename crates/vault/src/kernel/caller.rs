//! The caller: a credential (an API token, or a console session) resolved
//! to a person, their role, where the request came from, how they signed
//! in and what the gate knows about them. Unknown, revoked, expired and
//! suspended credentials are refused here and recorded in the system log,
//! before any other work. A credential scoped to some tenants narrows the
//! person's assignments to those, and the tenant door refuses the others.

use std::sync::Arc;

use mamori_audit::{Decision as AuditDecision, Event};
use mamori_core::Role;
use mamori_crypto::token;
use mamori_policy::Principal;
use mamori_store::{Credential, CredentialKind};
use serde::{Deserialize, Serialize};

use crate::{
    Vault,
    error::{Result, VaultError},
    kernel::people::PersonFacts,
};

/// An authenticated person and where the request came from.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Standing assignments and people-gate verdicts, without grants.
    pub principal: Principal,
    pub role: Role,
    pub client: Option<String>,
    /// What the gate knows about this person (grants included).
    pub facts: Arc<PersonFacts>,
    /// The governance revision read with the token: a tenant's state checked
    /// at this revision is used without reading the tenant row again.
    pub rev: u64,
    /// The tenants the credential may act on; None: any the person may.
    pub scope: Option<Arc<[String]>>,
    /// How a session's person signed in; None for an API token.
    pub signed_in: Option<Arc<SignedInWith>>,
    /// When the credential stops working; None: until revoked.
    pub expires_at: Option<i64>,
}

/// How the person behind a session signed in, kept with the session and
/// recorded with the acts that need a recent, strong sign-in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInWith {
    /// `token` (an API token typed into the console) or `oidc`.
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acrs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

impl SignedInWith {
    /// `e` with how its actor signed in (method, provider, acr, amr,
    /// auth_time): for the sign-in's own event and the acts that need it.
    pub(crate) fn recorded_in(&self, e: Event) -> Event {
        let mut e = e.detail("sign_in", self.method.as_str());
        if let Some(p) = &self.provider {
            e = e.detail("provider", p.as_str());
        }
        if let Some(acr) = &self.acr {
            e = e.detail("acr", acr.as_str());
        }
        if !self.amr.is_empty() {
            e = e.detail("amr", self.amr.clone());
        }
        if let Some(t) = self.auth_time {
            e = e.detail("auth_time", t);
        }
        e
    }
}

impl Caller {
    pub fn actor(&self) -> String {
        format!("user:{}", self.principal.login)
    }

    /// Whether the credential's scope lets it act on `tenant`.
    pub fn in_scope(&self, tenant: &str) -> bool {
        self.scope
            .as_ref()
            .is_none_or(|s| s.iter().any(|t| t == tenant))
    }
}

/// The hash a presented credential is looked up by, when it has the shape
/// of one of mamori's (its prefix, a sane length); anything else is never
/// looked up.
pub(crate) fn presented_hash(presented: Option<&str>) -> Option<[u8; 32]> {
    presented
        .filter(|t| t.starts_with(token::PREFIX) && t.len() < 200)
        .map(token::hash)
}

impl Vault {
    /// Resolves an API bearer token to a caller. Unknown, revoked and
    /// expired tokens — and console sessions, which open only through the
    /// console's cookie — are refused and recorded in the system log.
    pub fn authenticate(&self, bearer: Option<&str>, client: Option<String>) -> Result<Caller> {
        self.authenticate_as(bearer, CredentialKind::Api, client)
    }

    /// Resolves a console session's secret to a caller.
    pub fn authenticate_session(&self, secret: &str, client: Option<String>) -> Result<Caller> {
        self.authenticate_as(Some(secret), CredentialKind::Session, client)
    }

    pub(crate) fn authenticate_as(
        &self,
        presented: Option<&str>,
        kind: CredentialKind,
        client: Option<String>,
    ) -> Result<Caller> {
        let found = match presented_hash(presented) {
            Some(hash) => self.store.user_by_token(&hash)?,
            None => None,
        };
        let now = self.now();
        let live = found.filter(|(_, c, _)| c.kind == kind);
        let (user, credential, rev) = match live {
            Some((_, c, _)) if c.expires_at.is_some_and(|t| t <= now) => {
                return Err(self.unauthenticated("auth.token", client, "token_expired")?);
            }
            Some(found) => found,
            None => {
                return Err(self.unauthenticated(
                    "auth.token",
                    client,
                    "token_invalid_or_revoked",
                )?);
            }
        };
        // Suspended pending review, or gone: past the leaving date (HR's, or
        // the one a review's revocation of a role sets).
        let refused = if user.suspended_at.is_some() {
            Some((
                "user_suspended",
                "your access is suspended pending a review by the security office",
            ))
        } else if user.leaves_at.is_some_and(|t| t <= self.now()) {
            Some(("user_left", "your account ended on its leaving date"))
        } else {
            None
        };
        if let Some((code, reason)) = refused {
            let mut e = Event::new(
                format!("user:{}", user.login),
                "auth.token",
                AuditDecision::Deny,
                code,
            );
            e.actor_role = Some(user.role.clone());
            e.client = client;
            self.audit.append(e)?;
            return Err(VaultError::Forbidden {
                reason: reason.into(),
            });
        }
        let role: Role = user
            .role
            .parse()
            .map_err(|e| VaultError::Internal(format!("{e}")))?;
        let facts = self.people.get(self, user)?;
        let status = facts.status(self.now(), &self.rules.people, &self.rules.limits);
        let mut principal = facts.principal(status);
        let Credential {
            tenants,
            auth,
            expires_at,
            ..
        } = credential;
        if let Some(scope) = &tenants {
            principal.assignments.retain(|(t, _)| scope.contains(t));
        }
        let signed_in = auth
            .map(|a| serde_json::from_str::<SignedInWith>(&a))
            .transpose()
            .map_err(|_| VaultError::Internal("a session's sign-in record is corrupt".into()))?;
        Ok(Caller {
            principal,
            role,
            client,
            facts,
            rev,
            scope: tenants.map(Into::into),
            signed_in: signed_in.map(Arc::new),
            expires_at,
        })
    }

    /// Records a refused credential under `action` (nothing of it) and
    /// gives the refusal.
    pub(crate) fn unauthenticated(
        &self,
        action: &str,
        client: Option<String>,
        code: &str,
    ) -> Result<VaultError> {
        let mut e = Event::new("anonymous", action, AuditDecision::Deny, code);
        e.client = client;
        self.audit.append(e)?;
        Ok(VaultError::Unauthenticated)
    }

    /// An allowed event by `caller`: actor, role and client filled in.
    pub(crate) fn caller_event(&self, caller: &Caller, action: &str, reason: &str) -> Event {
        let mut e = Event::new(caller.actor(), action, AuditDecision::Allow, reason);
        e.actor_role = Some(caller.role.as_str().to_owned());
        e.client = caller.client.clone();
        e
    }
}
