//! A real vault for end-to-end tests: the `mamori` binary over a temporary
//! data directory, and a real server process on a free loopback port.

#![allow(dead_code)]

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_mamori");

/// The token the test servers' metrics scraper presents (`MAMORI_METRICS_TOKEN`).
pub const METRICS_TOKEN: &str = "test-metrics-scraper-token";

pub struct TestVault {
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
    officer: std::cell::OnceCell<String>,
}

impl TestVault {
    /// `mamori init` in a fresh temporary directory.
    pub fn new() -> Self {
        Self::new_with(Vec::new())
    }

    /// `mamori init` with these environment variables, kept for every command.
    pub fn new_with(env: Vec<(String, String)>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let v = Self {
            dir,
            env,
            officer: Default::default(),
        };
        v.ok(&["init"]);
        v
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Every file under the data directory, at any depth.
    pub fn data_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut stack = vec![self.data()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p)
                } else {
                    files.push(p)
                }
            }
        }
        files
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--data-dir")
            .arg(self.data())
            .args(args)
            .env_remove("MAMORI_ROOT_KEY")
            .env("MAMORI_METRICS_TOKEN", METRICS_TOKEN)
            .env("MAMORI_LOG", "warn");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs the binary on another data directory (an auditor's copy), with
    /// none of this vault's key settings.
    pub fn cmd_in(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("--data-dir")
            .arg(dir)
            .args(args)
            .env_remove("MAMORI_ROOT_KEY")
            .env_remove("MAMORI_AUDIT_KEY")
            .env("MAMORI_LOG", "warn")
            .output()
            .expect("run mamori")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run mamori")
    }

    /// Runs with `--json`, asserts success and returns the parsed output.
    /// `mamori export decrypt FILE --identity KEY`: the command's output.
    pub fn decrypt(&self, file: &Path, key: &Path) -> std::process::Output {
        self.run(&[
            "export",
            "decrypt",
            file.to_str().unwrap(),
            "--identity",
            key.to_str().unwrap(),
        ])
    }

    pub fn ok(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(
            out.status.success(),
            "mamori {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// Runs as the person holding `token` (`MAMORI_TOKEN`), with `--json`.
    pub fn run_as(&self, token: &str, args: &[&str]) -> Output {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.cmd(&all)
            .env("MAMORI_TOKEN", token)
            .output()
            .expect("run mamori")
    }

    /// Like `run_as`, asserting success.
    pub fn ok_as(&self, token: &str, args: &[&str]) -> Value {
        let out = self.run_as(token, args);
        assert!(
            out.status.success(),
            "mamori {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// The token of a security officer who keeps training and vendor records.
    pub fn officer(&self) -> String {
        self.officer
            .get_or_init(|| {
                let v = self.ok(&[
                    "user",
                    "create",
                    "sec-officer",
                    "--role",
                    "security_officer",
                ]);
                v["token"].as_str().expect("token").to_owned()
            })
            .clone()
    }

    /// A vendor with a contract in force and every clause.
    pub fn vendor(&self, id: &str) {
        let officer = self.officer();
        self.ok_as(
            &officer,
            &[
                "vendor",
                "create",
                id,
                "--name",
                "テストBPO株式会社",
                "--from",
                "2020-01-01",
                "--to",
                "2099-01-01",
                "--clauses",
                "confidentiality,subcontracting,liability,return_erasure,audit_rights",
            ],
        );
    }

    /// A person ready to work: created, assigned, and — for roles that read
    /// customer data — trained (and confirmed, when their budget requires it).
    pub fn user(&self, login: &str, role: &str, scopes: &[&str]) -> String {
        self.user_with(login, role, scopes, &[])
    }

    /// `user` with extra `user create` arguments (e.g. `--manager`).
    pub fn user_with(&self, login: &str, role: &str, scopes: &[&str], extra: &[&str]) -> String {
        let mut create = vec!["user", "create", login, "--role", role];
        if role == "vendor_user" {
            if !self
                .ok(&["vendor", "list"])
                .to_string()
                .contains("test-bpo")
            {
                self.vendor("test-bpo");
            }
            create.extend(["--vendor", "test-bpo"]);
        }
        create.extend_from_slice(extra);
        let v = self.ok(&create);
        if ["operator", "backyard", "vendor_user"].contains(&role) {
            let officer = self.officer();
            self.ok_as(
                &officer,
                &[
                    "people",
                    "training",
                    login,
                    "--course",
                    "privacy-basics",
                    "--score",
                    "90",
                ],
            );
            if role == "backyard" {
                self.ok_as(&officer, &["people", "compliance", login]);
            }
        }
        for s in scopes {
            let (t, seg) = s.split_once('/').unwrap_or((s, "*"));
            let mut args = vec!["user", "assign", login, "--tenant", t];
            if seg != "*" {
                args.extend(["--segment", seg]);
            }
            self.ok(&args);
            if seg == "*" {
                // Standing full access: the security office approves the nomination.
                let officer = self.officer();
                self.ok_as(
                    &officer,
                    &["access", "full-access", "approve", login, "--tenant", t],
                );
            }
        }
        v["token"].as_str().expect("token").to_owned()
    }

    /// `mamori audit verify` with `extra` arguments: exit code, stdout and stderr.
    pub fn verify(&self, extra: &[&str]) -> (i32, String) {
        let mut args = vec!["audit", "verify"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    pub fn records(&self, tenant: &str) -> u64 {
        let v = self.ok(&["tenant", "list"]);
        v.as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == tenant)
            .map(|t| t["records"].as_u64().unwrap())
            .unwrap_or(0)
    }

    pub fn serve(&self) -> Server {
        let port = free_port();
        let cmd = self.cmd(&["serve", "--listen", &format!("127.0.0.1:{port}")]);
        self.start_server(cmd, port)
    }

    /// Starts a server from `cmd` (which must listen on `port`), logging to a
    /// file in the test directory, and waits until it answers.
    pub fn start_server(&self, mut cmd: Command, port: u16) -> Server {
        mamori_audit::tls::install_provider();
        let log = self.dir.path().join(format!("server-{port}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = cmd
            .env("MAMORI_LOG", "info")
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start server");
        let mut s = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            http: reqwest::blocking::Client::new(),
        };
        let start = Instant::now();
        while s.http.get(format!("{}/healthz", s.base)).send().is_err() {
            let exited = s.child.try_wait().ok().flatten().is_some();
            assert!(
                !exited && start.elapsed() < Duration::from_secs(20),
                "server did not start: {}",
                std::fs::read_to_string(&s.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }
}

/// A loopback port nobody listens on at the moment.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Server {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
    pub http: reqwest::blocking::Client,
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    /// A header's value as text ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl Server {
    pub fn send(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Resp {
        let url = format!("{}{}", self.base, path);
        let mut req = self
            .http
            .request(method.parse().unwrap(), url)
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().unwrap_or_default();
        Resp {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    pub fn search(
        &self,
        token: &str,
        tenant: &str,
        purpose: Option<&str>,
        key: &str,
        value: &str,
    ) -> Resp {
        let mut body = json!({"case_id": "CASE-1", "by": {key: value}});
        if let Some(p) = purpose {
            body["purpose"] = json!(p);
        }
        self.send(
            "POST",
            &format!("/v1/tenants/{tenant}/records/search"),
            token,
            Some(body),
        )
    }

    pub fn audit(&self, token: &str, query: &str) -> Vec<Value> {
        let r = self.send("GET", &format!("/v1/audit/events?{query}"), token, None);
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body["events"].as_array().unwrap().clone()
    }

    /// The server's `/metrics`, scraped with the test scraper's token.
    pub fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .unwrap()
            .text()
            .unwrap()
    }

    /// Stops with SIGTERM and waits, so every file is closed.
    pub fn stop(mut self) -> String {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes synthetic people as a UTF-8 CSV outside the data directory.
pub fn csv_of(dir: &Path, name: &str, seed: u64, n: u64) -> PathBuf {
    let path = dir.join(name);
    let f = std::fs::File::create(&path).unwrap();
    mamori_synth::write_csv(
        std::io::BufWriter::new(f),
        seed,
        n,
        mamori_synth::Encoding::Utf8,
        |_| {},
    )
    .unwrap();
    path
}

pub fn stdio_null() -> Stdio {
    Stdio::null()
}

/// The test TLS material (`tests/data/tls`).
pub fn tls_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls")
}

/// A TLS server configuration with the test certificate for `localhost`.
pub fn tls_server_config() -> std::sync::Arc<rustls::ServerConfig> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(tls_dir().join("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(tls_dir().join("server.key")).unwrap();
    std::sync::Arc::new(
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    )
}

/// The PostgreSQL database of `MAMORI_TEST_PG_URL`, or None after saying
/// loudly that the test is skipped (CI always sets it).
pub fn pg_url() -> Option<String> {
    use std::io::Write;
    let url = std::env::var("MAMORI_TEST_PG_URL").ok();
    if url.is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "\n********\n* SKIPPED: the PostgreSQL multi-node test (MAMORI_TEST_PG_URL is not set). CI always sets it.\n********"
        );
    }
    url
}

/// A PostgreSQL schema of a test's own, dropped when the test ends.
pub struct PgSchema {
    pub url: String,
    pub name: String,
}

impl PgSchema {
    pub fn new(url: &str, prefix: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Self {
            url: url.to_owned(),
            name: format!("{prefix}_{}_{nanos}", std::process::id()),
        }
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.url, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

/// Every case id of people's requests in the tenant `acme`'s audit log, with
/// how often it occurs. Detection's own events (`alert.raise` by `system`)
/// are left out: after a kill an alert may be recorded again, by design —
/// rather than risk one stored unrecorded.
pub fn audited_cases(data: &Path) -> std::collections::HashMap<String, u32> {
    let store = mamori_app::stores::open_audit(data).unwrap();
    let mut seen = std::collections::HashMap::new();
    let mut after = 0;
    loop {
        let rows = store.scan("tenant/acme", after, 10_000).unwrap();
        let Some(last) = rows.last() else { break };
        after = last.rowid;
        for row in &rows {
            let event: Value = serde_json::from_slice(&row.body).unwrap();
            let by_person = event["actor"]
                .as_str()
                .is_some_and(|a| a.starts_with("user:"));
            if let Some(case) = event["case_id"].as_str().filter(|_| by_person) {
                *seen.entry(case.to_owned()).or_insert(0) += 1;
            }
        }
    }
    seen
}

/// The first alert of `rule` the security office sees, waited for (detection
/// runs beside the server, a moment behind the request).
pub fn first_alert(s: &Server, so: &str, rule: &str) -> Value {
    let start = std::time::Instant::now();
    loop {
        let r = s.send("GET", &format!("/v1/alerts?rule={rule}"), so, None);
        assert_eq!(r.status, 200, "{:?}", r.body);
        if let Some(a) = r.body.as_array().and_then(|l| l.first()).cloned() {
            return a;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(15),
            "no {rule} alert: {}",
            std::fs::read_to_string(&s.log).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
