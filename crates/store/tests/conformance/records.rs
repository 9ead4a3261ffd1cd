//! Conformance: records, blind-index tokens, scans and writes.

use mamori_store::{
    DeploymentKeyRow, KeyRow, RecordId, RecordRow, RecordScan, RecordWrite, StoreError,
    TenantStatus, Token, WriteKind,
};

use crate::fixtures::{All, Stores, key, tenant};

/// The ids of the records `find` returns.
fn found(db: &dyn All, tenant: &str, key: &str, tokens: &[Token]) -> Vec<[u8; 16]> {
    db.find(tenant, key, tokens)
        .unwrap()
        .into_iter()
        .map(|r| *r.id.as_bytes())
        .collect()
}

fn tok(n: u8) -> Token {
    [n; 16]
}

fn write(kind: WriteKind, id: u8, segment: &str, key_token: u8, phone: u8) -> RecordWrite {
    RecordWrite {
        kind,
        record: RecordRow {
            id: [id; 16].into(),
            segment: segment.into(),
            key_version: 1,
            sealed: vec![id, id, id],
            updated_at: 1_700_000_000 + i64::from(id),
        },
        key_token: tok(key_token),
        tokens: vec![
            ("customer_no".into(), tok(key_token)),
            ("phone".into(), tok(phone)),
        ],
    }
}

