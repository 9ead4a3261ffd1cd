//! Conformance: per-day and per-grant record budgets under concurrent charges.

use std::sync::{Arc, Barrier};

use mamori_store::{BudgetCharge, ChargeOutcome, RecordId};

use crate::fixtures::{All, Stores};

fn charge<'a>(budget: &str, limit: u64, records: &'a [RecordId]) -> BudgetCharge<'a> {
    BudgetCharge {
        budget: budget.into(),
        limit,
        records,
        until: 1_000,
    }
}

pub fn budgets_charge_distinct_customers_all_or_nothing(s: &Stores) {
    let db = &*s.db;
    let (a, b, c) = (
        RecordId::from([1u8; 16]),
        RecordId::from([2u8; 16]),
        RecordId::from([3u8; 16]),
    );
    assert_eq!(db.budget_used("day/op1/20000").unwrap(), 0);
    let ok = db
        .charge_budgets(&[charge("day/op1/20000", 2, &[a, a, b])])
        .unwrap();
    assert_eq!(ok, ChargeOutcome::Charged);
    assert_eq!(db.budget_used("day/op1/20000").unwrap(), 2);
    // Customers already charged cost nothing again.
    assert_eq!(
        db.charge_budgets(&[charge("day/op1/20000", 2, &[b, a])])
            .unwrap(),
        ChargeOutcome::Charged
    );
    // Over one budget: nothing is charged, to any budget of the request.
    let over = db
        .charge_budgets(&[
            charge("grant/g1", 10, &[c]),
            charge("day/op1/20000", 2, &[a, c]),
        ])
        .unwrap();
    assert_eq!(
        over,
        ChargeOutcome::Exceeded {
            index: 1,
            used: 2,
            would_be: 3
        }
    );
    assert_eq!(db.budget_used("grant/g1").unwrap(), 0);
    assert_eq!(db.budget_used("day/op1/20000").unwrap(), 2);
    // Another person's day is another budget.
    assert_eq!(
        db.charge_budgets(&[charge("day/op2/20000", 2, &[a, c])])
            .unwrap(),
        ChargeOutcome::Charged
    );

    // Seeding (from the audit log) adds without a check and is idempotent.
    db.seed_budget("grant/g2", 500, &[a, b, c]).unwrap();
    db.seed_budget("grant/g2", 500, &[a, b]).unwrap();
    assert_eq!(db.budget_used("grant/g2").unwrap(), 3);
    assert!(matches!(
        db.charge_budgets(&[charge("grant/g2", 3, &[RecordId::from([4; 16])])])
            .unwrap(),
        ChargeOutcome::Exceeded { would_be: 4, .. }
    ));

    // Budgets whose time ended go; the others stay.
    assert_eq!(db.purge_budgets(600).unwrap(), 1);
    assert_eq!(db.budget_used("grant/g2").unwrap(), 0);
    assert_eq!(db.budget_used("day/op1/20000").unwrap(), 2);
}

/// Runs `request(i, db)` for i in 0..8 at once, released together, and
/// returns their results in order. The racers are two processes (nodes) on
/// PostgreSQL; on SQLite, the threads of the one process that serves a vault.
fn race<T: Send + 'static>(s: &Stores, request: fn(u8, &dyn All) -> T) -> Vec<T> {
    let dbs: [Arc<dyn All>; 2] = if s.is_postgres() {
        [s.db.clone(), s.another_process().0]
    } else {
        [s.db.clone(), s.db.clone()]
    };
    let start = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8u8)
        .map(|i| {
            let (db, start) = (dbs[usize::from(i) % 2].clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                request(i, &*db)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// Requests racing for the last units of one budget: exactly the limit is
/// charged.
pub fn budgets_hold_under_racing_requests(s: &Stores) {
    let outcomes = race(s, |i, db| {
        let mine = [RecordId::from([i; 16]), RecordId::from([100 + i; 16])];
        db.charge_budgets(&[charge("day/op1/20000", 9, &mine)])
            .unwrap()
    });
    let charged = outcomes
        .into_iter()
        .filter(|o| *o == ChargeOutcome::Charged)
        .count();
    assert_eq!(
        charged, 4,
        "four requests of two customers fit a budget of nine"
    );
    assert_eq!(s.db.budget_used("day/op1/20000").unwrap(), 8);
}

/// Requests charging overlapping customers, each listing them in its own
/// order, on two budgets: none fails (no deadlock between them) and each
/// customer counts once per budget.
pub fn overlapping_charges_in_any_order_count_each_customer_once(s: &Stores) {
    race(s, |i, db| {
        // Five rounds of 40 new customers each, rotated by request, half
        // of the requests listing them backwards.
        for round in 0..5u8 {
            let mut mine: Vec<RecordId> = (0..40u8)
                .map(|c| RecordId::from([(c + 5 * i) % 40 + 40 * round; 16]))
                .collect();
            if i % 2 == 1 {
                mine.reverse();
            }
            let outcome = db
                .charge_budgets(&[
                    charge("day/op1/20000", 1_000, &mine),
                    charge("grant/g1", 1_000, &mine[..20]),
                ])
                .unwrap();
            assert_eq!(outcome, ChargeOutcome::Charged);
        }
    });
    assert_eq!(s.db.budget_used("day/op1/20000").unwrap(), 200);
    // The first 20 of each rotation together cover all 40 of a round.
    assert_eq!(s.db.budget_used("grant/g1").unwrap(), 200);
}

/// One process at a time leads a job; the lease passes on when dropped.
pub fn a_lease_is_held_by_one_process_at_a_time(s: &Stores) {
    let (other, _) = s.another_process();
    let mut first = s.db.try_lead("detection").unwrap().expect("free at first");
    assert!(first.held());
    assert!(
        other.try_lead("detection").unwrap().is_none(),
        "held elsewhere"
    );
    assert!(
        s.db.try_lead("detection").unwrap().is_none(),
        "held by the other lease"
    );
    let mut another_job = other
        .try_lead("reconciliation")
        .unwrap()
        .expect("another job");
    assert!(another_job.held());
    drop(first);
    let mut taken = other.try_lead("detection").unwrap().expect("passed on");
    assert!(taken.held());
}
