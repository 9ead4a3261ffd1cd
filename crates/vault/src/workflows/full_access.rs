//! Standing full access to a tenant (A5; seed 002: "3 名を予定", approved by
//! the CISO). A whole-tenant assignment is never made directly: the
//! administrator nominates a person, and only the security office's approval
//! — by policy, never the nominee's own, never a report's — makes them a
//! holder, within the tenant's cap. The security office (or the holder) ends
//! it. Every step is audited and kept in the nomination's history.

use crate::ErrorCode;
use mamori_audit::Event;
use mamori_core::NominationId;
use mamori_core::jst;
use mamori_policy::Action;
pub use mamori_store::RequestState;
use mamori_store::{FullAccessOutcome, FullAccessRow, HistoryRow, TenantRow};
use serde::Serialize;

use crate::{
    Caller, Vault,
    error::{Result, VaultError},
    kernel::history::HistoryStep,
    tenants::TenantState,
};

/// A nomination (or holding) as those who may see it read it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FullAccessView {
    pub id: String,
    pub tenant: String,
    pub login: String,
    /// pending (nominated) | approved (holds full access) | denied | revoked
    pub status: RequestState,
    pub nominated_by: String,
    pub nominated_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub revoked_by: Option<String>,
    pub revoked_at: Option<String>,
    pub history: Vec<HistoryStep>,
}

/// What an assignment did.
#[derive(Clone, Debug)]
pub enum Assigned {
    /// A segment assignment, in force at once.
    Segment,
    /// A whole-tenant assignment: a nomination the security office decides
    /// (or the existing one, when the person was already nominated or holds it).
    FullAccess(Box<FullAccessView>),
}

impl Vault {
    /// The most standing full-access holders the tenant may have.
    pub(crate) fn full_access_cap(&self, tenant: &TenantRow) -> u32 {
        tenant
            .full_access_cap
            .unwrap_or(self.rules.governance.full_access_cap)
    }

    fn cap_reached(&self, tenant: &TenantRow, holders: &[String]) -> (String, ErrorCode) {
        (
            format!(
                "tenant '{}' already has {} of {} standing full-access holders ({}); \
                 assign a segment instead, have a holder issue a time-limited grant, \
                 or ask the security office to change the cap",
                tenant.id,
                holders.len(),
                self.full_access_cap(tenant),
                holders.join(", ")
            ),
            ErrorCode::FullAccessCapReached,
        )
    }

    /// Nominates `login` for standing full access to `tenant` (the
    /// administrator's half; the security office decides). Idempotent: a
    /// live nomination or holding is returned as it is.
    pub(crate) fn nominate_full_access(
        &self,
        actor: &str,
        login: &str,
        tenant: &TenantRow,
    ) -> Result<FullAccessView> {
        let state = self.tenant(&tenant.id)?;
        let rows = self.store.full_access(&tenant.id)?;
        if let Some(row) = live(rows.iter(), login) {
            return self.full_access_view(&state, row.clone());
        }
        let holders: Vec<String> = rows
            .iter()
            .filter(|r| r.state == RequestState::Approved)
            .map(|r| r.login.clone())
            .collect();
        if holders.len() as u64 >= u64::from(self.full_access_cap(tenant)) {
            let (message, code) = self.cap_reached(tenant, &holders);
            return Err(VaultError::State { code, message });
        }
        let now = self.now();
        let row = FullAccessRow {
            id: NominationId::random(),
            tenant: tenant.id.clone(),
            login: login.to_owned(),
            state: RequestState::Pending,
            nominated_by: actor.to_owned(),
            nominated_at: now,
            decided_by: None,
            decided_at: None,
            revoked_by: None,
            revoked_at: None,
        };
        self.audit.append(
            self.admin_event(actor, "fullaccess.nominate", Some(&tenant.id))
                .detail("holder", login)
                .detail("nomination", row.id.to_string()),
        )?;
        self.store.nominate_full_access(
            &row,
            &HistoryRow {
                at: now,
                actor: actor.to_owned(),
                action: "nominated".into(),
                comment: None,
            },
        )?;
        self.full_access_view(&state, row)
    }

    /// The security office approves a nomination: the person holds standing
    /// access to every segment of the tenant from now on.
    pub fn approve_full_access(
        &self,
        caller: &Caller,
        tenant: &str,
        login: &str,
        comment: Option<&str>,
    ) -> Result<FullAccessView> {
        self.move_nomination(caller, tenant, login, comment, RequestState::Approved)
    }

    /// The security office refuses a nomination; a comment saying why is required.
    pub fn deny_full_access(
        &self,
        caller: &Caller,
        tenant: &str,
        login: &str,
        comment: &str,
    ) -> Result<FullAccessView> {
        self.move_nomination(caller, tenant, login, Some(comment), RequestState::Denied)
    }

