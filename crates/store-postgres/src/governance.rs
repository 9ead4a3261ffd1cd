//! Vendors, training, compliance, access requests, standing full access and
//! the history of each request, export and nomination.

use super::{Conn, PgStore, Tx, big, map};
use mamori_store::{
    AccessRequestRow, ComplianceRow, FullAccessOutcome, FullAccessRow, GovernanceStore, GrantId,
    HistoryRow, NominationId, RequestFilter, RequestState, Result, StoreError, TrainingRow,
    VendorRow,
    rows::{
        self, ALL_SEGMENTS, COMPLIANCE_COLS, FULL_ACCESS_COLS, HISTORY_COLS, History, REQUEST_COLS,
        TRAINING_COLS, VENDOR_COLS, json_list,
    },
};

/// Appends `step` as the owner's next step, inside the caller's transaction
/// (which holds the owner's row lock, so steps cannot race).
pub(super) fn append_step(
    tx: &mut Tx<'_>,
    h: History,
    id: &[u8; 16],
    step: &HistoryRow,
) -> Result<()> {
    let (table, owner) = h.names();
    tx.execute(
        &format!(
            "INSERT INTO {table} ({owner}, step, at, actor, action, comment)
             VALUES ($1, (SELECT COALESCE(MAX(step), 0) + 1 FROM {table} WHERE {owner} = $1), $2, $3, $4, $5)"
        ),
        &[&&id[..], &step.at, &step.actor, &step.action, &step.comment],
    )?;
    Ok(())
}

/// The owner's steps in order.
pub(super) fn read_steps(c: &mut Conn, h: History, id: &[u8; 16]) -> Result<Vec<HistoryRow>> {
    let (table, owner) = h.names();
    let found = c.query(
        &format!("SELECT {HISTORY_COLS} FROM {table} WHERE {owner} = $1 ORDER BY step"),
        &[&&id[..]],
    )?;
    map(found, rows::history)
}

/// Moves a row of `table` from `from` to `to` if it is still in `from`
/// (compare-and-set; the row stays locked until the transaction ends).
pub(super) fn move_state(
    tx: &mut Tx<'_>,
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
    let n = tx.execute(
        &format!(
            "UPDATE {table} SET state = $3, {who}_by = $4, {who}_at = $5 WHERE id = $1 AND state = $2"
        ),
        &[&&id[..], &from.as_str(), &to.as_str(), &step.actor, &step.at],
    )?;
    Ok(n == 1)
}

impl GovernanceStore for PgStore {
    fn governance_rev(&self) -> Result<u64> {
        let r = self
            .conn()?
            .query_opt("SELECT rev FROM governance_rev WHERE id = 1", &[])?
            .ok_or_else(|| StoreError::Schema("governance_rev has no row".into()))?;
        rows::Cols::u64(&r, 0)
    }

