//! The verifiable audit log through the real binary and server: an auditor
//! fetches the signed checkpoint, checks an event's inclusion proof and the
//! consistency of two checkpoints with nothing but the public key, and
//! verifies a copy of the log offline against a checkpoint kept elsewhere.

use std::time::{Duration, Instant};

use crate::common::TestVault;
use base64::Engine as _;
use mamori_audit::{
    checkpoint::Verifier,
    merkle::{Hash, leaf_hash, verify_consistency, verify_inclusion},
};
use serde_json::Value;

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| {
            hex::decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect()
}

/// Waits until the server has signed a checkpoint of at least `size` events.
fn signed(s: &crate::common::Server, token: &str, log: &str, size: u64) -> Value {
    let start = Instant::now();
    loop {
        let r = s.send(
            "GET",
            &format!("/v1/audit/checkpoint?log={log}"),
            token,
            None,
        );
        if r.status == 200 && r.body["size"].as_u64().unwrap() >= size {
            return r.body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no checkpoint: {:?}",
            r.body
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_auditor_checks_proofs_with_the_public_key_alone() {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = crate::common::csv_of(v.dir.path(), "p.csv", 3, 50);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let op = v.user("op", "operator", &["acme/own"]);
    let auditor = v.user("au", "auditor", &[]);
    let key =
        Verifier::parse(&std::fs::read_to_string(v.data().join("audit.key.pub")).unwrap()).unwrap();
    let people: Vec<_> = mamori_synth::Generator::new(3).take(50).collect();
    let s = v.serve();
    for p in people.iter().take(5) {
        s.search(&op, "acme", Some("inquiry"), "phone", &p.mobile);
    }
    let first = signed(&s, &auditor, "tenant/acme", 6);
    let cp1 = key.open(first["note"].as_str().unwrap()).unwrap();
    assert_eq!(cp1.size, first["size"].as_u64().unwrap());

    // Every event up to the checkpoint proves its inclusion under the signed root.
    for seq in 1..=cp1.size {
        let r = s.send(
            "GET",
            &format!(
                "/v1/audit/proofs/inclusion?log=tenant/acme&seq={seq}&size={}",
                cp1.size
            ),
            &auditor,
            None,
        );
        assert_eq!(r.status, 200, "{:?}", r.body);
        // The leaf is over the bytes as stored, given as `event_bytes`.
        let body = base64::engine::general_purpose::STANDARD
            .decode(r.body["event_bytes"].as_str().unwrap())
            .unwrap();
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed, r.body["event"]);
        let leaf = leaf_hash(&body);
        assert_eq!(
            hex::encode(leaf),
            r.body["leaf_hash"],
            "the event's bytes are the leaf"
        );
        verify_inclusion(
            &leaf,
            seq - 1,
            cp1.size,
            &hashes(&r.body["proof"]),
            &cp1.root,
        )
        .unwrap_or_else(|e| panic!("seq {seq}: {e}"));
    }

    // More reads; the next checkpoint extends the first one.
    for p in people.iter().skip(5).take(7) {
        s.search(&op, "acme", Some("inquiry"), "phone", &p.mobile);
    }
    let second = signed(&s, &auditor, "tenant/acme", cp1.size + 7);
    let cp2 = key.open(second["note"].as_str().unwrap()).unwrap();
    let r = s.send(
        "GET",
        &format!(
            "/v1/audit/proofs/consistency?log=tenant/acme&first={}&second={}",
            cp1.size, cp2.size
        ),
        &auditor,
        None,
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let proof = hashes(&r.body["proof"]);
    verify_consistency(cp1.size, cp2.size, &cp1.root, &cp2.root, &proof).unwrap();
    assert!(verify_consistency(cp1.size, cp2.size, &cp2.root, &cp2.root, &proof).is_err());

    // The same resources with the log in the path.
    let by_path = s.send("GET", "/v1/audit/tenant/acme/checkpoint", &auditor, None);
    let by_query = s.send(
        "GET",
        "/v1/audit/checkpoint?log=tenant/acme",
        &auditor,
        None,
    );
    assert_eq!(
        (by_path.status, &by_path.body["note"]),
        (200, &by_query.body["note"])
    );
    let r = s.send(
        "GET",
        "/v1/audit/tenant/acme/proofs/inclusion?seq=1",
        &auditor,
        None,
    );
    assert_eq!(
        (r.status, r.body["seq"].as_u64()),
        (200, Some(1)),
        "{:?}",
        r.body
    );
    let r = s.send(
        "GET",
        &format!(
            "/v1/audit/tenant/acme/proofs/consistency?first={}&second={}",
            cp1.size, cp2.size
        ),
        &auditor,
        None,
    );
    assert_eq!(hashes(&r.body["proof"]), proof);
    assert_eq!(
        s.send("GET", "/v1/audit/system/checkpoint", &auditor, None)
            .status,
        200
    );
    assert_eq!(
        s.send("GET", "/v1/audit/system/checkpoint", &op, None)
            .status,
        403
    );
    let r = s.send(
        "GET",
        "/v1/audit/tenant/..%2Fvault/checkpoint",
        &auditor,
        None,
    );
    assert_eq!(r.status, 400);

    // Bad input and the wrong people.
    let r = s.send(
        "GET",
        "/v1/audit/proofs/inclusion?log=tenant/acme&seq=0",
        &auditor,
        None,
    );
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("seq_invalid"))
    );
    let r = s.send("GET", "/v1/audit/checkpoint?log=../vault", &auditor, None);
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("log_invalid"))
    );
    let r = s.send("GET", "/v1/audit/checkpoint?log=tenant/acme", &op, None);
    assert_eq!(r.status, 403, "operators do not read the audit log");
    let r = s.send("GET", "/openapi.json", "", None);
    assert!(
        r.body["paths"]
            .get("/v1/audit/proofs/consistency")
            .is_some()
    );
    drop(s);

    // The auditor keeps a checkpoint, then verifies a copy offline with the
    // published key: no root key, no signing key in the copy.
    let kept = v.ok(&["audit", "checkpoint", "--log", "tenant/acme"]);
    let kept_file = v.dir.path().join("kept.note");
    std::fs::write(&kept_file, kept["note"].as_str().unwrap()).unwrap();
    let copy = v.dir.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    // Only the configuration and the log: the key comes from --key.
    std::fs::copy(v.data().join("mamori.toml"), copy.join("mamori.toml")).unwrap();
    // A consistent copy of a live SQLite database, the way a backup is made.
    rusqlite::Connection::open(v.data().join("audit.db"))
        .unwrap()
        .execute("VACUUM INTO ?1", [copy.join("audit.db").to_str().unwrap()])
        .unwrap();
    let out = v.cmd_in(
        &copy,
        &[
            "--json",
            "audit",
            "verify",
            "--key",
            &key.to_vkey(),
            "--trusted-checkpoint",
            kept_file.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    // Someone else's key: the checkpoints are not ours; exit code 3.
    let other = mamori_audit::checkpoint::Signer::from_seed("mamori-other", &[1; 32]).unwrap();
    let out = v.cmd_in(
        &copy,
        &["audit", "verify", "--key", &other.verifier().to_vkey()],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn an_auditor_draws_a_reproducible_sample_with_proofs() {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = crate::common::csv_of(v.dir.path(), "p.csv", 3, 50);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let op = v.user("op", "operator", &["acme/own"]);
    let people: Vec<_> = mamori_synth::Generator::new(3).take(30).collect();
    let s = v.serve();
    for (i, p) in people.iter().enumerate() {
        let case = format!("C-{i}");
        let body =
            serde_json::json!({"purpose": "inquiry", "case_id": case, "by": {"phone": p.mobile}});
        let r = s.send("POST", "/v1/tenants/acme/records/search", &op, Some(body));
        assert_eq!(r.status, 200);
    }
    drop(s); // SIGKILL: the reads of its last second were never signed
    v.ok(&["tenant", "list"]); // the next process to start signs the tail
    let report = v.ok(&["audit", "verify", "--log", "tenant/acme"]);
    let acme = &report["logs"][0];
    assert_eq!(acme["signed_size"], acme["events"], "{report}");
    let key =
        Verifier::parse(&std::fs::read_to_string(v.data().join("audit.key.pub")).unwrap()).unwrap();
    let draw = |seed: &str, n: &str| {
        v.ok(&[
            "audit",
            "sample",
            "--n",
            n,
            "--seed",
            seed,
            "--log",
            "tenant/acme",
        ])
    };
    let a = draw("surprise-2026-11", "8");
    let b = draw("surprise-2026-11", "8");
    assert_eq!(a, b, "the same seed draws the same sample");
    assert_eq!(a["seed"], "surprise-2026-11");
    let population = a["population"].as_u64().unwrap();
    assert_eq!(population, 31, "every search and the import, once signed");
    let events = a["events"].as_array().unwrap();
    assert_eq!(events.len(), 8);
    let other = draw("another-seed", "8");
    assert_ne!(a["events"], other["events"], "another seed, another sample");

    // Each event is an access event, proven under the signed checkpoint,
    // by the auditor alone: the event's canonical bytes, the proof, the key.
    let cp = &a["checkpoints"].as_array().unwrap()[0];
    let signed = key.open(cp["note"].as_str().unwrap()).unwrap();
    for e in events {
        let event: mamori_audit::SealedEvent = serde_json::from_value(e["event"].clone()).unwrap();
        assert!(
            event.event.action.starts_with("record."),
            "{}",
            event.event.action
        );
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(e["event_bytes"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            bytes,
            event.canonical(),
            "the stored bytes are the canonical ones"
        );
        let leaf = leaf_hash(&bytes);
        let seq = e["seq"].as_u64().unwrap();
        assert!(seq <= signed.size);
        verify_inclusion(
            &leaf,
            seq - 1,
            signed.size,
            &hashes(&e["proof"]),
            &signed.root,
        )
        .unwrap();
    }
    // More than there are: all of them. A period before anything: none.
    let all = draw("x", "1000");
    assert_eq!(all["events"].as_array().unwrap().len() as u64, population);
    let none = v.ok(&["audit", "sample", "--to", "2020-01-01", "--seed", "x"]);
    assert_eq!(none["population"], 0);
    // Without a seed, a fresh one is chosen and reported.
    let fresh = v.ok(&["audit", "sample", "--n", "3"]);
    assert_eq!(fresh["seed"].as_str().unwrap().len(), 32);
    let bad = v.run(&["audit", "sample", "--from", "yesterday"]);
    assert!(!bad.status.success());
}
