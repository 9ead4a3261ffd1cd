//! The log's side of witnessing: after the appender signs checkpoints, a
//! background thread submits them to every configured witness with the
//! consistency proof from what that witness last accepted.
//!
//! Witnessing must never slow or stop the vault: the appender only drops a
//! log's name into a queue (without blocking; a full queue is caught up on
//! the next tick), and a dead witness is retried with backoff while data
//! access goes on. A witness that holds a larger size than the log's latest
//! checkpoint is the alarm this exists for — the database was rolled back
//! or truncated — and is logged as an error on every attempt.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::Path,
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};
use mamori_store::AuditStore;
use serde::{Deserialize, Serialize};

use crate::{
    checkpoint::Verifier,
    proofs,
    witness::{AddCheckpoint, Witness, WitnessError},
};

/// A witness the log submits to: another machine over HTTP, or a directory
/// (ideally on separate, append-only storage) written in-process.
pub enum Target {
    Http {
        url: String,
        client: reqwest::blocking::Client,
    },
    Dir(Box<Witness>),
}

/// What `GET /checkpoints` returns.
#[derive(Deserialize, Serialize)]
pub struct Held {
    pub origin: String,
    pub size: u64,
    pub time: u64,
    pub note: String,
}

impl From<crate::witness::Witnessed> for Held {
    fn from(w: crate::witness::Witnessed) -> Self {
        Self {
            origin: w.origin,
            size: w.size,
            time: w.time,
            note: w.note,
        }
    }
}

impl Target {
    /// `http://host:port[/prefix]`, `https://…` (trusting only the CA
    /// certificates in `ca`, PEM) or a directory path. A directory witness
    /// follows the logs of `log_key`.
    pub fn parse(spec: &str, log_key: &Verifier, ca: Option<&Path>) -> Result<Self, WitnessError> {
        let bad = |m: String| WitnessError::BadRequest(m);
        let tls = spec.starts_with("https://");
        if let Some(rest) = spec
            .strip_prefix("http://")
            .or_else(|| spec.strip_prefix("https://"))
        {
            if rest.is_empty() {
                return Err(bad(format!("witness {spec}: no host")));
            }
            crate::tls::install_provider();
            let mut builder = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .connect_timeout(Duration::from_secs(3));
            if tls {
                let ca = ca.ok_or_else(|| {
                    bad(format!(
                        "witness {spec}: an https witness needs its CA certificate (audit.witness_ca / --witness-ca, PEM)"
                    ))
                })?;
                let config = crate::tls::client_config(ca).map_err(bad)?;
                builder = builder.tls_backend_preconfigured((*config).clone());
            }
            let client = builder
                .build()
                .map_err(|e| WitnessError::Unavailable(e.to_string()))?;
            return Ok(Self::Http {
                url: spec.trim_end_matches('/').to_owned(),
                client,
            });
        }
        if spec.contains("://") {
            return Err(bad(format!(
                "witness {spec}: expected http://… or a directory"
            )));
        }
        Ok(Self::Dir(Box::new(Witness::open(
            Path::new(spec),
            vec![log_key.clone()],
            None,
        )?)))
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Http { url, .. } => url.clone(),
            Self::Dir(_) => "directory witness".into(),
        }
    }

    /// Submits a checkpoint; the witness's cosignature lines on success.
    pub fn add_checkpoint(&self, req: &AddCheckpoint) -> Result<String, WitnessError> {
        match self {
            Self::Dir(w) => w.add_checkpoint(req, crate::witness::now_secs()),
            Self::Http { url, client } => {
                let resp = client
                    .post(format!("{url}/add-checkpoint"))
                    .body(req.body())
                    .send()
                    .map_err(|e| WitnessError::Unavailable(format!("{url}: {e}")))?;
                let status = resp.status().as_u16();
                let text = resp.text().unwrap_or_default();
                match status {
                    200 => Ok(text),
                    409 => text
                        .trim()
                        .parse()
                        .map(|size| WitnessError::Conflict { size })
                        .map_err(|_| {
                            WitnessError::Unavailable(format!("{url}: 409 without a size"))
                        })
                        .and_then(Err),
                    400 => Err(WitnessError::BadRequest(text)),
                    403 => Err(WitnessError::Forbidden(text)),
                    404 => Err(WitnessError::UnknownLog(text)),
                    422 => Err(WitnessError::BadProof(text)),
                    s => Err(WitnessError::Unavailable(format!("{url}: HTTP {s} {text}"))),
                }
            }
        }
    }

    /// Every checkpoint the witness holds for origins under `prefix`.
    pub fn held(&self, prefix: &str) -> Result<Vec<Held>, WitnessError> {
        match self {
            Self::Dir(w) => Ok(w.all(prefix)?.into_iter().map(Held::from).collect()),
            Self::Http { url, client } => {
                let unavailable =
                    |e: reqwest::Error| WitnessError::Unavailable(format!("{url}: {e}"));
                client
                    .get(format!("{url}/checkpoints"))
                    .query(&[("prefix", prefix)])
                    .send()
                    .and_then(|r| r.error_for_status())
                    .map_err(unavailable)?
                    .json()
                    .map_err(unavailable)
            }
        }
    }
}

