//! Conformance: access review campaigns, decisions and the removal each
//! revocation makes in the same transaction.

use mamori_store::{
    Assignment, CampaignRow, Removal, RequestState, ReviewDecision, ReviewItemFilter,
    ReviewItemRow, UsageRow,
};

use crate::fixtures::{Stores, step, tenant, user};
use crate::people::nomination;

fn campaign(id: &str) -> CampaignRow {
    CampaignRow {
        id: id.into(),
        title: "2026年第4四半期".into(),
        scope: "{}".into(),
        fallback: Some("so1".into()),
        opened_by: "so1".into(),
        opened_at: 100,
        deadline: 1_000,
        notice_days: 7,
        on_no_answer: "revoke".into(),
        every_months: 3,
        evidence_days: 90,
        noticed_at: None,
        closed_at: None,
        closed_by: None,
        successor: None,
    }
}

fn item(id: &str, kind: &str, login: &str, target: &str, reviewer: &str) -> ReviewItemRow {
    ReviewItemRow {
        id: id.into(),
        campaign: "c1".into(),
        kind: kind.into(),
        login: login.into(),
        tenant: (kind != "role").then(|| "acme".to_owned()),
        target: target.into(),
        reviewer: reviewer.into(),
        grantor: Some("admin".into()),
        evidence: "{\"reads\":3}".into(),
        shown_at: None,
        decision: None,
        applied: None,
    }
}

fn decision(outcome: &str, by: &str, at: i64) -> ReviewDecision {
    ReviewDecision {
        outcome: outcome.into(),
        by: by.into(),
        at,
        note: b"sealed".to_vec(),
    }
}

fn segment(login: &str, seg: &str) -> Assignment {
    Assignment {
        login: login.into(),
        tenant: "acme".into(),
        segment: Some(seg.into()),
    }
}

