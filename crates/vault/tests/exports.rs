//! Bulk exports end to end on a real data directory: k-of-n approval with an
//! AND of groups, the encrypted package only the recipient can open, one
//! download, no plaintext on disk, and tracing a leaked file to its export.

mod common;

use std::{path::Path, time::SystemTime};

use common::Env;
use mamori_core::Role;
use mamori_crypto::PackageIdentity;
use mamori_store::AuditQuery;
use mamori_vault::{
    VaultError,
    exports::{ExportStatus, ExportView, NewExport},
};

/// The team: backyard `by` (partner segment) under supervisor `sv`, who is
/// under supervisor `head`; `sub` is a supervisor `by` manages; `so` and
/// `so2` are the security office.
fn team(adjust: impl FnOnce(&mut mamori_vault::Rules)) -> Env {
    let mut env = Env::new(adjust);
    env.person("head", Role::Supervisor, &[], None, None);
    env.person("sv", Role::Supervisor, &[], Some("head"), None);
    env.person(
        "by",
        Role::Backyard,
        &[("acme", Some("collab"))],
        Some("sv"),
        None,
    );
    env.person("sub", Role::Supervisor, &[], Some("by"), None);
    env.person("so2", Role::SecurityOfficer, &[], None, None);
    env.person("op", Role::Operator, &[("acme", None)], Some("sv"), None);
    env
}

fn request(recipient: &PackageIdentity) -> NewExport {
    NewExport {
        tenant: "acme".into(),
        segment: Some("collab".into()),
        fields: vec![
            "customer_no".into(),
            "name".into(),
            "phone".into(),
            "address".into(),
        ],
        purpose: "billing".into(),
        case_id: "CHG-2026-0412".into(),
        reason: "提携先の料金改定のお知らせを郵送するため印刷会社へ宛名データを渡す".into(),
        recipient_name: "さくら印刷株式会社".into(),
        recipient_key: recipient.recipient().encoded(),
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, VaultError>) -> &'static str {
    r.expect_err("should be refused").code()
}

/// Files an export as `by` and has `sv` and `so` approve it.
fn approved(env: &Env, recipient: &PackageIdentity) -> ExportView {
    let x = env
        .vault
        .request_export(&env.who("by"), &request(recipient))
        .unwrap();
    env.vault
        .approve_export(&env.who("sv"), &x.id, Some("内容を確認しました"))
        .unwrap();
    env.vault
        .approve_export(&env.officer(), &x.id, None)
        .unwrap()
}

