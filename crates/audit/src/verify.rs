//! Recomputes every hash, link and Merkle root of every log, checks every
//! signed checkpoint against the events (and any checkpoints held outside
//! the database), and reports the first break.
//!
//! What each check catches: a changed event (its hash), an edited event with
//! its hash and chain recomputed (the signed roots), a deleted, duplicated
//! or reordered row (the sequence), a forged checkpoint (the signature), a
//! truncated tail with its checkpoints deleted or an older copy of the
//! database restored (a checkpoint kept elsewhere: a witness's or an
//! auditor's, which covers more events than are left).

use std::{borrow::Cow, collections::BTreeMap};

use mamori_store::{AuditStore, StoreError};
use serde::Serialize;

use crate::{
    checkpoint::{Checkpoint, Verifier},
    event::Decision,
    merkle::{Frontier, Hash, leaf_hash},
};

#[derive(Debug, Serialize)]
pub struct LogReport {
    pub log: String,
    pub events: u64,
    pub ok: bool,
    /// Sequence number where verification first failed, and why.
    pub first_bad_seq: Option<u64>,
    pub problem: Option<String>,
    /// Hex hash of the last verified event.
    pub head: Option<String>,
    /// Hex Merkle root over every verified event: compare it with a copy kept elsewhere.
    pub root: Option<String>,
    /// Signed checkpoints found consistent with the events (stored and trusted).
    pub checkpoints: u64,
    /// The largest size a valid checkpoint vouches for.
    pub signed_size: u64,
    /// Events that live in archive files (checked from the files with
    /// `--archive`, otherwise from the hashes they left behind).
    pub archived: u64,
    /// Whether the archived events themselves were read and checked.
    pub archive_read: bool,
}

#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub events: u64,
    pub logs: Vec<LogReport>,
    /// The key checkpoints were checked with (`name+id+key`).
    pub key: Option<String>,
}

/// What verification trusts beyond the database itself.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// The audit key's public half. Without it the checkpoints are not checked.
    pub key: Option<Verifier>,
    /// Signed checkpoints kept outside the database (a witness's, an
    /// auditor's earlier copy). Each must be signed by `key` and agree with
    /// the events; a log shorter than one of them was truncated or rolled back.
    pub checkpoints: Vec<String>,
    /// Where `mamori audit archive` put archived events. Without it, the
    /// archived part of a log is taken from the hashes it left behind,
    /// checked against the signed checkpoint where it ends.
    pub archive_dir: Option<std::path::PathBuf>,
}

const PAGE: usize = 10_000;

pub fn verify(
    store: &dyn AuditStore,
    only: Option<&str>,
    trust: &Trust,
) -> Result<VerifyReport, StoreError> {
    let mut logs: Vec<String> = match only {
        Some(l) => vec![l.to_owned()],
        None => store.logs()?,
    };
    let (mut trusted, broken) = trusted_checkpoints(trust);
    // A trusted checkpoint of a log with no events left must still be checked.
    for log in trusted.keys() {
        if only.is_none_or(|o| o == log) && !logs.contains(log) {
            logs.push(log.clone());
        }
    }
    let mut reports = Vec::new();
    for log in logs {
        let outside = trusted.remove(&log).unwrap_or_default();
        reports.push(verify_log(
            store,
            &log,
            trust.key.as_ref(),
            outside,
            trust.archive_dir.as_deref(),
        )?);
    }
    for problem in broken {
        reports.push(LogReport {
            log: "(trusted checkpoint)".into(),
            events: 0,
            ok: false,
            first_bad_seq: None,
            problem: Some(problem),
            head: None,
            root: None,
            checkpoints: 0,
            signed_size: 0,
            archived: 0,
            archive_read: false,
        });
    }
    Ok(VerifyReport {
        ok: reports.iter().all(|r| r.ok),
        events: reports.iter().map(|r| r.events).sum(),
        logs: reports,
        key: trust.key.as_ref().map(Verifier::to_vkey),
    })
}