/// Which witnesses the log submits to, and how often at most per log.
pub struct Witnesses {
    pub targets: Vec<Target>,
    pub every: Duration,
}

impl Default for Witnesses {
    fn default() -> Self {
        Self {
            targets: Vec::new(),
            every: Duration::from_secs(10),
        }
    }
}

/// What the vault knows of one witness's view of one log: for monitoring
/// (a refusing witness is the rollback alarm).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WitnessState {
    pub witness: String,
    pub log: String,
    /// The size the witness last accepted (as far as this process knows).
    pub size: u64,
    /// The witness refuses this log's history (409 it cannot get past, or a bad proof).
    pub refused: bool,
    /// Failed attempts since the last success.
    pub failures: u32,
}

/// Shared between the pushing thread and whoever reports on it.
pub(crate) type StatusBoard = Arc<std::sync::Mutex<BTreeMap<(String, String), WitnessState>>>;

pub(crate) enum PushMsg {
    /// These logs have a new checkpoint.
    Signed(Vec<String>),
    /// Submit everything pending now, then answer.
    Drain(Sender<()>),
}

/// The handle the appender holds.
#[derive(Clone)]
pub(crate) struct Pusher {
    tx: Sender<PushMsg>,
    pub(crate) board: StatusBoard,
}

impl Pusher {
    pub(crate) fn start(store: Arc<dyn AuditStore>, w: Witnesses) -> Option<Self> {
        if w.targets.is_empty() {
            return None;
        }
        let (tx, rx) = bounded(1024);
        let board = StatusBoard::default();
        let mut state = PushState {
            board: board.clone(),
            store,
            witnesses: w,
            pending: BTreeSet::new(),
            known: HashMap::new(),
            next_try: HashMap::new(),
        };
        thread::Builder::new()
            .name("audit-witness".into())
            .spawn(move || state.run(rx))
            .ok()?;
        Some(Self { tx, board })
    }

    /// Never blocks: a full queue means the thread is behind and will pick
    /// these logs up from the store on its next tick anyway.
    pub(crate) fn signed(&self, logs: Vec<String>) {
        let _ = self.tx.try_send(PushMsg::Signed(logs));
    }

    /// Waits (at most `limit`) until everything signed so far was offered
    /// to every witness — for short-lived processes before they exit.
    pub(crate) fn drain(&self, limit: Duration) {
        let (tx, rx) = bounded(1);
        if self.tx.send_timeout(PushMsg::Drain(tx), limit).is_ok() {
            let _ = rx.recv_timeout(limit);
        }
    }
}

struct PushState {
    board: StatusBoard,
    store: Arc<dyn AuditStore>,
    witnesses: Witnesses,
    /// Logs with a checkpoint not yet accepted by every witness.
    pending: BTreeSet<String>,
    /// (witness, log) → the size that witness holds, as far as we know.
    known: HashMap<(usize, String), u64>,
    /// (witness, log) → not before this instant (rate limit and backoff).
    next_try: HashMap<(usize, String), (Instant, u32)>,
}

/// The longest a failing witness waits between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

