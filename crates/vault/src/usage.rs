//! Budgets that stop mass enumeration: requests per minute, distinct customers
//! per person per day, distinct customers per grant.
//!
//! The audit log is the source of truth for what someone has read, so the
//! counters are rebuilt from it the first time a person (or grant) is seen by
//! this process; after that they live in memory and are reserved *before* the
//! audit append, so concurrent requests cannot both spend the last unit.
//! (One process per vault: several `serve` nodes need a shared counter — the
//! PostgreSQL issue.)

use std::collections::{HashMap, HashSet};

use mamori_core::RecordId;
use mamori_store::AuditQuery;
use parking_lot::Mutex;

use crate::{
    Vault,
    error::{Result, VaultError},
};

/// Japan Standard Time: a "day" of reading is a calendar day in Japan.
const JST_OFFSET: i64 = 9 * 3600;
const DAY: i64 = 86_400;

pub(crate) fn jst_day(ts: i64) -> i64 {
    (ts + JST_OFFSET).div_euclid(DAY)
}

fn day_start(day: i64) -> i64 {
    day * DAY - JST_OFFSET
}

#[derive(Default)]
pub(crate) struct Usage {
    inner: Mutex<Inner>,
    /// One rebuild from the audit log at a time: after a restart, the many
    /// concurrent requests of one busy person wait for the first to rebuild
    /// their counter instead of each scanning the log (a thundering herd
    /// that cost seconds of CPU in the gate-cost profile).
    rebuild: Mutex<()>,
}

#[derive(Default)]
struct Inner {
    /// login → (JST day, customers read that day)
    days: HashMap<String, (i64, HashSet<[u8; 16]>)>,
    /// grant id → customers read under it
    grants: HashMap<[u8; 16], HashSet<[u8; 16]>>,
    /// login → (minute, requests in it)
    minutes: HashMap<String, (i64, u32)>,
}

/// Records read under one grant in one request.
pub(crate) struct GrantCharge {
    pub grant: [u8; 16],
    pub budget: u64,
    pub starts_at: i64,
    pub records: Vec<[u8; 16]>,
}

impl Vault {
    /// Counts a data request against the per-minute limit.
    pub(crate) fn count_request(&self, login: &str) -> Result<()> {
        let limit = self.rules.limits.requests_per_minute;
        let minute = self.now().div_euclid(60);
        let mut inner = self.usage.inner.lock();
        // Look up before inserting: no String allocation on the hot path.
        let slot = match inner.minutes.get_mut(login) {
            Some(slot) => slot,
            None => inner.minutes.entry(login.to_owned()).or_insert((minute, 0)),
        };
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        if slot.1 >= limit {
            return Err(VaultError::Limited {
                code: "rate_limited",
                message: format!(
                    "more than {limit} requests in a minute; wait a moment and try again"
                ),
            });
        }
        slot.1 += 1;
        Ok(())
    }

