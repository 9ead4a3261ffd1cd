//! Budgets shared by every node: a row per budget (locked while a request
//! charges it) and a row per customer charged, so that two nodes cannot both
//! spend the last unit and a customer shown twice costs once.

use super::{PgStore, Tx};
use crate::{BudgetCharge, BudgetStore, ChargeOutcome, Result, rows::Cols};

/// Locks the budget's row (creating it), adds the records and returns
/// (charged before, newly charged).
fn add(tx: &mut Tx<'_>, budget: &str, until: i64, records: &[[u8; 16]]) -> Result<(u64, u64)> {
    tx.execute(
        "INSERT INTO budgets (budget, used, until) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING",
        &[&budget, &until],
    )?;
    let used = tx
        .query_opt(
            "SELECT used FROM budgets WHERE budget = $1 FOR UPDATE",
            &[&budget],
        )?
        .map(|r| r.u64(0))
        .transpose()?
        .unwrap_or(0);
    let ids: Vec<&[u8]> = records.iter().map(|r| &r[..]).collect();
    let fresh = tx.execute(
        "INSERT INTO budget_records (budget, record) SELECT $1, unnest($2::bytea[]) ON CONFLICT DO NOTHING",
        &[&budget, &ids],
    )?;
    if fresh > 0 {
        tx.execute(
            "UPDATE budgets SET used = used + $2 WHERE budget = $1",
            &[&budget, &(fresh as i64)],
        )?;
    }
    Ok((used, fresh))
}

impl BudgetStore for PgStore {
    fn charge_budgets(&self, charges: &[BudgetCharge<'_>]) -> Result<ChargeOutcome> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        // In name order, so that two requests charging the same budgets
        // cannot deadlock.
        let mut order: Vec<usize> = (0..charges.len()).collect();
        order.sort_by(|a, b| charges[*a].budget.cmp(&charges[*b].budget));
        for index in order {
            let ch = &charges[index];
            let (used, fresh) = add(&mut tx, &ch.budget, ch.until, ch.records)?;
            if used + fresh > ch.limit {
                // Dropping the transaction charges nothing.
                return Ok(ChargeOutcome::Exceeded {
                    index,
                    used,
                    would_be: used + fresh,
                });
            }
        }
        tx.commit()?;
        Ok(ChargeOutcome::Charged)
    }

    fn seed_budget(&self, budget: &str, until: i64, records: &[[u8; 16]]) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        add(&mut tx, budget, until, records)?;
        tx.commit()
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
