//! Just-in-time access through the real server and the real CLI: an operator
//! asks over HTTP, a supervisor approves from the command line, the gate opens
//! exactly the granted fields, and revocation shuts it again.

use crate::common::TestVault;
use serde_json::json;

#[test]
fn request_approve_use_and_revoke_a_grant_over_http_and_cli() {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = crate::common::csv_of(v.dir.path(), "p.csv", 5, 200);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let sv = v.user("sv", "supervisor", &[]);
    let op = v.user_with("op", "operator", &["acme/own"], &["--manager", "sv"]);
    let people: Vec<_> = mamori_synth::Generator::new(5).take(200).collect();
    let partner = people.iter().find(|p| p.segment == "collab").unwrap();
    let s = v.serve();

    let r = s.search(&op, "acme", Some("inquiry"), "phone", &partner.mobile);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["records"], json!([]), "{:?}", r.body);

    // A justification of punctuation is refused (Teleport #20164).
    let mut ask = json!({
        "tenant": "acme", "segment": "collab", "fields": ["customer_no", "name", "phone", "mobile"],
        "purpose": "inquiry", "case_id": "INC-4411", "justification": "。。。",
        "record_budget": 5, "hours": 2
    });
    let r = s.send("POST", "/v1/access/requests", &op, Some(ask.clone()));
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("justification_too_weak"))
    );
    ask["justification"] = json!("コラボ事業者のお客さまから料金プラン変更の問い合わせ");
    let r = s.send("POST", "/v1/access/requests", &op, Some(ask));
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["status"], "pending");
    let id = r.body["id"].as_str().unwrap().to_owned();

    // The requester cannot approve it; their supervisor can, from the CLI.
    let r = s.send(
        "POST",
        &format!("/v1/access/requests/{id}/approve"),
        &op,
        Some(json!({})),
    );
    assert_eq!(r.status, 403, "{:?}", r.body);
    let pending = v.ok_as(&sv, &["access", "list", "--pending"]);
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    let approved = v.ok_as(&sv, &["access", "approve", &id, "--comment", "承認します"]);
    assert_eq!(approved["status"], "active");

    // The grant serves its case (INC-4411): under another it does not apply.
    let r = s.search(&op, "acme", Some("inquiry"), "phone", &partner.mobile);
    assert_eq!(r.body["records"], json!([]), "{:?}", r.body);
    let under_case = || {
        s.send(
            "POST",
            "/v1/tenants/acme/records/search",
            &op,
            Some(json!({"purpose": "inquiry", "case_id": "INC-4411", "by": {"phone": partner.mobile}})),
        )
    };
    let r = under_case();
    assert_eq!(r.status, 200);
    let rec = &r.body["records"][0];
    assert_eq!(rec["fields"]["name"], partner.name);
    assert!(rec["fields"].get("address").is_none(), "not granted: {rec}");

    let r = s.send("GET", &format!("/v1/access/requests/{id}"), &op, None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["records_used"], 1);
    assert_eq!(r.body["history"].as_array().unwrap().len(), 2);

    let r = s.send(
        "POST",
        &format!("/v1/access/requests/{id}/revoke"),
        &sv,
        Some(json!({"comment": "対応完了"})),
    );
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("revoked"))
    );
    let r = under_case();
    assert_eq!(
        r.body["records"],
        json!([]),
        "revocation takes effect at once"
    );

    // Only the security office keeps training records; an operator cannot vouch for themselves.
    let r = s.send(
        "POST",
        "/v1/people/op/training",
        &op,
        Some(json!({"course": "privacy-basics", "score": 100})),
    );
    assert_eq!(r.status, 403);
    let r = s.send("GET", "/openapi.json", "", None);
    assert!(
        r.body["paths"]
            .get("/v1/access/requests/{id}/approve")
            .is_some()
    );
    drop(s);

    // Commands that act as a person say how to identify yourself.
    let out = v.run(&["access", "list"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("MAMORI_TOKEN"));
    assert!(v.ok(&["audit", "verify"])["ok"].as_bool().unwrap());
}

