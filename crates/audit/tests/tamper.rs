//! Tampering with the audit database the way a malicious administrator would
//! (triggers dropped, rows edited directly) is found by `verify`, which names
//! the first bad position.

use std::sync::Arc;

use mamori_audit::{AuditLog, Decision, Event, leaf_hash, verify};
use mamori_store::sqlite::SqliteAudit;
use rusqlite::Connection;

fn log_with_events(n: usize) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let log = AuditLog::start(Arc::new(SqliteAudit::open(&path, 1000).unwrap())).unwrap();
    for i in 0..n {
        let tenant = if i % 3 == 0 { None } else { Some("acme") };
        let mut e = Event::new(
            format!("user:u{}", i % 4),
            "record.search",
            Decision::Allow,
            "allowed",
        );
        e.tenant = tenant.map(str::to_owned);
        e.records = vec![format!("{i:032x}")];
        log.append(e).unwrap();
    }
    (dir, path)
}

fn verdict(path: &std::path::Path) -> (bool, Option<u64>, String) {
    let store = SqliteAudit::open(path, 1000).unwrap();
    let r = verify(&store, Some("tenant/acme")).unwrap();
    let l = &r.logs[0];
    (r.ok, l.first_bad_seq, l.problem.clone().unwrap_or_default())
}

/// Opens the database as an attacker: without the append-only triggers.
fn attacker(path: &std::path::Path) -> Connection {
    let c = Connection::open(path).unwrap();
    c.execute_batch("DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;")
        .unwrap();
    c
}

#[test]
fn untouched_log_verifies() {
    let (_d, path) = log_with_events(30);
    assert_eq!(verdict(&path), (true, None, String::new()));
    let store = SqliteAudit::open(&path, 1000).unwrap();
    let all = verify(&store, None).unwrap();
    assert!(all.ok);
    assert_eq!(all.events, 30);
}

#[test]
fn triggers_block_updates_and_deletes() {
    let (_d, path) = log_with_events(3);
    let c = Connection::open(&path).unwrap();
    assert!(
        c.execute("UPDATE audit_events SET actor = 'x'", [])
            .is_err()
    );
    assert!(c.execute("DELETE FROM audit_events", []).is_err());
}

#[test]
fn a_flipped_byte_is_found() {
    let (_d, path) = log_with_events(30);
    attacker(&path).execute("UPDATE audit_events SET body = CAST(replace(CAST(body AS TEXT), 'allowed', 'allowee') AS BLOB) WHERE log = 'tenant/acme' AND seq = 7", []).unwrap();
    let (ok, seq, why) = verdict(&path);
    assert_eq!((ok, seq), (false, Some(7)), "{why}");
    assert!(why.contains("altered"), "{why}");
}

#[test]
fn an_edit_with_recomputed_hash_breaks_the_chain_after_it() {
    let (_d, path) = log_with_events(30);
    let c = attacker(&path);
    let body: Vec<u8> = c
        .query_row(
            "SELECT body FROM audit_events WHERE log = 'tenant/acme' AND seq = 5",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let forged = String::from_utf8(body)
        .unwrap()
        .replace("user:u", "user:z")
        .into_bytes();
    let hash = leaf_hash(&forged);
    c.execute("UPDATE audit_events SET body = ?1, hash = ?2, actor = replace(actor, 'user:u', 'user:z') WHERE log = 'tenant/acme' AND seq = 5", rusqlite::params![forged, &hash[..]]).unwrap();
    let (ok, seq, why) = verdict(&path);
    assert_eq!((ok, seq), (false, Some(6)), "{why}");
    assert!(why.contains("chain"), "{why}");
}

#[test]
fn a_deleted_middle_row_is_found() {
    let (_d, path) = log_with_events(30);
    attacker(&path)
        .execute(
            "DELETE FROM audit_events WHERE log = 'tenant/acme' AND seq = 10",
            [],
        )
        .unwrap();
    let (ok, seq, _) = verdict(&path);
    assert_eq!((ok, seq), (false, Some(10)));
}

#[test]
fn reordered_rows_are_found() {
    let (_d, path) = log_with_events(30);
    let c = attacker(&path);
    c.execute_batch(
        "UPDATE audit_events SET seq = -1 WHERE log = 'tenant/acme' AND seq = 4;
         UPDATE audit_events SET seq = 4 WHERE log = 'tenant/acme' AND seq = 5;
         UPDATE audit_events SET seq = 5 WHERE log = 'tenant/acme' AND seq = -1;",
    )
    .unwrap();
    let (ok, seq, _) = verdict(&path);
    assert_eq!((ok, seq), (false, Some(4)));
}

#[test]
fn a_duplicated_row_is_found() {
    let (_d, path) = log_with_events(30);
    let c = attacker(&path);
    c.execute_batch("DROP INDEX IF EXISTS sqlite_autoindex_audit_events_1;")
        .ok();
    // The UNIQUE constraint stops a plain duplicate; an attacker rebuilds the table without it.
    c.execute_batch(
        "CREATE TABLE t AS SELECT * FROM audit_events;
         DROP TABLE audit_events;
         CREATE TABLE audit_events (log TEXT, seq INTEGER, ts INTEGER, actor TEXT, action TEXT, tenant TEXT, decision TEXT, body BLOB, hash BLOB);
         INSERT INTO audit_events SELECT * FROM t ORDER BY rowid;
         INSERT INTO audit_events SELECT * FROM t WHERE log = 'tenant/acme' AND seq = 12;
         DROP TABLE t;",
    )
    .unwrap();
    let (ok, seq, _) = verdict(&path);
    assert!(!ok);
    assert!(seq.is_some());
}

#[test]
fn a_changed_query_column_is_found() {
    let (_d, path) = log_with_events(30);
    attacker(&path)
        .execute(
            "UPDATE audit_events SET actor = 'user:nobody' WHERE log = 'tenant/acme' AND seq = 3",
            [],
        )
        .unwrap();
    let (ok, seq, _) = verdict(&path);
    assert_eq!((ok, seq), (false, Some(3)));
}

#[test]
fn chains_stay_gapless_with_several_writers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let a = AuditLog::start(Arc::new(SqliteAudit::open(&path, 5000).unwrap())).unwrap();
    let b = AuditLog::start(Arc::new(SqliteAudit::open(&path, 5000).unwrap())).unwrap();
    let threads: Vec<_> = [a, b]
        .into_iter()
        .flat_map(|log| (0..4).map(move |t| (log.clone(), t)))
        .map(|(log, t)| {
            std::thread::spawn(move || {
                for i in 0..50 {
                    log.append(
                        Event::new(
                            format!("user:t{t}"),
                            "record.read",
                            Decision::Allow,
                            format!("n{i}"),
                        )
                        .tenant("acme"),
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let store = SqliteAudit::open(&path, 1000).unwrap();
    let r = verify(&store, None).unwrap();
    assert!(r.ok, "{:?}", r.logs);
    assert_eq!(r.events, 400);
}
