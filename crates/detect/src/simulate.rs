//! Synthetic contact-centre activity on a simulated clock: operators who
//! work their shifts, take calls, look customers up with a case id and
//! sometimes open a record again. The scenario tests, the benchmark and
//! rule tuning use it; it produces real audit events (sealed, numbered), so
//! everything downstream runs exactly as on live traffic. Deterministic for
//! a given seed.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use mamori_audit::{Decision, Event, SealedEvent};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One simulated person.
#[derive(Clone, Debug)]
pub struct Operator {
    pub login: String,
    pub client: String,
    /// Mean distinct customers a working day.
    pub daily: f64,
    /// Customers served recently (callbacks come back to them).
    recent: Vec<String>,
}

pub struct Sim {
    rng: ChaCha8Rng,
    pub tenant: String,
    pub operators: Vec<Operator>,
    customers: Vec<String>,
    pending: Vec<(DateTime<Utc>, Event)>,
    seq: u64,
}

/// A moment in Japanese local time.
pub fn jst(date: NaiveDate, hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
    let t = date
        .and_hms_opt(hour, minute, second)
        .unwrap_or_else(|| date.and_hms_opt(0, 0, 0).unwrap_or_default());
    Utc.from_utc_datetime(&t) - Duration::hours(9)
}

fn record_id(rng: &mut ChaCha8Rng) -> String {
    let b: [u8; 16] = rng.random();
    hex::encode(b)
}

impl Sim {
    /// `operators` people serving one tenant of `customers` customers.
    pub fn new(seed: u64, operators: usize, customers: usize) -> Sim {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let customers = (0..customers).map(|_| record_id(&mut rng)).collect();
        let operators = (0..operators)
            .map(|i| Operator {
                login: format!("op{i:03}"),
                client: format!("10.1.{}.{}", i / 200, i % 200 + 10),
                // Busier and quieter people: 40 to 80 customers a day.
                daily: 40.0 + 40.0 * rng.random::<f64>(),
                recent: Vec::new(),
            })
            .collect();
        Sim {
            rng,
            tenant: "sim-tenant".into(),
            operators,
            customers,
            pending: Vec::new(),
            seq: 0,
        }
    }

    pub fn customer(&mut self) -> String {
        let i = self.rng.random_range(0..self.customers.len());
        self.customers[i].clone()
    }

    pub fn is_workday(date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
            && !mamori_core::holiday::is_holiday(date)
    }

    /// A working day for everyone: calls between 09:00 and 18:00 JST.
    pub fn normal_day(&mut self, date: NaiveDate) {
        if !Self::is_workday(date) {
            return;
        }
        for i in 0..self.operators.len() {
            let mean = self.operators[i].daily * (0.85 + 0.3 * self.rng.random::<f64>());
            self.work(i, date, mean.round() as usize);
        }
    }

    /// `calls` customer calls for operator `i` within the shift, one after
    /// another as calls are handled (a few minutes each), not at random
    /// moments: a person on the phone cannot take twenty calls in an hour.
    pub fn work(&mut self, i: usize, date: NaiveDate, calls: usize) {
        self.lookups(i, date, calls, 0.15);
    }

    /// `n` lookups of customers nobody called about, spread over the shift,
    /// each under a plausible case id: quiet browsing, the slow leak.
    pub fn browse(&mut self, i: usize, date: NaiveDate, n: usize) {
        self.lookups(i, date, n, 0.0);
    }

    fn lookups(&mut self, i: usize, date: NaiveDate, calls: usize, callbacks: f64) {
        // Calls spread over the nine hours from 09:00, the last ten minutes kept free.
        let slot = (Duration::hours(9).num_seconds() - 600) / calls.max(1) as i64;
        for k in 0..calls as i64 {
            let secs = k * slot + self.rng.random_range(0..slot.max(2) / 2);
            let at = jst(date, 9, 0, 0) + Duration::seconds(secs);
            let callback = !self.operators[i].recent.is_empty() && self.rng.random_bool(callbacks);
            let customer = if callback {
                let r = &self.operators[i].recent;
                r[self.rng.random_range(0..r.len())].clone()
            } else {
                self.customer()
            };
            let case = self.rng.random_bool(0.995);
            self.lookup(i, at, vec![customer.clone()], case, true);
            if self.rng.random_bool(0.3) {
                self.lookup(
                    i,
                    at + Duration::seconds(40),
                    vec![customer.clone()],
                    case,
                    false,
                );
            }
            let recent = &mut self.operators[i].recent;
            recent.push(customer);
            if recent.len() > 200 {
                recent.remove(0);
            }
        }
    }

    fn base(&self, i: usize, action: &str, decision: Decision, reason: &str) -> Event {
        let op = &self.operators[i];
        let mut e = Event::new(format!("user:{}", op.login), action, decision, reason)
            .tenant(self.tenant.as_str());
        e.actor_role = Some("operator".into());
        e.client = Some(op.client.clone());
        e.purpose = Some("inquiry".into());
        e
    }

    /// A search (or a read by id) that showed `records`.
    pub fn lookup(
        &mut self,
        i: usize,
        at: DateTime<Utc>,
        records: Vec<String>,
        case: bool,
        search: bool,
    ) {
        let action = if search {
            "record.search"
        } else {
            "record.read"
        };
        let mut e = self.base(i, action, Decision::Allow, "allowed");
        if case {
            e.case_id = Some(format!("CALL-{}", self.rng.random_range(0..10_000_000)));
        }
        e.records = records;
        e.fields = vec!["name".into(), "phone".into()];
        self.pending.push((at, e));
    }

    pub fn denial(&mut self, i: usize, at: DateTime<Utc>) {
        let e = self.base(i, "record.search", Decision::Deny, "not_assigned");
        self.pending.push((at, e));
    }

    pub fn export_request(&mut self, i: usize, at: DateTime<Utc>, rows: u64) {
        let e = self
            .base(i, "export.request", Decision::Allow, "ok")
            .detail("rows", rows);
        self.pending.push((at, e));
    }

    /// Changes operator `i`'s address (a new terminal).
    pub fn set_client(&mut self, i: usize, client: &str) {
        self.operators[i].client = client.to_owned();
    }

    /// The events generated so far, in time order, sealed into the tenant's log.
    pub fn drain(&mut self) -> Vec<SealedEvent> {
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_by_key(|(at, _)| *at);
        let log = mamori_audit::log_for(Some(&self.tenant));
        pending
            .into_iter()
            .map(|(at, e)| {
                self.seq += 1;
                SealedEvent::seal(e, log.clone(), self.seq, at, &[0; 32])
            })
            .collect()
    }
}
