//! Offboarding a person in one transaction (`UserStore::deprovision`):
//! suspended, every credential revoked, every request, export and
//! full-access nomination of theirs still open revoked with its history,
//! and their approvals of exports still collecting approvals withdrawn —
//! all or nothing, so no request of theirs succeeds once it has returned.

use rusqlite::{Transaction, params};

use super::{
    SqliteVault,
    full_access::move_full_access_in,
    governance::move_state,
    history::{History, HistorySql},
};
use mamori_store::{
    Deprovisioned, ExportId, GrantId, HistoryRow, NominationId, RequestState, Result, StoreError,
};

/// The ids and states of `table`'s rows of `who` (in column `column`) that
/// are pending or approved.
fn open_rows(
    tx: &Transaction<'_>,
    table: &str,
    column: &str,
    who: &str,
) -> Result<Vec<([u8; 16], RequestState)>> {
    let mut st = tx.prepare_cached(&format!(
        "SELECT id, state FROM {table} WHERE {column} = ?1 AND state IN ('pending', 'approved') ORDER BY id"
    ))?;
    let rows = st
        .query_map([who], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(id, state)| {
            let id: [u8; 16] = id
                .try_into()
                .map_err(|_| StoreError::Db(format!("{table}: an id is not 16 bytes")))?;
            let state = RequestState::parse(&state)
                .ok_or_else(|| StoreError::Db(format!("{table}: an unknown state")))?;
            Ok((id, state))
        })
        .collect()
}

impl SqliteVault {
    pub(super) fn deprovision_person(
        &self,
        login: &str,
        at: i64,
        step: &HistoryRow,
    ) -> Result<Deprovisioned> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        let known: i64 = tx.query_row(
            "SELECT count(*) FROM users WHERE login = ?1",
            [login],
            |r| r.get(0),
        )?;
        if known == 0 {
            return Err(StoreError::NotFound(format!("user '{login}'")));
        }
        let mut done = Deprovisioned {
            suspended: tx.execute(
                "UPDATE users SET suspended_at = ?2 WHERE login = ?1 AND suspended_at IS NULL",
                params![login, at],
            )? == 1,
            credentials: tx.execute(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE login = ?1 AND revoked_at IS NULL",
                params![login, at],
            )?,
            ..Default::default()
        };
        for (id, from) in open_rows(&tx, "access_requests", "requester", login)? {
            if move_state(
                &tx,
                "access_requests",
                &id,
                from,
                RequestState::Revoked,
                step,
            )? {
                History::Request.append(&tx, &id, step)?;
                done.requests.push(GrantId::from_bytes(id));
            }
        }
        for (id, from) in open_rows(&tx, "exports", "requester", login)? {
            tx.execute(
                "UPDATE exports SET state = 'revoked', closed_by = ?3, closed_at = ?4
                 WHERE id = ?1 AND state = ?2",
                params![&id[..], from.as_str(), step.actor, step.at],
            )?;
            tx.execute("DELETE FROM export_packages WHERE export = ?1", [&id[..]])?;
            History::Export.append(&tx, &id, step)?;
            done.exports.push(ExportId::from_bytes(id));
        }
        for (id, from) in open_rows(&tx, "full_access", "login", login)? {
            // Revoking never meets the cap; only an approval is counted.
            move_full_access_in(&tx, &id, from, RequestState::Revoked, step, 0)?;
            done.full_access.push(NominationId::from_bytes(id));
        }
        let pending: Vec<Vec<u8>> = tx
            .prepare_cached(
                "SELECT a.export FROM export_approvals a JOIN exports e ON e.id = a.export
                 WHERE a.approver = ?1 AND e.state = 'pending' ORDER BY a.export",
            )?
            .query_map([login], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let withdrawn = HistoryRow {
            action: "approval withdrawn".into(),
            ..step.clone()
        };
        for id in pending {
            let id: [u8; 16] = id
                .try_into()
                .map_err(|_| StoreError::Db("export_approvals: an id is not 16 bytes".into()))?;
            tx.execute(
                "DELETE FROM export_approvals WHERE export = ?1 AND approver = ?2",
                params![&id[..], login],
            )?;
            History::Export.append(&tx, &id, &withdrawn)?;
            done.approvals.push(ExportId::from_bytes(id));
        }
        tx.commit()?;
        Ok(done)
    }
}
