//! Detection in a running vault: a thread follows every audit log as it is
//! appended (woken by the writer, and polling for other processes' events),
//! feeds the people's activity through the engine, and stores each alert it
//! raises — audited, then queued for each notification channel it is routed
//! to. One thread per channel delivers; a dead channel only delays itself.
//!
//! Restarts lose and repeat nothing: the engine's state is saved together
//! with the position in each log it reflects (and any alert not yet stored),
//! and an alert's id is derived from what it is about, so an event seen twice
//! cannot raise twice. Started for the first time on a vault with history,
//! detection learns the last 30 days silently, then goes live.
//!
//! Architecture invariant: this crate reads the audit log and the people,
//! alert and honey tables, raises and delivers alerts — and nothing else. It
//! never holds a key and never sees a customer's value: audit events name
//! records by id, and alerts carry logins, rule names and counts.
//!
//! ```text
//! lib.rs        Watch: start, counters, stop (saving state) when dropped
//! config.rs     the [detect] section: rules file, snapshots, peer groups, channels
//! lead.rs       one process runs detection (the store's lease); the others stand by
//! detector.rs   rounds: read new events, observe, store and audit alerts, save state
//! directory.rs  the people as detection sees them (peer groups, contract ends, shifts)
//! feed.rs       every audit log read forward from a position, in time order
//! notify.rs     delivery per channel with backoff: webhook, e-mail, syslog
//! replay.rs     the rules re-run over history, for tuning
//! ```

pub mod config;
mod detector;
mod directory;
mod feed;
mod lead;
mod notify;
mod replay;

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread::{self, JoinHandle},
};

use chrono::Utc;
use mamori_audit::{AuditLog, Signal};
use mamori_detect::{Engine, Rules};
use mamori_store::Backend;
use zeroize::Zeroizing;

pub use config::{ChannelConfig, DetectConfig, SmtpConfig};
pub use replay::replay;

/// Why detection could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The `[detect]` section, the rules or a channel is invalid.
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] mamori_store::StoreError),
    #[error(transparent)]
    Audit(#[from] mamori_audit::AuditError),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = WatchError> = std::result::Result<T, E>;

/// History learnt when detection starts on a vault for the first time, and
/// before the first day a replay reports on.
const LEARN_DAYS: i64 = 31;

/// What the senders need from outside the configuration: the directory
/// relative certificate paths start from, and the relay's password.
#[derive(Clone, Default)]
pub struct Surroundings {
    /// Where `ca` paths of `[detect.smtp]` and of channels are found.
    pub dir: PathBuf,
    /// The mail relay's password (`[detect.smtp] username`'s).
    pub smtp_password: Option<Zeroizing<String>>,
}

/// Counters for `/metrics`.
#[derive(Default)]
pub struct DetectStatus {
    pub events: AtomicU64,
    pub alerts: AtomicU64,
    /// Milliseconds from an event's time to its processing, last seen.
    pub lag_ms: AtomicU64,
    pub delivered: AtomicU64,
    pub delivery_failures: AtomicU64,
    /// Whether this process is the one running detection now.
    pub leader: AtomicBool,
}

/// Detection running in this process; stops (saving its state) when dropped.
///
/// Drop it before the vault whose audit log it writes to: its last alert
/// and summary then get the vault's final signed checkpoint.
pub struct Watch {
    stop: Arc<AtomicBool>,
    wake: Signal,
    threads: Vec<JoinHandle<()>>,
    status: Arc<DetectStatus>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake.raise();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Watch {
    /// Starts detection and the notification channels; they run until the
    /// returned handle is dropped. However many processes serve the vault,
    /// one runs them (it holds the store's `detection` lease); the others
    /// stand by and one takes over within seconds of the leader's end.
    ///
    /// Bad rules, peer groups or channels stop the start, on every node, not
    /// only once a node becomes leader.
    pub fn start(
        store: Arc<dyn Backend>,
        audit: AuditLog,
        cfg: &DetectConfig,
        rules: Rules,
        around: Surroundings,
    ) -> Result<Watch> {
        cfg.check()?;
        Engine::new(rules.clone()).map_err(|e| WatchError::Config(e.to_string()))?;
        for c in &cfg.channels {
            notify::Target::parse(c, cfg, &around)?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let leader = lead::Leader {
            store,
            audit,
            cfg: cfg.clone(),
            rules,
            around,
            status: Arc::new(DetectStatus::default()),
            wake: Signal::default(),
            started: Utc::now().timestamp_micros(),
        };
        let (status, wake) = (leader.status.clone(), leader.wake.clone());
        let s = stop.clone();
        let lead = spawn("detect-lead", move || leader.lead(&s))?;
        Ok(Watch {
            stop,
            wake,
            threads: vec![lead],
            status,
        })
    }

    /// Detection's counters.
    pub fn status(&self) -> Arc<DetectStatus> {
        self.status.clone()
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map_err(|e| WatchError::Internal(format!("cannot start {name}: {e}")))
}
