//! Export tables of `vault.db`: bulk export requests, their approvals and
//! history (kept for good), and the encrypted package between approval and
//! its one download (deleted then, or when its window ends).

use rusqlite::{OptionalExtension, params};

use super::{
    SqliteVault,
    history::{History, HistorySql},
};
use mamori_store::rows::{self, ALL_SEGMENTS, APPROVAL_COLS, EXPORT_COLS, json_list};
use mamori_store::{
    ApprovalOutcome, ExportApprovalRow, ExportFilter, ExportId, ExportRow, ExportState,
    ExportStore, HistoryRow, PackageMeta, Result,
};

impl ExportStore for SqliteVault {
    fn insert_export(&self, e: &ExportRow, first: &HistoryRow) -> Result<()> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        tx.execute(
            "INSERT INTO exports (id, tenant, requester, segment, fields, purpose, case_id, sealed,
                 key_version, recipient_key, rows_at_request, approvals_required, state, created_at, approve_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                &e.id.as_bytes()[..],
                e.tenant,
                e.requester,
                e.segment.as_deref().unwrap_or(ALL_SEGMENTS),
                json_list(&e.fields),
                e.purpose,
                e.case_id,
                e.sealed,
                e.key_version,
                e.recipient_key,
                e.rows_at_request,
                e.approvals_required,
                e.stage.state().as_str(),
                e.created_at,
                e.approve_by,
            ],
        )?;
        History::Export.append(&tx, e.id.as_bytes(), first)?;
        tx.commit()?;
        Ok(())
    }

    fn export(&self, id: &ExportId) -> Result<Option<ExportRow>> {
        let id = id.as_bytes();
        let c = self.readers.get()?;
        let mut st =
            c.prepare_cached(&format!("SELECT {EXPORT_COLS} FROM exports WHERE id = ?1"))?;
        st.query_and_then([&id[..]], |r| rows::export(r))?
            .next()
            .transpose()
    }

    fn exports(&self, f: &ExportFilter) -> Result<Vec<ExportRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {EXPORT_COLS} FROM exports
             WHERE (?1 IS NULL OR tenant = ?1)
               AND (?2 IS NULL OR requester = ?2)
               AND (?3 IS NULL OR state = ?3)
             ORDER BY created_at DESC, id LIMIT ?4"
        ))?;
        let rows = st
            .query_and_then(
                params![
                    f.tenant,
                    f.requester,
                    f.state.map(ExportState::as_str),
                    f.limit.max(1) as i64
                ],
                |r| rows::export(r),
            )?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn export_history(&self, id: &ExportId) -> Result<Vec<HistoryRow>> {
        let id = id.as_bytes();
        let c = self.readers.get()?;
        History::Export.read(&c, id)
    }

    fn export_approvals(&self, id: &ExportId) -> Result<Vec<ExportApprovalRow>> {
        let id = id.as_bytes();
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {APPROVAL_COLS} FROM export_approvals WHERE export = ?1 ORDER BY at, rowid"
        ))?;
        let rows = st
            .query_and_then([&id[..]], |r| rows::approval(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn add_export_approval(
        &self,
        a: &ExportApprovalRow,
        step: &HistoryRow,
        seen: usize,
    ) -> Result<ApprovalOutcome> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        let state: Option<String> = tx
            .query_row(
                "SELECT state FROM exports WHERE id = ?1",
                [&a.export.as_bytes()[..]],
                |r| r.get(0),
            )
            .optional()?;
        if state.as_deref() != Some(ExportState::Pending.as_str()) {
            return Ok(ApprovalOutcome::NotPending);
        }
        let (mine, all): (i64, i64) = tx.query_row(
            "SELECT count(*) FILTER (WHERE approver = ?2), count(*) FROM export_approvals WHERE export = ?1",
            params![&a.export.as_bytes()[..], a.approver],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if mine > 0 {
            return Ok(ApprovalOutcome::Duplicate);
        }
        if all as usize != seen {
            return Ok(ApprovalOutcome::Changed);
        }
        let n = tx.execute(
            "INSERT INTO export_approvals (export, approver, role, at, comment)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (export, approver) DO NOTHING",
            params![
                &a.export.as_bytes()[..],
                a.approver,
                a.role,
                a.at,
                a.comment
            ],
        )?;
        if n == 0 {
            return Ok(ApprovalOutcome::Duplicate);
        }
        History::Export.append(&tx, a.export.as_bytes(), step)?;
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
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        let n = tx.execute(
            "UPDATE exports SET state = 'approved', package_rows = ?2, package_canaries = ?3,
                 package_bytes = ?4, package_sha256 = ?5, package_at = ?6, download_until = ?7
             WHERE id = ?1 AND state = 'pending'",
            params![
                &id[..],
                meta.rows,
                meta.canaries,
                meta.bytes,
                &meta.sha256[..],
                meta.created_at,
                meta.download_until
            ],
        )?;
        if n == 0 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO export_packages (export, bytes) VALUES (?1, ?2)",
            params![&id[..], bytes],
        )?;
        History::Export.append(&tx, id, step)?;
        tx.commit()?;
        Ok(true)
    }

    fn take_package(&self, id: &ExportId, now: i64, step: &HistoryRow) -> Result<Option<Vec<u8>>> {
        let id = id.as_bytes();
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        let n = tx.execute(
            "UPDATE exports SET state = 'downloaded', closed_by = ?2, closed_at = ?3
             WHERE id = ?1 AND state = 'approved' AND download_until > ?3",
            params![&id[..], step.actor, now],
        )?;
        if n == 0 {
            return Ok(None);
        }
        let bytes: Option<Vec<u8>> = tx
            .query_row(
                "DELETE FROM export_packages WHERE export = ?1 RETURNING bytes",
                [&id[..]],
                |r| r.get(0),
            )
            .optional()?;
        let Some(bytes) = bytes else {
            // Approved without a package cannot happen; keep the export as it was.
            return Ok(None);
        };
        History::Export.append(&tx, id, step)?;
        tx.commit()?;
        Ok(Some(bytes))
    }

    fn close_export(
        &self,
        id: &ExportId,
        from: ExportState,
        to: ExportState,
        step: &HistoryRow,
    ) -> Result<bool> {
        let id = id.as_bytes();
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        let n = tx.execute(
            "UPDATE exports SET state = ?3, closed_by = ?4, closed_at = ?5
             WHERE id = ?1 AND state = ?2",
            params![&id[..], from.as_str(), to.as_str(), step.actor, step.at],
        )?;
        if n == 0 {
            return Ok(false);
        }
        tx.execute("DELETE FROM export_packages WHERE export = ?1", [&id[..]])?;
        History::Export.append(&tx, id, step)?;
        tx.commit()?;
        Ok(true)
    }

    fn purge_packages(&self, now: i64) -> Result<u64> {
        let n = self.writer.lock().execute(
            "DELETE FROM export_packages WHERE export IN
                 (SELECT id FROM exports WHERE state = 'approved' AND download_until <= ?1)",
            [now],
        )?;
        Ok(n as u64)
    }
}
