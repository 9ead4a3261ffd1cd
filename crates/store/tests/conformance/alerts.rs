//! Conformance: alerts, their handling, honey records, shifts and detection snapshots.

use mamori_store::{
    AlertChange, AlertFilter, AlertRow, AlertState, DetectSnapshot, HoneyRow, ShiftRow,
};

use crate::fixtures::{Stores, tenant};

fn alert(id: &str, login: &str, raised_at: i64) -> AlertRow {
    AlertRow {
        id: id.into(),
        rule: "honey".into(),
        variant: String::new(),
        severity: "critical".into(),
        login: login.into(),
        tenant: Some("acme".into()),
        at: raised_at,
        window: raised_at - raised_at % 3600,
        value: 1.0,
        threshold: 0.0,
        indicator: None,
        evidence_log: "tenant/acme".into(),
        evidence_seq: 7,
        risk: 75.0,
        raised_at,
        state: AlertState::Open,
        assignee: None,
        note: None,
        updated_by: None,
        updated_at: raised_at,
    }
}

pub fn an_alert_is_stored_and_queued_once(s: &Stores) {
    let v = &*s.db;
    let chans = vec!["webhook".to_owned(), "mail".to_owned()];
    assert!(
        v.insert_alert(&alert("a1", "op1", 100), &chans, 100)
            .unwrap()
    );
    // Replay: same id, nothing changes and nothing is queued again.
    let mut again = alert("a1", "op1", 200);
    again.severity = "low".into();
    assert!(!v.insert_alert(&again, &chans, 200).unwrap());
    assert_eq!(v.alert("a1").unwrap().unwrap().severity, "critical");
    assert_eq!(
        v.pending_deliveries().unwrap(),
        vec![("mail".to_owned(), 1), ("webhook".to_owned(), 1)]
    );
    let hook = v.due_deliveries("webhook", 100, 10).unwrap();
    let mail = v.due_deliveries("mail", 100, 10).unwrap();
    assert_eq!((hook.len(), mail.len()), (1, 1));
    assert!(v.due_deliveries("webhook", 99, 10).unwrap().is_empty());
    v.delivery_result(hook[0].id, false, 160, Some("connection refused"))
        .unwrap();
    v.delivery_result(mail[0].id, true, 0, None).unwrap();
    assert!(v.due_deliveries("mail", 1_000, 10).unwrap().is_empty());
    assert!(v.due_deliveries("webhook", 159, 10).unwrap().is_empty());
    let left = v.due_deliveries("webhook", 1_000, 10).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].attempts, 1);
    assert_eq!(left[0].next_at, 160);
    assert_eq!(left[0].last_error.as_deref(), Some("connection refused"));
}

pub fn alert_transitions_are_compare_and_set(s: &Stores) {
    let v = &*s.db;
    v.insert_alert(&alert("a1", "op1", 100), &[], 100).unwrap();
    let ack = AlertChange {
        state: AlertState::Acknowledged,
        assignee: Some(Some("sup1".into())),
        note: None,
        by: "sup1".into(),
        at: 110,
    };
    assert!(v.update_alert("a1", &[AlertState::Open], &ack).unwrap());
    assert!(!v.update_alert("a1", &[AlertState::Open], &ack).unwrap());
    let resolve = AlertChange {
        state: AlertState::Resolved,
        assignee: None,
        note: Some(vec![1, 2, 3]),
        by: "sup1".into(),
        at: 120,
    };
    let open_or_ack = [AlertState::Open, AlertState::Acknowledged];
    assert!(v.update_alert("a1", &open_or_ack, &resolve).unwrap());
    assert!(!v.update_alert("a1", &open_or_ack, &resolve).unwrap());
    let a = v.alert("a1").unwrap().unwrap();
    assert_eq!(a.state, AlertState::Resolved);
    assert_eq!(a.assignee.as_deref(), Some("sup1"));
    assert_eq!(a.note, Some(vec![1, 2, 3]));
    assert_eq!((a.updated_by.as_deref(), a.updated_at), (Some("sup1"), 120));
    assert!(!v.update_alert("nope", &open_or_ack, &resolve).unwrap());
}

