//! Reading the audit log: pages of events for those the policy lets read
//! them (auditors and the security office everything; a supervisor their
//! team and tenants).

use mamori_audit::SealedEvent;
use mamori_policy::AuditScope;
use mamori_store::AuditQuery;
use serde::Serialize;

use crate::{
    Caller, Vault,
    error::{Result, VaultError},
};

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub events: Vec<SealedEvent>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next: Option<i64>,
}

impl Vault {
    /// Audit events for those the policy lets read them. The read is audited too.
    /// What part of the log a read names, as the gate judges it: only one
    /// tenant the caller is assigned to, or only one person they manage.
    pub(crate) fn audit_scope(
        &self,
        caller: &Caller,
        tenant: Option<&str>,
        actor: Option<&str>,
    ) -> Result<AuditScope> {
        let tenant_assigned =
            tenant.is_some_and(|t| caller.facts.assignments.iter().any(|a| a.tenant == t));
        let actor_managed = match actor.and_then(|a| a.strip_prefix("user:")) {
            Some(login) => self.relation(&caller.principal.login, login)?.0,
            None => false,
        };
        Ok(AuditScope {
            tenant_assigned,
            actor_managed,
        })
    }

    /// A page of audit events. Who may read what is the policies' word:
    /// by default the security office and auditors read everything, a
    /// supervisor only a tenant they are assigned to or the people they manage.
    pub fn audit_events(&self, caller: &Caller, mut q: AuditQuery) -> Result<AuditPage> {
        let scope = self.audit_scope(caller, q.tenant.as_deref(), q.actor.as_deref())?;
        let decision = self.gate.decide_audit_read(&caller.principal, &scope);
        let e = self.gated(
            self.caller_event(caller, "audit.read", "allowed"),
            &decision,
            &decision.reason(),
        )?;
        q.limit = q.limit.clamp(1, 1000);
        let rows = self.audit.store().query(&q).map_err(VaultError::from)?;
        self.audit.append(e.detail("returned", rows.len()))?;
        let next = (rows.len() == q.limit)
            .then(|| rows.last().map(|r| r.rowid))
            .flatten();
        let events = rows
            .iter()
            .map(|r| {
                serde_json::from_slice(&r.body)
                    .map_err(|_| VaultError::Internal("stored audit event does not parse".into()))
            })
            .collect::<Result<Vec<SealedEvent>>>()?;
        Ok(AuditPage { events, next })
    }
}
