//! PC agents: hunts the security office starts reach the machines they name
//! until answered or lapsed; a machine's report is judged by the vault (the
//! verdict comes from the files listed, not from the machine), recorded once
//! in the audit log without a file name, and the machines that went silent
//! are listed.

mod common;

use std::collections::BTreeMap;

use common::Env;
use mamori_core::{Role, ScanId};
use mamori_scan::{Format, Kind, Outcome};
use mamori_store::{AuditQuery, ScanVerdict};
use mamori_vault::{
    VaultError,
    leak::agents::{NewHunt, ReportedFile, ReportedTenant, ScanReport},
};

fn env() -> Env {
    let mut env = Env::new(|_| {});
    env.person("op", Role::Operator, &[("acme", Some("own"))], None, None);
    env.person("pc-0001", Role::Scanner, &[], None, None);
    env.person("pc-0002", Role::Scanner, &[], None, None);
    env.person("au", Role::Auditor, &[], None, None);
    env
}

fn hunt(case_id: &str, machines: &[&str]) -> NewHunt {
    NewHunt {
        case_id: case_id.into(),
        full: true,
        machines: machines.iter().map(|m| (*m).to_owned()).collect(),
        days: None,
        quarantine_to: None,
    }
}

fn file_with_customers() -> ReportedFile {
    ReportedFile {
        sha256: Some(hex::encode([9; 32])),
        format: Some(Format::Csv),
        outcome: Outcome::Inspected,
        found: BTreeMap::from([(Kind::Phone, 40), (Kind::KanaName, 40)]),
        tenants: vec![ReportedTenant {
            tenant: "acme".into(),
            confirmed: 3,
            possible: 5,
        }],
        not_matched: false,
        unchanged: false,
    }
}

fn encrypted_zip() -> ReportedFile {
    ReportedFile {
        sha256: None,
        format: None,
        outcome: Outcome::Encrypted,
        found: BTreeMap::new(),
        tenants: vec![],
        not_matched: false,
        unchanged: true,
    }
}

fn report(n: u8, files: Vec<ReportedFile>) -> ScanReport {
    ScanReport {
        scan_id: ScanId::from_bytes([n; 16]),
        hunt: None,
        started_at: "2026-04-01T10:00:00+09:00".into(),
        finished_at: "2026-04-01T10:05:00+09:00".into(),
        full: false,
        roots: 1,
        files_seen: 500,
        files_read: 20,
        bytes_read: 1 << 20,
        files,
    }
}

