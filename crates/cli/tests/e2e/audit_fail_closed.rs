//! No audit, no data: when the audit log cannot be written — its lock held
//! by another process, a disk that fills up, a file that cannot be written —
//! reads are refused promptly and the server keeps answering. And `mamori
//! audit verify` fails loudly on a tampered log.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use crate::common::{Server, TestVault};
use serde_json::json;

#[test]
fn reads_fail_closed_when_the_audit_log_cannot_be_written() {
    let mut v = TestVault::new();
    v.env
        .push(("MAMORI_AUDIT_BUSY_TIMEOUT_MS".into(), "300".into()));
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = crate::common::csv_of(v.dir.path(), "p.csv", 3, 50);
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
    // The first event an administrator's command wrote (the first ones are
    // the deployment's secrets being made).
    let seq: i64 = c
        .query_row(
            "SELECT min(seq) FROM audit_events WHERE log = 'system' AND actor LIKE 'cli:%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(seq > 0);
    c.execute("UPDATE audit_events SET body = CAST(replace(CAST(body AS TEXT), 'cli:', 'cli;') AS BLOB) WHERE log = 'system' AND seq = ?1", [seq]).unwrap();
    let out = v.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("BROKEN")
            && text.contains("system")
            && text.contains(&format!("at seq {seq}")),
        "{text}"
    );
    assert!(text.contains("TAMPERING"), "{text}");
}

/// Run by `unshare` in a private user and mount namespace: a real tmpfs of
/// `$size` is mounted over the data directory (after copying what it held),
/// optionally with `audit.db` bind-mounted read-only, then the server starts.
/// The mount lives and dies with the server; the test reaches it through
/// `/proc/<pid>/root`.
const SMALL_DISK: &str = r#"set -e
size=$1; data=$2; mode=$3; shift 3
cp -a "$data" "$data.before"
mount -t tmpfs -o "size=$size" tmpfs "$data"
cp -a "$data.before"/. "$data"/
if [ "$mode" = ro ]; then
  mount --bind "$data/audit.db" "$data/audit.db"
  mount -o remount,bind,ro "$data/audit.db"
fi
exec "$@"
"#;

/// `mamori serve` with its data directory on a disk of `size` (e.g. "16m").
fn spawn_on_small_disk(v: &TestVault, size: &str, mode: &str, port: u16) -> Command {
    let inner = v.cmd(&["serve", "--listen", &format!("127.0.0.1:{port}")]);
    let mut c = Command::new("unshare");
    c.args(["--user", "--map-root-user", "--mount", "--"])
        .args(["sh", "-c", SMALL_DISK, "sh", size])
        .arg(v.data())
        .arg(mode)
        .arg(inner.get_program())
        .args(inner.get_args());
    for (k, val) in inner.get_envs() {
        match val {
            Some(x) => c.env(k, x),
            None => c.env_remove(k),
        };
    }
    c
}

/// The data directory as the server sees it (on its tmpfs), for plain file
/// operations. (SQLite resolves the /proc/PID/root link itself and would open
/// the directory outside the namespace.)
fn seen_by(s: &Server, data: &Path) -> PathBuf {
    PathBuf::from(format!("/proc/{}/root{}", s.child.id(), data.display()))
}

/// Writes zeros to `path` until the file system refuses (ENOSPC).
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    for chunk in [1 << 20, 4096, 512] {
        let zeros = vec![0u8; chunk];
        while f.write_all(&zeros).is_ok() {}
    }
    let _ = f.sync_all();
}

/// A search with its own case id, timed: every answer must come promptly.
fn timed_search(s: &Server, token: &str, case: &str, mobile: &str) -> crate::common::Resp {
    let start = Instant::now();
    let r = s.send(
        "POST",
        "/v1/tenants/acme/records/search",
        token,
        Some(json!({"purpose": "inquiry", "case_id": case, "by": {"phone": mobile}})),
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "a read must never hang on the audit log ({case})"
    );
    r
}

