//! Conformance: audit events, queries and checkpoints.

use std::sync::Arc;

use mamori_store::{
    ArchiveRow, AuditBatch, AuditQuery, AuditRow, AuditStore, CheckpointRow, Heads, TreeNode,
};

use crate::fixtures::Stores;

fn hash(log: &str, seq: u64) -> [u8; 32] {
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&seq.to_be_bytes());
    h[8] = log.len() as u8;
    h
}

fn event(log: &str, seq: u64, actor: &str, record: &str) -> AuditRow {
    let body = format!(
        r#"{{"actor":"{actor}","case_id":"C-{seq}","purpose":"{}","records":["{record}"],"seq":{seq}}}"#,
        if seq.is_multiple_of(2) {
            "inquiry"
        } else {
            "billing"
        }
    );
    AuditRow {
        rowid: 0,
        log: log.into(),
        seq,
        ts: 1_000 + seq as i64,
        actor: actor.into(),
        action: if seq.is_multiple_of(3) {
            "record.search"
        } else {
            "record.read"
        }
        .into(),
        tenant: log.strip_prefix("tenant/").map(str::to_owned),
        decision: "allow".into(),
        body: body.into_bytes(),
        hash: hash(log, seq),
    }
}

/// Appends `n` events to each of `logs`, chained on the heads the store reports.
fn append(audit: &dyn AuditStore, logs: &[&str], n: u64, actor: &str) -> Heads {
    let names: Vec<String> = logs.iter().map(|l| l.to_string()).collect();
    let mut seen = Heads::new();
    audit
        .append(&names, &mut |heads| {
            seen = heads.clone();
            let mut batch = AuditBatch::default();
            for log in logs {
                let size = heads.get(*log).map_or(0, |h| h.size);
                if let Some(h) = heads.get(*log) {
                    assert_eq!(h.hash, hash(log, size), "the head is the last event");
                }
                for seq in size + 1..=size + n {
                    batch
                        .events
                        .push(event(log, seq, actor, &format!("r{seq}")));
                }
            }
            batch
        })
        .unwrap();
    seen
}

