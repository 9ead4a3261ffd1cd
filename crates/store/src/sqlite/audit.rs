use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Pool, migrate, open_with};
use crate::{AuditQuery, AuditRow, AuditStore, Heads, Result};

const MIGRATIONS: &[&str] = &[r#"
-- The audit log. Rows are only ever inserted; `body` holds the event's
-- canonical bytes and `hash` = SHA-256(0x00 || body), which chains through
-- the previous hash inside the body. The other columns exist for querying.
CREATE TABLE audit_events (
    log TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    tenant TEXT,
    decision TEXT NOT NULL,
    body BLOB NOT NULL,
    hash BLOB NOT NULL,
    UNIQUE (log, seq)
);
CREATE INDEX audit_events_log ON audit_events(log);
CREATE INDEX audit_events_actor ON audit_events(actor, ts);
CREATE INDEX audit_events_tenant ON audit_events(tenant, ts);
CREATE INDEX audit_events_ts ON audit_events(ts);
-- Append-only inside SQLite too: updates and deletes abort.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
"#];

/// The audit log in `audit.db`.
pub struct SqliteAudit {
    writer: Mutex<Connection>,
    readers: Pool,
}

impl SqliteAudit {
    /// Opens `audit.db`. `busy_ms` bounds how long an append waits for a
    /// lock held elsewhere before it fails (and the request fails closed).
    pub fn open(path: &Path, busy_ms: u64) -> Result<Self> {
        let mut writer = open_with(path, false, busy_ms)?;
        migrate(&mut writer, MIGRATIONS)?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers: Pool::new(path, true),
        })
    }
}

const COLS: &str = "rowid, log, seq, ts, actor, action, tenant, decision, body, hash";

fn from_row(r: &Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        rowid: r.get(0)?,
        log: r.get(1)?,
        seq: r.get(2)?,
        ts: r.get(3)?,
        actor: r.get(4)?,
        action: r.get(5)?,
        tenant: r.get(6)?,
        decision: r.get(7)?,
        body: r.get(8)?,
        hash: r.get(9)?,
    })
}

impl AuditStore for SqliteAudit {
    fn append(
        &self,
        logs: &[String],
        build: &mut dyn FnMut(&Heads) -> Vec<AuditRow>,
    ) -> Result<()> {
        let mut w = self.writer.lock();
        // IMMEDIATE takes the write lock first, so no other process can append between reading the heads and inserting.
        let tx = w.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut heads = Heads::new();
        {
            let mut head = tx.prepare_cached(
                "SELECT seq, hash FROM audit_events WHERE log = ?1 ORDER BY seq DESC LIMIT 1",
            )?;
            for log in logs {
                if let Some(h) = head
                    .query_row([log], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?
                {
                    heads.insert(log.clone(), h);
                }
            }
        }
        let events = build(&heads);
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO audit_events (log, seq, ts, actor, action, tenant, decision, body, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for e in &events {
                st.execute(params![
                    e.log,
                    e.seq,
                    e.ts,
                    e.actor,
                    e.action,
                    e.tenant,
                    e.decision,
                    e.body,
                    &e.hash[..]
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn scan(&self, log: &str, after: i64, limit: usize) -> Result<Vec<AuditRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {COLS} FROM audit_events WHERE log = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3"
        ))?;
        let rows = st
            .query_map(params![log, after, limit as i64], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn logs(&self) -> Result<Vec<String>> {
        let c = self.readers.get()?;
        let mut st = c.prepare("SELECT DISTINCT log FROM audit_events ORDER BY log")?;
        let rows = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn query(&self, q: &AuditQuery) -> Result<Vec<AuditRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {COLS} FROM audit_events
             WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR tenant = ?2) AND (?3 IS NULL OR action = ?3)
               AND (?4 IS NULL OR ts >= ?4) AND (?5 IS NULL OR ts < ?5) AND (?6 IS NULL OR rowid > ?6)
             ORDER BY rowid LIMIT ?7"
        ))?;
        let rows = st
            .query_map(
                params![
                    q.actor,
                    q.tenant,
                    q.action,
                    q.from_ts,
                    q.to_ts,
                    q.after,
                    q.limit as i64
                ],
                from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}
