//! Reconciliation runs and their discrepancies.

use super::{PgStore, big, map};
use mamori_store::rows::{self, DISCREPANCY_COLS, RECONCILIATION_COLS};
use mamori_store::{
    DiscrepancyFilter, DiscrepancyRow, Disposition, ReconcileStore, ReconciliationRow, Result,
};

impl ReconcileStore for PgStore {
    fn record_reconciliation(
        &self,
        run: &ReconciliationRow,
        items: &[DiscrepancyRow],
    ) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        let n = tx.execute(
            &format!(
                "INSERT INTO reconciliations ({RECONCILIATION_COLS}) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (id) DO NOTHING"
            ),
            &[
                &run.id,
                &run.period_from,
                &run.period_to,
                &run.run_by,
                &run.run_at,
                &run.report,
            ],
        )?;
        if n == 1 {
            for d in items {
                tx.execute(
                    "INSERT INTO discrepancies (id, class, person, day, kind, count, run)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (id) DO UPDATE SET count = excluded.count, run = excluded.run",
                    &[
                        &d.id,
                        &d.class,
                        &d.person,
                        &d.day,
                        &d.kind,
                        &big(d.count)?,
                        &d.run,
                    ],
                )?;
            }
        }
        tx.commit()
    }

    fn reconciliation(&self, id: &str) -> Result<Option<ReconciliationRow>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {RECONCILIATION_COLS} FROM reconciliations WHERE id = $1"),
                &[&id],
            )?
            .map(|r| rows::reconciliation(&r))
            .transpose()
    }

    fn discrepancy(&self, id: &str) -> Result<Option<DiscrepancyRow>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {DISCREPANCY_COLS} FROM discrepancies WHERE id = $1"),
                &[&id],
            )?
            .map(|r| rows::discrepancy(&r))
            .transpose()
    }

    fn discrepancies(&self, f: &DiscrepancyFilter) -> Result<Vec<DiscrepancyRow>> {
        let limit = i64::try_from(f.limit).unwrap_or(i64::MAX);
        let found = self.conn()?.query(
            &format!(
                "SELECT {DISCREPANCY_COLS} FROM discrepancies
                 WHERE (NOT $1 OR outcome IS NULL) AND ($2::text IS NULL OR run = $2)
                 ORDER BY day, class, person, id LIMIT $3"
            ),
            &[&f.open_only, &f.run, &limit],
        )?;
        map(found, rows::discrepancy)
    }

    fn dispose(&self, id: &str, d: &Disposition) -> Result<bool> {
        let n = self.conn()?.execute(
            "UPDATE discrepancies SET outcome = $2, disposed_by = $3, disposed_at = $4, note = $5
             WHERE id = $1 AND outcome IS NULL",
            &[&id, &d.outcome, &d.by, &d.at, &d.note],
        )?;
        Ok(n == 1)
    }
}
