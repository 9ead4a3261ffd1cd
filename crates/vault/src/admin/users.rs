//! People and their access: creating users, their API tokens (shown
//! once, stored hashed), revocation, and assignments to tenants and
//! segments (a whole-tenant one is a full-access nomination).

use crate::ErrorCode;
use mamori_core::ids::valid_login;
use mamori_core::{Role, Schema};
use mamori_crypto::token;
use mamori_store::{Assignment, Credential, CredentialKind, Deprovisioned, HistoryRow, UserRow};
use zeroize::Zeroizing;

use crate::{
    Vault,
    error::{Result, VaultError},
    full_access::Assigned,
};

/// The terms of an API token.
#[derive(Clone, Debug, Default)]
pub struct TokenTerms {
    /// No use after this time; None: until revoked.
    pub expires_at: Option<i64>,
    /// The tenants it may act on; None: whatever the person may.
    pub tenants: Option<Vec<String>>,
}

/// A person to create.
#[derive(Clone, Copy, Debug)]
pub struct NewUser<'a> {
    pub login: &'a str,
    pub role: Role,
    pub department: Option<&'a str>,
    /// The registered vendor a contractor works for.
    pub vendor: Option<&'a str>,
    /// Who approves their requests.
    pub manager: Option<&'a str>,
}

impl Vault {
    /// Creates a user and returns their first API token (shown once).
    pub fn create_user(&self, actor: &str, new: &NewUser<'_>) -> Result<Zeroizing<String>> {
        let NewUser {
            login,
            role,
            department,
            vendor,
            manager,
        } = *new;
        if !valid_login(login) {
            return Err(VaultError::bad(
                ErrorCode::LoginInvalid,
                "login must be 2-64 lower-case letters, digits, '.', '_' or '-'",
            ));
        }
        if self.store.user(login)?.is_some() {
            return Err(VaultError::Conflict(format!(
                "user '{login}' already exists"
            )));
        }
        if let Some(v) = vendor
            && self.store.vendor(v)?.is_none()
        {
            return Err(VaultError::bad(
                ErrorCode::VendorUnknown,
                format!(
                    "vendor '{v}' is not registered; the security office registers it with `mamori vendor put`"
                ),
            ));
        }
        if role == Role::VendorUser && vendor.is_none() {
            return Err(VaultError::bad(
                ErrorCode::VendorMissing,
                "a vendor_user account must name the vendor it works for (--vendor)",
            ));
        }
        if let Some(m) = manager
            && self.store.user(m)?.is_none()
        {
            return Err(VaultError::bad(
                ErrorCode::ManagerUnknown,
                format!("manager '{m}' does not exist; create them first"),
            ));
        }
        let now = self.now();
        let mut e = self
            .admin_event(actor, "user.create", None)
            .detail("login", login)
            .detail("role", role.as_str());
        e.detail.insert("department".into(), department.into());
        e.detail.insert("vendor".into(), vendor.into());
        e.detail.insert("manager".into(), manager.into());
        self.audit.append(e)?;
        self.store.create_user(&UserRow {
            login: login.to_owned(),
            role: role.as_str().to_owned(),
            department: department.map(str::to_owned),
            vendor: vendor.map(str::to_owned),
            manager: manager.map(str::to_owned),
            created_at: now,
            leaves_at: None,
            suspended_at: None,
            facts_rev: 0,
        })?;
        self.issue_token(actor, login)
    }

    /// Issues an additional token for an existing user, valid until revoked
    /// and for whatever the person may do.
    pub fn issue_token(&self, actor: &str, login: &str) -> Result<Zeroizing<String>> {
        self.issue_token_with(actor, login, &TokenTerms::default())
    }

    /// Issues a token on `terms`: an expiry, and the tenants it may act on.
    pub fn issue_token_with(
        &self,
        actor: &str,
        login: &str,
        terms: &TokenTerms,
    ) -> Result<Zeroizing<String>> {
        self.store
            .user(login)?
            .ok_or(VaultError::NotFound { what: "user" })?;
        let now = self.now();
        if terms.expires_at.is_some_and(|t| t <= now) {
            return Err(VaultError::bad(
                ErrorCode::FieldInvalid,
                "a token's expiry must be in the future",
            ));
        }
        if let Some(tenants) = &terms.tenants {
            if tenants.is_empty() {
                return Err(VaultError::bad(
                    ErrorCode::FieldInvalid,
                    "a token scoped to tenants must name at least one",
                ));
            }
            for t in tenants {
                self.store
                    .tenant(t)?
                    .ok_or(VaultError::NotFound { what: "tenant" })?;
            }
        }
        let (token, hash) = token::generate().map_err(|e| VaultError::Internal(e.to_string()))?;
        let mut e = self
            .admin_event(actor, "token.issue", None)
            .detail("login", login);
        if let Some(t) = terms.expires_at {
            e = e.detail("expires_at", t);
        }
        if let Some(t) = &terms.tenants {
            e = e.detail("tenants", t.clone());
        }
        self.audit.append(e)?;
        self.store.add_credential(
            login,
            &hash,
            &Credential {
                kind: CredentialKind::Api,
                expires_at: terms.expires_at,
                tenants: terms.tenants.clone(),
                auth: None,
            },
            now,
        )?;
        Ok(token)
    }

