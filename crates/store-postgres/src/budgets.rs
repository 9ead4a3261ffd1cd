//! Budgets shared by every node: a row per budget (locked while a request
//! charges it) and a row per customer charged, so that two nodes cannot both
//! spend the last unit and a customer shown twice costs once. Requests that
//! arrive together are charged in one call of `mamori_charge_batch`
//! (schema.rs).
//!
//! A charge commits asynchronously (its connections run with
//! `synchronous_commit = off`): one person's concurrent requests queue on their budget's
//! row, and a flush to disk per request while holding it would cap that
//! person at one request per disk flush. A database crash can therefore
//! forget the last milliseconds of charges (never of the audit log, whose
//! appends stay synchronous); those reads remain in the log, which seeds the
//! budgets when a process next starts.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use parking_lot::{Condvar, Mutex};

use super::{PgStore, Pool, big};
use mamori_store::{
    BudgetCharge, BudgetStore, ChargeOutcome, RecordId, Result, StoreError, rows::Cols,
};

const CHARGE_BATCH: &str = "SELECT req::bigint, exceeded::bigint, used, would_be
     FROM mamori_charge_batch($1, $2, $3, $4, $5, $6) ORDER BY req";

/// Most requests charged in one call.
const MAX_BATCH: usize = 64;

/// One request's charges, owned, its budgets in name order.
struct Job {
    budgets: Vec<(String, i64, i64)>,
    records: Vec<Vec<[u8; 16]>>,
    /// Position in name order → the caller's index.
    order: Vec<usize>,
    /// Taken by the reply.
    answer: Option<Arc<Answer>>,
}

impl Job {
    /// A job for `charges`, not yet waited for.
    fn new(charges: &[BudgetCharge<'_>]) -> Self {
        // By budget name, so that two requests charging the same budgets
        // lock them in the same order.
        let mut order: Vec<usize> = (0..charges.len()).collect();
        order.sort_by(|a, b| charges[*a].budget.cmp(&charges[*b].budget));
        Self {
            budgets: order
                .iter()
                .map(|i| {
                    let c = &charges[*i];
                    (c.budget.clone(), big(c.limit).unwrap_or(i64::MAX), c.until)
                })
                .collect(),
            records: order
                .iter()
                .map(|i| charges[*i].records.iter().map(|r| *r.as_bytes()).collect())
                .collect(),
            order,
            answer: None,
        }
    }

    fn reply(&mut self, outcome: Result<ChargeOutcome>) {
        if let Some(answer) = self.answer.take() {
            answer.put(outcome);
        }
    }
}

impl Drop for Job {
    /// A job dropped unanswered (the charger thread panicked) fails its
    /// request instead of leaving it waiting for ever.
    fn drop(&mut self) {
        self.reply(Err(StoreError::Db("the budget charger stopped".into())));
    }
}

#[derive(Default)]
struct Answer {
    outcome: Mutex<Option<Result<ChargeOutcome>>>,
    ready: Condvar,
}

impl Answer {
    fn put(&self, outcome: Result<ChargeOutcome>) {
        *self.outcome.lock() = Some(outcome);
        self.ready.notify_one();
    }

    fn wait(&self) -> Result<ChargeOutcome> {
        let mut outcome = self.outcome.lock();
        loop {
            if let Some(o) = outcome.take() {
                return o;
            }
            self.ready.wait(&mut outcome);
        }
    }
}

/// Charges the requests that arrive together in one call of
/// `mamori_charge_batch` (schema.rs), on a thread of its own, as the audit
/// log commits in groups: the charge's round trip was the largest single
/// cost of a lookup (BENCHMARKS.md). Each request stays all or nothing on
/// its own; a failed call fails every request of its batch (closed).
pub(crate) struct Charger {
    pool: Arc<Pool>,
    /// Started by the first charge.
    queue: Mutex<Option<Sender<Job>>>,
}

impl Charger {
    pub(crate) fn new(pool: Pool) -> Self {
        Self {
            pool: Arc::new(pool),
            queue: Mutex::new(None),
        }
    }