pub fn alert_filters(s: &Stores) {
    let v = &*s.db;
    for (i, login) in ["op1", "op2", "op3"].iter().enumerate() {
        v.insert_alert(&alert(&format!("a{i}"), login, 100 + i as i64), &[], 0)
            .unwrap();
    }
    let ids = |f: AlertFilter| -> Vec<String> {
        v.alerts(&AlertFilter { limit: 100, ..f })
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect()
    };
    assert_eq!(ids(AlertFilter::default()), ["a2", "a1", "a0"]);
    let team = Some(vec!["op1".to_owned(), "op3".to_owned()]);
    assert_eq!(
        ids(AlertFilter {
            logins: team,
            ..Default::default()
        }),
        ["a2", "a0"]
    );
    assert_eq!(
        ids(AlertFilter {
            since: Some(101),
            ..Default::default()
        }),
        ["a2", "a1"]
    );
    assert_eq!(
        ids(AlertFilter {
            login: Some("op2".into()),
            ..Default::default()
        }),
        ["a1"]
    );
    assert!(
        ids(AlertFilter {
            state: Some(AlertState::Resolved),
            ..Default::default()
        })
        .is_empty()
    );
    assert!(
        ids(AlertFilter {
            tenant: Some("other".into()),
            ..Default::default()
        })
        .is_empty()
    );
}

pub fn snapshot_honey_and_shifts(s: &Stores) {
    let v = &*s.db;
    assert!(v.detect_snapshot().unwrap().is_none());
    let s = DetectSnapshot {
        cursors: "{}".into(),
        state: vec![9; 10],
        saved_at: 5,
    };
    v.save_detect_snapshot(&s).unwrap();
    let s2 = DetectSnapshot { saved_at: 6, ..s };
    v.save_detect_snapshot(&s2).unwrap();
    assert_eq!(v.detect_snapshot().unwrap(), Some(s2));

    assert!(v.honey().unwrap().is_empty());
    tenant(v, "acme");
    let h = HoneyRow {
        tenant: "acme".into(),
        record: [7; 16].into(),
        planted_by: "cli:sec".into(),
        planted_at: 3,
    };
    v.add_honey(std::slice::from_ref(&h)).unwrap();
    assert_eq!(v.honey().unwrap(), vec![h.clone()]);
    // Planting the same decoy twice is refused, and nothing of the batch is kept.
    let other = HoneyRow {
        record: [8; 16].into(),
        ..h.clone()
    };
    assert!(v.add_honey(&[other, h]).is_err());
    assert_eq!(v.honey().unwrap().len(), 1);

    let user = mamori_store::UserRow {
        login: "op1".into(),
        role: "operator".into(),
        department: None,
        vendor: None,
        manager: None,
        created_at: 0,
        leaves_at: Some(99),
        suspended_at: None,
        facts_rev: 0,
    };
    v.create_user(&user).unwrap();
    v.set_suspended("op1", Some(50)).unwrap();
    let u = v.user("op1").unwrap().unwrap();
    assert_eq!((u.leaves_at, u.suspended_at), (Some(99), Some(50)));
    v.set_suspended("op1", None).unwrap();
    v.set_leaves_at("op1", None).unwrap();
    let u = v.user("op1").unwrap().unwrap();
    assert_eq!((u.leaves_at, u.suspended_at), (None, None));
    assert!(v.set_suspended("ghost", Some(1)).is_err());

    // Shift calendars: an import replaces the days it names, and nothing else.
    let day = |d: &str, s: u32, e: u32| ShiftRow {
        login: "op1".into(),
        day: d.into(),
        start_min: s,
        end_min: e,
    };
    let rev = v.governance_rev().unwrap();
    v.import_shifts(&[day("2026-12-01", 540, 1080), day("2026-12-02", 1320, 1800)])
        .unwrap();
    v.import_shifts(&[day("2026-12-02", 0, 0)]).unwrap();
    assert_eq!(
        v.shifts("2026-12-01").unwrap(),
        vec![day("2026-12-01", 540, 1080), day("2026-12-02", 0, 0)]
    );
    assert_eq!(v.shifts("2026-12-02").unwrap().len(), 1);
    assert!(v.import_shifts(&[day("2026-12-03", 900, 600)]).is_err());
    assert!(
        v.import_shifts(&[ShiftRow {
            login: "ghost".into(),
            ..day("2026-12-04", 0, 60)
        }])
        .is_err()
    );
    v.set_user_shift("op1", Some("night")).unwrap();
    v.set_user_shift("op1", Some("early")).unwrap();
    assert_eq!(
        v.user_shifts().unwrap(),
        vec![("op1".into(), "early".into())]
    );
    v.set_user_shift("op1", None).unwrap();
    assert!(v.user_shifts().unwrap().is_empty());
    assert!(v.governance_rev().unwrap() > rev);
}
