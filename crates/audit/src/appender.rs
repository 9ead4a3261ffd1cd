//! The single writer of the audit log, committing in groups.
//!
//! Callers block until their event is durable. The writer thread takes every
//! event waiting at that moment, chains them, extends each log's Merkle tree,
//! and stores events, completed tree nodes and — at most once a second per
//! growing log — a signed checkpoint in one transaction, so a thousand
//! concurrent requests cost one fsync, not a thousand. A log left with
//! unsigned events is checkpointed after a second of quiet, and on `flush`.

use std::{
    collections::HashMap,
    sync::{Arc, Condvar, Mutex, RwLock},
    thread,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};
use mamori_core::clock::{Clock, SystemClock};
use mamori_store::{AuditBatch, AuditRow, AuditStore, CheckpointRow, Heads, LogHead, TreeNode};

use crate::{
    checkpoint::{Checkpoint, Signer},
    event::{Event, SealedEvent, log_for},
    merkle::{Frontier, leaf_hash},
    proofs,
    witness_client::{Pusher, Witnesses},
};

/// Where an event landed: made only by the writer, once the event is
/// durable (the fields are private), so holding one proves the append:
///
/// ```compile_fail
/// let forged = mamori_audit::Receipt { log: "t".into(), seq: 1, hash: [0; 32] };
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    log: String,
    seq: u64,
    hash: [u8; 32],
}

impl Receipt {
    /// The log the event went to.
    pub fn log(&self) -> &str {
        &self.log
    }

    /// The event's position in its log.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The event's leaf hash.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AuditError {
    /// The log could not be written. Callers must fail closed.
    #[error("the audit log cannot be written: {0}")]
    Unavailable(String),
}

type Reply = Answer<Receipt>;

/// A one-shot answer from the writer to one waiting caller. The caller
/// parks on a condition variable at once; a bounded channel's receive spins
/// and yields first, which with dozens of callers on two cores spent about a
/// fifth of the CPU in the scheduler (BENCHMARKS.md). An answer dropped
/// unanswered (the writer stopped) tells the caller so: nobody waits forever.
struct Answer<T> {
    slot: Arc<Slot<T>>,
    sent: bool,
}

type Slot<T> = (Mutex<Option<Result<T, AuditError>>>, Condvar);

impl<T> Answer<T> {
    /// The writer's half and the caller's half.
    fn pair() -> (Self, Arc<Slot<T>>) {
        let slot = Arc::new((Mutex::new(None), Condvar::new()));
        (
            Self {
                slot: slot.clone(),
                sent: false,
            },
            slot,
        )
    }

    fn send(mut self, value: Result<T, AuditError>) {
        self.put(value);
    }

    fn put(&mut self, value: Result<T, AuditError>) {
        let (m, ready) = &*self.slot;
        *m.lock().unwrap_or_else(|p| p.into_inner()) = Some(value);
        self.sent = true;
        ready.notify_one();
    }
}

impl<T> Drop for Answer<T> {
    fn drop(&mut self) {
        if !self.sent {
            self.put(Err(AuditError::Unavailable("audit writer stopped".into())));
        }
    }
}

/// Waits for the writer's answer.
fn wait<T>(slot: &Slot<T>) -> Result<T, AuditError> {
    let (m, ready) = slot;
    let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if let Some(v) = g.take() {
            return v;
        }
        g = ready.wait(g).unwrap_or_else(|p| p.into_inner());
    }
}

#[allow(
    clippy::large_enum_variant,
    reason = "appends are nearly every message; boxing would add an allocation to each"
)]
enum Msg {
    Append(Event, Reply),
    /// Sign a checkpoint for every log with unsigned events, then answer.
    Flush(Answer<()>),
}

/// Handle to the audit writer. Cheap to clone; the writer stops when the last
/// handle is dropped, after committing what was queued.
#[derive(Clone)]
pub struct AuditLog {
    tx: Sender<Msg>,
    store: Arc<dyn AuditStore>,
    clock: SharedClock,
    pusher: Option<Pusher>,
    appended: Signal,
    failed: FailedAt,
}

/// When the writer last failed to commit, cleared by its next success: a
/// node whose log cannot be written refuses every read (fail closed), so a
/// load balancer should send requests elsewhere for a while (`/readyz`).
type FailedAt = Arc<Mutex<Option<Instant>>>;

