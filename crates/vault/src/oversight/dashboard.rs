//! The security office's dashboard: what needs attention now, in one read —
//! open alerts by severity and by rule and the last two weeks' alerts per
//! day, exports and access requests waiting for approval, standing
//! full-access holders of each tenant against its cap, people whose
//! required training has lapsed or lapses soon, vendors whose contracts end
//! soon. Only counts, logins, tenant and vendor ids: never a customer's
//! value. Read by the security office and auditors (report.read), and
//! recorded.

use std::collections::{BTreeMap, HashSet};

use mamori_core::jst;
use mamori_store::{
    AlertFilter, AlertState, ExportFilter, ExportState, RequestFilter, RequestState, TenantStatus,
    UserRow,
};
use serde::Serialize;

use crate::{Caller, Vault, error::Result, kernel::people::DAY, review_evidence::active};

/// How far ahead a training expiry or a contract end counts as "soon".
pub const TRAINING_SOON_DAYS: i64 = 30;
pub const CONTRACT_SOON_DAYS: i64 = 60;
/// Days of the alerts-per-day chart, today included.
pub const ALERT_DAYS: i64 = 14;
/// The most alerts one dashboard counts (a backlog larger than this is
/// shown as at least this many).
const ALERT_SCAN: usize = 10_000;

#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dashboard {
    /// When it was read (Unix seconds).
    pub at: i64,
    /// Open and acknowledged alerts per severity (critical, high, medium, low).
    pub alerts_by_severity: Vec<Count>,
    /// Open and acknowledged alerts per rule, most first.
    pub alerts_by_rule: Vec<Count>,
    /// Alerts raised per Japan day, oldest first (`ALERT_DAYS` days).
    pub alerts_per_day: Vec<Count>,
    pub exports_pending: u64,
    pub requests_pending: u64,
    pub full_access: Vec<FullAccessLoad>,
    pub training: Vec<TrainingDue>,
    pub contracts: Vec<ContractEnding>,
}

/// A label and how many.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Count {
    pub label: String,
    pub n: u64,
}

/// One active tenant's standing full-access holders against its cap.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FullAccessLoad {
    pub tenant: String,
    pub holders: u64,
    /// Nominations waiting for a decision.
    pub pending: u64,
    pub cap: u32,
}

/// A person whose required course has lapsed (`expires_at` None: never
/// passed, or in the past) or lapses within `TRAINING_SOON_DAYS`.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrainingDue {
    pub login: String,
    pub role: String,
    pub course: String,
    pub expires_at: Option<i64>,
    pub lapsed: bool,
}

/// A vendor whose contract ends within `CONTRACT_SOON_DAYS` (or has
/// ended while its staff still have accounts).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContractEnding {
    pub vendor: String,
    pub name: String,
    pub contract_end: i64,
    /// The vendor's active accounts.
    pub people: u64,
    pub ended: bool,
}

impl Vault {
    /// The dashboard now (security office, auditors).
    pub fn dashboard(&self, caller: &Caller) -> Result<Dashboard> {
        let decision = self.gate.decide_report(&caller.principal);
        let event = self.gated(
            self.caller_event(caller, "dashboard.view", "ok"),
            &decision,
            "the dashboard is for the security office and auditors",
        )?;
        let now = self.now();
        let (alerts_by_severity, alerts_by_rule) = self.alert_backlog()?;
        let users: Vec<UserRow> = self
            .store
            .users()?
            .into_iter()
            .filter(|u| active(u, now))
            .collect();
        let d = Dashboard {
            at: now,
            alerts_by_severity,
            alerts_by_rule,
            alerts_per_day: self.alerts_per_day(now)?,
            exports_pending: self.exports_pending(now)?,
            requests_pending: self.requests_pending(now)?,
            full_access: self.full_access_loads()?,
            training: self.training_due(&users, now)?,
            contracts: self.contracts_ending(&users, now)?,
        };
        self.audit.append(
            event
                .detail(
                    "alerts_open",
                    d.alerts_by_severity.iter().map(|c| c.n).sum::<u64>(),
                )
                .detail("exports_pending", d.exports_pending)
                .detail("requests_pending", d.requests_pending)
                .detail("training_due", d.training.len())
                .detail("contracts_ending", d.contracts.len()),
        )?;
        Ok(d)
    }

