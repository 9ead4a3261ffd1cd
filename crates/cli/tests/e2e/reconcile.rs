//! `mamori reconcile run` against reads made through the real server: the
//! door log, PC events and maps written as a door system and a Windows
//! export would; one colleague's read at another's logged-on PC is found,
//! the run is in the audit log, and anyone but the security office is refused.

use std::path::Path;

use chrono::{Duration, Utc};
use mamori_core::jst;

use crate::common::{TestVault, csv_of, first_alert};

fn local(t: chrono::DateTime<Utc>) -> String {
    t.with_timezone(&jst::zone())
        .format("%Y/%m/%d %H:%M:%S")
        .to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

#[test]
fn a_read_at_a_colleagues_pc_is_found_and_the_run_recorded() {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = csv_of(v.dir.path(), "p.csv", 5, 50);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let op1 = v.user("op1", "operator", &["acme/own"]);
    let op2 = v.user("op2", "operator", &["acme/own"]);
    let so = v.officer();
    let people: Vec<_> = mamori_synth::Generator::new(5).take(50).collect();
    let own = people.iter().find(|p| p.segment == "own").unwrap();
    let s = v.serve();
    // Both read from the one loopback address: the host map makes it op1's PC.
    for token in [&op1, &op2] {
        let r = s.search(token, "acme", Some("inquiry"), "phone", &own.mobile);
        assert_eq!(r.status, 200, "{:?}", r.body);
    }

    let now = Utc::now();
    let yesterday = jst::date(now.timestamp() - 86_400).unwrap();
    let today = jst::date(now.timestamp()).unwrap();
    let files = tempfile::tempdir().unwrap();
    let d = files.path();
    let people = write(
        d,
        "people.csv",
        "login,badge,pc_account\nop1,B1,CORP\\op1\nop2,B2,CORP\\op2\n",
    );
    let hosts = write(d, "hosts.csv", "端末名,IPアドレス\nPC-1,127.0.0.1\n");
    let entered = now - Duration::minutes(60);
    let rooms = format!(
        "日時,カード番号,区分,結果\n{},B1,入室,許可\n{},B2,入室,許可\n",
        local(entered),
        local(entered + Duration::seconds(30))
    );
    // Shift_JIS, as a Japanese door system writes it.
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&rooms);
    let rooms_path = d.join("rooms.csv");
    std::fs::write(&rooms_path, &sjis).unwrap();
    let logons = format!(
        "{{\"TimeCreated\":\"{}\",\"Id\":4624,\"MachineName\":\"PC-1\",\"TargetUserName\":\"op1\",\"TargetDomainName\":\"CORP\",\"TargetLogonId\":\"0x3e7a1\",\"LogonType\":2}}\n",
        jst::rfc3339((entered + Duration::minutes(2)).timestamp())
    );
    let logons = write(d, "logons.json", &logons);
    let applications = write(
        d,
        "applications.csv",
        &format!("login,date\nop1,{yesterday}\nop1,{today}\nop2,{yesterday}\nop2,{today}\n"),
    );
    let out = d.join("report.json");
    let tomorrow = jst::date(now.timestamp() + 86_400).unwrap().to_string();
    let args = [
        "reconcile",
        "run",
        "--from",
        &yesterday.to_string(),
        "--to",
        &tomorrow,
        "--people",
        &people,
        "--rooms",
        rooms_path.to_str().unwrap(),
        "--logons",
        &logons,
        "--hosts",
        &hosts,
        "--applications",
        &applications,
        "--out",
        out.to_str().unwrap(),
    ];
    let run = v.ok_as(&so, &args);
    let report = &run["report"];
    assert_eq!(report["counts"]["reads"], 2, "{report}");
    let found = report["discrepancies"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["class"], "read_on_another_logon");
    assert_eq!(found[0]["person"], "op2");
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(written["report_sha256"], run["report_sha256"]);

    // The same run over HTTP, the files base64 in the body: the same
    // discrepancy (its id is stable); only the security office runs it.
    let b64 = |p: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(p).unwrap())
    };
    let body = serde_json::json!({
        "from": jst::rfc3339(jst::midnight(yesterday)),
        "to": jst::rfc3339(jst::midnight(today) + 86_400),
        "files": {
            "people": b64(&people), "rooms": b64(rooms_path.to_str().unwrap()),
            "logons": b64(&logons), "hosts": b64(&hosts), "applications": b64(&applications),
        },
    });
    let r = s.send("POST", "/v1/reconciliation/runs", &so, Some(body.clone()));
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["report"]["counts"]["reads"], 2);
    assert_eq!(r.body["report"]["discrepancies"][0]["id"], found[0]["id"]);
    assert_eq!(
        s.send("POST", "/v1/reconciliation/runs", &op1, Some(body.clone()))
            .status,
        403
    );
    let mut bad = body;
    bad["files"]["rooms"] = "not base64 ☃".into();
    let r = s.send("POST", "/v1/reconciliation/runs", &so, Some(bad));
    assert_eq!(r.status, 400);
    assert!(!r.body.to_string().contains('☃'), "no value echoed");

    // The run is an audit event of the system log with the files' digests
    // (the CLI's, the API's, the API's refusal).
    let events = s.audit(&so, "action=reconcile.run");
    assert_eq!(events.len(), 3);
    let e = &events[0];
    assert_eq!(e["log"], "system");
    assert_eq!(e["detail"]["report_sha256"], run["report_sha256"], "{e}");
    assert_eq!(
        e["detail"]["inputs"]["rooms"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&sjis))
    );

    // The human form names the class in Japanese.
    let human = v
        .cmd(&args[..args.len() - 2])
        .env("MAMORI_TOKEN", &so)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("他人のログオン中の閲覧"), "{text}");

    // Judged once, from the command line.
    let open = v.ok_as(&so, &["reconcile", "list"]);
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    let id = open[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(open[0]["id"], found[0]["id"]);
    let judged = v.ok_as(
        &so,
        &[
            "reconcile",
            "dispose",
            &id,
            "--as",
            "escalated",
            "--reason",
            "op1の端末で別人が閲覧: 本人への聞き取りが必要",
        ],
    );
    assert_eq!(judged["outcome"], "escalated");
    assert_eq!(
        v.ok_as(&so, &["reconcile", "list"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // Escalated: detection raises an alert about op2, not about the officer.
    let alert = first_alert(&s, &so, "reconcile_escalated");
    assert_eq!(
        (alert["login"].as_str(), alert["severity"].as_str()),
        (Some("op2"), Some("high")),
        "{alert}"
    );
    let again = v.run_as(
        &so,
        &[
            "reconcile",
            "dispose",
            &id,
            "--as",
            "explained",
            "--reason",
            "聞き取り済み",
        ],
    );
    assert!(!again.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(said.contains("disposition already"), "{said}");

    // The same through the API: listed with its judgement for the office,
    // nothing for the operator (as if there were none), judged only once.
    let listed = s.send(
        "GET",
        "/v1/reconciliation/discrepancies?all=true",
        &so,
        None,
    );
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    assert_eq!(listed.body[0]["outcome"], "escalated");
    let none = s.send(
        "GET",
        "/v1/reconciliation/discrepancies?all=true",
        &op1,
        None,
    );
    assert_eq!(
        (none.status, none.body.clone()),
        (200, serde_json::json!([]))
    );
    let path = format!("/v1/reconciliation/discrepancies/{id}/dispose");
    let body = serde_json::json!({"outcome": "mistake", "reason": "記録の誤りと確認"});
    let r = s.send("POST", &path, &so, Some(body.clone()));
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (409, Some("discrepancy_disposed"))
    );
    let r = s.send("POST", &path, &op1, Some(body.clone()));
    assert_eq!(r.status, 404, "{:?}", r.body);
    let unknown = format!(
        "/v1/reconciliation/discrepancies/{}/dispose",
        "f".repeat(32)
    );
    let r2 = s.send("POST", &unknown, &op1, Some(body));
    assert_eq!(
        (r2.status, r2.body.clone()),
        (r.status, r.body.clone()),
        "refused and missing look alike"
    );

    // An operator is refused, and told who runs it.
    let refused = v.run_as(&op1, &args);
    assert!(!refused.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(said.contains("security office"), "{said}");
    s.stop();
}
