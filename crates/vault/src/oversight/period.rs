//! The audit log walked over a period, for oversight that joins a month or
//! a quarter of events at once (the reconciliation, a review campaign's
//! evidence): rows handed over one at a time in storage order, decided from
//! their columns before any body is parsed.

use mamori_audit::SealedEvent;
use mamori_store::{AuditQuery, AuditRow, each_audit_page};

use super::reports::AsOf;
use crate::{
    ErrorCode, Vault,
    error::{Result, VaultError},
};

/// The longest period one reconciliation or inspection covers.
pub(crate) const MAX_DAYS: i64 = 62;

impl Vault {
    /// `[from, to)` checked: `to` after `from`, at most `MAX_DAYS` later; a
    /// period still running (the month so far) ends at the end of the
    /// current second (events are stamped in microseconds). Returns `to`.
    pub(crate) fn checked_period(&self, from: i64, to: i64) -> Result<i64> {
        let to = to.min(self.now() + 1);
        if to <= from || to - from > MAX_DAYS * 86_400 {
            return Err(VaultError::bad(
                ErrorCode::PeriodInvalid,
                format!("a period ends after it starts, before now, within {MAX_DAYS} days"),
            ));
        }
        Ok(to)
    }

    /// Hands every event stamped in `[from, to)` (Unix seconds) to `each`,
    /// in storage order. The walk starts at the period's first event and
    /// stops a minute past its end (times in storage order are close to
    /// sorted: processes sharing a database stamp at their own commit); a
    /// time bound in the paged query would go on reading to the end of the
    /// log for a last page that never fills.
    pub(crate) fn walk_period(
        &self,
        from: i64,
        to: i64,
        mut each: impl FnMut(&AuditRow) -> Result<()>,
    ) -> Result<()> {
        let store = self.audit.store().as_ref();
        let (from_us, to_us) = (from.saturating_mul(1_000_000), to.saturating_mul(1_000_000));
        let first = store.query(&AuditQuery {
            from_ts: Some(from_us),
            to_ts: Some(to_us),
            limit: 1,
            ..AuditQuery::default()
        })?;
        let Some(first) = first.first() else {
            return Ok(());
        };
        let q = AuditQuery {
            after: Some(first.rowid - 1),
            limit: 2000,
            ..AuditQuery::default()
        };
        each_audit_page(store, q, |rows| {
            for row in rows {
                if row.ts >= to_us.saturating_add(60_000_000) {
                    return Ok(false);
                }
                if (from_us..to_us).contains(&row.ts) {
                    each(row)?;
                }
            }
            Ok::<bool, VaultError>(true)
        })
    }
}

impl Vault {
    /// Every allowed event of `action` — stamped in `[from, to)` when
    /// `within` is given — oldest first, with its row, parsed.
    pub(crate) fn each_event(
        &self,
        action: &str,
        within: Option<(i64, i64)>,
        mut f: impl FnMut(&AuditRow, SealedEvent) -> Result<()>,
    ) -> Result<()> {
        let q = AuditQuery {
            action: Some(action.to_owned()),
            from_ts: within.map(|w| w.0.saturating_mul(1_000_000)),
            to_ts: within.map(|w| w.1.saturating_mul(1_000_000)),
            limit: 1000,
            ..AuditQuery::default()
        };
        each_audit_page(self.audit.store().as_ref(), q, |rows| {
            for row in rows.iter().filter(|r| r.decision == "allow") {
                f(row, parse(row)?)?;
            }
            Ok::<bool, VaultError>(true)
        })
    }
}

impl Vault {
    /// [`each_event`](Self::each_event) over the whole log, or — with a
    /// report's horizon — only the events its checkpoints hold (each checked
    /// against its leaf hash on the way).
    pub(crate) fn each_event_held(
        &self,
        action: &str,
        horizon: Option<&AsOf>,
        mut f: impl FnMut(&AuditRow, SealedEvent) -> Result<()>,
    ) -> Result<()> {
        self.each_event(action, None, |row, e| {
            if horizon.is_none_or(|h| h.holds(row)) {
                f(row, e)
            } else {
                Ok(())
            }
        })
    }
}

/// Whether a row is a person's allowed read (decided from the columns,
/// before the body is parsed).
pub(crate) fn is_read(row: &AuditRow) -> bool {
    matches!(row.action.as_str(), "record.search" | "record.read")
        && row.decision == "allow"
        && row.actor.starts_with("user:")
}

pub(crate) fn parse(row: &AuditRow) -> Result<SealedEvent> {
    serde_json::from_slice(&row.body)
        .map_err(|_| VaultError::Internal("stored audit event does not parse".into()))
}
