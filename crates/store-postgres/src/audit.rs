//! The audit log on PostgreSQL. Each log has one sequencer: its appender
//! holds a transaction-scoped advisory lock on the log's name from reading
//! the head until commit, so processes appending to the same log take turns
//! and every log stays one gapless chain. A process killed mid-append holds
//! nothing: its transaction and lock end with its connection.

use postgres::types::ToSql;

use super::{Conn, PgStore, big, map};
use mamori_store::{
    ArchiveRow, AuditBatch, AuditQuery, AuditRow, AuditStore, CheckpointRow, Heads, LogHead,
    Result,
    rows::{self, ARCHIVE_COLS, AUDIT_COLS, CHECKPOINT_COLS, Cols},
};

const DIALECT: rows::Dialect = rows::Dialect {
    pos: "pos",
    ph: |n| format!("${n}"),
    has_record: |p| format!("jsonb_exists(convert_from(body, 'UTF8')::jsonb -> 'records', {p})"),
    field_is: |f, p| format!("convert_from(body, 'UTF8')::jsonb ->> '{f}' = {p}"),
    ts_walk: "ts",
};

/// Takes `log`'s sequencer lock (until the transaction ends). Sent over the
/// simple protocol together with `BEGIN`, so the name is a quoted literal.
fn log_lock(log: &str) -> String {
    format!(
        "SELECT pg_advisory_xact_lock(hashtextextended('mamori.audit/' || current_schema() || '/' || '{}', 0));",
        log.replace('\'', "''")
    )
}

/// Where `log` ends: its last event and its latest checkpoint, in one
/// statement (after the lock: a statement's snapshot is taken as it starts,
/// so the head must not be read by the statement that waits for the lock).
fn head(c: &mut Conn, log: &str) -> Result<Option<LogHead>> {
    let found = c.query(
        "SELECT e.seq, e.hash, k.size, k.ts FROM (SELECT 1) AS one
         LEFT JOIN LATERAL (SELECT seq, hash FROM audit_events WHERE log = $1
                            ORDER BY seq DESC LIMIT 1) e ON true
         LEFT JOIN LATERAL (SELECT size, ts FROM audit_checkpoints WHERE log = $1
                            ORDER BY size DESC LIMIT 1) k ON true",
        &[&log],
    )?;
    let Some(r) = found.first() else {
        return Ok(None);
    };
    if r.opt_int(0)?.is_none() {
        return Ok(None);
    }
    let checkpoint = match r.opt_int(3)? {
        Some(ts) => Some((r.u64(2)?, ts)),
        None => None,
    };
    Ok(Some(LogHead {
        size: r.u64(0)?,
        hash: r.hash(1)?,
        checkpoint,
    }))
}

/// Every row of a batch in one statement (each array may be empty).
const INSERT_BATCH: &str = "WITH
  e AS (INSERT INTO audit_events (log, seq, ts, actor, action, tenant, decision, body, hash)
        SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[],
                             $6::text[], $7::text[], $8::bytea[], $9::bytea[])),
  n AS (INSERT INTO audit_nodes (log, level, idx, hash)
        SELECT * FROM unnest($10::text[], $11::int[], $12::bigint[], $13::bytea[])
        ON CONFLICT DO NOTHING),
  k AS (INSERT INTO audit_checkpoints (log, size, ts, note)
        SELECT * FROM unnest($14::text[], $15::bigint[], $16::bigint[], $17::text[])
        ON CONFLICT DO NOTHING)
SELECT 1";

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

