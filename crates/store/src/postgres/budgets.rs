//! Budgets shared by every node: a row per budget (locked while a request
//! charges it) and a row per customer charged, so that two nodes cannot both
//! spend the last unit and a customer shown twice costs once. A charge is one
//! call of `mamori_charge_budgets` (schema.rs).
//!
//! A charge commits asynchronously (its connections run with
//! `synchronous_commit = off`): one person's concurrent requests queue on their budget's
//! row, and a flush to disk per request while holding it would cap that
//! person at one request per disk flush. A database crash can therefore
//! forget the last milliseconds of charges (never of the audit log, whose
//! appends stay synchronous); those reads remain in the log, which seeds the
//! budgets when a process next starts.

use super::{PgStore, big};
use crate::{BudgetCharge, BudgetStore, ChargeOutcome, Result, rows::Cols};

const CHARGE: &str =
    "SELECT exceeded::bigint, used, would_be FROM mamori_charge_budgets($1, $2, $3, $4, $5)";

impl PgStore {
    /// Charges `charges` (limits as given); returns the outcome.
    fn charge(&self, charges: &[BudgetCharge<'_>]) -> Result<ChargeOutcome> {
        // By budget name, so that two requests charging the same budgets
        // lock them in the same order.
        let mut order: Vec<usize> = (0..charges.len()).collect();
        order.sort_by(|a, b| charges[*a].budget.cmp(&charges[*b].budget));
        let mut names = Vec::with_capacity(order.len());
        let mut limits = Vec::with_capacity(order.len());
        let mut untils = Vec::with_capacity(order.len());
        let (mut owner, mut records): (Vec<i32>, Vec<&[u8]>) = (Vec::new(), Vec::new());
        for (k, i) in order.iter().enumerate() {
            let ch = &charges[*i];
            names.push(ch.budget.as_str());
            limits.push(big(ch.limit).unwrap_or(i64::MAX));
            untils.push(ch.until);
            for r in ch.records {
                owner.push(k as i32 + 1);
                records.push(&r[..]);
            }
        }
        // One round trip: the call commits on its own, without waiting for the disk.
        let row = self
            .budget_conn()?
            .query_opt(CHARGE, &[&names, &limits, &untils, &owner, &records])?;
        let Some(row) = row else {
            return Ok(ChargeOutcome::Charged);
        };
        let exceeded = row.int(0)?;
        if exceeded == 0 {
            return Ok(ChargeOutcome::Charged);
        }
        Ok(ChargeOutcome::Exceeded {
            index: order[(exceeded - 1) as usize],
            used: row.u64(1)?,
            would_be: row.u64(2)?,
        })
    }
}

impl BudgetStore for PgStore {
    fn charge_budgets(&self, charges: &[BudgetCharge<'_>]) -> Result<ChargeOutcome> {
        self.charge(charges)
    }

    fn seed_budget(&self, budget: &str, until: i64, records: &[[u8; 16]]) -> Result<()> {
        self.charge(&[BudgetCharge {
            budget: budget.to_owned(),
            limit: u64::MAX,
            records,
            until,
        }])
        .map(|_| ())
    }

    fn budget_used(&self, budget: &str) -> Result<u64> {
        self.conn()?
            .query_opt("SELECT used FROM budgets WHERE budget = $1", &[&budget])?
            .map_or(Ok(0), |r| r.u64(0))
    }

    fn purge_budgets(&self, now: i64) -> Result<u64> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        tx.execute(
            "DELETE FROM budget_records WHERE budget IN (SELECT budget FROM budgets WHERE until < $1)",
            &[&now],
        )?;
        let n = tx.execute("DELETE FROM budgets WHERE until < $1", &[&now])?;
        tx.commit()?;
        Ok(n)
    }
}
