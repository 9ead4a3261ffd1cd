//! Every audit log read forward from a position: the people's events (not
//! the system's), in time order, a batch per log at a time.

use std::collections::BTreeMap;

use mamori_audit::{AuditStore, SealedEvent};

use crate::Result;

/// Events read from one log in one step.
const BATCH: usize = 5_000;

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
