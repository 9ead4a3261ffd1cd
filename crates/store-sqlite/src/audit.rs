//! SQLite: the audit database (`audit.db`), its events, checkpoints and witness state.

use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};

use super::{Pool, migrate, open_with};
use mamori_store::rows::{self, ARCHIVE_COLS, AUDIT_COLS, CHECKPOINT_COLS};
use mamori_store::{
    ArchiveRow, AuditBatch, AuditQuery, AuditRow, AuditStore, CheckpointRow, Heads, LogHead,
    Result, StoreError,
};

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/audit/0001_events.sql"),
    include_str!("../migrations/audit/0002_merkle_tree.sql"),
    include_str!("../migrations/audit/0003_archives.sql"),
    include_str!("../migrations/audit/0004_cosignatures.sql"),
    include_str!("../migrations/audit/0005_query_indexes.sql"),
    include_str!("../migrations/audit/0006_tenant_as_log.sql"),
    include_str!("../migrations/audit/0007_actor_time.sql"),
];

/// The delete guard on events, lifted only inside the archive transaction.
const NO_DELETE: &str = "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;";

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

impl SqliteAudit {
    /// Opens `audit.db` without writing to it (an auditor's copy): nothing
    /// is migrated, and every append fails.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        let writer = open_with(path, true, 1000)?;
        let version: usize = writer.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version != MIGRATIONS.len() {
            return Err(mamori_store::StoreError::Schema(format!(
                "{} has audit schema version {version}, this binary reads version {}; \
                 open the data directory once with this version of mamori first",
                path.display(),
                MIGRATIONS.len()
            )));
        }
        Ok(Self {
            writer: Mutex::new(writer),
            readers: Pool::new(path, true),
        })
    }
}

const DIALECT: rows::Dialect = rows::Dialect {
    pos: "rowid",
    ph: |n| format!("?{n}"),
    has_record: |p| {
        format!(
            "EXISTS (SELECT 1 FROM json_each(CAST(body AS TEXT), '$.records') WHERE value = {p})"
        )
    },
    field_is: |f, p| format!("json_extract(CAST(body AS TEXT), '$.{f}') = {p}"),
    ts_walk: "+ts",
};

