//! Signed reports end to end: the monthly report written by the CLI as
//! CSV, Excel and PDF and verified by an auditor with `mamori report
//! verify` (exit code 3 for an altered file); the same over HTTP, where
//! the file comes back with its SHA-256 and audit event in headers.

use chrono::Utc;
use mamori_core::jst;
use serde_json::json;

use crate::common::{TestVault, csv_of};

fn this_month() -> String {
    Utc::now()
        .with_timezone(&jst::zone())
        .format("%Y-%m")
        .to_string()
}

#[test]
fn monthly_reports_are_written_verified_and_altered_ones_refused() {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = csv_of(v.dir.path(), "p.csv", 5, 20);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let so = v.officer();
    let au = v.user("au", "auditor", &[]);
    let op = v.user("op", "operator", &["acme/own"]);
    let month = this_month();
    let out = v.dir.path();

    let mut formats = vec!["csv", "xlsx"];
    match mamori_report::default_font() {
        Some(_) => formats.push("pdf"),
        None => eprintln!("{}", mamori_report::NO_FONT_BANNER),
    }
    let mut files = Vec::new();
    for format in formats {
        let path = out.join(format!("monthly.{format}"));
        let p = path.to_str().unwrap();
        let w = v.ok_as(
            &so,
            &[
                "report", "monthly", "--month", &month, "--format", format, "--out", p,
            ],
        );
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(w["bytes"], bytes.len());
        assert!(w["event"].as_str().unwrap().starts_with("system#"));
        files.push(path);
    }
    for f in &files {
        let r = v.ok_as(&au, &["report", "verify", f.to_str().unwrap()]);
        assert_eq!(r["outcome"], "verified", "{r}");
        assert_eq!(r["identical"], true);
    }
    // An existing file is never replaced.
    let p = files[0].to_str().unwrap();
    let again = v.run_as(
        &so,
        &[
            "report", "monthly", "--month", &month, "--format", "csv", "--out", p,
        ],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("never replaced"));
    // One byte changed: unknown here, exit code 3.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    let altered = out.join("altered.csv");
    std::fs::write(&altered, &bytes).unwrap();
    let r = v.run_as(&au, &["report", "verify", altered.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(3));
    let r: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(r["outcome"], "unknown");
    // An operator is refused.
    let r = v.run_as(
        &op,
        &["report", "monthly", "--month", &month, "--format", "csv"],
    );
    assert!(!r.status.success());

    // Over HTTP.
    let s = v.serve();
    let body = json!({"spec": {"kind": "monthly", "month": month}, "format": "xlsx"});
    let refused = s.send("POST", "/v1/reports", &op, Some(body.clone()));
    assert_eq!(refused.status, 403);
    let r = s
        .http
        .post(format!("{}/v1/reports", s.base))
        .bearer_auth(&au)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let header = |n: &str| r.headers()[n].to_str().unwrap().to_owned();
    assert_eq!(
        header("content-type"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(header("content-disposition").contains(&format!("mamori-monthly-{month}.xlsx")));
    let sha = header("x-mamori-report-sha256");
    let xlsx = r.bytes().unwrap();
    let verified: serde_json::Value = s
        .http
        .post(format!("{}/v1/reports/verify", s.base))
        .bearer_auth(&au)
        .header("content-type", "application/octet-stream")
        .body(xlsx.to_vec())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(verified["outcome"], "verified", "{verified}");
    assert_eq!(verified["sha256"], sha.as_str());
    let bad = s.send(
        "POST",
        "/v1/reports",
        &au,
        Some(json!({"spec": {"kind": "monthly", "month": "2026-13"}, "format": "csv"})),
    );
    assert_eq!(
        (bad.status, bad.body["code"].as_str()),
        (400, Some("report_invalid"))
    );
    s.stop();
}