    fn charge(&self, charges: &[BudgetCharge<'_>]) -> Result<ChargeOutcome> {
        let answer = Arc::new(Answer::default());
        let mut job = Job::new(charges);
        job.answer = Some(Arc::clone(&answer));
        self.sender()?
            .send(job)
            .map_err(|_| StoreError::Db("the budget charger stopped".into()))?;
        answer.wait()
    }

    fn sender(&self) -> Result<Sender<Job>> {
        let mut queue = self.queue.lock();
        if let Some(tx) = &*queue {
            return Ok(tx.clone());
        }
        let (tx, rx) = channel();
        let pool = Arc::clone(&self.pool);
        std::thread::Builder::new()
            .name("pg-charges".into())
            .spawn(move || run(&pool, &rx))
            .map_err(|e| StoreError::Db(format!("cannot start the budget charger: {e}")))?;
        *queue = Some(tx.clone());
        Ok(tx)
    }
}

/// Until the store is dropped: takes what is queued, charges it, answers.
fn run(pool: &Pool, rx: &Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        match charge_batch(pool, &jobs) {
            Ok(outcomes) => {
                for (mut job, outcome) in jobs.into_iter().zip(outcomes) {
                    job.reply(Ok(outcome));
                }
            }
            Err(e) => {
                let e = e.to_string();
                for mut job in jobs {
                    job.reply(Err(StoreError::Db(e.clone())));
                }
            }
        }
    }
}

/// One call for every job: each job's outcome, in order.
fn charge_batch(pool: &Pool, jobs: &[Job]) -> Result<Vec<ChargeOutcome>> {
    let (mut req, mut names, mut limits, mut untils) = (vec![], vec![], vec![], vec![]);
    let (mut owner, mut records): (Vec<i32>, Vec<&[u8]>) = (vec![], vec![]);
    for (n, job) in jobs.iter().enumerate() {
        for ((name, limit, until), recs) in job.budgets.iter().zip(&job.records) {
            req.push(n as i32 + 1);
            names.push(name.as_str());
            limits.push(*limit);
            untils.push(*until);
            let k = names.len() as i32;
            for r in recs {
                owner.push(k);
                records.push(&r[..]);
            }
        }
    }
    // The call commits on its own, without waiting for the disk.
    let rows = pool.get()?.query(
        CHARGE_BATCH,
        &[&req, &names, &limits, &untils, &owner, &records],
    )?;
    let mut outcomes = vec![ChargeOutcome::Charged; jobs.len()];
    for row in rows {
        let (n, exceeded) = (row.int(0)?, row.int(1)?);
        let Some(job) = usize::try_from(n - 1).ok().and_then(|n| jobs.get(n)) else {
            return Err(StoreError::Db(format!("budget charge: no request {n}")));
        };
        if exceeded > 0 {
            let index = usize::try_from(exceeded - 1)
                .ok()
                .and_then(|e| job.order.get(e))
                .ok_or_else(|| StoreError::Db(format!("budget charge: no budget {exceeded}")))?;
            outcomes[(n - 1) as usize] = ChargeOutcome::Exceeded {
                index: *index,
                used: row.u64(2)?,
                would_be: row.u64(3)?,
            };
        }
    }
    Ok(outcomes)
}

impl PgStore {
    /// Charges `charges` (limits as given); returns the outcome.
    fn charge(&self, charges: &[BudgetCharge<'_>]) -> Result<ChargeOutcome> {
        if charges.is_empty() {
            return Ok(ChargeOutcome::Charged);
        }
        self.charger.charge(charges)
    }
}

impl BudgetStore for PgStore {
    fn charge_budgets(&self, charges: &[BudgetCharge<'_>]) -> Result<ChargeOutcome> {
        self.charge(charges)
    }

    fn seed_budget(&self, budget: &str, until: i64, records: &[RecordId]) -> Result<()> {
        // A day's reads at once, possibly many thousands: on a connection of
        // its own, not in the charger's turn, where every other request of
        // this process would wait for it.
        let job = Job::new(&[BudgetCharge {
            budget: budget.to_owned(),
            limit: u64::MAX,
            records,
            until,
        }]);
        charge_batch(&self.pool, &[job]).map(|_| ())
    }

    fn budget_used(&self, budget: &str) -> Result<u64> {
        self.conn()?
            .query_opt("SELECT used FROM budgets WHERE budget = $1", &[&budget])?
            .map_or(Ok(0), |r| r.u64(0))
    }

    fn purge_budgets(&self, now: i64) -> Result<u64> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        tx.execute(
            "DELETE FROM budget_records WHERE budget IN (SELECT budget FROM budgets WHERE until < $1)",
            &[&now],
        )?;
        let n = tx.execute("DELETE FROM budgets WHERE until < $1", &[&now])?;
        tx.commit()?;
        Ok(n)
    }
}