fn events(env: &Env, action: &str) -> Vec<serde_json::Value> {
    env.vault
        .audit()
        .store()
        .query(&AuditQuery {
            action: Some(action.into()),
            limit: 100,
            ..Default::default()
        })
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[test]
fn hunts_reach_the_machines_named_until_answered_or_lapsed() {
    let env = env();
    let so = env.officer();
    let all = env
        .vault
        .start_hunt(&so, &hunt("INC-2026-001", &[]))
        .unwrap();
    env.advance(60);
    let one = env
        .vault
        .start_hunt(&so, &hunt("INC-2026-002", &["pc-0002"]))
        .unwrap();
    let ids = |login: &str| -> Vec<String> {
        let c = env.who(login);
        let h = env.vault.pending_hunts(&c).unwrap();
        h.iter().map(|h| h.id.to_string()).collect()
    };
    assert_eq!(ids("pc-0001"), [all.id.to_string()]);
    assert_eq!(ids("pc-0002"), [all.id.to_string(), one.id.to_string()]);

    // Answering a hunt takes it off the machine's list, not another's.
    let mut r = report(1, vec![]);
    r.hunt = Some(all.id);
    r.full = true;
    let got = env
        .vault
        .record_scan_report(&env.who("pc-0002"), &r)
        .unwrap();
    assert_eq!(got.report.hunt, Some(all.id));
    assert_eq!(ids("pc-0002"), [one.id.to_string()]);
    assert_eq!(ids("pc-0001"), [all.id.to_string()]);

    // A hunt not meant for the machine, or answered already, is not found.
    let mut r = report(2, vec![]);
    r.hunt = Some(one.id);
    let err = env
        .vault
        .record_scan_report(&env.who("pc-0001"), &r)
        .unwrap_err();
    assert!(matches!(err, VaultError::NotFound { .. }), "{err:?}");

    // Fourteen days on, an unanswered hunt lapses.
    env.advance(14 * 86_400 - 61);
    assert_eq!(ids("pc-0001"), [all.id.to_string()]);
    env.advance(1);
    assert!(ids("pc-0001").is_empty());

    // The hunt is in the audit log with its case and the machines asked.
    let started = events(&env, "scan.hunt");
    assert_eq!(started.len(), 2);
    assert_eq!(started[1]["case_id"], "INC-2026-002");
    assert_eq!(started[1]["detail"]["machines"][0], "pc-0002");
}

#[test]
fn only_the_security_office_hunts_and_only_scanners_report() {
    let env = env();
    for who in ["op", "pc-0001", "au"] {
        let err = env
            .vault
            .start_hunt(&env.who(who), &hunt("INC-1", &[]))
            .unwrap_err();
        assert!(
            matches!(err, VaultError::Forbidden { .. }),
            "{who}: {err:?}"
        );
    }
    for who in ["op", "au"] {
        let c = env.who(who);
        let err = env
            .vault
            .record_scan_report(&c, &report(1, vec![]))
            .unwrap_err();
        assert!(
            matches!(err, VaultError::Forbidden { .. }),
            "{who}: {err:?}"
        );
        assert!(env.vault.pending_hunts(&c).is_err());
    }
    assert!(env.vault.machines(&env.who("op"), 7).is_err());
    assert!(env.vault.machines(&env.who("pc-0001"), 7).is_err());
    assert!(env.vault.machines(&env.who("au"), 7).is_ok());
    // Refusals are recorded.
    let refused = events(&env, "scan.hunt");
    assert_eq!(refused.len(), 3);
    assert!(refused.iter().all(|e| e["decision"] == "deny"));
}

#[test]
fn a_hunt_names_scanners_a_case_and_a_sensible_time() {
    let env = env();
    let so = env.officer();
    let code = |h: &NewHunt| env.vault.start_hunt(&so, h).unwrap_err().code();
    assert_eq!(code(&hunt("INC-1", &["op"])), "hunt_invalid");
    assert_eq!(code(&hunt("INC-1", &["nobody"])), "hunt_invalid");
    assert_eq!(code(&hunt("090-1234-5678", &[])), "case_id_invalid");
    assert_eq!(code(&hunt("", &[])), "case_id_invalid");
    let mut h = hunt("INC-1", &[]);
    h.days = Some(0);
    assert_eq!(code(&h), "hunt_invalid");
    h.days = Some(91);
    assert_eq!(code(&h), "hunt_invalid");
    // The refusal names the position, never the login given.
    let err = env
        .vault
        .start_hunt(&so, &hunt("INC-1", &["pc-0001", "op"]))
        .unwrap_err();
    assert!(err.to_string().contains("machines[1]"), "{err}");
    assert!(!err.to_string().contains("op "), "{err}");
}

#[test]
fn the_vault_judges_a_report_and_records_it_once_without_a_file_name() {
    let env = env();
    let pc = env.who("pc-0001");
    let clean = env
        .vault
        .record_scan_report(&pc, &report(1, vec![]))
        .unwrap();
    assert_eq!(clean.report.verdict, ScanVerdict::Clean);
    assert!(clean.recorded);
    let incomplete = env
        .vault
        .record_scan_report(&pc, &report(2, vec![encrypted_zip()]))
        .unwrap();
    assert_eq!(incomplete.report.verdict, ScanVerdict::Incomplete);
    assert_eq!(incomplete.report.uninspected, 1);
    let found = env
        .vault
        .record_scan_report(
            &pc,
            &report(3, vec![file_with_customers(), encrypted_zip()]),
        )
        .unwrap();
    assert_eq!(found.report.verdict, ScanVerdict::Findings);
    assert_eq!(
        (found.report.with_findings, found.report.naming_customers),
        (1, 1)
    );

    // Sent again (a retry after a lost answer): the first record, nothing new.
    let again = env
        .vault
        .record_scan_report(&pc, &report(3, vec![file_with_customers()]))
        .unwrap();
    assert!(!again.recorded);
    assert_eq!(again.report, found.report);
    let recorded = events(&env, "scan.report");
    assert_eq!(recorded.len(), 3);
    let last = &recorded[2]["detail"];
    assert_eq!(last["verdict"], "findings");
    assert_eq!(last["files"][0]["sha256"], hex::encode([9; 32]));
    assert_eq!(last["tenants"][0]["confirmed"], 3);
    assert_eq!(last["report_sha256"], found.report_sha256);
    assert!(last["files"][0].get("path").is_none());
}

#[test]
fn a_report_that_does_not_hold_together_is_refused_by_member() {
    let env = env();
    let pc = env.who("pc-0001");
    let code = |r: &ScanReport| {
        let e = env.vault.record_scan_report(&pc, r).unwrap_err();
        (e.code(), e.to_string())
    };
    let mut r = report(1, vec![file_with_customers()]);
    r.files[0].sha256 = Some("zz".into());
    assert_eq!(code(&r).0, "scan_report_invalid");
    let mut r = report(1, vec![file_with_customers()]);
    r.files[0].tenants[0].tenant = "../etc".into();
    assert_eq!(code(&r).0, "scan_report_invalid");
    let mut r = report(1, vec![file_with_customers()]);
    r.files[0].tenants[0].confirmed = 6;
    assert_eq!(code(&r).0, "scan_report_invalid");
    let mut r = report(1, vec![]);
    r.started_at = "yesterday".into();
    let (c, message) = code(&r);
    assert_eq!(c, "scan_report_invalid");
    assert!(!message.contains("yesterday"), "{message}");
    // A clean, inspected file is only counted: listing one is a mistake.
    let mut f = file_with_customers();
    f.found.clear();
    f.tenants.clear();
    assert_eq!(code(&report(1, vec![f])).0, "scan_report_invalid");
    let mut r = report(1, vec![]);
    r.files_read = r.files_seen + 1;
    assert_eq!(code(&r).0, "scan_report_invalid");
    let mut r = report(1, vec![]);
    r.roots = 1 << 63;
    assert_eq!(code(&r).0, "scan_report_invalid");
    let mut r = report(1, vec![file_with_customers()]);
    r.files[0].found.insert(Kind::Email, u64::MAX);
    assert_eq!(code(&r).0, "scan_report_invalid");
    // Nothing of it was recorded as a report.
    assert!(env.vault.machines(&env.officer(), 7).unwrap()[0].reports == 0);
}

#[test]
fn machines_that_went_silent_are_listed() {
    let env = env();
    let so = env.officer();
    env.vault
        .record_scan_report(&env.who("pc-0001"), &report(1, vec![]))
        .unwrap();
    env.advance(3 * 86_400);
    env.vault
        .record_scan_report(&env.who("pc-0002"), &report(1, vec![file_with_customers()]))
        .unwrap();
    env.vault
        .start_hunt(&so, &hunt("INC-9", &["pc-0001"]))
        .unwrap();
    let m = env.vault.machines(&so, 2).unwrap();
    let view: Vec<_> = m
        .iter()
        .map(|m| {
            (
                m.login.as_str(),
                m.silent,
                m.reports,
                m.last_verdict,
                m.last_clean_at.is_some(),
                m.hunts_open,
            )
        })
        .collect();
    assert_eq!(
        view,
        [
            ("pc-0001", true, 1, Some(ScanVerdict::Clean), true, 1),
            ("pc-0002", false, 1, Some(ScanVerdict::Findings), false, 0),
        ]
    );
    // Within seven days both reported.
    assert!(
        env.vault
            .machines(&so, 7)
            .unwrap()
            .iter()
            .all(|m| !m.silent)
    );
}

#[test]
fn a_report_that_leaves_out_a_file_the_vault_matched_is_not_clean() {
    use mamori_core::{FieldType, normalize::normalize};
    use mamori_vault::leak::matching::Found;
    let env = env();
    let pc = env.who("pc-0001");
    let value = |raw: &str| Found {
        ty: FieldType::Phone,
        value: zeroize::Zeroizing::new(normalize(FieldType::Phone, raw).unwrap()),
        group: 1,
    };
    // The machine had the vault match a file naming a customer…
    let named = env
        .vault
        .match_found(&pc, &[9; 32], &[value(&common::phone(3))])
        .unwrap();
    assert_eq!(named.tenants.len(), 1);
    // …and a file naming no one.
    env.vault
        .match_found(&pc, &[8; 32], &[value("090-9999-0000")])
        .unwrap();
    // Its report says clean: the vault knows better.
    let r = env
        .vault
        .record_scan_report(&pc, &report(1, vec![]))
        .unwrap();
    assert_eq!(r.unreported_files, 1);
    assert_eq!(r.report.verdict, ScanVerdict::Findings);
    let e = events(&env, "scan.report");
    assert_eq!(e[0]["detail"]["unreported_files"], 1);
    // The next report is judged on what was matched since.
    env.advance(60);
    let r = env
        .vault
        .record_scan_report(&pc, &report(2, vec![]))
        .unwrap();
    assert_eq!(
        (r.unreported_files, r.report.verdict),
        (0, ScanVerdict::Clean)
    );
    // A report that lists the file is not faulted for it.
    env.advance(60);
    env.vault
        .match_found(&pc, &[9; 32], &[value(&common::phone(3))])
        .unwrap();
    let r = env
        .vault
        .record_scan_report(&pc, &report(3, vec![file_with_customers()]))
        .unwrap();
    assert_eq!(r.unreported_files, 0);
}

#[test]
fn a_hunt_may_have_machines_put_away_what_they_find() {
    let env = env();
    let so = env.officer();
    let key = mamori_crypto::PackageIdentity::generate()
        .recipient()
        .encoded();
    let mut h = hunt("INC-7", &["pc-0001"]);
    h.full = false;
    h.quarantine_to = Some("age1notakey".into());
    assert_eq!(
        env.vault.start_hunt(&so, &h).unwrap_err().code(),
        "hunt_invalid"
    );
    h.quarantine_to = Some(key.clone());
    let row = env.vault.start_hunt(&so, &h).unwrap();
    assert!(row.full, "putting files away reads every file");
    assert_eq!(row.quarantine_to.as_deref(), Some(key.as_str()));
    let plain = env
        .vault
        .start_hunt(&so, &hunt("INC-8", &["pc-0001"]))
        .unwrap();

    // The machine records what it put away, for the hunt that asked.
    let pc = env.who("pc-0001");
    env.vault
        .record_hunt_quarantine(&pc, row.id, &[3; 32], 1234)
        .unwrap();
    let e = events(&env, "file.quarantine");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["detail"]["hunt"], row.id.to_string());
    assert_eq!(e[0]["detail"]["file_sha256"], hex::encode([3; 32]));
    // Not for a hunt that does not ask, nor one meant for another machine,
    // nor by someone who may not put files away.
    let err = env
        .vault
        .record_hunt_quarantine(&pc, plain.id, &[3; 32], 1)
        .unwrap_err();
    assert!(matches!(err, VaultError::NotFound { .. }), "{err:?}");
    let err = env
        .vault
        .record_hunt_quarantine(&env.who("pc-0002"), row.id, &[3; 32], 1)
        .unwrap_err();
    assert!(matches!(err, VaultError::NotFound { .. }), "{err:?}");
    let err = env
        .vault
        .record_hunt_quarantine(&env.who("op"), row.id, &[3; 32], 1)
        .unwrap_err();
    assert!(matches!(err, VaultError::Forbidden { .. }), "{err:?}");
    // Each refusal is in the log too.
    let e = events(&env, "file.quarantine");
    assert_eq!(e.iter().filter(|x| x["decision"] != "allow").count(), 3);
}
