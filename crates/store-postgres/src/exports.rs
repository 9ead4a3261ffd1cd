//! Bulk exports: requests, approvals, history and the one-time package.

use super::{
    PgStore, big,
    governance::{append_step, read_steps},
    map,
};
use mamori_store::{
    ApprovalOutcome, ExportApprovalRow, ExportFilter, ExportId, ExportRow, ExportState,
    ExportStore, HistoryRow, PackageMeta, Result,
    rows::{self, ALL_SEGMENTS, APPROVAL_COLS, EXPORT_COLS, History, json_list},
};

impl ExportStore for PgStore {
    fn insert_export(&self, e: &ExportRow, first: &HistoryRow) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        tx.execute(
            "INSERT INTO exports (id, tenant, requester, segment, fields, purpose, case_id, sealed,
                 key_version, recipient_key, rows_at_request, approvals_required, state, created_at, approve_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &[
                &&e.id.as_bytes()[..],
                &e.tenant,
                &e.requester,
                &e.segment.as_deref().unwrap_or(ALL_SEGMENTS),
                &json_list(&e.fields),
                &e.purpose,
                &e.case_id,
                &e.sealed,
                &i64::from(e.key_version),
                &e.recipient_key,
                &big(e.rows_at_request)?,
                &i64::from(e.approvals_required),
                &e.stage.state().as_str(),
                &e.created_at,
                &e.approve_by,
            ],
        )?;
        append_step(&mut tx, History::Export, e.id.as_bytes(), first)?;
        tx.commit()
    }

    fn export(&self, id: &ExportId) -> Result<Option<ExportRow>> {
        let id = id.as_bytes();
        self.conn()?
            .query_opt(
                &format!("SELECT {EXPORT_COLS} FROM exports WHERE id = $1"),
                &[&&id[..]],
            )?
            .map(|r| rows::export(&r))
            .transpose()
    }

    fn exports(&self, f: &ExportFilter) -> Result<Vec<ExportRow>> {
        let found = self.conn()?.query(
            &format!(
                "SELECT {EXPORT_COLS} FROM exports
                 WHERE ($1::text IS NULL OR tenant = $1)
                   AND ($2::text IS NULL OR requester = $2)
                   AND ($3::text IS NULL OR state = $3)
                 ORDER BY created_at DESC, id LIMIT $4"
            ),
            &[
                &f.tenant,
                &f.requester,
                &f.state.map(ExportState::as_str),
                &(f.limit.max(1) as i64),
            ],
        )?;
        map(found, rows::export)
    }

    fn export_history(&self, id: &ExportId) -> Result<Vec<HistoryRow>> {
        let id = id.as_bytes();
        read_steps(&mut *self.conn()?, History::Export, id)
    }

    fn export_approvals(&self, id: &ExportId) -> Result<Vec<ExportApprovalRow>> {
        let id = id.as_bytes();
        let found = self.conn()?.query(
            &format!(
                "SELECT {APPROVAL_COLS} FROM export_approvals WHERE export = $1 ORDER BY at, seq"
            ),
            &[&&id[..]],
        )?;
        map(found, rows::approval)
    }

    fn add_export_approval(
        &self,
        a: &ExportApprovalRow,
        step: &HistoryRow,
        seen: usize,
    ) -> Result<ApprovalOutcome> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        // Locked: approvals of one export queue here, behind the approval
        // that may be storing its package.
        let state: Option<String> = tx
            .query_opt(
                "SELECT state FROM exports WHERE id = $1 FOR UPDATE",
                &[&&a.export.as_bytes()[..]],
            )?
            .map(|r| r.get(0));
        if state.as_deref() != Some(ExportState::Pending.as_str()) {
            return Ok(ApprovalOutcome::NotPending);
        }
        let counts = tx
            .query_opt(
                "SELECT count(*) FILTER (WHERE approver = $2), count(*) FROM export_approvals WHERE export = $1",
                &[&&a.export.as_bytes()[..], &a.approver],
            )?
            .map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1)))
            .unwrap_or((0, 0));
        if counts.0 > 0 {
            return Ok(ApprovalOutcome::Duplicate);
        }
        if counts.1 as usize != seen {
            return Ok(ApprovalOutcome::Changed);
        }
        let n = tx.execute(
            &format!(
                "INSERT INTO export_approvals ({APPROVAL_COLS}) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (export, approver) DO NOTHING"
            ),
            &[
                &&a.export.as_bytes()[..],
                &a.approver,
                &a.role,
                &a.at,
                &a.comment,
            ],
        )?;
        if n == 0 {
            return Ok(ApprovalOutcome::Duplicate);
        }
        append_step(&mut tx, History::Export, a.export.as_bytes(), step)?;
        tx.commit()?;
        Ok(ApprovalOutcome::Added)
    }

    fn store_package(
        &self,
        id: &ExportId,
        meta: &PackageMeta,
        bytes: &[u8],
        step: &HistoryRow,
    ) -> Result<bool> {
        let id = id.as_bytes();
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        let n = tx.execute(
            "UPDATE exports SET state = 'approved', package_rows = $2, package_canaries = $3,
                 package_bytes = $4, package_sha256 = $5, package_at = $6, download_until = $7
             WHERE id = $1 AND state = 'pending'",
            &[
                &&id[..],
                &big(meta.rows)?,
                &i64::from(meta.canaries),
                &big(meta.bytes)?,
                &&meta.sha256[..],
                &meta.created_at,
                &meta.download_until,
            ],
        )?;
        if n == 0 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO export_packages (export, bytes) VALUES ($1, $2)",
            &[&&id[..], &bytes],
        )?;
        append_step(&mut tx, History::Export, id, step)?;
        tx.commit()?;
        Ok(true)
    }

    fn take_package(&self, id: &ExportId, now: i64, step: &HistoryRow) -> Result<Option<Vec<u8>>> {
        let id = id.as_bytes();
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        let n = tx.execute(
            "UPDATE exports SET state = 'downloaded', closed_by = $2, closed_at = $3
             WHERE id = $1 AND state = 'approved' AND download_until > $3",
            &[&&id[..], &step.actor, &now],
        )?;
        if n == 0 {
            return Ok(None);
        }
        let Some(row) = tx.query_opt(
            "DELETE FROM export_packages WHERE export = $1 RETURNING bytes",
            &[&&id[..]],
        )?
        else {
            // Approved without a package cannot happen; keep the export as it was.
            return Ok(None);
        };
        append_step(&mut tx, History::Export, id, step)?;
        tx.commit()?;
        Ok(Some(row.get(0)))
    }

    fn close_export(
        &self,
        id: &ExportId,
        from: ExportState,
        to: ExportState,
        step: &HistoryRow,
    ) -> Result<bool> {
        let id = id.as_bytes();
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        let n = tx.execute(
            "UPDATE exports SET state = $3, closed_by = $4, closed_at = $5
             WHERE id = $1 AND state = $2",
            &[
                &&id[..],
                &from.as_str(),
                &to.as_str(),
                &step.actor,
                &step.at,
            ],
        )?;
        if n == 0 {
            return Ok(false);
        }
        tx.execute("DELETE FROM export_packages WHERE export = $1", &[&&id[..]])?;
        append_step(&mut tx, History::Export, id, step)?;
        tx.commit()?;
        Ok(true)
    }

    fn purge_packages(&self, now: i64) -> Result<u64> {
        self.conn()?.execute(
            "DELETE FROM export_packages WHERE export IN
                 (SELECT id FROM exports WHERE state = 'approved' AND download_until <= $1)",
            &[&now],
        )
    }
}