pub fn tenants_and_keys(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    tenant(db, "beta");
    assert!(matches!(
        db.create_tenant(&db.tenant("acme").unwrap().unwrap(), &key("acme", 1)),
        Err(StoreError::Conflict(_))
    ));
    let ids: Vec<String> = db.tenants().unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(ids, ["acme", "beta"]);
    let t = db.tenant("acme").unwrap().unwrap();
    assert_eq!(
        (t.name.as_str(), t.current_key_version),
        ("acme 株式会社", 1)
    );
    assert!(db.tenant("nobody").unwrap().is_none());

    db.add_key(&key("acme", 2)).unwrap();
    assert!(matches!(
        db.add_key(&key("acme", 2)),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(db.tenant("acme").unwrap().unwrap().current_key_version, 2);
    let versions: Vec<u32> = db.keys("acme").unwrap().iter().map(|k| k.version).collect();
    assert_eq!(versions, [1, 2]);
    assert_eq!(db.keys("acme").unwrap()[1].wrapped_data, vec![2; 60]);
    assert_eq!(db.keys("beta").unwrap().len(), 1);

    db.write_records("acme", &[write(WriteKind::New, 1, "own", 11, 21)])
        .unwrap();
    db.shred_tenant("acme", 1_800_000_000).unwrap();
    let t = db.tenant("acme").unwrap().unwrap();
    assert_eq!(t.status, TenantStatus::Shredded);
    assert_eq!(t.shredded_at, Some(1_800_000_000));
    assert!(db.keys("acme").unwrap().is_empty());
    // The index is gone with its key; the ciphertext stays, unreadable.
    assert!(found(db, "acme", "phone", &[tok(21)]).is_empty());
    assert!(db.record("acme", &[1; 16].into()).unwrap().is_some());
    assert!(matches!(
        db.shred_tenant("acme", 1),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        db.add_key(&key("acme", 3)),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        db.keys("beta").unwrap().len(),
        1,
        "another tenant's keys stay"
    );
}

pub fn deployment_keys_are_added_once_and_every_key_rewrapped_together(s: &Stores) {
    let db = &*s.db;
    let secret = |name: &str, byte: u8| DeploymentKeyRow {
        name: name.into(),
        wrapped: vec![byte; 49],
        created_at: 1_700_000_000,
    };
    assert!(db.deployment_keys().unwrap().is_empty());
    assert!(db.add_deployment_key(&secret("household", 1)).unwrap());
    // A second node's secret of the same name loses; the first one stays.
    assert!(!db.add_deployment_key(&secret("household", 2)).unwrap());
    assert!(db.add_deployment_key(&secret("sign-in", 3)).unwrap());
    let stored = db.deployment_keys().unwrap();
    assert_eq!(
        stored
            .iter()
            .map(|d| (d.name.as_str(), d.wrapped[0]))
            .collect::<Vec<_>>(),
        [("household", 1), ("sign-in", 3)]
    );
    tenant(db, "acme");
    tenant(db, "beta");
    db.add_key(&key("acme", 2)).unwrap();
    let rewrapped = |k: KeyRow| KeyRow {
        wrapped_data: vec![0xee; 61],
        wrapped_index: vec![0xef; 61],
        ..k
    };
    let all_keys = || -> Vec<KeyRow> {
        ["acme", "beta"]
            .iter()
            .flat_map(|t| db.keys(t).unwrap())
            .collect()
    };
    let new_keys: Vec<KeyRow> = all_keys().into_iter().map(rewrapped).collect();
    let new_secrets = [secret("household", 7), secret("sign-in", 8)];

    // Leaving out one key, or naming one that is not there, changes nothing.
    for (keys, secrets) in [
        (&new_keys[1..], &new_secrets[..]),
        (&new_keys[..], &new_secrets[..1]),
    ] {
        assert!(matches!(
            db.rewrap_keys(keys, secrets),
            Err(StoreError::Conflict(_))
        ));
    }
    let mut unknown = new_keys.clone();
    unknown[0].version = 9;
    assert!(matches!(
        db.rewrap_keys(&unknown, &new_secrets),
        Err(StoreError::Conflict(_))
    ));
    assert!(all_keys().iter().all(|k| k.wrapped_data[0] != 0xee));
    assert_eq!(db.deployment_keys().unwrap()[0].wrapped[0], 1);

    db.rewrap_keys(&new_keys, &new_secrets).unwrap();
    let keys = all_keys();
    assert_eq!(keys.len(), 3);
    assert!(
        keys.iter()
            .all(|k| k.wrapped_data == [0xee; 61] && k.wrapped_index == [0xef; 61])
    );
    assert_eq!(
        keys.iter().map(|k| k.created_at).collect::<Vec<_>>(),
        new_keys.iter().map(|k| k.created_at).collect::<Vec<_>>()
    );
    let stored = db.deployment_keys().unwrap();
    assert_eq!(
        stored.iter().map(|d| d.wrapped[0]).collect::<Vec<_>>(),
        [7, 8]
    );
}

pub fn records_and_blind_index(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    tenant(db, "beta");
    db.write_records(
        "acme",
        &[
            write(WriteKind::New, 2, "own", 12, 20),
            write(WriteKind::New, 1, "own", 11, 20),
            write(WriteKind::New, 3, "collab", 13, 23),
        ],
    )
    .unwrap();
    // The same tokens in another tenant never answer for this one.
    db.write_records("beta", &[write(WriteKind::New, 9, "own", 11, 20)])
        .unwrap();

    let mut shared = found(db, "acme", "phone", &[tok(20)]);
    shared.sort();
    assert_eq!(shared, [[1; 16], [2; 16]]);
    assert_eq!(found(db, "beta", "phone", &[tok(20)]), [[9; 16]]);
    let hit = &db.find("acme", "phone", &[tok(23)]).unwrap()[0];
    assert_eq!(
        (hit.segment.as_str(), hit.sealed.as_slice()),
        ("collab", &[3u8, 3, 3][..])
    );
    assert_eq!(found(db, "acme", "phone", &[tok(23), tok(99)]), [[3; 16]]);
    assert!(found(db, "acme", "email", &[tok(20)]).is_empty());
    assert!(found(db, "gamma", "phone", &[tok(20)]).is_empty());

    let keys = db.find_keys("acme", &[tok(11), tok(13), tok(77)]).unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[&tok(11)], [1; 16].into());
    assert_eq!(db.find_keys("beta", &[tok(13)]).unwrap().len(), 0);

    let r = db.record("acme", &[3; 16].into()).unwrap().unwrap();
    assert_eq!(
        (r.segment.as_str(), r.sealed.as_slice()),
        ("collab", &[3u8, 3, 3][..])
    );
    assert!(
        db.record("beta", &[3; 16].into()).unwrap().is_none(),
        "another tenant's id"
    );

    // Replace: new tokens answer, old ones do not.
    let mut moved = write(WriteKind::Replace, 1, "collab", 11, 24);
    moved.record.key_version = 2;
    db.write_records("acme", &[moved]).unwrap();
    assert_eq!(found(db, "acme", "phone", &[tok(20)]), [[2; 16]]);
    assert_eq!(found(db, "acme", "phone", &[tok(24)]), [[1; 16]]);
    let r = db.record("acme", &[1; 16].into()).unwrap().unwrap();
    assert_eq!((r.segment.as_str(), r.key_version), ("collab", 2));

    // A batch with a taken customer number is refused whole.
    let clash = [
        write(WriteKind::New, 5, "own", 15, 25),
        write(WriteKind::New, 6, "own", 12, 26),
    ];
    assert!(matches!(
        db.write_records("acme", &clash),
        Err(StoreError::Conflict(_))
    ));
    assert!(db.record("acme", &[5; 16].into()).unwrap().is_none());
    assert!(found(db, "acme", "phone", &[tok(25)]).is_empty());
    // Replacing a record that does not exist is refused whole too.
    let missing = [
        write(WriteKind::New, 7, "own", 17, 27),
        write(WriteKind::Replace, 8, "own", 18, 28),
    ];
    assert!(matches!(
        db.write_records("acme", &missing),
        Err(StoreError::NotFound(_))
    ));
    assert!(db.record("acme", &[7; 16].into()).unwrap().is_none());

    assert_eq!(db.count_records("acme", None).unwrap(), 3);
    assert_eq!(db.count_records("acme", Some("collab")).unwrap(), 2);
    assert_eq!(db.count_records("beta", Some("collab")).unwrap(), 0);

    assert!(db.delete_record("acme", &[2; 16].into()).unwrap());
    assert!(!db.delete_record("acme", &[2; 16].into()).unwrap());
    assert!(
        !db.delete_record("beta", &[1; 16].into()).unwrap(),
        "another tenant's id"
    );
    assert!(found(db, "acme", "phone", &[tok(20)]).is_empty());
    assert_eq!(db.count_records("acme", None).unwrap(), 2);
    assert_eq!(found(db, "beta", "phone", &[tok(20)]), [[9; 16]]);
}

pub fn scanning_pages_in_id_order(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    let rows: Vec<RecordWrite> = (1..=25u8)
        .rev()
        .map(|i| {
            let mut w = write(
                WriteKind::New,
                i,
                if i % 2 == 0 { "own" } else { "collab" },
                i,
                100 + i,
            );
            w.record.key_version = if i <= 10 { 1 } else { 2 };
            w
        })
        .collect();
    db.write_records("acme", &rows).unwrap();
    let mut seen = Vec::new();
    let mut after = RecordId::from([0u8; 16]);
    loop {
        let page = db
            .scan_records(
                "acme",
                &RecordScan {
                    segment: None,
                    older_than_version: None,
                    after,
                    limit: 7,
                },
            )
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().unwrap().id;
        seen.extend(page.iter().map(|r| r.id.as_bytes()[0]));
    }
    assert_eq!(seen, (1..=25).collect::<Vec<u8>>());
    let old_own = db
        .scan_records(
            "acme",
            &RecordScan {
                segment: Some("own".into()),
                older_than_version: Some(2),
                after: [0; 16].into(),
                limit: 100,
            },
        )
        .unwrap();
    let ids: Vec<u8> = old_own.iter().map(|r| r.id.as_bytes()[0]).collect();
    assert_eq!(ids, [2, 4, 6, 8, 10]);
}

pub fn the_case_feed_is_per_tenant_and_replaced_by_id(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    tenant(db, "beta");
    let case = |id: &str, b: u8, at: i64| mamori_store::CaseRow {
        case_id: id.into(),
        tokens: vec![b; 20],
        updated_at: at,
    };
    assert!(!db.has_cases("acme").unwrap());
    let rev = db.governance_rev().unwrap();
    db.put_cases("acme", &[case("CALL-1", 1, 10), case("CALL-2", 2, 10)])
        .unwrap();
    assert!(
        db.governance_rev().unwrap() > rev,
        "a feed turns the check on in running servers"
    );
    assert!(db.has_cases("acme").unwrap());
    assert!(!db.has_cases("beta").unwrap());
    assert_eq!(
        db.case("acme", "CALL-1").unwrap(),
        Some(case("CALL-1", 1, 10))
    );
    assert_eq!(
        db.case("beta", "CALL-1").unwrap(),
        None,
        "another tenant's case"
    );
    assert_eq!(db.case("acme", "call-1").unwrap(), None, "ids are exact");
    db.put_cases("acme", &[case("CALL-1", 9, 11)]).unwrap();
    assert_eq!(
        db.case("acme", "CALL-1").unwrap(),
        Some(case("CALL-1", 9, 11))
    );
    db.put_cases("acme", &[]).unwrap();
    assert!(db.put_cases("ghost", &[case("CALL-1", 1, 1)]).is_err());

    db.shred_tenant("acme", 20).unwrap();
    assert_eq!(
        db.case("acme", "CALL-2").unwrap(),
        None,
        "shredding drops the feed"
    );
}

pub fn a_commit_group_sees_its_own_writes_and_keeps_batches_whole(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    let mut group = db.bulk("acme").unwrap();
    group
        .write(&[
            write(WriteKind::New, 1, "own", 11, 21),
            write(WriteKind::New, 2, "own", 12, 22),
        ])
        .unwrap();
    let seen = group.find_keys(&[tok(11), tok(13)]).unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[&tok(11)],
        [1; 16].into(),
        "the group's own uncommitted write"
    );
    assert!(
        db.record("acme", &[1; 16].into()).unwrap().is_none(),
        "nobody else sees the group before it commits"
    );
    // A later batch naming a customer the group created as new is refused
    // whole; the earlier batch stays.
    assert!(matches!(
        group.write(&[
            write(WriteKind::New, 3, "own", 13, 23),
            write(WriteKind::New, 4, "own", 11, 24),
        ]),
        Err(StoreError::Conflict(_))
    ));
    assert!(group.find_keys(&[tok(13)]).unwrap().is_empty());
    assert!(matches!(
        group.write(&[
            write(WriteKind::New, 8, "own", 18, 29),
            write(WriteKind::Replace, 9, "own", 19, 30),
        ]),
        Err(StoreError::NotFound(_))
    ));
    assert!(group.find_keys(&[tok(18)]).unwrap().is_empty());
    // ... and the caller's retry, as a replacement, goes through.
    group
        .write(&[write(WriteKind::Replace, 1, "collab", 11, 25)])
        .unwrap();
    group.commit().unwrap();
    assert_eq!(found(db, "acme", "phone", &[tok(25)]), [[1; 16]]);
    assert!(found(db, "acme", "phone", &[tok(21), tok(23), tok(24), tok(29)]).is_empty());
    assert!(db.record("acme", &[3; 16].into()).unwrap().is_none());
    assert_eq!(db.count_records("acme", None).unwrap(), 2);

    // A group whose first batch is refused carries on.
    let mut group = db.bulk("acme").unwrap();
    assert!(matches!(
        group.write(&[write(WriteKind::New, 9, "own", 11, 31)]),
        Err(StoreError::Conflict(_))
    ));
    group
        .write(&[write(WriteKind::New, 9, "own", 19, 31)])
        .unwrap();
    group.commit().unwrap();
    assert_eq!(found(db, "acme", "phone", &[tok(31)]), [[9; 16]]);
    assert_eq!(db.count_records("acme", None).unwrap(), 3);

    // A group dropped without commit leaves nothing, and lets the next
    // writer in.
    let mut dropped = db.bulk("acme").unwrap();
    dropped
        .write(&[
            write(WriteKind::New, 5, "own", 15, 26),
            write(WriteKind::New, 6, "own", 16, 27),
        ])
        .unwrap();
    drop(dropped);
    assert!(db.record("acme", &[5; 16].into()).unwrap().is_none());
    assert_eq!(db.count_records("acme", None).unwrap(), 3);
    db.write_records("acme", &[write(WriteKind::New, 7, "own", 17, 28)])
        .unwrap();
    assert_eq!(found(db, "acme", "phone", &[tok(28)]), [[7; 16]]);
}

/// Records rewritten by several batches of one group keep only their last
/// index entries, whatever order the batches' entries are merged in.
pub fn a_commit_group_indexes_each_record_by_its_last_write(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    let mut group = db.bulk("acme").unwrap();
    // Batch b gives record i the phone token 50 * b + i; batch 0 creates them.
    for b in 0..4u8 {
        let rows: Vec<RecordWrite> = (1..=20u8)
            .filter(|i| b == 0 || (i + b) % 3 != 0)
            .map(|i| {
                let kind = if b == 0 {
                    WriteKind::New
                } else {
                    WriteKind::Replace
                };
                write(kind, i, "own", i, 50 * b + i)
            })
            .collect();
        group.write(&rows).unwrap();
    }
    group.commit().unwrap();
    for i in 1..=20u8 {
        let last = (0..4u8)
            .rev()
            .find(|b| *b == 0 || (i + b) % 3 != 0)
            .unwrap();
        for b in 0..4u8 {
            let hits = found(db, "acme", "phone", &[tok(50 * b + i)]);
            if b == last {
                assert_eq!(hits, [[i; 16]], "record {i}, batch {b}");
            } else {
                assert!(hits.is_empty(), "record {i}: stale entry of batch {b}");
            }
        }
        assert_eq!(found(db, "acme", "customer_no", &[tok(i)]), [[i; 16]]);
    }
}

/// A rewrap re-seals only what it read: a record rewritten since (under the
/// newer key, or under the old one by a node that had not yet learnt of the
/// new key) keeps that write and its index entries; one still as read is
/// re-sealed; one that is gone refuses the batch like any replace.
pub fn a_reseal_never_reverts_a_newer_write(s: &Stores) {
    let db = &*s.db;
    tenant(db, "acme");
    db.write_records(
        "acme",
        &[
            write(WriteKind::New, 1, "own", 1, 11),
            write(WriteKind::New, 2, "own", 2, 12),
        ],
    )
    .unwrap();
    // Record 1 is updated under key version 2 after the rewrap read it.
    let mut update = write(WriteKind::Replace, 1, "own", 1, 21);
    update.record.key_version = 2;
    update.record.sealed = vec![9, 9, 9];
    update.record.updated_at += 60;
    db.write_records("acme", &[update]).unwrap();
    // Record 2 too, but by a node that had not yet learnt of the new key.
    let mut stale = write(WriteKind::Replace, 2, "own", 2, 22);
    stale.record.sealed = vec![8, 8, 8];
    stale.record.updated_at += 60;
    db.write_records("acme", &[stale]).unwrap();
    // What the rewrap sealed again from what it read under version 1.
    let reseal = |id: u8, phone: u8| {
        let mut w = write(WriteKind::Reseal(1), id, "own", id, phone);
        w.record.key_version = 2;
        w.record.sealed = vec![7, 7, 7];
        w
    };
    db.write_records("acme", &[write(WriteKind::New, 3, "own", 3, 13)])
        .unwrap();
    let mut group = db.bulk("acme").unwrap();
    group
        .write(&[reseal(1, 31), reseal(2, 32), reseal(3, 33)])
        .unwrap();
    group.commit().unwrap();

    let one = db.record("acme", &[1; 16].into()).unwrap().unwrap();
    assert_eq!(one.sealed, vec![9, 9, 9], "the update survives the rewrap");
    assert_eq!(found(db, "acme", "phone", &[tok(21)]), [[1; 16]]);
    assert!(found(db, "acme", "phone", &[tok(31)]).is_empty());
    let two = db.record("acme", &[2; 16].into()).unwrap().unwrap();
    assert_eq!(two.sealed, vec![8, 8, 8], "so does one under the old key");
    assert_eq!(found(db, "acme", "phone", &[tok(22)]), [[2; 16]]);
    let three = db.record("acme", &[3; 16].into()).unwrap().unwrap();
    assert_eq!((three.sealed, three.key_version), (vec![7, 7, 7], 2));
    assert_eq!(found(db, "acme", "phone", &[tok(33)]), [[3; 16]]);
    assert!(found(db, "acme", "phone", &[tok(13)]).is_empty());
    assert!(matches!(
        db.write_records("acme", &[reseal(4, 34)]),
        Err(StoreError::NotFound(_))
    ));
}
