//! The served API against its own description: Schemathesis (from PyPI,
//! pinned with hashes in `.ci/schemathesis.txt`; `.ci/run` installs it and
//! names it in `MAMORI_SCHEMATHESIS`) runs all its checks on every operation
//! of `/openapi.json`, once with each role's token, and finds no failure —
//! every status, content type, header and body as documented, every
//! schema-invalid request refused, no server error. The few operations that
//! may refuse a well-formed body for its meaning are named, with the reason,
//! in `tests/data/schemathesis.toml`.

use std::{path::PathBuf, process::Command, time::Instant};

use crate::common::*;
use serde_json::Value;

/// Examples per operation and phase: enough for every documented parameter
/// and body member to be varied, few enough for CI (seven roles).
const EXAMPLES: &str = "30";

/// The Schemathesis executable, or None after saying loudly that the test
/// is skipped (CI always sets it).
fn schemathesis() -> Option<PathBuf> {
    use std::io::Write;
    let path = std::env::var_os("MAMORI_SCHEMATHESIS").map(PathBuf::from);
    if path.is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "\n********\n* SKIPPED: the API conformance test (MAMORI_SCHEMATHESIS is not set; .ci/run installs Schemathesis and sets it). CI always sets it.\n********"
        );
    }
    path
}

fn config() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/schemathesis.toml")
}

/// The demo vault (two tenants, one person per role) served on a free
/// port, and the demo's users as it printed them.
fn demo() -> (TestVault, Server, Vec<Value>) {
    let v = TestVault::new();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let cmd = v.cmd(&["--json", "demo", "--records", "40", "--listen", &listen]);
    let server = v.start_server(cmd, port);
    let log = std::fs::read_to_string(&server.log).expect("server log");
    let printed: Value = log
        .lines()
        .find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(|j| j["users"].is_array())
        })
        .expect("the demo prints its users");
    let users = printed["users"].as_array().cloned().unwrap_or_default();
    assert_eq!(users.len(), 8, "one person (or machine) per role");
    (v, server, users)
}

#[test]
fn every_role_finds_the_api_as_described() {
    let Some(st) = schemathesis() else { return };
    let (v, server, users) = demo();
    let mut failed = Vec::new();
    for user in &users {
        let login = user["login"].as_str().unwrap_or_default();
        let token = user["token"].as_str().unwrap_or_default();
        let report = v.dir.path().join(format!("schemathesis-{login}.txt"));
        let start = Instant::now();
        let run = || {
            // Schemathesis keeps a cache of what it found in the directory it
            // runs in: the test's own, not the source tree.
            let out = Command::new(&st)
                .current_dir(v.dir.path())
                .arg("--config-file")
                .arg(config())
                .args(["run", &format!("{}/openapi.json", server.base)])
                .args([
                    "--checks",
                    "all",
                    "--max-examples",
                    EXAMPLES,
                    "--seed",
                    "22",
                ])
                .args(["--generation-deterministic", "--no-color", "--workers", "1"])
                .args(["--header", &format!("Authorization: Bearer {token}")])
                .output()
                .expect("run schemathesis");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            (out, text)
        };
        let (mut out, mut text) = run();
        // CPython 3.11's ast module can raise a spurious "AST constructor
        // recursion depth mismatch" when two threads parse at once (CPython
        // gh-106905, fixed in later versions); Hypothesis parses in each
        // worker. One worker avoids the race (and, without the reruns two
        // workers needed, is no slower: 195 s for the eight roles against
        // ~300 s); should it still happen, that is the tool failing, not the
        // API: such a run, with no finding of its own, is run once more. Any
        // finding fails at once.
        if !out.status.success()
            && text.contains("AST constructor recursion depth mismatch")
            && !text.contains("FAILURES")
        {
            eprintln!("schemathesis as {login}: CPython gh-106905 in the tool; running again");
            (out, text) = run();
        }
        std::fs::write(&report, &text).expect("report");
        eprintln!(
            "schemathesis as {login}: exit {:?} in {:.0} s",
            out.status.code(),
            start.elapsed().as_secs_f64()
        );
        if !out.status.success() {
            failed.push(format!("--- as {login} ---\n{text}"));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
