//! The monthly reconciliation in a real vault: reads come from the audit
//! log, standing access from the assignments' own events, the door log and
//! PC events from files; only the security office runs it, the gate asked
//! before any file is read; every run recorded with its inputs' digests.

mod common;

use common::{
    Env,
    secure_area::{ROOMS, files},
};
use mamori_core::Role;
use mamori_reconcile::{Class, Params};
use mamori_vault::{
    ErrorCode, VaultError,
    discrepancies::Outcome,
    reconciliation::{ReconcileFiles, Reconciliation},
};
use sha2::{Digest, Sha256};

/// Unix seconds of a Japan time on 2026-04-01.
fn at(hm: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(&format!("2026-04-01T{hm}:00+09:00"))
        .unwrap()
        .timestamp()
}

/// Two operators; op1 reads at their own PC, op2 at op1's while op1 is
/// logged on there; then two days pass. Supervisor sv manages op2, sv2 op1.
fn month() -> Env {
    let mut env = Env::new(|_| {});
    env.person("sv", Role::Supervisor, &[], None, None);
    env.person("sv2", Role::Supervisor, &[], None, None);
    env.person(
        "op1",
        Role::Operator,
        &[("acme", Some("own"))],
        Some("sv2"),
        None,
    );
    env.person(
        "op2",
        Role::Operator,
        &[("acme", Some("own"))],
        Some("sv"),
        None,
    );
    env.advance(at("10:30") - at("10:00"));
    env.search_as(&env.from("op1", "10.1.0.1"), 1).unwrap();
    env.advance(30 * 60);
    env.search_as(&env.from("op2", "10.1.0.1"), 1).unwrap();
    env.advance(2 * 86_400);
    env
}

/// Midnight of the simulated day (2026-04-01, Japan time).
fn day() -> i64 {
    at("00:00")
}

/// `who` reconciles the day (and the next, for `days` = 2) with `files`.
fn reconcile(
    env: &Env,
    who: &str,
    days: i64,
    params: Params,
    files: ReconcileFiles<'_>,
) -> Result<Reconciliation, VaultError> {
    env.vault
        .reconcile(&env.who(who), day(), day() + days * 86_400, params, files)
}

