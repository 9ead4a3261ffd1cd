//! Access governance end to end on a real data directory, with a manual clock
//! so that expiry is checked at the second it happens, not by sleeping:
//! just-in-time grants and who may approve them, budgets, the people gate,
//! vendors and the cap on standing full access.

mod common;

use std::collections::BTreeMap;

use common::{CLAUSES, Env, phone};
use mamori_app::datadir;
use mamori_core::{Role, schema::CONTACT_CENTRE_SCHEMA};
use mamori_store::AuditQuery;
use mamori_vault::{
    Rules, SearchBy, Vault, VaultError,
    access::Access,
    admin::NewUser,
    full_access::{Assigned, RequestState},
    grants::{ListFilter, NewRequest, Status},
    ingest::ImportRow,
};

fn collab_request() -> NewRequest {
    NewRequest {
        tenant: "acme".into(),
        segment: Some("collab".into()),
        fields: vec!["customer_no".into(), "name".into(), "phone".into()],
        purpose: "inquiry".into(),
        case_id: "CASE-1".into(),
        justification: "コラボ事業者経由のお客さまから解約の問い合わせがあり契約内容を確認する"
            .into(),
        record_budget: 2,
        starts_at: None,
        hours: Some(1),
    }
}

fn code(e: VaultError) -> &'static str {
    e.code()
}

/// A search of acme's customer `i` by the operator `op`, under `case`;
/// how many records it shows.
fn search_under(env: &Env, case: Option<&str>, i: usize) -> Result<usize, VaultError> {
    env.vault
        .search(
            &env.who("op"),
            "acme",
            Access {
                purpose: Some("inquiry"),
                case_id: case,
            },
            &SearchBy {
                key: "phone".into(),
                value: phone(i),
            },
        )
        .map(|r| r.records.len())
}

#[test]
fn a_grant_serves_only_the_case_it_was_approved_for() {
    let env = Env::team();
    let req = env
        .vault
        .request_access(&env.who("op"), &collab_request())
        .unwrap();
    env.vault
        .approve_request(&env.who("sv"), &req.id, Some("確認しました"))
        .unwrap();
    // Approved for CASE-1: under it the partner's customer is shown.
    assert_eq!(search_under(&env, Some("CASE-1"), 2).unwrap(), 1);
    // Under another case, or none, the grant does not apply.
    assert_eq!(search_under(&env, Some("INC-4411"), 2).unwrap(), 0);
    assert_eq!(env.withheld(), 1);
    assert_eq!(search_under(&env, None, 2).unwrap(), 0);
    // Standing access does not depend on the case.
    assert_eq!(search_under(&env, Some("INC-4411"), 0).unwrap(), 1);
}

