//! What is remembered about one person: today's counters, a summary of each
//! active day of the last 30, the customers seen in those 30 days, short
//! sliding windows, known clients, the risk score.
//!
//! Customer counts are exact, not estimated: an alert saying someone saw
//! 1,109 customers in 30 days is evidence, and an estimator's error would
//! make the busiest honest person cross the peers' top by chance. The 30-day
//! set is one sorted vector of 32-bit customer fingerprints, each packed
//! with the last day it was seen (8 bytes a customer); a day summary is 52
//! bytes. Both are capped. Days 31 to 90 keep only their distinct count
//! (8 bytes a day), for a departing person's look-back.

use std::collections::{BTreeMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

/// Days of history kept (today included).
pub const HISTORY_DAYS: i32 = 30;
/// Days whose distinct-customer count is kept for a departing person's look-back.
pub const LOOK_BACK_DAYS: i32 = 90;
/// Customers counted in one day, and over 30 days; beyond these the counts saturate.
const SEEN_CAP: usize = 100_000;
const WINDOW_CAP: usize = 1_000_000;
/// Addresses remembered per person.
const CLIENTS_CAP: usize = 8;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Today {
    pub day: i32,
    pub hours: [u32; 24],
    seen: HashSet<u64>,
    /// Customers seen today and not in the 30-day window.
    new: u32,
    pub no_case: u32,
    pub unmasked: u32,
    pub exports: u32,
}

impl Today {
    fn new(day: i32) -> Self {
        Self {
            day,
            ..Self::default()
        }
    }

    pub fn distinct(&self) -> u32 {
        self.seen.len() as u32
    }

    fn active(&self) -> bool {
        self.hours.iter().any(|&h| h > 0) || !self.seen.is_empty()
    }
}

/// One past day the person was active.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DaySummary {
    pub day: i32,
    pub hours: [u16; 24],
    pub distinct: u32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct UserState {
    /// The peer group the person was last seen in.
    pub group: String,
    /// Unix seconds of the last activity; 0 = never seen.
    pub last_at: i64,
    pub today: Today,
    /// Active days before today within the last 30, oldest first.
    pub history: VecDeque<DaySummary>,
    /// Active days 31 to 90 days ago: (day, distinct customers), oldest first.
    #[serde(default)]
    pub older: VecDeque<(i32, u32)>,
    /// The contract end (days since the common era) the last look-back was for.
    #[serde(default)]
    pub looked_back: Option<i32>,
    /// Customers seen on the days of `history`: fingerprint << 32 | day, sorted.
    #[serde(with = "packed")]
    window: Vec<u64>,
    /// Times of searches without a case, within the enumeration window.
    pub searches: VecDeque<i64>,
    /// Times of searches by a customer number next to the previous one.
    #[serde(default)]
    pub sequential: VecDeque<i64>,
    /// Times of refusals, within the denial window.
    pub denials: VecDeque<i64>,
    /// Scan matches within the scan-oracle window: (time, values, customers named).
    #[serde(default)]
    pub scans: VecDeque<(i64, u64, u64)>,
    /// Records shown per minute: (minute since epoch, count), newest last.
    pub minutes: VecDeque<(i64, u32)>,
    /// Addresses used, with when they were last seen.
    pub clients: Vec<(String, i64)>,
    pub risk: f64,
    pub risk_at: i64,
    /// The last window each rule (and variant) alerted in: deduplication.
    pub fired: BTreeMap<String, i64>,
}

impl UserState {
    /// Distinct customers of each active day of the last 90 before today.
    pub fn last_90_days(&self) -> impl Iterator<Item = u32> + '_ {
        self.older
            .iter()
            .map(|(_, n)| *n)
            .chain(self.history.iter().map(|d| d.distinct))
    }

    /// Moves the person to `day`: today becomes history, old days drop out.
    pub fn advance(&mut self, day: i32) {
        if self.today.day >= day {
            return;
        }
        let today = std::mem::replace(&mut self.today, Today::new(day));
        if today.active() {
            let hours = today.hours.map(|h| h.min(u32::from(u16::MAX)) as u16);
            self.history.push_back(DaySummary {
                day: today.day,
                hours,
                distinct: today.distinct(),
            });
            self.merge_into_window(&today);
        }
        let first = day - HISTORY_DAYS;
        while let Some(d) = self.history.front().filter(|d| d.day <= first) {
            self.older.push_back((d.day, d.distinct));
            self.history.pop_front();
        }
        while self
            .older
            .front()
            .is_some_and(|(d, _)| *d <= day - LOOK_BACK_DAYS)
        {
            self.older.pop_front();
        }
        self.window.retain(|&e| (e as u32 as i32) > first);
    }

    fn merge_into_window(&mut self, today: &Today) {
        let stamp = |fp: u32| (u64::from(fp) << 32) | u64::from(today.day as u32);
        let mut added = Vec::new();
        for &k in &today.seen {
            let fp = fingerprint(k);
            match self.find(fp) {
                Ok(i) => self.window[i] = stamp(fp),
                Err(_) => added.push(stamp(fp)),
            }
        }
        added.sort_unstable();
        added.dedup_by_key(|e| *e >> 32);
        added.truncate(WINDOW_CAP.saturating_sub(self.window.len()));
        self.window.extend(added);
        self.window.sort_unstable();
    }

    fn find(&self, fp: u32) -> Result<usize, usize> {
        self.window.binary_search_by_key(&fp, |e| (e >> 32) as u32)
    }

    /// Distinct customers over the last 30 days, today included.
    pub fn thirty_days(&self) -> u32 {
        self.window.len() as u32 + self.today.new
    }

    /// Distinct customers over the 30 days before today.
    pub fn history_distinct(&self) -> u32 {
        self.window.len() as u32
    }

    /// Counts records shown at hour `hour` of today.
    pub fn record_shown(&mut self, hour: usize, keys: &[u64]) {
        self.today.hours[hour] = self.today.hours[hour].saturating_add(keys.len() as u32);
        for &k in keys {
            if self.today.seen.len() < SEEN_CAP
                && self.today.seen.insert(k)
                && self.find(fingerprint(k)).is_err()
            {
                self.today.new += 1;
            }
        }
    }

    /// Adds `n` records to the per-minute counts, keeping `keep` minutes.
    pub fn count_minute(&mut self, minute: i64, n: u32, keep: u32) {
        match self.minutes.back_mut() {
            Some((m, c)) if *m == minute => *c = c.saturating_add(n),
            _ => self.minutes.push_back((minute, n)),
        }
        while self
            .minutes
            .front()
            .is_some_and(|(m, _)| *m <= minute - i64::from(keep))
        {
            self.minutes.pop_front();
        }
    }

    /// Remembers an address; returns (known before, another address seen within `concurrent` seconds).
    pub fn see_client(&mut self, client: &str, at: i64, concurrent: i64) -> (bool, bool) {
        let other_recent = self
            .clients
            .iter()
            .any(|(c, t)| c != client && at - *t <= concurrent && *t <= at);
        let known = match self.clients.iter_mut().find(|(c, _)| c == client) {
            Some(entry) => {
                entry.1 = entry.1.max(at);
                true
            }
            None => {
                if self.clients.len() >= CLIENTS_CAP
                    && let Some(oldest) = self
                        .clients
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, (_, t))| *t)
                        .map(|(i, _)| i)
                {
                    self.clients.swap_remove(oldest);
                }
                self.clients.push((client.to_owned(), at));
                false
            }
        };
        (known, other_recent)
    }
}

/// The 32 bits a customer is known by in the 30-day window (record ids are
/// random, so these are uniform; a collision merely undercounts by one).
fn fingerprint(key: u64) -> u32 {
    (key >> 32) as u32
}

/// Pushes `at` and drops times older than `window` seconds; returns how many remain.
pub fn slide(times: &mut VecDeque<i64>, at: i64, window: i64, cap: usize) -> usize {
    times.push_back(at);
    while times.front().is_some_and(|t| *t <= at - window) || times.len() > cap {
        times.pop_front();
    }
    times.len()
}

/// The 30-day window in a snapshot: little-endian bytes in base64 (about
/// 11 characters a customer instead of 20 as JSON numbers).
mod packed {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = STANDARD.decode(text).map_err(D::Error::custom)?;
        if bytes.len() % 8 != 0 {
            return Err(D::Error::custom("window: length is not a multiple of 8"));
        }
        Ok(bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect())
    }
}