fn set_failed(f: &FailedAt, failed: bool) {
    *f.lock().unwrap_or_else(|e| e.into_inner()) = failed.then(Instant::now);
}

/// A wake-up call between threads: a generation counter to wait on. The
/// audit writer raises one after every committed batch, for readers that
/// follow the log in this process (detection) without polling the database hard.
#[derive(Clone, Default)]
pub struct Signal(Arc<(Mutex<u64>, Condvar)>);

impl Signal {
    pub fn raise(&self) {
        let (m, c) = &*self.0;
        let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
        *g += 1;
        c.notify_all();
    }

    /// The current generation.
    pub fn generation(&self) -> u64 {
        *self.0.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until the generation passes `seen` or `timeout` elapses; returns the generation.
    pub fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let (m, c) = &*self.0;
        let g = m.lock().unwrap_or_else(|e| e.into_inner());
        let (g, _) = c
            .wait_timeout_while(g, timeout, |g| *g <= seen)
            .unwrap_or_else(|e| e.into_inner());
        *g
    }
}

/// The writer's clock, replaceable so that tests moving the vault's time
/// also move the time events are stamped with.
type SharedClock = Arc<RwLock<Arc<dyn Clock>>>;

fn read_clock(c: &SharedClock) -> DateTime<Utc> {
    match c.read() {
        Ok(clock) => clock.now(),
        Err(poisoned) => poisoned.into_inner().now(),
    }
}

/// Largest group committed in one transaction.
const MAX_BATCH: usize = 2048;
/// A growing log is signed at least this often.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// How long `flush` waits for the witnesses before a process exits.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

impl AuditLog {
    /// Starts the writer. Checkpoints are signed by `signer`; their origin
    /// line is `<signer name>/<log>`. Each new checkpoint is offered to
    /// `witnesses` in the background.
    pub fn start(
        store: Arc<dyn AuditStore>,
        signer: Signer,
        witnesses: Witnesses,
    ) -> Result<Self, AuditError> {
        let (tx, rx) = bounded::<Msg>(16 * MAX_BATCH);
        let clock: SharedClock = Arc::new(RwLock::new(Arc::new(SystemClock)));
        let pusher = Pusher::start(store.clone(), witnesses);
        let appended = Signal::default();
        let failed = FailedAt::default();
        // A process killed before its last checkpoint leaves a log's tail
        // unsigned; the next one to start signs it within a second (a log
        // already signed to its end is left alone).
        let since = Instant::now()
            .checked_sub(CHECKPOINT_EVERY)
            .unwrap_or_else(Instant::now);
        let unsigned = store
            .logs()
            .map_err(|e| AuditError::Unavailable(e.to_string()))?
            .into_iter()
            .map(|log| (log, since))
            .collect();
        let mut w = Writer {
            store: store.clone(),
            signer,
            clock: clock.clone(),
            unsigned,
            pusher: pusher.clone(),
            cache: HashMap::new(),
            appended: appended.clone(),
            failed: failed.clone(),
        };
        thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || w.run(rx))
            .map_err(|e| AuditError::Unavailable(e.to_string()))?;
        Ok(Self {
            tx,
            store,
            clock,
            pusher,
            appended,
            failed,
        })
    }

    /// Whether a commit failed within `window` and none has succeeded since.
    pub fn failed_within(&self, window: Duration) -> bool {
        let f = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        f.is_some_and(|at| at.elapsed() < window)
    }

    /// Stamps events with `clock` from now on.
    pub fn set_clock(&self, clock: Arc<dyn Clock>) {
        match self.clock.write() {
            Ok(mut c) => *c = clock,
            Err(poisoned) => *poisoned.into_inner() = clock,
        }
    }

    /// Appends one event and waits until it is durable.
    pub fn append(&self, event: Event) -> Result<Receipt, AuditError> {
        let (answer, slot) = Answer::pair();
        self.tx
            .send(Msg::Append(event, answer))
            .map_err(|_| AuditError::Unavailable("audit writer stopped".into()))?;
        wait(&slot)
    }

    /// Signs a checkpoint for every log this process left with unsigned
    /// events, waits until it is durable, and offers it to the witnesses
    /// (waiting for them at most a few seconds). Short-lived processes (the
    /// CLI) call it before they exit; a server signs on its own every second.
    pub fn flush(&self) -> Result<(), AuditError> {
        let (answer, slot) = Answer::pair();
        self.tx
            .send(Msg::Flush(answer))
            .map_err(|_| AuditError::Unavailable("audit writer stopped".into()))?;
        wait(&slot)?;
        if let Some(p) = &self.pusher {
            p.drain(DRAIN_LIMIT);
        }
        Ok(())
    }

    pub fn store(&self) -> &Arc<dyn AuditStore> {
        &self.store
    }

    /// The signal raised after each batch this process commits.
    pub fn appended(&self) -> Signal {
        self.appended.clone()
    }

    /// Each witness's view of each log, as far as this process knows.
    pub fn witnesses(&self) -> Vec<crate::witness_client::WitnessState> {
        self.pusher.as_ref().map_or_else(Vec::new, |p| {
            let board = p.board.lock().unwrap_or_else(|e| e.into_inner());
            board.values().cloned().collect()
        })
    }
}