    fn put_vendor(&self, v: &VendorRow) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO vendors (id, name, contract_start, contract_end, clauses, updated_by, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET name = $2, contract_start = $3, contract_end = $4,
                 clauses = $5, updated_by = $6, updated_at = $7",
            &[
                &v.id,
                &v.name,
                &v.contract_start,
                &v.contract_end,
                &json_list(&v.clauses),
                &v.updated_by,
                &v.updated_at,
            ],
        )?;
        Ok(())
    }

    fn vendor(&self, id: &str) -> Result<Option<VendorRow>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {VENDOR_COLS} FROM vendors WHERE id = $1"),
                &[&id],
            )?
            .map(|r| rows::vendor(&r))
            .transpose()
    }

    fn vendors(&self) -> Result<Vec<VendorRow>> {
        let found = self.conn()?.query(
            &format!("SELECT {VENDOR_COLS} FROM vendors ORDER BY id"),
            &[],
        )?;
        map(found, rows::vendor)
    }

    fn add_training(&self, t: &TrainingRow) -> Result<()> {
        self.conn()?.execute(
            &format!("INSERT INTO training ({TRAINING_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"),
            &[
                &t.login,
                &t.course,
                &t.completed_at,
                &i64::from(t.score),
                &t.expires_at,
                &t.recorded_by,
            ],
        )?;
        Ok(())
    }

    fn training(&self, login: &str) -> Result<Vec<TrainingRow>> {
        let found = self.conn()?.query(
            &format!(
                "SELECT {TRAINING_COLS} FROM training WHERE login = $1 ORDER BY course, completed_at"
            ),
            &[&login],
        )?;
        map(found, rows::training)
    }

    fn add_compliance(&self, x: &ComplianceRow) -> Result<()> {
        self.conn()?.execute(
            &format!("INSERT INTO compliance ({COMPLIANCE_COLS}) VALUES ($1, $2, $3, $4)"),
            &[&x.login, &x.confirmed_at, &x.expires_at, &x.recorded_by],
        )?;
        Ok(())
    }

    fn compliance(&self, login: &str) -> Result<Vec<ComplianceRow>> {
        let found = self.conn()?.query(
            &format!(
                "SELECT {COMPLIANCE_COLS} FROM compliance WHERE login = $1 ORDER BY confirmed_at"
            ),
            &[&login],
        )?;
        map(found, rows::compliance)
    }

    fn set_full_access_cap(&self, tenant: &str, cap: Option<u32>) -> Result<()> {
        let n = self.conn()?.execute(
            "UPDATE tenants SET full_access_cap = $2 WHERE id = $1",
            &[&tenant, &cap.map(i64::from)],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("tenant '{tenant}'")));
        }
        Ok(())
    }

    fn insert_request(&self, r: &AccessRequestRow, first: &HistoryRow) -> Result<()> {
        let (decided, revoked) = (r.stage.decided(), r.stage.revoked());
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        tx.execute(
            &format!(
                "INSERT INTO access_requests ({REQUEST_COLS}) VALUES
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
            ),
            &[
                &&r.id.as_bytes()[..],
                &r.tenant,
                &r.requester,
                &r.segment.as_deref().unwrap_or(ALL_SEGMENTS),
                &json_list(&r.fields),
                &r.purpose,
                &r.case_id,
                &r.justification,
                &i64::from(r.key_version),
                &big(r.record_budget)?,
                &r.starts_at,
                &r.ends_at,
                &r.stage.state().as_str(),
                &r.origin.as_str(),
                &r.created_at,
                &decided.map(|d| d.by.as_str()),
                &decided.map(|d| d.at),
                &revoked.map(|d| d.by.as_str()),
                &revoked.map(|d| d.at),
            ],
        )?;
        append_step(&mut tx, History::Request, r.id.as_bytes(), first)?;
        tx.commit()
    }

    fn request(&self, id: &GrantId) -> Result<Option<AccessRequestRow>> {
        let id = id.as_bytes();
        self.conn()?
            .query_opt(
                &format!("SELECT {REQUEST_COLS} FROM access_requests WHERE id = $1"),
                &[&&id[..]],
            )?
            .map(|r| rows::request(&r))
            .transpose()
    }

    fn requests(&self, f: &RequestFilter) -> Result<Vec<AccessRequestRow>> {
        let found = self.conn()?.query(
            &format!(
                "SELECT {REQUEST_COLS} FROM access_requests
                 WHERE ($1::text IS NULL OR tenant = $1)
                   AND ($2::text[] IS NULL OR requester = ANY($2))
                   AND ($3::text IS NULL OR state = $3)
                   AND ($4::bigint IS NULL OR ends_at > $4)
                 ORDER BY created_at DESC, id LIMIT $5"
            ),
            &[
                &f.tenant,
                &f.requesters,
                &f.state.map(RequestState::as_str),
                &f.ends_after,
                &(f.limit.max(1) as i64),
            ],
        )?;
        map(found, rows::request)
    }

    fn request_history(&self, id: &GrantId) -> Result<Vec<HistoryRow>> {
        let id = id.as_bytes();
        read_steps(&mut *self.conn()?, History::Request, id)
    }

    fn transition(
        &self,
        id: &GrantId,
        from: RequestState,
        to: RequestState,
        step: &HistoryRow,
    ) -> Result<bool> {
        let id = id.as_bytes();
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        if !move_state(&mut tx, "access_requests", id, from, to, step)? {
            return Ok(false);
        }
        append_step(&mut tx, History::Request, id, step)?;
        tx.commit()?;
        Ok(true)
    }

    fn nominate_full_access(&self, r: &FullAccessRow, first: &HistoryRow) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        tx.execute(
            &format!(
                "INSERT INTO full_access ({FULL_ACCESS_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            &[
                &&r.id.as_bytes()[..],
                &r.tenant,
                &r.login,
                &r.state.as_str(),
                &r.nominated_by,
                &r.nominated_at,
                &r.decided_by,
                &r.decided_at,
                &r.revoked_by,
                &r.revoked_at,
            ],
        )
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict(format!(
                "a live full-access nomination of '{}' for '{}'",
                r.login, r.tenant
            )),
            other => other,
        })?;
        append_step(&mut tx, History::FullAccess, r.id.as_bytes(), first)?;
        tx.commit()
    }

    fn full_access(&self, tenant: &str) -> Result<Vec<FullAccessRow>> {
        let found = self.conn()?.query(
            &format!(
                "SELECT {FULL_ACCESS_COLS} FROM full_access WHERE tenant = $1 ORDER BY nominated_at DESC, seq DESC"
            ),
            &[&tenant],
        )?;
        map(found, rows::full_access)
    }

    fn full_access_history(&self, id: &NominationId) -> Result<Vec<HistoryRow>> {
        let id = id.as_bytes();
        read_steps(&mut *self.conn()?, History::FullAccess, id)
    }

    fn full_access_transition(
        &self,
        id: &NominationId,
        from: RequestState,
        to: RequestState,
        step: &HistoryRow,
        cap: u32,
    ) -> Result<FullAccessOutcome> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        let outcome = move_full_access_in(&mut tx, id.as_bytes(), from, to, step, cap)?;
        if outcome == FullAccessOutcome::Done {
            tx.commit()?;
        }
        Ok(outcome)
    }

    fn live_grants(&self, login: &str, now: i64) -> Result<Vec<AccessRequestRow>> {
        let found = self.conn()?.query(
            &format!(
                "SELECT {REQUEST_COLS} FROM access_requests
                 WHERE requester = $1 AND ends_at > $2 AND state = 'approved'
                 ORDER BY starts_at, id"
            ),
            &[&login, &now],
        )?;
        map(found, rows::request)
    }
}