/// Trusted checkpoints by log (from their origin line), and why any other
/// is unusable.
fn trusted_checkpoints(trust: &Trust) -> (BTreeMap<String, Vec<Checkpoint>>, Vec<String>) {
    let mut by_log: BTreeMap<String, Vec<Checkpoint>> = BTreeMap::new();
    let mut broken = Vec::new();
    for note in &trust.checkpoints {
        let Some(key) = &trust.key else {
            broken.push("a trusted checkpoint needs the audit key to be checked".to_owned());
            continue;
        };
        match key.open(note) {
            Ok(cp) => {
                let log = cp
                    .origin
                    .strip_prefix(&format!("{}/", key.name()))
                    .unwrap_or(&cp.origin)
                    .to_owned();
                by_log.entry(log).or_default().push(cp);
            }
            Err(e) => broken.push(format!("a trusted checkpoint does not verify: {e}")),
        }
    }
    (by_log, broken)
}

/// Walks one log's events in storage order with its checkpoints in size order.
struct Walk<'a> {
    store: &'a dyn AuditStore,
    log: &'a str,
    key: Option<&'a Verifier>,
    origin: String,
    tree: Frontier,
    prev: Hash,
    /// Stored checkpoints not yet reached, smallest size first.
    stored: Vec<mamori_store::CheckpointRow>,
    stored_after: u64,
    /// No stored checkpoint beyond `stored_after`.
    stored_done: bool,
    outside: Vec<Checkpoint>,
    checked: u64,
    signed_size: u64,
    archive_dir: Option<&'a std::path::Path>,
    archived: u64,
}

fn verify_log(
    store: &dyn AuditStore,
    log: &str,
    key: Option<&Verifier>,
    mut outside: Vec<Checkpoint>,
    archive_dir: Option<&std::path::Path>,
) -> Result<LogReport, StoreError> {
    outside.sort_by_key(|c| std::cmp::Reverse(c.size));
    let mut w = Walk {
        store,
        log,
        key,
        origin: key
            .map(|k| format!("{}/{log}", k.name()))
            .unwrap_or_default(),
        tree: Frontier::default(),
        prev: [0u8; 32],
        stored: Vec::new(),
        stored_after: 0,
        stored_done: false,
        outside,
        checked: 0,
        signed_size: 0,
        archive_dir,
        archived: 0,
    };
    let outcome = w.run()?;
    let events = w.tree.size();
    let (first_bad_seq, problem) = match outcome {
        Ok(()) => (None, None),
        Err((seq, why)) => (Some(seq), Some(why)),
    };
    Ok(LogReport {
        log: log.to_owned(),
        events,
        ok: problem.is_none(),
        first_bad_seq,
        problem,
        head: (events > 0).then(|| hex::encode(w.prev)),
        root: (events > 0).then(|| hex::encode(w.tree.root())),
        checkpoints: w.checked,
        signed_size: w.signed_size,
        archived: w.archived,
        archive_read: w.archived > 0 && archive_dir.is_some(),
    })
}

type Outcome = Result<(), (u64, String)>;

/// The fields of a stored event that verification compares, borrowed from
/// its bytes (deserialising the whole `SealedEvent` cost more than hashing
/// it). The whole body is still parsed, so it must be valid JSON.
#[derive(serde::Deserialize)]
struct Checked<'a> {
    #[serde(borrow)]
    log: Cow<'a, str>,
    seq: u64,
    #[serde(borrow)]
    ts: Cow<'a, str>,
    #[serde(borrow)]
    prev: Cow<'a, str>,
    #[serde(borrow)]
    actor: Cow<'a, str>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow)]
    tenant: Option<Cow<'a, str>>,
    decision: Decision,
}