fn open_csv(identity: &PackageIdentity, bytes: &[u8]) -> Vec<Vec<String>> {
    let plain = identity.open(bytes).unwrap();
    let text = std::str::from_utf8(&plain).unwrap();
    assert!(text.starts_with('\u{feff}'), "a BOM for Excel");
    csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn k_approvals_from_both_groups_make_one_package_for_the_recipient_only() {
    let env = team(|_| {});
    let alice = PackageIdentity::generate();
    let x = env
        .vault
        .request_export(&env.who("by"), &request(&alice))
        .unwrap();
    assert_eq!(x.status, ExportStatus::Pending);
    assert_eq!((x.rows_at_request, x.approvals_required), (8, 2));
    assert_eq!(x.recipient_name, "さくら印刷株式会社");

    // Nobody approves their own export, nor does someone they manage.
    assert_eq!(
        code(env.vault.approve_export(&env.who("by"), &x.id, None)),
        "forbidden"
    );
    assert_eq!(
        code(env.vault.approve_export(&env.who("sub"), &x.id, None)),
        "forbidden"
    );
    // An operator is no approver.
    assert_eq!(
        code(env.vault.approve_export(&env.who("op"), &x.id, None)),
        "forbidden"
    );
    let one = env
        .vault
        .approve_export(&env.who("sv"), &x.id, Some("宛先を確認"))
        .unwrap();
    assert_eq!(
        (one.status, one.approvals.len()),
        (ExportStatus::Pending, 1)
    );
    // The same person twice does not count twice.
    assert_eq!(
        code(env.vault.approve_export(&env.who("sv"), &x.id, None)),
        "export_already_approved"
    );
    // A second supervisor would complete the count without the security office.
    let err = env
        .vault
        .approve_export(&env.who("head"), &x.id, None)
        .unwrap_err();
    assert!(err.to_string().contains("security office"), "{err}");
    // Nothing to download before the k-th approval.
    assert_eq!(
        code(env.vault.download_export(&env.who("by"), &x.id)),
        "export_not_ready"
    );

    let done = env
        .vault
        .approve_export(&env.officer(), &x.id, None)
        .unwrap();
    assert_eq!(done.status, ExportStatus::Ready);
    let package = done.package.clone().unwrap();
    assert_eq!((package.rows, package.canaries), (8, 2));
    let roles: Vec<&str> = done.approvals.iter().map(|a| a.role.as_str()).collect();
    assert_eq!(roles, ["supervisor", "security_officer"]);

    // Only the requester takes it, once.
    assert_eq!(
        code(env.vault.download_export(&env.who("sv"), &x.id)),
        "forbidden"
    );
    let d = env.vault.download_export(&env.who("by"), &x.id).unwrap();
    assert_eq!(d.sha256, package.sha256);
    assert_eq!(
        code(env.vault.download_export(&env.who("by"), &x.id)),
        "export_already_downloaded"
    );
    let after = env.vault.export(&env.officer(), &x.id).unwrap();
    assert_eq!(after.status, ExportStatus::Downloaded);
    let steps: Vec<&str> = after.history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(
        steps,
        [
            "requested",
            "approved",
            "approved",
            "packaged",
            "downloaded"
        ]
    );

    // The recipient reads it; nobody else can.
    let rows = open_csv(&alice, &d.bytes);
    assert_eq!(rows.len(), 10, "8 customers and 2 canaries");
    for i in 2..10 {
        let no = format!("C-{i}");
        let row = rows.iter().find(|r| r[0] == no).expect("customer exported");
        let digits: String = row[2].chars().filter(char::is_ascii_digit).collect();
        assert_eq!(digits, format!("0900000{i:04}"));
        assert_eq!(
            row[3], "東京都千代田区千代田1-1",
            "billing shows the full address"
        );
    }
    assert!(
        !rows.iter().any(|r| r[0] == "C-0"),
        "own segment not included"
    );
    assert!(PackageIdentity::generate().open(&d.bytes).is_err());

    // The audit log names every exported customer, before the package existed.
    let events = env
        .vault
        .audit()
        .store()
        .query(&AuditQuery {
            action: Some("export.package".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(events.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&events[0].body).unwrap();
    assert_eq!(body["records"].as_array().unwrap().len(), 8);
}

#[test]
fn closed_lapsed_and_expired_exports_refuse_every_further_step() {
    let env = team(|_| {});
    let key = PackageIdentity::generate();
    let by = env.who("by");

    // Denied: one denial ends it; approval afterwards is refused.
    let x = env.vault.request_export(&by, &request(&key)).unwrap();
    assert_eq!(
        code(env.vault.deny_export(&env.who("sv"), &x.id, "")),
        "comment_missing"
    );
    let denied = env
        .vault
        .deny_export(&env.who("sv"), &x.id, "宛先の契約が確認できない")
        .unwrap();
    assert_eq!(denied.status, ExportStatus::Denied);
    assert_eq!(
        code(env.vault.approve_export(&env.officer(), &x.id, None)),
        "export_not_pending"
    );

    // Revoked by the requester; approval afterwards is refused.
    let x = env.vault.request_export(&by, &request(&key)).unwrap();
    env.vault
        .approve_export(&env.who("sv"), &x.id, None)
        .unwrap();
    env.vault
        .revoke_export(&by, &x.id, "宛先を誤ったため取り下げ")
        .unwrap();
    assert_eq!(
        code(env.vault.approve_export(&env.officer(), &x.id, None)),
        "export_not_pending"
    );

    // Lapsed: not approved within approval_hours.
    let x = env.vault.request_export(&by, &request(&key)).unwrap();
    env.advance(72 * 3600);
    assert_eq!(
        code(env.vault.approve_export(&env.who("sv"), &x.id, None)),
        "export_lapsed"
    );

    // Expired: approved, but not downloaded within the window (to the second).
    let x = approved(&env, &key);
    env.advance(24 * 3600 - 1);
    let still = env.vault.export(&by, &x.id).unwrap();
    assert_eq!(still.status, ExportStatus::Ready);
    env.advance(1);
    assert_eq!(
        code(env.vault.download_export(&by, &x.id)),
        "export_download_expired"
    );
    // The untaken package is deleted, not just refused.
    assert_eq!(env.vault.purge_expired_packages().unwrap(), 1);
    assert_eq!(env.vault.purge_expired_packages().unwrap(), 0);
    // The security office stops a ready package before it is taken.
    let y = approved(&env, &key);
    env.vault
        .revoke_export(&env.officer(), &y.id, "受領者の鍵の漏えい疑い")
        .unwrap();
    assert_eq!(
        code(env.vault.download_export(&by, &y.id)),
        "export_not_ready"
    );
    // A stranger sees neither, as if it did not exist.
    assert_eq!(code(env.vault.export(&env.who("op"), &y.id)), "not_found");
    assert_eq!(code(env.vault.export(&by, "not-an-id")), "not_found");
}

#[test]
fn three_approvers_and_a_requester_whose_training_lapses_before_the_last() {
    let env = team(|r| r.exports.approvals_required = 3);
    let key = PackageIdentity::generate();
    let x = env
        .vault
        .request_export(&env.who("by"), &request(&key))
        .unwrap();
    env.vault
        .approve_export(&env.who("sv"), &x.id, None)
        .unwrap();
    // k-1 approvals, from both groups, are still not enough.
    let two = env
        .vault
        .approve_export(&env.officer(), &x.id, None)
        .unwrap();
    assert_eq!(two.status, ExportStatus::Pending);
    assert!(two.package.is_none());
    let three = env
        .vault
        .approve_export(&env.who("so2"), &x.id, None)
        .unwrap();
    assert_eq!(three.status, ExportStatus::Ready);

    // `late` passed the course almost a year ago: it lapses in one hour.
    let token = env
        .vault
        .create_user(
            "cli:test",
            &mamori_vault::admin::NewUser {
                login: "late",
                role: Role::Backyard,
                department: None,
                vendor: None,
                manager: Some("sv"),
            },
        )
        .unwrap()
        .to_string();
    env.vault
        .assign("cli:test", "late", "acme", Some("collab"))
        .unwrap();
    let so = env.officer();
    let now = env.vault.now();
    env.vault
        .record_training(
            &so,
            "late",
            "privacy-basics",
            95,
            Some(now - 365 * 86_400 + 3600),
        )
        .unwrap();
    env.vault.record_compliance(&so, "late", None).unwrap();
    let late = env.vault.authenticate(Some(&token), None).unwrap();
    let y = env.vault.request_export(&late, &request(&key)).unwrap();
    env.vault
        .approve_export(&env.who("sv"), &y.id, None)
        .unwrap();
    env.vault.approve_export(&so, &y.id, None).unwrap();
    env.advance(3600);
    // The last approval is refused with the reason; no package is built.
    let err = env
        .vault
        .approve_export(&env.who("so2"), &y.id, None)
        .unwrap_err();
    assert_eq!(err.code(), "export_requester_not_entitled");
    assert!(err.to_string().contains("training"), "{err}");
    let still = env.vault.export(&so, &y.id).unwrap();
    assert_eq!(still.status, ExportStatus::Pending);
    assert!(still.package.is_none());
}

#[test]
fn requests_are_checked_before_anything_is_stored() {
    let env = team(|r| r.exports.max_rows = 5);
    let key = PackageIdentity::generate();
    let by = env.who("by");
    let mut r = request(&key);
    assert_eq!(
        code(env.vault.request_export(&by, &r)),
        "export_too_large",
        "8 customers > max_rows 5"
    );
    let env = team(|_| {});
    let by = env.who("by");
    assert_eq!(
        code(env.vault.request_export(&env.who("op"), &r)),
        "forbidden",
        "operators do not export"
    );
    r.segment = None;
    assert_eq!(
        code(env.vault.request_export(&by, &r)),
        "forbidden",
        "a whole-tenant export needs a whole-tenant assignment"
    );
    r.segment = Some("own".into());
    assert_eq!(code(env.vault.request_export(&by, &r)), "forbidden");
    let mut r = request(&key);
    r.recipient_key = "age1notakey".into();
    assert_eq!(
        code(env.vault.request_export(&by, &r)),
        "recipient_key_invalid"
    );
    let mut r = request(&key);
    r.reason = "。。。".into();
    assert_eq!(
        code(env.vault.request_export(&by, &r)),
        "justification_too_weak"
    );
    let mut r = request(&key);
    r.fields.push("birth_date".into());
    assert_eq!(
        code(env.vault.request_export(&by, &r)),
        "field_not_in_purpose"
    );
    let mut r = request(&key);
    r.purpose = "inquiry".into();
    r.fields = vec!["customer_no".into(), "name".into(), "phone".into()];
    let masked = env.vault.request_export(&by, &r).unwrap();
    env.vault
        .approve_export(&env.who("sv"), &masked.id, None)
        .unwrap();
    env.vault
        .approve_export(&env.officer(), &masked.id, None)
        .unwrap();
    let d = env.vault.download_export(&by, &masked.id).unwrap();
    let rows = open_csv(&key, &d.bytes);
    assert!(
        rows.iter().all(|r| r[2].contains('＊')),
        "the purpose's masks apply to exports too: {rows:?}"
    );
    let listed = env
        .vault
        .exports(&env.officer(), &Default::default())
        .unwrap();
    assert_eq!(listed.len(), 1, "refused requests left nothing behind");
}

fn files_under(dir: &Path, since: SystemTime, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            files_under(&p, since, out);
        } else if meta.is_file() && meta.modified().is_ok_and(|m| m >= since) {
            out.push(p);
        }
    }
}

#[test]
fn no_plaintext_file_during_or_after_an_export() {
    let since = SystemTime::now() - std::time::Duration::from_secs(2);
    let env = team(|_| {});
    let key = PackageIdentity::generate();
    let x = approved(&env, &key);
    let d = env.vault.download_export(&env.who("by"), &x.id).unwrap();
    let rows = open_csv(&key, &d.bytes);
    // Every value of the package (customers and canaries) is a needle.
    let needles: Vec<String> = rows
        .iter()
        .flatten()
        .filter(|v| v.chars().count() >= 5)
        .cloned()
        .collect();
    assert!(needles.len() >= 20);
    let mut files = Vec::new();
    files_under(env.dir.path(), since, &mut files);
    files_under(&std::env::temp_dir(), since, &mut files);
    assert!(files.iter().any(|f| f.ends_with("vault.db")));
    for f in files {
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        for n in &needles {
            assert!(
                !bytes.windows(n.len()).any(|w| w == n.as_bytes()),
                "plaintext {n:?} found in {}",
                f.display()
            );
        }
    }
}

#[test]
fn a_leaked_file_is_traced_to_its_export() {
    let env = team(|_| {});
    let alice = PackageIdentity::generate();
    let bob = PackageIdentity::generate();
    // A key rotation between request and approval does not blur the watermark.
    let a = env
        .vault
        .request_export(&env.who("by"), &request(&alice))
        .unwrap();
    env.vault.rotate_key("cli:test", "acme").unwrap();
    env.vault
        .approve_export(&env.who("sv"), &a.id, None)
        .unwrap();
    env.vault
        .approve_export(&env.officer(), &a.id, None)
        .unwrap();
    let b = approved(&env, &bob);
    let by = env.who("by");
    let pa = env.vault.download_export(&by, &a.id).unwrap();
    env.vault.download_export(&by, &b.id).unwrap();
    let plain = alice.open(&pa.bytes).unwrap();
    let leaked = std::str::from_utf8(&plain).unwrap();

    assert_eq!(
        code(env.vault.trace_leak(&by, None, leaked)),
        "forbidden",
        "tracing is oversight work"
    );
    let report = env
        .vault
        .trace_leak(&env.officer(), Some("acme"), leaked)
        .unwrap();
    assert_eq!(report.exports_checked, 2);
    let top = &report.matches[0];
    assert_eq!((top.export.as_str(), top.verdict), (a.id.as_str(), "match"));
    assert!(top.canary_hits >= 1);
    assert_eq!(top.marks_seen, top.marks_matching, "every form is A's");
    assert_eq!(top.recipient_name, "さくら印刷株式会社");
    let other = report.matches.iter().find(|m| m.export == b.id).unwrap();
    assert_eq!((other.canary_hits, other.verdict), (0, "no_match"));

    // A leak re-typed without the formatting and without canaries is not pinned on anyone.
    let unrelated = "氏名,電話\n山田花子,0311112222\n";
    let r = env
        .vault
        .trace_leak(&env.officer(), None, unrelated)
        .unwrap();
    assert!(r.matches.iter().all(|m| m.verdict == "no_match"));
}

/// A leaked file's values, as the scanner finds them: each customer's phone
/// and customer number in one row.
fn leaked(customers: impl IntoIterator<Item = usize>) -> Vec<mamori_vault::leak::matching::Found> {
    use mamori_core::FieldType;
    use mamori_vault::leak::matching::Found;
    customers
        .into_iter()
        .flat_map(|i| {
            [
                Found::new(FieldType::Phone, &common::phone(i), i as u64).unwrap(),
                Found::new(FieldType::Text, &format!("C-{i}"), i as u64).unwrap(),
            ]
        })
        .collect()
}

#[test]
fn a_leak_is_traced_to_the_account_and_the_exports_it_came_from() {
    let env = team(|_| {});
    let recipient = PackageIdentity::generate();
    // op reads customers 0, 1 and 2; the export packages the partner
    // segment (customers 2 to 9).
    for i in 0..3 {
        env.search("op", i).unwrap();
    }
    let x = approved(&env, &recipient);
    let so = env.officer();

    // A file made from op's reads: op first, with all three.
    let r = env
        .vault
        .analyze_breach(&so, &[1; 32], &leaked(0..3))
        .unwrap();
    let acme = &r.tenants[0];
    assert_eq!((acme.people_confirmed, acme.people_possible), (3, 3));
    assert_eq!(acme.readers[0].who, "user:op");
    assert_eq!(acme.readers[0].customers, 3);
    assert!((acme.readers[0].share - 1.0).abs() < 1e-9);
    assert_eq!(acme.exports.len(), 1);
    assert_eq!(
        (acme.exports[0].who.as_str(), acme.exports[0].customers),
        (x.id.as_str(), 1)
    );

    // A file made from the export: the export explains all of it, and its
    // requester is named; op explains one customer.
    let r = env
        .vault
        .analyze_breach(&so, &[2; 32], &leaked(2..10))
        .unwrap();
    let acme = &r.tenants[0];
    assert_eq!(acme.people_possible, 8);
    assert_eq!(acme.exports[0].who, x.id);
    assert_eq!(acme.exports[0].customers, 8);
    assert_eq!(acme.exports[0].requester.as_deref(), Some("by"));
    assert_eq!(acme.readers[0].who, "user:op");
    assert_eq!(acme.readers[0].customers, 1);

    // Only the security office analyses; the analysis is recorded.
    let err = env
        .vault
        .analyze_breach(&env.who("sv"), &[1; 32], &leaked(0..3))
        .unwrap_err();
    assert!(matches!(err, VaultError::Forbidden { .. }), "{err:?}");
    let events = env
        .vault
        .audit()
        .store()
        .query(&AuditQuery {
            action: Some("breach.analyze".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| e.decision.as_str())
            .collect::<Vec<_>>(),
        ["allow", "allow", "deny"]
    );
}
