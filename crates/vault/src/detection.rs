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

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use chrono::{DateTime, NaiveDate, Utc};
use mamori_audit::{AuditLog, AuditStore, Decision as AuditDecision, Event, SealedEvent, Signal};
use mamori_detect::{
    Activity, Alert, Engine, Facts, RuleId, Rules, Severity, calendar::Window, record_key,
};
use mamori_store::{AlertRow, AlertState, DetectSnapshot};
use serde::{Deserialize, Serialize};

use crate::{
    Backend, Vault,
    config::{ChannelConfig, DetectConfig, SmtpConfig},
    error::{Result, VaultError},
};

/// Events read from one log in one step.
const BATCH: usize = 5_000;
/// History learnt when detection starts on a vault for the first time.
const LEARN_DAYS: i64 = 31;
/// How long the detector sleeps when nothing was appended in this process
/// (events of other processes are picked up at this pace).
const POLL: Duration = Duration::from_millis(250);
/// Shortest time between two rounds (batches the events of many commits).
const ROUND: Duration = Duration::from_millis(100);

/// Loads and validates the rules file; the built-in defaults when it does not exist.
pub fn load_rules(dir: &Path, cfg: &DetectConfig) -> Result<Rules> {
    let path = dir.join(&cfg.rules_file);
    match std::fs::read_to_string(&path) {
        Ok(text) => Rules::from_toml(&text)
            .map_err(|e| VaultError::Config(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Rules::default()),
        Err(e) => Err(VaultError::Config(format!("{}: {e}", path.display()))),
    }
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
    pub leader: std::sync::atomic::AtomicBool,
}

/// Detection running in this process; stops (saving its state) when dropped.
pub struct Detection {
    stop: Arc<AtomicBool>,
    wake: Signal,
    threads: Vec<JoinHandle<()>>,
    pub status: Arc<DetectStatus>,
}

impl Drop for Detection {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake.raise();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

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

/// The people as detection sees them.
#[derive(Default)]
struct Directory {
    facts: HashMap<String, Facts>,
    managers: HashMap<String, String>,
}

impl Directory {
    fn load(store: &dyn Backend, peer_groups: &str) -> Result<Self> {
        let vendors: HashMap<String, i64> = store
            .vendors()?
            .into_iter()
            .map(|v| (v.id, v.contract_end))
            .collect();
        let mut d = Directory::default();
        let shifts: HashMap<String, String> = store.user_shifts()?.into_iter().collect();
        let since = (Utc::now() - chrono::Duration::days(LEARN_DAYS + 2)).date_naive();
        let mut calendars: HashMap<String, BTreeMap<NaiveDate, Vec<Window>>> = HashMap::new();
        for r in store.shifts(&since.to_string())? {
            let Ok(day) = NaiveDate::parse_from_str(&r.day, "%Y-%m-%d") else {
                continue;
            };
            let windows = calendars
                .entry(r.login)
                .or_default()
                .entry(day)
                .or_default();
            // A day off is the day with no windows.
            if r.end_min > r.start_min {
                windows.push(Window {
                    start: r.start_min,
                    end: r.end_min,
                });
            }
        }
        for u in store.users()? {
            // The last working day: the leaving day, or the day before a contract's (exclusive) end.
            let vendor_end = u
                .vendor
                .as_ref()
                .and_then(|v| vendors.get(v))
                .map(|end| end - 1);
            let end = [u.leaves_at, vendor_end].into_iter().flatten().min();
            let group = match (peer_groups, &u.department) {
                ("role-department", Some(dep)) => format!("{}/{dep}", u.role),
                _ => u.role.clone(),
            };
            if let Some(m) = &u.manager {
                d.managers.insert(u.login.clone(), m.clone());
            }
            let facts = Facts {
                peer_group: Some(group),
                contract_end: end.and_then(jst_date),
                shift: shifts.get(&u.login).cloned(),
                calendar: calendars.remove(&u.login).unwrap_or_default(),
            };
            d.facts.insert(u.login, facts);
        }
        Ok(d)
    }

    /// Whether `manager` is above `login` in the org chart.
    fn manages(&self, manager: &str, login: &str) -> bool {
        let mut next = self.managers.get(login);
        for _ in 0..32 {
            match next {
                Some(m) if m == manager => return true,
                Some(m) => next = self.managers.get(m),
                None => return false,
            }
        }
        false
    }
}

fn check_peer_groups(v: &str) -> Result<()> {
    match v {
        "role-department" | "role" => Ok(()),
        other => Err(VaultError::Config(format!(
            "detect.peer_groups '{other}': role-department or role"
        ))),
    }
}

fn jst_date(unix: i64) -> Option<NaiveDate> {
    mamori_core::jst::date(unix)
}

fn honey_keys(store: &dyn Backend) -> Result<HashSet<u64>> {
    Ok(store
        .honey()?
        .iter()
        .filter_map(|h| record_key(&hex::encode(h.record)))
        .collect())
}

/// Reads every log forward from a position: the people's events, in time order.
pub(crate) struct Feed {
    pub cursors: BTreeMap<String, i64>,
}

impl Feed {
    /// The next events (at most `BATCH` per log), oldest first; empty when caught up.
    pub fn next(&mut self, store: &dyn AuditStore) -> Result<Vec<SealedEvent>> {
        let mut out = Vec::new();
        for log in store.logs()? {
            let cursor = self.cursors.entry(log.clone()).or_insert(0);
            let rows = store.scan(&log, *cursor, BATCH)?;
            for row in rows {
                *cursor = row.rowid;
                if !row.actor.starts_with("user:") {
                    continue;
                }
                match serde_json::from_slice::<SealedEvent>(&row.body) {
                    Ok(e) => out.push(e),
                    Err(e) => tracing::error!(log = %row.log, seq = row.seq, error = %e,
                        "detection skipped an unreadable audit event (audit verify will say why)"),
                }
            }
        }
        out.sort_by(|a, b| a.ts.cmp(&b.ts));
        Ok(out)
    }
}

struct Detector {
    store: Arc<dyn Backend>,
    audit: AuditLog,
    cfg: DetectConfig,
    engine: Engine,
    position: Position,
    directory: Directory,
    rev: Option<u64>,
    honey_at: Option<Instant>,
    last_save: Instant,
    status: Arc<DetectStatus>,
    wake: Signal,
}

/// How often a standby process asks whether it may lead detection.
const STANDBY: Duration = Duration::from_secs(2);

/// Everything needed to start detection again whenever this process
/// becomes the one that runs it.
struct Plan {
    store: Arc<dyn Backend>,
    audit: mamori_audit::AuditLog,
    cfg: DetectConfig,
    rules: Rules,
    data_dir: std::path::PathBuf,
    status: Arc<DetectStatus>,
    wake: Signal,
    /// When detection was asked for (µs), before this process served anything.
    /// With no saved state, events from then on raise alerts: taking the time
    /// the lease was won instead would treat reads served while this process
    /// stood by, or built its engine, as history to learn from.
    started: i64,
}

impl Vault {
    /// Starts detection and the notification channels; they run until the
    /// vault is dropped. However many processes serve the vault, one runs
    /// them (it holds the store's `detection` lease); the others stand by
    /// and one takes over within seconds of the leader's end.
    pub fn start_detection(&self, cfg: &DetectConfig, rules: Rules, data_dir: &Path) -> Result<()> {
        check_peer_groups(&cfg.peer_groups)?;
        // Bad rules or channels stop the start, on every node, not only
        // once a node becomes leader.
        Engine::new(rules.clone()).map_err(|e| VaultError::Config(e.to_string()))?;
        for c in &cfg.channels {
            Target::parse(c, cfg, data_dir)?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let plan = Plan {
            store: self.store.clone(),
            audit: self.audit.clone(),
            cfg: cfg.clone(),
            rules,
            data_dir: data_dir.to_owned(),
            status: Arc::new(DetectStatus::default()),
            wake: Signal::default(),
            started: Utc::now().timestamp_micros(),
        };
        let (status, wake) = (plan.status.clone(), plan.wake.clone());
        let s = stop.clone();
        let lead = spawn("detect-lead", move || plan.lead(&s))?;
        *self.detection.lock() = Some(Detection {
            stop,
            wake,
            threads: vec![lead],
            status,
        });
        Ok(())
    }

    /// Detection's counters, when it runs in this process.
    pub fn detection_status(&self) -> Option<Arc<DetectStatus>> {
        self.detection.lock().as_ref().map(|d| d.status.clone())
    }
}

impl Plan {
    /// Takes the lease when it is free and runs detection while it is held.
    fn lead(&self, stop: &AtomicBool) {
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
    fn run(&self, stop: &AtomicBool, lease: &mut dyn crate::Lease) -> Result<()> {
        let engine =
            Engine::new(self.rules.clone()).map_err(|e| VaultError::Config(e.to_string()))?;
        let mut detector = Detector {
            store: self.store.clone(),
            audit: self.audit.clone(),
            cfg: self.cfg.clone(),
            engine,
            position: Position::default(),
            directory: Directory::default(),
            rev: None,
            honey_at: None,
            last_save: Instant::now(),
            status: self.status.clone(),
            wake: self.wake.clone(),
        };
        detector.resume(self.started)?;
        let inner = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let s = inner.clone();
        threads.push(spawn("detect", move || detector.run(&s))?);
        for c in &self.cfg.channels {
            let n = Notifier {
                store: self.store.clone(),
                name: c.name.clone(),
                target: Target::parse(c, &self.cfg, &self.data_dir)?,
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

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map_err(|e| VaultError::Internal(format!("cannot start {name}: {e}")))
}

impl Detector {
    /// Restores the saved state, or prepares to learn the history before
    /// `live_from` (µs) and to alert on what comes after.
    fn resume(&mut self, live_from: i64) -> Result<()> {
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

    fn run(&mut self, stop: &AtomicBool) {
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

/// Re-runs the rules over history without storing or notifying anything
/// (for tuning): the 30 days before `from` are learnt, alerts of events in
/// `[from, to)` are returned.
pub fn replay(
    store: &dyn Backend,
    audit: &dyn AuditStore,
    rules: Rules,
    peer_groups: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(Vec<Alert>, u64)> {
    check_peer_groups(peer_groups)?;
    let mut engine = Engine::new(rules).map_err(|e| VaultError::Config(e.to_string()))?;
    engine.set_directory(Directory::load(store, peer_groups)?.facts);
    engine.set_honey(honey_keys(store)?);
    let learn_from = from.timestamp_micros() - LEARN_DAYS * 86_400 * 1_000_000;
    let (from, to) = (from.timestamp_micros(), to.timestamp_micros());
    let mut feed = Feed {
        cursors: BTreeMap::new(),
    };
    let (mut alerts, mut seen) = (Vec::new(), 0);
    loop {
        let events = feed.next(audit)?;
        if events.is_empty() {
            return Ok((alerts, seen));
        }
        for e in &events {
            let Some(a) = Activity::from_event(e) else {
                continue;
            };
            let ts = a.at.timestamp_micros();
            if ts < learn_from || ts >= to {
                continue;
            }
            seen += 1;
            let raised = engine.observe(&a);
            if ts >= from {
                alerts.extend(raised);
            }
        }
    }
}

/// Where a channel delivers.
enum Target {
    Webhook {
        url: String,
        client: reqwest::blocking::Client,
    },
    Syslog(Box<mamori_audit::siem::Sink>),
    Mail(Box<Mail>),
}

/// An e-mail channel: the relay and the recipients.
struct Mail {
    transport: lettre::SmtpTransport,
    from: lettre::message::Mailbox,
    to: Vec<lettre::message::Mailbox>,
}

impl Mail {
    fn parse(list: &str, smtp: &SmtpConfig, dir: &Path) -> std::result::Result<Mail, String> {
        use lettre::transport::smtp::{
            authentication::Credentials,
            client::{Certificate, Tls, TlsParameters},
        };
        if smtp.host.is_empty() {
            return Err("mailto: channels need [detect.smtp] host".into());
        }
        let to = list
            .split(',')
            .map(|a| {
                a.trim()
                    .parse()
                    .map_err(|_| format!("'{a}' is not an e-mail address"))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let from = smtp
            .from
            .parse()
            .map_err(|_| format!("detect.smtp.from '{}' is not an e-mail address", smtp.from))?;
        let params = || {
            let mut b = TlsParameters::builder(smtp.host.clone());
            if !smtp.ca.is_empty() {
                let pem =
                    std::fs::read(dir.join(&smtp.ca)).map_err(|e| format!("{}: {e}", smtp.ca))?;
                b = b.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| e.to_string())?);
            }
            b.build_rustls().map_err(|e| e.to_string())
        };
        let tls = match smtp.tls.as_str() {
            "none" => Tls::None,
            "starttls" => Tls::Required(params()?),
            "tls" => Tls::Wrapper(params()?),
            other => return Err(format!("detect.smtp.tls '{other}': none, starttls or tls")),
        };
        mamori_audit::tls::install_provider();
        let mut b = lettre::SmtpTransport::builder_dangerous(&smtp.host)
            .port(smtp.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(10)));
        if !smtp.username.is_empty() {
            let password = std::env::var("MAMORI_SMTP_PASSWORD").unwrap_or_default();
            b = b.credentials(Credentials::new(smtp.username.clone(), password));
        }
        Ok(Mail {
            transport: b.build(),
            from,
            to,
        })
    }

    fn send(&self, subject: &str, body: String) -> std::result::Result<(), String> {
        use lettre::Transport;
        let mut m = lettre::Message::builder()
            .from(self.from.clone())
            .subject(subject);
        for to in &self.to {
            m = m.to(to.clone());
        }
        let message = m
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| e.to_string())?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

impl Target {
    fn parse(c: &ChannelConfig, cfg: &DetectConfig, dir: &Path) -> Result<Target> {
        let bad = |m: &str| VaultError::Config(format!("detect channel '{}': {m}", c.name));
        if Severity::parse(&c.min_severity).is_none() {
            return Err(bad("min_severity must be low, medium, high or critical"));
        }
        if c.audience != "all" && !c.audience.starts_with("team:") {
            return Err(bad("audience must be 'all' or 'team:<login>'"));
        }
        if c.target.starts_with("http://") || c.target.starts_with("https://") {
            mamori_audit::tls::install_provider();
            let client = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .map_err(|e| bad(&e.to_string()))?;
            return Ok(Target::Webhook {
                url: c.target.clone(),
                client,
            });
        }
        if let Some(rest) = c.target.strip_prefix("syslog+") {
            let ca: Option<PathBuf> = (!c.ca.is_empty()).then(|| dir.join(&c.ca));
            let sink = mamori_audit::siem::Sink::parse(rest, ca.as_deref())
                .map_err(|e| bad(&e.to_string()))?;
            if matches!(
                sink,
                mamori_audit::siem::Sink::File(_) | mamori_audit::siem::Sink::Stdout(_)
            ) {
                return Err(bad(
                    "syslog targets are syslog+udp://, syslog+tcp:// or syslog+tls://",
                ));
            }
            return Ok(Target::Syslog(Box::new(sink)));
        }
        if let Some(list) = c.target.strip_prefix("mailto:") {
            let mail = Mail::parse(list, &cfg.smtp, dir).map_err(|e| bad(&e))?;
            return Ok(Target::Mail(Box::new(mail)));
        }
        Err(bad(
            "target must be an http(s):// webhook, mailto:ADDRESSES or syslog+udp|tcp|tls://host:port",
        ))
    }

    fn send(&mut self, a: &AlertRow) -> std::result::Result<(), String> {
        let (ja, en) = summary(a);
        let severity = a.severity.as_str();
        let who = match &a.tenant {
            Some(t) => format!("{} ({t})", a.login),
            None => a.login.clone(),
        };
        match self {
            Target::Webhook { url, client } => {
                let text = format!("[mamori] {severity}: {ja} / {en} — {who} — alert {}", a.id);
                let body = serde_json::json!({ "text": text, "alert": a, "summary_ja": ja, "summary_en": en });
                let resp = client
                    .post(url.as_str())
                    .json(&body)
                    .send()
                    .map_err(|e| e.to_string())?;
                if resp.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("{url} answered {}", resp.status()))
                }
            }
            Target::Mail(mail) => {
                let subject = format!("[mamori] {severity}: {ja} / {en}");
                let at = DateTime::<Utc>::from_timestamp(a.at, 0)
                    .unwrap_or_default()
                    .with_timezone(&mamori_core::jst::zone());
                let body = format!(
                    "{ja}\n{en}\n\n重大度 severity: {severity}\n対象 user: {who}\nルール rule: {} {}\n\
                     日時 at: {}\n証跡 evidence: {}#{}\nリスク risk: {:.0}\n\n\
                     mamori alert show {}\n",
                    a.rule,
                    a.variant,
                    at.format("%Y-%m-%d %H:%M:%S JST"),
                    a.evidence_log,
                    a.evidence_seq,
                    a.risk,
                    a.id,
                );
                mail.send(&subject, body)
            }
            Target::Syslog(sink) => {
                let level = match severity {
                    "critical" => 2,
                    "high" => 3,
                    "medium" => 4,
                    _ => 5,
                };
                let params = [
                    ("alert", a.id.clone()),
                    ("rule", a.rule.clone()),
                    ("severity", severity.to_owned()),
                    ("user", a.login.clone()),
                    ("tenant", a.tenant.clone().unwrap_or_default()),
                    ("evidence", format!("{}#{}", a.evidence_log, a.evidence_seq)),
                ];
                let at = DateTime::<Utc>::from_timestamp(a.at, 0).unwrap_or_default();
                let msg = mamori_audit::siem::message(
                    level,
                    &at,
                    &mamori_audit::siem::hostname(),
                    "alert",
                    &params,
                    &format!("{en} — {who}"),
                );
                sink.deliver(&msg).map_err(|e| e.to_string())
            }
        }
    }
}

/// The alert's one-line summaries (Japanese, English).
pub fn summary(a: &AlertRow) -> (String, String) {
    match RuleId::parse(&a.rule) {
        Some(rule) => mamori_detect::alert::summary(rule, &a.variant, a.value, a.threshold),
        None => (a.rule.clone(), a.rule.clone()),
    }
}

/// Delivers one channel's notifications, retrying with backoff.
struct Notifier {
    store: Arc<dyn Backend>,
    name: String,
    target: Target,
    status: Arc<DetectStatus>,
}

impl Notifier {
    fn run(mut self, stop: &AtomicBool, wake: &Signal) {
        while !stop.load(Ordering::SeqCst) {
            let seen = wake.generation();
            let sent = self.round().unwrap_or_else(|e| {
                tracing::error!(channel = %self.name, error = %e, "notification round failed");
                0
            });
            if sent == 0 {
                wake.wait(seen, Duration::from_millis(500));
            }
        }
    }

    /// Delivers what is due; returns how many were attempted.
    fn round(&mut self) -> Result<usize> {
        let now = Utc::now().timestamp();
        let due = self.store.due_deliveries(&self.name, now, 20)?;
        for d in &due {
            let Some(alert) = self.store.alert(&d.alert)? else {
                self.store.delivery_result(d.id, true, now, None)?;
                continue;
            };
            match self.target.send(&alert) {
                Ok(()) => {
                    self.status.delivered.fetch_add(1, Ordering::Relaxed);
                    self.store.delivery_result(d.id, true, now, None)?;
                }
                Err(e) => {
                    // 1, 2, 4 … seconds, at most five minutes apart.
                    let wait = 1i64 << d.attempts.min(8);
                    self.status
                        .delivery_failures
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(channel = %self.name, alert = %d.alert, error = %e, retry_in_s = wait.min(300),
                        "alert notification failed");
                    self.store
                        .delivery_result(d.id, false, now + wait.min(300), Some(&e))?;
                }
            }
        }
        Ok(due.len())
    }
}
