//! Decisions racing through two processes: the store, not one process's
//! lock, keeps them exact.

use std::sync::{Arc, Barrier};

use mamori_store::{ApprovalOutcome, FullAccessOutcome, RequestState};

use crate::{
    exports::{approval, export, meta},
    fixtures::{All, Stores, step, tenant, user},
    people::nomination,
};

/// Runs `f(process, i)` on `n` threads at once, alternating two processes.
fn race<T: Send + 'static>(
    s: &Stores,
    n: usize,
    f: impl Fn(&dyn All, usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let (other, _) = s.another_process();
    let dbs: [Arc<dyn All>; 2] = [s.db.clone(), other];
    let f = Arc::new(f);
    let start = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let (db, f, start) = (dbs[i % 2].clone(), f.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                f(&*db, i)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

pub fn full_access_cap_holds_under_racing_approvals(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    for i in 0..6u8 {
        let login = format!("sv{i}");
        user(db, &login, "supervisor");
        db.nominate_full_access(&nomination(i, &login, 10), &step("admin", "nominated", 10))
            .unwrap();
    }
    let outcomes = race(s, 6, |db, i| {
        db.full_access_transition(
            &[i as u8; 16].into(),
            RequestState::Pending,
            RequestState::Approved,
            &step("sec", "approved", 20),
            2,
        )
        .unwrap()
    });
    let done = outcomes
        .iter()
        .filter(|o| **o == FullAccessOutcome::Done)
        .count();
    assert_eq!(done, 2, "{outcomes:?}");
    let holders = db
        .tenant_assignments("acme")
        .unwrap()
        .into_iter()
        .filter(|a| a.segment.is_none())
        .count();
    assert_eq!(holders, 2);
}

pub fn an_export_is_packaged_and_taken_once_under_races(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    user(db, "req", "admin");
    for i in 0..6 {
        user(db, &format!("sec{i}"), "security_officer");
    }
    db.insert_export(&export(1, "req", 10), &step("req", "requested", 10))
        .unwrap();
    // The same approver from six places: recorded once.
    let same = race(s, 6, |db, _| {
        db.add_export_approval(&approval(1, "sec0", 20), &step("sec0", "approved", 20), 0)
            .unwrap()
    });
    assert_eq!(
        same.iter()
            .filter(|o| **o == ApprovalOutcome::Added)
            .count(),
        1
    );
    // Five others at once, each having seen one approval: one is recorded;
    // the others decided on approvals that changed meanwhile and are not.
    let many = race(s, 6, |db, i| {
        let who = format!("sec{i}");
        db.add_export_approval(&approval(1, &who, 21), &step(&who, "approved", 21), 1)
            .unwrap()
    });
    let count = |o: ApprovalOutcome| many.iter().filter(|x| **x == o).count();
    assert_eq!(
        (
            count(ApprovalOutcome::Added),
            count(ApprovalOutcome::Changed)
        ),
        (1, 4),
        "{many:?}"
    );
    assert_eq!(count(ApprovalOutcome::Duplicate), 1, "sec0 again");
    assert_eq!(db.export_approvals(&[1; 16].into()).unwrap().len(), 2);

    let packaged = race(s, 6, |db, _| {
        db.store_package(
            &[1; 16].into(),
            &meta(1000),
            b"pkg",
            &step("sec1", "packaged", 30),
        )
        .unwrap()
    });
    assert_eq!(packaged.iter().filter(|p| **p).count(), 1);
    let taken = race(s, 6, |db, _| {
        db.take_package(&[1; 16].into(), 40, &step("req", "downloaded", 40))
            .unwrap()
    });
    assert_eq!(taken.iter().filter(|t| t.is_some()).count(), 1);
    let steps = db.export_history(&[1; 16].into()).unwrap();
    assert_eq!(
        steps.len(),
        1 + 2 + 1 + 1,
        "one step per change, none doubled"
    );
}
