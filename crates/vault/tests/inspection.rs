//! The self-inspection from facts: each probe verified or failed from the
//! vault's own records, with findings that name staff and logs, never a
//! customer; declarations printed as declared, by whom; the run recorded.

mod common;

use common::Env;
use mamori_audit::{Decision, Event};
use mamori_core::Role;
use mamori_vault::{
    ErrorCode,
    inspection::{Inspection, Status},
    review_evidence::{Kind, Scope},
    reviews::CampaignSpec,
};
use sha2::{Digest, Sha256};

const DAY: i64 = 86_400;

fn probe<'a>(i: &'a Inspection, id: &str) -> &'a mamori_vault::inspection::Probe {
    i.probes.iter().find(|p| p.id == id).unwrap()
}

/// Midnight (Japan) of the first simulated day, 2026-04-01.
fn day0() -> i64 {
    chrono::DateTime::parse_from_rfc3339("2026-04-01T00:00:00+09:00")
        .unwrap()
        .timestamp()
}

#[test]
fn each_probe_is_verified_or_failed_from_the_records() {
    let mut env = Env::team();
    env.person("au", Role::Auditor, &[], None, None);
    env.search("op", 0).unwrap();
    // A read by someone never trained, recorded (say, before the rule was
    // configured): the gate would refuse it today; the inspection finds it.
    env.vault
        .create_user(
            "cli:test",
            &mamori_vault::admin::NewUser {
                login: "opx",
                role: Role::Operator,
                department: None,
                vendor: None,
                manager: None,
            },
        )
        .unwrap();
    let mut read = Event::new("user:opx", "record.search", Decision::Allow, "ok").tenant("acme");
    read.records = vec!["00112233445566778899aabbccddeeff".into()];
    env.vault
        .audit()
        .append(read.detail("segments", vec!["own"]))
        .unwrap();
    env.advance(DAY);

    let first = env
        .vault
        .inspect(&env.who("au"), day0(), day0() + 2 * DAY)
        .unwrap();
    let status = |i: &Inspection, id: &str| probe(i, id).status;
    assert_eq!(status(&first, "full_access"), Status::Verified);
    assert_eq!(probe(&first, "full_access").counts["holders"], 1);
    let training = probe(&first, "training");
    assert_eq!(training.status, Status::Failed);
    assert_eq!(training.findings, ["opx 2026-04-01"]);
    assert_eq!(training.counts["person_days_with_reads"], 2, "op and opx");
    assert_eq!(status(&first, "exports"), Status::Verified);
    // No witness has cosigned anything yet: every log is a finding.
    let witness = probe(&first, "witness");
    assert_eq!(witness.status, Status::Failed);
    assert!(witness.findings.contains(&"system".to_owned()));
    assert_eq!(status(&first, "agents"), Status::NotApplicable);
    assert_eq!(status(&first, "reconciliation"), Status::Failed);
    assert_eq!(status(&first, "reviews"), Status::Failed);
    assert_eq!(status(&first, "facility_locks"), Status::Undeclared);

    // Recorded with the SHA-256 of exactly what was printed.
    let bytes = serde_json::to_vec(&first.probes).unwrap();
    assert_eq!(first.sha256, hex::encode(Sha256::digest(&bytes)));
    let row = env
        .vault
        .audit()
        .store()
        .event(&first.log, first.seq)
        .unwrap()
        .unwrap();
    let e: serde_json::Value = serde_json::from_slice(&row.body).unwrap();
    assert_eq!(e["detail"]["sha256"], first.sha256.as_str());
    assert_eq!(e["detail"]["statuses"]["training"], "failed");

    // A witness cosigns every log; a campaign is under way; the security
    // office declares the locks — each probe moves with its facts.
    let store = env.vault.audit().store().clone();
    for log in store.logs().unwrap() {
        let cp = store.latest_checkpoint(&log).unwrap().unwrap();
        store
            .add_cosignature(&log, cp.size, "witness.test", "— witness.test sig\n")
            .unwrap();
    }
    let segments = Scope {
        kinds: vec![Kind::Segment],
        ..Scope::default()
    };
    let spec = CampaignSpec::quarterly("点検", segments, env.vault.now() + 14 * DAY);
    env.vault.open_campaign(&env.officer(), &spec).unwrap();
    env.vault
        .declare(
            &env.officer(),
            "facility_locks",
            "4月1日に管理区域の施錠記録を確認した",
        )
        .unwrap();
    let second = env
        .vault
        .inspect(&env.officer(), day0(), day0() + 2 * DAY)
        .unwrap();
    assert_eq!(status(&second, "witness"), Status::Verified);
    assert_eq!(status(&second, "reviews"), Status::Verified);
    let locks = probe(&second, "facility_locks");
    assert_eq!(locks.status, Status::Declared, "declared, never verified");
    assert_eq!(locks.declared_by.as_deref(), Some("so"));
    assert_eq!(
        locks.statement.as_deref(),
        Some("4月1日に管理区域の施錠記録を確認した")
    );
}

#[test]
fn only_the_security_office_and_auditors_inspect_and_only_the_office_declares() {
    let env = Env::team();
    let code = |e: mamori_vault::VaultError| e.error_code();
    let e = env
        .vault
        .inspect(&env.who("op"), day0(), day0() + DAY)
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::Forbidden);
    let e = env
        .vault
        .inspect(&env.officer(), day0() + DAY, day0())
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::PeriodInvalid);
    let e = env
        .vault
        .inspect(&env.officer(), day0() - 90 * DAY, day0())
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::PeriodInvalid);
    let e = env
        .vault
        .declare(&env.who("sv"), "facility_locks", "施錠を確認した")
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::Forbidden);
    let e = env
        .vault
        .declare(&env.officer(), "no_such_item", "施錠を確認した")
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::RequestInvalid);
    let e = env
        .vault
        .declare(&env.officer(), "clean_desk", "  ")
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::CommentMissing);
}
