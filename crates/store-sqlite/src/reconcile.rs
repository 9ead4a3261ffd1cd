//! Reconciliation runs and their discrepancies.

use rusqlite::params;

use super::SqliteVault;
use mamori_store::rows::{self, DISCREPANCY_COLS, RECONCILIATION_COLS};
use mamori_store::{
    DiscrepancyFilter, DiscrepancyRow, Disposition, ReconcileStore, ReconciliationRow, Result,
};

impl ReconcileStore for SqliteVault {
    fn record_reconciliation(
        &self,
        run: &ReconciliationRow,
        items: &[DiscrepancyRow],
    ) -> Result<()> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        let n = tx.execute(
            &format!(
                "INSERT INTO reconciliations ({RECONCILIATION_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO NOTHING"
            ),
            params![
                run.id,
                run.period_from,
                run.period_to,
                run.run_by,
                run.run_at,
                run.report
            ],
        )?;
        if n == 1 {
            let mut st = tx.prepare_cached(
                "INSERT INTO discrepancies (id, class, person, day, kind, count, run)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET count = excluded.count, run = excluded.run",
            )?;
            for d in items {
                st.execute(params![
                    d.id,
                    d.class,
                    d.person,
                    d.day,
                    d.kind,
                    d.count as i64,
                    d.run
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn reconciliation(&self, id: &str) -> Result<Option<ReconciliationRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {RECONCILIATION_COLS} FROM reconciliations WHERE id = ?1"
        ))?;
        st.query_and_then([id], |r| rows::reconciliation(r))?
            .next()
            .transpose()
    }

    fn discrepancy(&self, id: &str) -> Result<Option<DiscrepancyRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {DISCREPANCY_COLS} FROM discrepancies WHERE id = ?1"
        ))?;
        st.query_and_then([id], |r| rows::discrepancy(r))?
            .next()
            .transpose()
    }

    fn discrepancies(&self, f: &DiscrepancyFilter) -> Result<Vec<DiscrepancyRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {DISCREPANCY_COLS} FROM discrepancies
             WHERE (?1 = 0 OR outcome IS NULL) AND (?2 IS NULL OR run = ?2)
             ORDER BY day, class, person, id LIMIT ?3"
        ))?;
        let limit = i64::try_from(f.limit).unwrap_or(i64::MAX);
        st.query_and_then(params![i64::from(f.open_only), f.run, limit], |r| {
            rows::discrepancy(r)
        })?
        .collect()
    }

    fn dispose(&self, id: &str, d: &Disposition) -> Result<bool> {
        let n = self.writer.lock().execute(
            "UPDATE discrepancies SET outcome = ?2, disposed_by = ?3, disposed_at = ?4, note = ?5
             WHERE id = ?1 AND outcome IS NULL",
            params![id, d.outcome, d.by, d.at, d.note],
        )?;
        Ok(n == 1)
    }
}
