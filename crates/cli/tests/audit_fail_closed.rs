//! No audit, no data: when the audit log cannot be written, reads are refused
//! promptly and the server keeps answering. And `mamori audit verify` fails
//! loudly on a tampered log.

mod common;

use std::time::{Duration, Instant};

use common::TestVault;

#[test]
fn reads_fail_closed_when_the_audit_log_cannot_be_written() {
    let mut v = TestVault::new();
    v.env
        .push(("MAMORI_AUDIT_BUSY_TIMEOUT_MS".into(), "300".into()));
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = common::csv_of(v.dir.path(), "p.csv", 3, 50);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let token = v.user("op", "operator", &["acme"]);
    let s = v.serve();
    let person = mamori_synth::Generator::new(3).next().unwrap();
    assert_eq!(
        s.search(&token, "acme", Some("inquiry"), "phone", &person.mobile)
            .status,
        200
    );

    // Another process holds the audit database's write lock (a stuck backup, a full disk, an attacker).
    let blocker = rusqlite::Connection::open(v.data().join("audit.db")).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE;").unwrap();
    let start = Instant::now();
    let r = s.search(&token, "acme", Some("inquiry"), "phone", &person.mobile);
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (503, Some("audit_unavailable")),
        "{:?}",
        r.body
    );
    assert!(
        !r.body.to_string().contains(&person.name),
        "no data leaves without its audit event"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the refusal must not hang"
    );
    let r = s.send("GET", "/healthz", "", None);
    assert_eq!(r.status, 200, "the server keeps answering");

    blocker.execute_batch("ROLLBACK;").unwrap();
    let r = s.search(&token, "acme", Some("inquiry"), "phone", &person.mobile);
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["records"][0]["fields"]["name"], person.name);
    drop(s);
    assert!(v.run(&["audit", "verify"]).status.success());
}

#[test]
fn verify_reports_the_first_broken_event_and_exits_non_zero() {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    v.ok(&["user", "create", "op", "--role", "operator"]);
    v.ok(&["user", "assign", "op", "--tenant", "acme"]);
    let ok = v.ok(&["audit", "verify"]);
    assert_eq!(ok["ok"], true);
    let c = rusqlite::Connection::open(v.data().join("audit.db")).unwrap();
    c.execute_batch("DROP TRIGGER audit_events_no_update;")
        .unwrap();
    c.execute("UPDATE audit_events SET body = CAST(replace(CAST(body AS TEXT), 'cli:', 'cli;') AS BLOB) WHERE log = 'system' AND seq = 2", []).unwrap();
    let out = v.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("BROKEN") && text.contains("system") && text.contains("at seq 2"),
        "{text}"
    );
    assert!(text.contains("TAMPERING"), "{text}");
}
