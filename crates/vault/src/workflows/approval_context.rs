//! What an approver sees about a requester before deciding (Teleport and
//! Entra show the same beside an access request): their reads in the
//! tenant over the last week and when they last read, the alerts about
//! them still open, whether their training is current. Only for those who
//! could decide the person's requests in that tenant (their supervisor, the
//! security office — the gate's `access.approve`), and recorded.

use std::collections::HashSet;

use mamori_policy::Action;
use serde::Serialize;

use crate::{
    Caller, Vault,
    error::Result,
    review_evidence::{Entitlement, Kind},
};

/// Days of reads the context covers, today added.
pub const CONTEXT_DAYS: u32 = 7;

/// One requester's recent standing in one tenant.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequesterContext {
    pub login: String,
    pub tenant: String,
    /// Reads in the tenant under standing access over `days` days and today.
    pub reads: u64,
    /// Distinct customers those reads showed.
    pub customers: u64,
    pub last_read: Option<String>,
    pub open_alerts: u64,
    pub training_current: bool,
    pub days: u32,
}

impl Vault {
    /// The context of each (requester, tenant) the caller could decide a
    /// request of; pairs the caller may not decide are left out (the
    /// caller learns nothing about them), as are unknown people.
    pub fn requester_context(
        &self,
        caller: &Caller,
        pairs: &[(String, String)],
    ) -> Result<Vec<RequesterContext>> {
        let mut items = Vec::new();
        let mut wanted: HashSet<(&str, &str)> = HashSet::new();
        for (login, tenant) in pairs {
            if wanted.contains(&(login.as_str(), tenant.as_str()))
                || !self
                    .decide_on(caller, Action::AccessApprove, tenant, login)?
                    .allowed()
            {
                continue;
            }
            let Some(user) = self.store.user(login)? else {
                continue;
            };
            wanted.insert((login, tenant));
            items.push(Entitlement {
                kind: Kind::FullAccess,
                user,
                tenant: Some(tenant.clone()),
                target: String::new(),
                grantor: None,
            });
        }
        let now = self.now();
        let staff: Vec<_> = items.iter().map(|e| (e.user.clone(), Vec::new())).collect();
        let evidence = if items.is_empty() {
            Vec::new()
        } else {
            self.evidence(&items, CONTEXT_DAYS, now, &staff)?
        };
        let out: Vec<RequesterContext> = items
            .into_iter()
            .zip(evidence)
            .map(|(e, ev)| RequesterContext {
                login: e.user.login,
                tenant: e.tenant.unwrap_or_default(),
                reads: ev.reads,
                customers: ev.customers,
                last_read: ev.last_use,
                open_alerts: ev.open_alerts,
                training_current: ev.training_current,
                days: ev.days,
            })
            .collect();
        self.audit.append(
            self.caller_event(caller, "access.context", "ok").detail(
                "people",
                out.iter()
                    .map(|c| format!("{}@{}", c.login, c.tenant))
                    .collect::<Vec<_>>(),
            ),
        )?;
        Ok(out)
    }
}
