//! Key rotation and rewrap on a real data directory: every record moves to the
//! new key version page by page (pages large enough to be sealed on several
//! threads), in commit groups; when a record cannot be opened the rewrap fails
//! with an error instead of hanging, the open group is rolled back and what
//! was committed before stays.

mod common;

use std::collections::BTreeMap;

use common::{Env, phone};
use mamori_core::Role;
use mamori_store::RecordScan;
use mamori_vault::ingest::ImportRow;

/// Customers beyond the harness's ten, on the own segment, phones 10..n.
fn more_customers(env: &Env, n: usize) {
    let rows = (10..n)
        .map(|i| ImportRow {
            line: i as u64 + 2,
            segment: Some("own".into()),
            fields: BTreeMap::from([
                ("customer_no".into(), format!("C-{i}")),
                ("name".into(), format!("試験 次郎{i}")),
                ("phone".into(), phone(i)),
            ]),
        })
        .collect();
    env.vault
        .import_batch("cli:test", "acme", None, rows)
        .unwrap();
}

/// Records of `acme` still under a key version older than `version`.
fn older_than(env: &Env, version: u32) -> usize {
    env.vault
        .store()
        .scan_records(
            "acme",
            &RecordScan {
                segment: None,
                older_than_version: Some(version),
                after: mamori_core::RecordId::from_bytes([0; 16]),
                limit: usize::MAX >> 1,
            },
        )
        .unwrap()
        .len()
}

const CUSTOMERS: usize = 1_500;

#[test]
fn rewrap_moves_every_record_page_by_page() {
    let mut env = Env::new(|_| {});
    more_customers(&env, CUSTOMERS);
    env.person("op", Role::Operator, &[("acme", Some("own"))], None, None);
    let v = env.vault.rotate_key("cli:test", "acme").unwrap();
    assert_eq!(older_than(&env, v), CUSTOMERS);

    let mut seen = Vec::new();
    let n = env
        .vault
        .rewrap("cli:test", "acme", 600, 1000, |p| seen.push(p.rewrapped))
        .unwrap();
    assert_eq!(n as usize, CUSTOMERS);
    assert_eq!(seen, vec![600, 1200, 1500], "progress after every page");
    assert_eq!(older_than(&env, v), 0);
    // Still found by the blind index (rebuilt under the new index key) and
    // opened with the new data key.
    for i in [0, 11, 777, CUSTOMERS - 1] {
        let found = env.search("op", i).unwrap();
        assert_eq!(found.records.len(), 1, "customer {i}");
    }
    assert_eq!(
        env.vault
            .rewrap("cli:test", "acme", 600, 1000, |_| {})
            .unwrap(),
        0,
        "nothing left to move"
    );
}

#[test]
fn a_record_that_cannot_be_opened_stops_the_rewrap_and_keeps_what_moved() {
    let env = Env::new(|_| {});
    more_customers(&env, CUSTOMERS);
    let v = env.vault.rotate_key("cli:test", "acme").unwrap();
    // The record last in id order, so that earlier pages are moved first.
    let db = rusqlite::Connection::open(env.dir.path().join("vault.db")).unwrap();
    db.execute(
        "UPDATE records SET sealed = zeroblob(length(sealed))
         WHERE rid = (SELECT rid FROM records WHERE tenant = 'acme' ORDER BY id DESC LIMIT 1)",
        [],
    )
    .unwrap();
    drop(db);

    let broken = |err: mamori_vault::VaultError| {
        let msg = err.to_string();
        assert!(msg.contains("corrupt") || msg.contains("decrypt"), "{msg}");
    };

    // Pages 1 and 2 written into a commit group that page 3 never lets
    // commit: rolled back, nothing half-done.
    broken(
        env.vault
            .rewrap("cli:test", "acme", 500, 1_000_000, |_| {})
            .unwrap_err(),
    );
    assert_eq!(
        older_than(&env, v),
        CUSTOMERS,
        "an uncommitted group is undone"
    );

    // A group per page: what was committed before the broken page stays.
    let mut moved = 0;
    broken(
        env.vault
            .rewrap("cli:test", "acme", 500, 500, |p| moved = p.rewrapped)
            .unwrap_err(),
    );
    assert_eq!(moved, 1000, "the pages before the broken one were written");
    assert_eq!(older_than(&env, v), CUSTOMERS - 1000, "and stay written");
}
