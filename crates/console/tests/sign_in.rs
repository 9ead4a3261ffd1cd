//! Signing in to the console through a real OpenID Provider (panva's
//! oidc-provider, started on loopback and stopped by PID) and signing out:
//! the session is the vault's, bound to the browser that began, opened only
//! for a linked person whose groups grant their role, and revoked at
//! sign-out so that a copied cookie opens nothing.

#[path = "../../identity/tests/common/op.rs"]
mod op;

use std::sync::Arc;

use axum::{
    Router,
    body::{Body, to_bytes},
    http::{Request, StatusCode, header},
};
use mamori_app::datadir;
use mamori_core::{Role, schema::CONTACT_CENTRE_SCHEMA};
use mamori_identity::{Provider, ProviderConfig};
use mamori_vault::{Vault, VaultError, admin::NewUser};
use serde_json::json;
use tower::ServiceExt;

const SECRET: &str = "client-secret-for-tests-only-0123456789";
const REDIRECT: &str = "http://127.0.0.1:9/console/oidc/callback";

struct Site {
    _dir: tempfile::TempDir,
    vault: Arc<Vault>,
    app: Router,
    /// The security office's token.
    so: String,
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    /// A cookie's whole `Set-Cookie` line.
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// `name=value` of a cookie set by this answer.
    fn cookie(&self, name: &str) -> String {
        let c = self.set_cookie(name).unwrap();
        c[..c.find(';').unwrap()].to_owned()
    }

    fn location(&self) -> String {
        self.headers[header::LOCATION].to_str().unwrap().to_owned()
    }
}

fn provider_config(op: &op::TestOp, roles: bool) -> ProviderConfig {
    let mut c = json!({
        "name": "corp", "label": "Corp ID", "issuer": op.issuer, "client_id": "mamori",
        "client_secret_env": "UNUSED", "redirect_uri": REDIRECT,
        "scopes": ["openid", "profile", "groups"],
    });
    if roles {
        c["roles"] = json!({"g-operators": "operator", "g-supervisors": "supervisor"});
    }
    serde_json::from_value(c).unwrap()
}

impl Site {
    fn new(op: &op::TestOp, roles: bool) -> Site {
        Site::with(op, roles, |v| v)
    }

    /// A site whose vault `adjust` changes further (rules, say).
    fn with(op: &op::TestOp, roles: bool, adjust: impl FnOnce(Vault) -> Vault) -> Site {
        let dir = tempfile::tempdir().unwrap();
        datadir::init(dir.path()).unwrap();
        let p = Provider::new(
            provider_config(op, roles),
            Some(SECRET.to_owned().into()),
            dir.path(),
        )
        .unwrap();
        let vault = datadir::open_with(dir.path(), |v| adjust(v.with_identity_providers(vec![p])))
            .unwrap()
            .vault;
        vault
            .create_tenant("cli:test", "acme", "アクメ", CONTACT_CENTRE_SCHEMA)
            .unwrap();
        let mut so = String::new();
        for (login, role) in [
            ("sato", Role::Operator),
            ("ito", Role::Operator),
            ("so", Role::SecurityOfficer),
        ] {
            let user = NewUser {
                login,
                role,
                department: None,
                vendor: None,
                manager: None,
            };
            so = vault.create_user("cli:test", &user).unwrap().to_string();
        }
        vault
            .link_identity("cli:test", "sato", "corp", "u-sato")
            .unwrap();
        // ito is linked, but the provider puts ito in the supervisors' group.
        vault
            .link_identity("cli:test", "ito", "corp", "u-ito")
            .unwrap();
        let app = mamori_console::router(vault.clone(), Default::default());
        Site {
            _dir: dir,
            vault,
            app,
            so,
        }
    }

    async fn get(&self, path: &str, cookies: &str) -> Answer {
        self.send("GET", path, cookies, "").await
    }