fn insert_batch(c: &mut Conn, batch: &AuditBatch) -> Result<()> {
    let (ev, nodes, cps) = (&batch.events, &batch.nodes, &batch.checkpoints);
    if ev.is_empty() && nodes.is_empty() && cps.is_empty() {
        return Ok(());
    }
    let seqs = ev
        .iter()
        .map(|e| big(e.seq))
        .collect::<Result<Vec<i64>>>()?;
    let idx = nodes
        .iter()
        .map(|n| big(n.index))
        .collect::<Result<Vec<i64>>>()?;
    let sizes = cps
        .iter()
        .map(|k| big(k.size))
        .collect::<Result<Vec<i64>>>()?;
    c.execute(
        INSERT_BATCH,
        &[
            &ev.iter().map(|e| e.log.as_str()).collect::<Vec<_>>(),
            &seqs,
            &ev.iter().map(|e| e.ts).collect::<Vec<_>>(),
            &ev.iter().map(|e| e.actor.as_str()).collect::<Vec<_>>(),
            &ev.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            &ev.iter().map(|e| e.tenant.as_deref()).collect::<Vec<_>>(),
            &ev.iter().map(|e| e.decision.as_str()).collect::<Vec<_>>(),
            &ev.iter().map(|e| e.body.as_slice()).collect::<Vec<_>>(),
            &ev.iter().map(|e| &e.hash[..]).collect::<Vec<_>>(),
            &nodes.iter().map(|n| n.log.as_str()).collect::<Vec<_>>(),
            &nodes.iter().map(|n| n.level as i32).collect::<Vec<_>>(),
            &idx,
            &nodes.iter().map(|n| &n.hash[..]).collect::<Vec<_>>(),
            &cps.iter().map(|k| k.log.as_str()).collect::<Vec<_>>(),
            &sizes,
            &cps.iter().map(|k| k.ts).collect::<Vec<_>>(),
            &cps.iter().map(|k| k.note.as_str()).collect::<Vec<_>>(),
        ],
    )?;
    Ok(())
}

impl AuditStore for PgStore {
    fn append(&self, logs: &[String], build: &mut dyn FnMut(&Heads) -> AuditBatch) -> Result<()> {
        // Four round trips whatever the batch: begin and lock, read the
        // heads, insert everything, commit. The lock is held across them, so
        // each one is time other nodes' appenders wait.
        // In name order, so two appenders of overlapping logs cannot deadlock.
        let mut order: Vec<&String> = logs.iter().collect();
        order.sort_unstable();
        order.dedup();
        let mut begin = String::from("BEGIN;");
        for log in &order {
            begin.push_str(&log_lock(log));
        }
        let mut tx = super::Begun::new(self.conn()?, &begin)?;
        let mut heads = Heads::new();
        for log in order {
            if let Some(h) = head(&mut tx, log)? {
                heads.insert(log.clone(), h);
            }
        }
        let batch = build(&heads);
        insert_batch(&mut tx, &batch)?;
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
        let mut conn = self.conn()?;
        let Some(q) = rows::audit_start(q, |actor, ts| {
            // The fence (OFFSET 0) keeps the planner from turning min() into
            // a walk of (actor, pos) filtered by time — the very walk this
            // avoids.
            let row = match actor {
                Some(actor) => conn.query_opt(
                    "SELECT min(pos) FROM (SELECT pos FROM audit_events
                      WHERE actor = $1 AND ts >= $2 OFFSET 0) f",
                    &[&actor, &ts],
                )?,
                None => conn.query_opt(
                    "SELECT min(pos) FROM (SELECT pos FROM audit_events
                      WHERE ts >= $1 OFFSET 0) f",
                    &[&ts],
                )?,
            };
            Ok(row.and_then(|r| r.get(0)))
        })?
        else {
            return Ok(Vec::new());
        };
        let (sql, args) = rows::audit_query(&q, &DIALECT);
        let args: Vec<Box<dyn ToSql + Sync>> = args
            .into_iter()
            .map(|a| -> Box<dyn ToSql + Sync> {
                match a {
                    rows::Arg::Text(s) => Box::new(s),
                    rows::Arg::Int(i) => Box::new(i),
                }
            })
            .collect();
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        map(conn.query(&sql, &refs)?, rows::audit)
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

    fn latest_cosigned(&self, log: &str) -> Result<Option<CheckpointRow>> {
        self.conn()?
            .query_opt(
                "SELECT c.log, c.size, c.ts, c.note FROM audit_checkpoints c
                 WHERE c.log = $1 AND EXISTS (SELECT 1 FROM audit_cosignatures s
                                              WHERE s.log = c.log AND s.size = c.size)
                 ORDER BY c.size DESC LIMIT 1",
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
