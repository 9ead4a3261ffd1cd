//! End-to-end: the real binary, a real server, real HTTP.

use crate::common::{Server, TestVault, csv_of};
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

fn ids(r: &crate::common::Resp) -> Vec<String> {
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
    // A vendor user assigned to the collab segment finds the record but may
    // not see it, nor learn that it is there (the audit log counts it).
    let r =
        f.s.search(&f.vd, "acme", Some("inquiry"), "phone", "08011112222");
    assert_eq!((r.status, ids(&r).len()), (200, 0));
    let r = f.s.send(
        "GET",
        &format!("/v1/tenants/acme/records/{}?purpose=inquiry", f.known_id),
        &f.vd,
        None,
    );
    assert_eq!(r.status, 404);
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
    // The auditor is assigned to no tenant: refused at the tenant's door.
    assert_eq!(find("au", "tenant_not_assigned")["decision"], "deny");
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
    // Unknown tenants: refused like a tenant one is not assigned to.
    let r =
        f.s.search(&f.op, "nosuch", Some("inquiry"), "customer_no", KNOWN);
    assert_eq!(r.status, 403);
    // A path that climbs out of /v1/tenants is no route at all.
    let r =
        f.s.search(&f.op, "../acme", Some("inquiry"), "customer_no", KNOWN);
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (404, Some("route_not_found"))
    );
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
    let metrics = f.s.metrics();
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

/// The parts of an answer a prober compares: status, body and the headers
/// that could differ (length and type; the date and the like cannot).
fn looks(r: &crate::common::Resp) -> (u16, String, String, String) {
    (
        r.status,
        r.body.to_string(),
        r.header("content-type").to_owned(),
        r.header("content-length").to_owned(),
    )
}

#[test]
fn refused_and_missing_look_alike_to_whoever_may_not_act() {
    let f = fixture();
    let by_collab = f.v.user("by-collab", "backyard", &["acme/collab"]);
    let del = |token: &str, tenant: &str, no: &str| {
        f.s.send(
            "DELETE",
            &format!("/v1/tenants/{tenant}/records/{no}?purpose=contract_change"),
            token,
            None,
        )
    };
    // Not assigned to acme (another tenant's operator, an auditor), or
    // assigned but never allowed to delete (a system administrator): a
    // customer number that exists, one that does not and a tenant that does
    // not exist all get the same answer.
    for who in [&f.op_beta, &f.au, &f.sa] {
        let exists = del(who, "acme", KNOWN);
        assert_eq!(exists.status, 403, "{:?}", exists.body);
        assert_eq!(looks(&del(who, "acme", "K-9999")), looks(&exists));
        if who != &f.sa {
            assert_eq!(looks(&del(who, "nosuch", KNOWN)), looks(&exists));
        }
    }
    // One who may delete in another segment: a customer of a segment they
    // may not touch looks like no customer at all.
    let other_segment = del(&by_collab, "acme", KNOWN);
    assert_eq!(other_segment.status, 404, "{:?}", other_segment.body);
    assert_eq!(
        looks(&del(&by_collab, "acme", "K-9999")),
        looks(&other_segment)
    );
    // Searching a tenant one is not assigned to: known or not, with a
    // purpose it defines or not — the tenant's purposes are not told.
    let refused =
        f.s.search(&f.op_beta, "acme", Some("bogus"), "phone", "0312345678");
    assert_eq!(refused.status, 403);
    assert!(
        !refused.body.to_string().contains("inquiry"),
        "{:?}",
        refused.body
    );
    for (tenant, purpose) in [
        ("acme", "inquiry"),
        ("nosuch", "bogus"),
        ("nosuch", "inquiry"),
    ] {
        let r =
            f.s.search(&f.op_beta, tenant, Some(purpose), "phone", "0312345678");
        assert_eq!(looks(&r), looks(&refused), "{tenant} {purpose}");
    }
    // A record id of a segment one may not read is like a random one.
    let get = |id: &str| {
        f.s.send(
            "GET",
            &format!("/v1/tenants/acme/records/{id}?purpose=inquiry"),
            &f.vd,
            None,
        )
    };
    let known = get(&f.known_id);
    assert_eq!(known.status, 404, "{:?}", known.body);
    assert_eq!(
        looks(&get("0123456789abcdef0123456789abcdef")),
        looks(&known)
    );
    // A search shows what may be seen and does not count the rest.
    let r =
        f.s.search(&f.vd, "acme", Some("inquiry"), "customer_no", KNOWN);
    assert_eq!((r.status, ids(&r).len()), (200, 0), "{:?}", r.body);
    assert!(r.body.get("withheld").is_none(), "{:?}", r.body);
    // The refusals are in the logs: acme's for a known tenant, the system
    // log (without the typed name) for an unknown one.
    let acme = f.s.audit(&f.au, "tenant=acme&action=record.delete");
    assert!(
        acme.iter()
            .any(|e| e["actor"] == "user:op-beta" && e["reason"] == "tenant_not_assigned"),
        "{acme:?}"
    );
    let all = f.s.audit(&f.au, "action=record.delete&limit=1000");
    assert!(all.iter().all(|e| !e.to_string().contains("nosuch")));
    assert!(
        all.iter()
            .any(|e| e["log"] == "system" && e["detail"]["tenant"] == "unknown")
    );
}

