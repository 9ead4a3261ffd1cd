//! The people as detection sees them: each person's peer group, last
//! working day (leaving day or the vendor contract's end), shift and
//! calendar, and who manages whom (for team-scoped alert channels).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use mamori_detect::{Facts, calendar::Window, record_key};
use mamori_store::Backend;

use crate::{LEARN_DAYS, Result};

/// The people as detection sees them.
#[derive(Default)]
pub(crate) struct Directory {
    pub facts: HashMap<String, Facts>,
    managers: HashMap<String, String>,
}

impl Directory {
    pub fn load(store: &dyn Backend, peer_groups: &str) -> Result<Self> {
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
                contract_end: end.and_then(mamori_core::jst::date),
                shift: shifts.get(&u.login).cloned(),
                calendar: calendars.remove(&u.login).unwrap_or_default(),
            };
            d.facts.insert(u.login, facts);
        }
        Ok(d)
    }

    /// Whether `manager` is above `login` in the org chart.
    pub fn manages(&self, manager: &str, login: &str) -> bool {
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

/// The record keys of the decoys: a look at one is an alert of its own.
pub(crate) fn honey_keys(store: &dyn Backend) -> Result<HashSet<u64>> {
    Ok(store
        .honey()?
        .iter()
        .filter_map(|h| record_key(&h.record.to_string()))
        .collect())
}
