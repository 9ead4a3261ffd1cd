//! Budgets on the embedded store. An SQLite vault is served by one process,
//! so its budgets live in that process's memory — a durable write per lookup
//! would cost a disk flush on every read — and after a restart the vault
//! seeds each budget from the audit log the first time it meets it.

use std::collections::{HashMap, HashSet};

use parking_lot::Mutex;

use super::SqliteVault;
use mamori_store::{BudgetCharge, BudgetStore, ChargeOutcome, RecordId, Result};

/// One budget: when it ends and the customers charged to it.
type Budget = (i64, HashSet<RecordId>);

/// budget name → budget.
#[derive(Default)]
pub(super) struct Budgets(Mutex<HashMap<String, Budget>>);

impl BudgetStore for SqliteVault {
    fn charge_budgets(&self, charges: &[BudgetCharge<'_>]) -> Result<ChargeOutcome> {
        let mut all = self.budgets.0.lock();
        for (index, c) in charges.iter().enumerate() {
            let used = all.get(&c.budget).map_or(0, |(_, set)| set.len() as u64);
            let mut fresh: Vec<&RecordId> = c
                .records
                .iter()
                .filter(|r| all.get(&c.budget).is_none_or(|(_, set)| !set.contains(*r)))
                .collect();
            fresh.sort_unstable();
            fresh.dedup();
            let would_be = used + fresh.len() as u64;
            if would_be > c.limit {
                return Ok(ChargeOutcome::Exceeded {
                    index,
                    used,
                    would_be,
                });
            }
        }
        for c in charges {
            let entry = all
                .entry(c.budget.clone())
                .or_insert_with(|| (c.until, HashSet::new()));
            entry.1.extend(c.records.iter().copied());
        }
        Ok(ChargeOutcome::Charged)
    }

    fn seed_budget(&self, budget: &str, until: i64, records: &[RecordId]) -> Result<()> {
        let mut all = self.budgets.0.lock();
        let entry = all
            .entry(budget.to_owned())
            .or_insert_with(|| (until, HashSet::new()));
        entry.1.extend(records.iter().copied());
        Ok(())
    }

    fn budget_used(&self, budget: &str) -> Result<u64> {
        Ok(self
            .budgets
            .0
            .lock()
            .get(budget)
            .map_or(0, |(_, set)| set.len() as u64))
    }

    fn purge_budgets(&self, now: i64) -> Result<u64> {
        let mut all = self.budgets.0.lock();
        let before = all.len();
        all.retain(|_, (until, _)| *until >= now);
        Ok((before - all.len()) as u64)
    }
}
