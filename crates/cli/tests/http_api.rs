//! End-to-end: the real binary, a real server, real HTTP.

mod common;

use common::{Server, TestVault, csv_of};
use serde_json::{Value, json};

struct Fixture {
    v: TestVault,
    s: Server,
    op: String,
    op_beta: String,
    by: String,
    sa: String,
    au: String,
    vd: String,
    known_id: String,
}

const KNOWN: &str = "K-0001";

fn fixture() -> Fixture {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ通信"]);
    v.ok(&["tenant", "create", "beta", "--name", "ベータ市"]);
    let csv = csv_of(v.dir.path(), "acme.csv", 5, 200);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let csv = csv_of(v.dir.path(), "beta.csv", 6, 100);
    v.ok(&["import", "--tenant", "beta", csv.to_str().unwrap()]);
    let op = v.user("op", "operator", &["acme/own"]);
    let op_beta = v.user("op-beta", "operator", &["beta"]);
    let by = v.user("by", "backyard", &["acme"]);
    let sa = v.user("sa", "sysadmin", &["acme"]);
    let au = v.user("au", "auditor", &[]);
    let vd = v.user("vd", "vendor_user", &["acme/collab"]);
    let s = v.serve();
    let r = s.send(
        "PUT",
        &format!("/v1/tenants/acme/records/{KNOWN}"),
        &by,
        Some(json!({"purpose": "contract_change", "case_id": "T-1", "segment": "own", "fields": {
            "name": "試験 花子", "name_kana": "シケン ハナコ", "birth_date": "昭和60年4月1日", "phone": "03-5555-0001",
            "mobile": "080-1111-2222", "email": "Hanako.Shiken@Example.jp", "address": "大阪府大阪市北区梅田1-1", "plan": "光ライト"}})),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let known_id = r.body["id"].as_str().unwrap().to_owned();
    Fixture {
        v,
        s,
        op,
        op_beta,
        by,
        sa,
        au,
        vd,
        known_id,
    }
}

fn ids(r: &common::Resp) -> Vec<String> {
    r.body["records"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn search_by_every_key_and_format_masks_by_purpose_and_role() {
    let f = fixture();
    let variants: &[(&str, &str)] = &[
        ("phone", "080-1111-2222"),
        ("phone", "08011112222"),
        ("phone", "０８０ー１１１１ー２２２２"),
        ("phone", "+81 80 1111 2222"),
        ("phone", "(080)1111-2222"),
        ("phone", "03-5555-0001"),
        ("phone", "０３（５５５５）０００１"),
        ("email", "hanako.shiken@example.jp"),
        ("email", " HANAKO.SHIKEN@EXAMPLE.JP "),
        ("customer_no", "K-0001"),
        ("customer_no", "Ｋ-０００１"),
        ("name_kana", "しけん はなこ"),
        ("name_kana", "ｼｹﾝ ﾊﾅｺ"),
        ("name_kana", "シケン・ハナコ"),
    ];
    for (key, value) in variants {
        let r = f.s.search(&f.op, "acme", Some("inquiry"), key, value);
        assert_eq!(r.status, 200, "{key}={value}: {:?}", r.body);
        assert_eq!(ids(&r), vec![f.known_id.clone()], "{key}={value}");
    }
    // Operator, inquiry: address to the prefecture, phones to the last four digits, birth date to the year.
    let r =
        f.s.search(&f.op, "acme", Some("inquiry"), "phone", "08011112222");
    let fields = &r.body["records"][0]["fields"];
    assert_eq!(fields["address"], "大阪府＊＊＊");
    assert_eq!(fields["mobile"], "＊＊＊＊＊＊＊2222");
    assert_eq!(fields["birth_date"], "1985-＊＊-＊＊");
    assert_eq!(fields["email"], "＊＊＊@example.jp");
    assert_eq!(fields["name"], "試験 花子");
    assert!(
        fields.get("gender").is_none() && fields.get("postal_code").is_none(),
        "fields outside the purpose are not returned"
    );
    assert_eq!(r.body["records"][0]["masked"]["address"], "prefecture");
    // Back office, billing: the full address.
    let r =
        f.s.search(&f.by, "acme", Some("billing"), "customer_no", KNOWN);
    assert_eq!(
        r.body["records"][0]["fields"]["address"],
        "大阪府大阪市北区梅田1-1"
    );
    assert_eq!(
        r.body["records"][0]["fields"]["email"],
        "hanako.shiken@example.jp"
    );
    // Role-specific override: back office sees the full address for contract changes, operators do not.
    let r =
        f.s.search(&f.by, "acme", Some("contract_change"), "customer_no", KNOWN);
    assert_eq!(
        r.body["records"][0]["fields"]["address"],
        "大阪府大阪市北区梅田1-1"
    );
    let r =
        f.s.search(&f.op, "acme", Some("contract_change"), "customer_no", KNOWN);
    assert_eq!(r.body["records"][0]["fields"]["address"], "大阪府＊＊＊");
    // Unknown value: no match, not an error.
    let r =
        f.s.search(&f.op, "acme", Some("inquiry"), "phone", "090-0000-0000");
    assert_eq!((r.status, ids(&r).len()), (200, 0));
    // Malformed value and unknown key are refused without echoing the value.
    let r =
        f.s.search(&f.op, "acme", Some("inquiry"), "phone", "secret-0000");
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("search_value_invalid"))
    );
    assert!(!r.body.to_string().contains("secret-0000"));
    let r =
        f.s.search(&f.op, "acme", Some("inquiry"), "address", "大阪府");
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("search_key_unknown"))
    );
}