struct Writer {
    store: Arc<dyn AuditStore>,
    signer: Signer,
    clock: SharedClock,
    /// Logs with events after their latest checkpoint, as far as this
    /// process knows, and since when.
    unsigned: HashMap<String, Instant>,
    pusher: Option<Pusher>,
    appended: Signal,
    /// Each log's tree and last hash as this writer left it: reused when
    /// the head it reads under the lock is still that (nobody else
    /// appended), which spares reading the frontier in every transaction.
    cache: HashMap<String, (Frontier, [u8; 32])>,
    failed: FailedAt,
}

impl Writer {
    fn run(&mut self, rx: Receiver<Msg>) {
        loop {
            // Sleep until the next message, or until a log's events have
            // waited a second for their checkpoint — per log, so a busy log
            // elsewhere does not keep a quiet one unsigned.
            let wait = self
                .unsigned
                .values()
                .min()
                .map_or(CHECKPOINT_EVERY, |since| {
                    (*since + CHECKPOINT_EVERY).saturating_duration_since(Instant::now())
                });
            let first = match rx.recv_timeout(wait) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    self.sign_logged(false);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.sign_logged(true);
                    return;
                }
            };
            let mut batch = Vec::new();
            let mut flushes = Vec::new();
            let mut next = Some(first);
            while let Some(m) = next.take() {
                match m {
                    Msg::Append(e, reply) => batch.push((e, reply)),
                    Msg::Flush(reply) => flushes.push(reply),
                }
                if batch.len() < MAX_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                self.commit(batch);
            }
            if flushes.is_empty() {
                self.sign_logged(false);
            } else {
                let result = self.sign_unsigned(true);
                for reply in flushes {
                    reply.send(result.clone());
                }
            }
        }
    }

    /// `sign_unsigned`, with a failure logged (the next round retries).
    fn sign_logged(&mut self, all: bool) {
        if let Err(e) = self.sign_unsigned(all) {
            tracing::error!(error = %e, "audit checkpoint failed; will retry");
        }
    }

    fn commit(&mut self, batch: Vec<(Event, Reply)>) {
        let mut logs: Vec<String> = batch
            .iter()
            .map(|(e, _)| log_for(e.tenant.as_deref()))
            .collect();
        logs.sort();
        logs.dedup();
        let mut receipts = Vec::with_capacity(batch.len());
        let mut signed = Vec::new();
        let now = read_clock(&self.clock);
        let store = self.store.clone();
        let mut built = HashMap::new();
        let cache = &self.cache;
        let result = self.store.append(&logs, &mut |heads| {
            receipts.clear();
            signed.clear();
            let mut out = chain(&batch, heads, now, &mut receipts);
            built = trees(store.as_ref(), cache, heads, &logs);
            for row in &out.events {
                let log = &row.log;
                let (tree, last) = built
                    .get_mut(log)
                    .expect("a tree for every log of the batch");
                out.nodes.extend(completed(log, tree.push(row.hash)));
                *last = row.hash;
            }
            for log in &logs {
                let (tree, _) = &built[log];
                let last = heads.get(log).and_then(|h| h.checkpoint);
                let due = last.is_none_or(|(_, ts)| {
                    now.timestamp_micros() - ts >= CHECKPOINT_EVERY.as_micros() as i64
                });
                if due && let Some(row) = self.signed(log, tree, now) {
                    out.checkpoints.push(row);
                    signed.push(log.clone());
                }
            }
            out
        });
        self.remember(result.is_ok(), built);
        match result {
            Ok(()) => {
                let now = Instant::now();
                for log in logs {
                    if !signed.contains(&log) {
                        self.unsigned.entry(log).or_insert(now);
                    }
                }
                for s in &signed {
                    self.unsigned.remove(s);
                }
                if let (Some(p), false) = (&self.pusher, signed.is_empty()) {
                    p.signed(signed);
                }
                for ((_, reply), receipt) in batch.into_iter().zip(receipts) {
                    reply.send(Ok(receipt));
                }
                self.appended.raise();
            }
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "audit append failed; refusing the requests that needed it");
                let err = AuditError::Unavailable(e.to_string());
                for (_, reply) in batch {
                    reply.send(Err(err.clone()));
                }
            }
        }
    }

    /// One transaction with a checkpoint for each log left unsigned: all of
    /// them, or those whose events have waited a second.
    fn sign_unsigned(&mut self, all: bool) -> Result<(), AuditError> {
        let due = Instant::now() - CHECKPOINT_EVERY;
        let logs: Vec<String> = self
            .unsigned
            .iter()
            .filter(|(_, since)| all || **since <= due)
            .map(|(log, _)| log.clone())
            .collect();
        if logs.is_empty() {
            return Ok(());
        }
        let now = read_clock(&self.clock);
        let store = self.store.clone();
        let mut signed = Vec::new();
        let mut built = HashMap::new();
        let cache = &self.cache;
        let result = self
            .store
            .append(&logs, &mut |heads| {
                signed.clear();
                built = trees(store.as_ref(), cache, heads, &logs);
                let mut out = AuditBatch::default();
                for log in &logs {
                    let signed_size = heads.get(log).and_then(|h| h.checkpoint).map(|c| c.0);
                    let (tree, _) = &built[log];
                    if tree.size() > 0
                        && signed_size != Some(tree.size())
                        && let Some(row) = self.signed(log, tree, now)
                    {
                        out.checkpoints.push(row);
                        signed.push(log.clone());
                    }
                }
                out
            })
            .map_err(|e| AuditError::Unavailable(e.to_string()));
        self.remember(result.is_ok(), built);
        result?;
        for log in logs {
            self.unsigned.remove(&log);
        }
        if let (Some(p), false) = (&self.pusher, signed.is_empty()) {
            p.signed(signed);
        }
        Ok(())
    }

    /// Keeps the trees of a committed transaction; forgets those of a
    /// failed one (the next transaction reads them from the store). Either
    /// way, notes whether the log could be written.
    fn remember(&mut self, committed: bool, built: HashMap<String, (Frontier, [u8; 32])>) {
        set_failed(&self.failed, !committed);
        for (log, tree) in built {
            if committed {
                self.cache.insert(log, tree);
            } else {
                self.cache.remove(&log);
            }
        }
    }

    /// The signed checkpoint of a log's tree. None (logged) only if the
    /// origin were no note text — the signer's name and the log's name are
    /// both checked when made, so never in practice; the log then stays
    /// unsigned and is signed again later, nothing is lost.
    fn signed(&self, log: &str, tree: &Frontier, now: DateTime<Utc>) -> Option<CheckpointRow> {
        let cp = Checkpoint {
            origin: format!("{}/{log}", self.signer.name()),
            size: tree.size(),
            root: tree.root(),
        };
        match self.signer.sign(&cp) {
            Ok(note) => Some(CheckpointRow {
                log: log.to_owned(),
                size: cp.size,
                ts: now.timestamp_micros(),
                note,
            }),
            Err(e) => {
                tracing::error!(error = %e, "cannot sign a checkpoint of this log");
                None
            }
        }
    }
}

