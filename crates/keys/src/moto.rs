//! A local AWS of one's own for the `kms` provider: moto's server (from
//! PyPI) on a free loopback port, stopped by its PID, with request
//! signatures and IAM policies checked (`INITIAL_NO_AUTH_ACTION_COUNT`:
//! only the first requests, which make the IAM user, go unsigned) — for
//! the tests, and for trying the provider out. The tests take moto's
//! Python from MAMORI_TEST_MOTO (`.ci/run` installs moto and sets it);
//! boto3, which moto brings, makes users and keys.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::{KmsConfig, KmsCredentials};

/// The region every test key is in.
pub const REGION: &str = "ap-northeast-1";

/// Python run with boto3 against the server: `args` as JSON on stdin, the
/// answer as JSON on stdout.
const BOTO: &str = r#"
import json, sys, boto3
a = json.load(sys.stdin)
kw = dict(endpoint_url=a["endpoint"], region_name=a["region"],
          aws_access_key_id=a["id"], aws_secret_access_key=a["secret"])
iam, kms = boto3.client("iam", **kw), boto3.client("kms", **kw)
op = a["op"]
if op == "user":
    iam.create_user(UserName=a["name"])
    k = iam.create_access_key(UserName=a["name"])["AccessKey"]
    iam.put_user_policy(UserName=a["name"], PolicyName="p", PolicyDocument=json.dumps(a["policy"]))
    out = {"id": k["AccessKeyId"], "secret": k["SecretAccessKey"]}
elif op == "key":
    opts = {"KeyUsage": a["usage"], "KeySpec": a["spec"]} if a.get("usage") else {}
    out = {"arn": kms.create_key(Description="mamori root", **opts)["KeyMetadata"]["Arn"]}
elif op == "disable":
    kms.disable_key(KeyId=a["key"].split("/")[-1]); out = {}
elif op == "revoke":
    iam.delete_access_key(UserName=a["name"], AccessKeyId=a["key"]); out = {}
json.dump(out, sys.stdout)
"#;

/// A moto server with an administrator of its own.
pub struct Moto {
    child: Child,
    python: PathBuf,
    pub endpoint: String,
    admin: KmsCredentials,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// moto's server on a free loopback port, once it answers, and an IAM
    /// administrator made with its only unsigned requests.
    pub fn start(python: &Path) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            // CreateUser, CreateAccessKey and PutUserPolicy of the
            // administrator; every later request must be signed and allowed.
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "3")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let endpoint = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut moto = Moto {
            child,
            python: python.to_owned(),
            endpoint,
            admin: KmsCredentials {
                access_key_id: "bootstrap".into(),
                secret_access_key: Zeroizing::new("bootstrap".into()),
                session_token: None,
            },
        };
        let admin = moto.user(
            "admin",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        );
        moto.admin = admin;
        moto
    }

    fn boto(&self, mut args: Value) -> Value {
        args["endpoint"] = self.endpoint.clone().into();
        args["region"] = REGION.into();
        args["id"] = self.admin.access_key_id.clone().into();
        args["secret"] = self.admin.secret_access_key.as_str().into();
        let mut child = Command::new(&self.python)
            .args(["-c", BOTO])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run boto3");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(args.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "boto3 {}", args["op"]);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// An IAM user with `policy`, and an access key of theirs.
    pub fn user(&self, name: &str, policy: Value) -> KmsCredentials {
        let k = self.boto(json!({"op": "user", "name": name, "policy": policy}));
        KmsCredentials {
            access_key_id: k["id"].as_str().unwrap().to_owned(),
            secret_access_key: Zeroizing::new(k["secret"].as_str().unwrap().to_owned()),
            session_token: None,
        }
    }

    /// A user allowed `actions` of KMS, as docs/deploy.md's policy allows
    /// mamori (there on the key's ARN; moto checks the actions of a policy
    /// but not KMS resources, so here on every key).
    pub fn user_allowed(&self, name: &str, actions: &[&str]) -> KmsCredentials {
        self.user(
            name,
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Action": actions, "Resource": "*"}]}),
        )
    }

    /// A user with mamori's three actions.
    pub fn user_for(&self, name: &str) -> KmsCredentials {
        self.user_allowed(name, &["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"])
    }

    /// A new symmetric encryption key, made with the defaults (as `aws kms
    /// create-key` makes one); its ARN.
    pub fn key(&self) -> String {
        let k = self.boto(json!({"op": "key"}));
        k["arn"].as_str().unwrap().to_owned()
    }

    pub fn key_of(&self, usage: &str, spec: &str) -> String {
        let k = self.boto(json!({"op": "key", "usage": usage, "spec": spec}));
        k["arn"].as_str().unwrap().to_owned()
    }

    pub fn disable(&self, key: &str) {
        self.boto(json!({"op": "disable", "key": key}));
    }

    /// Deletes a user's access key: requests signed with it are refused.
    pub fn revoke(&self, user: &str, c: &KmsCredentials) {
        self.boto(json!({"op": "revoke", "name": user, "key": c.access_key_id}));
    }

    pub fn config(&self, key: &str) -> KmsConfig {
        KmsConfig {
            key_id: key.into(),
            region: REGION.into(),
            endpoint: self.endpoint.clone(),
            ..KmsConfig::default()
        }
    }
}