/// A vault with 50 customers, an operator's token and an auditor's.
fn vault_with_people() -> (TestVault, String, String, mamori_synth::Person) {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = crate::common::csv_of(v.dir.path(), "p.csv", 3, 50);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let token = v.user("op", "operator", &["acme"]);
    let auditor = v.user("au", "auditor", &[]);
    let person = mamori_synth::Generator::new(3).next().unwrap();
    (v, token, auditor, person)
}

#[test]
fn reads_fail_closed_on_a_full_disk_and_resume_when_space_returns() {
    let (v, token, au, person) = vault_with_people();
    let port = crate::common::free_port();
    let s = v.start_server(spawn_on_small_disk(&v, "16m", "rw", port), port);
    let disk = seen_by(&s, &v.data());
    let r = timed_search(&s, &token, "DISK-first", &person.mobile);
    assert_eq!(r.status, 200, "{:?}", r.body);

    fill(&disk.join("filler"));
    // The log grows with every read; once it cannot, every read is refused.
    let mut answered = vec!["DISK-first".to_owned()];
    let mut refused = 0;
    for i in 0..5000 {
        let case = format!("DISK-{i}");
        let r = timed_search(&s, &token, &case, &person.mobile);
        match r.status {
            200 => answered.push(case),
            503 => {
                assert_eq!(r.body["code"], "audit_unavailable", "{:?}", r.body);
                assert!(
                    !r.body.to_string().contains(&person.name),
                    "no data leaves without its audit event"
                );
                refused += 1;
                if refused == 20 {
                    break;
                }
            }
            other => panic!("unexpected {other}: {:?}", r.body),
        }
    }
    assert_eq!(refused, 20, "a full disk must stop reads");
    assert_eq!(s.send("GET", "/healthz", "", None).status, 200);
    let r = s.send("GET", "/readyz", "", None);
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (503, Some("audit log unavailable")),
        "a load balancer should send reads to a node that can audit them"
    );

    // Space returns: reads resume without a restart.
    std::fs::remove_file(disk.join("filler")).unwrap();
    let after = Instant::now();
    loop {
        let case = format!("DISK-after-{}", answered.len());
        let r = timed_search(&s, &token, &case, &person.mobile);
        if r.status == 200 {
            assert_eq!(r.body["records"][0]["fields"]["name"], person.name);
            answered.push(case);
            break;
        }
        assert!(after.elapsed() < Duration::from_secs(10), "{:?}", r.body);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(s.send("GET", "/readyz", "", None).status, 200);

    // Every answered read is in the log exactly once, and the log verifies
    // (inside the server's mount namespace: SQLite resolves /proc/PID/root
    // to "/", which outside is the directory as it was before the start).
    for case in &answered {
        let found = s.audit(&au, &format!("case_id={case}"));
        assert_eq!(found.len(), 1, "{case} answered but audited {found:?}");
    }
    let out = Command::new("nsenter")
        .args(["--user", "--mount", "--preserve-credentials", "--target"])
        .arg(s.child.id().to_string())
        .arg(crate::common::BIN)
        .arg("--data-dir")
        .arg(v.data())
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let log = s.stop();
    assert!(log.contains("audit append failed"), "{log}");
}

#[test]
fn a_read_only_audit_log_refuses_every_read() {
    let (v, token, _, person) = vault_with_people();
    let port = crate::common::free_port();
    let s = v.start_server(spawn_on_small_disk(&v, "16m", "ro", port), port);
    let r = timed_search(&s, &token, "RO-1", &person.mobile);
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (503, Some("audit_unavailable")),
        "{:?}",
        r.body
    );
    assert!(!r.body.to_string().contains(&person.name));
    assert_eq!(s.send("GET", "/healthz", "", None).status, 200);
    assert_eq!(s.send("GET", "/readyz", "", None).status, 503);
    let log = s.stop();
    assert!(
        log.contains("audit append failed") && log.contains("readonly"),
        "the operator is told why: {log}"
    );
}
