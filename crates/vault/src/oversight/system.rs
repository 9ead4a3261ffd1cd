//! The system's own health, for those who run it (system administrators)
//! and those who oversee it (the security office, auditors): whether the
//! store answers and the audit log takes writes, each log's length against
//! its latest signed checkpoint and how old that is, what the witnesses
//! have accepted, alert notifications not yet delivered, tenants by
//! status. Structurally no customer data: counts, log names and ids only.
//!
//! It is the server's own account. An auditor who must not trust the
//! server verifies the log independently (`mamori audit verify` with the
//! audit key's public half, or any RFC 6962 tool, against checkpoints kept
//! outside); this page says where to start.

use std::collections::BTreeMap;

use mamori_store::TenantStatus;
use serde::Serialize;

use crate::{Caller, Vault, error::Result};

/// Events after the latest checkpoint counted at most (a longer tail is
/// shown as this many more and flagged).
const TAIL_COUNTED: u64 = 100_000;

/// A log's checkpoint older than this (with events after it) is flagged.
pub const CHECKPOINT_STALE_SECS: i64 = 15 * 60;

#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SystemStatus {
    /// When it was read (Unix seconds).
    pub at: i64,
    pub store_ok: bool,
    /// The audit log took its last write (when it cannot, every read is refused).
    pub audit_ok: bool,
    pub logs: Vec<LogStatus>,
    pub witnesses: Vec<WitnessStatus>,
    /// Alert notifications waiting per channel.
    pub deliveries: Vec<Queue>,
    /// Tenants per status (`active`, `shredded`).
    pub tenants: BTreeMap<String, u64>,
}

/// One audit log: its events and its latest signed checkpoint.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogStatus {
    pub log: String,
    /// Events appended (the log's head).
    pub events: u64,
    /// Events the latest signed checkpoint covers.
    pub signed: u64,
    /// When that checkpoint was signed (Unix seconds), if any.
    pub signed_at: Option<i64>,
    /// Events after the checkpoint and the checkpoint older than
    /// `CHECKPOINT_STALE_SECS`: the signer is not keeping up.
    pub stale: bool,
}

/// Notifications waiting on one channel.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Queue {
    pub channel: String,
    pub waiting: u64,
}

/// What one witness has accepted of one log, as this process knows it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WitnessStatus {
    pub witness: String,
    pub log: String,
    pub size: u64,
    pub refused: bool,
    pub failures: u32,
}

impl Vault {
    /// The system's health now (system administrators, the security
    /// office, auditors). Recorded.
    pub fn system_status(&self, caller: &Caller) -> Result<SystemStatus> {
        let decision = self.gate.decide_system(&caller.principal);
        let event = self.gated(
            self.caller_event(caller, "system.view", "ok"),
            &decision,
            "the system's health is for system administrators, the security office and auditors",
        )?;
        let now = self.now();
        let store_ok = self.store.governance_rev().is_ok();
        let audit_ok = !self.audit.failed_within(std::time::Duration::from_secs(5));
        let status = SystemStatus {
            at: now,
            store_ok,
            audit_ok,
            logs: self.log_status(now)?,
            witnesses: (self.audit.witnesses().into_iter())
                .map(|w| WitnessStatus {
                    witness: w.witness,
                    log: w.log,
                    size: w.size,
                    refused: w.refused,
                    failures: w.failures,
                })
                .collect(),
            deliveries: (self.store.pending_deliveries()?.into_iter())
                .map(|(channel, waiting)| Queue { channel, waiting })
                .collect(),
            tenants: self.tenant_counts()?,
        };
        self.audit.append(
            event
                .detail("store_ok", status.store_ok)
                .detail("audit_ok", status.audit_ok)
                .detail("stale_logs", status.logs.iter().filter(|l| l.stale).count()),
        )?;
        Ok(status)
    }

    fn log_status(&self, now: i64) -> Result<Vec<LogStatus>> {
        let store = self.audit.store();
        let mut out = Vec::new();
        for log in store.logs()? {
            let cp = store.latest_checkpoint(&log)?;
            let (signed, signed_at) = cp.map_or((0, None), |c| (c.size, Some(c.ts / 1_000_000)));
            // The unsigned tail is short while the signer keeps up; counted
            // up to a bound, past which the log is flagged anyway.
            let tail = store.leaves(&log, signed, TAIL_COUNTED)?.len() as u64;
            let events = signed + tail;
            out.push(LogStatus {
                stale: behind(events, signed, signed_at, now),
                log,
                events,
                signed,
                signed_at,
            });
        }
        Ok(out)
    }

    fn tenant_counts(&self) -> Result<BTreeMap<String, u64>> {
        let mut out = BTreeMap::new();
        for t in self.store.tenants()? {
            let s = match t.status {
                TenantStatus::Active => "active",
                _ => "shredded",
            };
            *out.entry(s.to_owned()).or_default() += 1;
        }
        Ok(out)
    }
}

/// Whether a log's signing is behind: events after its latest checkpoint,
/// and that checkpoint (if any) older than `CHECKPOINT_STALE_SECS`.
fn behind(events: u64, signed: u64, signed_at: Option<i64>, now: i64) -> bool {
    events > signed && signed_at.is_none_or(|at| now - at > CHECKPOINT_STALE_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_is_behind_only_with_an_old_checkpoint_and_events_after_it() {
        let now = 1_000_000;
        let old = Some(now - CHECKPOINT_STALE_SECS - 1);
        let fresh = Some(now - 60);
        assert!(behind(10, 7, old, now));
        assert!(behind(3, 0, None, now), "never signed");
        assert!(!behind(7, 7, old, now), "nothing after it");
        assert!(!behind(10, 7, fresh, now), "signed a minute ago");
        assert!(!behind(0, 0, None, now), "an empty log");
    }
}
