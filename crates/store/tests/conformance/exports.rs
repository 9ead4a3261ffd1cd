//! Conformance: exports, their approvals and packages.

use mamori_store::{
    ApprovalOutcome, ExportApprovalRow, ExportFilter, ExportRow, ExportStage, ExportState,
    PackageMeta,
};

use crate::fixtures::{Stores, step, tenant, user};

pub fn export(id: u8, requester: &str, at: i64) -> ExportRow {
    ExportRow {
        id: [id; 16].into(),
        tenant: "acme".into(),
        requester: requester.into(),
        segment: None,
        fields: vec!["name".into()],
        purpose: "migration".into(),
        case_id: format!("E-{id}"),
        sealed: vec![0xCD; 32],
        key_version: 1,
        recipient_key: "age1qqqq".into(),
        rows_at_request: 12_345,
        approvals_required: 2,
        stage: ExportStage::Pending,
        created_at: at,
        approve_by: at + 86_400,
        closed_by: None,
        closed_at: None,
    }
}

pub fn approval(id: u8, approver: &str, at: i64) -> ExportApprovalRow {
    ExportApprovalRow {
        export: [id; 16].into(),
        approver: approver.into(),
        role: "security_officer".into(),
        at,
        comment: None,
    }
}

pub fn meta(until: i64) -> PackageMeta {
    PackageMeta {
        rows: 12_345,
        canaries: 3,
        bytes: 5,
        sha256: [4; 32],
        created_at: 100,
        download_until: until,
    }
}

pub fn exports_need_distinct_approvers_and_download_once(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    for u in ["req", "sec1", "sec2"] {
        user(db, u, "admin");
    }
    db.insert_export(&export(1, "req", 10), &step("req", "requested", 10))
        .unwrap();
    db.insert_export(&export(2, "req", 20), &step("req", "requested", 20))
        .unwrap();
    let e = db.export(&[1; 16].into()).unwrap().unwrap();
    assert_eq!(
        (e.rows_at_request, e.approvals_required, e.segment),
        (12_345, 2, None)
    );
    let ids: Vec<u8> = db
        .exports(&ExportFilter {
            limit: 10,
            ..Default::default()
        })
        .unwrap()
        .iter()
        .map(|e| e.id.as_bytes()[0])
        .collect();
    assert_eq!(ids, [2, 1]);

    let add = |id: u8, who: &str, at: i64, seen: usize| {
        db.add_export_approval(&approval(id, who, at), &step(who, "approved", at), seen)
            .unwrap()
    };
    assert_eq!(add(1, "sec1", 30, 0), ApprovalOutcome::Added);
    assert_eq!(add(1, "sec1", 31, 1), ApprovalOutcome::Duplicate);
    // A decision made on approvals that have changed since is not recorded.
    assert_eq!(add(1, "sec2", 32, 0), ApprovalOutcome::Changed);
    assert_eq!(add(1, "sec2", 32, 1), ApprovalOutcome::Added);
    assert_eq!(add(9, "sec2", 32, 0), ApprovalOutcome::NotPending);
    let who: Vec<String> = db
        .export_approvals(&[1; 16].into())
        .unwrap()
        .into_iter()
        .map(|a| a.approver)
        .collect();
    assert_eq!(who, ["sec1", "sec2"]);

    let pkg = b"age..";
    assert!(
        db.store_package(
            &[1; 16].into(),
            &meta(1000),
            pkg,
            &step("sec2", "packaged", 40)
        )
        .unwrap()
    );
    assert!(
        !db.store_package(
            &[1; 16].into(),
            &meta(1000),
            pkg,
            &step("sec2", "packaged", 41)
        )
        .unwrap()
    );
    assert_eq!(add(1, "req", 42, 2), ApprovalOutcome::NotPending);
    assert_eq!(
        db.export(&[1; 16].into())
            .unwrap()
            .unwrap()
            .stage
            .package()
            .cloned(),
        Some(meta(1000))
    );

    assert_eq!(
        db.take_package(&[1; 16].into(), 1000, &step("req", "downloaded", 1000))
            .unwrap(),
        None,
        "window ended"
    );
    assert_eq!(
        db.take_package(&[1; 16].into(), 500, &step("req", "downloaded", 500))
            .unwrap(),
        Some(pkg.to_vec())
    );
    assert_eq!(
        db.take_package(&[1; 16].into(), 501, &step("req", "downloaded", 501))
            .unwrap(),
        None,
        "taken once"
    );
    let e = db.export(&[1; 16].into()).unwrap().unwrap();
    assert_eq!(
        (e.stage.state(), e.closed_by.as_deref(), e.closed_at),
        (ExportState::Downloaded, Some("req"), Some(500))
    );
    let h: Vec<String> = db
        .export_history(&[1; 16].into())
        .unwrap()
        .into_iter()
        .map(|s| s.action)
        .collect();
    assert_eq!(
        h,
        [
            "requested",
            "approved",
            "approved",
            "packaged",
            "downloaded"
        ]
    );

    assert!(
        db.close_export(
            &[2; 16].into(),
            ExportState::Pending,
            ExportState::Denied,
            &step("sec1", "denied", 50)
        )
        .unwrap()
    );
    assert!(
        !db.close_export(
            &[2; 16].into(),
            ExportState::Pending,
            ExportState::Revoked,
            &step("sec1", "revoked", 51)
        )
        .unwrap()
    );
    let denied: Vec<u8> = db
        .exports(&ExportFilter {
            state: Some(ExportState::Denied),
            limit: 10,
            ..Default::default()
        })
        .unwrap()
        .iter()
        .map(|e| e.id.as_bytes()[0])
        .collect();
    assert_eq!(denied, [2]);
}

