//! `audit-append`: durable appends per second and append latency of the audit
//! log — hash chain, Merkle tree nodes, signed checkpoints, group commit —
//! with many concurrent writers on one log (the worst case: one sequencer),
//! against a baseline of plain SQLite inserting the same rows into the same
//! table, in transactions of the same mean size, with the same durability.
//! It can also write every event's bytes to a file, so that `verify` can be
//! timed against `sha256sum` over exactly those bytes.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
    time::Instant,
};

use anyhow::{Context, Result};
use mamori_audit::{AuditLog, AuditStore, Decision, Event, checkpoint::Signer};
use mamori_store_sqlite::SqliteAudit;
use rusqlite::{Connection, params};
use serde_json::{Value, json};

pub struct AppendPlan {
    /// A data directory made by `mamori init` (its audit key signs).
    pub data_dir: PathBuf,
    pub writers: usize,
    pub events: u64,
    pub bodies: Option<PathBuf>,
}

const LOG: &str = "tenant/bench";

/// An event shaped like a lookup's: actor, purpose, case, one record, fields.
fn event(writer: usize, i: u64) -> Event {
    let mut e = Event::new(
        format!("user:op{writer:03}"),
        "record.search",
        Decision::Allow,
        "allowed",
    )
    .tenant("bench")
    .detail("search_key", "phone")
    .detail("returned", 1);
    e.actor_role = Some("operator".into());
    e.purpose = Some("inquiry".into());
    e.case_id = Some(format!("CALL-{writer}-{i}"));
    e.records = vec![format!("{:032x}", (writer as u64) << 40 | i)];
    e.fields = [
        "customer_no",
        "name",
        "name_kana",
        "address",
        "phone",
        "mobile",
        "plan",
    ]
    .map(String::from)
    .to_vec();
    e.policies = vec!["staff-read-assigned".into()];
    e.client = Some("127.0.0.1".into());
    e
}

pub fn append(plan: AppendPlan) -> Result<Value> {
    let db = plan.data_dir.join("audit.db");
    let key = std::fs::read_to_string(plan.data_dir.join("audit.key"))
        .context("no audit.key: run `mamori init` on the data directory first")?;
    let signer = Signer::parse(&key)?;
    let store = Arc::new(SqliteAudit::open(&db, 10_000)?);
    let log = AuditLog::start(store.clone(), signer, Default::default())?;
    let per = plan.events / plan.writers as u64;
    let start = Instant::now();
    let threads: Vec<_> = (0..plan.writers)
        .map(|w| {
            let log = log.clone();
            std::thread::spawn(move || -> Result<Vec<u32>> {
                let mut lat = Vec::with_capacity(per as usize);
                for i in 0..per {
                    let t = Instant::now();
                    log.append(event(w, i))?;
                    lat.push(t.elapsed().as_micros() as u32);
                }
                Ok(lat)
            })
        })
        .collect();
    let mut lat = Vec::new();
    for t in threads {
        lat.extend(t.join().map_err(|_| anyhow::anyhow!("writer panicked"))??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    log.flush()?;
    drop(log);
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)] as f64 / 1000.0;
    let n = lat.len() as u64;
    // Every group commit stamps its events with one time: distinct times
    // count the transactions.
    let c = Connection::open(&db)?;
    let batches: u64 = c.query_row(
        "SELECT COUNT(DISTINCT ts) FROM audit_events WHERE log = ?1",
        [LOG],
        |r| r.get(0),
    )?;
    let mean_batch = (n as f64 / batches.max(1) as f64).round().max(1.0) as usize;
    let baseline = baseline(&plan.data_dir, &c, mean_batch)?;
    if let Some(path) = &plan.bodies {
        write_bodies(store.as_ref(), path)?;
    }
    Ok(json!({
        "events": n, "writers": plan.writers, "seconds": elapsed,
        "events_per_s": n as f64 / elapsed,
        "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0),
        "mean_batch": mean_batch,
        "baseline_rows_per_s": baseline,
        "ratio": (n as f64 / elapsed) / baseline,
    }))
}

/// Plain SQLite: the same rows into a table shaped like `audit_events`
/// (same indexes), `mean_batch` rows per transaction, WAL + synchronous=FULL.
fn baseline(dir: &Path, from: &Connection, mean_batch: usize) -> Result<f64> {
    let path = dir.join("baseline.db");
    let _ = std::fs::remove_file(&path);
    let mut c = Connection::open(&path)?;
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE audit_events (log TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL,
             actor TEXT NOT NULL, action TEXT NOT NULL, tenant TEXT, decision TEXT NOT NULL,
             body BLOB NOT NULL, hash BLOB NOT NULL, UNIQUE (log, seq));
         CREATE INDEX audit_events_log ON audit_events(log);
         CREATE INDEX audit_events_actor ON audit_events(actor);
         CREATE INDEX audit_events_ts ON audit_events(ts);",
    )?;
    type Row = (
        String,
        i64,
        i64,
        String,
        String,
        Option<String>,
        String,
        Vec<u8>,
        Vec<u8>,
    );
    let rows: Vec<Row> = from
        .prepare("SELECT log, seq, ts, actor, action, tenant, decision, body, hash FROM audit_events WHERE log = ?1 ORDER BY seq")?
        .query_map([LOG], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let start = Instant::now();
    for chunk in rows.chunks(mean_batch) {
        let tx = c.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO audit_events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for r in chunk {
                st.execute(params![r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8])?;
            }
        }
        tx.commit()?;
    }
    let rate = rows.len() as f64 / start.elapsed().as_secs_f64();
    drop(c);
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("baseline.db{ext}")));
    }
    Ok(rate)
}

/// Every event's bytes of the log, concatenated, in order.
fn write_bodies(store: &dyn AuditStore, path: &Path) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut after = 0;
    loop {
        let page = store.scan(LOG, after, 10_000)?;
        let Some(last) = page.last() else { break };
        after = last.rowid;
        for row in &page {
            out.write_all(&row.body)?;
        }
    }
    out.flush()?;
    Ok(())
}