#[test]
fn errors_never_repeat_what_was_sent() {
    let f = fixture();
    let secret = "090-8765-4321 原田 勇気";
    let leaks = |r: &crate::common::Resp| {
        let text = r.body.to_string();
        text.contains("8765") || text.contains("原田")
    };
    let put = |body: Value| {
        f.s.send("PUT", "/v1/tenants/acme/records/K-0009", &f.by, Some(body))
    };
    let bodies = [
        json!({"purpose": [secret], "fields": {}}),
        json!({"purpose": "contract_change", "fields": {"phone": [secret]}}),
        json!({"purpose": "contract_change", "fields": {secret: "x"}}),
        json!({"purpose": "contract_change", "segment": secret, "fields": {"name": "x"}}),
        json!({"purpose": "contract_change", "case_id": secret, "fields": {"name": "x"}}),
        json!({"purpose": "contract_change", "fields": secret}),
    ];
    for b in bodies {
        let r = put(b.clone());
        assert_eq!(r.status, 400, "{b} -> {:?}", r.body);
        assert_eq!(r.header("content-type"), "application/problem+json");
        assert!(!leaks(&r), "{b} -> {:?}", r.body);
    }
    // A search key that is no key of the tenant is not repeated either.
    let r = f.s.search(&f.op, "acme", Some("inquiry"), secret, "x");
    assert_eq!(r.body["code"], "search_key_unknown");
    assert!(!leaks(&r), "{:?}", r.body);
    // The framework's own rejections are problem documents without the input.
    let r = f.s.send(
        "GET",
        "/v1/audit/events?limit=09087654321%E5%8E%9F%E7%94%B0",
        &f.au,
        None,
    );
    assert_eq!(
        (r.status, r.header("content-type")),
        (400, "application/problem+json")
    );
    assert!(!leaks(&r), "{:?}", r.body);
    let raw = |content_type: &str, body: &str| {
        let r =
            f.s.http
                .post(format!("{}/v1/tenants/acme/records/search", f.s.base))
                .bearer_auth(&f.op)
                .header("content-type", content_type)
                .body(body.to_owned())
                .send()
                .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let (status, text) = raw(
        "application/json",
        &format!("{{\"by\": {{\"phone\": \"{secret}\""),
    );
    assert_eq!(status, 400, "{text}");
    assert!(!text.contains("8765") && !text.contains("原田"), "{text}");
    let (status, text) = raw(
        "text/plain",
        &format!("{{\"by\": {{\"phone\": \"{secret}\"}}}}"),
    );
    assert_eq!(status, 415, "{text}");
    assert!(!text.contains("8765"), "{text}");
    // Personal data is no case id, and the refused one is not in the log.
    for case in ["090-8765-4321", "INC-09087654321", KNOWN] {
        let mut body = json!({"purpose": "inquiry", "case_id": case, "by": {"customer_no": KNOWN}});
        let r = f.s.send(
            "POST",
            "/v1/tenants/acme/records/search",
            &f.op,
            Some(body.take()),
        );
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (400, Some("case_id_invalid")),
            "{case}"
        );
    }
    let events = f.s.audit(&f.au, "tenant=acme&limit=1000");
    let leaked: Vec<&Value> = events
        .iter()
        .filter(|e| {
            let text = e.to_string();
            text.contains("8765-4321") || text.contains("87654321")
        })
        .collect();
    assert!(
        leaked.is_empty(),
        "a refused case id reached the audit log: {leaked:?}"
    );
}