impl Walk<'_> {
    fn run(&mut self) -> Result<Outcome, StoreError> {
        if let Err(e) = self.archived_part()? {
            return Ok(Err(e));
        }
        let mut after = 0i64;
        loop {
            let page = self.store.scan(self.log, after, PAGE)?;
            if page.is_empty() {
                break;
            }
            for row in &page {
                after = row.rowid;
                if let Err(e) = self.event(row) {
                    return Ok(Err(e));
                }
                if let Err(e) = self.checkpoints_at(self.tree.size())? {
                    return Ok(Err(e));
                }
            }
        }
        // Whatever checkpoint is left covers events that are no longer here.
        let n = self.tree.size();
        if let Some(c) = self.next_stored()? {
            return Ok(Err((
                n + 1,
                format!(
                    "a signed checkpoint covers {} events but only {n} are stored: events were deleted from the end",
                    c.size
                ),
            )));
        }
        if let Some(c) = self.outside.last() {
            return Ok(Err((
                n + 1,
                format!(
                    "a trusted checkpoint covers {} events but only {n} are stored: the log was truncated or an older copy restored",
                    c.size
                ),
            )));
        }
        Ok(Ok(()))
    }

    /// The archived start of the log: walked from the archive files, or
    /// taken from the hashes left behind and checked against the signed
    /// checkpoint where the archive ends.
    fn archived_part(&mut self) -> Result<Outcome, StoreError> {
        let archives = self.store.archives(self.log)?;
        let Some(last) = archives.last() else {
            return Ok(Ok(()));
        };
        let end = last.end;
        self.archived = end;
        if let Some(dir) = self.archive_dir {
            for a in &archives {
                let path = match crate::archive::recorded_file(dir, a) {
                    Ok(p) => p,
                    Err(why) => return Ok(Err((a.start, why))),
                };
                let rows = match crate::archive::rows(&path) {
                    Ok(r) => r,
                    Err(e) => return Ok(Err((a.start, e.to_string()))),
                };
                for row in rows {
                    let row = match row {
                        Ok(r) => r,
                        Err(e) => return Ok(Err((self.tree.size() + 1, e.to_string()))),
                    };
                    if let Err(e) = self.event(&row) {
                        return Ok(Err(e));
                    }
                    if let Err(e) = self.checkpoints_at(self.tree.size())? {
                        return Ok(Err(e));
                    }
                }
            }
            return Ok(Ok(()));
        }
        let tree = match crate::proofs::frontier(self.store, self.log, end) {
            Ok(t) => t,
            Err(_) => {
                return Ok(Err((
                    end,
                    "the archived part's tree nodes are missing".into(),
                )));
            }
        };
        let Some(prev) = self.store.tree_node(self.log, 0, end - 1)? else {
            return Ok(Err((
                end,
                "the archived part's tree nodes are missing".into(),
            )));
        };
        self.tree = tree;
        self.prev = prev;
        // The archive's own checkpoint vouches for the hashes left behind;
        // stored checkpoints inside the archived range were checked when it
        // was archived and are checked again with --archive.
        if let Some(key) = self.key {
            let root = self.tree.root();
            match key.open(&last.note) {
                Ok(cp) => {
                    if let Err(why) = self.matches(&cp, end, end, &root) {
                        return Ok(Err((end, why)));
                    }
                }
                Err(e) => return Ok(Err((end, format!("archive checkpoint: {e}")))),
            }
        }
        self.stored_after = end;
        while let Some(cp) = self.outside.last().filter(|c| c.size <= end).cloned() {
            self.outside.pop();
            let root = crate::proofs::subtree(self.store, self.log)(0, cp.size);
            match root {
                Ok(r) if r == cp.root && cp.origin == self.origin => {
                    self.checked += 1;
                }
                _ => {
                    return Ok(Err((
                        cp.size,
                        "trusted checkpoint does not match the archived part (the log was rewritten)"
                            .into(),
                    )));
                }
            }
        }
        Ok(Ok(()))
    }

    fn event(&mut self, row: &mamori_store::AuditRow) -> Outcome {
        let expected = self.tree.size() + 1;
        let fail = |seq: u64, why: &str| Err((seq, why.to_owned()));
        if row.seq != expected {
            return Err((
                expected,
                format!(
                    "expected sequence {expected}, found {}: an event is missing, duplicated or moved",
                    row.seq
                ),
            ));
        }
        if leaf_hash(&row.body) != row.hash {
            return fail(
                row.seq,
                "stored hash does not match the event's bytes: the event was altered",
            );
        }
        let Ok(ev) = serde_json::from_slice::<Checked<'_>>(&row.body) else {
            return fail(row.seq, "event bytes are not a valid event");
        };
        if ev.log != self.log || ev.seq != row.seq {
            return fail(
                row.seq,
                "event names another position than where it is stored",
            );
        }
        let mut prev = [0u8; 64];
        hex::encode_to_slice(self.prev, &mut prev).expect("64 hex digits for 32 bytes");
        if ev.prev.as_bytes() != prev {
            return fail(
                row.seq,
                "chain broken: the event does not follow the one before it",
            );
        }
        let columns_match = ev.actor == row.actor
            && ev.action == row.action
            && ev.tenant.as_deref() == row.tenant.as_deref()
            && ev.decision.as_str() == row.decision
            && chrono::DateTime::parse_from_rfc3339(&ev.ts).map(|t| t.timestamp_micros())
                == Ok(row.ts);
        if !columns_match {
            return fail(row.seq, "query columns disagree with the hashed event body");
        }
        self.prev = row.hash;
        self.tree.push(row.hash);
        Ok(())
    }

    fn next_stored(&mut self) -> Result<Option<&mamori_store::CheckpointRow>, StoreError> {
        if self.stored.is_empty() && !self.stored_done {
            self.stored = self.store.checkpoints(self.log, self.stored_after, PAGE)?;
            self.stored.reverse();
            self.stored_done = self.stored.is_empty();
        }
        Ok(self.stored.last())
    }

    /// Checks every checkpoint (stored or trusted) of exactly `size` events.
    fn checkpoints_at(&mut self, size: u64) -> Result<Outcome, StoreError> {
        let Some(key) = self.key else {
            return Ok(Ok(()));
        };
        // The root costs O(log n) hashes: only when a checkpoint needs it.
        let due = self.next_stored()?.is_some_and(|c| c.size <= size)
            || self.outside.last().is_some_and(|c| c.size <= size);
        if !due {
            return Ok(Ok(()));
        }
        let root = self.tree.root();
        while let Some(row) = self.next_stored()?.filter(|c| c.size <= size) {
            let (row_size, note) = (row.size, row.note.clone());
            self.stored.pop();
            self.stored_after = row_size;
            let cp = match key.open(&note) {
                Ok(cp) => cp,
                Err(e) => {
                    return Ok(Err((
                        row_size,
                        format!("checkpoint at size {row_size}: {e}"),
                    )));
                }
            };
            if let Err(why) = self.matches(&cp, row_size, size, &root) {
                return Ok(Err((row_size, why)));
            }
        }
        while let Some(cp) = self.outside.last().filter(|c| c.size <= size).cloned() {
            self.outside.pop();
            if let Err(why) = self.matches(&cp, cp.size, size, &root) {
                return Ok(Err((
                    cp.size,
                    format!("trusted checkpoint: {why} (the log was rewritten)"),
                )));
            }
        }
        Ok(Ok(()))
    }

    fn matches(
        &mut self,
        cp: &Checkpoint,
        stored_size: u64,
        size: u64,
        root: &Hash,
    ) -> Result<(), String> {
        if cp.origin != self.origin {
            return Err(format!(
                "checkpoint at size {stored_size} is for '{}', not this log",
                cp.origin
            ));
        }
        if cp.size != stored_size || cp.size != size {
            return Err(format!(
                "checkpoint filed at size {stored_size} says {} events",
                cp.size
            ));
        }
        if &cp.root != root {
            return Err(format!(
                "the signed root at size {size} does not match the events: an event before it was changed"
            ));
        }
        self.checked += 1;
        self.signed_size = self.signed_size.max(size);
        Ok(())
    }
}
