//! The caller: a bearer token resolved to a person, their role, where the
//! request came from and what the gate knows about them. Unknown, revoked
//! and suspended tokens are refused here and recorded in the system log,
//! before any other work.

use std::sync::Arc;

use mamori_audit::{Decision as AuditDecision, Event};
use mamori_core::Role;
use mamori_crypto::token;
use mamori_policy::Principal;

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
}

impl Caller {
    pub fn actor(&self) -> String {
        format!("user:{}", self.principal.login)
    }
}

impl Vault {
    /// Resolves a bearer token to a caller. Unknown or revoked tokens are
    /// refused and recorded in the system log.
    pub fn authenticate(&self, bearer: Option<&str>, client: Option<String>) -> Result<Caller> {
        let user = match bearer {
            Some(t) if t.starts_with(token::PREFIX) && t.len() < 200 => {
                self.store.user_by_token(&token::hash(t))?
            }
            _ => None,
        };
        let Some(user) = user else {
            let mut e = Event::new(
                "anonymous",
                "auth.token",
                AuditDecision::Deny,
                "token_invalid_or_revoked",
            );
            e.client = client;
            self.audit.append(e)?;
            return Err(VaultError::Unauthenticated);
        };
        let (user, rev) = user;
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
        Ok(Caller {
            principal: facts.principal(status),
            role,
            client,
            facts,
            rev,
        })
    }

    /// An allowed event by `caller`: actor, role and client filled in.
    pub(crate) fn caller_event(&self, caller: &Caller, action: &str, reason: &str) -> Event {
        let mut e = Event::new(caller.actor(), action, AuditDecision::Allow, reason);
        e.actor_role = Some(caller.role.as_str().to_owned());
        e.client = caller.client.clone();
        e
    }
}
