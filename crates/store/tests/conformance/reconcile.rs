//! Conformance: reconciliation runs, their discrepancies, dispositions.

use mamori_store::{DiscrepancyFilter, DiscrepancyRow, Disposition, ReconciliationRow};

use crate::fixtures::Stores;

fn run(id: &str, at: i64) -> ReconciliationRow {
    ReconciliationRow {
        id: id.into(),
        period_from: 1_000,
        period_to: 2_000,
        run_by: "so1".into(),
        run_at: at,
        report: format!("{{\"run\":\"{id}\"}}").into_bytes(),
    }
}

fn item(id: &str, day: &str, person: &str, count: u64, run: &str) -> DiscrepancyRow {
    DiscrepancyRow {
        id: id.into(),
        class: "read_outside_area".into(),
        person: person.into(),
        day: day.into(),
        kind: (id == "d2").then(|| "pc-01".to_owned()),
        count,
        run: run.into(),
        disposition: None,
    }
}

fn all(s: &Stores, open_only: bool, run: Option<&str>) -> Vec<DiscrepancyRow> {
    s.db.discrepancies(&DiscrepancyFilter {
        open_only,
        run: run.map(str::to_owned),
        limit: 100,
    })
    .unwrap()
}

pub fn discrepancies_keep_their_disposition_across_runs(s: &Stores) {
    let v = &*s.db;
    v.record_reconciliation(
        &run("r1", 10),
        &[
            item("d2", "2026-11-03", "op2", 4, "r1"),
            item("d1", "2026-11-02", "op1", 1, "r1"),
        ],
    )
    .unwrap();
    assert_eq!(v.reconciliation("r1").unwrap(), Some(run("r1", 10)));
    assert_eq!(v.reconciliation("nope").unwrap(), None);
    let listed = all(s, false, None);
    assert_eq!(
        listed.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["d1", "d2"],
        "ordered by day"
    );
    assert_eq!(listed[1], item("d2", "2026-11-03", "op2", 4, "r1"));

    // One disposition; the second answer for the same item is refused.
    let d = Disposition {
        outcome: "explained".into(),
        by: "sv1".into(),
        at: 50,
        note: vec![1, 2, 3],
    };
    assert!(v.dispose("d1", &d).unwrap());
    let other = Disposition {
        outcome: "escalated".into(),
        ..d.clone()
    };
    assert!(!v.dispose("d1", &other).unwrap());
    assert!(!v.dispose("missing", &d).unwrap());
    assert_eq!(
        v.discrepancy("d1").unwrap().unwrap().disposition,
        Some(d.clone())
    );
    assert_eq!(all(s, true, None).len(), 1);

    // A second run finds d1 again (its disposition stays, its count is the
    // new run's) and a new one; a run kept already changes nothing.
    v.record_reconciliation(
        &run("r2", 20),
        &[
            item("d1", "2026-11-02", "op1", 7, "r2"),
            item("d3", "2026-11-04", "op3", 1, "r2"),
        ],
    )
    .unwrap();
    let d1 = v.discrepancy("d1").unwrap().unwrap();
    assert_eq!(
        (d1.count, d1.run.as_str(), d1.disposition),
        (7, "r2", Some(d))
    );
    assert_eq!(all(s, false, Some("r2")).len(), 2);
    assert_eq!(all(s, true, None).len(), 2, "d2 and d3 are open");
    v.record_reconciliation(&run("r2", 30), &[item("d4", "2026-11-05", "op4", 1, "r2")])
        .unwrap();
    assert!(v.discrepancy("d4").unwrap().is_none());
    assert_eq!(v.reconciliation("r2").unwrap().unwrap().run_at, 20);
}
