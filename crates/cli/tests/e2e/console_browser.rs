//! The web console in a real browser: Debian's Chromium driven by
//! playwright-core (`crates/console/tests/browser`, installed from its
//! lockfile by `.ci/run`; it downloads no browser). An operator signs in,
//! looks a customer up with a purpose and a case (masked, watermarked,
//! printing only a notice, nothing in browser storage), is refused with a
//! reason, signs out and finds nothing with the back button — in Japanese
//! and in English; asks for temporary access to a partner's customer, their
//! supervisor approves it in the inbox and the customer then shows; the
//! security office resolves the critical alert a decoy read raised; an
//! auditor searches the log and opens an event's inclusion proof; the
//! supervisor and the security office approve an export (the fingerprint
//! shown), the security office reads its dashboard (SVG charts) in both
//! languages; a system administrator reads the system's health (no
//! customer data); the security office records a course, reads vendors
//! and the decoys, uploads a leaked file and sees who read those customers,
//! opens an access review the supervisor answers; a system
//! administrator is never offered the lookup and is refused it. Every page passes axe-core with no serious or critical
//! violation and logs no CSP violation. Screenshots go to
//! `target/console-screenshots/`.

use std::{path::PathBuf, process::Command};

use serde_json::json;

use crate::common::{self, TestVault, csv_of, first_alert};
use crate::op;

const OIDC_SECRET: &str = "client-secret-for-tests-only-0123456789";

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../console/tests/browser")
}

/// Chromium, Node.js and the pinned packages, or a SKIPPED banner (CI
/// installs all three and fails on any SKIPPED).
fn ready() -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let chromium = std::path::Path::new("/usr/bin/chromium").exists();
    let packages = browser_dir().join("node_modules/playwright-core").exists();
    if !(node && chromium && packages) {
        eprintln!(
            "\n********\n* SKIPPED: the console's browser tests (need node, /usr/bin/chromium and `npm ci` in crates/console/tests/browser; .ci/run provides them). CI always runs them.\n********"
        );
    }
    node && chromium && packages && crate::op::ready()
}

#[test]
fn every_role_does_its_work_in_a_real_browser_in_japanese_and_english() {
    if !ready() {
        return;
    }
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = csv_of(v.dir.path(), "p.csv", 5, 20);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let sv = v.user("sv", "supervisor", &["acme"]);
    let op = v.user_with("op", "operator", &["acme/own"], &["--manager", "sv"]);
    let by = v.user_with("by", "backyard", &["acme"], &["--manager", "sv"]);
    let sa = v.user("sa", "sysadmin", &["acme"]);
    let so = v.officer();
    let au = v.user("au", "auditor", &[]);
    v.ok(&["honey", "plant", "--tenant", "acme", "--n", "1"]);
    let honey = v.ok(&["honey", "list"])[0]["record"]
        .as_str()
        .unwrap()
        .to_owned();
    // People sign in through the organisation's identity provider too: a
    // real OpenID Provider on loopback, which knows the operator as u-op.
    let port = common::free_port();
    let idp = op::TestOp::start(
        &json!({
            "clients": [{"client_id": "mamori", "client_secret": OIDC_SECRET,
                "redirect_uris": [format!("http://127.0.0.1:{port}/console/oidc/callback")]}],
            "accounts": {"u-op": {"preferred_username": "op", "groups": ["g-operators"]}}
        }),
        0,
    );
    let config = v.data().join("mamori.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str(&format!(
        "\n[[identity.oidc]]\nname = \"corp\"\nlabel = \"Corp ID\"\nissuer = \"{}\"\nclient_id = \"mamori\"\nclient_secret_env = \"MAMORI_TEST_OIDC_SECRET\"\nredirect_uri = \"http://127.0.0.1:{port}/console/oidc/callback\"\nscopes = [\"openid\", \"profile\", \"groups\"]\nroles = {{ \"g-operators\" = \"operator\" }}\n",
        idp.issuer
    ));
    std::fs::write(&config, toml).unwrap();
    v.ok(&[
        "user",
        "link",
        "op",
        "--provider",
        "corp",
        "--subject",
        "u-op",
    ]);
    let mut cmd = v.cmd(&["serve", "--listen", &format!("127.0.0.1:{port}")]);
    cmd.env("MAMORI_TEST_OIDC_SECRET", OIDC_SECRET);
    let s = v.start_server(cmd, port);
    let r = s.send(
        "PUT",
        "/v1/tenants/acme/records/C-BROWSER-1",
        &by,
        Some(
            json!({"purpose": "contract_change", "case_id": "T-1", "segment": "own", "fields": {
            "name": "試験 花子", "name_kana": "シケン ハナコ", "phone": "03-5555-0001",
            "address": "大阪府大阪市北区梅田1-1"}}),
        ),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = s.send(
        "PUT",
        "/v1/tenants/acme/records/C-BROWSER-9",
        &by,
        Some(
            json!({"purpose": "contract_change", "case_id": "T-1", "segment": "collab", "fields": {
            "name": "試験 次郎", "name_kana": "シケン ジロウ", "phone": "03-5555-0009",
            "address": "京都府京都市中京区1-1"}}),
        ),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);

    // Reading a decoy raises a critical alert for the security office to handle.
    let r = s.send(
        "GET",
        &format!("/v1/tenants/acme/records/{honey}?purpose=inquiry&case_id=CALL-7"),
        &by,
        None,
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let alert = first_alert(&s, &so, "honey")["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // An export of the own segment waits for two approvals: by's
    // supervisor's and the security office's.
    let r = s.send(
        "POST",
        "/v1/exports",
        &by,
        Some(json!({"tenant": "acme", "segment": "own",
            "fields": ["customer_no", "name", "address"], "purpose": "billing",
            "case_id": "CHG-2026-0412",
            "reason": "料金改定のお知らせを郵送するため印刷会社へ宛名データを渡す",
            "recipient_name": "さくら印刷株式会社",
            "recipient_key": "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"})),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let export = r.body["id"].as_str().unwrap().to_owned();

    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let flows = json!({
        "operator": op, "supervisor": sv, "sysadmin": sa, "officer": so, "alert": alert, "export": export, "auditor": au, "tenant": "acme", "purpose": "inquiry",
        "partner_phone": "０３−５５５５−０００９", "partner_masked": "京都府＊＊＊",
        "case_id": "CALL-1", "phone": "０３（５５５５）０００１",
        "masked": "大阪府＊＊＊", "secret": "梅田",
        "idp": {"label": "Corp ID", "account": "u-op", "login": "op"},
    });
    let out = Command::new("node")
        .arg("flows.js")
        .current_dir(browser_dir())
        .env("MAMORI_URL", &s.base)
        .env("MAMORI_FLOWS", flows.to_string())
        .env("MAMORI_SHOTS", &shots)
        .output()
        .expect("run node");
    let log = s.stop();
    assert!(
        out.status.success(),
        "browser flows failed:\n{}\n{}\nserver log:\n{log}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for name in [
        "ja-lookup",
        "en-lookup",
        "ja-sysadmin-refused",
        "ja-inbox",
        "ja-granted",
        "ja-dashboard",
        "en-dashboard",
        "ja-export",
        "ja-export-ready",
        "ja-system",
        "ja-people",
        "ja-person",
        "ja-honey",
        "ja-reviews",
        "ja-review-items",
        "ja-directives",
        "ja-leak",
        "ja-leak-notice",
        "ja-reconciliation",
        "ja-oversight",
        "ja-egress",
        "ja-idp-login",
        "ja-idp-signed-in",
    ] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}.png");
    }
}