/// The audit events of one action, oldest first.
fn events(env: &Env, action: &str) -> Vec<mamori_store::AuditRow> {
    env.vault
        .audit()
        .store()
        .query(&mamori_store::AuditQuery {
            action: Some(action.into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap()
}

#[test]
fn a_read_at_a_colleagues_logged_on_pc_is_the_one_discrepancy() {
    let env = month();
    let run = reconcile(&env, "so", 2, Params::default(), files()).unwrap();
    let r = &run.report;
    assert_eq!(r.counts.reads, 2, "{:?}", r.counts);
    assert_eq!(r.discrepancies.len(), 1, "{:#?}", r.discrepancies);
    let d = &r.discrepancies[0];
    assert_eq!(d.class, Class::ReadOnAnotherLogon);
    assert_eq!(d.person, "op2");
    assert_eq!(d.kind.as_deref(), Some("pc-1"));
    assert_eq!(
        r.by_class[&Class::ReadWithoutCoverage],
        0,
        "assignments' events cover both reads"
    );

    // Recorded: the system log holds the run with the inputs' digests and
    // the report's; the same inputs give the same report.
    let rows = events(&env, "reconcile.run");
    assert_eq!(rows.len(), 1);
    let e: serde_json::Value = serde_json::from_slice(&rows[0].body).unwrap();
    assert_eq!(e["log"], "system");
    assert_eq!(e["detail"]["report_sha256"], run.report_sha256);
    assert_eq!(
        e["detail"]["inputs"]["rooms"],
        hex::encode(Sha256::digest(ROOMS.as_bytes()))
    );
    assert_eq!(e["detail"]["by_class"]["read_on_another_logon"], 1);
    assert_eq!(
        run.report_sha256,
        hex::encode(Sha256::digest(serde_json::to_vec(&run.report).unwrap()))
    );
    let again = reconcile(&env, "so", 2, Params::default(), files()).unwrap();
    assert_eq!(again.report_sha256, run.report_sha256);
}

#[test]
fn only_the_security_office_runs_it_and_is_asked_before_any_file_is_read() {
    let mut env = month();
    env.person("au", Role::Auditor, &[], None, None);
    let garbage = ReconcileFiles {
        rooms: b"\xff\xfe not a door log",
        ..files()
    };
    for who in ["op1", "sv", "au"] {
        let e = reconcile(&env, who, 1, Params::default(), garbage).unwrap_err();
        assert!(matches!(e, VaultError::Forbidden { .. }), "{who}: {e:?}");
    }
    let refused = events(&env, "reconcile.run");
    assert_eq!(refused.len(), 3);
    assert!(refused.iter().all(|r| r.decision == "deny"));
}

#[test]
fn bad_periods_and_files_are_refused_without_their_values() {
    let env = month();
    let so = env.officer();
    let from = at("00:00");
    let code = |e: VaultError| e.error_code();
    let now = at("11:00") + 2 * 86_400;
    for (f, t) in [
        (from, from),
        (now + 1, now + 3600),
        (from - 70 * 86_400, from),
    ] {
        let e = env
            .vault
            .reconcile(&so, f, t, Params::default(), files())
            .unwrap_err();
        assert_eq!(code(e), ErrorCode::PeriodInvalid);
    }
    // A period still running is reconciled up to now.
    let so_far = env
        .vault
        .reconcile(&so, from, now + 86_400, Params::default(), files())
        .unwrap();
    assert_eq!(so_far.report.period.to, now + 1);
    let secret = "2026/04/01 10:00:00,B1,090-1234-5678\n";
    let rooms = format!("日時,カード番号,区分\n{secret}");
    let refused = |params, files| reconcile(&env, "so", 1, params, files).unwrap_err();
    let e = refused(
        Params::default(),
        ReconcileFiles {
            rooms: rooms.as_bytes(),
            ..files()
        },
    );
    let text = e.to_string();
    assert_eq!(e.error_code(), ErrorCode::ReconcileFileInvalid);
    assert!(text.contains("rooms, line 2"), "{text}");
    assert!(!text.contains("090-1234-5678"), "{text}");
    let mapping = ReconcileFiles {
        mapping: Some(b"[rooms]\nentry = 5\n"),
        ..files()
    };
    assert_eq!(
        refused(Params::default(), mapping).error_code(),
        ErrorCode::ReconcileFileInvalid
    );
    let negative = Params {
        skew_s: -1,
        ..Params::default()
    };
    assert_eq!(
        refused(negative, files()).error_code(),
        ErrorCode::RequestInvalid
    );
}

#[test]
fn a_discrepancy_is_judged_once_by_the_right_people_and_survives_a_second_run() {
    let mut env = month();
    env.person("au", Role::Auditor, &[], None, None);
    let run = reconcile(&env, "so", 2, Params::default(), files()).unwrap();
    let id = run.report.discrepancies[0].id.clone();
    let seen = |who: &str| env.vault.discrepancies(&env.who(who), true, None).unwrap();
    // The person it is about and another team's supervisor see nothing.
    assert!(seen("op2").is_empty());
    assert!(seen("sv2").is_empty());
    assert_eq!(seen("au").len(), 1);
    assert_eq!(seen("so").len(), 1);
    let listed = seen("sv");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].id.as_str(), listed[0].person.as_str()),
        (id.as_str(), "op2")
    );
    assert_eq!(listed[0].title, "他人のログオン中の閲覧");
    assert_eq!(listed[0].run, run.report_sha256);

    let reason = "op1の了承を得て一時的に同じ端末を使用（席替え当日）";
    let dispose = |who: &str, outcome, note: &str| {
        env.vault
            .dispose_discrepancy(&env.who(who), &id, outcome, note)
            .map_err(|e| e.error_code())
    };
    // Unknown and not-yours look alike; an auditor sees but does not judge.
    assert_eq!(
        dispose("op2", Outcome::Explained, reason).unwrap_err(),
        ErrorCode::NotFound
    );
    assert_eq!(
        dispose("sv2", Outcome::Explained, reason).unwrap_err(),
        ErrorCode::NotFound
    );
    assert_eq!(
        dispose("au", Outcome::Explained, reason).unwrap_err(),
        ErrorCode::Forbidden
    );
    assert_eq!(
        env.vault
            .dispose_discrepancy(&env.who("sv"), &"0".repeat(32), Outcome::Explained, reason)
            .unwrap_err()
            .error_code(),
        ErrorCode::NotFound
    );
    assert_eq!(
        dispose("sv", Outcome::Explained, "。。").unwrap_err(),
        ErrorCode::CommentTooWeak
    );
    let judged = dispose("sv", Outcome::Explained, reason).unwrap();
    assert_eq!(judged.outcome, Some(Outcome::Explained));
    assert_eq!(judged.disposed_by.as_deref(), Some("sv"));
    // Once: the security office cannot overwrite it.
    assert_eq!(
        dispose("so", Outcome::Escalated, "再調査が必要").unwrap_err(),
        ErrorCode::DiscrepancyDisposed
    );
    assert!(seen("so").is_empty(), "no open discrepancy is left");
    let all = env
        .vault
        .discrepancies(&env.officer(), false, None)
        .unwrap();
    assert_eq!(all[0].outcome, Some(Outcome::Explained));

    // A second run of the month finds it again, judged.
    reconcile(&env, "so", 2, Params::default(), files()).unwrap();
    assert!(seen("so").is_empty());
    let rows = events(&env, "reconcile.dispose");
    let decisions: Vec<&str> = rows.iter().map(|r| r.decision.as_str()).collect();
    assert_eq!(
        decisions,
        ["deny", "allow"],
        "the auditor's refusal and sv's judgement"
    );
    let e: serde_json::Value = serde_json::from_slice(&rows[1].body).unwrap();
    assert_eq!(e["case_id"], id);
    assert_eq!(e["detail"]["outcome"], "explained");
    assert!(!String::from_utf8_lossy(&rows[1].body).contains("席替え"));
}

/// Standing coverage ends where the assignment was recorded to end: reads
/// before a `user unassign` stay covered, and the end is on record.
#[test]
fn an_assignment_covers_reads_until_it_is_removed() {
    let env = month();
    env.vault
        .unassign("cli:test", "op2", "acme", "own")
        .unwrap();
    let e = env
        .vault
        .unassign("cli:test", "op2", "acme", "own")
        .unwrap_err();
    assert_eq!(e.error_code(), ErrorCode::NotFound);
    let run = reconcile(&env, "so", 2, Params::default(), files()).unwrap();
    assert_eq!(run.report.by_class[&Class::ReadWithoutCoverage], 0);
    assert_eq!(events(&env, "user.unassign").len(), 1);
    // And the read after it is refused by the gate, so not in the log as a read.
    assert!(env.search("op2", 1).is_err());
}
