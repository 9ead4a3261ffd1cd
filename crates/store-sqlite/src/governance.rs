//! Governance tables of `vault.db`: vendors, training and compliance records,
//! managers, and just-in-time access requests with their history.

use rusqlite::params;

use super::{
    SqliteVault,
    history::{History, HistorySql},
};
use mamori_store::rows::{
    self, ALL_SEGMENTS, COMPLIANCE_COLS, REQUEST_COLS, TRAINING_COLS, VENDOR_COLS, json_list,
};
use mamori_store::{
    AccessRequestRow, ComplianceRow, FullAccessOutcome, FullAccessRow, GovernanceStore, GrantId,
    HistoryRow, NominationId, RequestFilter, RequestState, Result, StoreError, TrainingRow,
    VendorRow,
};

/// Moves a row of `table` (`access_requests` or `full_access`) from `from`
/// to `to` if it is still in `from`, stamping who decided or revoked it and
/// when; false when someone else moved it first (compare-and-set).
pub(super) fn move_state(
    tx: &rusqlite::Transaction<'_>,
    table: &str,
    id: &[u8; 16],
    from: RequestState,
    to: RequestState,
    step: &HistoryRow,
) -> Result<bool> {
    let who = if to == RequestState::Revoked {
        "revoked"
    } else {
        "decided"
    };
    let n = tx
        .prepare_cached(&format!(
            "UPDATE {table} SET state = ?3, {who}_by = ?4, {who}_at = ?5 WHERE id = ?1 AND state = ?2"
        ))?
        .execute(params![&id[..], from.as_str(), to.as_str(), step.actor, step.at])?;
    Ok(n == 1)
}

