//! Shipping the audit log to a SIEM through the real binary: JSON lines to a
//! file with a cursor (nothing twice, nothing skipped), RFC 5424 over TCP
//! with octet counting, CEF over UDP, a dead receiver that loses nothing
//! once it is back, and a follower that ships events as they are appended.

use std::{
    collections::HashSet,
    io::Read,
    net::{TcpListener, UdpSocket},
    process::Command,
    time::{Duration, Instant},
};

use crate::common::{BIN, TestVault};
use serde_json::Value;

/// How many events all logs hold, by `audit verify`.
fn total_events(v: &TestVault) -> u64 {
    v.ok(&["audit", "verify"])["events"].as_u64().unwrap()
}

fn vault_with_events() -> TestVault {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    v.ok(&["user", "create", "op1", "--role", "operator"]);
    v
}

fn ship(v: &TestVault, args: &[&str]) -> std::process::Output {
    let mut all = vec!["audit", "ship"];
    all.extend_from_slice(args);
    v.run(&all)
}

/// (log, seq) of each JSON line.
fn keys(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .map(|l| {
            let e: Value = serde_json::from_str(l).unwrap();
            (
                e["log"].as_str().unwrap().to_owned(),
                e["seq"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn json_lines_to_a_file_resume_from_the_cursor() {
    let v = vault_with_events();
    let file = v.dir.path().join("siem.jsonl");
    let f = file.to_str().unwrap();
    let out = ship(&v, &["--format", "jsonl", "--to", f]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = keys(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(first.len() as u64, total_events(&v));
    // Again: nothing new, nothing sent twice.
    let out = ship(&v, &["--format", "jsonl", "--to", f]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("shipped 0"));
    v.ok(&["user", "create", "op2", "--role", "operator"]);
    assert!(ship(&v, &["--format", "jsonl", "--to", f]).status.success());
    let all = keys(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(all.len() as u64, total_events(&v));
    assert_eq!(
        all.iter().collect::<HashSet<_>>().len(),
        all.len(),
        "no duplicates"
    );
    assert_eq!(&all[..first.len()], &first[..]);
    // Each line is the event's canonical bytes: its leaf hash is in the log.
    let line = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let leaf = hex::encode(mamori_audit::leaf_hash(line.as_bytes()));
    let store = mamori_app::stores::open_audit(&v.data()).unwrap();
    let (log, seq) = &all[0];
    assert_eq!(
        hex::encode(store.event(log, *seq).unwrap().unwrap().hash),
        leaf
    );
    // Another shipment has its own cursor and starts from the beginning.
    let other = v.dir.path().join("other.jsonl");
    assert!(
        ship(
            &v,
            &[
                "--format",
                "jsonl",
                "--to",
                other.to_str().unwrap(),
                "--name",
                "soc2"
            ]
        )
        .status
        .success()
    );
    assert_eq!(
        keys(&std::fs::read_to_string(&other).unwrap()).len(),
        all.len()
    );
    // Bad input is refused with the reason.
    for (args, why) in [
        (vec!["--format", "xml", "--to", f], "unknown format"),
        (vec!["--to", "tls://siem:6514"], "--ca"),
        (vec!["--to", "ftp://siem:21"], "bad sink"),
        (vec!["--to", "tcp://siem"], "bad sink"),
        (vec!["--to", f, "--name", "../x"], "--name"),
    ] {
        let out = ship(&v, &args);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(why),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Splits RFC 6587 octet-counted frames.
fn frames(mut bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let sp = bytes.iter().position(|b| *b == b' ').unwrap();
        let n: usize = std::str::from_utf8(&bytes[..sp]).unwrap().parse().unwrap();
        out.push(String::from_utf8(bytes[sp + 1..sp + 1 + n].to_vec()).unwrap());
        bytes = &bytes[sp + 1 + n..];
    }
    out
}

#[test]
fn rfc5424_over_tcp_and_a_dead_receiver_loses_nothing() {
    let v = vault_with_events();
    // Nobody listens yet: the run fails, and the cursor does not move.
    let port = crate::common::free_port();
    let to = format!("tcp://127.0.0.1:{port}");
    let out = ship(&v, &["--to", &to]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unavailable"));

    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let receiver = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut bytes = Vec::new();
        conn.read_to_end(&mut bytes).unwrap();
        bytes
    });
    let out = ship(&v, &["--to", &to, "--hostname", "vault-01"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let msgs = frames(&receiver.join().unwrap());
    assert_eq!(
        msgs.len() as u64,
        total_events(&v),
        "everything, once the receiver is back"
    );
    for m in &msgs {
        assert!(
            m.starts_with("<10") && m.contains(" vault-01 mamori - "),
            "{m}"
        );
        assert!(m.contains("[mamori@32473 log=\""), "{m}");
    }
    assert!(
        msgs.iter()
            .any(|m| m.contains(" tenant.create ") && m.contains("tenant=\"acme\""))
    );
}

#[test]
fn cef_over_udp() {
    let v = vault_with_events();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let to = format!("udp://{}", socket.local_addr().unwrap());
    let out = ship(&v, &["--format", "cef", "--to", &to]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = total_events(&v);
    let mut buf = [0u8; 65536];
    for _ in 0..n {
        let len = socket.recv(&mut buf).unwrap();
        let m = std::str::from_utf8(&buf[..len]).unwrap();
        assert!(m.contains(" CEF:0|mamori|mamori|"), "{m}");
        assert!(
            m.contains(" suser=") && m.contains(" cs1Label=log cs1="),
            "{m}"
        );
    }
}

#[test]
fn a_follower_ships_events_as_they_are_appended() {
    let v = vault_with_events();
    let file = v.dir.path().join("follow.jsonl");
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(v.data())
        .args([
            "audit",
            "ship",
            "--follow",
            "--interval-ms",
            "200",
            "--format",
            "jsonl",
            "--to",
        ])
        .arg(&file)
        .env("MAMORI_LOG", "warn")
        .spawn()
        .unwrap();
    let wait_for = |n: u64| {
        let start = Instant::now();
        loop {
            let have = std::fs::read_to_string(&file)
                .map(|t| t.lines().count())
                .unwrap_or(0) as u64;
            if have >= n {
                return have;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{have} of {n} shipped"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(total_events(&v));
    v.ok(&["user", "create", "op2", "--role", "operator"]);
    let n = total_events(&v);
    assert_eq!(wait_for(n), n);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn rfc5424_over_tls_to_a_receiver_signed_by_the_given_ca() {
    let tls = crate::common::tls_dir();
    let config = crate::common::tls_server_config();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let receiver = std::thread::spawn(move || {
        // The first connection is the one with the wrong CA: its handshake fails.
        let mut received = Vec::new();
        for _ in 0..2 {
            let (tcp, _) = listener.accept().unwrap();
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut stream = rustls::StreamOwned::new(conn, tcp);
            let mut bytes = Vec::new();
            let _ = stream.read_to_end(&mut bytes);
            received = bytes;
        }
        received
    });
    let v = vault_with_events();
    let to = format!("tls://localhost:{port}");
    // Without the CA: refused before anything is sent.
    let out = ship(&v, &["--to", &to]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ca"));
    // Trusting another certificate than the receiver's CA: the handshake fails.
    let wrong = tls.join("server.pem");
    let out = ship(&v, &["--to", &to, "--ca", wrong.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("TLS"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ca = tls.join("ca.pem");
    let out = ship(&v, &["--to", &to, "--ca", ca.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let msgs = frames(&receiver.join().unwrap());
    assert_eq!(msgs.len() as u64, total_events(&v));
    assert!(msgs.iter().all(|m| m.contains("[mamori@32473 log=\"")));
}
