//! The history tables: one step per change in the life of an access request,
//! an export or a full-access nomination, numbered per owner and kept for good.

use rusqlite::{Connection, Row, Transaction, params};

use crate::{HistoryRow, Result};

/// Which history a step belongs to.
#[derive(Clone, Copy, Debug)]
pub(super) enum History {
    Request,
    Export,
    FullAccess,
}

impl History {
    /// (table, column naming the owner).
    fn names(self) -> (&'static str, &'static str) {
        match self {
            History::Request => ("access_request_history", "request"),
            History::Export => ("export_history", "export"),
            History::FullAccess => ("full_access_history", "nomination"),
        }
    }

    /// Appends `step` as the owner's next step, inside the caller's transaction.
    pub(super) fn append(
        self,
        tx: &Transaction<'_>,
        id: &[u8; 16],
        step: &HistoryRow,
    ) -> Result<()> {
        let (table, owner) = self.names();
        tx.prepare_cached(&format!(
            "INSERT INTO {table} ({owner}, step, at, actor, action, comment)
             VALUES (?1, (SELECT COALESCE(MAX(step), 0) + 1 FROM {table} WHERE {owner} = ?1), ?2, ?3, ?4, ?5)"
        ))?
        .execute(params![&id[..], step.at, step.actor, step.action, step.comment])?;
        Ok(())
    }

    /// The owner's steps in order.
    pub(super) fn read(self, c: &Connection, id: &[u8; 16]) -> Result<Vec<HistoryRow>> {
        let (table, owner) = self.names();
        let mut st = c.prepare_cached(&format!(
            "SELECT at, actor, action, comment FROM {table} WHERE {owner} = ?1 ORDER BY step"
        ))?;
        let rows = st
            .query_map([&id[..]], step_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

fn step_from_row(r: &Row<'_>) -> rusqlite::Result<HistoryRow> {
    Ok(HistoryRow {
        at: r.get(0)?,
        actor: r.get(1)?,
        action: r.get(2)?,
        comment: r.get(3)?,
    })
}