#[test]
fn purposes_roles_and_segments_are_enforced_and_audited() {
    let f = fixture();
    let r = f.s.search(&f.op, "acme", None, "phone", "08011112222");
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("purpose_missing"))
    );
    let r =
        f.s.search(&f.op, "acme", Some("marketing"), "phone", "08011112222");
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("purpose_unknown"))
    );
    // A purpose the tenant defines, but not for operators.
    let r =
        f.s.search(&f.op, "acme", Some("billing"), "phone", "08011112222");
    assert_eq!(r.status, 403, "{:?}", r.body);
    // Separation of duties: the sysadmin and the auditor never see customer data.
    for t in [&f.sa, &f.au] {
        let r =
            f.s.search(t, "acme", Some("inquiry"), "phone", "08011112222");
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (403, Some("forbidden")),
            "{:?}",
            r.body
        );
        let r = f.s.send(
            "GET",
            &format!("/v1/tenants/acme/records/{}?purpose=inquiry", f.known_id),
            t,
            None,
        );
        assert_eq!(r.status, 403);
    }
    // A vendor user assigned to the collab segment finds the record but may not see it.
    let r =
        f.s.search(&f.vd, "acme", Some("inquiry"), "phone", "08011112222");
    assert_eq!(
        (r.status, ids(&r).len(), r.body["withheld"].as_u64()),
        (200, 0, Some(1))
    );
    let r = f.s.send(
        "GET",
        &format!("/v1/tenants/acme/records/{}?purpose=inquiry", f.known_id),
        &f.vd,
        None,
    );
    assert_eq!(r.status, 403);
    // Operators cannot write; back office can.
    let put = json!({"purpose": "contract_change", "fields": {"name": "x"}});
    let r =
        f.s.send("PUT", "/v1/tenants/acme/records/K-0002", &f.op, Some(put));
    assert_eq!(r.status, 403);

    // Every one of those calls is in the audit log with the right decision and reason.
    let events = f.s.audit(&f.au, "tenant=acme&limit=1000");
    let find = |actor: &str, reason: &str| -> Value {
        events
            .iter()
            .find(|e| {
                e["actor"] == format!("user:{actor}")
                    && e["reason"].as_str().is_some_and(|r| r.contains(reason))
            })
            .cloned()
            .unwrap_or_else(|| panic!("no event for {actor} with reason {reason}"))
    };
    assert_eq!(find("op", "purpose_missing")["decision"], "invalid");
    assert_eq!(find("op", "purpose_unknown")["decision"], "invalid");
    assert_eq!(find("op", "default_deny")["decision"], "deny");
    let sod = find("sa", "sod-no-customer-data");
    assert_eq!(
        (sod["decision"].as_str(), sod["purpose"].as_str()),
        (Some("deny"), Some("inquiry"))
    );
    assert_eq!(find("au", "sod-no-customer-data")["decision"], "deny");
    let allowed = events
        .iter()
        .find(|e| e["actor"] == "user:vd" && e["action"] == "record.search")
        .unwrap();
    assert_eq!(allowed["detail"]["withheld"], 1);
    let allowed = events
        .iter()
        .find(|e| e["actor"] == "user:by" && e["action"] == "record.write")
        .unwrap();
    assert_eq!(allowed["records"], json!([f.known_id]));
    assert_eq!(allowed["case_id"], "T-1");
    // Impact analysis: who touched this customer, for what, under which case.
    let touched =
        f.s.audit(&f.au, &format!("record={}&limit=1000", f.known_id));
    assert!(touched.len() >= 2, "{touched:?}");
    assert!(touched.iter().all(|e| {
        e["records"]
            .as_array()
            .unwrap()
            .contains(&json!(f.known_id))
    }));
    assert!(touched.iter().any(|e| e["actor"] == "user:by"));
    let by_case = f.s.audit(&f.au, "case_id=T-1&limit=1000");
    assert_eq!(by_case.len(), 1, "{by_case:?}");
    let by_purpose = f.s.audit(&f.au, "purpose=contract_change&limit=1000");
    assert!(!by_purpose.is_empty());
    assert!(by_purpose.iter().all(|e| e["purpose"] == "contract_change"));
    assert!(
        f.s.audit(&f.au, "record=00000000000000000000000000000000")
            .is_empty()
    );
    // Operators may not read the audit log; the refusal is itself recorded.
    let r = f.s.send("GET", "/v1/audit/events", &f.op, None);
    assert_eq!(r.status, 403);
    let sys = f.s.audit(&f.au, "action=audit.read&limit=1000");
    assert!(
        sys.iter()
            .any(|e| e["actor"] == "user:op" && e["decision"] == "deny")
    );
    // No audit event carries a personal value.
    let all = serde_json::to_string(&f.s.audit(&f.au, "limit=1000")).unwrap();
    for secret in ["08011112222", "試験", "シケン", "hanako", "梅田"] {
        assert!(!all.contains(secret), "audit log contains {secret}");
    }
    let out = f.v.run(&["audit", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn tenants_are_isolated_and_ids_reveal_nothing() {
    let f = fixture();
    // The beta operator guesses acme's record id on beta's path: exactly like a random id.
    let guessed = f.s.send(
        "GET",
        &format!("/v1/tenants/beta/records/{}?purpose=inquiry", f.known_id),
        &f.op_beta,
        None,
    );
    let random = f.s.send(
        "GET",
        "/v1/tenants/beta/records/0123456789abcdef0123456789abcdef?purpose=inquiry",
        &f.op_beta,
        None,
    );
    let garbage = f.s.send(
        "GET",
        "/v1/tenants/beta/records/not-an-id?purpose=inquiry",
        &f.op_beta,
        None,
    );
    assert_eq!(guessed.status, 404);
    assert_eq!(guessed.body, random.body);
    assert_eq!(guessed.body, garbage.body);
    // On acme's path the beta operator is refused before any lookup.
    let r = f.s.send(
        "GET",
        &format!("/v1/tenants/acme/records/{}?purpose=inquiry", f.known_id),
        &f.op_beta,
        None,
    );
    assert_eq!(r.status, 403);
    let r =
        f.s.search(&f.op_beta, "acme", Some("inquiry"), "customer_no", KNOWN);
    assert_eq!(r.status, 403);
    // Searching beta for acme's customer finds nothing; the beta tenant has its own keys.
    let r =
        f.s.search(&f.op_beta, "beta", Some("inquiry"), "customer_no", KNOWN);
    assert_eq!((r.status, ids(&r).len()), (200, 0));
    // Unknown tenants.
    let r =
        f.s.search(&f.op, "nosuch", Some("inquiry"), "customer_no", KNOWN);
    assert_eq!(r.status, 404);
    let r =
        f.s.search(&f.op, "../acme", Some("inquiry"), "customer_no", KNOWN);
    assert_eq!(r.status, 404);
    // The owner reads it by id.
    let r = f.s.send(
        "GET",
        &format!(
            "/v1/tenants/acme/records/{}?purpose=inquiry&case_id=C-9",
            f.known_id
        ),
        &f.op,
        None,
    );
    assert_eq!(
        (r.status, r.body["fields"]["customer_no"].as_str()),
        (200, Some(KNOWN))
    );
}

#[test]
fn delete_revoke_and_bad_requests() {
    let f = fixture();
    let r = f.s.send(
        "DELETE",
        &format!("/v1/tenants/acme/records/{KNOWN}?purpose=contract_change"),
        &f.by,
        None,
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r =
        f.s.search(&f.op, "acme", Some("inquiry"), "customer_no", KNOWN);
    assert_eq!(ids(&r).len(), 0);
    let r = f.s.send(
        "GET",
        &format!("/v1/tenants/acme/records/{}?purpose=inquiry", f.known_id),
        &f.op,
        None,
    );
    assert_eq!(r.status, 404);
    let r = f.s.send(
        "DELETE",
        &format!("/v1/tenants/acme/records/{KNOWN}?purpose=contract_change"),
        &f.by,
        None,
    );
    assert_eq!(r.status, 404);
    // Updating replaces; a bad field value is refused by name, not by value.
    let r = f.s.send(
        "PUT",
        "/v1/tenants/acme/records/K-0009",
        &f.by,
        Some(json!({"purpose": "contract_change", "fields": {"phone": "12-34"}})),
    );
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("field_invalid"))
    );
    assert!(
        r.body["detail"].as_str().unwrap().contains("phone")
            && !r.body.to_string().contains("12-34")
    );
    let r = f.s.send(
        "PUT",
        "/v1/tenants/acme/records/K-0009",
        &f.by,
        Some(json!({"purpose": "contract_change", "fields": {"shoe": "27"}})),
    );
    assert_eq!(r.body["code"], "field_unknown");
    let r = f.s.send(
        "PUT",
        "/v1/tenants/acme/records/K-0009",
        &f.by,
        Some(json!({"purpose": "contract_change", "segment": "vip", "fields": {}})),
    );
    assert_eq!(r.body["code"], "segment_unknown");
    let body = json!({"purpose": "contract_change", "fields": {"name": "二度 目"}});
    assert_eq!(
        f.s.send(
            "PUT",
            "/v1/tenants/acme/records/K-0009",
            &f.by,
            Some(body.clone())
        )
        .status,
        201
    );
    assert_eq!(
        f.s.send("PUT", "/v1/tenants/acme/records/K-0009", &f.by, Some(body))
            .status,
        200
    );
    // Malformed JSON and a non-identifier case id.
    let r =
        f.s.http
            .post(format!("{}/v1/tenants/acme/records/search", f.s.base))
            .bearer_auth(&f.op)
            .header("content-type", "application/json")
            .body("{")
            .send()
            .unwrap();
    assert_eq!(r.status(), 400);
    let r = f.s.send(
        "POST",
        "/v1/tenants/acme/records/search",
        &f.op,
        Some(
            json!({"purpose": "inquiry", "case_id": "山田さんの件", "by": {"customer_no": KNOWN}}),
        ),
    );
    assert_eq!(r.body["code"], "case_id_invalid");
    // No token, a wrong token, a revoked token.
    assert_eq!(
        f.s.search("", "acme", Some("inquiry"), "customer_no", KNOWN)
            .status,
        401
    );
    assert_eq!(
        f.s.search(
            "mamori_forged",
            "acme",
            Some("inquiry"),
            "customer_no",
            KNOWN
        )
        .status,
        401
    );
    assert_eq!(
        f.s.search(&f.op, "acme", Some("inquiry"), "customer_no", "K-0009")
            .status,
        200
    );
    f.v.ok(&["user", "revoke", "op"]);
    let r =
        f.s.search(&f.op, "acme", Some("inquiry"), "customer_no", "K-0009");
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    let r = f.s.send("GET", "/openapi.json", "", None);
    assert_eq!(r.body["openapi"], "3.1.0");
    assert!(r.body["paths"]["/v1/tenants/{tenant}/records/search"]["post"].is_object());
    let metrics =
        f.s.http
            .get(format!("{}/metrics", f.s.base))
            .send()
            .unwrap()
            .text()
            .unwrap();
    assert!(metrics.contains("mamori_http_requests_total{route=\"/v1/tenants/{tenant}/records/search\",method=\"POST\",status=\"401\"}"), "{metrics}");
}

#[test]
fn keys_rotate_rewrap_and_shred() {
    let f = fixture();
    f.v.ok(&["key", "rotate", "--tenant", "acme"]);
    // Old records stay searchable under the old version; new ones use the new one.
    assert_eq!(
        ids(&f
            .s
            .search(&f.op, "acme", Some("inquiry"), "customer_no", KNOWN))
        .len(),
        1
    );
    let body = json!({"purpose": "contract_change", "fields": {"name": "新 鍵", "mobile": "070-9999-0000"}});
    assert_eq!(
        f.s.send("PUT", "/v1/tenants/acme/records/K-NEW", &f.by, Some(body))
            .status,
        201
    );
    assert_eq!(
        ids(&f
            .s
            .search(&f.op, "acme", Some("inquiry"), "phone", "07099990000"))
        .len(),
        1
    );
    let out =
        f.v.ok(&["key", "rewrap", "--tenant", "acme", "--batch", "50"]);
    assert_eq!(out["rewrapped"], 201, "every record but the new one moved");
    let again = f.v.ok(&["key", "rewrap", "--tenant", "acme"]);
    assert_eq!(again["rewrapped"], 0, "rewrap is idempotent");
    let r = f.s.search(
        &f.op,
        "acme",
        Some("inquiry"),
        "phone",
        "０８０ー１１１１ー２２２２",
    );
    assert_eq!(ids(&r), vec![f.known_id.clone()]);
    assert_eq!(r.body["records"][0]["fields"]["name"], "試験 花子");
    // Shred needs the id typed again; then the tenant's data is reported as shredded.
    let out = f.v.run(&["tenant", "shred", "acme", "--confirm", "acm"]);
    assert!(!out.status.success());
    assert_eq!(
        ids(&f
            .s
            .search(&f.op, "acme", Some("inquiry"), "customer_no", KNOWN))
        .len(),
        1
    );
    f.v.ok(&["tenant", "shred", "acme", "--confirm", "acme"]);
    let r =
        f.s.search(&f.op, "acme", Some("inquiry"), "customer_no", KNOWN);
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (410, Some("tenant_shredded"))
    );
    let r = f.s.send(
        "GET",
        &format!("/v1/tenants/acme/records/{}?purpose=inquiry", f.known_id),
        &f.op,
        None,
    );
    assert_eq!(r.status, 410);
    // The other tenant is untouched, and no wrapped key of acme is left in the database.
    assert_eq!(
        f.s.search(
            &f.op_beta,
            "beta",
            Some("inquiry"),
            "customer_no",
            "C0600000001"
        )
        .status,
        200
    );
    let db = rusqlite::Connection::open(f.v.data().join("vault.db")).unwrap();
    let keys: i64 = db
        .query_row(
            "SELECT count(*) FROM tenant_keys WHERE tenant = 'acme'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(keys, 0);
    let list = f.v.ok(&["tenant", "list"]);
    assert_eq!(list[0]["status"], "shredded");
    let shred = f.s.audit(&f.au, "action=tenant.shred");
    assert_eq!(shred.len(), 1);
    assert!(f.v.run(&["audit", "verify"]).status.success());
}
