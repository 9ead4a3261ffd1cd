//! Oversight reports. `entitlements`: per tenant, segment and department, how
//! many people can see the segment's customers out of how many there are —
//! the table seed 004 was judged by (営業企画 76 % → 13 %).
//!
//! "Can see" is asked of the policy gate itself, person by person, with each
//! one's assignments, live grants and people-gate verdicts at this second, so
//! the report cannot drift from what the gate actually enforces.

use std::collections::BTreeMap;

use mamori_policy::Action;
use serde::Serialize;

use crate::{Caller, Vault, access::Access, error::Result, tenants::TenantState};

/// Shown for people without a department.
pub const NO_DEPARTMENT: &str = "(none)";

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EntitlementRow {
    pub tenant: String,
    pub segment: String,
    pub department: String,
    /// People of the department who can read the segment's customers now.
    pub can_see: usize,
    /// People in the department.
    pub people: usize,
    /// can_see / people, in percent (one decimal).
    pub share_percent: f64,
}

impl Vault {
    /// The entitlement table for one tenant or all of them.
    pub fn entitlements(
        &self,
        caller: &Caller,
        tenant: Option<&str>,
    ) -> Result<Vec<EntitlementRow>> {
        let decision = self.gate.decide_report(&caller.principal);
        let mut e = self.gated(
            self.caller_event(caller, "report.entitlements", "ok"),
            &decision,
            "entitlement reports are for the security office and auditors",
        )?;
        let tenants: Vec<String> = match tenant {
            Some(t) => vec![self.tenant(t)?.row.id.clone()],
            None => self.store.tenants()?.into_iter().map(|t| t.id).collect(),
        };
        let now = self.now();
        let mut people = Vec::new();
        for user in self.store.users()? {
            let facts = self.people.get(self, user)?;
            let status = facts.status(now, &self.rules.people, &self.rules.limits);
            people.push((facts, status));
        }
        let mut rows = Vec::new();
        for t in &tenants {
            let state = self.tenant(t)?;
            if !state.active() {
                continue;
            }
            for seg in &state.schema.segments {
                // department → (can see, people)
                let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
                for (facts, status) in &people {
                    let dept = facts
                        .user
                        .department
                        .clone()
                        .unwrap_or_else(|| NO_DEPARTMENT.to_owned());
                    let sees = self.can_see(&state, &seg.id, facts, *status, now);
                    let c = counts.entry(dept).or_default();
                    c.0 += usize::from(sees);
                    c.1 += 1;
                }
                for (department, (can_see, n)) in counts {
                    let share = if n == 0 {
                        0.0
                    } else {
                        (can_see as f64 * 1000.0 / n as f64).round() / 10.0
                    };
                    rows.push(EntitlementRow {
                        tenant: t.clone(),
                        segment: seg.id.clone(),
                        department,
                        can_see,
                        people: n,
                        share_percent: share,
                    });
                }
            }
        }
        e = e.detail("rows", rows.len());
        if let Some(t) = tenant {
            e = e.tenant(t);
        }
        self.audit.append(e)?;
        Ok(rows)
    }

    /// Whether the gate would let this person read a record of `segment`
    /// for any of the tenant's purposes, right now.
    fn can_see(
        &self,
        state: &TenantState,
        segment: &str,
        facts: &crate::people::PersonFacts,
        status: crate::people::PeopleStatus,
        now: i64,
    ) -> bool {
        let mut principal = facts.principal(status);
        principal.grant_scopes = facts
            .live_grants(now)
            .filter(|g| g.tenant == state.row.id)
            .map(|g| (g.tenant.clone(), g.segment.clone()))
            .collect();
        state.schema.purposes.iter().any(|p| {
            self.decide_as(
                &principal,
                Action::Read,
                state,
                Some(segment),
                p,
                Access::default(),
            )
            .allowed()
        })
    }
}
