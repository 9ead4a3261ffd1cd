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

use crate::{
    Caller, Vault,
    access::Access,
    error::{Result, VaultError},
    tenants::TenantState,
};

/// Shown for people without a department.
pub const NO_DEPARTMENT: &str = "(none)";

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// The entitlement table as one campaign's close left it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendPoint {
    pub campaign: String,
    pub closed_at: String,
    pub rows: Vec<EntitlementRow>,
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
        let rows = self.entitlement_table(tenant)?;
        e = e.detail("rows", rows.len());
        if let Some(t) = tenant {
            e = e.tenant(t);
        }
        self.audit.append(e)?;
        Ok(rows)
    }

    /// The table itself, as the gate would decide at this second (no gate
    /// asked, nothing recorded: for a caller that has been).
    pub(crate) fn entitlement_table(&self, tenant: Option<&str>) -> Result<Vec<EntitlementRow>> {
        let tenants: Vec<String> = match tenant {
            Some(t) => vec![self.tenant(t)?.row.id.clone()],
            // A shredded tenant's customers are nobody's to see.
            None => self
                .store
                .tenants()?
                .into_iter()
                .filter(|t| t.status == mamori_store::TenantStatus::Active)
                .map(|t| t.id)
                .collect(),
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
        Ok(rows)
    }

    /// The table as each closed review campaign left it (its `review.close`
    /// event), oldest first: the quarterly trend of seed 004's figure.
    pub fn entitlement_trend(&self, caller: &Caller) -> Result<Vec<TrendPoint>> {
        let decision = self.gate.decide_report(&caller.principal);
        let e = self.gated(
            self.caller_event(caller, "report.trend", "ok"),
            &decision,
            "entitlement reports are for the security office and auditors",
        )?;
        let mut points = Vec::new();
        self.each_event("review.close", None, |row, ev| {
            let Some(table) = ev.event.detail.get("entitlements") else {
                return Ok(());
            };
            points.push(TrendPoint {
                campaign: ev.event.case_id.clone().unwrap_or_default(),
                closed_at: mamori_core::jst::rfc3339(row.ts.div_euclid(1_000_000)),
                rows: serde_json::from_value(table.clone()).map_err(|_| {
                    VaultError::Internal("stored entitlement table does not parse".into())
                })?,
            });
            Ok(())
        })?;
        self.audit.append(e.detail("points", points.len()))?;
        Ok(points)
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
