//! An access review end to end: the security office opens a campaign with
//! the CLI, the supervisor reviews over HTTP with the evidence in front of
//! them, a revocation takes effect at once, and closing the campaign
//! revokes what nobody vouched for.

use chrono::Utc;
use mamori_core::jst;
use serde_json::{Value, json};

use crate::common::{TestVault, csv_of};

fn assignments(v: &TestVault, login: &str) -> Vec<String> {
    let users = v.ok(&["user", "list"]);
    let me = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == login)
        .unwrap();
    serde_json::from_value(me["assignments"].clone()).unwrap()
}

#[test]
fn a_campaign_is_reviewed_over_http_and_closed_with_the_cli() {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = csv_of(v.dir.path(), "p.csv", 5, 20);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let so = v.officer();
    let sv = v.user("sv", "supervisor", &[]);
    let op1 = v.user_with("op1", "operator", &["acme/own"], &["--manager", "sv"]);
    v.user_with(
        "op2",
        "operator",
        &["acme/own", "acme/collab"],
        &["--manager", "sv"],
    );

    let deadline = jst::date(Utc::now().timestamp() + 14 * 86_400)
        .unwrap()
        .to_string();
    let opened = v.ok_as(
        &so,
        &[
            "review",
            "open",
            "--title",
            "第4四半期 点検",
            "--deadline",
            &deadline,
        ],
    );
    assert_eq!(opened["items"], 3);
    let campaign = opened["id"].as_str().unwrap().to_owned();
    // Only the security office opens campaigns.
    let refused = v.run_as(
        &sv,
        &["review", "open", "--title", "x", "--deadline", &deadline],
    );
    assert!(!refused.status.success());

    let s = v.serve();
    let items = s.send("GET", "/v1/reviews/items", &sv, None);
    assert_eq!(items.status, 200, "{:?}", items.body);
    let items = items.body.as_array().unwrap().clone();
    assert_eq!(items.len(), 3);
    let collab: &Value = items.iter().find(|i| i["target"] == "collab").unwrap();
    assert_eq!(collab["evidence"]["recommendation"], "revoke", "never used");
    let path = format!(
        "/v1/reviews/items/{}/decide",
        collab["id"].as_str().unwrap()
    );
    let body = json!({"verdict": "revoke", "reason": "提携先顧客の対応は担当外"});
    // The reviewee cannot see their own item; the reviewer decides once.
    let op2 = s.send("GET", "/v1/reviews/items?everyone=true", &op1, None);
    assert!(
        op2.body
            .as_array()
            .is_none_or(|a| a.iter().all(|i| i["login"] != "op1"))
    );
    let r = s.send("POST", &path, &sv, Some(body.clone()));
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["applied"], "revoked");
    let again = s.send("POST", &path, &sv, Some(body));
    assert_eq!(again.status, 409);
    assert_eq!(again.body["code"], "review_decided");
    let bad = s.send(
        "POST",
        &path,
        &sv,
        Some(json!({"verdict": "maybe", "reason": "x"})),
    );
    assert_eq!(bad.status, 400);
    assert!(!bad.body.to_string().contains("maybe"), "no value echoed");
    let stats = s.send(
        "GET",
        &format!("/v1/reviews/campaigns/{campaign}/stats"),
        &so,
        None,
    );
    assert_eq!(stats.status, 200, "{:?}", stats.body);
    assert_eq!(stats.body["reviewers"][0]["revoked"], 1);
    assert_eq!(
        s.send(
            "GET",
            &format!("/v1/reviews/campaigns/{campaign}/stats"),
            &sv,
            None
        )
        .status,
        403
    );
    s.stop();
    assert_eq!(assignments(&v, "op2"), ["acme/own"]);

    // Closing now: the two items nobody decided are revoked by default.
    let closed = v.ok_as(&so, &["review", "close", &campaign]);
    assert_eq!(
        (closed["items"].as_u64(), closed["decided"].as_u64()),
        (Some(3), Some(3))
    );
    assert!(assignments(&v, "op1").is_empty() && assignments(&v, "op2").is_empty());
    let tick = v.ok(&["review", "tick"]);
    assert_eq!(tick["closed"], json!([]));
    // The self-inspection finds the quarter's review done, from the records.
    let today = jst::date(Utc::now().timestamp()).unwrap();
    let (from, to) = (today.to_string(), today.succ_opt().unwrap().to_string());
    v.ok_as(
        &so,
        &[
            "inspect",
            "declare",
            "clean_desk",
            "--statement",
            "全席の施錠とクリアデスクを巡回で確認",
        ],
    );
    let inspection = v.ok_as(&so, &["inspect", "run", "--from", &from, "--to", &to]);
    let probes = inspection["probes"].as_array().unwrap();
    let status = |id: &str| probes.iter().find(|p| p["id"] == id).unwrap()["status"].clone();
    assert_eq!(status("reviews"), "verified");
    assert_eq!(status("clean_desk"), "declared");
    assert_eq!(
        status("reconciliation"),
        "failed",
        "no reconciliation run yet"
    );
    assert!(
        !v.run_as(&op1, &["inspect", "run", "--from", &from, "--to", &to])
            .status
            .success()
    );

    // The egress register: a system administrator asks, the security
    // office approves and publishes the squid list.
    let ad = v.user("ad", "sysadmin", &[]);
    let asked = v.ok_as(
        &ad,
        &[
            "egress",
            "request",
            ".example.co.jp",
            "--purpose",
            "委託元システムへの送信",
        ],
    );
    let id = asked["id"].as_str().unwrap().to_owned();
    assert!(
        !v.run_as(&ad, &["egress", "approve", &id]).status.success(),
        "not the requester's side"
    );
    assert_eq!(
        v.ok_as(&so, &["egress", "approve", &id])["state"],
        "approved"
    );
    let list = v.run_as(&so, &["egress", "publish", "--format", "squid"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("dstdomain .example.co.jp"), "{text}");

    // Every step is in the audit log, and the log still verifies.
    let (code, out) = v.verify(&[]);
    assert_eq!(code, 0, "{out}");
}
