//! The test OpenID Provider (`tests/op/op.mjs`, panva's oidc-provider on
//! Node.js) started on a loopback port and stopped by PID, and a user agent
//! that signs a fixture account in through it. Shared by this crate's tests
//! and the end-to-end tests (`#[path]`-included).
#![allow(dead_code)]

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

pub fn op_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../identity/tests/op")
}

/// Node.js and the pinned packages, or a SKIPPED banner (CI installs both
/// and fails on any SKIPPED).
pub fn ready() -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let packages = op_dir().join("node_modules/oidc-provider").exists();
    if !(node && packages) {
        eprintln!(
            "\n********\n* SKIPPED: the identity provider tests (need node and `npm ci` in crates/identity/tests/op; .ci/run provides them). CI always runs them.\n********"
        );
    }
    node && packages
}

pub struct TestOp {
    child: Child,
    pub issuer: String,
    pub port: u16,
    _fixture: tempfile::NamedTempFile,
    /// Some until dropped: a blocking client is dropped off any async runtime.
    http: Option<reqwest::blocking::Client>,
}

impl TestOp {
    /// Starts the provider with `fixture` (see op.mjs), on `port` (0: any).
    pub fn start(fixture: &serde_json::Value, port: u16) -> TestOp {
        mamori_identity::provider::install_tls();
        let mut f = fixture.clone();
        f["port"] = port.into();
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), f.to_string()).unwrap();
        let mut child = Command::new("node")
            .arg(op_dir().join("op.mjs"))
            .arg(file.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the test OpenID Provider");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut issuer = String::new();
        let mut line = String::new();
        while out.read_line(&mut line).unwrap() > 0 {
            if let Some(i) = line.trim().strip_prefix("issuer ") {
                issuer = i.to_owned();
                break;
            }
            line.clear();
        }
        assert!(!issuer.is_empty(), "the test OpenID Provider did not start");
        let port = issuer.rsplit(':').next().unwrap().parse().unwrap();
        TestOp {
            child,
            issuer,
            port,
            _fixture: file,
            http: Some(
                reqwest::blocking::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap(),
            ),
        }
    }

    fn http(&self) -> &reqwest::blocking::Client {
        self.http.as_ref().unwrap()
    }

    /// An ID token signed as the provider's test endpoint is told.
    pub fn mint(&self, claims: &serde_json::Value, alg: &str, kid: Option<&str>) -> String {
        self.http()
            .post(format!("{}/test/mint", self.issuer))
            .header("content-type", "application/json")
            .body(serde_json::json!({"claims": claims, "alg": alg, "kid": kid}).to_string())
            .send()
            .unwrap()
            .text()
            .unwrap()
    }

    /// Follows `auth_url` through the provider as a browser would, signing
    /// in as `account` (via `login_hint`), and returns the URL the provider
    /// finally sends the browser to (the relying party's callback).
    pub fn sign_in(&self, auth_url: &str, account: &str) -> String {
        let mut jar: HashMap<String, String> = HashMap::new();
        let mut url = format!("{auth_url}&login_hint={account}");
        for _ in 0..10 {
            if !url.starts_with(&self.issuer) {
                return url;
            }
            let cookies: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let resp = self
                .http()
                .get(&url)
                .header("cookie", cookies.join("; "))
                .send()
                .unwrap();
            for c in resp.headers().get_all("set-cookie") {
                let c = c.to_str().unwrap();
                let (kv, _) = c.split_once(';').unwrap_or((c, ""));
                let (k, v) = kv.split_once('=').unwrap();
                jar.insert(k.to_owned(), v.to_owned());
            }
            let status = resp.status().as_u16();
            let next = resp
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            match next {
                Some(l) if l.starts_with('/') => url = format!("{}{l}", self.issuer),
                Some(l) => url = l,
                None => panic!("the provider answered {status}: {}", resp.text().unwrap()),
            }
        }
        panic!("the provider kept redirecting");
    }
}

/// A query parameter of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl Drop for TestOp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(http) = self.http.take() {
            let _ = std::thread::spawn(move || drop(http)).join();
        }
    }
}