    pub fn revoke_tokens(&self, actor: &str, login: &str) -> Result<usize> {
        self.store
            .user(login)?
            .ok_or(VaultError::NotFound { what: "user" })?;
        self.audit.append(
            self.admin_event(actor, "token.revoke", None)
                .detail("login", login),
        )?;
        Ok(self.store.revoke_tokens(login, self.now())?)
    }

    /// Offboards a person at once (a leaver, a contract ended; SCIM's
    /// `active=false`): in one store transaction they are suspended — the
    /// row stays, a tombstone the audit log's events still name — every
    /// credential of theirs (API tokens, console sessions) is revoked, and
    /// their pending requests and live grants, exports not yet downloaded
    /// and standing full access are revoked with a history step, and their
    /// approvals of others' exports still collecting approvals withdrawn
    /// (a leaver's half of a four-eyes decision no longer counts). Recorded
    /// first (`user.deprovision`), then what was revoked
    /// (`user.deprovisioned`, with the ids). Once this returns no request
    /// of theirs succeeds: every credential is refused.
    pub fn deprovision(&self, actor: &str, login: &str, origin: &str) -> Result<Deprovisioned> {
        self.store
            .user(login)?
            .ok_or(VaultError::NotFound { what: "user" })?;
        self.audit.append(
            self.admin_event(actor, "user.deprovision", None)
                .detail("login", login)
                .detail("origin", origin),
        )?;
        let now = self.now();
        let step = HistoryRow {
            at: now,
            actor: actor.to_owned(),
            action: "revoked".into(),
            comment: None,
        };
        let done = self.store.deprovision(login, now, &step)?;
        let mut e = self
            .admin_event(actor, "user.deprovisioned", None)
            .detail("login", login);
        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(&done) {
            for (k, v) in fields {
                e = e.detail(&k, v);
            }
        }
        self.audit.append(e)?;
        Ok(done)
    }

    /// Assigns a person to a segment of a tenant, or nominates them for
    /// standing full access to all of it (which the security office decides:
    /// see `full_access`).
    pub fn assign(
        &self,
        actor: &str,
        login: &str,
        tenant: &str,
        segment: Option<&str>,
    ) -> Result<Assigned> {
        self.store
            .user(login)?
            .ok_or(VaultError::NotFound { what: "user" })?;
        let row = self
            .store
            .tenant(tenant)?
            .ok_or(VaultError::NotFound { what: "tenant" })?;
        let Some(seg) = segment else {
            return Ok(Assigned::FullAccess(Box::new(
                self.nominate_full_access(actor, login, &row)?,
            )));
        };
        let schema = Schema::parse(&row.schema).map_err(|e| VaultError::Internal(e.to_string()))?;
        if schema.segment(seg).is_none() {
            let known: Vec<&str> = schema.segments.iter().map(|s| s.id.as_str()).collect();
            return Err(VaultError::bad(
                ErrorCode::SegmentUnknown,
                format!(
                    "unknown segment '{seg}'; tenant '{tenant}' has: {}",
                    known.join(", ")
                ),
            ));
        }
        self.audit.append(
            self.admin_event(actor, "user.assign", Some(tenant))
                .detail("login", login)
                .detail("segment", seg),
        )?;
        self.store.assign(&Assignment {
            login: login.to_owned(),
            tenant: tenant.to_owned(),
            segment: Some(seg.to_owned()),
        })?;
        Ok(Assigned::Segment)
    }

    /// Removes a person's assignment to one segment (recorded first: the
    /// reconciliation's standing coverage ends at the `user.unassign` event).
    pub fn unassign(&self, actor: &str, login: &str, tenant: &str, segment: &str) -> Result<()> {
        let a = Assignment {
            login: login.to_owned(),
            tenant: tenant.to_owned(),
            segment: Some(segment.to_owned()),
        };
        if !self.store.assignments(login)?.contains(&a) {
            return Err(VaultError::NotFound { what: "assignment" });
        }
        self.audit.append(
            self.admin_event(actor, "user.unassign", Some(tenant))
                .detail("login", login)
                .detail("segment", segment),
        )?;
        self.store.unassign(&a)?;
        Ok(())
    }

    pub fn users(&self) -> Result<Vec<(UserRow, Vec<Assignment>)>> {
        self.store
            .users()?
            .into_iter()
            .map(|u| {
                let a = self.store.assignments(&u.login)?;
                Ok((u, a))
            })
            .collect()
    }
}