/// Moves a nomination inside `tx` and makes the assignment follow (see
/// `full_access_transition`); the caller commits when the outcome is `Done`.
pub(super) fn move_full_access_in(
    tx: &mut Tx<'_>,
    id: &[u8; 16],
    from: RequestState,
    to: RequestState,
    step: &HistoryRow,
    cap: u32,
) -> Result<FullAccessOutcome> {
    // The tenant row is locked first: approvals for one tenant queue
    // here, so two cannot both count the holders below the cap.
    let Some(row) = tx.query_opt(
        "SELECT t.id, f.login FROM full_access f JOIN tenants t ON t.id = f.tenant
         WHERE f.id = $1 FOR UPDATE OF t",
        &[&&id[..]],
    )?
    else {
        return Ok(FullAccessOutcome::StateChanged);
    };
    let (tenant, login): (String, String) = (row.get(0), row.get(1));
    if !move_state(tx, "full_access", id, from, to, step)? {
        return Ok(FullAccessOutcome::StateChanged);
    }
    match (from, to) {
        (_, RequestState::Approved) => {
            let holders: Vec<String> = tx
                .query(
                    "SELECT login FROM assignments WHERE tenant = $1 AND segment = $2 ORDER BY login",
                    &[&tenant, &ALL_SEGMENTS],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            if holders.len() as u64 >= u64::from(cap) {
                // Dropping the transaction rolls the state change back.
                return Ok(FullAccessOutcome::CapReached(holders));
            }
            tx.execute(
                "INSERT INTO assignments (login, tenant, segment) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&login, &tenant, &ALL_SEGMENTS],
            )?;
        }
        (RequestState::Approved, RequestState::Revoked) => {
            tx.execute(
                "DELETE FROM assignments WHERE login = $1 AND tenant = $2 AND segment = $3",
                &[&login, &tenant, &ALL_SEGMENTS],
            )?;
        }
        _ => {}
    }
    append_step(tx, History::FullAccess, id, step)?;
    Ok(FullAccessOutcome::Done)
}
