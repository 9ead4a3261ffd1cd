//! The rules re-run over history without storing or notifying anything:
//! how a security officer tunes thresholds before changing them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mamori_audit::AuditStore;
use mamori_detect::{Activity, Alert, Engine, Rules};
use mamori_store::Backend;

use crate::{
    DetectConfig, LEARN_DAYS, Result, WatchError,
    directory::{Directory, honey_keys},
    feed::Feed,
};

/// Re-runs the rules over history without storing or notifying anything
/// (for tuning): the 30 days before `from` are learnt, alerts of events in
/// `[from, to)` are returned.
pub fn replay(
    store: &dyn Backend,
    audit: &dyn AuditStore,
    rules: Rules,
    cfg: &DetectConfig,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(Vec<Alert>, u64)> {
    cfg.check()?;
    let mut engine = Engine::new(rules).map_err(|e| WatchError::Config(e.to_string()))?;
    engine.set_directory(Directory::load(store, &cfg.peer_groups)?.facts);
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
