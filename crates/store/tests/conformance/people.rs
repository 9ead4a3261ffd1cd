//! Conformance: users, tokens, assignments, training, compliance and vendors.

use mamori_store::{
    AccessRequestRow, Assignment, ComplianceRow, FullAccessOutcome, FullAccessRow, GrantOrigin,
    RequestFilter, RequestStage, RequestState, StoreError, TrainingRow, VendorRow,
};

use crate::fixtures::{Stores, step, tenant, user};

/// Polls `f` until it holds or `within` has passed; whether it held.
fn soon(within: std::time::Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// A server may answer "whose token is this?" from memory (PostgreSQL
/// does, while its watch confirms the governance revision): a token revoked
/// or a person suspended by another process must still be refused — well
/// within a second, i.e. when the change is announced, not at a heartbeat —
/// and by the process that made the change at once.
pub fn revoked_tokens_and_suspensions_reach_every_process(s: &Stores) {
    let a = &*s.db;
    let (b, _) = s.another_process();
    user(a, "op1", "operator");
    let warm = |hash: &[u8; 32]| {
        // Enough lookups to start the watch and for it to read the revision.
        for _ in 0..20 {
            assert!(a.user_by_token(hash).unwrap().is_some());
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    let prompt = std::time::Duration::from_millis(500);

    a.add_credential("op1", &[1; 32], &crate::fixtures::api_token(), 1)
        .unwrap();
    warm(&[1; 32]);
    b.revoke_tokens("op1", 2).unwrap();
    assert!(
        soon(prompt, || a.user_by_token(&[1; 32]).unwrap().is_none()),
        "a token revoked by another process is still accepted"
    );

    a.add_credential("op1", &[2; 32], &crate::fixtures::api_token(), 3)
        .unwrap();
    warm(&[2; 32]);
    b.set_suspended("op1", Some(4)).unwrap();
    assert!(
        soon(prompt, || a
            .user_by_token(&[2; 32])
            .unwrap()
            .is_some_and(|(u, _, _)| u.suspended_at == Some(4))),
        "a suspension by another process is not seen"
    );
    b.set_suspended("op1", None).unwrap();

    a.add_credential("op1", &[3; 32], &crate::fixtures::api_token(), 5)
        .unwrap();
    warm(&[3; 32]);
    a.revoke_tokens("op1", 6).unwrap();
    assert!(a.user_by_token(&[3; 32]).unwrap().is_none());

    if s.is_postgres() {
        // The watch's connection dies (a restarted database, a killed
        // backend) and the revocation's announcement is lost with it:
        // memory serves only while the watch is connected, so the refusal
        // comes at once, not when the watch has reconnected (a second on).
        a.add_credential("op1", &[4; 32], &crate::fixtures::api_token(), 7)
            .unwrap();
        warm(&[4; 32]);
        s.raw_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = 'mamori watch ' || current_schema()",
        )
        .unwrap();
        b.revoke_tokens("op1", 8).unwrap();
        assert!(
            soon(prompt, || a.user_by_token(&[4; 32]).unwrap().is_none()),
            "a revoked token is accepted after the watch lost its connection"
        );
    }
}

pub fn users_tokens_and_assignments(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    let rev0 = db.governance_rev().unwrap();
    user(db, "op1", "operator");
    user(db, "sv1", "supervisor");
    let again = db.user("op1").unwrap().unwrap();
    assert!(matches!(
        db.create_user(&again),
        Err(StoreError::Conflict(_))
    ));
    assert!(
        db.governance_rev().unwrap() > rev0,
        "people changes bump the revision"
    );
    let logins: Vec<String> = db.users().unwrap().into_iter().map(|u| u.login).collect();
    assert_eq!(logins, ["op1", "sv1"]);

    db.set_manager("op1", Some("sv1")).unwrap();
    assert!(matches!(
        db.set_manager("ghost", None),
        Err(StoreError::NotFound(_))
    ));
    db.set_leaves_at("op1", Some(1_900_000_000)).unwrap();
    db.set_suspended("op1", Some(1_800_000_000)).unwrap();
    let u = db.user("op1").unwrap().unwrap();
    assert_eq!(u.manager.as_deref(), Some("sv1"));
    assert_eq!(
        (u.leaves_at, u.suspended_at),
        (Some(1_900_000_000), Some(1_800_000_000))
    );
    db.set_suspended("op1", None).unwrap();
    assert_eq!(db.user("op1").unwrap().unwrap().suspended_at, None);
    assert!(db.set_leaves_at("ghost", None).is_err());

    // Households: bytes in, bytes out; every change is a new revision.
    assert_eq!(db.household("op1").unwrap(), None);
    let rev = db.governance_rev().unwrap();
    db.set_household("op1", Some(&[1, 2, 3]), 5).unwrap();
    assert!(db.governance_rev().unwrap() > rev);
    db.set_household("op1", Some(&[4; 33]), 6).unwrap();
    assert_eq!(db.household("op1").unwrap(), Some(vec![4; 33]));
    let rev = db.governance_rev().unwrap();
    db.set_household("op1", None, 7).unwrap();
    assert!(db.governance_rev().unwrap() > rev);
    assert_eq!(db.household("op1").unwrap(), None);
    db.set_household("op1", None, 8).unwrap();
    for tokens in [Some(&[1u8][..]), None] {
        assert!(matches!(
            db.set_household("ghost", tokens, 9),
            Err(StoreError::NotFound(_))
        ));
    }
    assert_eq!(db.household("ghost").unwrap(), None);

    let hash = [7u8; 32];
    db.add_credential("op1", &hash, &crate::fixtures::api_token(), 10)
        .unwrap();
    db.add_credential("op1", &[8; 32], &crate::fixtures::api_token(), 11)
        .unwrap();
    let (u, c, rev) = db.user_by_token(&hash).unwrap().unwrap();
    assert_eq!(u.login, "op1");
    assert_eq!(c, crate::fixtures::api_token());
    assert_eq!(rev, db.governance_rev().unwrap());
    assert!(db.user_by_token(&[9; 32]).unwrap().is_none());
    assert_eq!(db.revoke_tokens("op1", 20).unwrap(), 2);
    assert_eq!(db.revoke_tokens("op1", 21).unwrap(), 0);
    assert!(db.user_by_token(&hash).unwrap().is_none());

    let own = Assignment {
        login: "op1".into(),
        tenant: "acme".into(),
        segment: Some("own".into()),
    };
    db.assign(&own).unwrap();
    db.assign(&own).unwrap();
    db.assign(&Assignment {
        segment: None,
        ..own.clone()
    })
    .unwrap();
    let mine = db.assignments("op1").unwrap();
    assert_eq!(mine.len(), 2);
    assert!(
        mine.iter().any(|a| a.segment.is_none()),
        "whole tenant reads back as None"
    );
    assert_eq!(db.tenant_assignments("acme").unwrap().len(), 2);
    assert!(db.tenant_assignments("beta").unwrap().is_empty());
    // An assignment to a tenant that does not exist is refused.
    assert!(
        db.assign(&Assignment {
            tenant: "nobody".into(),
            ..own
        })
        .is_err()
    );
}

pub fn vendors_training_and_compliance(s: &Stores) {
    let db = &*s.db;
    user(db, "op1", "operator");
    let mut v = VendorRow {
        id: "haken".into(),
        name: "派遣サービス".into(),
        contract_start: 100,
        contract_end: 200,
        clauses: vec!["再委託禁止".into(), "監査受入".into()],
        updated_by: "sec".into(),
        updated_at: 100,
    };
    db.put_vendor(&v).unwrap();
    v.contract_end = 300;
    db.put_vendor(&v).unwrap();
    let got = db.vendor("haken").unwrap().unwrap();
    assert_eq!(
        (got.contract_end, got.clauses.clone()),
        (300, v.clauses.clone())
    );
    assert_eq!(db.vendors().unwrap().len(), 1);
    assert!(db.vendor("other").unwrap().is_none());

    for (course, at) in [("privacy", 20), ("privacy", 10), ("security", 5)] {
        db.add_training(&TrainingRow {
            login: "op1".into(),
            course: course.into(),
            completed_at: at,
            score: 90,
            expires_at: at + 365,
            recorded_by: "hr".into(),
        })
        .unwrap();
    }
    let t: Vec<(String, i64)> = db
        .training("op1")
        .unwrap()
        .into_iter()
        .map(|t| (t.course, t.completed_at))
        .collect();
    assert_eq!(
        t,
        [
            ("privacy".into(), 10),
            ("privacy".into(), 20),
            ("security".into(), 5)
        ]
    );
    db.add_compliance(&ComplianceRow {
        login: "op1".into(),
        confirmed_at: 50,
        expires_at: 400,
        recorded_by: "hr".into(),
    })
    .unwrap();
    assert_eq!(db.compliance("op1").unwrap()[0].expires_at, 400);
    assert!(db.compliance("op2").unwrap().is_empty());
}

pub fn request(id: u8, requester: &str, created_at: i64) -> AccessRequestRow {
    AccessRequestRow {
        id: [id; 16].into(),
        tenant: "acme".into(),
        requester: requester.into(),
        segment: Some("own".into()),
        fields: vec!["name".into(), "phone".into()],
        purpose: "inquiry".into(),
        case_id: format!("C-{id}"),
        justification: vec![0xAB; 40],
        key_version: 1,
        record_budget: 50,
        starts_at: created_at,
        ends_at: created_at + 3600,
        stage: RequestStage::Pending,
        origin: GrantOrigin::Requested,
        created_at,
    }
}

pub fn requests_move_by_compare_and_set(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    for u in ["op1", "op2", "sv1"] {
        user(db, u, "operator");
    }
    let rev = db.governance_rev().unwrap();
    db.insert_request(&request(1, "op1", 1000), &step("op1", "requested", 1000))
        .unwrap();
    db.insert_request(&request(2, "op2", 2000), &step("op2", "requested", 2000))
        .unwrap();
    let mut whole = request(3, "op1", 3000);
    whole.segment = None;
    whole.origin = GrantOrigin::Issued;
    db.insert_request(&whole, &step("sv1", "issued", 3000))
        .unwrap();
    assert!(db.governance_rev().unwrap() > rev);
    assert!(
        db.insert_request(&request(1, "op1", 1), &step("op1", "requested", 1))
            .is_err()
    );

    let r = db.request(&[3; 16].into()).unwrap().unwrap();
    assert_eq!((r.segment, r.origin), (None, GrantOrigin::Issued));
    assert_eq!(r.fields, ["name", "phone"]);
    assert!(db.request(&[9; 16].into()).unwrap().is_none());

    let ids = |f: RequestFilter| -> Vec<u8> {
        db.requests(&RequestFilter { limit: 100, ..f })
            .unwrap()
            .iter()
            .map(|r| r.id.as_bytes()[0])
            .collect()
    };
    assert_eq!(ids(RequestFilter::default()), [3, 2, 1]);
    assert_eq!(
        ids(RequestFilter {
            requesters: Some(vec!["op2".into(), "nobody".into()]),
            ..Default::default()
        }),
        [2]
    );
    assert_eq!(
        ids(RequestFilter {
            ends_after: Some(4700),
            ..Default::default()
        }),
        [3, 2]
    );
    assert_eq!(
        ids(RequestFilter {
            tenant: Some("beta".into()),
            ..Default::default()
        }),
        Vec::<u8>::new()
    );
    assert_eq!(
        db.requests(&RequestFilter {
            limit: 1,
            ..Default::default()
        })
        .unwrap()
        .len(),
        1
    );

    let approve = step("sv1", "approved", 1100);
    assert!(
        db.transition(
            &[1; 16].into(),
            RequestState::Pending,
            RequestState::Approved,
            &approve
        )
        .unwrap()
    );
    assert!(
        !db.transition(
            &[1; 16].into(),
            RequestState::Pending,
            RequestState::Denied,
            &approve
        )
        .unwrap()
    );
    assert!(
        !db.transition(
            &[9; 16].into(),
            RequestState::Pending,
            RequestState::Approved,
            &approve
        )
        .unwrap()
    );
    let r = db.request(&[1; 16].into()).unwrap().unwrap();
    assert_eq!(
        (
            r.stage.state(),
            r.stage.decided().map(|d| d.by.as_str()),
            r.stage.decided().map(|d| d.at),
        ),
        (RequestState::Approved, Some("sv1"), Some(1100))
    );
    assert_eq!(
        ids(RequestFilter {
            state: Some(RequestState::Approved),
            ..Default::default()
        }),
        [1]
    );

    let live: Vec<u8> = db
        .live_grants("op1", 1500)
        .unwrap()
        .iter()
        .map(|r| r.id.as_bytes()[0])
        .collect();
    assert_eq!(live, [1]);
    assert!(db.live_grants("op1", 4600).unwrap().is_empty(), "ended");
    let revoke = step("sv1", "revoked", 1200);
    assert!(
        db.transition(
            &[1; 16].into(),
            RequestState::Approved,
            RequestState::Revoked,
            &revoke
        )
        .unwrap()
    );
    assert!(db.live_grants("op1", 1500).unwrap().is_empty());
    let r = db.request(&[1; 16].into()).unwrap().unwrap();
    assert_eq!(
        (
            r.stage.revoked().map(|d| d.by.as_str()),
            r.stage.revoked().map(|d| d.at),
        ),
        (Some("sv1"), Some(1200))
    );

    let h: Vec<String> = db
        .request_history(&[1; 16].into())
        .unwrap()
        .into_iter()
        .map(|s| s.action)
        .collect();
    assert_eq!(h, ["requested", "approved", "revoked"]);
    assert_eq!(
        db.request_history(&[1; 16].into()).unwrap()[0].comment,
        Some(vec![1, 2, 3])
    );
    assert!(db.request_history(&[9; 16].into()).unwrap().is_empty());
}

pub fn nomination(id: u8, login: &str, at: i64) -> FullAccessRow {
    FullAccessRow {
        id: [id; 16].into(),
        tenant: "acme".into(),
        login: login.into(),
        state: RequestState::Pending,
        nominated_by: "admin".into(),
        nominated_at: at,
        decided_by: None,
        decided_at: None,
        revoked_by: None,
        revoked_at: None,
    }
}

pub fn full_access_follows_its_nomination(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    for u in ["sv1", "sv2"] {
        user(db, u, "supervisor");
    }
    db.nominate_full_access(&nomination(1, "sv1", 10), &step("admin", "nominated", 10))
        .unwrap();
    assert!(matches!(
        db.nominate_full_access(&nomination(2, "sv1", 11), &step("admin", "nominated", 11)),
        Err(StoreError::Conflict(_))
    ));
    db.nominate_full_access(&nomination(3, "sv2", 12), &step("admin", "nominated", 12))
        .unwrap();
    let order: Vec<u8> = db
        .full_access("acme")
        .unwrap()
        .iter()
        .map(|r| r.id.as_bytes()[0])
        .collect();
    assert_eq!(order, [3, 1], "newest first");

    let approve = |id: u8, cap: u32| {
        db.full_access_transition(
            &[id; 16].into(),
            RequestState::Pending,
            RequestState::Approved,
            &step("sec", "approved", 20),
            cap,
        )
        .unwrap()
    };
    assert_eq!(approve(1, 1), FullAccessOutcome::Done);
    assert_eq!(approve(1, 1), FullAccessOutcome::StateChanged);
    assert_eq!(
        approve(3, 1),
        FullAccessOutcome::CapReached(vec!["sv1".into()])
    );
    // Refused by the cap: nothing changed.
    assert_eq!(
        db.full_access("acme").unwrap()[0].state,
        RequestState::Pending
    );
    assert_eq!(db.full_access_history(&[3; 16].into()).unwrap().len(), 1);
    let whole = |login: &str| {
        db.assignments(login)
            .unwrap()
            .iter()
            .any(|a| a.tenant == "acme" && a.segment.is_none())
    };
    assert!(whole("sv1") && !whole("sv2"));

    let revoked = db
        .full_access_transition(
            &[1; 16].into(),
            RequestState::Approved,
            RequestState::Revoked,
            &step("sec", "revoked", 30),
            1,
        )
        .unwrap();
    assert_eq!(revoked, FullAccessOutcome::Done);
    assert!(!whole("sv1"));
    assert_eq!(approve(3, 1), FullAccessOutcome::Done);
    assert!(whole("sv2"));
    // The person may be nominated again once the last one ended.
    db.nominate_full_access(&nomination(4, "sv1", 40), &step("admin", "nominated", 40))
        .unwrap();
    let h: Vec<String> = db
        .full_access_history(&[1; 16].into())
        .unwrap()
        .into_iter()
        .map(|s| s.action)
        .collect();
    assert_eq!(h, ["nominated", "approved", "revoked"]);
}

/// A stored request whose state and decisions disagree (approved with no
/// decider, pending with one, revoked with no revoker) is refused as
/// corrupt, not read as a stage the vault would have to second-guess.
pub fn a_stored_request_whose_state_and_decisions_disagree_is_refused(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    user(db, "op1", "operator");
    db.insert_request(&request(1, "op1", 10), &step("op1", "requested", 10))
        .unwrap();
    assert_eq!(
        db.request(&[1; 16].into()).unwrap().unwrap().stage,
        RequestStage::Pending
    );
    for sql in [
        "UPDATE access_requests SET state = 'approved'",
        "UPDATE access_requests SET state = 'pending', decided_by = 'sv1', decided_at = 20",
        "UPDATE access_requests SET state = 'revoked', decided_by = NULL, decided_at = NULL",
        "UPDATE access_requests SET state = 'approved', decided_by = 'sv1', decided_at = NULL",
    ] {
        s.raw_sql(sql).unwrap();
        let err = db.request(&[1; 16].into()).unwrap_err().to_string();
        assert!(
            err.contains("decisions") || err.contains("decider"),
            "{sql}: {err}"
        );
    }
    s.raw_sql("UPDATE access_requests SET state = 'approved', decided_at = 20")
        .unwrap();
    assert!(matches!(
        db.request(&[1; 16].into()).unwrap().unwrap().stage,
        RequestStage::Approved(_)
    ));
}

/// A person's revision moves with every change of what the gate knows of
/// them — assignments, requests and their transitions, training, compliance,
/// household, their vendor — and with no one else's: a server reloads a
/// person's facts then and only then.
pub fn a_persons_revision_moves_with_their_facts_only(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    user(db, "op1", "operator");
    user(db, "op2", "operator");
    db.create_user(&mamori_store::UserRow {
        login: "op3".into(),
        vendor: Some("haken".into()),
        ..db.user("op2").unwrap().unwrap()
    })
    .unwrap();
    let rev = |login: &str| db.user(login).unwrap().unwrap().facts_rev;
    let mut last = (rev("op1"), rev("op2"));
    let mut moved = |what: &str, op1: bool| {
        let now = (rev("op1"), rev("op2"));
        assert_eq!(now.0 > last.0, op1, "{what}: op1's revision");
        assert_eq!(now.1, last.1, "{what}: op2's revision moved");
        last = now;
    };
    db.assign(&Assignment {
        login: "op1".into(),
        tenant: "acme".into(),
        segment: Some("own".into()),
    })
    .unwrap();
    moved("an assignment", true);
    db.insert_request(&request(1, "op1", 10), &step("op1", "requested", 10))
        .unwrap();
    moved("a request", true);
    assert!(
        db.transition(
            &[1; 16].into(),
            RequestState::Pending,
            RequestState::Approved,
            &step("sv1", "approved", 11),
        )
        .unwrap()
    );
    moved("its approval", true);
    db.add_training(&TrainingRow {
        login: "op1".into(),
        course: "privacy".into(),
        completed_at: 12,
        score: 90,
        expires_at: 400,
        recorded_by: "hr".into(),
    })
    .unwrap();
    moved("training", true);
    db.add_compliance(&ComplianceRow {
        login: "op1".into(),
        confirmed_at: 13,
        expires_at: 400,
        recorded_by: "hr".into(),
    })
    .unwrap();
    moved("compliance", true);
    db.set_household("op1", Some(&[1, 2, 3]), 14).unwrap();
    moved("a household", true);
    db.set_household("op1", None, 15).unwrap();
    moved("its removal", true);
    // A vendor's record, new or changed, reaches the people it employs.
    for end in [100, 50] {
        let before = rev("op3");
        db.put_vendor(&VendorRow {
            id: "haken".into(),
            name: "派遣サービス".into(),
            contract_start: 0,
            contract_end: end,
            clauses: vec![],
            updated_by: "sec".into(),
            updated_at: 16,
        })
        .unwrap();
        moved("another's vendor", false);
        assert!(rev("op3") > before, "the vendor's contract changed");
    }
    // A token's owner comes with their revision (on PostgreSQL, once the
    // change's notification reached the token cache, as every change does).
    db.add_credential("op1", &[1; 32], &crate::fixtures::api_token(), 1)
        .unwrap();
    let by_token = || db.user_by_token(&[1; 32]).unwrap().unwrap().0.facts_rev;
    assert!(soon(std::time::Duration::from_secs(5), || by_token()
        == rev("op1")));
}

pub fn deprovisioning_revokes_everything_open_of_the_person_together(s: &Stores) {
    use crate::exports::{approval, export};
    use mamori_store::ExportState;
    let db = &*s.db;
    tenant(db, "acme");
    for (u, role) in [
        ("op1", "operator"),
        ("op2", "operator"),
        ("sv1", "supervisor"),
    ] {
        user(db, u, role);
    }
    let token = crate::fixtures::api_token();
    db.add_credential("op1", &[1; 32], &token, 1).unwrap();
    db.add_credential("op1", &[2; 32], &token, 2).unwrap();
    db.add_credential("op2", &[3; 32], &token, 3).unwrap();
    // op1: a pending request, a live grant and a denied request; op2: a pending one.
    for (id, who) in [(1, "op1"), (2, "op1"), (3, "op1"), (4, "op2")] {
        db.insert_request(&request(id, who, 1000), &step(who, "requested", 1000))
            .unwrap();
    }
    let decide = |id: u8, to: RequestState| {
        assert!(
            db.transition(
                &[id; 16].into(),
                RequestState::Pending,
                to,
                &step("sv1", "decided", 1100)
            )
            .unwrap()
        );
    };
    decide(2, RequestState::Approved);
    decide(3, RequestState::Denied);
    for (id, who) in [(1, "op1"), (2, "op2"), (3, "op2")] {
        db.insert_export(&export(id, who, 1000), &step(who, "requested", 1000))
            .unwrap();
    }
    // op1 gave one of two approvals to op2's exports 2 and 3; 3 was then
    // denied: only the one still collecting approvals loses op1's.
    for id in [2, 3] {
        assert_eq!(
            db.add_export_approval(
                &approval(id, "op1", 1200),
                &step("op1", "approved", 1200),
                0
            )
            .unwrap(),
            mamori_store::ApprovalOutcome::Added
        );
    }
    assert!(
        db.close_export(
            &[3; 16].into(),
            ExportState::Pending,
            ExportState::Denied,
            &step("sv1", "denied", 1300)
        )
        .unwrap()
    );
    db.nominate_full_access(&nomination(1, "op1", 10), &step("admin", "nominated", 10))
        .unwrap();
    assert_eq!(
        db.full_access_transition(
            &[1; 16].into(),
            RequestState::Pending,
            RequestState::Approved,
            &step("so", "approved", 20),
            3
        )
        .unwrap(),
        FullAccessOutcome::Done
    );
    assert!(
        db.assignments("op1")
            .unwrap()
            .iter()
            .any(|a| a.segment.is_none())
    );

    let done = db
        .deprovision("op1", 5000, &step("admin", "revoked", 5000))
        .unwrap();
    assert!(done.suspended);
    assert_eq!(done.credentials, 2);
    let firsts = |v: Vec<[u8; 16]>| v.iter().map(|b| b[0]).collect::<Vec<_>>();
    assert_eq!(
        firsts(done.requests.iter().map(|i| *i.as_bytes()).collect()),
        [1, 2]
    );
    assert_eq!(
        firsts(done.exports.iter().map(|i| *i.as_bytes()).collect()),
        [1]
    );
    assert_eq!(
        firsts(done.full_access.iter().map(|i| *i.as_bytes()).collect()),
        [1]
    );

    assert_eq!(db.user("op1").unwrap().unwrap().suspended_at, Some(5000));
    assert!(db.user_by_token(&[1; 32]).unwrap().is_none());
    assert!(db.user_by_token(&[2; 32]).unwrap().is_none());
    assert!(
        db.user_by_token(&[3; 32]).unwrap().is_some(),
        "op2 keeps theirs"
    );
    let state = |id: u8| db.request(&[id; 16].into()).unwrap().unwrap().stage.state();
    assert_eq!(
        [1, 2, 3, 4].map(state),
        [
            RequestState::Revoked,
            RequestState::Revoked,
            RequestState::Denied,
            RequestState::Pending
        ]
    );
    let last = db.request_history(&[2; 16].into()).unwrap();
    assert_eq!(
        (last.last().unwrap().action.as_str(), last.len()),
        ("revoked", 3)
    );
    let export_state = |id: u8| db.export(&[id; 16].into()).unwrap().unwrap().stage.state();
    assert_eq!(export_state(1), ExportState::Revoked);
    assert_eq!(export_state(2), ExportState::Pending);
    assert_eq!(
        db.export_history(&[1; 16].into())
            .unwrap()
            .last()
            .unwrap()
            .action,
        "revoked"
    );
    assert_eq!(
        db.full_access("acme").unwrap()[0].state,
        RequestState::Revoked
    );
    assert_eq!(
        firsts(done.approvals.iter().map(|i| *i.as_bytes()).collect()),
        [2]
    );
    let approvers = |id: u8| -> Vec<String> {
        db.export_approvals(&[id; 16].into())
            .unwrap()
            .into_iter()
            .map(|a| a.approver)
            .collect()
    };
    assert!(approvers(2).is_empty());
    assert_eq!(
        approvers(3),
        ["op1"],
        "a decided export keeps its approvals"
    );
    assert_eq!(
        db.export_history(&[2; 16].into())
            .unwrap()
            .last()
            .unwrap()
            .action,
        "approval withdrawn"
    );
    assert!(
        !db.assignments("op1")
            .unwrap()
            .iter()
            .any(|a| a.segment.is_none())
    );

    // Again: nothing left to do. An unknown person: not found, nothing done.
    let again = db
        .deprovision("op1", 6000, &step("admin", "revoked", 6000))
        .unwrap();
    assert_eq!(again, Default::default());
    assert_eq!(db.user("op1").unwrap().unwrap().suspended_at, Some(5000));
    assert!(matches!(
        db.deprovision("nobody", 6000, &step("admin", "revoked", 6000)),
        Err(StoreError::NotFound(_))
    ));
}