#[test]
fn a_grant_opens_exactly_its_segment_fields_budget_and_window() {
    let env = Env::team();
    // Standing access: own segment only; the partner's customer is withheld.
    assert_eq!(env.search("op", 0).unwrap().records.len(), 1);
    let r = env.search("op", 2).unwrap();
    assert_eq!((r.records.len(), env.withheld()), (0, 1));

    let req = env
        .vault
        .request_access(&env.who("op"), &collab_request())
        .unwrap();
    assert_eq!(req.status, Status::Pending);
    assert_eq!(
        {
            env.search("op", 2).unwrap();
            env.withheld()
        },
        1,
        "pending is not granted"
    );

    let approved = env
        .vault
        .approve_request(&env.who("sv"), &req.id, Some("確認しました"))
        .unwrap();
    assert_eq!(approved.status, Status::Active);
    let r = env.search("op", 2).unwrap();
    assert_eq!((r.records.len(), env.withheld()), (1, 0));
    let shown: Vec<&String> = r.records[0].fields.keys().collect();
    assert_eq!(
        shown,
        ["customer_no", "name", "phone"],
        "only the granted fields, not the purpose's full view"
    );
    // The own segment still shows the purpose's full view (standing access).
    assert!(
        env.search("op", 0).unwrap().records[0]
            .fields
            .contains_key("address")
    );

    // Budget 2: a second customer is fine, re-reading is free, a third is refused.
    env.search("op", 3).unwrap();
    env.search("op", 2).unwrap();
    let err = env.search("op", 4).unwrap_err();
    assert_eq!(code(err), "grant_budget_exhausted");
    let used = env.vault.access_request(&env.who("op"), &req.id).unwrap();
    assert_eq!(used.records_used, Some(2));

    // The window ends at the second: one second before, open; at the end, shut.
    env.advance(3600 - 1);
    assert_eq!(env.search("op", 2).unwrap().records.len(), 1);
    env.advance(1);
    assert_eq!(
        {
            env.search("op", 2).unwrap();
            env.withheld()
        },
        1
    );

    // History stays after expiry, with who approved and why.
    let after = env.vault.access_request(&env.who("sv"), &req.id).unwrap();
    assert_eq!(after.status, Status::Expired);
    let steps: Vec<(&str, &str)> = after
        .history
        .iter()
        .map(|h| (h.action.as_str(), h.actor.as_str()))
        .collect();
    assert_eq!(steps, [("requested", "op"), ("approved", "sv")]);
    assert_eq!(after.history[1].comment.as_deref(), Some("確認しました"));
    assert!(after.justification.contains("解約"));

    // The reads under the grant name it in the audit log.
    let rows = env
        .vault
        .audit()
        .store()
        .query(&AuditQuery {
            actor: Some("user:op".into()),
            action: Some("record.search".into()),
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    let with_grant = rows
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains(&req.id))
        .count();
    assert!(with_grant >= 3, "{with_grant}");
}

#[test]
fn who_may_not_approve() {
    let mut env = Env::team();
    // so2 reports to op: a subordinate of the requester, even in the security office.
    env.person("so2", Role::SecurityOfficer, &[], Some("op"), None);
    env.person("sv-other", Role::Supervisor, &[("acme", None)], None, None);
    let req = env
        .vault
        .request_access(&env.who("op"), &collab_request())
        .unwrap();

    let err = env
        .vault
        .approve_request(&env.who("op"), &req.id, None)
        .unwrap_err();
    assert_eq!(code(err), "forbidden", "self-approval");
    let err = env
        .vault
        .approve_request(&env.who("so2"), &req.id, None)
        .unwrap_err();
    assert!(
        err.to_string().contains("manages"),
        "approval by a report: {err}"
    );
    let err = env
        .vault
        .approve_request(&env.who("sv-other"), &req.id, None)
        .unwrap_err();
    assert_eq!(code(err), "forbidden", "a supervisor of another team");

    env.vault
        .approve_request(&env.who("sv"), &req.id, None)
        .unwrap();
    let err = env
        .vault
        .approve_request(&env.who("sv"), &req.id, None)
        .unwrap_err();
    assert_eq!(code(err), "request_not_pending", "double approval");
    let err = env
        .vault
        .approve_request(&env.who("so"), &req.id, None)
        .unwrap_err();
    assert_eq!(code(err), "request_not_pending", "a second approver");

    // Revoked: the grant shuts at once, and cannot be approved again.
    assert_eq!(env.search("op", 2).unwrap().records.len(), 1);
    let err = env
        .vault
        .revoke_request(&env.who("sv"), &req.id, "")
        .unwrap_err();
    assert_eq!(code(err), "comment_missing");
    env.vault
        .revoke_request(&env.who("sv"), &req.id, "案件完了のため")
        .unwrap();
    assert_eq!(
        {
            env.search("op", 2).unwrap();
            env.withheld()
        },
        1
    );
    let err = env
        .vault
        .approve_request(&env.who("sv"), &req.id, None)
        .unwrap_err();
    assert_eq!(code(err), "request_not_pending", "approval after revoke");

    // A request left pending past its window cannot be approved.
    let late = env
        .vault
        .request_access(&env.who("op"), &collab_request())
        .unwrap();
    env.advance(3600);
    let err = env
        .vault
        .approve_request(&env.who("sv"), &late.id, None)
        .unwrap_err();
    assert_eq!(code(err), "request_lapsed");
    // Denial needs a reason.
    let third = env
        .vault
        .request_access(&env.who("op"), &collab_request())
        .unwrap();
    let err = env
        .vault
        .deny_request(&env.who("sv"), &third.id, ".")
        .unwrap_err();
    assert_eq!(code(err), "comment_too_weak");
    let denied = env
        .vault
        .deny_request(&env.who("sv"), &third.id, "範囲が広すぎます")
        .unwrap();
    assert_eq!(denied.status, Status::Denied);

    // The requester sees their own requests; another operator sees none of them.
    env.person(
        "op2",
        Role::Operator,
        &[("acme", Some("own"))],
        Some("sv"),
        None,
    );
    let mine = env
        .vault
        .access_requests(&env.who("op"), &ListFilter::default())
        .unwrap();
    assert_eq!(mine.len(), 3);
    let theirs = env
        .vault
        .access_requests(&env.who("op2"), &ListFilter::default())
        .unwrap();
    assert!(theirs.is_empty());
    let err = env
        .vault
        .access_request(&env.who("op2"), &req.id)
        .unwrap_err();
    assert_eq!(code(err), "not_found");
}

#[test]
fn bad_requests_are_refused_with_reasons() {
    let env = Env::team();
    let op = env.who("op");
    let try_req = |f: &dyn Fn(&mut NewRequest)| {
        let mut r = collab_request();
        f(&mut r);
        code(env.vault.request_access(&op, &r).unwrap_err())
    };
    assert_eq!(
        try_req(&|r| r.justification = ".".into()),
        "justification_too_weak"
    );
    assert_eq!(
        try_req(&|r| r.justification = "ああああああああああああああああああ".into()),
        "justification_too_weak"
    );
    assert_eq!(try_req(&|r| r.record_budget = 0), "record_budget_invalid");
    assert_eq!(
        try_req(&|r| r.record_budget = 1_000_000),
        "record_budget_invalid"
    );
    assert_eq!(try_req(&|r| r.hours = Some(24 * 30)), "window_invalid");
    assert_eq!(try_req(&|r| r.starts_at = Some(0)), "window_invalid");
    assert_eq!(
        try_req(&|r| r.fields = vec!["gender".into()]),
        "field_not_in_purpose"
    );
    assert_eq!(try_req(&|r| r.fields.clear()), "fields_missing");
    assert_eq!(
        try_req(&|r| r.purpose = "marketing".into()),
        "purpose_unknown"
    );
    assert_eq!(
        try_req(&|r| r.purpose = "billing".into()),
        "purpose_not_for_role"
    );
    assert_eq!(
        try_req(&|r| r.segment = Some("vip".into())),
        "segment_unknown"
    );
    assert_eq!(
        try_req(&|r| r.case_id = "山田さん".into()),
        "case_id_invalid"
    );
    // Personal data is no case id: a phone number, a My Number, an e-mail,
    // one of the tenant's customer numbers.
    for personal in ["090-1234-5678", "INC-09012345678", "123456789018", "C-1"] {
        assert_eq!(
            try_req(&|r| r.case_id = personal.into()),
            "case_id_invalid",
            "{personal}"
        );
    }
    // A tenant one is not assigned to, known or not: refused alike, before
    // anything about it is looked up.
    assert_eq!(try_req(&|r| r.tenant = "other".into()), "forbidden");
    // A supervisor does not request data access; a sysadmin neither.
    let err = env
        .vault
        .request_access(&env.who("sv"), &collab_request())
        .unwrap_err();
    assert_eq!(code(err), "forbidden");
}

#[test]
fn full_access_is_capped_and_holders_issue_short_grants() {
    let mut env = Env::team();
    // sv holds acme/*; two more make three (the default cap).
    env.person("by1", Role::Backyard, &[("acme", None)], Some("sv"), None);
    env.person("by2", Role::Backyard, &[("acme", None)], Some("sv"), None);
    env.person(
        "by3",
        Role::Backyard,
        &[("acme", Some("own"))],
        Some("sv"),
        None,
    );
    let err = env
        .vault
        .assign("cli:test", "by3", "acme", None)
        .unwrap_err();
    assert_eq!(code(err), "full_access_cap_reached");
    assert!(err_text_names_holders(&env));
    // Only the security office changes the cap.
    let err = env
        .vault
        .set_full_access_cap(&env.who("sv"), "acme", Some(4))
        .unwrap_err();
    assert_eq!(code(err), "forbidden");
    env.vault
        .set_full_access_cap(&env.officer(), "acme", Some(4))
        .unwrap();
    env.assign("by3", "acme", None);

    // A holder issues an 8-hour grant to the operator; it works at once.
    let g = env
        .vault
        .issue_grant(
            &env.who("by1"),
            "op",
            &NewRequest {
                hours: None,
                ..collab_request()
            },
        )
        .unwrap();
    assert_eq!(g.status, Status::Active);
    assert_eq!(env.search("op", 2).unwrap().records.len(), 1);
    env.advance(8 * 3600);
    assert_eq!(
        {
            env.search("op", 2).unwrap();
            env.withheld()
        },
        1,
        "8 hours by default"
    );
    // Not to themselves, and not by someone without full access.
    let err = env
        .vault
        .issue_grant(&env.who("by1"), "by1", &collab_request())
        .unwrap_err();
    assert_eq!(code(err), "forbidden");
    let err = env
        .vault
        .issue_grant(&env.who("op"), "by1", &collab_request())
        .unwrap_err();
    assert_eq!(code(err), "forbidden");
}

/// Seed 002: standing full access is held by few, each approved by the CISO.
/// A whole-tenant assignment is only a nomination until the security office
/// approves it; the cap holds even when two approvals race for the last place.
#[test]
fn standing_full_access_is_approved_by_the_security_office() {
    let mut env = Env::team();
    env.person(
        "by1",
        Role::Backyard,
        &[("acme", Some("own"))],
        Some("sv"),
        None,
    );
    env.person("so2", Role::SecurityOfficer, &[], None, None);
    let sees_collab = |env: &Env| env.search("by1", 2).unwrap().records.len() == 1;
    assert!(!sees_collab(&env));

    // Nominated: nothing changes yet; nominating again returns the same one.
    let Assigned::FullAccess(f) = env.vault.assign("cli:test", "by1", "acme", None).unwrap() else {
        panic!("a whole-tenant assignment is a nomination")
    };
    assert_eq!(f.status, RequestState::Pending);
    let Assigned::FullAccess(again) = env.vault.assign("cli:test", "by1", "acme", None).unwrap()
    else {
        panic!()
    };
    assert_eq!(again.id, f.id);
    assert!(!sees_collab(&env), "a nomination gives no access");

    // Not the nominee's supervisor, not the nominee, nobody without a nomination.
    for who in ["sv", "by1", "op"] {
        let err = env
            .vault
            .approve_full_access(&env.who(who), "acme", "by1", None)
            .unwrap_err();
        assert_eq!(code(err), "forbidden", "{who}");
    }
    // A security officer does not approve their own nomination.
    env.vault.assign("cli:test", "so2", "acme", None).unwrap();
    let err = env
        .vault
        .approve_full_access(&env.who("so2"), "acme", "so2", None)
        .unwrap_err();
    assert!(err.to_string().contains("themselves"), "{err}");
    let err = env
        .vault
        .approve_full_access(&env.officer(), "acme", "op", None)
        .unwrap_err();
    assert_eq!(code(err), "nomination_not_found");

    // The security office approves: access to every segment at once.
    let f = env
        .vault
        .approve_full_access(&env.officer(), "acme", "by1", Some("料金センター責任者"))
        .unwrap();
    assert_eq!(f.status, RequestState::Approved);
    assert_eq!(f.decided_by.as_deref(), Some("so"));
    assert!(sees_collab(&env));
    let err = env
        .vault
        .approve_full_access(&env.officer(), "acme", "by1", None)
        .unwrap_err();
    assert_eq!(code(err), "request_not_pending");

    // sv and by1 hold it; with a cap of 2 the pending so2 cannot get in,
    // and the refusal leaves the nomination pending.
    env.vault
        .set_full_access_cap(&env.officer(), "acme", Some(2))
        .unwrap();
    let err = env
        .vault
        .approve_full_access(&env.officer(), "acme", "so2", None)
        .unwrap_err();
    assert!(err.to_string().contains("2 of 2"), "{err}");
    assert_eq!(code(err), "full_access_cap_reached");
    let list = env.vault.full_access_list(&env.officer(), "acme").unwrap();
    let so2 = list.iter().find(|f| f.login == "so2").unwrap();
    assert_eq!(so2.status, RequestState::Pending);
    // Denying needs a reason.
    let err = env
        .vault
        .deny_full_access(&env.officer(), "acme", "so2", " ")
        .unwrap_err();
    assert_eq!(code(err), "comment_missing");
    env.vault
        .deny_full_access(&env.officer(), "acme", "so2", "上限に達しているため")
        .unwrap();

    // Revoked: gone at the next request; the history stays.
    let err = env
        .vault
        .revoke_full_access(&env.who("sv"), "acme", "by1", "異動")
        .unwrap_err();
    assert_eq!(code(err), "forbidden", "a supervisor does not revoke it");
    let f = env
        .vault
        .revoke_full_access(&env.officer(), "acme", "by1", "異動のため")
        .unwrap();
    assert_eq!(f.status, RequestState::Revoked);
    assert!(!sees_collab(&env));
    let steps: Vec<&str> = f.history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(steps, ["nominated", "approved", "revoked"]);
    assert_eq!(f.history[2].comment.as_deref(), Some("異動のため"));
    let err = env
        .vault
        .approve_full_access(&env.officer(), "acme", "by1", None)
        .unwrap_err();
    assert_eq!(code(err), "nomination_not_found");
    // The nominee sees their own; an operator sees nobody else's.
    let mine = env.vault.full_access_list(&env.who("by1"), "acme").unwrap();
    assert!(mine.iter().all(|f| f.login == "by1") && !mine.is_empty());
    assert!(
        env.vault
            .full_access_list(&env.who("op"), "acme")
            .unwrap()
            .is_empty()
    );

    // Every step and every refusal is in the tenant's audit log.
    let rows = env
        .vault
        .audit()
        .store()
        .query(&AuditQuery {
            tenant: Some("acme".into()),
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    let bodies: Vec<String> = rows
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .filter(|b| b.contains("fullaccess."))
        .collect();
    let count = |needle: &str| bodies.iter().filter(|b| b.contains(needle)).count();
    assert_eq!(count("fullaccess.nominate"), 3, "sv, by1 and so2");
    assert!(count("\"deny\"") >= 5, "refusals recorded: {bodies:#?}");
    assert!(count("full_access_cap_reached") == 1);
    assert!(count("fullaccess.revoke") >= 2);
}

fn err_text_names_holders(env: &Env) -> bool {
    let err = env
        .vault
        .assign("cli:test", "by3", "acme", None)
        .unwrap_err()
        .to_string();
    err.contains("3 of 3") && err.contains("by1")
}

#[test]
fn lapsed_training_and_expired_vendor_contracts_block_at_the_gate() {
    let mut env = Env::team();
    let now = env.vault.now();
    env.vault
        .put_vendor(
            &env.officer(),
            "bpo",
            "BPO株式会社",
            now - 86_400,
            now + 2 * 86_400,
            &CLAUSES.map(String::from),
        )
        .unwrap();
    env.person(
        "vd",
        Role::VendorUser,
        &[("acme", Some("collab"))],
        Some("sv"),
        Some("bpo"),
    );
    assert_eq!(env.search("vd", 2).unwrap().records.len(), 1);
    // A contract lacking a clause blocks at once.
    env.vault
        .put_vendor(
            &env.officer(),
            "bpo",
            "BPO株式会社",
            now - 86_400,
            now + 2 * 86_400,
            &CLAUSES[..4]
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let err = env.search("vd", 2).unwrap_err();
    assert!(err.to_string().contains("contract"), "{err}");
    env.vault
        .put_vendor(
            &env.officer(),
            "bpo",
            "BPO株式会社",
            now - 86_400,
            now + 2 * 86_400,
            &CLAUSES.map(String::from),
        )
        .unwrap();
    assert_eq!(env.search("vd", 2).unwrap().records.len(), 1);
    // The contract ends: refused at the second it ends.
    env.advance(2 * 86_400 - 1);
    assert!(env.search("vd", 2).is_ok());
    env.advance(1);
    assert_eq!(code(env.search("vd", 2).unwrap_err()), "forbidden");

    // Training expires after a year: the operator is refused with the reason.
    assert!(env.search("op", 0).is_ok());
    env.advance(365 * 86_400);
    let err = env.search("op", 0).unwrap_err();
    assert!(err.to_string().contains("training"), "{err}");
    let denials = env
        .vault
        .audit()
        .store()
        .query(&AuditQuery {
            actor: Some("user:op".into()),
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    let last = String::from_utf8_lossy(&denials.last().unwrap().body).into_owned();
    assert!(
        last.contains("people-training-current") && last.contains("\"deny\""),
        "{last}"
    );
    // A failed test does not count.
    env.vault
        .record_training(&env.officer(), "op", "privacy-basics", 40, None)
        .unwrap();
    assert!(env.search("op", 0).is_err());
    let err = env
        .vault
        .record_training(&env.officer(), "op", "privacy-basics", 85, None)
        .unwrap_err();
    assert_eq!(code(err), "conflict", "the same completion twice");
    env.advance(60);
    env.vault
        .record_training(&env.officer(), "op", "privacy-basics", 85, None)
        .unwrap();
    assert!(env.search("op", 0).is_ok());
    // Nobody but the security office keeps these records.
    let err = env
        .vault
        .record_training(&env.who("sv"), "op", "privacy-basics", 100, None)
        .unwrap_err();
    assert_eq!(code(err), "forbidden");
}

#[test]
fn heavy_users_need_a_compliance_confirmation() {
    let mut env = Env::team();
    env.person(
        "by",
        Role::Backyard,
        &[("acme", Some("own"))],
        Some("sv"),
        None,
    );
    assert!(env.search("by", 0).is_ok());
    // The confirmation lapses after a year; training is renewed, yet the
    // back office (3,000 a day, above the 1,000 threshold) is refused.
    env.advance(366 * 86_400);
    env.vault
        .record_training(&env.officer(), "by", "privacy-basics", 90, None)
        .unwrap();
    let err = env.search("by", 0).unwrap_err();
    assert!(err.to_string().contains("compliance"), "{err}");
    env.vault
        .record_compliance(&env.officer(), "by", None)
        .unwrap();
    assert!(env.search("by", 0).is_ok());
}

#[test]
fn daily_budget_and_rate_limit_stop_enumeration() {
    let mut env = Env::new(|r| {
        r.limits.daily_records.insert("operator".into(), 3);
        r.limits.requests_per_minute = 20;
    });
    env.person("op", Role::Operator, &[("acme", None)], None, None);
    for i in 0..3 {
        assert_eq!(env.search("op", i).unwrap().records.len(), 1);
    }
    // Re-reading today's customers costs nothing; a fourth is refused and flagged.
    assert!(env.search("op", 1).is_ok());
    let err = env.search("op", 3).unwrap_err();
    assert_eq!((err.status(), err.code()), (429, "daily_budget_exhausted"));
    let rows = env
        .vault
        .audit()
        .store()
        .query(&AuditQuery {
            actor: Some("user:op".into()),
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    let last = String::from_utf8_lossy(&rows.last().unwrap().body).into_owned();
    assert!(
        last.contains("\"flag\":\"budget\"") && last.contains("daily_budget_exhausted"),
        "{last}"
    );
    // The next day (Japan time) starts afresh.
    env.advance(86_400);
    assert!(env.search("op", 3).is_ok());

    // Requests per minute.
    env.advance(60);
    let mut refused = 0;
    for _ in 0..25 {
        if let Err(e) = env.search("op", 3) {
            assert_eq!(e.code(), "rate_limited");
            refused += 1;
        }
    }
    assert_eq!(refused, 5);
    env.advance(60);
    assert!(env.search("op", 3).is_ok());
}

#[test]
fn a_restarted_vault_remembers_what_was_read_today() {
    let dir = tempfile::tempdir().unwrap();
    datadir::init(dir.path()).unwrap();
    let tight = |v: Vault| {
        let mut rules = Rules::default();
        rules.limits.daily_records.insert("operator".into(), 2);
        v.with_rules(rules)
    };
    let vault = datadir::open_with(dir.path(), tight).unwrap().vault;
    vault
        .create_tenant("cli:test", "acme", "アクメ", CONTACT_CENTRE_SCHEMA)
        .unwrap();
    let rows = (0..3)
        .map(|i| ImportRow {
            line: i + 2,
            segment: None,
            fields: BTreeMap::from([
                ("customer_no".into(), format!("C-{i}")),
                ("phone".into(), phone(i as usize)),
            ]),
        })
        .collect();
    vault.import_batch("cli:test", "acme", None, rows).unwrap();
    let new = |login, role| NewUser {
        login,
        role,
        department: None,
        vendor: None,
        manager: None,
    };
    let so = vault
        .create_user("cli:test", &new("so", Role::SecurityOfficer))
        .unwrap();
    let op = vault
        .create_user("cli:test", &new("op", Role::Operator))
        .unwrap();
    vault.assign("cli:test", "op", "acme", None).unwrap();
    let so = vault.authenticate(Some(&so), None).unwrap();
    vault.approve_full_access(&so, "acme", "op", None).unwrap();
    vault
        .record_training(&so, "op", "privacy-basics", 90, None)
        .unwrap();
    let search = |v: &Vault, i: usize| {
        let caller = v.authenticate(Some(&op), None).unwrap();
        v.search(
            &caller,
            "acme",
            Access {
                purpose: Some("inquiry"),
                case_id: None,
            },
            &SearchBy {
                key: "phone".into(),
                value: phone(i),
            },
        )
    };
    search(&vault, 0).unwrap();
    search(&vault, 1).unwrap();
    drop(vault);
    // A restart does not reset the budget: the audit log says what was read.
    let vault = datadir::open_with(dir.path(), tight).unwrap().vault;
    search(&vault, 0).unwrap();
    assert_eq!(
        search(&vault, 2).unwrap_err().code(),
        "daily_budget_exhausted"
    );
}

#[test]
fn entitlement_report_counts_who_the_gate_lets_see_each_segment() {
    let mut env = Env::team();
    env.person(
        "op2",
        Role::Operator,
        &[("acme", Some("collab"))],
        Some("sv"),
        None,
    );
    env.person(
        "op3",
        Role::Operator,
        &[("acme", Some("own"))],
        Some("sv"),
        None,
    );
    let share = |env: &Env, segment: &str| {
        let rows = env
            .vault
            .entitlements(&env.officer(), Some("acme"))
            .unwrap();
        let r = rows
            .iter()
            .find(|r| r.segment == segment && r.department == "お客さまセンター")
            .unwrap()
            .clone();
        (r.can_see, r.people, r.share_percent)
    };
    // sv, op, op2, op3 work in the centre; the supervisor holds acme/* but reads no data.
    assert_eq!(share(&env, "collab"), (1, 4, 25.0));
    assert_eq!(share(&env, "own"), (2, 4, 50.0));
    // A live grant counts while it lasts.
    let req = env
        .vault
        .request_access(&env.who("op"), &collab_request())
        .unwrap();
    env.vault
        .approve_request(&env.who("sv"), &req.id, None)
        .unwrap();
    assert_eq!(share(&env, "collab"), (2, 4, 50.0));
    env.advance(3600);
    assert_eq!(share(&env, "collab"), (1, 4, 25.0));
    // So does the people gate: lapsed training sees nothing.
    env.advance(365 * 86_400);
    assert_eq!(share(&env, "own").0, 0);
    // Operators do not read oversight reports.
    let err = env.vault.entitlements(&env.who("op"), None).unwrap_err();
    assert_eq!(code(err), "forbidden");
}
