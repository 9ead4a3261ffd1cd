//! Archiving: old events move into self-verifying gzip files, the hot
//! database keeps only their hashes, `verify` passes with the files (and,
//! from the hashes, without them), proofs of later events still work, the
//! log keeps growing — and an edited archive is caught.

use std::io::{Read, Write};

use crate::common::TestVault;
use mamori_audit::{checkpoint::Verifier, merkle, proofs};

fn hot_events(v: &TestVault, log: &str) -> (u64, u64) {
    let c = rusqlite::Connection::open(v.data().join("audit.db")).unwrap();
    c.query_row(
        "SELECT coalesce(min(seq), 0), count(*) FROM audit_events WHERE log = ?1",
        [log],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[test]
fn old_events_move_to_archives_that_prove_themselves() {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = crate::common::csv_of(v.dir.path(), "p.csv", 3, 30);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    for i in 0..6 {
        // Each command signs a checkpoint of what it appended.
        v.ok(&["user", "create", &format!("op{i}"), "--role", "operator"]);
        v.ok(&[
            "user",
            "assign",
            &format!("op{i}"),
            "--tenant",
            "acme",
            "--segment",
            "own",
        ]);
    }
    let key =
        Verifier::parse(&std::fs::read_to_string(v.data().join("audit.key.pub")).unwrap()).unwrap();
    let before_total = v.ok(&["audit", "verify"])["events"].as_u64().unwrap();

    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let done = v.ok(&["audit", "archive", "--before", &tomorrow]);
    let done = done.as_array().unwrap();
    assert!(!done.is_empty(), "{done:?}");
    let acme = done.iter().find(|a| a["log"] == "tenant/acme").unwrap();
    let end = acme["end"].as_u64().unwrap();
    assert_eq!(acme["start"], 1);
    let (first_hot, _) = hot_events(&v, "tenant/acme");
    assert_eq!(first_hot, end + 1, "archived events left the hot database");
    let file = std::path::PathBuf::from(acme["file"].as_str().unwrap());
    assert!(file.starts_with(v.data().join("archive")));

    // The whole log verifies, archive files included (found in DATA_DIR/archive).
    let (code, text) = v.verify(&[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("read from archive files"), "{text}");
    let report = v.ok(&["audit", "verify"]);
    assert_eq!(report["events"].as_u64().unwrap(), before_total);
    // A file on its own, with the key.
    let c = v.ok(&["audit", "check-archive", file.to_str().unwrap()]);
    assert_eq!(
        (c["start"].as_u64(), c["end"].as_u64()),
        (Some(1), Some(end))
    );

    // Proofs of later events still work, across the archived part.
    let store = mamori_app::stores::open_audit(&v.data()).unwrap();
    let latest = store.latest_checkpoint("tenant/acme").unwrap().unwrap();
    let signed = key.open(&latest.note).unwrap();
    let seq = end + 1;
    let row = store.event("tenant/acme", seq).unwrap().unwrap();
    let proof = proofs::inclusion(&*store, "tenant/acme", seq, signed.size)
        .unwrap()
        .unwrap();
    merkle::verify_inclusion(&row.hash, seq - 1, signed.size, &proof, &signed.root).unwrap();
    let archived_cp = key
        .open(&store.archives("tenant/acme").unwrap()[0].note)
        .unwrap();
    let proof = proofs::consistency(&*store, "tenant/acme", end, signed.size)
        .unwrap()
        .unwrap();
    merkle::verify_consistency(end, signed.size, &archived_cp.root, &signed.root, &proof).unwrap();
    drop(store);

    // The log keeps growing; nothing new is old enough to archive twice.
    v.ok(&[
        "user",
        "assign",
        "op0",
        "--tenant",
        "acme",
        "--segment",
        "collab",
    ]);
    assert_eq!(v.verify(&[]).0, 0);
    let again = v.ok(&[
        "audit",
        "archive",
        "--before",
        &tomorrow,
        "--log",
        "tenant/acme",
    ]);
    assert!(again.as_array().unwrap().len() <= 1);

    // Without the files, the archived part is checked by the hashes it left.
    let elsewhere = v.dir.path().join("archive-offsite");
    std::fs::rename(v.data().join("archive"), &elsewhere).unwrap();
    let (code, text) = v.verify(&[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("checked by their hashes"), "{text}");
    let (code, text) = v.verify(&["--archive", elsewhere.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");

    // An archive edited and recompressed: caught on its own and by verify.
    let moved = elsewhere.join(file.strip_prefix(v.data().join("archive")).unwrap());
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&moved).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let edited = text
        .replacen("user:op", "user:xx", 1)
        .replacen("cli:", "cli-", 1);
    assert_ne!(edited, text);
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&moved).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(edited.as_bytes()).unwrap();
    gz.finish().unwrap();
    let out = v.run(&["audit", "check-archive", moved.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, text) = v.verify(&["--archive", elsewhere.to_str().unwrap()]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("not the one recorded"), "{text}");
}