    async fn send(&self, method: &str, path: &str, cookies: &str, form: &str) -> Answer {
        let mut req = Request::builder().method(method).uri(path);
        if !cookies.is_empty() {
            req = req.header(header::COOKIE, cookies);
        }
        if method == "POST" {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let resp = self
            .app
            .clone()
            .oneshot(req.body(Body::from(form.to_owned())).unwrap())
            .await
            .unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let body = to_bytes(resp.into_body(), 1 << 24).await.unwrap();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Begins a sign-in: the binding cookie and the provider's URL.
    async fn start(&self) -> (String, String) {
        let r = self.get("/console/oidc/corp/start", "").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let set = r.set_cookie("mamori_oidc").unwrap();
        for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/console/oidc"] {
            assert!(set.contains(attr), "{set}");
        }
        (r.cookie("mamori_oidc"), r.location())
    }

    /// The provider's redirect back, as a path of this site.
    async fn back(&self, op: &op::TestOp, url: &str, account: &str) -> String {
        let url = url.to_owned();
        let account = account.to_owned();
        let op_url = tokio::task::block_in_place(|| op.sign_in(&url, &account));
        assert!(op_url.starts_with(REDIRECT), "{op_url}");
        op_url["http://127.0.0.1:9".len()..].to_owned()
    }

    /// The reasons of the audit log's `action` events, read by the office.
    fn audit_reasons(&self, action: &str) -> Vec<String> {
        let so = self.vault.authenticate(Some(&self.so), None).unwrap();
        let q = mamori_store::AuditQuery {
            action: Some(action.into()),
            limit: 1000,
            ..Default::default()
        };
        let page = self.vault.audit_events(&so, q).unwrap();
        page.events.into_iter().map(|e| e.event.reason).collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_linked_person_signs_in_through_the_provider_and_out_again() {
    if !op::ready() {
        return;
    }
    let op = tokio::task::block_in_place(|| op::TestOp::start(&fixture(), 0));
    let site = tokio::task::block_in_place(|| Site::new(&op, true));

    // The sign-in page offers the provider.
    let page = site.get("/console/login", "").await;
    assert!(page.body.contains("/console/oidc/corp/start") && page.body.contains("Corp ID"));

    let (binding, url) = site.start().await;
    assert!(url.starts_with(&op.issuer) && url.contains("code_challenge_method=S256"));
    let back = site.back(&op, &url, "u-sato").await;
    let r = site.get(&back, &binding).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("http-equiv=\"refresh\""),
        "moves on to the console"
    );
    let session = r.cookie("mamori_session");
    let set = r.set_cookie("mamori_session").unwrap();
    assert!(set.contains("SameSite=Strict") && set.contains("HttpOnly"));
    assert!(
        r.set_cookie("mamori_oidc").unwrap().contains("Max-Age=0"),
        "the binding is cleared"
    );
    let home = site.get("/console/", &session).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("sato"));

    // The same callback again: the sign-in was taken once.
    let again = site.get(&back, &binding).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(again.body.contains("もう一度サインインしてください"));

    // Signing out revokes the session: the copied cookie opens nothing.
    let csrf = csrf(&home.body);
    let out = site
        .send("POST", "/console/logout", &session, &format!("csrf={csrf}"))
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let after = site.get("/console/", &session).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location(), "/console/login");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_is_refused_for_another_browser_an_unlinked_person_and_an_ungranted_role() {
    if !op::ready() {
        return;
    }
    let op = tokio::task::block_in_place(|| op::TestOp::start(&fixture(), 0));
    let site = tokio::task::block_in_place(|| Site::new(&op, true));

    // The callback reaches a browser that did not begin the sign-in.
    let (binding, url) = site.start().await;
    let back = site.back(&op, &url, "u-sato").await;
    let r = site.get(&back, "mamori_oidc=someone-else").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.set_cookie("mamori_session").is_none());
    // ... and it is spent: the right browser cannot use it afterwards either.
    let r = site.get(&back, &binding).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // A person the provider knows and mamori does not.
    let (binding, url) = site.start().await;
    let back = site.back(&op, &url, "u-stranger").await;
    let r = site.get(&back, &binding).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("mamori に登録されていません"), "{}", r.body);
    assert!(r.set_cookie("mamori_session").is_none());

    // A linked operator whom the provider's groups make a supervisor only.
    let (binding, url) = site.start().await;
    let back = site.back(&op, &url, "u-ito").await;
    let r = site.get(&back, &binding).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("グループ"), "{}", r.body);

    // No state, a made-up state: refused.
    for path in [
        "/console/oidc/callback?code=x".to_owned(),
        format!(
            "/console/oidc/callback?state=made-up&code=x&iss={}",
            op.issuer
        ),
    ] {
        let r = site.get(&path, &binding).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // An unknown provider.
    let r = site.get("/console/oidc/nobody/start", "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Each refusal is in the audit log with its reason; no session was opened.
    let reasons = site.audit_reasons("auth.oidc");
    for code in [
        "browser_mismatch",
        "state_unknown",
        "not_provisioned",
        "role_not_granted",
        "state_missing",
    ] {
        assert!(reasons.iter().any(|r| r == code), "{code}: {reasons:?}");
    }
    assert!(site.audit_reasons("auth.session").is_empty());
}

/// A session opened through the provider by `account`, asking for MFA or not.
fn signed_in(site: &Site, op: &op::TestOp, account: &str, mfa: bool) -> String {
    sign_in(site, op, account, mfa).unwrap()
}

/// A sign-in through the provider by `account`: the session's secret, or
/// the vault's refusal.
fn sign_in(site: &Site, op: &op::TestOp, account: &str, mfa: bool) -> Result<String, VaultError> {
    let fresh = mamori_vault::identity::Fresh {
        reauthenticate: mfa,
        acr_values: if mfa {
            vec!["urn:mamori:mfa".into()]
        } else {
            vec![]
        },
        claims: None,
    };
    let start = site.vault.begin_sign_in("corp", &fresh).unwrap();
    let back = op.sign_in(&start.url, account);
    let q: std::collections::HashMap<String, String> = url::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let cb = mamori_vault::identity::Callback {
        state: q.get("state").map(String::as_str),
        code: q.get("code").map(String::as_str),
        iss: q.get("iss").map(String::as_str),
        error: None,
    };
    let opened = site
        .vault
        .finish_sign_in(&cb, Some(start.binding.as_str()), None)?;
    Ok(opened.secret.to_string())
}

/// A tenant asking for MFA before sensitive acts, sato's supervisor boss
/// (linked to u-boss, who has MFA at the provider): boss's API token and a
/// way to have sato file a request.
fn city(site: &Site) -> (String, String) {
    let v = &site.vault;
    let schema = format!(
        "{}\n[step_up]\nacr = [\"urn:mamori:mfa\"]\nmax_age_s = 300\n",
        mamori_core::schema::CONTACT_CENTRE_SCHEMA
    );
    v.create_tenant("cli:test", "city", "市役所", &schema)
        .unwrap();
    let boss = NewUser {
        login: "boss",
        role: Role::Supervisor,
        department: None,
        vendor: None,
        manager: None,
    };
    let boss_token = v.create_user("cli:test", &boss).unwrap().to_string();
    v.link_identity("cli:test", "boss", "corp", "u-boss")
        .unwrap();
    v.set_manager("cli:test", "sato", Some("boss")).unwrap();
    v.assign("cli:test", "sato", "city", Some("own")).unwrap();
    let so = v.authenticate(Some(&site.so), None).unwrap();
    v.record_training(&so, "sato", "privacy-basics", 90, None)
        .unwrap();
    let sato_token = v.issue_token("cli:test", "sato").unwrap().to_string();
    (boss_token, sato_token)
}

/// sato's request for the partner segment of city, under case `n`.
fn request(site: &Site, sato_token: &str, n: u32) -> String {
    let sato = site.vault.authenticate(Some(sato_token), None).unwrap();
    site.vault
        .request_access(
            &sato,
            &mamori_vault::grants::NewRequest {
                tenant: "city".into(),
                segment: Some("collab".into()),
                fields: vec!["customer_no".into(), "name".into()],
                purpose: "inquiry".into(),
                case_id: format!("CASE-{n}"),
                justification: "住民からの問い合わせで契約内容を確認する必要があるため".into(),
                record_budget: 2,
                starts_at: None,
                hours: Some(1),
            },
        )
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread")]
async fn approving_on_a_tenant_that_asks_for_mfa_needs_a_fresh_mfa_sign_in() {
    if !op::ready() {
        return;
    }
    let op = tokio::task::block_in_place(|| op::TestOp::start(&fixture(), 0));
    tokio::task::block_in_place(|| {
        let site = Site::new(&op, false);
        let v = &site.vault;
        let (boss_token, sato_token) = city(&site);
        let id = request(&site, &sato_token, 1);
        // An API token carries no sign-in: the challenge.
        let by_token = v.authenticate(Some(&boss_token), None).unwrap();
        let e = v.approve_request(&by_token, &id, None).unwrap_err();
        assert_eq!(e.code(), "step_up_required");
        // A sign-in without MFA: the challenge, with what to ask for.
        let plain = signed_in(&site, &op, "u-boss", false);
        let caller = v.authenticate_session(&plain, None).unwrap();
        match v.approve_request(&caller, &id, None).unwrap_err() {
            mamori_vault::VaultError::StepUp {
                tenant,
                acr_values,
                max_age,
                provider,
            } => {
                assert_eq!(tenant, "city");
                assert_eq!(acr_values, ["urn:mamori:mfa"]);
                assert_eq!(max_age, 300);
                assert_eq!(provider.as_deref(), Some("corp"));
            }
            other => panic!("{other:?}"),
        }
        // A fresh sign-in with MFA: approved, and recorded with how.
        let strong = signed_in(&site, &op, "u-boss", true);
        let caller = v.authenticate_session(&strong, None).unwrap();
        v.approve_request(&caller, &id, None).unwrap();
        let so = v.authenticate(Some(&site.so), None).unwrap();
        let q = mamori_store::AuditQuery {
            action: Some("access.approve".into()),
            limit: 100,
            ..Default::default()
        };
        let events = v.audit_events(&so, q).unwrap().events;
        let allowed = events
            .iter()
            .find(|e| e.event.reason != "step_up_required")
            .unwrap();
        let d = serde_json::to_value(&allowed.event).unwrap();
        assert_eq!(d["detail"]["acr"], "urn:mamori:mfa", "{d}");
        assert!(d["detail"]["auth_time"].is_i64());
        let challenged = events
            .iter()
            .filter(|e| e.event.reason == "step_up_required")
            .count();
        assert_eq!(challenged, 2);
        // Denying needs no step-up.
        let id2 = request(&site, &sato_token, 2);
        let weak = v.authenticate_session(&plain, None).unwrap();
        v.deny_request(&weak, &id2, "この件は窓口で対応済みのため不要です")
            .unwrap();
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_a_full_access_cap_needs_the_tenants_step_up_too() {
    if !op::ready() {
        return;
    }
    let op = tokio::task::block_in_place(|| op::TestOp::start(&fixture(), 0));
    tokio::task::block_in_place(|| {
        let site = Site::new(&op, false);
        let v = &site.vault;
        city(&site);
        v.link_identity("cli:test", "so", "corp", "u-so").unwrap();
        let cap = |t: &str| v.store().tenant(t).unwrap().unwrap().full_access_cap;
        let by_token = v.authenticate(Some(&site.so), None).unwrap();
        // A tenant without a rule: the officer's token is enough.
        v.set_full_access_cap(&by_token, "acme", Some(2)).unwrap();
        assert_eq!(cap("acme"), Some(2));
        let e = v
            .set_full_access_cap(&by_token, "city", Some(9))
            .unwrap_err();
        assert_eq!(e.code(), "step_up_required");
        let plain = signed_in(&site, &op, "u-so", false);
        let weak = v.authenticate_session(&plain, None).unwrap();
        let e = v.set_full_access_cap(&weak, "city", Some(9)).unwrap_err();
        assert_eq!(e.code(), "step_up_required");
        assert_eq!(cap("city"), None, "unchanged");
        let strong = signed_in(&site, &op, "u-so", true);
        let strong = v.authenticate_session(&strong, None).unwrap();
        v.set_full_access_cap(&strong, "city", Some(9)).unwrap();
        assert_eq!(cap("city"), Some(9));
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_sends_an_approver_to_a_fresh_mfa_sign_in_and_back() {
    if !op::ready() {
        return;
    }
    let op = tokio::task::block_in_place(|| op::TestOp::start(&fixture(), 0));
    let site = tokio::task::block_in_place(|| Site::new(&op, false));
    let (_, sato_token) = tokio::task::block_in_place(|| city(&site));
    let id = tokio::task::block_in_place(|| request(&site, &sato_token, 1));

    // boss signs in through the provider, without MFA.
    let (binding, url) = site.start().await;
    let back = site.back(&op, &url, "u-boss").await;
    let session = site.get(&back, &binding).await.cookie("mamori_session");
    let inbox = site.get("/console/inbox", &session).await;
    let form = format!("csrf={}&verdict=approve&comment=", csrf(&inbox.body));
    let path = format!("/console/requests/{id}/decide");
    let r = site.send("POST", &path, &session, &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.location();
    assert!(
        to.starts_with("/console/step-up?tenant=city&back=%2Fconsole%2Finbox"),
        "{to}"
    );
    // The step-up: a fresh sign-in asking for MFA, back to the inbox.
    let r = site.get(&to, &session).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let url = r.location();
    for part in ["prompt=login", "max_age=0", "acr_values=urn%3Amamori%3Amfa"] {
        assert!(url.contains(part), "{part}: {url}");
    }
    let binding = r.cookie("mamori_oidc");
    let back = site.back(&op, &url, "u-boss").await;
    let r = site.get(&back, &binding).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("url=/console/inbox"), "{}", r.body);
    let stronger = r.cookie("mamori_session");
    // The act again, now approved.
    let inbox = site.get("/console/inbox", &stronger).await;
    let form = format!("csrf={}&verdict=approve&comment=", csrf(&inbox.body));
    let r = site.send("POST", &path, &stronger, &form).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains("class=\"error\""), "{}", r.body);
    // A step-up cannot be sent off the console.
    let r = site
        .get(
            "/console/step-up?tenant=city&back=https://evil.example/",
            &stronger,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

/// SCIM provisioning links a person to their sign-in from the User's
/// externalId; they sign in with no administrator's link, and the
/// provider's deactivation ends the session they have open.
#[test]
fn a_provisioned_person_signs_in_through_the_link_provisioning_made_until_deactivated() {
    let op = op::TestOp::start(&fixture(), 0);
    let site = Site::with(&op, true, |v| {
        let mut rules = v.rules().clone();
        rules.scim.link_provider = "corp".into();
        rules.scim.link_subject = "{externalId}".into();
        v.with_rules(rules)
    });
    let vault = site.vault.clone();
    let scim_token = vault.scim_issue_token("cli:test", "corp").unwrap();
    let client = vault
        .scim_authenticate(Some(scim_token.as_str()), None)
        .unwrap();
    let user = vault
        .scim_create(
            &client,
            mamori_store::ScimKind::User,
            &json!({"userName": "stranger@example.jp", "externalId": "u-stranger", "active": true}),
        )
        .unwrap();
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(
        vault.identities_of("stranger").unwrap(),
        vec![("corp".to_owned(), "u-stranger".to_owned())]
    );
    // Another User naming the same identity is refused: one person per identity.
    let e = vault
        .scim_create(
            &client,
            mamori_store::ScimKind::User,
            &json!({"userName": "copy@example.jp", "externalId": "u-stranger", "active": true}),
        )
        .unwrap_err();
    assert!(
        matches!(e, mamori_vault::identity::ScimFail::Scim(ref s) if s.status == 409),
        "{e:?}"
    );

    let session = signed_in(&site, &op, "u-stranger", false);
    assert!(vault.authenticate_session(&session, None).is_ok());

    vault
        .scim_patch(
            &client,
            mamori_store::ScimKind::User,
            &id,
            &json!({"Operations": [{"op": "replace", "value": {"active": "False"}}]}),
        )
        .unwrap();
    assert!(
        vault.authenticate_session(&session, None).is_err(),
        "the session ended"
    );
    // And the provider's sign-in no longer opens one.
    assert!(sign_in(&site, &op, "u-stranger", false).is_err());
}

/// Tenants whose birth dates are sensitive (要配慮) and which ask for a
/// step-up (`kumi`; `machi` with `unmask = false`), each with one customer
/// a backyard clerk entered, and sato (linked also as u-sato-mfa, who signs
/// in with MFA) assigned and trained.
fn sensitive_tenants(site: &Site) {
    let v = &site.vault;
    let sensitive = mamori_core::schema::CONTACT_CENTRE_SCHEMA.replacen(
        "name = \"birth_date\"\ntype = \"date\"\nclass = \"personal\"",
        "name = \"birth_date\"\ntype = \"date\"\nclass = \"sensitive\"",
        1,
    );
    assert_ne!(sensitive, mamori_core::schema::CONTACT_CENTRE_SCHEMA);
    let so = v.authenticate(Some(&site.so), None).unwrap();
    let by = NewUser {
        login: "by",
        role: Role::Backyard,
        department: None,
        vendor: None,
        manager: None,
    };
    let by_token = v.create_user("cli:test", &by).unwrap().to_string();
    v.record_training(&so, "by", "privacy-basics", 90, None)
        .unwrap();
    v.record_compliance(&so, "by", None).unwrap();
    v.record_training(&so, "sato", "privacy-basics", 90, None)
        .unwrap();
    v.link_identity("cli:test", "sato", "corp", "u-sato-mfa")
        .unwrap();
    for (tenant, unmask) in [("kumi", true), ("machi", false)] {
        let schema =
            format!("{sensitive}\n[step_up]\nacr = [\"urn:mamori:mfa\"]\nunmask = {unmask}\n");
        v.create_tenant("cli:test", tenant, "組合", &schema)
            .unwrap();
        v.assign("cli:test", "by", tenant, Some("own")).unwrap();
        v.assign("cli:test", "sato", tenant, Some("own")).unwrap();
        let writer = v.authenticate(Some(&by_token), None).unwrap();
        let fields: std::collections::BTreeMap<String, String> = [
            ("name", "試験 花子"),
            ("name_kana", "シケン ハナコ"),
            ("phone", "03-5555-0101"),
            ("birth_date", "1980-04-01"),
            ("address", "大阪府大阪市北区梅田1-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let access = mamori_vault::access::Access {
            purpose: Some("contract_change"),
            case_id: Some("T-1"),
        };
        v.upsert(&writer, tenant, "C-SENS-1", Some("own"), &fields, access)
            .unwrap();
    }
}

/// A read that would show a sensitive field in full needs a fresh MFA
/// sign-in where the tenant asks for a step-up; one that shows it masked
/// does not; `unmask = false` exempts reads.
#[test]
fn showing_a_sensitive_field_in_full_needs_the_tenants_step_up() {
    use mamori_vault::access::{Access, SearchBy};
    let op = op::TestOp::start(&fixture(), 0);
    let site = Site::new(&op, true);
    sensitive_tenants(&site);
    let v = &site.vault;
    let access = |p| Access {
        purpose: Some(p),
        case_id: Some("T-1"),
    };
    let by_phone = SearchBy {
        key: "phone".into(),
        value: "03-5555-0101".into(),
    };
    let sato_api = v.issue_token("cli:test", "sato").unwrap().to_string();
    let api = v.authenticate(Some(&sato_api), None).unwrap();
    // Exempted on machi.
    assert!(
        v.search(&api, "machi", access("identity_check"), &by_phone)
            .is_ok()
    );
    // Masked (the year only): no step-up.
    assert!(v.search(&api, "kumi", access("inquiry"), &by_phone).is_ok());
    // In full: an API token never meets the rule, nor a sign-in without MFA.
    let full = v.search(&api, "kumi", access("identity_check"), &by_phone);
    assert!(
        matches!(full, Err(VaultError::StepUp { .. })),
        "{:?}",
        full.err()
    );
    let plain = signed_in(&site, &op, "u-sato", false);
    let caller = v.authenticate_session(&plain, None).unwrap();
    let r = v.search(&caller, "kumi", access("identity_check"), &by_phone);
    assert!(matches!(r, Err(VaultError::StepUp { .. })));
    let strong = signed_in(&site, &op, "u-sato-mfa", true);
    let caller = v.authenticate_session(&strong, None).unwrap();
    let r = v
        .search(&caller, "kumi", access("identity_check"), &by_phone)
        .unwrap();
    assert_eq!(r.into_inner().records[0].fields["birth_date"], "1980-04-01");
    let refusals = site.audit_reasons("record.search");
    assert_eq!(
        refusals.iter().filter(|r| *r == "step_up_required").count(),
        2
    );
}

/// The console's lookup sends the person to the fresh sign-in and back to
/// the lookup page (the value they typed is not carried along).
#[tokio::test(flavor = "multi_thread")]
async fn the_console_sends_a_lookup_of_a_sensitive_field_to_a_fresh_mfa_sign_in() {
    if !op::ready() {
        return;
    }
    let op = tokio::task::block_in_place(|| op::TestOp::start(&fixture(), 0));
    let site = tokio::task::block_in_place(|| Site::new(&op, true));
    tokio::task::block_in_place(|| sensitive_tenants(&site));
    let (binding, url) = site.start().await;
    let back = site.back(&op, &url, "u-sato").await;
    let session = site.get(&back, &binding).await.cookie("mamori_session");
    let page = site.get("/console/lookup", &session).await;
    let form = |purpose: &str| {
        format!(
            "csrf={}&tenant=kumi&purpose={purpose}&case_id=T-1&key=phone&value=03-5555-0101",
            csrf(&page.body)
        )
    };
    let r = site
        .send("POST", "/console/lookup", &session, &form("identity_check"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.location();
    assert!(
        to.starts_with("/console/step-up?tenant=kumi&back=%2Fconsole%2Flookup"),
        "{to}"
    );
    assert!(!to.contains("5555"), "the value is not in the URL");
    let r = site
        .send("POST", "/console/lookup", &session, &form("inquiry"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("1980"), "the year, masked view");
}

fn fixture() -> serde_json::Value {
    json!({
        "clients": [{"client_id": "mamori", "client_secret": SECRET, "redirect_uris": [REDIRECT]}],
        "accounts": {
            "u-boss": {"preferred_username": "boss", "groups": ["g-supervisors"], "mfa": true},
            "u-sato": {"preferred_username": "sato", "groups": ["g-operators"]},
            "u-sato-mfa": {"preferred_username": "sato", "groups": ["g-operators"], "mfa": true},
            "u-ito": {"preferred_username": "ito", "groups": ["g-supervisors"]},
            "u-stranger": {"preferred_username": "stranger", "groups": ["g-operators"]},
            "u-so": {"preferred_username": "so", "groups": ["g-security"], "mfa": true}
        }
    })
}

fn csrf(body: &str) -> String {
    let at = body.find("name=\"csrf\" value=\"").unwrap() + 19;
    body[at..at + body[at..].find('"').unwrap()].to_owned()
}
