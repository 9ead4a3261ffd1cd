//! The single writer of the audit log, committing in groups.
//!
//! Callers block until their event is durable. The writer thread takes every
//! event waiting at that moment, chains them, and stores them in one
//! transaction, so a thousand concurrent requests cost one fsync, not a thousand.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    thread,
};

use chrono::{DateTime, Utc};
use crossbeam_channel::{Receiver, Sender, bounded};
use mamori_core::clock::{Clock, SystemClock};
use mamori_store::{AuditRow, AuditStore, Heads};

use crate::event::{Event, SealedEvent, leaf_hash, log_for};

/// Where an event landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub log: String,
    pub seq: u64,
    pub hash: [u8; 32],
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AuditError {
    /// The log could not be written. Callers must fail closed.
    #[error("the audit log cannot be written: {0}")]
    Unavailable(String),
}

type Reply = Sender<Result<Receipt, AuditError>>;

/// Handle to the audit writer. Cheap to clone; the writer stops when the last
/// handle is dropped, after committing what was queued.
#[derive(Clone)]
pub struct AuditLog {
    tx: Sender<(Event, Reply)>,
    store: Arc<dyn AuditStore>,
    clock: SharedClock,
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

impl AuditLog {
    pub fn start(store: Arc<dyn AuditStore>) -> Result<Self, AuditError> {
        let (tx, rx) = bounded::<(Event, Reply)>(16 * MAX_BATCH);
        let writer_store = store.clone();
        let clock: SharedClock = Arc::new(RwLock::new(Arc::new(SystemClock)));
        let writer_clock = clock.clone();
        thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer(writer_store, rx, writer_clock))
            .map_err(|e| AuditError::Unavailable(e.to_string()))?;
        Ok(Self { tx, store, clock })
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
        let (reply_tx, reply_rx) = bounded(1);
        self.tx
            .send((event, reply_tx))
            .map_err(|_| AuditError::Unavailable("audit writer stopped".into()))?;
        reply_rx
            .recv()
            .map_err(|_| AuditError::Unavailable("audit writer stopped".into()))?
    }

    pub fn store(&self) -> &Arc<dyn AuditStore> {
        &self.store
    }
}

fn writer(store: Arc<dyn AuditStore>, rx: Receiver<(Event, Reply)>, clock: SharedClock) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let mut logs: Vec<String> = batch
            .iter()
            .map(|(e, _)| log_for(e.tenant.as_deref()))
            .collect();
        logs.sort();
        logs.dedup();
        let mut receipts = Vec::with_capacity(batch.len());
        let now = read_clock(&clock);
        let result = store.append(&logs, &mut |heads| {
            receipts.clear();
            chain(&batch, heads, now, &mut receipts)
        });
        match result {
            Ok(()) => {
                for ((_, reply), receipt) in batch.into_iter().zip(receipts) {
                    let _ = reply.send(Ok(receipt));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "audit append failed; refusing the requests that needed it");
                let err = AuditError::Unavailable(e.to_string());
                for (_, reply) in batch {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
    }
}

/// Seals the batch onto the current heads: sequence numbers, time, previous hashes.
fn chain(
    batch: &[(Event, Reply)],
    heads: &Heads,
    now: DateTime<Utc>,
    receipts: &mut Vec<Receipt>,
) -> Vec<AuditRow> {
    let mut next: HashMap<String, (u64, [u8; 32])> = HashMap::new();
    let mut rows = Vec::with_capacity(batch.len());
    for (event, _) in batch {
        let log = log_for(event.tenant.as_deref());
        let (seq, prev) = next
            .get(&log)
            .or_else(|| heads.get(&log))
            .map(|(s, h)| (s + 1, *h))
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
    rows
}