pub fn a_revocation_is_recorded_and_applied_together(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    for (u, r) in [
        ("op1", "operator"),
        ("op2", "operator"),
        ("sv1", "supervisor"),
    ] {
        user(db, u, r);
    }
    db.add_credential("op2", &[9; 32], &crate::fixtures::api_token(), 1)
        .unwrap();
    db.assign(&segment("op1", "own")).unwrap();
    db.assign(&segment("op1", "partner")).unwrap();
    db.nominate_full_access(&nomination(4, "sv1", 10), &step("admin", "nominated", 10))
        .unwrap();
    db.full_access_transition(
        &[4; 16].into(),
        RequestState::Pending,
        RequestState::Approved,
        &step("so1", "approved", 20),
        3,
    )
    .unwrap();
    let items = [
        item("i1", "segment", "op1", "own", "sv1"),
        item("i2", "segment", "op1", "partner", "sv1"),
        item("i3", "full_access", "sv1", &hex(4), "so1"),
        item("i4", "role", "op2", "operator", "sv1"),
    ];
    assert!(db.open_campaign(&campaign("c1"), &items, None).unwrap());
    assert_eq!(db.campaign("c1").unwrap().unwrap(), campaign("c1"));
    assert_eq!(db.campaigns(true).unwrap().len(), 1);
    let mine = |open_only| {
        db.review_items(&ReviewItemFilter {
            campaign: Some("c1".into()),
            reviewer: Some("sv1".into()),
            open_only,
            limit: 100,
        })
        .unwrap()
    };
    assert_eq!(
        mine(false)
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>(),
        ["i1", "i2", "i4"],
        "by reviewee, kind, tenant, target"
    );
    assert_eq!(mine(false)[0], items[0]);

    db.mark_shown("c1", "sv1", 150).unwrap();
    db.mark_shown("c1", "sv1", 160).unwrap();
    assert!(
        mine(false).iter().all(|i| i.shown_at == Some(150)),
        "first sight kept"
    );
    assert_eq!(db.review_item("i3").unwrap().unwrap().shown_at, None);

    // Revoking a segment removes that assignment only, with the decision.
    let revoke = Removal::Assignment(segment("op1", "own"));
    assert!(
        db.decide_review("i1", &decision("revoke", "sv1", 200), Some(&revoke))
            .unwrap()
    );
    let left: Vec<_> = db.assignments("op1").unwrap();
    assert_eq!(left, [segment("op1", "partner")]);
    // Decided once: a second decision writes and removes nothing.
    let other = Removal::Assignment(segment("op1", "partner"));
    assert!(
        !db.decide_review("i1", &decision("keep", "sv1", 201), Some(&other))
            .unwrap()
    );
    assert_eq!(db.assignments("op1").unwrap().len(), 1);
    assert_eq!(
        db.review_item("i1").unwrap().unwrap().decision,
        Some(decision("revoke", "sv1", 200))
    );
    db.set_review_applied("i1", "revoked").unwrap();
    assert_eq!(
        db.review_item("i1").unwrap().unwrap().applied.as_deref(),
        Some("revoked")
    );
    assert_eq!(mine(true).len(), 2);

    // Standing full access: the nomination is revoked and its assignment goes.
    let fa = Removal::FullAccess {
        id: [4; 16].into(),
        step: step("system", "revoked", 210),
    };
    assert!(
        db.decide_review("i3", &decision("revoke", "system", 210), Some(&fa))
            .unwrap()
    );
    assert_eq!(
        db.full_access("acme").unwrap()[0].state,
        RequestState::Revoked
    );
    assert!(db.assignments("sv1").unwrap().is_empty());

    // A role: the account leaves and its tokens stop working.
    let acct = Removal::Account {
        login: "op2".into(),
        at: 220,
    };
    assert!(
        db.decide_review("i4", &decision("revoke", "sv1", 220), Some(&acct))
            .unwrap()
    );
    assert_eq!(db.user("op2").unwrap().unwrap().leaves_at, Some(220));
    assert!(db.user_by_token(&[9; 32]).unwrap().is_none());

    // Once closed, nothing more is decided.
    db.mark_noticed("c1", 300).unwrap();
    assert!(db.close_campaign("c1", "system", 1_000).unwrap());
    assert!(!db.close_campaign("c1", "system", 1_001).unwrap());
    assert!(
        !db.decide_review("i2", &decision("keep", "sv1", 1_002), None)
            .unwrap()
    );
    let closed = db.campaign("c1").unwrap().unwrap();
    assert_eq!(
        (closed.noticed_at, closed.closed_at),
        (Some(300), Some(1_000))
    );
    assert!(db.campaigns(true).unwrap().is_empty());
    // A successor is opened once, however many schedulers race.
    assert!(db.open_campaign(&campaign("c2"), &[], Some("c1")).unwrap());
    assert!(!db.open_campaign(&campaign("c3"), &[], Some("c1")).unwrap());
    assert!(db.campaign("c3").unwrap().is_none());
    assert_eq!(
        db.campaign("c1").unwrap().unwrap().successor.as_deref(),
        Some("c2")
    );
    assert!(db.unassign(&segment("op1", "partner")).unwrap());
    assert!(!db.unassign(&segment("op1", "partner")).unwrap());
}

fn hex(b: u8) -> String {
    format!("{b:02x}").repeat(16)
}

fn usage(day: i64, login: &str, segment: &str, ids: &[u8]) -> UsageRow {
    UsageRow {
        day,
        login: login.into(),
        tenant: "acme".into(),
        segment: segment.into(),
        reads: ids.len() as u64,
        last_at: day * 86_400 + 100,
        records: ids.iter().flat_map(|b| [*b; 16]).collect(),
    }
}

pub fn a_days_usage_is_summarised_once_and_read_in_order(s: &Stores) {
    let db = &*s.db;
    assert!(db.usage_days(0, 100).unwrap().is_empty());
    db.put_usage_day(
        11,
        &[
            usage(11, "op2", "own", &[3]),
            usage(11, "op1", "own", &[1, 2]),
        ],
    )
    .unwrap();
    db.put_usage_day(10, &[usage(10, "op1", "own", &[1])])
        .unwrap();
    // Another process summarised day 10 too: the first summary stands.
    db.put_usage_day(10, &[usage(10, "op1", "own", &[9, 9, 9])])
        .unwrap();
    db.put_usage_day(12, &[]).unwrap();
    assert_eq!(db.usage_days(0, 100).unwrap(), [10, 11, 12]);
    assert_eq!(db.usage_days(11, 11).unwrap(), [11]);
    let mut seen = Vec::new();
    db.each_usage(10, 11, &mut |r| {
        seen.push(r);
        Ok(())
    })
    .unwrap();
    assert_eq!(
        seen,
        [
            usage(10, "op1", "own", &[1]),
            usage(11, "op1", "own", &[1, 2]),
            usage(11, "op2", "own", &[3]),
        ]
    );
}