/// The tree of each log at its head (with the head's last hash): the
/// writer's cached copy when the head is where this writer left it,
/// otherwise read from the stored subtrees; a log whose stored nodes are
/// missing (written before trees existed) is rebuilt from its events.
fn trees(
    store: &dyn AuditStore,
    cache: &HashMap<String, (Frontier, [u8; 32])>,
    heads: &Heads,
    logs: &[String],
) -> HashMap<String, (Frontier, [u8; 32])> {
    logs.iter()
        .map(|log| {
            let head = heads.get(log).cloned().unwrap_or_default();
            let cached = cache
                .get(log)
                .and_then(|(t, last)| caught_up(store, log, t, last, &head));
            let tree = cached.unwrap_or_else(|| {
                proofs::frontier(store, log, head.size)
                    .unwrap_or_else(|_| rebuild(store, log, &head))
            });
            (log.clone(), (tree, head.hash))
        })
        .collect()
}

/// At most this many events appended by other processes are read to bring
/// a cached tree up to date; beyond that the frontier is read instead.
const CATCH_UP_MAX: u64 = 4096;

/// The cached `tree` (ending with hash `last`) brought to `head`: as it is
/// when nobody else appended since, or extended by the hashes of the events
/// other processes appended meanwhile — one range read. Nodes running
/// several servers on one database take turns appending to a log, so the
/// head rarely stays where a writer left it, and reading the frontier
/// afresh cost a query per level (~10 round trips while holding the log's
/// lock on PostgreSQL). None when the head is not a continuation of the
/// tree (then the frontier is read).
fn caught_up(
    store: &dyn AuditStore,
    log: &str,
    tree: &Frontier,
    last: &[u8; 32],
    head: &LogHead,
) -> Option<Frontier> {
    let gap = head.size.checked_sub(tree.size())?;
    if gap == 0 {
        return (*last == head.hash).then(|| tree.clone());
    }
    if gap > CATCH_UP_MAX {
        return None;
    }
    let leaves = store.leaves(log, tree.size(), gap).ok()?;
    if leaves.len() as u64 != gap || leaves.last() != Some(&head.hash) {
        return None;
    }
    let mut tree = tree.clone();
    for leaf in leaves {
        // The subtrees this completes were stored by the process that
        // appended the leaf.
        tree.push(leaf);
    }
    Some(tree)
}