pub fn expired_packages_are_purged(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    user(db, "req", "admin");
    for (id, until) in [(1u8, 100), (2, 300)] {
        db.insert_export(&export(id, "req", 10), &step("req", "requested", 10))
            .unwrap();
        assert!(
            db.store_package(
                &[id; 16].into(),
                &meta(until),
                b"x",
                &step("sec", "packaged", 20)
            )
            .unwrap()
        );
    }
    assert_eq!(db.purge_packages(200).unwrap(), 1);
    assert_eq!(db.purge_packages(200).unwrap(), 0);
    assert_eq!(
        db.take_package(&[1; 16].into(), 50, &step("req", "downloaded", 50))
            .unwrap(),
        None,
        "purged"
    );
    assert_eq!(
        db.take_package(&[2; 16].into(), 250, &step("req", "downloaded", 250))
            .unwrap(),
        Some(b"x".to_vec())
    );
}

/// A stored export whose state and package disagree (an approved one with
/// no package, a pending one with one) is refused as corrupt, not read as
/// a stage the vault would have to second-guess.
pub fn a_stored_export_whose_state_and_package_disagree_is_refused(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    user(db, "req", "admin");
    db.insert_export(&export(1, "req", 10), &step("req", "requested", 10))
        .unwrap();
    assert_eq!(
        db.export(&[1; 16].into()).unwrap().unwrap().stage,
        ExportStage::Pending
    );
    s.raw_sql("UPDATE exports SET state = 'approved'").unwrap();
    let err = db.export(&[1; 16].into()).unwrap_err().to_string();
    assert!(err.contains("export state"), "{err}");
    s.raw_sql(
        "UPDATE exports SET state = 'pending', package_rows = 1, package_canaries = 0, \
         package_bytes = 1, package_sha256 = x'00000000000000000000000000000000000000000000000000000000000000ff', \
         package_at = 20, download_until = 30",
    )
    .unwrap_or_else(|_| {
        // PostgreSQL spells a bytea literal differently.
        s.raw_sql(
            "UPDATE exports SET state = 'pending', package_rows = 1, package_canaries = 0, \
             package_bytes = 1, package_sha256 = decode(repeat('00', 31) || 'ff', 'hex'), \
             package_at = 20, download_until = 30",
        )
        .unwrap()
    });
    assert!(db.export(&[1; 16].into()).is_err());
}