impl GovernanceStore for SqliteVault {
    fn governance_rev(&self) -> Result<u64> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached("SELECT rev FROM governance_rev WHERE id = 1")?;
        Ok(st.query_row([], |r| r.get(0))?)
    }

    fn put_vendor(&self, v: &VendorRow) -> Result<()> {
        self.writer.lock().execute(
            "INSERT INTO vendors (id, name, contract_start, contract_end, clauses, updated_by, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET name = ?2, contract_start = ?3, contract_end = ?4,
                 clauses = ?5, updated_by = ?6, updated_at = ?7",
            params![
                v.id,
                v.name,
                v.contract_start,
                v.contract_end,
                json_list(&v.clauses),
                v.updated_by,
                v.updated_at
            ],
        )?;
        Ok(())
    }

    fn vendor(&self, id: &str) -> Result<Option<VendorRow>> {
        let c = self.readers.get()?;
        let mut st =
            c.prepare_cached(&format!("SELECT {VENDOR_COLS} FROM vendors WHERE id = ?1"))?;
        st.query_and_then([id], |r| rows::vendor(r))?
            .next()
            .transpose()
    }

    fn vendors(&self) -> Result<Vec<VendorRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!("SELECT {VENDOR_COLS} FROM vendors ORDER BY id"))?;
        let rows = st
            .query_and_then([], |r| rows::vendor(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn add_training(&self, t: &TrainingRow) -> Result<()> {
        self.writer.lock().execute(
            "INSERT INTO training (login, course, completed_at, score, expires_at, recorded_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                t.login,
                t.course,
                t.completed_at,
                t.score,
                t.expires_at,
                t.recorded_by
            ],
        )?;
        Ok(())
    }

    fn training(&self, login: &str) -> Result<Vec<TrainingRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {TRAINING_COLS} FROM training WHERE login = ?1 ORDER BY course, completed_at"
        ))?;
        let rows = st
            .query_and_then([login], |r| rows::training(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn add_compliance(&self, x: &ComplianceRow) -> Result<()> {
        self.writer.lock().execute(
            "INSERT INTO compliance (login, confirmed_at, expires_at, recorded_by) VALUES (?1, ?2, ?3, ?4)",
            params![x.login, x.confirmed_at, x.expires_at, x.recorded_by],
        )?;
        Ok(())
    }

    fn compliance(&self, login: &str) -> Result<Vec<ComplianceRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {COMPLIANCE_COLS} FROM compliance WHERE login = ?1 ORDER BY confirmed_at"
        ))?;
        let rows = st
            .query_and_then([login], |r| rows::compliance(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn set_full_access_cap(&self, tenant: &str, cap: Option<u32>) -> Result<()> {
        let n = self.writer.lock().execute(
            "UPDATE tenants SET full_access_cap = ?2 WHERE id = ?1",
            params![tenant, cap],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("tenant '{tenant}'")));
        }
        Ok(())
    }

    fn insert_request(&self, r: &AccessRequestRow, first: &HistoryRow) -> Result<()> {
        let (decided, revoked) = (r.stage.decided(), r.stage.revoked());
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        tx.execute(
            &format!(
                "INSERT INTO access_requests ({REQUEST_COLS}) VALUES
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
            ),
            params![
                &r.id.as_bytes()[..],
                r.tenant,
                r.requester,
                r.segment.as_deref().unwrap_or(ALL_SEGMENTS),
                json_list(&r.fields),
                r.purpose,
                r.case_id,
                r.justification,
                r.key_version,
                r.record_budget,
                r.starts_at,
                r.ends_at,
                r.stage.state().as_str(),
                r.origin.as_str(),
                r.created_at,
                decided.map(|d| d.by.as_str()),
                decided.map(|d| d.at),
                revoked.map(|d| d.by.as_str()),
                revoked.map(|d| d.at),
            ],
        )?;
        History::Request.append(&tx, r.id.as_bytes(), first)?;
        tx.commit()?;
        Ok(())
    }

    fn request(&self, id: &GrantId) -> Result<Option<AccessRequestRow>> {
        let id = id.as_bytes();
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {REQUEST_COLS} FROM access_requests WHERE id = ?1"
        ))?;
        st.query_and_then([&id[..]], |r| rows::request(r))?
            .next()
            .transpose()
    }

    fn requests(&self, f: &RequestFilter) -> Result<Vec<AccessRequestRow>> {
        let c = self.readers.get()?;
        // Requester lists are short (one person or one team); bind them as JSON.
        let requesters = f.requesters.as_ref().map(|r| json_list(r));
        let mut st = c.prepare_cached(&format!(
            "SELECT {REQUEST_COLS} FROM access_requests
             WHERE (?1 IS NULL OR tenant = ?1)
               AND (?2 IS NULL OR requester IN (SELECT value FROM json_each(?2)))
               AND (?3 IS NULL OR state = ?3)
               AND (?4 IS NULL OR ends_at > ?4)
             ORDER BY created_at DESC, id LIMIT ?5"
        ))?;
        let rows = st
            .query_and_then(
                params![
                    f.tenant,
                    requesters,
                    f.state.map(RequestState::as_str),
                    f.ends_after,
                    f.limit.max(1) as i64
                ],
                |r| rows::request(r),
            )?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn request_history(&self, id: &GrantId) -> Result<Vec<HistoryRow>> {
        let id = id.as_bytes();
        let c = self.readers.get()?;
        History::Request.read(&c, id)
    }

    fn transition(
        &self,
        id: &GrantId,
        from: RequestState,
        to: RequestState,
        step: &HistoryRow,
    ) -> Result<bool> {
        let id = id.as_bytes();
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        if !move_state(&tx, "access_requests", id, from, to, step)? {
            return Ok(false);
        }
        History::Request.append(&tx, id, step)?;
        tx.commit()?;
        Ok(true)
    }

    fn nominate_full_access(&self, r: &FullAccessRow, first: &HistoryRow) -> Result<()> {
        self.nominate_full_access_row(r, first)
    }

    fn full_access(&self, tenant: &str) -> Result<Vec<FullAccessRow>> {
        self.full_access_rows(tenant)
    }

    fn full_access_history(&self, id: &NominationId) -> Result<Vec<HistoryRow>> {
        let id = id.as_bytes();
        self.full_access_steps(id)
    }

    fn full_access_transition(
        &self,
        id: &NominationId,
        from: RequestState,
        to: RequestState,
        step: &HistoryRow,
        cap: u32,
    ) -> Result<FullAccessOutcome> {
        let id = id.as_bytes();
        self.move_full_access(id, from, to, step, cap)
    }

    fn live_grants(&self, login: &str, now: i64) -> Result<Vec<AccessRequestRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {REQUEST_COLS} FROM access_requests
             WHERE requester = ?1 AND ends_at > ?2 AND state = 'approved'
             ORDER BY starts_at, id"
        ))?;
        let rows = st
            .query_and_then(params![login, now], |r| rows::request(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }
}