/// Recomputes a log's frontier from its events in sequence order.
fn rebuild(store: &dyn AuditStore, log: &str, head: &LogHead) -> Frontier {
    let mut tree = Frontier::default();
    for seq in 1..=head.size {
        match store.event(log, seq) {
            Ok(Some(row)) => {
                tree.push(row.hash);
            }
            _ => break,
        }
    }
    tree
}

/// The completed perfect subtrees worth storing: level 0 is the event
/// itself, and levels below `STORED_FROM` are recomputed from the events.
fn completed(log: &str, nodes: Vec<crate::merkle::Node>) -> impl Iterator<Item = TreeNode> + '_ {
    nodes
        .into_iter()
        .filter(|n| n.level >= proofs::STORED_FROM)
        .map(move |n| TreeNode {
            log: log.to_owned(),
            level: n.level,
            index: n.index,
            hash: n.hash,
        })
}

/// Seals the batch onto the current heads: sequence numbers, time, previous hashes.
fn chain(
    batch: &[(Event, Reply)],
    heads: &Heads,
    now: DateTime<Utc>,
    receipts: &mut Vec<Receipt>,
) -> AuditBatch {
    let mut next: HashMap<String, (u64, [u8; 32])> = HashMap::new();
    let mut rows = Vec::with_capacity(batch.len());
    for (event, _) in batch {
        let log = log_for(event.tenant.as_deref());
        let (seq, prev) = next
            .get(&log)
            .copied()
            .or_else(|| heads.get(&log).map(|h| (h.size, h.hash)))
            .map(|(s, h)| (s + 1, h))
            .unwrap_or((1, [0u8; 32]));
        let sealed = SealedEvent::seal(event.clone(), log.clone(), seq, now, &prev);
        let body = sealed.canonical();
        let hash = leaf_hash(&body);
        next.insert(log.clone(), (seq, hash));
        rows.push(AuditRow {
            rowid: 0,
            log: log.clone(),
            seq,
            ts: now.timestamp_micros(),
            actor: event.actor.clone(),
            action: event.action.clone(),
            tenant: event.tenant.clone(),
            decision: event.decision.as_str().to_owned(),
            body,
            hash,
        });
        receipts.push(Receipt { log, seq, hash });
    }
    AuditBatch {
        events: rows,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_gets_its_answer_or_hears_the_writer_stopped() {
        let (answer, slot) = Answer::<u32>::pair();
        let waiting = thread::spawn(move || wait(&slot));
        answer.send(Ok(7));
        assert_eq!(waiting.join().unwrap().unwrap(), 7);
        // Dropped unanswered (the writer stopped): an error, not a hang.
        let (answer, slot) = Answer::<u32>::pair();
        let waiting = thread::spawn(move || wait(&slot));
        drop(answer);
        assert!(matches!(
            waiting.join().unwrap(),
            Err(AuditError::Unavailable(_))
        ));
    }
}