pub fn audit_appends_chain_and_read_back(s: &Stores) {
    let a = &*s.audit;
    assert!(a.logs().unwrap().is_empty());
    let first = append(a, &["tenant/acme", "system"], 3, "user:op1");
    assert!(first.is_empty(), "empty logs have no head");
    let heads = append(a, &["tenant/acme"], 2, "user:op2");
    assert_eq!(heads["tenant/acme"].size, 3);
    assert_eq!(heads["tenant/acme"].checkpoint, None);
    assert_eq!(a.logs().unwrap(), ["system", "tenant/acme"]);

    let all = a.scan("tenant/acme", 0, 100).unwrap();
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert!(all.windows(2).all(|w| w[0].rowid < w[1].rowid));
    let rest = a.scan("tenant/acme", all[1].rowid, 2).unwrap();
    assert_eq!(rest.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(a.scan("system", 0, 100).unwrap().len(), 3);

    let e = a.event("tenant/acme", 4).unwrap().unwrap();
    assert_eq!(
        (e.actor.as_str(), e.tenant.as_deref()),
        ("user:op2", Some("acme"))
    );
    assert_eq!(e.hash, hash("tenant/acme", 4));
    assert_eq!(e.body, event("tenant/acme", 4, "user:op2", "r4").body);
    assert!(a.event("tenant/acme", 6).unwrap().is_none());

    let q = |q: AuditQuery| -> Vec<(String, u64)> {
        a.query(&AuditQuery { limit: 100, ..q })
            .unwrap()
            .into_iter()
            .map(|e| (e.log, e.seq))
            .collect()
    };
    let acme = |seqs: &[u64]| -> Vec<(String, u64)> {
        seqs.iter()
            .map(|s| ("tenant/acme".to_owned(), *s))
            .collect()
    };
    assert_eq!(
        q(AuditQuery {
            actor: Some("user:op2".into()),
            ..Default::default()
        }),
        acme(&[4, 5])
    );
    assert_eq!(
        q(AuditQuery {
            tenant: Some("acme".into()),
            action: Some("record.search".into()),
            ..Default::default()
        }),
        acme(&[3])
    );
    assert_eq!(
        q(AuditQuery {
            tenant: Some("acme".into()),
            from_ts: Some(1_002),
            to_ts: Some(1_004),
            ..Default::default()
        }),
        acme(&[2, 3])
    );
    // A person's events from a time on, where times are not in storage
    // order (op1's acme events 1001–1003 are stored before their system
    // events 1001–1003): exactly the events at or after the time, in
    // storage order, on the first page and the next.
    let sys = |seq: u64| ("system".to_owned(), seq);
    let op1_from = |ts: i64, after: Option<i64>, limit: usize| {
        a.query(&AuditQuery {
            actor: Some("user:op1".into()),
            from_ts: Some(ts),
            after,
            limit,
            ..Default::default()
        })
        .unwrap()
    };
    let seqs = |rows: &[AuditRow]| -> Vec<(String, u64)> {
        rows.iter().map(|e| (e.log.clone(), e.seq)).collect()
    };
    let mut want = acme(&[2, 3]);
    want.extend([sys(2), sys(3)]);
    assert_eq!(seqs(&op1_from(1_002, None, 100)), want);
    let first = op1_from(1_003, None, 1);
    assert_eq!(seqs(&first), acme(&[3]));
    assert_eq!(seqs(&op1_from(1_003, Some(first[0].rowid), 100)), [sys(3)]);
    assert!(
        op1_from(1_004, None, 100).is_empty(),
        "op1 has nothing after"
    );
    // Anyone's events in a time range, page by page: the walk starts at the
    // first event at or after the start, exactly, whatever the order of
    // times in storage (sys 2 is stored after acme 3, which is later).
    let mut paged = Vec::new();
    let range = AuditQuery {
        from_ts: Some(1_002),
        to_ts: Some(1_004),
        limit: 1,
        ..Default::default()
    };
    mamori_store::each_audit_page(a, range, |rows| {
        paged.extend(seqs(rows));
        Ok::<bool, mamori_store::StoreError>(true)
    })
    .unwrap();
    let mut want = acme(&[2, 3]);
    want.extend([sys(2), sys(3)]);
    assert_eq!(paged, want);
    assert!(
        q(AuditQuery {
            from_ts: Some(1_006),
            ..Default::default()
        })
        .is_empty()
    );
    assert_eq!(
        q(AuditQuery {
            tenant: Some("acme".into()),
            record: Some("r2".into()),
            ..Default::default()
        }),
        acme(&[2])
    );
    assert_eq!(
        q(AuditQuery {
            tenant: Some("acme".into()),
            purpose: Some("inquiry".into()),
            ..Default::default()
        }),
        acme(&[2, 4])
    );
    assert_eq!(
        q(AuditQuery {
            case_id: Some("C-5".into()),
            ..Default::default()
        }),
        acme(&[5])
    );
    assert_eq!(
        q(AuditQuery {
            record: Some("r9".into()),
            ..Default::default()
        }),
        vec![]
    );
    let page = a
        .query(&AuditQuery {
            tenant: Some("acme".into()),
            limit: 2,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.len(), 2);
    let next = q(AuditQuery {
        tenant: Some("acme".into()),
        after: Some(page[1].rowid),
        ..Default::default()
    });
    assert_eq!(next, acme(&[3, 4, 5]));
}

pub fn audit_tree_checkpoints_and_cosignatures(s: &Stores) {
    let a = &*s.audit;
    let log = "tenant/acme";
    let names = [log.to_owned()];
    a.append(&names, &mut |_| AuditBatch {
        events: (1..=4).map(|i| event(log, i, "user:op1", "r")).collect(),
        nodes: vec![TreeNode {
            log: log.into(),
            level: 1,
            index: 0,
            hash: [0xA1; 32],
        }],
        checkpoints: vec![CheckpointRow {
            log: log.into(),
            size: 4,
            ts: 77,
            note: "note 4\n".into(),
        }],
    })
    .unwrap();
    // Writing the same node and checkpoint again is not an error and changes nothing.
    let mut saw = None;
    a.append(&names, &mut |heads| {
        saw = Some(heads[log].clone());
        AuditBatch {
            events: vec![event(log, 5, "user:op1", "r")],
            nodes: vec![TreeNode {
                log: log.into(),
                level: 1,
                index: 0,
                hash: [0xFF; 32],
            }],
            checkpoints: vec![
                CheckpointRow {
                    log: log.into(),
                    size: 4,
                    ts: 78,
                    note: "other\n".into(),
                },
                CheckpointRow {
                    log: log.into(),
                    size: 5,
                    ts: 79,
                    note: "note 5\n".into(),
                },
            ],
        }
    })
    .unwrap();
    assert_eq!(saw.unwrap().checkpoint, Some((4, 77)));
    assert_eq!(a.tree_node(log, 1, 0).unwrap(), Some([0xA1; 32]));
    assert_eq!(
        a.tree_node(log, 0, 2).unwrap(),
        Some(hash(log, 3)),
        "level 0 is the event's hash"
    );
    assert_eq!(a.tree_node(log, 0, 5).unwrap(), None);
    assert_eq!(a.tree_node(log, 2, 0).unwrap(), None);
    assert_eq!(
        a.leaves(log, 1, 3).unwrap(),
        [hash(log, 2), hash(log, 3), hash(log, 4)]
    );
    assert_eq!(
        a.leaves(log, 3, 10).unwrap().len(),
        2,
        "shorter when the log ends sooner"
    );

    let cps: Vec<(u64, String)> = a
        .checkpoints(log, 0, 10)
        .unwrap()
        .into_iter()
        .map(|c| (c.size, c.note))
        .collect();
    assert_eq!(
        cps,
        [(4, "note 4\n".to_owned()), (5, "note 5\n".to_owned())]
    );
    assert_eq!(a.checkpoints(log, 4, 10).unwrap().len(), 1);
    assert_eq!(a.latest_checkpoint(log).unwrap().unwrap().size, 5);
    assert!(a.latest_checkpoint("system").unwrap().is_none());

    assert!(a.latest_cosigned(log).unwrap().is_none());
    a.add_cosignature(log, 4, "w1.example", "— w1 at 4\n")
        .unwrap();
    assert_eq!(a.latest_cosigned(log).unwrap().unwrap().size, 4);
    a.add_cosignature(log, 5, "w2.example", "— w2 sig\n")
        .unwrap();
    a.add_cosignature(log, 5, "w1.example", "— w1 sig\n")
        .unwrap();
    a.add_cosignature(log, 5, "w1.example", "— w1 again\n")
        .unwrap();
    assert_eq!(
        a.cosignatures(log, 5).unwrap(),
        ["— w1 sig\n", "— w2 sig\n"]
    );
    assert_eq!(a.cosignatures(log, 4).unwrap().len(), 1);
    assert_eq!(a.latest_cosigned(log).unwrap().unwrap().size, 5);
    assert!(a.latest_cosigned("system").unwrap().is_none());
}

fn archive_row(log: &str, start: u64, end: u64) -> ArchiveRow {
    ArchiveRow {
        log: log.into(),
        start,
        end,
        file: format!("{start}-{end}.gz"),
        sha256: [5; 32],
        note: format!("note {end}\n"),
        archived_at: 9,
    }
}

pub fn audit_archive_moves_only_the_oldest_range(s: &Stores) {
    let a = &*s.audit;
    let log = "tenant/acme";
    append(a, &[log], 10, "user:op1");
    assert!(
        a.archive(&archive_row(log, 2, 4)).is_err(),
        "not the oldest"
    );
    assert!(
        a.archive(&archive_row(log, 1, 10)).is_err(),
        "later events must remain"
    );
    assert!(a.archive(&archive_row(log, 4, 3)).is_err());
    a.archive(&archive_row(log, 1, 4)).unwrap();
    assert!(
        a.archive(&archive_row(log, 1, 4)).is_err(),
        "already archived"
    );
    assert_eq!(a.archives(log).unwrap(), [archive_row(log, 1, 4)]);
    assert!(a.event(log, 2).unwrap().is_none());
    assert_eq!(a.scan(log, 0, 100).unwrap().first().map(|e| e.seq), Some(5));
    // The archived hashes still answer as the tree's level 0.
    assert_eq!(a.tree_node(log, 0, 1).unwrap(), Some(hash(log, 2)));
    let leaves: Vec<[u8; 32]> = (1..=6).map(|i| hash(log, i)).collect();
    assert_eq!(a.leaves(log, 0, 6).unwrap(), leaves);
    // Appending goes on after the hot head.
    let heads = append(a, &[log], 1, "user:op1");
    assert_eq!(heads[log].size, 10);
    a.archive(&archive_row(log, 5, 7)).unwrap();
    assert_eq!(a.archives(log).unwrap().len(), 2);
}

pub fn audit_tables_refuse_update_and_delete(s: &Stores) {
    let log = "tenant/acme";
    s.audit
        .append(&[log.to_owned()], &mut |_| AuditBatch {
            events: (1..=3).map(|i| event(log, i, "user:op1", "r")).collect(),
            nodes: vec![TreeNode {
                log: log.into(),
                level: 1,
                index: 0,
                hash: [1; 32],
            }],
            checkpoints: vec![CheckpointRow {
                log: log.into(),
                size: 3,
                ts: 1,
                note: "n\n".into(),
            }],
        })
        .unwrap();
    s.audit.add_cosignature(log, 3, "w", "— w\n").unwrap();
    for sql in [
        "UPDATE audit_events SET actor = 'user:nobody' WHERE seq = 2",
        "DELETE FROM audit_events WHERE seq = 2",
        "UPDATE audit_checkpoints SET note = 'x'",
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_nodes SET hash = hash",
        "DELETE FROM audit_cosignatures",
    ] {
        assert!(s.raw_sql(sql).is_err(), "{sql} must be refused");
    }
    if s.is_postgres() {
        for sql in [
            "TRUNCATE audit_events",
            "TRUNCATE audit_nodes",
            "TRUNCATE audit_checkpoints",
            "TRUNCATE audit_cosignatures",
            "TRUNCATE audit_archives",
        ] {
            assert!(s.raw_sql(sql).is_err(), "{sql} must be refused");
        }
    }
    assert_eq!(s.audit.scan("tenant/acme", 0, 10).unwrap().len(), 3);
    assert_eq!(
        s.audit.event("tenant/acme", 2).unwrap().unwrap().actor,
        "user:op1"
    );
}

/// Appenders in two processes (and several threads each) racing on the same
/// logs: every log ends as one gapless sequence with no event lost or doubled.
pub fn audit_appenders_in_two_processes_stay_gapless(s: &Stores) {
    let (_, other) = s.another_process();
    let stores: [Arc<dyn AuditStore>; 2] = [s.audit.clone(), other];
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let audit = stores[t % 2].clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let logs: &[&str] = if i % 5 == 0 {
                        &["tenant/acme", "system"]
                    } else {
                        &["tenant/acme"]
                    };
                    append(&*audit, logs, 2, &format!("user:t{t}"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let acme: Vec<u64> = s
        .audit
        .scan("tenant/acme", 0, 1000)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(acme, (1..=300).collect::<Vec<u64>>());
    let system: Vec<u64> = s
        .audit
        .scan("system", 0, 1000)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(system, (1..=60).collect::<Vec<u64>>());
}
