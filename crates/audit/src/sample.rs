//! The auditor's random sample (D2): a reproducible draw of access events
//! for a surprise check by a third party, each with its inclusion proof in
//! a signed checkpoint, so the auditor needs neither the vault's word nor
//! its database to trust what they were shown.
//!
//! The draw is defined so anyone can redo it from the seed: every access
//! event (an action under `record.`) in the period that a signed checkpoint
//! covers is ranked by SHA-256("mamori-sample/v1\n" ‖ seed ‖ "\n" ‖ log ‖
//! "\n" ‖ seq in decimal), and the `n` lowest ranks are the sample. No
//! random-number generator whose output could change between versions, and
//! the result does not depend on the order events are read in.

use std::collections::BinaryHeap;

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use mamori_store::{AuditQuery, AuditStore, StoreError};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{
    SealedEvent,
    checkpoint::Verifier,
    merkle::{self, Hash},
    proofs,
};

/// What to draw.
pub struct SampleSpec<'a> {
    pub n: usize,
    /// Any text; the same seed over the same period gives the same sample.
    pub seed: &'a str,
    /// Microseconds since the epoch, inclusive / exclusive.
    pub from_ts: Option<i64>,
    pub to_ts: Option<i64>,
    /// Only this log (`tenant/<id>`); all tenant logs otherwise.
    pub log: Option<&'a str>,
}

/// One drawn event with the proof that it is in its log.
#[derive(Debug, Serialize)]
pub struct Drawn {
    pub log: String,
    pub seq: u64,
    /// Hex rank: how it was chosen.
    pub rank: String,
    /// The event, parsed, for reading.
    pub event: SealedEvent,
    /// Base64 of the event's bytes as stored: what the leaf hashes. A
    /// verifier hashes these, never a re-serialisation of `event`.
    pub event_bytes: String,
    /// Hex SHA-256(0x00 ‖ event bytes).
    pub leaf_hash: String,
    /// Hex hashes, leaf to root, in the tree of `size`.
    pub proof: Vec<String>,
    pub size: u64,
}

#[derive(Debug, Serialize)]
pub struct Sample {
    pub seed: String,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Access events in the period that a signed checkpoint covers.
    pub population: u64,
    pub events: Vec<Drawn>,
    /// The signed checkpoint of each log the proofs lead to.
    pub checkpoints: Vec<SampleCheckpoint>,
}

#[derive(Debug, Serialize)]
pub struct SampleCheckpoint {
    pub log: String,
    pub size: u64,
    pub note: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the audit log does not prove itself: {0}")]
    Unproven(String),
    #[error("no randomness for a seed: {0}")]
    Random(String),
}

/// A fresh random seed (128 bits, hex), for a draw nobody could predict.
pub fn new_seed() -> Result<String, SampleError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| SampleError::Random(e.to_string()))?;
    Ok(hex::encode(b))
}

fn rank(seed: &str, log: &str, seq: u64) -> Hash {
    let mut h = Sha256::new();
    h.update(b"mamori-sample/v1\n");
    h.update(seed.as_bytes());
    h.update(b"\n");
    h.update(log.as_bytes());
    h.update(b"\n");
    h.update(seq.to_string().as_bytes());
    h.finalize().into()
}

/// Draws the sample and proves each event against its log's latest
/// checkpoint, checked with `key` before anything is returned.
pub fn draw(
    store: &dyn AuditStore,
    key: &Verifier,
    spec: &SampleSpec,
) -> Result<Sample, SampleError> {
    let logs: Vec<String> = match spec.log {
        Some(l) => vec![l.to_owned()],
        None => store
            .logs()?
            .into_iter()
            .filter(|l| mamori_store::log_tenant(l).is_some())
            .collect(),
    };
    let mut checkpoints = Vec::new();
    // The n lowest ranks so far, the highest on top.
    let mut lowest: BinaryHeap<(Hash, usize, u64)> = BinaryHeap::new();
    let mut population = 0u64;
    for (i, log) in logs.iter().enumerate() {
        let Some(cp) = store.latest_checkpoint(log)? else {
            continue;
        };
        let opened = key
            .open(&cp.note)
            .map_err(|e| SampleError::Unproven(format!("{log}: {e}")))?;
        let tenant = mamori_store::log_tenant(log).map(str::to_owned);
        let query = AuditQuery {
            tenant,
            from_ts: spec.from_ts,
            to_ts: spec.to_ts,
            limit: 10_000,
            ..Default::default()
        };
        mamori_store::each_audit_page(store, query, |rows| -> Result<bool, SampleError> {
            for row in rows {
                if row.log != *log || !row.action.starts_with("record.") {
                    continue;
                }
                if row.seq > opened.size {
                    return Ok(false); // not yet signed: not provable
                }
                population += 1;
                let r = rank(spec.seed, log, row.seq);
                if lowest.len() < spec.n {
                    lowest.push((r, i, row.seq));
                } else if lowest.peek().is_some_and(|top| r < top.0) {
                    lowest.pop();
                    lowest.push((r, i, row.seq));
                }
            }
            Ok(true)
        })?;
        checkpoints.push((log.clone(), cp, opened));
    }
    let mut picked = lowest.into_vec();
    picked.sort_by(|a, b| (&logs[a.1], a.2).cmp(&(&logs[b.1], b.2)));
    let mut events = Vec::with_capacity(picked.len());
    for (r, i, seq) in picked {
        let log = &logs[i];
        let (_, cp, opened) = checkpoints
            .iter()
            .find(|c| c.0 == *log)
            .expect("a checkpoint for every sampled log");
        events.push(prove(store, log, seq, r, cp.size, &opened.root)?);
    }
    let mut used = Vec::new();
    for (log, cp, _) in checkpoints {
        if events.iter().any(|e| e.log == log) {
            used.push(SampleCheckpoint {
                note: proofs::cosigned(store, &cp)?,
                log,
                size: cp.size,
            });
        }
    }
    Ok(Sample {
        seed: spec.seed.to_owned(),
        from: spec.from_ts,
        to: spec.to_ts,
        population,
        events,
        checkpoints: used,
    })
}

/// Event `seq` of `log` with its inclusion proof, checked against `root`.
fn prove(
    store: &dyn AuditStore,
    log: &str,
    seq: u64,
    rank: Hash,
    size: u64,
    root: &Hash,
) -> Result<Drawn, SampleError> {
    let unproven = |m: String| SampleError::Unproven(format!("{log} event {seq}: {m}"));
    let row = store
        .event(log, seq)?
        .ok_or_else(|| unproven("missing".into()))?;
    let leaf = merkle::leaf_hash(&row.body);
    let proof = proofs::inclusion(store, log, seq, size)?.map_err(|e| unproven(e.to_string()))?;
    merkle::verify_inclusion(&leaf, seq - 1, size, &proof, root)
        .map_err(|e| unproven(e.to_string()))?;
    let event: SealedEvent =
        serde_json::from_slice(&row.body).map_err(|e| unproven(e.to_string()))?;
    Ok(Drawn {
        log: log.to_owned(),
        seq,
        rank: hex::encode(rank),
        event,
        event_bytes: B64.encode(&row.body),
        leaf_hash: hex::encode(leaf),
        proof: proof.iter().map(hex::encode).collect(),
        size,
    })
}
