//! `mamori store migrate`: a vault in use on SQLite — customers, people, a
//! grant, searches in its audit log — is copied into PostgreSQL without
//! decrypting anything; the copy is checked and its log verifies; the same
//! data directory then serves from PostgreSQL with everything in place; a
//! second copy into the same schema is refused.
//!
//! Needs MAMORI_TEST_PG_URL (CI sets it); skipped loudly without it.

use crate::common::{PgSchema, TestVault};
use serde_json::json;

#[test]
fn a_sqlite_vault_moves_to_postgres_as_it_is_and_serves_from_there() {
    let Some(url) = crate::common::pg_url() else {
        return;
    };
    let schema = PgSchema::new(&url, "migrate");
    let mut v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = crate::common::csv_of(v.dir.path(), "p.csv", 7, 400);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let sv = v.user("sv", "supervisor", &[]);
    let op = v.user_with("op", "operator", &["acme/own"], &["--manager", "sv"]);
    let people: Vec<_> = mamori_synth::Generator::new(7).take(400).collect();
    let own = people.iter().find(|p| p.segment == "own").unwrap();
    let partner = people.iter().find(|p| p.segment == "collab").unwrap();
    let grant = {
        let s = v.serve();
        assert_eq!(
            s.search(&op, "acme", Some("inquiry"), "phone", &own.phone)
                .status,
            200
        );
        let r = s.send(
            "POST",
            "/v1/access/requests",
            &op,
            Some(json!({
            "tenant": "acme", "segment": "collab", "fields": ["customer_no", "name", "mobile"],
            "purpose": "inquiry", "case_id": "CASE-1", "record_budget": 3, "hours": 2,
            "justification": "コラボ事業者のお客さまから料金プラン変更の問い合わせ"})),
        );
        assert_eq!(r.status, 201, "{:?}", r.body);
        let id = r.body["id"].as_str().unwrap().to_owned();
        v.ok_as(&sv, &["access", "approve", &id, "--comment", "承認します"]);
        s.stop();
        id
    };
    let events_before = v.ok(&["audit", "verify"])["events"].as_u64().unwrap();

    let to = ["store", "migrate", "--to", &url, "--schema", &schema.name];
    let report = v.ok(&to);
    let rows = |table: &str| {
        report["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == table)
            .map(|t| t["rows"].as_u64().unwrap())
            .unwrap()
    };
    assert_eq!(rows("records"), 400);
    assert_eq!(rows("audit_events"), events_before);
    assert!(rows("blind_index") > 400 * 3);
    assert_eq!(rows("access_requests"), 1);
    assert!(report["audit_logs_verified"].as_u64().unwrap() >= 2);
    // Nothing personal crossed in the clear: no name or phone in any table.
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let dump: String = c
        .query_one(
            &format!(
                "SELECT string_agg(encode(sealed, 'escape'), '') FROM {}.records",
                schema.name
            ),
            &[],
        )
        .unwrap()
        .get(0);
    assert!(!dump.contains(&own.name) && !dump.contains(&own.phone));

    let again = v.run(&[
        "--json",
        "store",
        "migrate",
        "--to",
        &url,
        "--schema",
        &schema.name,
    ]);
    assert!(
        !again.status.success(),
        "a schema holding a vault is never overwritten"
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("already holds a vault"));

    // The same data directory, now on PostgreSQL.
    v.env.push(("MAMORI_STORE".into(), url.clone()));
    v.env
        .push(("MAMORI_STORE_PG_SCHEMA".into(), schema.name.clone()));
    let s = v.serve();
    let r = s.search(&op, "acme", Some("inquiry"), "phone", &own.phone);
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["records"][0]["fields"]["name"], own.name);
    let r = s.search(&op, "acme", Some("inquiry"), "phone", &partner.mobile);
    assert_eq!(
        r.body["records"][0]["fields"]["name"], partner.name,
        "the grant came along: {:?}",
        r.body
    );
    let r = s.send("GET", &format!("/v1/access/requests/{grant}"), &sv, None);
    assert_eq!(
        r.body["history"].as_array().map(Vec::len),
        Some(2),
        "{:?}",
        r.body
    );
    s.stop();
    let after = v.ok(&["audit", "verify"]);
    assert!(after["ok"].as_bool().unwrap());
    assert!(
        after["events"].as_u64().unwrap() > events_before,
        "the log went on where it was"
    );
    drop(schema);
}
