//! The detector: rounds that read what the audit logs gained, feed it
//! through the engine, store and audit the alerts it raises, and save the
//! engine's state with the position it reflects.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use chrono::Utc;
use mamori_audit::{AuditLog, AuditStore, Decision as AuditDecision, Event, Signal};
use mamori_detect::{Activity, Alert, Engine, Severity};
use mamori_store::{AlertRow, AlertState, Backend, DetectSnapshot};
use serde::{Deserialize, Serialize};

use crate::{
    DetectConfig, DetectStatus, LEARN_DAYS, Result,
    directory::{Directory, honey_keys},
    feed::Feed,
};

/// How long the detector sleeps when nothing was appended in this process
/// (events of other processes are picked up at this pace).
const POLL: Duration = Duration::from_millis(250);
/// Shortest time between two rounds (batches the events of many commits).
const ROUND: Duration = Duration::from_millis(100);
/// How often the rules judged on the clock (a silent PC agent) are asked.
const TICK: Duration = Duration::from_secs(1);

/// What a snapshot records besides the engine's state.
#[derive(Default, Serialize, Deserialize)]
struct Position {
    /// Log → storage position of the last event consumed.
    cursors: BTreeMap<String, i64>,
    /// Events before this time (µs) are learnt from without raising alerts.
    live_from: i64,
    /// Alerts raised but not yet stored (the store was unavailable).
    pending: Vec<Alert>,
}

pub(crate) struct Detector {
    store: Arc<dyn Backend>,
    audit: AuditLog,
    cfg: DetectConfig,
    engine: Engine,
    position: Position,
    directory: Directory,
    rev: Option<u64>,
    honey_at: Option<Instant>,
    last_save: Instant,
    /// When the clock's checks last ran (rule 18).
    ticked: Option<Instant>,
    status: Arc<DetectStatus>,
    wake: Signal,
}

impl Detector {
    pub fn new(
        store: Arc<dyn Backend>,
        audit: AuditLog,
        cfg: DetectConfig,
        engine: Engine,
        status: Arc<DetectStatus>,
        wake: Signal,
    ) -> Self {
        Detector {
            store,
            audit,
            cfg,
            engine,
            position: Position::default(),
            directory: Directory::default(),
            rev: None,
            honey_at: None,
            last_save: Instant::now(),
            ticked: None,
            status,
            wake,
        }
    }

    /// Restores the saved state, or prepares to learn the history before
    /// `live_from` (µs) and to alert on what comes after.
    pub fn resume(&mut self, live_from: i64) -> Result<()> {
        if let Some(snap) = self.store.detect_snapshot()? {
            let restored = serde_json::from_str::<Position>(&snap.cursors)
                .map_err(|e| e.to_string())
                .and_then(|p| {
                    self.engine
                        .restore(&snap.state)
                        .map(|()| p)
                        .map_err(|e| e.to_string())
                });
            match restored {
                Ok(p) => {
                    self.position = p;
                    return Ok(());
                }
                Err(e) => tracing::error!(error = %e,
                    "detection state unreadable; relearning the last 30 days from the audit log"),
            }
        }
        self.position = Position {
            live_from,
            ..Position::default()
        };
        Ok(())
    }

    pub fn run(&mut self, stop: &AtomicBool) {
        let appended = self.audit.appended();
        let every = Duration::from_secs(self.cfg.snapshot_every_s.max(1));
        // At once: a first start killed before its first save would otherwise
        // take the events it saw live for history to learn from.
        self.save();
        while !stop.load(Ordering::SeqCst) {
            let started = Instant::now();
            let seen = appended.generation();
            let n = self.round().unwrap_or_else(|e| {
                tracing::error!(error = %e, "detection round failed; retrying");
                thread::sleep(Duration::from_secs(1));
                0
            });
            if n == 0 {
                appended.wait(seen, POLL);
            }
            // Under load the writer commits every millisecond or so; a round
            // per commit would cost the server a fifth of its lookups in
            // queries. Rounds at most every ROUND keep alerts well under a second.
            if let Some(rest) = ROUND.checked_sub(started.elapsed()) {
                thread::sleep(rest);
            }
            if self.last_save.elapsed() >= every {
                self.save();
            }
        }
        self.save();
    }

    /// One step: refresh people and decoys, consume what is new. Returns events read.
    fn round(&mut self) -> Result<usize> {
        self.refresh()?;
        self.store_pending();
        let mut feed = Feed {
            cursors: std::mem::take(&mut self.position.cursors),
        };
        let events = feed.next(self.store_audit().as_ref());
        self.position.cursors = feed.cursors;
        let events = events?;
        let now = Utc::now().timestamp_micros();
        let oldest = now - LEARN_DAYS * 86_400 * 1_000_000;
        for e in &events {
            let Some(a) = Activity::from_event(e) else {
                continue;
            };
            let ts = a.at.timestamp_micros();
            if ts < oldest {
                continue;
            }
            let alerts = self.engine.observe(&a);
            self.status.events.fetch_add(1, Ordering::Relaxed);
            let lag = (now - ts).max(0) / 1000;
            self.status.lag_ms.store(lag as u64, Ordering::Relaxed);
            if ts >= self.position.live_from {
                self.position.pending.extend(alerts);
            }
        }
        // Silence raises no event: the clock is asked, at most every TICK,
        // and only once learning is over.
        if now >= self.position.live_from && self.ticked.is_none_or(|t| t.elapsed() >= TICK) {
            self.ticked = Some(Instant::now());
            let alerts = self.engine.tick(Utc::now());
            self.position.pending.extend(alerts);
        }
        self.store_pending();
        for day in self.engine.take_summaries() {
            self.record_summary(&day);
        }
        Ok(events.len())
    }