#[test]
fn bodies_are_read_only_after_authentication_and_within_limits() {
    use std::io::{Read, Write};
    let f = fixture();
    // Announce a 60 MiB leaked file without a token and send a little of it:
    // the server answers 401 at once, without waiting for (or buffering) the rest.
    let addr = f.s.base.trim_start_matches("http://").to_owned();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        conn,
        "POST /v1/exports/trace HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n\r\n",
        60 << 20
    )
    .unwrap();
    conn.write_all(&[b'x'; 4096]).unwrap();
    let mut head = [0u8; 512];
    let n = conn.read(&mut head).unwrap();
    let head = String::from_utf8_lossy(&head[..n]).to_lowercase();
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(head.contains("www-authenticate: bearer"), "{head}");
    // A bad body without a token: 401, not a word about the body.
    let r = f.s.send(
        "PUT",
        "/v1/tenants/acme/records/K-1",
        "",
        Some(json!({"fields": 5})),
    );
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    assert!(
        r.header("www-authenticate").starts_with("Bearer"),
        "{:?}",
        r.headers
    );
    // With a token: a JSON body over the limit is 413, as a problem document.
    let big = "あ".repeat(100_000);
    let r = f.s.send(
        "PUT",
        "/v1/tenants/acme/records/K-1",
        &f.by,
        Some(json!({"purpose": "contract_change", "fields": {"name": big}})),
    );
    assert_eq!(
        (r.status, r.body["code"].as_str(), r.header("content-type")),
        (413, Some("body_too_large"), "application/problem+json")
    );
    // A leaked file may be larger than a JSON body.
    let file = format!("customer_no,name\n{}", "K-1,試験\n".repeat(60_000));
    assert!(file.len() > 256 * 1024);
    let r =
        f.s.http
            .post(format!("{}/v1/exports/trace", f.s.base))
            .bearer_auth(&f.au)
            .header("content-type", "text/csv")
            .body(file)
            .send()
            .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[test]
fn every_answer_carries_its_protective_headers() {
    let f = fixture();
    let ok =
        f.s.search(&f.op, "acme", Some("inquiry"), "customer_no", KNOWN);
    assert_eq!(ok.status, 200);
    let refused =
        f.s.search(&f.op_beta, "acme", Some("inquiry"), "customer_no", KNOWN);
    let events = f.s.send("GET", "/v1/audit/events?limit=1", &f.au, None);
    let missing = f.s.send("GET", "/v1/nothing-here", &f.au, None);
    for r in [&ok, &refused, &events, &missing] {
        assert_eq!(r.header("x-content-type-options"), "nosniff");
        assert_eq!(r.header("cache-control"), "no-store");
    }
    // Over the rate limit: 429 says when to come back.
    let limited = (0..200)
        .map(|_| {
            f.s.search(&f.op_beta, "beta", Some("inquiry"), "customer_no", "K-1")
        })
        .find(|r| r.status == 429)
        .expect("the per-minute limit is reached");
    let wait: u64 = limited
        .header("retry-after")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    // /metrics on the API's address: only with the scraper's token.
    let anon = f.s.send("GET", "/metrics", "", None);
    assert_eq!(anon.status, 401);
    let wrong = f.s.send("GET", "/metrics", "mamori_not-the-scraper", None);
    assert_eq!(wrong.status, 401);
    assert!(f.s.metrics().contains("mamori_http_requests_total"));
}

#[test]
fn metrics_are_closed_by_default_or_served_apart() {
    let v = TestVault::new();
    let port = crate::common::free_port();
    let scrape_port = crate::common::free_port();
    let mut cmd = v.cmd(&["serve", "--listen", &format!("127.0.0.1:{port}")]);
    cmd.env_remove("MAMORI_METRICS_TOKEN").env(
        "MAMORI_SERVER_METRICS_LISTEN",
        format!("127.0.0.1:{scrape_port}"),
    );
    let s = v.start_server(cmd, port);
    // No token configured: the API's address has no /metrics at all.
    let r = s.send("GET", "/metrics", "", None);
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (404, Some("route_not_found"))
    );
    // The separate address serves it to whoever reaches it.
    let m = s
        .http
        .get(format!("http://127.0.0.1:{scrape_port}/metrics"))
        .send()
        .unwrap();
    assert_eq!(m.status().as_u16(), 200);
    assert!(m.text().unwrap().contains("mamori_http_requests_total"));
}

#[test]
fn files_are_private_and_cli_acts_name_the_real_account() {
    use std::os::unix::fs::PermissionsExt;
    let v = TestVault::new();
    // $USER says anything; the audit log says who the process really runs as.
    let account = String::from_utf8(
        std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let out = v
        .cmd(&["--json", "tenant", "create", "acme", "--name", "アクメ"])
        .env_remove("USER")
        .env_remove("LOGNAME")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = v
        .cmd(&["--json", "tenant", "create", "beta", "--name", "ベータ"])
        .env("USER", "mallory")
        .output()
        .unwrap();
    assert!(out.status.success());
    let csv = csv_of(v.dir.path(), "acme.csv", 7, 50);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let au = v.user("au", "auditor", &[]);
    let s = v.serve();
    let events = s.audit(&au, "action=tenant.create");
    let actors: Vec<&str> = events.iter().filter_map(|e| e["actor"].as_str()).collect();
    assert_eq!(actors.len(), 2, "{events:?}");
    assert!(
        actors.iter().all(|a| *a == format!("cli:{account}")),
        "{actors:?}"
    );
    s.stop();
    // Every file in the data directory is its owner's alone.
    let files = v.data_files();
    for f in &files {
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", f.display());
    }
    assert!(files.len() >= 4, "{}", files.len());
}