    /// Ends a holding (or withdraws a nomination) at once; a reason is required.
    pub fn revoke_full_access(
        &self,
        caller: &Caller,
        tenant: &str,
        login: &str,
        reason: &str,
    ) -> Result<FullAccessView> {
        self.move_nomination(caller, tenant, login, Some(reason), RequestState::Revoked)
    }

    /// One step in a nomination's life, decided by the gate, recorded in the
    /// audit log before it is stored, and refused (and recorded as refused)
    /// when the nomination moved meanwhile or the cap is reached.
    fn move_nomination(
        &self,
        caller: &Caller,
        tenant: &str,
        login: &str,
        comment: Option<&str>,
        to: RequestState,
    ) -> Result<FullAccessView> {
        let state = self.tenant(tenant)?;
        let action = match to {
            RequestState::Revoked => Action::FullAccessRevoke,
            _ => Action::FullAccessApprove,
        };
        let d = self.decide_on(caller, action, tenant, login)?;
        let e = self.gated(
            self.full_access_event(caller, action, tenant, login)
                .detail("outcome", to.as_str()),
            &d,
            "only the security office decides standing full access",
        )?;
        let e = if to == RequestState::Approved {
            self.stepped_up(caller, &state, e)?
        } else {
            e
        };
        let Some(row) = live(self.store.full_access(tenant)?.iter(), login).cloned() else {
            return Err(self.refuse_state(
                e,
                ErrorCode::NominationNotFound,
                format!(
                    "'{login}' is neither nominated for nor holding full access to '{tenant}'; \
                     the administrator nominates with `mamori user assign {login} --tenant {tenant}`"
                ),
            ));
        };
        let e = e.detail("nomination", row.id.to_string());
        if to != RequestState::Revoked && row.state != RequestState::Pending {
            return Err(self.refuse_state(
                e,
                ErrorCode::RequestNotPending,
                format!("the nomination is already {}", row.state.as_str()),
            ));
        }
        let comment = self.checked_comment(comment, to != RequestState::Approved)?;
        self.audit.append(e.clone())?;
        let step = self.history_step(
            &caller.principal.login,
            &state,
            row.id.as_bytes(),
            self.now(),
            to.as_str(),
            comment,
        )?;
        let cap = self.full_access_cap(&state.row);
        match self
            .store
            .full_access_transition(&row.id, row.state, to, &step, cap)?
        {
            FullAccessOutcome::Done => {}
            FullAccessOutcome::StateChanged => {
                // The log must not keep a decision that did not happen.
                return Err(self.refuse_state(
                    e,
                    ErrorCode::RequestNotPending,
                    "the nomination was decided or revoked by someone else a moment ago".into(),
                ));
            }
            FullAccessOutcome::CapReached(holders) => {
                let (message, code) = self.cap_reached(&state.row, &holders);
                return Err(self.refuse_state(e, code, message));
            }
        }
        let row = self
            .store
            .full_access(tenant)?
            .into_iter()
            .find(|r| r.id == row.id)
            .ok_or(VaultError::NotFound { what: "nomination" })?;
        self.full_access_view(&state, row)
    }

    /// Nominations and holdings of a tenant the caller may see, newest first.
    pub fn full_access_list(&self, caller: &Caller, tenant: &str) -> Result<Vec<FullAccessView>> {
        let state = self.tenant(tenant)?;
        let mut out = Vec::new();
        for row in self.store.full_access(tenant)? {
            if self
                .decide_on(caller, Action::FullAccessView, tenant, &row.login)?
                .allowed()
            {
                out.push(self.full_access_view(&state, row)?);
            }
        }
        self.audit.append(
            self.caller_event(caller, "fullaccess.list", "ok")
                .tenant(tenant)
                .detail("returned", out.len()),
        )?;
        Ok(out)
    }

    fn full_access_event(
        &self,
        caller: &Caller,
        action: Action,
        tenant: &str,
        login: &str,
    ) -> Event {
        self.caller_event(caller, action.as_str(), "ok")
            .tenant(tenant)
            .detail("holder", login)
    }

    fn full_access_view(&self, state: &TenantState, row: FullAccessRow) -> Result<FullAccessView> {
        let history = self.history_steps(
            state,
            row.id.as_bytes(),
            self.store.full_access_history(&row.id)?,
        )?;
        Ok(FullAccessView {
            id: row.id.to_string(),
            tenant: row.tenant,
            login: row.login,
            status: row.state,
            nominated_by: row.nominated_by,
            nominated_at: jst::rfc3339(row.nominated_at),
            decided_by: row.decided_by,
            decided_at: row.decided_at.map(jst::rfc3339),
            revoked_by: row.revoked_by,
            revoked_at: row.revoked_at.map(jst::rfc3339),
            history,
        })
    }
}

/// The pending or approved nomination of `login` among a tenant's, if any.
fn live<'r>(
    mut rows: impl Iterator<Item = &'r FullAccessRow>,
    login: &str,
) -> Option<&'r FullAccessRow> {
    rows.find(|r| {
        r.login == login && matches!(r.state, RequestState::Pending | RequestState::Approved)
    })
}
