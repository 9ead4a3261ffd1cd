//! Recomputes every hash and link of every log and reports the first break.

use mamori_store::{AuditStore, StoreError};
use serde::Serialize;

use crate::event::{SealedEvent, leaf_hash};

#[derive(Debug, Serialize)]
pub struct LogReport {
    pub log: String,
    pub events: u64,
    pub ok: bool,
    /// Sequence number where verification first failed, and why.
    pub first_bad_seq: Option<u64>,
    pub problem: Option<String>,
    /// Hex hash of the last verified event: compare it with a copy kept elsewhere.
    pub head: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub events: u64,
    pub logs: Vec<LogReport>,
}

const PAGE: usize = 10_000;

pub fn verify(store: &dyn AuditStore, only: Option<&str>) -> Result<VerifyReport, StoreError> {
    let logs: Vec<String> = match only {
        Some(l) => vec![l.to_owned()],
        None => store.logs()?,
    };
    let mut reports = Vec::new();
    for log in logs {
        reports.push(verify_log(store, &log)?);
    }
    Ok(VerifyReport {
        ok: reports.iter().all(|r| r.ok),
        events: reports.iter().map(|r| r.events).sum(),
        logs: reports,
    })
}

fn verify_log(store: &dyn AuditStore, log: &str) -> Result<LogReport, StoreError> {
    let mut prev = [0u8; 32];
    let mut expected_seq = 1u64;
    let mut after = 0i64;
    let fail = |seq: u64, events: u64, problem: String| LogReport {
        log: log.to_owned(),
        events,
        ok: false,
        first_bad_seq: Some(seq),
        problem: Some(problem),
        head: None,
    };
    loop {
        let page = store.scan(log, after, PAGE)?;
        if page.is_empty() {
            break;
        }
        for row in &page {
            after = row.rowid;
            let n = expected_seq - 1;
            if row.seq != expected_seq {
                return Ok(fail(
                    expected_seq,
                    n,
                    format!(
                        "expected sequence {expected_seq}, found {}: an event is missing, duplicated or moved",
                        row.seq
                    ),
                ));
            }
            if leaf_hash(&row.body) != row.hash {
                return Ok(fail(
                    row.seq,
                    n,
                    "stored hash does not match the event's bytes: the event was altered".into(),
                ));
            }
            let Ok(ev) = serde_json::from_slice::<SealedEvent>(&row.body) else {
                return Ok(fail(row.seq, n, "event bytes are not a valid event".into()));
            };
            if ev.log != log || ev.seq != row.seq {
                return Ok(fail(
                    row.seq,
                    n,
                    "event names another position than where it is stored".into(),
                ));
            }
            if ev.prev != hex::encode(prev) {
                return Ok(fail(
                    row.seq,
                    n,
                    "chain broken: the event does not follow the one before it".into(),
                ));
            }
            let columns_match = ev.event.actor == row.actor
                && ev.event.action == row.action
                && ev.event.tenant == row.tenant
                && ev.event.decision.as_str() == row.decision
                && ev.timestamp().map(|t| t.timestamp_micros()) == Some(row.ts);
            if !columns_match {
                return Ok(fail(
                    row.seq,
                    n,
                    "query columns disagree with the hashed event body".into(),
                ));
            }
            prev = row.hash;
            expected_seq += 1;
        }
    }
    let events = expected_seq - 1;
    Ok(LogReport {
        log: log.to_owned(),
        events,
        ok: true,
        first_bad_seq: None,
        problem: None,
        head: (events > 0).then(|| hex::encode(prev)),
    })
}
