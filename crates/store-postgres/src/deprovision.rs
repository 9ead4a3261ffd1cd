//! Offboarding a person in one transaction (`UserStore::deprovision`):
//! suspended, every credential revoked, every request, export and
//! full-access nomination of theirs still open revoked with its history,
//! and their approvals of exports still collecting approvals withdrawn —
//! all or nothing, so no request of theirs succeeds once it has returned.

use super::{
    PgStore, Tx,
    governance::{append_step, move_full_access_in, move_state},
};
use mamori_store::{
    Deprovisioned, ExportId, GrantId, HistoryRow, NominationId, RequestState, Result, StoreError,
    rows::History,
};

/// The ids and states of `table`'s rows of `who` (in column `column`) that
/// are pending or approved, locked until the transaction ends.
fn open_rows(
    tx: &mut Tx<'_>,
    table: &str,
    column: &str,
    who: &str,
) -> Result<Vec<([u8; 16], RequestState)>> {
    let found = tx.query(
        &format!(
            "SELECT id, state FROM {table} WHERE {column} = $1 AND state IN ('pending', 'approved')
             ORDER BY id FOR UPDATE"
        ),
        &[&who],
    )?;
    found
        .iter()
        .map(|r| {
            let id: Vec<u8> = r.get(0);
            let id: [u8; 16] = id
                .try_into()
                .map_err(|_| StoreError::Db(format!("{table}: an id is not 16 bytes")))?;
            let state = RequestState::parse(r.get(1))
                .ok_or_else(|| StoreError::Db(format!("{table}: an unknown state")))?;
            Ok((id, state))
        })
        .collect()
}

impl PgStore {
    pub(super) fn deprovision_person(
        &self,
        login: &str,
        at: i64,
        step: &HistoryRow,
    ) -> Result<Deprovisioned> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        // The person's row first: a second offboarding, or a token being
        // issued to them, waits here.
        if tx
            .query_opt("SELECT 1 FROM users WHERE login = $1 FOR UPDATE", &[&login])?
            .is_none()
        {
            return Err(StoreError::NotFound(format!("user '{login}'")));
        }
        let mut done = Deprovisioned {
            suspended: tx.execute(
                "UPDATE users SET suspended_at = $2 WHERE login = $1 AND suspended_at IS NULL",
                &[&login, &at],
            )? == 1,
            credentials: tx.execute(
                "UPDATE api_tokens SET revoked_at = $2 WHERE login = $1 AND revoked_at IS NULL",
                &[&login, &at],
            )? as usize,
            ..Default::default()
        };
        for (id, from) in open_rows(&mut tx, "access_requests", "requester", login)? {
            if move_state(
                &mut tx,
                "access_requests",
                &id,
                from,
                RequestState::Revoked,
                step,
            )? {
                append_step(&mut tx, History::Request, &id, step)?;
                done.requests.push(GrantId::from_bytes(id));
            }
        }
        for (id, from) in open_rows(&mut tx, "exports", "requester", login)? {
            tx.execute(
                "UPDATE exports SET state = 'revoked', closed_by = $3, closed_at = $4
                 WHERE id = $1 AND state = $2",
                &[&&id[..], &from.as_str(), &step.actor, &step.at],
            )?;
            tx.execute("DELETE FROM export_packages WHERE export = $1", &[&&id[..]])?;
            append_step(&mut tx, History::Export, &id, step)?;
            done.exports.push(ExportId::from_bytes(id));
        }
        for (id, from) in open_rows(&mut tx, "full_access", "login", login)? {
            // Revoking never meets the cap; only an approval is counted.
            move_full_access_in(&mut tx, &id, from, RequestState::Revoked, step, 0)?;
            done.full_access.push(NominationId::from_bytes(id));
        }
        let pending = tx.query(
            "SELECT a.export FROM export_approvals a JOIN exports e ON e.id = a.export
             WHERE a.approver = $1 AND e.state = 'pending' ORDER BY a.export FOR UPDATE OF e",
            &[&login],
        )?;
        let withdrawn = HistoryRow {
            action: "approval withdrawn".into(),
            ..step.clone()
        };
        for row in pending {
            let id: Vec<u8> = row.get(0);
            let id: [u8; 16] = id
                .try_into()
                .map_err(|_| StoreError::Db("export_approvals: an id is not 16 bytes".into()))?;
            tx.execute(
                "DELETE FROM export_approvals WHERE export = $1 AND approver = $2",
                &[&&id[..], &login],
            )?;
            append_step(&mut tx, History::Export, &id, &withdrawn)?;
            done.approvals.push(ExportId::from_bytes(id));
        }
        tx.commit()?;
        self.tokens.forget();
        Ok(done)
    }
}
