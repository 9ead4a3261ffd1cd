//! PC agents: hunts and reports.

use super::{PgStore, big, map};
use mamori_store::rows::{self, Cols, HUNT_COLS, SCAN_REPORT_COLS, json_list};
use mamori_store::{AgentStore, HuntRow, MachineReports, Result, ScanReportRow};

impl AgentStore for PgStore {
    fn insert_hunt(&self, h: &HuntRow) -> Result<()> {
        self.conn()?.execute(
            &format!(
                "INSERT INTO scan_hunts ({HUNT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ),
            &[
                &&h.id.as_bytes()[..],
                &h.case_id,
                &h.started_by,
                &h.started_at,
                &h.until,
                &i64::from(h.full),
                &json_list(&h.machines),
                &h.quarantine_to,
            ],
        )?;
        Ok(())
    }

    fn hunts(&self, since: i64) -> Result<Vec<HuntRow>> {
        let found = self.conn()?.query(
            &format!(
                "SELECT {HUNT_COLS} FROM scan_hunts WHERE started_at >= $1 ORDER BY started_at, id"
            ),
            &[&since],
        )?;
        map(found, rows::hunt)
    }

    fn insert_scan_report(&self, r: &ScanReportRow) -> Result<bool> {
        let hunt = r.hunt.as_ref().map(|h| h.as_bytes().to_vec());
        let n = self.conn()?.execute(
            &format!(
                "INSERT INTO scan_reports ({SCAN_REPORT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (login, scan) DO NOTHING"
            ),
            &[
                &r.login,
                &&r.scan.as_bytes()[..],
                &r.received_at,
                &hunt,
                &i64::from(r.full),
                &r.verdict.as_str(),
                &big(r.files_seen)?,
                &big(r.with_findings)?,
                &big(r.naming_customers)?,
                &big(r.uninspected)?,
            ],
        )?;
        Ok(n == 1)
    }

    fn scan_reports(&self, login: &str, since: i64) -> Result<Vec<ScanReportRow>> {
        let found = self.conn()?.query(
            &format!(
                "SELECT {SCAN_REPORT_COLS} FROM scan_reports
                 WHERE login = $1 AND received_at >= $2 ORDER BY seq"
            ),
            &[&login, &since],
        )?;
        found.iter().map(|r| rows::scan_report(r, 0)).collect()
    }

    fn machine_reports(&self) -> Result<Vec<MachineReports>> {
        let cols = SCAN_REPORT_COLS
            .split(", ")
            .map(|c| format!("r.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let found = self.conn()?.query(
            &format!(
                "SELECT m.n, m.last_clean, {cols} FROM scan_reports r JOIN
                   (SELECT MAX(seq) AS last, COUNT(*) AS n,
                           MAX(CASE WHEN verdict = 'clean' THEN received_at END) AS last_clean
                      FROM scan_reports GROUP BY login) m ON r.seq = m.last
                 ORDER BY r.login"
            ),
            &[],
        )?;
        found
            .iter()
            .map(|r| {
                Ok(MachineReports {
                    reports: r.u64(0)?,
                    last_clean_at: r.opt_int(1)?,
                    latest: rows::scan_report(r, 2)?,
                })
            })
            .collect()
    }
}