impl PushState {
    fn run(&mut self, rx: Receiver<PushMsg>) {
        // At start, every log may have checkpoints the witnesses lack.
        if let Ok(logs) = self.store.logs() {
            self.pending.extend(logs);
        }
        loop {
            match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(PushMsg::Signed(logs)) => self.pending.extend(logs),
                Ok(PushMsg::Drain(done)) => {
                    self.round(true);
                    let _ = done.send(());
                    continue;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.round(true);
                    return;
                }
            }
            self.round(false);
        }
    }

    /// Offers each pending log's latest checkpoint to each witness due.
    fn round(&mut self, now_all: bool) {
        let logs: Vec<String> = self.pending.iter().cloned().collect();
        for log in logs {
            let mut done = true;
            for i in 0..self.witnesses.targets.len() {
                let key = (i, log.clone());
                let due = now_all
                    || self
                        .next_try
                        .get(&key)
                        .is_none_or(|(at, _)| Instant::now() >= *at);
                if !due {
                    done = false;
                    continue;
                }
                let outcome = self.push(i, &log);
                self.report(i, &log, &outcome);
                match outcome {
                    Ok(()) => {
                        self.next_try
                            .insert(key, (Instant::now() + self.witnesses.every, 0));
                    }
                    Err(e) => {
                        done = false;
                        let failures = self.next_try.get(&key).map_or(0, |f| f.1) + 1;
                        let wait =
                            (self.witnesses.every * 2u32.pow(failures.min(8))).min(MAX_BACKOFF);
                        self.next_try.insert(key, (Instant::now() + wait, failures));
                        let target = self.witnesses.targets[i].describe();
                        if matches!(e, WitnessError::Conflict { .. } | WitnessError::BadProof(_)) {
                            tracing::error!(%log, witness = %target, error = %e,
                                "the witness refuses this log's history: the audit database may have been rolled back or truncated");
                        } else {
                            tracing::warn!(%log, witness = %target, error = %e, retry_in_s = wait.as_secs(),
                                "audit checkpoint not witnessed yet");
                        }
                    }
                }
            }
            if done {
                self.pending.remove(&log);
            }
        }
    }

    /// Records the outcome of an attempt on the status board.
    fn report(&self, i: usize, log: &str, outcome: &Result<(), WitnessError>) {
        let witness = self.witnesses.targets[i].describe();
        let size = self.known.get(&(i, log.to_owned())).copied().unwrap_or(0);
        let mut board = self.board.lock().unwrap_or_else(|p| p.into_inner());
        let entry = board
            .entry((witness.clone(), log.to_owned()))
            .or_insert_with(|| WitnessState {
                witness,
                log: log.to_owned(),
                size: 0,
                refused: false,
                failures: 0,
            });
        entry.size = size;
        match outcome {
            Ok(()) => {
                entry.refused = false;
                entry.failures = 0;
            }
            Err(e) => {
                entry.refused =
                    matches!(e, WitnessError::Conflict { .. } | WitnessError::BadProof(_));
                entry.failures = entry.failures.saturating_add(1);
            }
        }
    }

    /// Brings witness `i` up to `log`'s latest checkpoint.
    fn push(&mut self, i: usize, log: &str) -> Result<(), WitnessError> {
        let store_err = |e: mamori_store::StoreError| WitnessError::Unavailable(e.to_string());
        let Some(cp) = self.store.latest_checkpoint(log).map_err(store_err)? else {
            return Ok(());
        };
        let key = (i, log.to_owned());
        let mut old = self.known.get(&key).copied().unwrap_or(0);
        if old == cp.size {
            return Ok(());
        }
        // Two tries: the first may learn the witness's size from a 409.
        for _ in 0..2 {
            if old > cp.size {
                return Err(WitnessError::Conflict { size: old });
            }
            let proof = proofs::consistency(self.store.as_ref(), log, old, cp.size)
                .map_err(store_err)?
                .map_err(|e| WitnessError::BadProof(e.to_string()))?;
            let req = AddCheckpoint {
                old,
                proof,
                note: cp.note.clone(),
            };
            match self.witnesses.targets[i].add_checkpoint(&req) {
                Ok(cosignatures) => {
                    self.known.insert(key, cp.size);
                    self.keep(log, cp.size, &cosignatures);
                    return Ok(());
                }
                Err(WitnessError::Conflict { size }) if size != old => {
                    self.known.insert(key.clone(), size);
                    old = size;
                }
                Err(e) => return Err(e),
            }
        }
        Err(WitnessError::Conflict { size: old })
    }

    /// Stores the witness's cosignature lines beside the checkpoint (a few
    /// at most: a witness answers with one per key it holds). Whoever reads
    /// them checks them with the witness keys they trust.
    fn keep(&self, log: &str, size: u64, cosignatures: &str) {
        for line in cosignatures.lines().take(4) {
            let Some(name) = line
                .strip_prefix("\u{2014} ")
                .and_then(|rest| rest.split(' ').next())
            else {
                continue;
            };
            if let Err(e) = self
                .store
                .add_cosignature(log, size, name, &format!("{line}\n"))
            {
                tracing::warn!(%log, witness = name, error = %e, "cannot keep a witness cosignature");
            }
        }
    }
}
