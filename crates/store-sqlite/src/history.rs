//! The history tables: one step per change in the life of an access request,
//! an export or a full-access nomination, numbered per owner and kept for good.

use rusqlite::{Connection, Transaction, params};

use mamori_store::{HistoryRow, Result, rows};

pub(super) use mamori_store::rows::History;

/// The history tables in SQL (the shared `History` names the table).
pub(super) trait HistorySql {
    /// Appends `step` as the owner's next step, inside the caller's transaction.
    fn append(self, tx: &Transaction<'_>, id: &[u8; 16], step: &HistoryRow) -> Result<()>;
    /// The owner's steps in order.
    fn read(self, c: &Connection, id: &[u8; 16]) -> Result<Vec<HistoryRow>>;
}

impl HistorySql for History {
    fn append(self, tx: &Transaction<'_>, id: &[u8; 16], step: &HistoryRow) -> Result<()> {
        let (table, owner) = self.names();
        tx.prepare_cached(&format!(
            "INSERT INTO {table} ({owner}, step, at, actor, action, comment)
             VALUES (?1, (SELECT COALESCE(MAX(step), 0) + 1 FROM {table} WHERE {owner} = ?1), ?2, ?3, ?4, ?5)"
        ))?
        .execute(params![&id[..], step.at, step.actor, step.action, step.comment])?;
        Ok(())
    }

    fn read(self, c: &Connection, id: &[u8; 16]) -> Result<Vec<HistoryRow>> {
        let (table, owner) = self.names();
        let mut st = c.prepare_cached(&format!(
            "SELECT {} FROM {table} WHERE {owner} = ?1 ORDER BY step",
            rows::HISTORY_COLS
        ))?;
        st.query_and_then([&id[..]], |r| rows::history(r))?
            .collect()
    }
}
