//! Budgets that stop mass enumeration: requests per minute, distinct customers
//! per person per day, distinct customers per grant.
//!
//! The customer budgets are kept by the store (`BudgetStore`): shared by
//! every node on PostgreSQL, so two requests on two nodes cannot both spend
//! the last unit; in memory for an SQLite vault's one process. They are
//! charged *before* the audit append, all or nothing. The audit log remains
//! the source of truth for what someone has read: the first time this
//! process meets a budget it seeds it from the log (idempotent), so a
//! restart, or an upgrade, forgets nothing. The per-minute request limit is
//! per process (each node enforces it on what it serves).

use crate::ErrorCode;
use std::collections::{HashMap, HashSet};

use mamori_core::{GrantId, RecordId};
use mamori_store::{AuditQuery, BudgetCharge, ChargeOutcome, each_audit_page};
use parking_lot::Mutex;

use crate::{
    Vault,
    error::{Result, VaultError},
};

// A "day" of reading is a calendar day in Japan.
use mamori_core::jst::{day as jst_day, day_start};

#[derive(Default)]
pub(crate) struct Usage {
    /// login → (minute, requests in it)
    minutes: Mutex<HashMap<String, (i64, u32)>>,
    /// Budgets this process has seeded from the audit log, with their end.
    seeded: Mutex<HashMap<String, i64>>,
    /// One seeding at a time: after a restart, the many concurrent requests
    /// of one busy person wait for the first to rebuild their budget instead
    /// of each scanning the log (a thundering herd that cost seconds of CPU
    /// in the gate-cost profile).
    seeding: Mutex<()>,
}

fn day_budget(login: &str, day: i64) -> String {
    format!("day/{login}/{day}")
}

fn scan_budget(login: &str, day: i64) -> String {
    format!("scan/{login}/{day}")
}

/// The audit actions whose records count towards a budget: what a person
/// was shown, or what a scanner was told of.
const READS: &[&str] = &["record.search", "record.read"];
const SCANS: &[&str] = &["scan.match"];

fn grant_budget(grant: &GrantId) -> String {
    format!("grant/{}", grant)
}

/// Whole seconds from `now` to `then`, at least one.
fn until(now: i64, then: i64) -> u64 {
    u64::try_from(then - now).unwrap_or(0).max(1)
}

/// Records read under one grant in one request.
pub(crate) struct GrantCharge {
    pub grant: GrantId,
    pub budget: u64,
    pub starts_at: i64,
    pub ends_at: i64,
    pub records: Vec<RecordId>,
}

impl Vault {
    /// Counts a data request against the per-minute limit.
    pub(crate) fn count_request(&self, login: &str) -> Result<()> {
        let limit = self.rules.limits.requests_per_minute;
        let minute = self.now().div_euclid(60);
        let mut minutes = self.usage.minutes.lock();
        // Look up before inserting: no String allocation on the hot path.
        let slot = match minutes.get_mut(login) {
            Some(slot) => slot,
            None => minutes.entry(login.to_owned()).or_insert((minute, 0)),
        };
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        if slot.1 >= limit {
            let now = self.now();
            return Err(VaultError::Limited {
                code: ErrorCode::RateLimited,
                message: format!(
                    "more than {limit} requests in a minute; wait a moment and try again"
                ),
                retry_after_s: until(now, (minute + 1) * 60),
            });
        }
        slot.1 += 1;
        Ok(())
    }

    /// Reserves the customers a request is about to return against the
    /// person's daily budget and each grant's budget. All or nothing.
    pub(crate) fn charge(
        &self,
        login: &str,
        role: &str,
        records: &[RecordId],
        grants: &[GrantCharge],
    ) -> Result<()> {
        let now = self.now();
        let day = jst_day(now);
        let mut charges = vec![BudgetCharge {
            budget: day_budget(login, day),
            limit: self.rules.limits.daily_records_for(role),
            records,
            until: day_start(day + 1),
        }];
        self.seed(&charges[0].budget, charges[0].until, || {
            self.read_since(login, day_start(day), None, READS)
        })?;
        for g in grants {
            let budget = grant_budget(&g.grant);
            self.seed(&budget, g.ends_at, || {
                self.read_since(login, g.starts_at, Some(&g.grant), READS)
            })?;
            charges.push(BudgetCharge {
                budget,
                limit: g.budget,
                records: &g.records,
                until: g.ends_at,
            });
        }
        let ChargeOutcome::Exceeded {
            index,
            used,
            would_be,
        } = self.store.charge_budgets(&charges)?
        else {
            return Ok(());
        };
        let limit = charges[index].limit;
        Err(match index.checked_sub(1).map(|g| &grants[g]) {
            None => VaultError::Limited {
                code: ErrorCode::DailyBudgetExhausted,
                message: format!(
                    "this would make {would_be} distinct customers today; your daily budget is {limit}. \
                     If the work needs more, ask your supervisor for a grant"
                ),
                retry_after_s: until(now, day_start(day + 1)),
            },
            Some(g) => VaultError::Limited {
                code: ErrorCode::GrantBudgetExhausted,
                message: format!(
                    "grant {} allows {limit} customers and {used} were already read; \
                     this request would exceed it",
                    g.grant,
                ),
                retry_after_s: until(now, g.ends_at),
            },
        })
    }