/// Where `log` ends: its last event and its latest checkpoint.
fn head(c: &Connection, log: &str) -> Result<Option<LogHead>> {
    let last: Option<(u64, [u8; 32])> = c
        .prepare_cached(
            "SELECT seq, hash FROM audit_events WHERE log = ?1 ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([log], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((size, hash)) = last else {
        return Ok(None);
    };
    let checkpoint = c
        .prepare_cached(
            "SELECT size, ts FROM audit_checkpoints WHERE log = ?1 ORDER BY size DESC LIMIT 1",
        )?
        .query_row([log], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(Some(LogHead {
        size,
        hash,
        checkpoint,
    }))
}

fn node(c: &Connection, log: &str, level: u32, index: u64) -> Result<Option<[u8; 32]>> {
    if level == 0 {
        let hot = c
            .prepare_cached("SELECT hash FROM audit_events WHERE log = ?1 AND seq = ?2")?
            .query_row(params![log, index + 1], |r| r.get(0))
            .optional()?;
        if hot.is_some() {
            return Ok(hot);
        }
        // An archived event's hash stays behind as a level-0 node.
    }
    Ok(
        c.prepare_cached(
            "SELECT hash FROM audit_nodes WHERE log = ?1 AND level = ?2 AND idx = ?3",
        )?
        .query_row(params![log, level, index], |r| r.get(0))
        .optional()?,
    )
}

impl AuditStore for SqliteAudit {
    fn append(&self, logs: &[String], build: &mut dyn FnMut(&Heads) -> AuditBatch) -> Result<()> {
        let mut w = self.writer.lock();
        // IMMEDIATE takes the write lock first, so no other process can
        // append between reading the heads and inserting.
        let tx = w.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut heads = Heads::new();
        for log in logs {
            if let Some(h) = head(&tx, log)? {
                heads.insert(log.clone(), h);
            }
        }
        let batch = build(&heads);
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO audit_events (log, seq, ts, actor, action, tenant, decision, body, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for e in &batch.events {
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
            let mut st = tx.prepare_cached(
                "INSERT OR IGNORE INTO audit_nodes (log, level, idx, hash) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for n in &batch.nodes {
                st.execute(params![n.log, n.level, n.index, &n.hash[..]])?;
            }
            let mut st = tx.prepare_cached(
                "INSERT OR IGNORE INTO audit_checkpoints (log, size, ts, note) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for c in &batch.checkpoints {
                st.execute(params![c.log, c.size, c.ts, c.note])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn scan(&self, log: &str, after: i64, limit: usize) -> Result<Vec<AuditRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT rowid, {AUDIT_COLS} FROM audit_events WHERE log = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3"
        ))?;
        let rows = st
            .query_and_then(params![log, after, limit as i64], |r| rows::audit(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn logs(&self) -> Result<Vec<String>> {
        let c = self.readers.get()?;
        // A skip-scan of the (log, seq) index: one probe per log, not a
        // pass over every event (processes list the logs when they start).
        let mut st = c.prepare_cached(
            "WITH RECURSIVE l(x) AS (
                 SELECT min(log) FROM audit_events
                 UNION ALL
                 SELECT (SELECT min(log) FROM audit_events WHERE log > x) FROM l WHERE x IS NOT NULL)
             SELECT x FROM l WHERE x IS NOT NULL",
        )?;
        let rows = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn query(&self, q: &AuditQuery) -> Result<Vec<AuditRow>> {
        let c = self.readers.get()?;
        let Some(q) = rows::audit_start(q, |actor, ts| match actor {
            Some(actor) => {
                let mut st = c.prepare_cached(
                    "SELECT min(rowid) FROM audit_events INDEXED BY audit_events_actor_ts
                     WHERE actor = ?1 AND ts >= ?2",
                )?;
                Ok(st.query_row(params![actor, ts], |r| r.get(0))?)
            }
            None => {
                let mut st = c.prepare_cached(
                    "SELECT min(rowid) FROM audit_events INDEXED BY audit_events_ts WHERE ts >= ?1",
                )?;
                Ok(st.query_row(params![ts], |r| r.get(0))?)
            }
        })?
        else {
            return Ok(Vec::new());
        };
        let (sql, args) = rows::audit_query(&q, &DIALECT);
        let args: Vec<rusqlite::types::Value> = args
            .into_iter()
            .map(|a| match a {
                rows::Arg::Text(s) => rusqlite::types::Value::Text(s),
                rows::Arg::Int(i) => rusqlite::types::Value::Integer(i),
            })
            .collect();
        let mut st = c.prepare_cached(&sql)?;
        st.query_and_then(rusqlite::params_from_iter(args), |r| rows::audit(r))?
            .collect()
    }

    fn event(&self, log: &str, seq: u64) -> Result<Option<AuditRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT rowid, {AUDIT_COLS} FROM audit_events WHERE log = ?1 AND seq = ?2"
        ))?;
        st.query_and_then(params![log, seq], |r| rows::audit(r))?
            .next()
            .transpose()
    }

    fn tree_node(&self, log: &str, level: u32, index: u64) -> Result<Option<[u8; 32]>> {
        let c = self.readers.get()?;
        node(&c, log, level, index)
    }
    fn leaves(&self, log: &str, first: u64, count: u64) -> Result<Vec<[u8; 32]>> {
        let c = self.readers.get()?;
        let last = first + count.max(1) - 1;
        let mut st = c.prepare_cached(
            "SELECT idx, hash FROM audit_nodes WHERE log = ?1 AND level = 0 AND idx BETWEEN ?2 AND ?3
             UNION ALL
             SELECT seq - 1, hash FROM audit_events WHERE log = ?1 AND seq BETWEEN ?2 + 1 AND ?3 + 1
             ORDER BY 1",
        )?;
        let rows = st
            .query_map(params![log, first, last], |r| r.get::<_, [u8; 32]>(1))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn checkpoints(&self, log: &str, after: u64, limit: usize) -> Result<Vec<CheckpointRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            &format!("SELECT {CHECKPOINT_COLS} FROM audit_checkpoints WHERE log = ?1 AND size > ?2 ORDER BY size LIMIT ?3"),
        )?;
        let rows = st
            .query_and_then(params![log, after, limit as i64], |r| rows::checkpoint(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn latest_checkpoint(&self, log: &str) -> Result<Option<CheckpointRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            &format!("SELECT {CHECKPOINT_COLS} FROM audit_checkpoints WHERE log = ?1 ORDER BY size DESC LIMIT 1"),
        )?;
        st.query_and_then([log], |r| rows::checkpoint(r))?
            .next()
            .transpose()
    }

    fn latest_cosigned(&self, log: &str) -> Result<Option<CheckpointRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT c.log, c.size, c.ts, c.note FROM audit_checkpoints c
             WHERE c.log = ?1 AND EXISTS (SELECT 1 FROM audit_cosignatures s
                                          WHERE s.log = c.log AND s.size = c.size)
             ORDER BY c.size DESC LIMIT 1",
        )?;
        st.query_and_then([log], |r| rows::checkpoint(r))?
            .next()
            .transpose()
    }

    fn add_cosignature(&self, log: &str, size: u64, witness: &str, line: &str) -> Result<()> {
        self.writer.lock().execute(
            "INSERT OR IGNORE INTO audit_cosignatures (log, size, witness, line) VALUES (?1, ?2, ?3, ?4)",
            params![log, size, witness, line],
        )?;
        Ok(())
    }

    fn cosignatures(&self, log: &str, size: u64) -> Result<Vec<String>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT line FROM audit_cosignatures WHERE log = ?1 AND size = ?2 ORDER BY witness",
        )?;
        let rows = st
            .query_map(params![log, size], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rows)
    }

    fn archives(&self, log: &str) -> Result<Vec<ArchiveRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {ARCHIVE_COLS} FROM audit_archives WHERE log = ?1 ORDER BY start"
        ))?;
        let rows = st
            .query_and_then([log], |r| rows::archive(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn archive(&self, a: &ArchiveRow) -> Result<()> {
        let mut w = self.writer.lock();
        let tx = w.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (first, last): (Option<u64>, Option<u64>) = tx.query_row(
            "SELECT min(seq), max(seq) FROM audit_events WHERE log = ?1",
            [&a.log],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if first != Some(a.start) || last.is_none_or(|l| l <= a.end) || a.end < a.start {
            return Err(StoreError::Conflict(format!(
                "archive of {} events {}..={}: the hot log holds {:?}..={:?}",
                a.log, a.start, a.end, first, last
            )));
        }
        tx.execute(
            "INSERT OR IGNORE INTO audit_nodes (log, level, idx, hash)
             SELECT log, 0, seq - 1, hash FROM audit_events WHERE log = ?1 AND seq BETWEEN ?2 AND ?3",
            params![a.log, a.start, a.end],
        )?;
        tx.execute(
            "INSERT INTO audit_archives (log, start, end, file, sha256, note, archived_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                a.log,
                a.start,
                a.end,
                a.file,
                &a.sha256[..],
                a.note,
                a.archived_at
            ],
        )?;
        // The one place events leave the hot log: the guard is lifted and
        // restored inside this transaction, so no other writer ever sees it gone.
        tx.execute_batch("DROP TRIGGER audit_events_no_delete;")?;
        tx.execute(
            "DELETE FROM audit_events WHERE log = ?1 AND seq BETWEEN ?2 AND ?3",
            params![a.log, a.start, a.end],
        )?;
        tx.execute_batch(NO_DELETE)?;
        tx.commit()?;
        Ok(())
    }
}
