//! The audit log on PostgreSQL. Each log has one sequencer: its appender
//! holds a transaction-scoped advisory lock on the log's name from reading
//! the head until commit, so processes appending to the same log take turns
//! and every log stays one gapless chain. A process killed mid-append holds
//! nothing: its transaction and lock end with its connection.

use super::{Conn, PgStore, big, map};
use crate::{
    ArchiveRow, AuditBatch, AuditQuery, AuditRow, AuditStore, CheckpointRow, Heads, LogHead,
    Result,
    rows::{self, ARCHIVE_COLS, AUDIT_COLS, CHECKPOINT_COLS, Cols},
};

const LOG_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtextextended('mamori.audit/' || current_schema() || '/' || $1, 0))";

/// Where `log` ends: its last event and its latest checkpoint.
fn head(tx: &mut super::Tx<'_>, log: &str) -> Result<Option<LogHead>> {
    let Some(last) = tx.query_opt(
        "SELECT seq, hash FROM audit_events WHERE log = $1 ORDER BY seq DESC LIMIT 1",
        &[&log],
    )?
    else {
        return Ok(None);
    };
    let checkpoint = tx
        .query_opt(
            "SELECT size, ts FROM audit_checkpoints WHERE log = $1 ORDER BY size DESC LIMIT 1",
            &[&log],
        )?
        .map(|r| Ok::<_, crate::StoreError>((r.u64(0)?, r.int(1)?)))
        .transpose()?;
    Ok(Some(LogHead {
        size: last.u64(0)?,
        hash: last.hash(1)?,
        checkpoint,
    }))
}

fn node(c: &mut Conn, log: &str, level: u32, index: u64) -> Result<Option<[u8; 32]>> {
    let index = big(index)?;
    if level == 0 {
        let hot = c.query_opt(
            "SELECT hash FROM audit_events WHERE log = $1 AND seq = $2",
            &[&log, &(index + 1)],
        )?;
        if let Some(r) = hot {
            return Ok(Some(r.hash(0)?));
        }
        // An archived event's hash stays behind as a level-0 node.
    }
    c.query_opt(
        "SELECT hash FROM audit_nodes WHERE log = $1 AND level = $2 AND idx = $3",
        &[&log, &(level as i32), &index],
    )?
    .map(|r| r.hash(0))
    .transpose()
}

impl AuditStore for PgStore {
    fn append(&self, logs: &[String], build: &mut dyn FnMut(&Heads) -> AuditBatch) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        // In name order, so two appenders of overlapping logs cannot deadlock.
        let mut order: Vec<&String> = logs.iter().collect();
        order.sort_unstable();
        order.dedup();
        let mut heads = Heads::new();
        for log in order {
            tx.execute(LOG_LOCK, &[log])?;
            if let Some(h) = head(&mut tx, log)? {
                heads.insert(log.clone(), h);
            }
        }
        let batch = build(&heads);
        for e in &batch.events {
            tx.execute(
                &format!(
                    "INSERT INTO audit_events ({AUDIT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ),
                &[
                    &e.log,
                    &big(e.seq)?,
                    &e.ts,
                    &e.actor,
                    &e.action,
                    &e.tenant,
                    &e.decision,
                    &e.body,
                    &&e.hash[..],
                ],
            )?;
        }
        for n in &batch.nodes {
            tx.execute(
                "INSERT INTO audit_nodes (log, level, idx, hash) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&n.log, &(n.level as i32), &big(n.index)?, &&n.hash[..]],
            )?;
        }
        for cp in &batch.checkpoints {
            tx.execute(
                &format!(
                    "INSERT INTO audit_checkpoints ({CHECKPOINT_COLS}) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
                ),
                &[&cp.log, &big(cp.size)?, &cp.ts, &cp.note],
            )?;
        }
        tx.commit()
    }

    fn scan(&self, log: &str, after: i64, limit: usize) -> Result<Vec<AuditRow>> {
        let found = self.conn()?.query(
            &format!(
                "SELECT pos, {AUDIT_COLS} FROM audit_events WHERE log = $1 AND pos > $2 ORDER BY pos LIMIT $3"
            ),
            &[&log, &after, &(limit as i64)],
        )?;
        map(found, rows::audit)
    }