    /// Reserves the customers a scan match is about to tell `login` of
    /// against the credential's daily scan budget. All or nothing.
    pub(crate) fn charge_scan(&self, login: &str, role: &str, records: &[RecordId]) -> Result<()> {
        let now = self.now();
        let day = jst_day(now);
        let charge = BudgetCharge {
            budget: scan_budget(login, day),
            limit: self.rules.scan.customers_per_day_for(role),
            records,
            until: day_start(day + 1),
        };
        self.seed(&charge.budget, charge.until, || {
            self.read_since(login, day_start(day), None, SCANS)
        })?;
        let limit = charge.limit;
        match self.store.charge_budgets(std::slice::from_ref(&charge))? {
            ChargeOutcome::Charged => Ok(()),
            ChargeOutcome::Exceeded { used, .. } => Err(VaultError::Limited {
                code: ErrorCode::ScanBudgetExhausted,
                message: format!(
                    "this credential was told of {used} distinct customers today and may be told of \
                     {limit}; this file names more. Hand it to the security office"
                ),
                retry_after_s: until(now, day_start(day + 1)),
            }),
        }
    }

    /// Seeds a budget from the audit log the first time this process meets
    /// it, one seeding at a time; budgets that ended are forgotten.
    fn seed(
        &self,
        budget: &str,
        until: i64,
        shown: impl FnOnce() -> Result<HashSet<RecordId>>,
    ) -> Result<()> {
        if self.usage.seeded.lock().contains_key(budget) {
            return Ok(());
        }
        let _one = self.usage.seeding.lock();
        if self.usage.seeded.lock().contains_key(budget) {
            return Ok(());
        }
        let records: Vec<RecordId> = shown()?.into_iter().collect();
        self.store.seed_budget(budget, until, &records)?;
        let now = self.now();
        let mut seeded = self.usage.seeded.lock();
        seeded.retain(|_, end| *end >= now);
        seeded.insert(budget.to_owned(), until);
        Ok(())
    }

    /// Forgets the budgets of days and grants that ended.
    pub fn purge_ended_budgets(&self) -> Result<u64> {
        Ok(self.store.purge_budgets(self.now())?)
    }

    /// Customers already read under a grant.
    pub(crate) fn grant_used(
        &self,
        login: &str,
        grant: &GrantId,
        since: i64,
        until: i64,
    ) -> Result<u64> {
        let budget = grant_budget(grant);
        self.seed(&budget, until, || {
            self.read_since(login, since, Some(grant), READS)
        })?;
        Ok(self.store.budget_used(&budget)?)
    }

    /// Distinct customers `login` was shown since `since` (seconds), from the
    /// audit log: the records of every allowed event of `actions`, or only
    /// those under `grant`.
    fn read_since(
        &self,
        login: &str,
        since: i64,
        grant: Option<&GrantId>,
        actions: &[&str],
    ) -> Result<HashSet<RecordId>> {
        let actor = format!("user:{login}");
        let grant_key = grant.map(GrantId::to_string);
        let mut out = HashSet::new();
        let query = AuditQuery {
            actor: Some(actor),
            from_ts: Some(since.saturating_mul(1_000_000)),
            limit: 1000,
            ..Default::default()
        };
        each_audit_page(&**self.audit.store(), query, |rows| -> Result<bool> {
            for row in rows {
                if row.decision != "allow" || !actions.contains(&row.action.as_str()) {
                    continue;
                }
                let Ok(body) = serde_json::from_slice::<serde_json::Value>(&row.body) else {
                    continue;
                };
                let ids = match &grant_key {
                    None => body.get("records"),
                    Some(k) => body
                        .get("detail")
                        .and_then(|d| d.get("grants"))
                        .and_then(|g| g.get(k)),
                };
                for id in ids.and_then(|v| v.as_array()).into_iter().flatten() {
                    if let Some(rid) = id.as_str().and_then(|s| RecordId::parse(s).ok()) {
                        out.insert(rid);
                    }
                }
            }
            Ok(true)
        })?;
        Ok(out)
    }
}
