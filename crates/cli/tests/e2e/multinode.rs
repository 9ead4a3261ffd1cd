//! Several `mamori serve` nodes on one PostgreSQL database, as behind a load
//! balancer: clients write, read, spend a budget and approve an export
//! through all of them at once, and one node is killed with SIGKILL midway.
//! Afterwards every acknowledged request is in the audit log exactly once,
//! every acknowledged write is there, the log verifies, the budget was spent
//! exactly, and the export was approved and downloaded exactly once.
//!
//! Needs MAMORI_TEST_PG_URL (CI sets it); skipped loudly without it.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Barrier, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use crate::common::{PgSchema, Server, TestVault};
use serde_json::{Value, json};

const NODES: usize = 3;
const DAILY_BUDGET: usize = 25;

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Writes and searches by the back office, each with its own case id, until
/// stopped or the node dies. Returns the acknowledged case ids and written ids.
fn load(base: String, token: String, id: usize, stop: Arc<AtomicBool>) -> HashMap<String, String> {
    let http = http();
    let mut acked = HashMap::new();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let case = format!("MN{id}x{n}");
        let req = if n.is_multiple_of(2) {
            http.put(format!("{base}/v1/tenants/acme/records/{case}")).json(&json!({
                "purpose": "contract_change", "case_id": case, "segment": "own",
                "fields": {"name": "多田 一郎", "name_kana": "タダ イチロウ", "phone": "03-5555-0102", "plan": "光ライト"}}))
        } else {
            http.post(format!("{base}/v1/tenants/acme/records/search"))
                .json(&json!({"purpose": "inquiry", "case_id": case, "by": {"phone": "03-5555-0102"}}))
        };
        match req.bearer_auth(&token).send() {
            Ok(r) if r.status().is_success() => {
                let written = r
                    .json::<Value>()
                    .ok()
                    .and_then(|b| b["id"].as_str().map(str::to_owned));
                acked.insert(case, written.unwrap_or_default());
            }
            Ok(r) => {
                let status = r.status();
                assert_eq!(
                    status.as_u16(),
                    503,
                    "{case}: {}",
                    r.text().unwrap_or_default()
                );
            }
            Err(_) => return acked, // the node was killed
        }
    }
    acked
}

