//! Witnesses through the real binary: a vault offers its checkpoints to a
//! `mamori witness serve` on another port and to a witness directory; after
//! its audit database is rolled back to an older copy, `audit verify` on
//! its own passes (nothing inside the database betrays it) but fails against
//! either witness, and the witness refuses the rolled-back log's new
//! checkpoints. The protocol's answers (200, 400, 403, 404, 409, 422) are
//! checked over HTTP.

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Output},
    time::{Duration, Instant},
};

use crate::common::{BIN, TestVault};
use base64::Engine;
use mamori_audit::{
    checkpoint::{Checkpoint, CosignatureVerifier, Signer},
    proofs,
};
use serde_json::Value;

struct WitnessServer {
    child: Child,
    base: String,
    key: String,
}

impl Drop for WitnessServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mamori(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("MAMORI_LOG", "warn")
        .output()
        .expect("run mamori")
}

/// `mamori witness init` and `serve` in `dir`, following `log_key`.
fn witness(dir: &Path, log_key: &str) -> WitnessServer {
    mamori_audit::tls::install_provider();
    let d = dir.to_str().unwrap();
    let out = mamori(&[
        "--json",
        "witness",
        "init",
        "--dir",
        d,
        "--name",
        "witness.test/w1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = serde_json::from_slice::<Value>(&out.stdout).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    // A second init must not replace the key.
    assert!(
        !mamori(&["witness", "init", "--dir", d, "--name", "x"])
            .status
            .success()
    );
    let port = crate::common::free_port();
    let child = Command::new(BIN)
        .args([
            "witness",
            "serve",
            "--dir",
            d,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--log-key", log_key])
        .env("MAMORI_LOG", "warn")
        .stdout(crate::common::stdio_null())
        .stderr(crate::common::stdio_null())
        .spawn()
        .expect("start witness");
    let w = WitnessServer {
        child,
        base: format!("http://127.0.0.1:{port}"),
        key,
    };
    let start = Instant::now();
    while reqwest::blocking::get(format!("{}/health", w.base)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "witness did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    w
}

fn log_key(v: &TestVault) -> String {
    std::fs::read_to_string(v.data().join("audit.key.pub"))
        .unwrap()
        .trim()
        .to_owned()
}

/// What the witness holds for the vault's `system` log.
fn held_size(w: &WitnessServer, prefix: &str) -> u64 {
    let held: Vec<Value> =
        reqwest::blocking::get(format!("{}/checkpoints?prefix={prefix}", w.base))
            .unwrap()
            .json()
            .unwrap();
    held.iter()
        .find(|h| h["origin"].as_str().unwrap().ends_with("/system"))
        .map(|h| h["size"].as_u64().unwrap())
        .unwrap_or(0)
}

fn copy_audit_db(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in ["audit.db", "audit.db-wal", "audit.db-shm"] {
        let _ = std::fs::remove_file(to.join(f));
        if from.join(f).exists() {
            std::fs::copy(from.join(f), to.join(f)).unwrap();
        }
    }
}

#[test]
fn a_rolled_back_audit_log_is_caught_by_its_witnesses() {
    let mut v = TestVault::new();
    let key = log_key(&v);
    let name = key.split('+').next().unwrap().to_owned();
    let w = witness(&v.dir.path().join("witness"), &key);
    let worm = v.dir.path().join("worm");
    v.env.push((
        "MAMORI_AUDIT_WITNESSES".into(),
        format!("{},{}", w.base, worm.display()),
    ));

    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    v.ok(&["user", "create", "op1", "--role", "operator"]);
    let before = held_size(&w, &format!("{name}/"));
    assert!(before > 0, "the witness got the first checkpoint");
    let backup = v.dir.path().join("backup");
    copy_audit_db(&v.data(), &backup);

    v.ok(&["user", "create", "op2", "--role", "operator"]);
    v.ok(&["tenant", "create", "beta", "--name", "ベータ"]);
    let grown = held_size(&w, &format!("{name}/"));
    assert!(grown > before, "{grown} > {before}");

    // The vault keeps the witness's cosignature beside its checkpoint: the
    // checkpoint it hands out proves itself to anyone trusting the witness.
    let cp = v.ok(&["audit", "checkpoint", "--log", "system"]);
    let note = cp["note"].as_str().unwrap();
    CosignatureVerifier::parse(&w.key)
        .unwrap()
        .cosigned(note)
        .unwrap_or_else(|e| panic!("{e}: {note}"));
    let wk = w.key.clone();
    let (code, text) = v.verify(&["--witness", &w.base, "--witness-key", &wk]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = v.verify(&["--witness", worm.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    // A witness key that is not this witness's: its checkpoints are refused.
    let other = mamori_audit::checkpoint::Cosigner::from_seed("witness.test/w1", &[5; 32]).unwrap();
    let (code, text) = v.verify(&[
        "--witness",
        &w.base,
        "--witness-key",
        &other.verifier().to_vkey(),
    ]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("not cosigned"), "{text}");

    // The administrator restores the older copy of the audit database.
    copy_audit_db(&backup, &v.data());
    let (code, text) = v.verify(&[]);
    assert_eq!(code, 0, "alone, a rolled-back log still verifies: {text}");
    for witness in [w.base.as_str(), worm.to_str().unwrap()] {
        let (code, text) = v.verify(&["--witness", witness]);
        assert_eq!(code, 3, "{witness}: {text}");
        assert!(text.contains("BROKEN") && text.contains("system"), "{text}");
    }

    // The vault keeps working, but the witnesses refuse its new history.
    let out = v.run(&["user", "create", "op3", "--role", "operator"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rolled back"), "{stderr}");
    assert_eq!(held_size(&w, &format!("{name}/")), grown);

    // A running server says so on /metrics: the rollback alarm to wire up.
    let s = v.serve();
    let start = Instant::now();
    loop {
        let m = s.metrics();
        let alarm = m.lines().any(|l| {
            l.starts_with("mamori_audit_witness_refused_logs{")
                && l.contains(&w.base)
                && !l.ends_with(" 0")
        });
        if alarm {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "{m}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_dead_witness_never_blocks_the_vault() {
    let mut v = TestVault::new();
    let port = crate::common::free_port();
    v.env.push((
        "MAMORI_AUDIT_WITNESSES".into(),
        format!("http://127.0.0.1:{port}"),
    ));
    let start = Instant::now();
    let out = v.run(&["tenant", "create", "acme", "--name", "アクメ"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(start.elapsed() < Duration::from_secs(15));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not witnessed yet"));
    // An https witness without a CA to trust is refused at start.
    v.env.pop();
    v.env
        .push(("MAMORI_AUDIT_WITNESSES".into(), "https://w.example".into()));
    let out = v.run(&["tenant", "list"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CA certificate"));
}

#[test]
fn the_witness_answers_as_the_protocol_says() {
    let v = TestVault::new();
    let key = log_key(&v);
    let w = witness(&v.dir.path().join("witness"), &key);
    let cosigner = CosignatureVerifier::parse(&w.key).unwrap();
    v.ok(&["user", "create", "op0", "--role", "operator"]);
    let first = v.ok(&["audit", "checkpoint", "--log", "system"]);
    let (n1, note1) = (
        first["size"].as_u64().unwrap(),
        first["note"].as_str().unwrap().to_owned(),
    );
    let http = reqwest::blocking::Client::new();
    let post = |body: String| {
        let r = http
            .post(format!("{}/add-checkpoint", w.base))
            .body(body)
            .send()
            .unwrap();
        let ct = r
            .headers()
            .get("content-type")
            .map(|h| h.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (r.status().as_u16(), ct, r.text().unwrap())
    };

    // Accepted from zero: the answer is a cosignature on the checkpoint.
    let (status, _, body) = post(format!("old 0\n\n{note1}"));
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("\u{2014} witness.test/w1 "));
    cosigner.cosigned(&format!("{note1}{body}")).unwrap();
    // Again from zero: 409 with the size the witness holds.
    let (status, ct, body) = post(format!("old 0\n\n{note1}"));
    assert_eq!(
        (status, ct.as_str(), body.as_str()),
        (409, "text/x.tlog.size", &*format!("{n1}\n"))
    );
    // Malformed.
    assert_eq!(post("old x\n\n".into()).0, 400);
    assert_eq!(post(format!("old {}\n\n{note1}", n1 + 1)).0, 400);
    // Signed by another key under the same name: 403. Another name: 404.
    let cp = Checkpoint::parse_body(&format!("{}\n", note1.split("\n\n").next().unwrap())).unwrap();
    let forger = Signer::from_seed(key.split('+').next().unwrap(), &[9; 32]).unwrap();
    assert_eq!(
        post(format!("old 0\n\n{}", forger.sign(&cp).unwrap())).0,
        403
    );
    let stranger = Signer::from_seed("stranger", &[9; 32]).unwrap();
    let elsewhere = Checkpoint {
        origin: "stranger/system".into(),
        ..cp.clone()
    };
    assert_eq!(
        post(format!("old 0\n\n{}", stranger.sign(&elsewhere).unwrap())).0,
        404
    );

    // The log grows; a wrong proof is 422, the right one is accepted.
    v.ok(&["user", "create", "op1", "--role", "operator"]);
    let second = v.ok(&["audit", "checkpoint", "--log", "system"]);
    let (n2, note2) = (
        second["size"].as_u64().unwrap(),
        second["note"].as_str().unwrap().to_owned(),
    );
    let store = mamori_app::stores::open_audit(&v.data()).unwrap();
    let proof = proofs::consistency(&*store, "system", n1, n2)
        .unwrap()
        .unwrap();
    let b64 = |h: &[u8; 32]| base64::engine::general_purpose::STANDARD.encode(h);
    let mut wrong = proof.clone();
    wrong[0][0] ^= 1;
    let lines = |p: &[[u8; 32]]| {
        p.iter()
            .map(|h| format!("{}\n", b64(h)))
            .collect::<String>()
    };
    assert_eq!(post(format!("old {n1}\n{}\n{note2}", lines(&wrong))).0, 422);
    let (status, _, body) = post(format!("old {n1}\n{}\n{note2}", lines(&proof)));
    assert_eq!(status, 200, "{body}");
    // Rolling back to the first checkpoint: 409, the witness holds n2.
    let (status, _, body) = post(format!("old {n1}\n\n{note1}"));
    assert_eq!((status, body), (409, format!("{n2}\n")));
}

/// A TLS endpoint with the test certificate that answers every request
/// with `body` (JSON), for `connections` connections.
fn tls_json_server(body: &'static str, connections: usize) -> (u16, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};

    let config = crate::common::tls_server_config();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        for _ in 0..connections {
            let (tcp, _) = listener.accept().unwrap();
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut s = rustls::StreamOwned::new(conn, tcp);
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(n) if n > 0 => req.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
            if req.is_empty() {
                continue; // the handshake failed: a client that does not trust us
            }
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            s.conn.send_close_notify();
            let _ = s.flush();
        }
    });
    (port, server)
}

#[test]
fn an_https_witness_is_trusted_only_through_the_given_ca() {
    let v = TestVault::new();
    v.ok(&["user", "create", "op0", "--role", "operator"]);
    let tls = crate::common::tls_dir();
    let (port, server) = tls_json_server("[]", 2);
    let url = format!("https://localhost:{port}");
    // Trusting another certificate than the witness's CA: refused.
    let wrong = tls.join("server.pem");
    let (code, text) = v.verify(&["--witness", &url, "--witness-ca", wrong.to_str().unwrap()]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("cannot read the witness"), "{text}");
    // Through the right CA: the witness answers (it holds nothing yet).
    let ca = tls.join("ca.pem");
    let (code, text) = v.verify(&["--witness", &url, "--witness-ca", ca.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    server.join().unwrap();
    // No CA at all: refused before connecting.
    let (code, text) = v.verify(&["--witness", &url]);
    assert_ne!(code, 0);
    assert!(text.contains("CA certificate"), "{text}");
}