    /// Reserves the customers a request is about to return against the
    /// person's daily budget and each grant's budget. All or nothing.
    pub(crate) fn charge(
        &self,
        login: &str,
        role: &str,
        records: &[[u8; 16]],
        grants: &[GrantCharge],
    ) -> Result<()> {
        let now = self.now();
        let day = jst_day(now);
        let limit = self.rules.limits.daily_records_for(role);
        // Rebuild from the audit log on first sight (or a new day), outside
        // the counters' lock, one rebuild at a time.
        let stale = |inner: &Inner| inner.days.get(login).is_none_or(|(d, _)| *d != day);
        if stale(&self.usage.inner.lock()) {
            let _one = self.usage.rebuild.lock();
            if stale(&self.usage.inner.lock()) {
                let set = self.read_since(login, day_start(day), None)?;
                self.usage
                    .inner
                    .lock()
                    .days
                    .insert(login.to_owned(), (day, set));
            }
        }
        for g in grants {
            if !self.usage.inner.lock().grants.contains_key(&g.grant) {
                let _one = self.usage.rebuild.lock();
                if !self.usage.inner.lock().grants.contains_key(&g.grant) {
                    let set = self.read_since(login, g.starts_at, Some(&g.grant))?;
                    self.usage.inner.lock().grants.insert(g.grant, set);
                }
            }
        }
        let mut inner = self.usage.inner.lock();
        let (_, today) = &inner.days[login];
        let fresh = records.iter().filter(|r| !today.contains(*r)).count() as u64;
        let used = today.len() as u64;
        if used + fresh > limit {
            return Err(VaultError::Limited {
                code: "daily_budget_exhausted",
                message: format!(
                    "this would make {} distinct customers today; your daily budget is {limit}. \
                     If the work needs more, ask your supervisor for a grant",
                    used + fresh
                ),
            });
        }
        for g in grants {
            let set = &inner.grants[&g.grant];
            let fresh = g.records.iter().filter(|r| !set.contains(*r)).count() as u64;
            let used = set.len() as u64;
            if used + fresh > g.budget {
                return Err(VaultError::Limited {
                    code: "grant_budget_exhausted",
                    message: format!(
                        "grant {} allows {} customers and {used} were already read; \
                         this request would exceed it",
                        RecordId::from_bytes(g.grant),
                        g.budget
                    ),
                });
            }
        }
        let entry = inner.days.get_mut(login).expect("inserted above");
        entry.1.extend(records.iter().copied());
        for g in grants {
            inner
                .grants
                .get_mut(&g.grant)
                .expect("inserted above")
                .extend(g.records.iter().copied());
        }
        Ok(())
    }

    /// Customers already read under a grant, as far as this process knows.
    pub(crate) fn grant_used(&self, login: &str, grant: &[u8; 16], since: i64) -> Result<u64> {
        if let Some(set) = self.usage.inner.lock().grants.get(grant) {
            return Ok(set.len() as u64);
        }
        let set = self.read_since(login, since, Some(grant))?;
        let n = set.len() as u64;
        self.usage.inner.lock().grants.entry(*grant).or_insert(set);
        Ok(n)
    }

    /// Distinct customers `login` was shown since `since` (seconds), from the
    /// audit log: every allowed search or read, or only those under `grant`.
    fn read_since(
        &self,
        login: &str,
        since: i64,
        grant: Option<&[u8; 16]>,
    ) -> Result<HashSet<[u8; 16]>> {
        let actor = format!("user:{login}");
        let grant_key = grant.map(|g| RecordId::from_bytes(*g).to_string());
        let mut out = HashSet::new();
        let mut after = None;
        loop {
            let rows = self
                .audit
                .store()
                .query(&AuditQuery {
                    actor: Some(actor.clone()),
                    from_ts: Some(since.saturating_mul(1_000_000)),
                    after,
                    limit: 1000,
                    ..Default::default()
                })
                .map_err(VaultError::from)?;
            let Some(last) = rows.last() else { break };
            after = Some(last.rowid);
            for row in &rows {
                if row.decision != "allow"
                    || !(row.action == "record.search" || row.action == "record.read")
                {
                    continue;
                }
                let Ok(body) = serde_json::from_slice::<serde_json::Value>(&row.body) else {
                    continue;
                };
                let ids = match &grant_key {
                    None => body.get("records"),
                    Some(k) => body
                        .get("detail")
                        .and_then(|d| d.get("grants"))
                        .and_then(|g| g.get(k)),
                };
                for id in ids.and_then(|v| v.as_array()).into_iter().flatten() {
                    if let Some(rid) = id.as_str().and_then(|s| RecordId::parse(s).ok()) {
                        out.insert(*rid.as_bytes());
                    }
                }
            }
            if rows.len() < 1000 {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_japanese_calendar_days() {
        // 2026-04-01 00:00 JST is 2026-03-31 15:00 UTC.
        let midnight_jst = chrono::DateTime::parse_from_rfc3339("2026-04-01T00:00:00+09:00")
            .unwrap()
            .timestamp();
        assert_eq!(jst_day(midnight_jst), jst_day(midnight_jst + DAY - 1));
        assert_eq!(jst_day(midnight_jst - 1) + 1, jst_day(midnight_jst));
        assert_eq!(day_start(jst_day(midnight_jst + 5000)), midnight_jst);
    }
}