/// The operator looks up distinct customers from every node at once; the
/// daily budget lets exactly DAILY_BUDGET of them through, whichever nodes
/// the requests reach. Returns the distinct records shown.
fn spend_budget(nodes: &[Server], token: &str, customers: &[String]) -> HashSet<String> {
    let shown = Arc::new(Mutex::new(HashSet::new()));
    let start = Arc::new(Barrier::new(6));
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let base = nodes[t % nodes.len()].base.clone();
            let mine: Vec<String> = customers.iter().skip(t).step_by(6).cloned().collect();
            let (token, shown, start) = (token.to_owned(), shown.clone(), start.clone());
            std::thread::spawn(move || {
                let http = http();
                start.wait();
                for (i, no) in mine.iter().enumerate() {
                    let r = http
                        .post(format!("{base}/v1/tenants/acme/records/search"))
                        .bearer_auth(&token)
                        .json(&json!({"purpose": "inquiry", "case_id": format!("BUD{t}x{i}"), "by": {"customer_no": no}}))
                        .send()
                        .unwrap();
                    let status = r.status().as_u16();
                    let body: Value = r.json().unwrap();
                    match status {
                        200 => {
                            for rec in body["records"].as_array().unwrap() {
                                shown.lock().unwrap().insert(rec["id"].as_str().unwrap().to_owned());
                            }
                        }
                        429 => assert_eq!(body["code"], "daily_budget_exhausted", "{body}"),
                        _ => panic!("{status}: {body}"),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    Arc::try_unwrap(shown).unwrap().into_inner().unwrap()
}

/// Two approvers each approve twice at once through different nodes, then
/// the requester downloads from every node at once.
fn export_once(nodes: &[Server], by: &str, sv: &str, so: &str, recipient: &str) -> (u32, u32) {
    let r = nodes[0].send("POST", "/v1/exports", by, Some(json!({
        "tenant": "acme", "segment": "collab", "fields": ["customer_no", "name", "address"],
        "purpose": "billing", "case_id": "MN-EXPORT-1",
        "reason": "提携先の料金改定のお知らせを郵送するため", "recipient_name": "さくら印刷株式会社",
        "recipient_key": recipient})));
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let race = |calls: Vec<(String, String, String)>| -> Vec<(u16, Value)> {
        let start = Arc::new(Barrier::new(calls.len()));
        let threads: Vec<_> = calls
            .into_iter()
            .map(|(base, token, path)| {
                let start = start.clone();
                std::thread::spawn(move || {
                    let http = http();
                    start.wait();
                    // An approval decided while another one landed is
                    // refused (409 export_approvals_changed): look again.
                    for _ in 0..50 {
                        let r = http
                            .post(format!("{base}{path}"))
                            .bearer_auth(&token)
                            .json(&json!({}))
                            .send()
                            .unwrap();
                        let status = r.status().as_u16();
                        let body = if path.ends_with("download") {
                            Value::Null
                        } else {
                            r.json().unwrap_or(Value::Null)
                        };
                        if body["code"] != "export_approvals_changed" {
                            return (status, body);
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    panic!("approvals kept changing")
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    };
    let approve = format!("/v1/exports/{id}/approve");
    let download = format!("/v1/exports/{id}/download");
    let mut calls = Vec::new();
    for (i, token) in [sv, sv, so, so].into_iter().enumerate() {
        calls.push((
            nodes[i % nodes.len()].base.clone(),
            token.to_owned(),
            approve.clone(),
        ));
    }
    let approvals = race(calls);
    let ready = approvals
        .iter()
        .filter(|(s, b)| *s == 200 && b["status"] == "ready")
        .count() as u32;
    let approvals_now = nodes[0].send("GET", &format!("/v1/exports/{id}"), so, None);
    assert_eq!(
        approvals_now.body["approvals"].as_array().map(Vec::len),
        Some(2),
        "each approver once: {:?} {:?}",
        approvals,
        approvals_now.body
    );
    let calls = nodes
        .iter()
        .map(|n| (n.base.clone(), by.to_owned(), download.clone()))
        .collect();
    let downloads = race(calls);
    let ok = downloads.iter().filter(|(s, _)| *s == 200).count() as u32;
    (ready, ok)
}

#[test]
fn nodes_on_one_postgres_share_one_log_budgets_and_approvals_through_a_sigkill() {
    let Some(url) = crate::common::pg_url() else {
        return;
    };
    let schema = PgSchema::new(&url, "multinode");
    let env = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let v = TestVault::new_with(vec![
        env("MAMORI_STORE", &url),
        env("MAMORI_STORE_PG_SCHEMA", &schema.name),
        env("MAMORI_LIMITS_REQUESTS_PER_MINUTE", "1000000"),
        env("MAMORI_LIMITS_DAILY_RECORDS_BACKYARD", "1000000"),
        env(
            "MAMORI_LIMITS_DAILY_RECORDS_OPERATOR",
            &DAILY_BUDGET.to_string(),
        ),
        env("MAMORI_DETECT_ENABLED", "true"),
    ]);
    v.ok(&["tenant", "create", "acme", "--name", "アクメ通信"]);
    let csv = crate::common::csv_of(v.dir.path(), "acme.csv", 11, 300);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let sv = v.user("sv", "supervisor", &[]);
    let by = v.user_with("by", "backyard", &["acme"], &["--manager", "sv"]);
    let op = v.user("op", "operator", &["acme/own"]);
    let so = v.officer();
    let own: Vec<String> = mamori_synth::Generator::new(11)
        .take(300)
        .filter(|p| p.segment == "own")
        .map(|p| p.customer_no)
        .take(60)
        .collect();
    assert!(own.len() > DAILY_BUDGET * 2);
    let key_file = v.dir.path().join("recipient.key");
    let k = v.ok(&["export", "keygen", "--out", key_file.to_str().unwrap()]);
    let recipient = k["recipient_key"].as_str().unwrap().to_owned();

    let mut nodes: Vec<Server> = (0..NODES).map(|_| v.serve()).collect();
    for n in &nodes {
        assert_eq!(n.send("GET", "/readyz", "", None).status, 200);
    }

    // Load through every node; one node is killed in the middle of it.
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..2 * NODES)
        .map(|i| {
            let (base, token, stop) = (nodes[i % NODES].base.clone(), by.clone(), stop.clone());
            std::thread::spawn(move || load(base, token, i, stop))
        })
        .collect();
    let shown = spend_budget(&nodes, &op, &own);
    let (ready, downloads) = export_once(&nodes, &by, &sv, &so, &recipient);
    std::thread::sleep(Duration::from_millis(500));
    let mut killed = nodes.remove(1);
    killed.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    killed.child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::Relaxed);
    let mut acked = HashMap::new();
    for c in clients {
        acked.extend(c.join().unwrap());
    }

    assert_eq!(
        shown.len(),
        DAILY_BUDGET,
        "the budget is spent exactly, across nodes"
    );
    assert_eq!((ready, downloads), (1, 1), "approved once, downloaded once");
    let writes = acked.values().filter(|id| !id.is_empty()).count();
    eprintln!(
        "multi-node: {} acknowledged requests ({writes} writes) through {NODES} nodes",
        acked.len()
    );
    assert!(acked.len() > 20, "the load reached the nodes");

    // A node started after the kill serves the same vault.
    nodes.push(v.serve());
    for (case, id) in acked.iter().filter(|(_, id)| !id.is_empty()) {
        let r = nodes[1].send(
            "GET",
            &format!("/v1/tenants/acme/records/{id}?purpose=contract_change&case_id=CHECK-{case}"),
            &by,
            None,
        );
        assert_eq!(r.status, 200, "{case}: {:?}", r.body);
    }
    for n in nodes {
        n.stop();
    }

    let seen = crate::common::audited_cases(&v.data());
    for case in acked.keys() {
        assert_eq!(
            seen.get(case),
            Some(&1),
            "{case}: acknowledged, so audited once"
        );
    }
    // (The export's steps share its case id; the other requests each have their own.)
    assert!(
        seen.iter()
            .filter(|(case, _)| !case.starts_with("MN-EXPORT"))
            .all(|(_, n)| *n == 1),
        "no request is audited twice"
    );
    assert!(v.ok(&["audit", "verify"])["ok"].as_bool().unwrap());

    // A superuser can lift the triggers and rewrite an event; verification
    // still catches it.
    let mut su = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    su.batch_execute(&format!(
        "SET search_path TO {};
         ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
         UPDATE audit_events SET body = convert_to(replace(convert_from(body, 'UTF8'), 'allow', 'deny'), 'UTF8')
             WHERE log = 'tenant/acme' AND seq = (SELECT min(seq) FROM audit_events
                 WHERE log = 'tenant/acme' AND decision = 'allow');
         ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;",
        schema.name
    ))
    .unwrap();
    let (code, report) = v.verify(&[]);
    assert_eq!(code, 3, "{report}");
    assert!(report.contains("tenant/acme"), "{report}");
    drop(schema);
}
