//! `detect`: events per second through the default rule set on one core,
//! and the memory detection keeps per person, over simulated contact-centre
//! traffic (operators taking calls through their shifts, 30 days).
//!
//! The baseline is what detection cannot avoid: reading the audit event
//! (parsing its canonical JSON, as stored) into an activity. Figures:
//! - `read`: parse + reduce only (the baseline);
//! - `read+rules`: parse + reduce + every rule (what the server does);
//! - `rules`: the engine alone over already-reduced activities.
//!
//! Memory is measured with a counting allocator: the bytes the engine
//! holds after the 30 days, divided by the people it tracks.

use std::{
    alloc::{GlobalAlloc, Layout},
    sync::atomic::{AtomicBool, AtomicIsize, Ordering},
    time::Instant,
};

use anyhow::Result;
use chrono::{Duration, NaiveDate};
use mamori_audit::SealedEvent;
use mamori_detect::{Activity, Engine, Rules, simulate::Sim};
use mimalloc::MiMalloc;
use serde_json::{Value, json};

/// mimalloc (the allocator of the `mamori` binary, so figures match the
/// server), counting live heap bytes while `detect` runs (the other
/// benchmarks leave counting off: one shared counter would slow their threads).
pub struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

fn count(delta: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        LIVE.fetch_add(delta, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count(l.size() as isize);
        unsafe { MiMalloc.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        count(-(l.size() as isize));
        unsafe { MiMalloc.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        count(new as isize - l.size() as isize);
        unsafe { MiMalloc.realloc(p, l, new) }
    }
}

pub struct Plan {
    pub operators: usize,
    pub days: i64,
    pub seed: u64,
}

fn per_s(n: usize, secs: f64) -> f64 {
    n as f64 / secs.max(1e-9)
}

pub fn run(p: Plan) -> Result<Value> {
    // Single-threaded: counting from the start keeps frees of earlier blocks balanced enough;
    // only the difference around the engine's life is reported.
    COUNTING.store(true, Ordering::Relaxed);
    let mut sim = Sim::new(p.seed, p.operators, 500_000);
    let start = NaiveDate::from_ymd_opt(2026, 10, 5).unwrap_or_default();
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    for d in 0..p.days {
        sim.normal_day(start + Duration::days(d));
        bodies.extend(sim.drain().iter().map(SealedEvent::canonical));
    }
    let n = bodies.len();

    // Baseline: read each event as detection must.
    let t = Instant::now();
    let mut activities = Vec::with_capacity(n);
    for b in &bodies {
        let e: SealedEvent = serde_json::from_slice(b)?;
        activities.extend(Activity::from_event(&e));
    }
    let read = t.elapsed().as_secs_f64();

    // The rules alone, over the reduced activities; memory held afterwards.
    let before = LIVE.load(Ordering::Relaxed);
    let mut engine = Engine::new(Rules::default())?;
    let t = Instant::now();
    let mut alerts = 0usize;
    let mut by_severity = std::collections::BTreeMap::<&str, usize>::new();
    let mut by_rule = std::collections::BTreeMap::<String, usize>::new();
    for a in &activities {
        for alert in engine.observe(a) {
            alerts += 1;
            *by_severity.entry(alert.severity.as_str()).or_default() += 1;
            *by_rule
                .entry(format!(
                    "{}/{}",
                    alert.rule.as_str(),
                    alert.severity.as_str()
                ))
                .or_default() += 1;
        }
    }
    let rules = t.elapsed().as_secs_f64();
    let held = (LIVE.load(Ordering::Relaxed) - before).max(0) as f64;
    let users = engine.users();
    let snapshot = engine.snapshot().len();
    drop(engine);
    drop(activities);

    // What the server does: read and evaluate, event by event.
    let mut engine = Engine::new(Rules::default())?;
    let t = Instant::now();
    for b in &bodies {
        let e: SealedEvent = serde_json::from_slice(b)?;
        if let Some(a) = Activity::from_event(&e) {
            engine.observe(&a);
        }
    }
    let both = t.elapsed().as_secs_f64();

    Ok(json!({
        "events": n,
        "operators": p.operators,
        "days": p.days,
        "alerts": alerts,
        "alerts_by_severity": by_severity,
        "alerts_by_rule": by_rule,
        "read_per_s": per_s(n, read),
        "rules_per_s": per_s(n, rules),
        "read_and_rules_per_s": per_s(n, both),
        "ratio_read_and_rules_to_read": per_s(n, both) / per_s(n, read),
        "users": users,
        "bytes_per_user": held / users.max(1) as f64,
        "snapshot_bytes_per_user": snapshot as f64 / users.max(1) as f64,
    }))
}