    fn alert_backlog(&self) -> Result<(Vec<Count>, Vec<Count>)> {
        let mut severity: BTreeMap<String, u64> = ["critical", "high", "medium", "low"]
            .into_iter()
            .map(|s| (s.to_owned(), 0))
            .collect();
        let mut rule: BTreeMap<String, u64> = BTreeMap::new();
        for state in [AlertState::Open, AlertState::Acknowledged] {
            let rows = self.store.alerts(&AlertFilter {
                state: Some(state),
                limit: ALERT_SCAN,
                ..AlertFilter::default()
            })?;
            for a in rows {
                *severity.entry(a.severity).or_default() += 1;
                *rule.entry(a.rule).or_default() += 1;
            }
        }
        let order = |s: &str| match s {
            "critical" => 0,
            "high" => 1,
            "medium" => 2,
            "low" => 3,
            _ => 4,
        };
        let mut severity = counts(severity);
        severity.sort_by_key(|c| order(&c.label));
        let mut rule = counts(rule);
        rule.sort_by(|a, b| b.n.cmp(&a.n).then_with(|| a.label.cmp(&b.label)));
        Ok((severity, rule))
    }

    fn alerts_per_day(&self, now: i64) -> Result<Vec<Count>> {
        let today = jst::day(now);
        let first = today - (ALERT_DAYS - 1);
        let mut per: BTreeMap<i64, u64> = (first..=today).map(|d| (d, 0)).collect();
        let rows = self.store.alerts(&AlertFilter {
            since: Some(jst::day_start(first)),
            limit: ALERT_SCAN,
            ..AlertFilter::default()
        })?;
        for a in rows {
            if let Some(n) = per.get_mut(&jst::day(a.at)) {
                *n += 1;
            }
        }
        Ok(per
            .into_iter()
            .map(|(day, n)| Count {
                label: jst::date(jst::day_start(day))
                    .map(|d| d.format("%m-%d").to_string())
                    .unwrap_or_default(),
                n,
            })
            .collect())
    }

    /// Exports still collecting approvals (not those past their deadline).
    fn exports_pending(&self, now: i64) -> Result<u64> {
        Ok(self
            .store
            .exports(&ExportFilter {
                state: Some(ExportState::Pending),
                limit: ALERT_SCAN,
                ..ExportFilter::default()
            })?
            .iter()
            .filter(|e| now < e.approve_by)
            .count() as u64)
    }

    /// Access requests waiting for a decision whose window has not ended.
    fn requests_pending(&self, now: i64) -> Result<u64> {
        Ok(self
            .store
            .requests(&RequestFilter {
                state: Some(RequestState::Pending),
                ends_after: Some(now),
                limit: ALERT_SCAN,
                ..RequestFilter::default()
            })?
            .len() as u64)
    }

    fn full_access_loads(&self) -> Result<Vec<FullAccessLoad>> {
        let mut out = Vec::new();
        for t in self.store.tenants()? {
            if t.status != TenantStatus::Active {
                continue;
            }
            let holders = self
                .store
                .tenant_assignments(&t.id)?
                .into_iter()
                .filter(|a| a.segment.is_none())
                .map(|a| a.login)
                .collect::<HashSet<_>>()
                .len() as u64;
            let pending = self
                .store
                .full_access(&t.id)?
                .into_iter()
                .filter(|n| n.state == RequestState::Pending)
                .count() as u64;
            out.push(FullAccessLoad {
                cap: self.full_access_cap(&t),
                tenant: t.id,
                holders,
                pending,
            });
        }
        Ok(out)
    }

    /// Each active person's required courses: lapsed, or lapsing soon.
    fn training_due(&self, users: &[UserRow], now: i64) -> Result<Vec<TrainingDue>> {
        let people = &self.rules.people;
        let soon = now + TRAINING_SOON_DAYS * DAY;
        let mut out = Vec::new();
        for u in users {
            // The people cache the gate reads, not the store again.
            let facts = self.people.get(self, u.clone())?;
            for course in &people.required_courses {
                let expires_at = facts.pass_until(course, people.pass_score, now);
                let lapsed = expires_at.is_none_or(|e| e <= now);
                if lapsed || expires_at.is_some_and(|e| e < soon) {
                    out.push(TrainingDue {
                        login: u.login.clone(),
                        role: u.role.clone(),
                        course: course.clone(),
                        expires_at,
                        lapsed,
                    });
                }
            }
        }
        out.sort_by_key(|t| (!t.lapsed, t.expires_at, t.login.clone()));
        Ok(out)
    }

    fn contracts_ending(&self, users: &[UserRow], now: i64) -> Result<Vec<ContractEnding>> {
        let soon = now + CONTRACT_SOON_DAYS * DAY;
        let mut out = Vec::new();
        for v in self.store.vendors()? {
            let people = users
                .iter()
                .filter(|u| u.vendor.as_deref() == Some(v.id.as_str()))
                .count() as u64;
            let ended = v.contract_end <= now;
            if (ended && people > 0) || (!ended && v.contract_end < soon) {
                out.push(ContractEnding {
                    vendor: v.id,
                    name: v.name,
                    contract_end: v.contract_end,
                    people,
                    ended,
                });
            }
        }
        out.sort_by_key(|c| c.contract_end);
        Ok(out)
    }
}

fn counts(m: BTreeMap<String, u64>) -> Vec<Count> {
    m.into_iter().map(|(label, n)| Count { label, n }).collect()
}