/// Standing full access (A5) through the real binary: the administrator's
/// `user assign --tenant` only nominates; the security office approves over
/// HTTP; the holder then reads every segment until the office revokes it.
#[test]
fn standing_full_access_is_nominated_by_the_admin_and_approved_by_the_security_office() {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = crate::common::csv_of(v.dir.path(), "p.csv", 5, 200);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let by = v.user("by", "backyard", &["acme/own"]);
    let officer = v.officer();
    let people: Vec<_> = mamori_synth::Generator::new(5).take(200).collect();
    let partner = people.iter().find(|p| p.segment == "collab").unwrap();

    let nominated = v.ok(&["user", "assign", "by", "--tenant", "acme"]);
    assert_eq!(nominated["status"], "pending", "{nominated}");
    let text = v.run(&["user", "assign", "by", "--tenant", "acme"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("mamori access full-access approve by --tenant acme"),
        "{text}"
    );

    let s = v.serve();
    let r = s.search(&by, "acme", Some("inquiry"), "phone", &partner.mobile);
    assert_eq!(
        r.body["records"],
        json!([]),
        "a nomination opens nothing: {:?}",
        r.body
    );
    let approve = "/v1/tenants/acme/full-access/by/approve";
    let r = s.send("POST", approve, &by, Some(json!({})));
    assert_eq!(r.status, 403, "nobody approves themselves: {:?}", r.body);
    let r = s.send(
        "POST",
        approve,
        &officer,
        Some(json!({"comment": "料金センター責任者"})),
    );
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("approved")),
        "{:?}",
        r.body
    );
    let r = s.search(&by, "acme", Some("inquiry"), "phone", &partner.mobile);
    assert_eq!(
        r.body["records"].as_array().unwrap().len(),
        1,
        "{:?}",
        r.body
    );

    let r = s.send("GET", "/v1/tenants/acme/full-access", &officer, None);
    assert_eq!(r.body[0]["login"], "by", "{:?}", r.body);
    let r = s.send(
        "POST",
        "/v1/tenants/acme/full-access/by/revoke",
        &officer,
        Some(json!({})),
    );
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("comment_missing"))
    );
    let revoked = v.ok_as(
        &officer,
        &[
            "access",
            "full-access",
            "revoke",
            "by",
            "--tenant",
            "acme",
            "--reason",
            "異動のため",
        ],
    );
    assert_eq!(revoked["status"], "revoked");
    let r = s.search(&by, "acme", Some("inquiry"), "phone", &partner.mobile);
    assert_eq!(
        r.body["records"],
        json!([]),
        "revocation takes effect at once"
    );
    let r = s.send("GET", "/openapi.json", "", None);
    assert!(
        r.body["paths"]
            .get("/v1/tenants/{tenant}/full-access/{login}/approve")
            .is_some()
    );
    drop(s);
    assert!(v.ok(&["audit", "verify"])["ok"].as_bool().unwrap());
}

#[test]
fn a_leaver_deprovisioned_from_the_cli_is_refused_by_the_running_server_at_once() {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = crate::common::csv_of(v.dir.path(), "p.csv", 6, 50);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let op = v.user("op", "operator", &["acme/own"]);
    let person = mamori_synth::Generator::new(6)
        .take(50)
        .find(|p| p.segment == "own")
        .unwrap();
    let s = v.serve();
    let r = s.search(&op, "acme", Some("inquiry"), "phone", &person.mobile);
    assert_eq!(r.status, 200);
    let r = s.send(
        "POST",
        "/v1/access/requests",
        &op,
        Some(json!({
            "tenant": "acme", "segment": "collab", "fields": ["customer_no", "name"],
            "purpose": "inquiry", "case_id": "INC-5120",
            "justification": "コラボ事業者のお客さまから料金プラン変更の問い合わせ",
            "record_budget": 2, "hours": 1
        })),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);

    let done = v.ok(&["user", "deprovision", "op"]);
    assert_eq!(done["suspended"], true);
    assert_eq!(done["credentials"], 1);
    assert_eq!(done["requests"].as_array().unwrap().len(), 1);
    // The server, another process, refuses the token from the next request on.
    let r = s.search(&op, "acme", Some("inquiry"), "phone", &person.mobile);
    assert_eq!(r.status, 401, "{:?}", r.body);
    let out = v.run(&["user", "deprovision", "nobody"]);
    assert!(!out.status.success());
}
