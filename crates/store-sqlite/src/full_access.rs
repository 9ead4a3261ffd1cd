//! Standing full access (A5; seed 002): a whole-tenant assignment exists only
//! while a nomination for it is approved. The administrator nominates, the
//! security office approves, denies or revokes; the assignment row follows
//! the nomination's state in the same transaction, so no code path can make
//! a holder without an approval on record.

use rusqlite::{Transaction, params};

use super::{
    SqliteVault,
    governance::move_state,
    history::{History, HistorySql},
};
use mamori_store::rows::{self, ALL_SEGMENTS, FULL_ACCESS_COLS};
use mamori_store::{
    FullAccessOutcome, FullAccessRow, HistoryRow, RequestState, Result, StoreError,
};

/// Logins holding standing full access to `tenant`.
fn holders(tx: &Transaction<'_>, tenant: &str) -> Result<Vec<String>> {
    let mut st = tx.prepare_cached(
        "SELECT login FROM assignments WHERE tenant = ?1 AND segment = ?2 ORDER BY login",
    )?;
    let rows = st
        .query_map(params![tenant, ALL_SEGMENTS], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(rows)
}

impl SqliteVault {
    pub(super) fn nominate_full_access_row(
        &self,
        r: &FullAccessRow,
        first: &HistoryRow,
    ) -> Result<()> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        tx.execute(
            &format!(
                "INSERT INTO full_access ({FULL_ACCESS_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ),
            params![
                &r.id.as_bytes()[..],
                r.tenant,
                r.login,
                r.state.as_str(),
                r.nominated_by,
                r.nominated_at,
                r.decided_by,
                r.decided_at,
                r.revoked_by,
                r.revoked_at
            ],
        )
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!(
                "a live full-access nomination of '{}' for '{}'",
                r.login, r.tenant
            )),
            other => other,
        })?;
        History::FullAccess.append(&tx, r.id.as_bytes(), first)?;
        tx.commit()?;
        Ok(())
    }

    pub(super) fn full_access_rows(&self, tenant: &str) -> Result<Vec<FullAccessRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {FULL_ACCESS_COLS} FROM full_access WHERE tenant = ?1 ORDER BY nominated_at DESC, rowid DESC"
        ))?;
        let rows = st
            .query_and_then([tenant], |r| rows::full_access(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub(super) fn full_access_steps(&self, id: &[u8; 16]) -> Result<Vec<HistoryRow>> {
        let c = self.readers.get()?;
        History::FullAccess.read(&c, id)
    }

    pub(super) fn move_full_access(
        &self,
        id: &[u8; 16],
        from: RequestState,
        to: RequestState,
        step: &HistoryRow,
        cap: u32,
    ) -> Result<FullAccessOutcome> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        let outcome = move_full_access_in(&tx, id, from, to, step, cap)?;
        if outcome == FullAccessOutcome::Done {
            tx.commit()?;
        }
        Ok(outcome)
    }
}

/// Moves a nomination inside `tx` (see `move_full_access`); the caller
/// commits when the outcome is `Done` (dropping `tx` rolls back).
pub(super) fn move_full_access_in(
    tx: &Transaction<'_>,
    id: &[u8; 16],
    from: RequestState,
    to: RequestState,
    step: &HistoryRow,
    cap: u32,
) -> Result<FullAccessOutcome> {
    if !move_state(tx, "full_access", id, from, to, step)? {
        return Ok(FullAccessOutcome::StateChanged);
    }
    let (tenant, login): (String, String) = tx
        .prepare_cached("SELECT tenant, login FROM full_access WHERE id = ?1")?
        .query_row([&id[..]], |r| Ok((r.get(0)?, r.get(1)?)))?;
    match (from, to) {
        (_, RequestState::Approved) => {
            let now = holders(tx, &tenant)?;
            if now.len() as u64 >= u64::from(cap) {
                // Dropping the transaction rolls the state change back.
                return Ok(FullAccessOutcome::CapReached(now));
            }
            tx.execute(
                "INSERT OR IGNORE INTO assignments (login, tenant, segment) VALUES (?1, ?2, ?3)",
                params![login, tenant, ALL_SEGMENTS],
            )?;
        }
        (RequestState::Approved, RequestState::Revoked) => {
            tx.execute(
                "DELETE FROM assignments WHERE login = ?1 AND tenant = ?2 AND segment = ?3",
                params![login, tenant, ALL_SEGMENTS],
            )?;
        }
        _ => {}
    }
    History::FullAccess.append(tx, id, step)?;
    Ok(FullAccessOutcome::Done)
}

#[cfg(test)]
mod tests {
    use super::super::{SqliteVault, migrate, open, vault::MIGRATIONS};
    use mamori_store::{GovernanceStore, RequestState};

    /// A vault made before approval was required keeps its whole-tenant
    /// holders, recorded as approved by the migration, and nothing else.
    #[test]
    fn whole_tenant_assignments_made_before_the_migration_become_approved_holdings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let mut c = open(&path, false).unwrap();
        migrate(&mut c, &MIGRATIONS[..3]).unwrap();
        c.execute_batch(
            "INSERT INTO tenants (id, name, schema, status, current_key_version, created_at)
                 VALUES ('acme', 'アクメ', '', 'active', 1, 0);
             INSERT INTO users (login, role, created_at) VALUES ('sv', 'supervisor', 0), ('op', 'operator', 0);
             INSERT INTO assignments (login, tenant, segment) VALUES ('sv', 'acme', '*'), ('op', 'acme', 'own');",
        )
        .unwrap();
        drop(c);
        let store = SqliteVault::open(&path).unwrap();
        let rows = store.full_access("acme").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].login, "sv");
        assert_eq!(rows[0].state, RequestState::Approved);
        assert_eq!(rows[0].decided_by.as_deref(), Some("migration"));
        let steps = store.full_access_history(&rows[0].id).unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].action, "approved");
    }
}
