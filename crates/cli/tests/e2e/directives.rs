//! Corrective directives end to end: a supervisor directs their report about
//! an audit event, the report acknowledges; who may issue, see and
//! acknowledge is the policy's; the text never appears in clear in the audit
//! log; each step is an audit event that verifies.

use crate::common::TestVault;
use serde_json::{Value, json};

#[test]
fn directives_are_issued_acknowledged_and_kept_in_the_audit_log() {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    v.ok(&["tenant", "create", "beta", "--name", "ベータ"]);
    let csv = crate::common::csv_of(v.dir.path(), "p.csv", 3, 20);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let sv = v.user("sv", "supervisor", &[]);
    let op = v.user_with("op", "operator", &["acme/own"], &["--manager", "sv"]);
    let op2 = v.user("op2", "operator", &["acme/own"]);
    let so = v.officer();
    let au = v.user("au", "auditor", &[]);
    let s = v.serve();

    // The event the directive is about: op's search under case C-1.
    let r = s.search(&op, "acme", Some("inquiry"), "phone", "03-0000-0000");
    assert_eq!(r.status, 200);
    let ev = s
        .audit(&au, "actor=user:op&action=record.search")
        .pop()
        .unwrap();
    let about = format!("tenant/acme#{}", ev["seq"]);
    let text = "山田 太郎 様の記録を閲覧した理由を 11/30 までに報告してください";
    let issue = |who: &str, to: &str, about: &str| {
        s.send(
            "POST",
            "/v1/tenants/acme/directives",
            who,
            Some(json!({"to": to, "about": about, "text": text})),
        )
    };

    let r = issue(&sv, "op", &about);
    assert_eq!(r.status, 201, "{:?}", r.body);
    let d = r.body.clone();
    assert_eq!(
        (d["to"].as_str(), d["from"].as_str()),
        (Some("op"), Some("user:sv"))
    );
    assert_eq!(
        (d["status"].as_str(), d["text"].as_str()),
        (Some("issued"), Some(text))
    );
    let id = d["id"].as_str().unwrap().to_owned();

    // Who may issue: not to someone else's report, not by an operator, not to oneself.
    assert_eq!(issue(&sv, "op2", &about).status, 403);
    assert_eq!(issue(&op, "op2", &about).status, 403);
    assert_eq!(issue(&so, "sec-officer", &about).status, 403);
    // The security office may direct anyone; an alert is a valid subject.
    assert_eq!(issue(&so, "op2", "alert:A-20261123-1").status, 201);
    // What it is about must exist, in this tenant.
    let r = issue(&sv, "op", "tenant/beta#1");
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("about_invalid"))
    );
    assert_eq!(issue(&sv, "op", "tenant/acme#999999").status, 404);
    // Whether a login exists is told only to one who may direct anyone.
    assert_eq!(issue(&sv, "nobody", &about).status, 403);
    assert_eq!(issue(&so, "nobody", &about).status, 404);
    let r = s.send(
        "POST",
        "/v1/tenants/acme/directives",
        &sv,
        Some(json!({"to": "op", "about": about, "text": "  "})),
    );
    assert_eq!(r.status, 400);

    // Who sees it: the recipient, their manager, the office, auditors — not a colleague.
    let show = |who: &str| {
        s.send(
            "GET",
            &format!("/v1/tenants/acme/directives/{id}"),
            who,
            None,
        )
    };
    for who in [&op, &sv, &so, &au] {
        assert_eq!(show(who).status, 200);
    }
    assert_eq!(show(&op2).status, 403);
    let mine = s.send("GET", "/v1/tenants/acme/directives", &op, None);
    assert_eq!(mine.body.as_array().unwrap().len(), 1, "{:?}", mine.body);
    let all = s.send("GET", "/v1/tenants/acme/directives", &au, None);
    assert_eq!(all.body.as_array().map(Vec::len), Some(2), "{:?}", all.body);

    // Only the recipient acknowledges, once.
    let ack = |who: &str| {
        s.send(
            "POST",
            &format!("/v1/tenants/acme/directives/{id}/ack"),
            who,
            Some(json!({"response": "業務上の必要がなかったため、閲覧手順を再確認しました"})),
        )
    };
    assert_eq!(ack(&op2).status, 403);
    assert_eq!(ack(&sv).status, 403);
    let r = ack(&op);
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "acknowledged");
    assert!(r.body["response"].as_str().unwrap().contains("再確認"));
    let r = ack(&op);
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (409, Some("directive_already_acknowledged"))
    );

    // Both steps are in the tenant's log, under the directive's id, text sealed.
    let steps = s.audit(&au, &format!("case_id={id}"));
    let actions: Vec<&str> = steps
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"directive.issue") && actions.contains(&"directive.ack"),
        "{actions:?}"
    );
    let issued: &Value = steps
        .iter()
        .find(|e| e["action"] == "directive.issue")
        .unwrap();
    assert_eq!(issued["seq"], d["issued"]["seq"]);
    let everything = serde_json::to_string(&s.audit(&au, "limit=1000")).unwrap();
    assert!(!everything.contains("山田") && !everything.contains("再確認"));

    // The CLI, as the recipient.
    let list = v.ok_as(&op, &["directive", "list", "--tenant", "acme"]);
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["status"], "acknowledged");
    drop(s);
    assert!(v.ok(&["audit", "verify"])["ok"].as_bool().unwrap());
}
