//! PC agents: hunts and reports.

use rusqlite::params;

use super::SqliteVault;
use mamori_store::rows::{self, Cols, HUNT_COLS, SCAN_REPORT_COLS, json_list};
use mamori_store::{AgentStore, HuntRow, MachineReports, Result, ScanReportRow};

impl AgentStore for SqliteVault {
    fn insert_hunt(&self, h: &HuntRow) -> Result<()> {
        self.writer.lock().execute(
            &format!(
                "INSERT INTO scan_hunts ({HUNT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ),
            params![
                &h.id.as_bytes()[..],
                h.case_id,
                h.started_by,
                h.started_at,
                h.until,
                i64::from(h.full),
                json_list(&h.machines),
                h.quarantine_to
            ],
        )?;
        Ok(())
    }

    fn hunts(&self, since: i64) -> Result<Vec<HuntRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {HUNT_COLS} FROM scan_hunts WHERE started_at >= ?1 ORDER BY started_at, id"
        ))?;
        let rows = st
            .query_and_then([since], |r| rows::hunt(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn insert_scan_report(&self, r: &ScanReportRow) -> Result<bool> {
        let n = self.writer.lock().execute(
            &format!(
                "INSERT INTO scan_reports ({SCAN_REPORT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (login, scan) DO NOTHING"
            ),
            params![
                r.login,
                &r.scan.as_bytes()[..],
                r.received_at,
                r.hunt.as_ref().map(|h| h.as_bytes().to_vec()),
                i64::from(r.full),
                r.verdict.as_str(),
                r.files_seen as i64,
                r.with_findings as i64,
                r.naming_customers as i64,
                r.uninspected as i64
            ],
        )?;
        Ok(n == 1)
    }

    fn scan_reports(&self, login: &str, since: i64) -> Result<Vec<ScanReportRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {SCAN_REPORT_COLS} FROM scan_reports WHERE login = ?1 AND received_at >= ?2 ORDER BY rowid"
        ))?;
        let rows = st
            .query_and_then(params![login, since], |r| rows::scan_report(r, 0))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn machine_reports(&self) -> Result<Vec<MachineReports>> {
        let c = self.readers.get()?;
        let cols = prefixed(SCAN_REPORT_COLS, "r.");
        let mut st = c.prepare_cached(&format!(
            "SELECT m.n, m.last_clean, {cols} FROM scan_reports r JOIN
               (SELECT MAX(rowid) AS last, COUNT(*) AS n,
                       MAX(CASE WHEN verdict = 'clean' THEN received_at END) AS last_clean
                  FROM scan_reports GROUP BY login) m ON r.rowid = m.last
             ORDER BY r.login"
        ))?;
        let rows = st
            .query_and_then([], |r| {
                Ok(MachineReports {
                    reports: r.u64(0)?,
                    last_clean_at: r.opt_int(1)?,
                    latest: rows::scan_report(r, 2)?,
                })
            })?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }
}

/// `a, b, c` as `p.a, p.b, p.c`.
pub(crate) fn prefixed(cols: &str, p: &str) -> String {
    cols.split(", ")
        .map(|c| format!("{p}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}