    /// A day's alert counts per rule go to the system log; a rule that hit its
    /// daily cap is reported as noisy (a threshold to revisit, not a flood to read).
    fn record_summary(&self, day: &mamori_detect::DailySummary) {
        let rules: serde_json::Map<String, serde_json::Value> = day
            .rules
            .iter()
            .map(|(r, c)| {
                let v = serde_json::json!({ "raised": c.raised, "suppressed": c.suppressed });
                (r.as_str().to_owned(), v)
            })
            .collect();
        let noisy: Vec<&str> = day.noisy.iter().map(|r| r.as_str()).collect();
        if !noisy.is_empty() {
            tracing::warn!(date = %day.date, rules = ?noisy,
                "detection rules hit their daily alert cap; review their thresholds");
        }
        let e = Event::new("system", "detect.summary", AuditDecision::Allow, "ok")
            .detail("date", day.date.to_string())
            .detail("rules", rules)
            .detail("noisy", noisy);
        if let Err(e) = self.audit.append(e) {
            tracing::error!(error = %e, "could not record the daily detection summary");
        }
    }

    fn store_audit(&self) -> Arc<dyn AuditStore> {
        self.audit.store().clone()
    }

    fn refresh(&mut self) -> Result<()> {
        let rev = self.store.governance_rev()?;
        if self.rev != Some(rev) {
            self.directory = Directory::load(self.store.as_ref(), &self.cfg.peer_groups)?;
            self.engine.set_directory(self.directory.facts.clone());
            self.rev = Some(rev);
        }
        if self
            .honey_at
            .is_none_or(|t| t.elapsed() > Duration::from_secs(5))
        {
            self.engine.set_honey(honey_keys(self.store.as_ref())?);
            self.honey_at = Some(Instant::now());
        }
        Ok(())
    }

    /// Stores the alerts waiting; keeps those that could not be stored for the next round.
    fn store_pending(&mut self) {
        let pending = std::mem::take(&mut self.position.pending);
        let mut left = Vec::new();
        for alert in pending {
            if !left.is_empty() {
                left.push(alert);
                continue;
            }
            if let Err(e) = self.raise(&alert) {
                tracing::error!(error = %e, alert = %alert.id, "could not store an alert; will retry");
                left.push(alert);
            }
        }
        self.position.pending = left;
    }

    /// Records the alert in the audit log, stores it and queues its notifications.
    fn raise(&self, alert: &Alert) -> Result<()> {
        if self.store.alert(&alert.id)?.is_some() {
            return Ok(());
        }
        let (_, en) = alert.summary();
        let mut e = Event::new(
            "system",
            "alert.raise",
            AuditDecision::Allow,
            alert.rule.as_str(),
        )
        .detail("severity", alert.severity.as_str())
        .detail("variant", alert.variant.as_str())
        .detail("subject", alert.user.as_str())
        .detail(
            "evidence",
            format!("{}#{}", alert.evidence.log, alert.evidence.seq),
        )
        .detail("value", alert.value)
        .detail("threshold", alert.threshold);
        e.tenant = alert.tenant.clone();
        e.case_id = Some(alert.id.clone());
        self.audit.append(e)?;
        let now = Utc::now().timestamp();
        let channels = self.routes(alert);
        self.store
            .insert_alert(&alert_row(alert, now), &channels, now)?;
        self.status.alerts.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(alert = %alert.id, rule = alert.rule.as_str(), severity = alert.severity.as_str(),
            user = %alert.user, "{en}");
        if !channels.is_empty() {
            self.wake.raise();
        }
        Ok(())
    }

    /// The channels an alert goes to: by severity, and by audience (everyone's
    /// alerts to the security office; a team's to its supervisor).
    fn routes(&self, alert: &Alert) -> Vec<String> {
        self.cfg
            .channels
            .iter()
            .filter(|c| Severity::parse(&c.min_severity).is_some_and(|min| alert.severity >= min))
            .filter(|c| match c.audience.strip_prefix("team:") {
                Some(sup) => self.directory.manages(sup, &alert.user),
                None => true,
            })
            .map(|c| c.name.clone())
            .collect()
    }

    fn save(&mut self) {
        let snap = DetectSnapshot {
            cursors: serde_json::to_string(&self.position).unwrap_or_default(),
            state: self.engine.snapshot(),
            saved_at: Utc::now().timestamp(),
        };
        match self.store.save_detect_snapshot(&snap) {
            Ok(()) => self.last_save = Instant::now(),
            Err(e) => tracing::error!(error = %e, "could not save detection state"),
        }
    }
}

fn alert_row(a: &Alert, now: i64) -> AlertRow {
    AlertRow {
        id: a.id.clone(),
        rule: a.rule.as_str().to_owned(),
        variant: a.variant.clone(),
        severity: a.severity.as_str().to_owned(),
        login: a.user.clone(),
        tenant: a.tenant.clone(),
        at: a.at.timestamp(),
        window: a.window,
        value: a.value,
        threshold: a.threshold,
        indicator: a.indicator.map(|r| r.as_str().to_owned()),
        evidence_log: a.evidence.log.clone(),
        evidence_seq: a.evidence.seq,
        risk: a.risk,
        raised_at: now,
        state: AlertState::Open,
        assignee: None,
        note: None,
        updated_by: None,
        updated_at: now,
    }
}
