//! One process runs detection: the one holding the store's `detection`
//! lease. The others stand by and ask again every few seconds, so one takes
//! over soon after the leader ends.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use mamori_audit::{AuditLog, Signal};
use mamori_detect::{Engine, Rules};
use mamori_store::{Backend, Lease};

use crate::{
    DetectConfig, DetectStatus, Result, Surroundings, WatchError,
    detector::Detector,
    notify::{Notifier, Target},
    spawn,
};

/// How often a standby process asks whether it may lead detection.
const STANDBY: Duration = Duration::from_secs(2);

/// Everything needed to start detection again whenever this process
/// becomes the one that runs it.
pub(crate) struct Leader {
    pub store: Arc<dyn Backend>,
    pub audit: AuditLog,
    pub cfg: DetectConfig,
    pub rules: Rules,
    pub around: Surroundings,
    pub status: Arc<DetectStatus>,
    pub wake: Signal,
    /// When detection was asked for (µs), before this process served anything.
    /// With no saved state, events from then on raise alerts: taking the time
    /// the lease was won instead would treat reads served while this process
    /// stood by, or built its engine, as history to learn from.
    pub started: i64,
}

impl Leader {
    /// Takes the lease when it is free and runs detection while it is held.
    pub fn lead(&self, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            match self.store.try_lead("detection") {
                Ok(Some(mut lease)) => {
                    self.status.leader.store(true, Ordering::SeqCst);
                    tracing::info!("this process runs detection");
                    match self.run(stop, lease.as_mut()) {
                        Ok(()) if stop.load(Ordering::SeqCst) => {}
                        Ok(()) => tracing::warn!("detection lease lost; standing by"),
                        Err(e) => tracing::error!(error = %e, "detection could not start"),
                    }
                    self.status.leader.store(false, Ordering::SeqCst);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot ask for the detection lease"),
            }
            let seen = self.wake.generation();
            if !stop.load(Ordering::SeqCst) {
                self.wake.wait(seen, STANDBY);
            }
        }
    }

    /// Runs the detector and the notifiers until `stop` or the lease is lost,
    /// then stops them (the detector saves its state).
    fn run(&self, stop: &AtomicBool, lease: &mut dyn Lease) -> Result<()> {
        let engine =
            Engine::new(self.rules.clone()).map_err(|e| WatchError::Config(e.to_string()))?;
        let mut detector = Detector::new(
            self.store.clone(),
            self.audit.clone(),
            self.cfg.clone(),
            engine,
            self.status.clone(),
            self.wake.clone(),
        );
        detector.resume(self.started)?;
        let inner = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let s = inner.clone();
        threads.push(spawn("detect", move || detector.run(&s))?);
        for c in &self.cfg.channels {
            let n = Notifier {
                store: self.store.clone(),
                name: c.name.clone(),
                target: Target::parse(c, &self.cfg, &self.around)?,
                status: self.status.clone(),
            };
            let (s, w) = (inner.clone(), self.wake.clone());
            threads.push(spawn(&format!("notify-{}", c.name), move || n.run(&s, &w))?);
        }
        while !stop.load(Ordering::SeqCst) && lease.held() {
            let seen = self.wake.generation();
            self.wake.wait(seen, Duration::from_secs(1));
        }
        inner.store(true, Ordering::SeqCst);
        self.wake.raise();
        for t in threads {
            let _ = t.join();
        }
        Ok(())
    }
}
