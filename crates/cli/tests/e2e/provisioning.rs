//! SCIM provisioning against the real server: a third-party compliance
//! suite (scim2-tester from PyPI, pinned in `.ci/scim2-tester.txt`;
//! `.ci/run` installs it and names its Python in `MAMORI_SCIM_TESTER`),
//! the requests Microsoft Entra ID and Okta send (bodies as their
//! provisioning documentation gives them), what the groups make of people,
//! offboarding by `active=false` and DELETE, the credential's bad paths,
//! and deprovisioning under load: no request of the person succeeds once
//! the SCIM call has returned.

use std::{
    path::PathBuf,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use crate::common::*;
use serde_json::{Value, json};

const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The groups of the tests' provider and what they make their members.
const SCIM_CONFIG: &str = r#"
[identity.scim]
default_role = "operator"

[[identity.scim.groups]]
display_name = "mamori-supervisors"
role = "supervisor"
department = "東京第一センター"

[[identity.scim.groups]]
external_id = "okta-grp-vendor"
role = "vendor_user"
vendor = "test-bpo"
"#;

/// A vault whose provider may provision, a provisioning token, and the
/// server; `auditor` reads the audit log.
fn provisioned() -> (TestVault, Server, String) {
    let v = TestVault::new();
    let toml = v.data().join("mamori.toml");
    let mut cfg = std::fs::read_to_string(&toml).unwrap();
    // `init` wrote the section with its defaults: replaced by the tests' own.
    let at = cfg.find("[identity.scim]").unwrap();
    let end = cfg[at + 1..].find("\n[").map_or(cfg.len(), |n| at + 2 + n);
    cfg.replace_range(at..end, "");
    cfg.push_str(SCIM_CONFIG);
    std::fs::write(&toml, cfg).unwrap();
    let token = v.ok(&["scim", "issue-token", "entra"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let s = v.serve();
    (v, s, token)
}

fn scim(s: &Server, method: &str, path: &str, token: &str, body: Option<Value>) -> Resp {
    s.send(method, &format!("/scim/v2{path}"), token, body)
}

fn person(v: &TestVault, login: &str) -> Value {
    v.ok(&["user", "list"])
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == login)
        .cloned()
        .unwrap_or(Value::Null)
}

/// The audit events `query` selects, read by an auditor.
fn events(v: &TestVault, s: &Server, query: &str) -> Vec<Value> {
    let auditor = match person(v, "au") {
        Value::Null => v.user("au", "auditor", &[]),
        _ => v.ok(&["user", "token", "au"])["token"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    s.audit(&auditor, query)
}

/// The login a User provisioned, from the audit log's creation event (as
/// an auditor would find it).
fn login_of(v: &TestVault, s: &Server, id: &str) -> String {
    events(v, s, "action=scim.user.create&limit=1000")
        .iter()
        .find(|e| e["detail"]["id"] == id)
        .map(|e| e["detail"]["login"].as_str().unwrap().to_owned())
        .expect("a creation event names the login")
}

/// The status of a `POST /scim/v2/Users` whose head announces `len` bytes
/// of body and which sends none: what the server answers from the head.
fn head_only(s: &Server, token: &str, len: usize) -> u16 {
    use std::io::{Read, Write};
    let addr = s.base.trim_start_matches("http://");
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = if token.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {token}\r\n")
    };
    write!(
        c,
        "POST /scim/v2/Users HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/scim+json\r\nContent-Length: {len}\r\n\r\n"
    )
    .unwrap();
    let mut head = [0u8; 64];
    let n = c.read(&mut head).unwrap();
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The status of an authenticated `POST /scim/v2/Users` with a 3 MB body.
/// The server answers 413 once past its limit and may close while the
/// rest is still being sent; a connection reset that takes the answer
/// with it is tried again (a few times at most).
fn too_large(s: &Server, token: &str) -> u16 {
    let big = json!({"userName": "x".repeat(3 * 1024 * 1024)}).to_string();
    for _ in 0..5 {
        let sent = s
            .http
            .post(format!("{}/scim/v2/Users", s.base))
            .bearer_auth(token)
            .header("content-type", "application/scim+json")
            .body(big.clone())
            .send();
        if let Ok(r) = sent {
            return r.status().as_u16();
        }
    }
    panic!("no answer to a body over the limit");
}

/// The Python with scim2-tester, or None after saying loudly that the test
/// is skipped (CI always sets it).
fn scim_tester() -> Option<PathBuf> {
    use std::io::Write;
    let path = std::env::var_os("MAMORI_SCIM_TESTER").map(PathBuf::from);
    if path.is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "\n********\n* SKIPPED: the SCIM compliance suite (MAMORI_SCIM_TESTER is not set; .ci/run installs scim2-tester and sets it). CI always sets it.\n********"
        );
    }
    path
}

#[test]
fn a_third_party_scim_compliance_suite_passes() {
    let Some(python) = scim_tester() else { return };
    let (v, s, token) = provisioned();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server/tests/scim/check.py");
    let out = Command::new(python)
        .current_dir(v.dir.path())
        .arg(script)
        .arg(format!("{}/scim/v2", s.base))
        .arg(&token)
        .output()
        .expect("run scim2-tester");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "scim2-tester found failures:\n{text}");
    let summary = text
        .lines()
        .find(|l| l.starts_with("summary"))
        .unwrap_or("");
    let passed: u32 = summary
        .split_whitespace()
        .find_map(|w| w.strip_prefix("SUCCESS="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed >= 60, "the suite ran its checks: {summary}");
    // What the suite did is in the audit log, and the log verifies.
    drop(s);
    assert!(v.ok(&["audit", "verify"])["ok"].as_bool().unwrap());
}

#[test]
fn entra_provisions_places_and_offboards_a_person() {
    let (v, s, token) = provisioned();
    // Entra first asks whether the user exists, then creates them.
    let r = scim(
        &s,
        "GET",
        "/Users?filter=userName+eq+%22Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1%22",
        &token,
        None,
    );
    assert_eq!(
        (r.status, r.body["totalResults"].as_u64()),
        (200, Some(0)),
        "{:?}",
        r.body
    );
    let r = scim(
        &s,
        "POST",
        "/Users",
        &token,
        Some(json!({
            "schemas": [USER, ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
            "active": true,
            "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "roles": []
        })),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.header("content-type"), "application/scim+json");
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert!(r.header("location").ends_with(&format!("/Users/{id}")));
    // Names and mail are not kept.
    assert!(r.body.get("emails").is_none() && r.body.get("name").is_none());
    let login = login_of(&v, &s, &id);
    assert_eq!(login, "test_user_ab6490ee-1e48-479e-a20b-2d77186b5dd1");
    assert_eq!(person(&v, &login)["role"], "operator", "the default role");
    // The same userName again, in another case: one person per userName.
    let r = scim(
        &s,
        "POST",
        "/Users",
        &token,
        Some(json!({
            "schemas": [USER], "userName": "TEST_USER_AB6490EE-1E48-479E-A20B-2D77186B5DD1", "active": true
        })),
    );
    assert_eq!(
        (r.status, r.body["scimType"].as_str()),
        (409, Some("uniqueness"))
    );
    let r = scim(
        &s,
        "GET",
        "/Users?filter=userName+eq+%22test_user_ab6490ee-1e48-479e-a20b-2d77186b5dd1%22",
        &token,
        None,
    );
    assert_eq!(
        r.body["Resources"][0]["id"],
        id.as_str(),
        "userName compared without case"
    );

    // Entra's attribute update (of attributes mamori does not keep) is accepted.
    let r = scim(
        &s,
        "PATCH",
        &format!("/Users/{id}"),
        &token,
        Some(json!({
            "schemas": [PATCH],
            "Operations": [
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
            ]
        })),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);

    // A group the rules map: created, the user added as Entra adds members.
    let r = scim(
        &s,
        "POST",
        "/Groups",
        &token,
        Some(json!({
            "schemas": [GROUP],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "mamori-supervisors",
            "meta": {"resourceType": "Group"}
        })),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let gid = r.body["id"].as_str().unwrap().to_owned();
    let r = scim(
        &s,
        "PATCH",
        &format!("/Groups/{gid}"),
        &token,
        Some(json!({
            "schemas": [PATCH],
            "Operations": [{"name": "addMember", "op": "add", "path": "members",
                            "value": [{"displayName": "new User", "value": id}]}]
        })),
    );
    assert_eq!(r.status, 204, "members alone: no body; {:?}", r.body);
    let p = person(&v, &login);
    assert_eq!(
        (p["role"].as_str(), p["department"].as_str()),
        (Some("supervisor"), Some("東京第一センター"))
    );
    // Entra's membership check.
    let q = format!(
        "/Groups?filter=id+eq+%22{gid}%22+and+members%5Bvalue+eq+%22{id}%22%5D&excludedAttributes=members"
    );
    let r = scim(&s, "GET", &q, &token, None);
    assert_eq!(r.body["totalResults"], 1, "{:?}", r.body);
    assert!(r.body["Resources"][0].get("members").is_none(), "excluded");

    // The person works: an API token of theirs is accepted.
    let api = v.ok(&["user", "token", &login])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s.send("GET", "/v1/alerts", &api, None);
    assert_ne!(r.status, 401, "{:?}", r.body);

    // Entra disables the account: "False" as a string.
    let r = scim(
        &s,
        "PATCH",
        &format!("/Users/{id}"),
        &token,
        Some(json!({
            "schemas": [PATCH],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
        })),
    );
    assert_eq!(
        (r.status, r.body["active"].as_bool()),
        (200, Some(false)),
        "{:?}",
        r.body
    );
    assert_eq!(
        s.send("GET", "/v1/alerts", &api, None).status,
        401,
        "offboarded at once"
    );
    assert_eq!(person(&v, &login)["suspended"], true);
    // Enabled again: provisioning's own suspension is lifted (tokens stay revoked).
    let r = scim(
        &s,
        "PATCH",
        &format!("/Users/{id}"),
        &token,
        Some(json!({
            "schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "True"}]
        })),
    );
    assert_eq!(r.status, 200);
    assert_eq!(person(&v, &login)["suspended"], false);
    assert_eq!(s.send("GET", "/v1/alerts", &api, None).status, 401);

    // Removed from the group: back to the default role.
    let r = scim(
        &s,
        "PATCH",
        &format!("/Groups/{gid}"),
        &token,
        Some(json!({
            "schemas": [PATCH],
            "Operations": [{"name": "removeMember", "op": "remove", "path": "members",
                            "value": [{"displayName": "new User", "value": id}]}]
        })),
    );
    assert_eq!(r.status, 204, "members alone: no body; {:?}", r.body);
    assert_eq!(person(&v, &login)["role"], "operator");

    // Deleted: offboarded, a tombstone the audit log still names.
    let r = scim(&s, "DELETE", &format!("/Users/{id}"), &token, None);
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(
        scim(&s, "GET", &format!("/Users/{id}"), &token, None).status,
        404
    );
    assert_eq!(
        person(&v, &login)["suspended"],
        true,
        "the person stays, suspended"
    );
    // The userName may come back; as a new person, never the old login.
    let r = scim(
        &s,
        "POST",
        "/Users",
        &token,
        Some(json!({
            "schemas": [USER], "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1", "active": true
        })),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let again = login_of(&v, &s, r.body["id"].as_str().unwrap());
    assert_eq!(again, format!("{login}-2"));

    let seen = events(&v, &s, "actor=scim:entra&limit=1000");
    let actions: Vec<&str> = seen.iter().filter_map(|e| e["action"].as_str()).collect();
    for a in [
        "scim.user.create",
        "scim.group.update",
        "user.profile",
        "user.deprovision",
        "user.deprovisioned",
        "user.reactivate",
        "scim.user.delete",
    ] {
        assert!(actions.contains(&a), "{a} recorded: {actions:?}");
    }
    drop(s);
    assert!(v.ok(&["audit", "verify"])["ok"].as_bool().unwrap());
}

#[test]
fn okta_provisions_with_put_and_path_less_patches_and_a_vendor_group() {
    let (v, s, token) = provisioned();
    v.vendor("test-bpo");
    let r = scim(
        &s,
        "POST",
        "/Users",
        &token,
        Some(json!({
            "schemas": [USER],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": true
        })),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert!(
        !r.body.to_string().contains("1mz050nq"),
        "a password is never kept"
    );
    let login = login_of(&v, &s, &id);
    assert_eq!(login, "test.user");
    // Okta's lookup, with its paging parameters.
    let r = scim(
        &s,
        "GET",
        "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100",
        &token,
        None,
    );
    assert_eq!(
        (
            r.body["totalResults"].as_u64(),
            r.body["startIndex"].as_u64()
        ),
        (Some(1), Some(1))
    );

    // A group created empty, renamed with a path-less replace carrying its
    // id, and the member added and removed by a filter path.
    let r = scim(
        &s,
        "POST",
        "/Groups",
        &token,
        Some(json!({
            "schemas": [GROUP], "displayName": "Test SCIMv2", "members": []
        })),
    );
    let gid = r.body["id"].as_str().unwrap().to_owned();
    let r = scim(
        &s,
        "PATCH",
        &format!("/Groups/{gid}"),
        &token,
        Some(json!({
            "schemas": [PATCH], "Operations": [{"op": "replace", "value": {"id": gid, "displayName": "Okta vendor staff"}}]
        })),
    );
    assert_eq!(
        (r.status, r.body["displayName"].as_str()),
        (200, Some("Okta vendor staff"))
    );
    // The rules name this group by its externalId: Okta's PUT sets it.
    let r = scim(
        &s,
        "PUT",
        &format!("/Groups/{gid}"),
        &token,
        Some(json!({
            "schemas": [GROUP], "id": gid, "displayName": "Okta vendor staff",
            "externalId": "okta-grp-vendor", "members": [{"value": id, "display": "test.user@okta.local"}]
        })),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let p = person(&v, &login);
    assert_eq!(
        (p["role"].as_str(), p["vendor"].as_str()),
        (Some("vendor_user"), Some("test-bpo"))
    );
    let r = scim(
        &s,
        "PATCH",
        &format!("/Groups/{gid}"),
        &token,
        Some(json!({
            "schemas": [PATCH], "Operations": [{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]
        })),
    );
    assert_eq!(r.status, 204, "members alone: no body; {:?}", r.body);
    assert_eq!(person(&v, &login)["role"], "operator");

    // Okta's PUT of the user, then its path-less deactivation.
    let r = scim(
        &s,
        "PUT",
        &format!("/Users/{id}"),
        &token,
        Some(json!({
            "schemas": [USER], "id": id, "userName": "test.user@okta.local",
            "name": {"givenName": "Another", "familyName": "User"}, "active": true,
            "externalId": "00ujl29u0le5T6Aj10h7", "displayName": "Another User"
        })),
    );
    assert_eq!(
        (r.status, r.body["displayName"].as_str()),
        (200, Some("Another User"))
    );
    let api = v.ok(&["user", "token", &login])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = scim(
        &s,
        "PATCH",
        &format!("/Users/{id}"),
        &token,
        Some(json!({
            "schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false}}]
        })),
    );
    assert_eq!((r.status, r.body["active"].as_bool()), (200, Some(false)));
    assert_eq!(s.send("GET", "/v1/alerts", &api, None).status, 401);
}

#[test]
fn a_suspension_by_the_security_office_survives_reactivation_by_the_provider() {
    let (v, s, token) = provisioned();
    let officer = v.officer();
    let r = scim(
        &s,
        "POST",
        "/Users",
        &token,
        Some(json!({
            "schemas": [USER], "userName": "kato@example.jp", "active": true
        })),
    );
    let id = r.body["id"].as_str().unwrap().to_owned();
    v.ok_as(&officer, &["user", "suspend", "kato"]);
    for active in [false, true] {
        let r = scim(
            &s,
            "PATCH",
            &format!("/Users/{id}"),
            &token,
            Some(json!({
                "schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": active}]
            })),
        );
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    assert_eq!(
        person(&v, "kato")["suspended"],
        true,
        "the office's suspension stands"
    );
    let kept = events(&v, &s, "action=user.reactivate&limit=10");
    assert_eq!(kept[0]["detail"]["suspension_kept"], true);
}

#[test]
fn the_provisioning_credential_is_its_own_and_errors_repeat_nothing() {
    let (v, s, token) = provisioned();
    let marker = "090-1234-5678";
    // No token, a wrong one, a person's API token: 401 with a SCIM error.
    let person_token = v.user("op", "operator", &[]);
    for t in ["", "mamori_not-a-token", person_token.as_str()] {
        let r = scim(&s, "GET", "/Users", t, None);
        assert_eq!(r.status, 401, "{:?}", r.body);
        assert_eq!(
            r.body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert!(r.header("www-authenticate").starts_with("Bearer"));
    }
    // The provisioning token opens nothing of the API.
    assert_eq!(s.send("GET", "/v1/alerts", &token, None).status, 401);
    // An unauthenticated body is not read: refused for the token, not its
    // size. Only the head is sent (a 3 MB Content-Length, no body): the
    // answer comes without waiting for the body, so neither side races.
    assert_eq!(head_only(&s, "", 3 * 1024 * 1024), 401);
    assert_eq!(too_large(&s, &token), 413);

    // Bad input: refused, and nothing of it in the answer.
    let url = format!("{}/scim/v2/Users", s.base);
    let r = s
        .http
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(format!("{{\"userName\": \"{marker}\", "))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let text = r.text().unwrap();
    assert!(
        text.contains("invalidSyntax") && !text.contains(marker),
        "{text}"
    );
    for (method, path, body) in [
        (
            "POST",
            "/Users".to_owned(),
            Some(json!({"userName": marker, "active": marker})),
        ),
        (
            "POST",
            "/Users".to_owned(),
            Some(json!({"userName": marker})),
        ),
        (
            "POST",
            "/Groups".to_owned(),
            Some(json!({"displayName": marker, "members": [{"value": marker}]})),
        ),
        (
            "GET",
            format!("/Users?filter=userName+sw+%22{marker}%22"),
            None,
        ),
        (
            "GET",
            format!("/Users?filter=emails+eq+%22{marker}%22"),
            None,
        ),
        ("GET", format!("/Users/{marker}"), None),
        (
            "PATCH",
            format!("/Users/{marker}"),
            Some(json!({"Operations": []})),
        ),
        ("GET", format!("/{marker}"), None),
    ] {
        let r = scim(&s, method, &path, &token, body);
        assert!(
            r.status == 400 || r.status == 404,
            "{method} {path}: {:?}",
            r.body
        );
        assert!(
            !r.body.to_string().contains(marker),
            "{method} {path}: {:?}",
            r.body
        );
        assert_eq!(r.header("content-type"), "application/scim+json");
    }
    // A Group's id is no User's.
    let g = scim(
        &s,
        "POST",
        "/Groups",
        &token,
        Some(json!({"displayName": "g"})),
    );
    let gid = g.body["id"].as_str().unwrap();
    assert_eq!(
        scim(&s, "GET", &format!("/Users/{gid}"), &token, None).status,
        404
    );

    // Revoked: the provider's next request is refused.
    v.ok(&["scim", "revoke-token", "entra"]);
    assert_eq!(scim(&s, "GET", "/Users", &token, None).status, 401);
    assert!(!events(&v, &s, "action=auth.scim&limit=100").is_empty());
}

#[test]
fn no_request_of_a_deprovisioned_person_succeeds_after_the_scim_call_returns() {
    let (v, s, token) = provisioned();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = csv_of(v.dir.path(), "p.csv", 6, 50);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let (id, tokens, customer) = a_reader(&v, &s, &token);
    let r = s.search(
        &tokens[0],
        "acme",
        Some("inquiry"),
        "phone",
        &customer.mobile,
    );
    assert_eq!(r.status, 200, "{:?}", r.body);

    let (before, after) = deprovision_under_load(&s, &s, &token, &id, &tokens, &customer.mobile);
    eprintln!(
        "deprovisioning under load (one node): {before} served before the PATCH returned, {} sent after it, {} of those served",
        after.len(),
        after.iter().filter(|st| (200..300).contains(*st)).count()
    );
    assert!(before > 0, "the readers were served before");
    assert!(after.len() > 10, "the readers kept asking after");
    assert!(
        after.iter().all(|st| *st == 401),
        "after the PATCH returned: {after:?}"
    );
    drop(s);
    assert!(v.ok(&["audit", "verify"])["ok"].as_bool().unwrap());
}

/// A person provisioned through `s` who reads tenant `acme`'s own
/// segment: their User's id, two API tokens, and a customer they can find.
fn a_reader(v: &TestVault, s: &Server, token: &str) -> (String, Vec<String>, mamori_synth::Person) {
    let customer = mamori_synth::Generator::new(6)
        .take(50)
        .find(|p| p.segment == "own")
        .unwrap();
    let r = scim(
        s,
        "POST",
        "/Users",
        token,
        Some(json!({
            "schemas": [USER], "userName": "ito@example.jp", "active": true
        })),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    v.ok(&[
        "user",
        "assign",
        "ito",
        "--tenant",
        "acme",
        "--segment",
        "own",
    ]);
    let officer = v.officer();
    v.ok_as(
        &officer,
        &[
            "people",
            "training",
            "ito",
            "--course",
            "privacy-basics",
            "--score",
            "90",
        ],
    );
    let tokens = (0..2)
        .map(|_| {
            v.ok(&["user", "token", "ito"])["token"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    (id, tokens, customer)
}

/// Four readers with the person's tokens read through `readers` as fast as
/// they can while the provider deactivates the User through `admin`: how
/// many were served before the PATCH returned, and the statuses of those
/// sent after it.
fn deprovision_under_load(
    admin: &Server,
    readers: &Server,
    token: &str,
    id: &str,
    tokens: &[String],
    mobile: &str,
) -> (usize, Vec<u16>) {
    let stop = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let (stop, token, base, mobile) = (
                stop.clone(),
                tokens[i % tokens.len()].clone(),
                readers.base.clone(),
                mobile.to_owned(),
            );
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::new();
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let sent = t0.elapsed();
                    let status = http
                        .post(format!("{base}/v1/tenants/acme/records/search"))
                        .bearer_auth(&token)
                        .json(&json!({"case_id": "CASE-1", "purpose": "inquiry", "by": {"phone": mobile}}))
                        .send()
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0);
                    seen.push((sent, status));
                }
                seen
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    let r = scim(
        admin,
        "PATCH",
        &format!("/Users/{id}"),
        token,
        Some(json!({
            "schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
        })),
    );
    let returned = t0.elapsed();
    assert_eq!(r.status, 200, "{:?}", r.body);
    std::thread::sleep(Duration::from_millis(700));
    stop.store(true, Ordering::Relaxed);
    let seen: Vec<(Duration, u16)> = threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let before = seen
        .iter()
        .filter(|(t, st)| *t < returned && *st == 200)
        .count();
    let after = seen
        .iter()
        .filter(|(t, _)| *t > returned)
        .map(|(_, st)| *st)
        .collect();
    (before, after)
}

#[test]
fn deprovisioning_through_one_postgres_node_refuses_the_person_on_another() {
    let Some(url) = pg_url() else { return };
    let schema = PgSchema::new(&url, "scim");
    let env = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let v = TestVault::new_with(vec![
        env("MAMORI_STORE", &url),
        env("MAMORI_STORE_PG_SCHEMA", &schema.name),
        env("MAMORI_LIMITS_REQUESTS_PER_MINUTE", "1000000"),
    ]);
    let token = v.ok(&["scim", "issue-token", "okta"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = csv_of(v.dir.path(), "p.csv", 6, 50);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let (a, b) = (v.serve(), v.serve());
    let (id, tokens, customer) = a_reader(&v, &a, &token);
    // Node b has the person's tokens in its memory before the deactivation.
    for t in &tokens {
        let r = b.search(t, "acme", Some("inquiry"), "phone", &customer.mobile);
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let (before, after) = deprovision_under_load(&a, &b, &token, &id, &tokens, &customer.mobile);
    eprintln!(
        "deprovisioning under load (two PostgreSQL nodes): {before} served by the other node before the PATCH returned, {} sent after it, {} of those served",
        after.len(),
        after.iter().filter(|st| (200..300).contains(*st)).count()
    );
    assert!(before > 0 && after.len() > 10);
    assert!(
        after.iter().all(|st| *st == 401),
        "after the PATCH returned: {after:?}"
    );
}
