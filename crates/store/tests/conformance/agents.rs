//! Conformance: PC agents' hunts and reports.

use mamori_store::{HuntId, HuntRow, ScanId, ScanReportRow, ScanVerdict};

use crate::fixtures::Stores;

fn hunt(n: u8, at: i64, machines: &[&str]) -> HuntRow {
    HuntRow {
        id: HuntId::from_bytes([n; 16]),
        case_id: format!("INC-{n}"),
        started_by: "so1".into(),
        started_at: at,
        until: at + 14 * 86_400,
        full: n.is_multiple_of(2),
        machines: machines.iter().map(|m| (*m).to_owned()).collect(),
        quarantine_to: (n == 2).then(|| "age1".to_owned() + &"q".repeat(58)),
    }
}

fn report(login: &str, n: u8, at: i64, verdict: ScanVerdict, hunt: Option<u8>) -> ScanReportRow {
    ScanReportRow {
        login: login.into(),
        scan: ScanId::from_bytes([n; 16]),
        received_at: at,
        hunt: hunt.map(|h| HuntId::from_bytes([h; 16])),
        full: hunt.is_some(),
        verdict,
        files_seen: 1_000 + u64::from(n),
        with_findings: u64::from(verdict == ScanVerdict::Findings),
        naming_customers: 0,
        uninspected: u64::from(verdict == ScanVerdict::Incomplete) * 3,
    }
}

pub fn hunts_and_reports(s: &Stores) {
    let v = &*s.db;
    assert!(v.machine_reports().unwrap().is_empty());
    v.insert_hunt(&hunt(1, 100, &[])).unwrap();
    v.insert_hunt(&hunt(2, 200, &["pc-1", "pc-2"])).unwrap();
    assert!(
        v.insert_hunt(&hunt(2, 300, &[])).is_err(),
        "one id, one hunt"
    );
    let all = v.hunts(0).unwrap();
    assert_eq!(
        all,
        vec![hunt(1, 100, &[]), hunt(2, 200, &["pc-1", "pc-2"])]
    );
    assert_eq!(v.hunts(150).unwrap(), vec![hunt(2, 200, &["pc-1", "pc-2"])]);

    // Three reports of pc-1 in one second: the latest is the last received.
    let r1 = report("pc-1", 1, 500, ScanVerdict::Clean, None);
    let r2 = report("pc-1", 2, 500, ScanVerdict::Findings, Some(2));
    let r3 = report("pc-1", 3, 500, ScanVerdict::Incomplete, None);
    let p1 = report("pc-2", 1, 400, ScanVerdict::Findings, None);
    for r in [&r1, &r2, &r3, &p1] {
        assert!(v.insert_scan_report(r).unwrap());
    }
    // The same scan sent again (a retry) is not a second report.
    assert!(!v.insert_scan_report(&r2).unwrap());
    assert_eq!(
        v.scan_reports("pc-1", 0).unwrap(),
        vec![r1.clone(), r2, r3.clone()]
    );
    assert!(v.scan_reports("pc-1", 501).unwrap().is_empty());
    assert!(v.scan_reports("pc-9", 0).unwrap().is_empty());

    let m = v.machine_reports().unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].latest, r3);
    assert_eq!((m[0].reports, m[0].last_clean_at), (3, Some(500)));
    assert_eq!(m[1].latest, p1);
    assert_eq!((m[1].reports, m[1].last_clean_at), (1, None));
}