    fn logs(&self) -> Result<Vec<String>> {
        // A skip-scan of the (log, seq) index: one probe per log, not a
        // pass over every event.
        let found = self.conn()?.query(
            "WITH RECURSIVE l(x) AS (
                 SELECT min(log) FROM audit_events
                 UNION ALL
                 SELECT (SELECT min(log) FROM audit_events WHERE log > x) FROM l WHERE x IS NOT NULL)
             SELECT x FROM l WHERE x IS NOT NULL",
            &[],
        )?;
        Ok(found.iter().map(|r| r.get(0)).collect())
    }

    fn query(&self, q: &AuditQuery) -> Result<Vec<AuditRow>> {
        let found = self.conn()?.query(
            &format!(
                "SELECT pos, {AUDIT_COLS} FROM audit_events
                 WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR tenant = $2)
                   AND ($3::text IS NULL OR action = $3)
                   AND ($4::bigint IS NULL OR ts >= $4) AND ($5::bigint IS NULL OR ts < $5)
                   AND ($6::bigint IS NULL OR pos > $6)
                   AND ($8::text IS NULL OR jsonb_exists(convert_from(body, 'UTF8')::jsonb -> 'records', $8))
                   AND ($9::text IS NULL OR convert_from(body, 'UTF8')::jsonb ->> 'purpose' = $9)
                   AND ($10::text IS NULL OR convert_from(body, 'UTF8')::jsonb ->> 'case_id' = $10)
                 ORDER BY pos LIMIT $7"
            ),
            &[
                &q.actor,
                &q.tenant,
                &q.action,
                &q.from_ts,
                &q.to_ts,
                &q.after,
                &(q.limit as i64),
                &q.record,
                &q.purpose,
                &q.case_id,
            ],
        )?;
        map(found, rows::audit)
    }

    fn event(&self, log: &str, seq: u64) -> Result<Option<AuditRow>> {
        self.conn()?
            .query_opt(
                &format!("SELECT pos, {AUDIT_COLS} FROM audit_events WHERE log = $1 AND seq = $2"),
                &[&log, &big(seq)?],
            )?
            .map(|r| rows::audit(&r))
            .transpose()
    }

    fn tree_node(&self, log: &str, level: u32, index: u64) -> Result<Option<[u8; 32]>> {
        node(&mut *self.conn()?, log, level, index)
    }

    fn leaves(&self, log: &str, first: u64, count: u64) -> Result<Vec<[u8; 32]>> {
        let first = big(first)?;
        let last = first + big(count.max(1))? - 1;
        let found = self.conn()?.query(
            "SELECT idx, hash FROM audit_nodes WHERE log = $1 AND level = 0 AND idx BETWEEN $2 AND $3
             UNION ALL
             SELECT seq - 1, hash FROM audit_events WHERE log = $1 AND seq BETWEEN $2 + 1 AND $3 + 1
             ORDER BY 1",
            &[&log, &first, &last],
        )?;
        found.iter().map(|r| r.hash(1)).collect()
    }

    fn checkpoints(&self, log: &str, after: u64, limit: usize) -> Result<Vec<CheckpointRow>> {
        let found = self.conn()?.query(
            &format!(
                "SELECT {CHECKPOINT_COLS} FROM audit_checkpoints
                 WHERE log = $1 AND size > $2 ORDER BY size LIMIT $3"
            ),
            &[&log, &big(after)?, &(limit as i64)],
        )?;
        map(found, rows::checkpoint)
    }

    fn latest_checkpoint(&self, log: &str) -> Result<Option<CheckpointRow>> {
        self.conn()?
            .query_opt(
                &format!(
                    "SELECT {CHECKPOINT_COLS} FROM audit_checkpoints WHERE log = $1 ORDER BY size DESC LIMIT 1"
                ),
                &[&log],
            )?
            .map(|r| rows::checkpoint(&r))
            .transpose()
    }

    fn add_cosignature(&self, log: &str, size: u64, witness: &str, line: &str) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO audit_cosignatures (log, size, witness, line) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&log, &big(size)?, &witness, &line],
        )?;
        Ok(())
    }

    fn cosignatures(&self, log: &str, size: u64) -> Result<Vec<String>> {
        let found = self.conn()?.query(
            "SELECT line FROM audit_cosignatures WHERE log = $1 AND size = $2 ORDER BY witness",
            &[&log, &big(size)?],
        )?;
        Ok(found.iter().map(|r| r.get(0)).collect())
    }

    fn archives(&self, log: &str) -> Result<Vec<ArchiveRow>> {
        let found = self.conn()?.query(
            &format!("SELECT {ARCHIVE_COLS} FROM audit_archives WHERE log = $1 ORDER BY start"),
            &[&log],
        )?;
        map(found, rows::archive)
    }

    fn archive(&self, a: &ArchiveRow) -> Result<()> {
        // The checks, the moved hashes, the archive row and the delete all
        // happen inside mamori_archive_events (schema.rs), under the log's lock.
        self.conn()?.execute(
            "SELECT mamori_archive_events($1, $2, $3, $4, $5, $6, $7)",
            &[
                &a.log,
                &big(a.start)?,
                &big(a.end)?,
                &a.file,
                &&a.sha256[..],
                &a.note,
                &a.archived_at,
            ],
        )?;
        Ok(())
    }
}
