//! The console over HTTP, as a browser talks to it: sign-in with a token,
//! the sealed session cookie, strict headers on every page, CSRF on every
//! form, the operator's lookup masked under a watermark, refusals shown
//! with the vault's reason, roles kept to their pages, and sessions that
//! end with their token.

use std::{collections::BTreeMap, sync::Arc};

use axum::{
    Router,
    body::{Body, to_bytes},
    http::{Request, StatusCode, header},
};
use mamori_app::datadir;
use mamori_core::{Role, schema::CONTACT_CENTRE_SCHEMA};
use mamori_vault::{Vault, admin::NewUser, ingest::ImportRow};
use tower::ServiceExt;

struct Site {
    _dir: tempfile::TempDir,
    vault: Arc<Vault>,
    app: Router,
    tokens: BTreeMap<&'static str, String>,
}

fn phone(i: usize) -> String {
    format!("090-0000-{i:04}")
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        datadir::init(dir.path()).unwrap();
        let vault = datadir::open(dir.path()).unwrap().vault;
        vault
            .create_tenant("cli:test", "acme", "アクメ", CONTACT_CENTRE_SCHEMA)
            .unwrap();
        // Customers 0-3 in the own segment, 9 in the partner's (collab).
        let rows = [0, 1, 2, 3, 9]
            .into_iter()
            .map(|i| ImportRow {
                line: i as u64 + 2,
                segment: Some(if i < 9 { "own" } else { "collab" }.into()),
                fields: BTreeMap::from([
                    ("customer_no".into(), format!("C-{i}")),
                    ("name".into(), format!("試験 花子{i}")),
                    ("phone".into(), phone(i)),
                    ("address".into(), "東京都千代田区千代田1-1".into()),
                ]),
            })
            .collect();
        vault.import_batch("cli:test", "acme", None, rows).unwrap();
        let mut tokens = BTreeMap::new();
        for (login, role, manager) in [
            ("so", Role::SecurityOfficer, None),
            ("sv", Role::Supervisor, None),
            ("op", Role::Operator, Some("sv")),
            ("admin", Role::Sysadmin, None),
            ("au", Role::Auditor, None),
        ] {
            let user = NewUser {
                login,
                role,
                department: None,
                vendor: None,
                manager,
            };
            let token = vault.create_user("cli:test", &user).unwrap();
            tokens.insert(login, token.to_string());
        }
        vault.assign("cli:test", "op", "acme", Some("own")).unwrap();
        let so = vault.authenticate(Some(&tokens["so"]), None).unwrap();
        vault.assign("cli:test", "sv", "acme", None).unwrap();
        vault.approve_full_access(&so, "acme", "sv", None).unwrap();
        vault
            .record_training(&so, "op", "privacy-basics", 90, None)
            .unwrap();
        let font = mamori_report::default_font().map(std::sync::Arc::new);
        let app =
            mamori_console::router(vault.clone(), mamori_console::Options { report_font: font });
        Site {
            _dir: dir,
            vault,
            app,
            tokens,
        }
    }

    /// One request as a browser makes it: the raw answer.
    async fn exchange(
        &self,
        method: &str,
        path: &str,
        cookies: &str,
        ctype: Option<&str>,
        body: &str,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(path);
        if !cookies.is_empty() {
            req = req.header(header::COOKIE, cookies);
        }
        if let Some(t) = ctype {
            req = req.header(header::CONTENT_TYPE, t);
        }
        let resp = self
            .app
            .clone()
            .oneshot(req.body(Body::from(body.to_owned())).unwrap())
            .await
            .unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = to_bytes(resp.into_body(), 1 << 24).await.unwrap();
        (status, headers, bytes.to_vec())
    }

    /// A page, or a form posted as a browser posts it.
    async fn send(&self, method: &str, path: &str, cookies: &str, form: &str) -> Page {
        let ctype = (method == "POST").then_some("application/x-www-form-urlencoded");
        self.send_typed_opt(method, path, cookies, ctype, form)
            .await
    }

    async fn send_typed_opt(
        &self,
        method: &str,
        path: &str,
        cookies: &str,
        ctype: Option<&str>,
        body: &str,
    ) -> Page {
        let (status, headers, bytes) = self.exchange(method, path, cookies, ctype, body).await;
        Page {
            status,
            headers,
            body: String::from_utf8(bytes).unwrap(),
        }
    }

    /// `token` looks customer `i` up by phone under `case` (through the
    /// vault, as the API would): how many customers were shown.
    fn read_as(&self, token: &str, i: usize, case: &str) -> usize {
        let caller = self.vault.authenticate(Some(token), None).unwrap();
        let access = mamori_vault::access::Access {
            purpose: Some("inquiry"),
            case_id: Some(case),
        };
        let by = mamori_vault::SearchBy {
            key: "phone".into(),
            value: phone(i),
        };
        self.vault
            .search(&caller, "acme", access, &by)
            .unwrap()
            .records
            .len()
    }

    /// A post with its own content type (a multipart upload).
    async fn send_typed(
        &self,
        method: &str,
        path: &str,
        cookies: &str,
        ctype: &str,
        body: &str,
    ) -> Page {
        self.send_typed_opt(method, path, cookies, Some(ctype), body)
            .await
    }

    /// A raw answer (a downloaded file): status and bytes.
    async fn send_bytes(
        &self,
        method: &str,
        path: &str,
        cookies: &str,
        form: &str,
    ) -> (StatusCode, Vec<u8>) {
        let ctype = Some("application/x-www-form-urlencoded");
        let (status, _, bytes) = self.exchange(method, path, cookies, ctype, form).await;
        (status, bytes)
    }

    /// Signs `login` in: the session cookie.
    async fn sign_in(&self, login: &str) -> String {
        let form = self.send("GET", "/console/login", "", "").await;
        let pre = form.cookie("mamori_signin");
        let csrf = form.csrf();
        let token = &self.tokens[login];
        let r = self
            .send(
                "POST",
                "/console/login",
                &format!("mamori_signin={pre}"),
                &format!("csrf={csrf}&token={token}"),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        format!("mamori_session={}", r.cookie("mamori_session"))
    }
}

/// An open critical alert about `login`, as detection stores one.
fn alert_about(login: &str, id: &str, now: i64) -> mamori_store::AlertRow {
    mamori_store::AlertRow {
        id: id.into(),
        rule: "honey".into(),
        variant: String::new(),
        severity: "critical".into(),
        login: login.into(),
        tenant: Some("acme".into()),
        at: now,
        window: now - now % 3600,
        value: 1.0,
        threshold: 0.0,
        indicator: None,
        evidence_log: "tenant/acme".into(),
        evidence_seq: 1,
        risk: 75.0,
        raised_at: now,
        state: mamori_store::AlertState::Open,
        assignee: None,
        note: None,
        updated_by: None,
        updated_at: now,
    }
}

struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Page {
    fn cookie(&self, name: &str) -> String {
        let set = self
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} cookie"));
        for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/console"] {
            assert!(set.contains(attr), "{name} lacks {attr}: {set}");
        }
        set[name.len() + 1..set.find(';').unwrap()].to_owned()
    }

    /// The first form's CSRF token.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field")
            + 19;
        self.body[at..at + self.body[at..].find('"').unwrap()].to_owned()
    }

    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_signs_in_and_looks_up_a_customer_masked_under_a_watermark() {
    let site = Site::new();
    // Not signed in: to the sign-in page.
    let r = site.send("GET", "/console/lookup", "", "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header(header::LOCATION), "/console/login");
    // Every page: strict headers.
    let login = site.send("GET", "/console/login", "", "").await;
    assert_eq!(login.status, StatusCode::OK);
    let csp = login.header(header::CONTENT_SECURITY_POLICY);
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    assert_eq!(login.header(header::CACHE_CONTROL), "no-store");
    assert_eq!(login.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert!(login.body.contains("<html lang=\"ja\">") && login.body.contains("サインイン"));
    assert!(!login.body.contains("<script"), "no script at all");

    // A wrong token: refused, never echoed; a form without its CSRF cookie: refused.
    let pre = login.cookie("mamori_signin");
    let wrong = "mmr_not-a-real-token-0123456789";
    let r = site
        .send(
            "POST",
            "/console/login",
            &format!("mamori_signin={pre}"),
            &format!("csrf={}&token={wrong}", login.csrf()),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(!r.body.contains(wrong));
    let r = site
        .send(
            "POST",
            "/console/login",
            "",
            &format!("csrf={}&token={}", login.csrf(), site.tokens["op"]),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let op = site.sign_in("op").await;
    let form = site.send("GET", "/console/lookup", &op, "").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("autocomplete=\"off\""));
    let csrf = form.csrf();
    let lookup = |csrf: &str, purpose: &str| {
        format!(
            "csrf={csrf}&tenant=acme&purpose={purpose}&case_id=CASE-1&key=phone&value={}",
            encode(&phone(1))
        )
    };
    // Another page's form (wrong CSRF): refused, nothing searched.
    let r = site
        .send("POST", "/console/lookup", &op, &lookup("forged", "inquiry"))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Found, masked by the vault, under the viewer's watermark.
    let r = site
        .send("POST", "/console/lookup", &op, &lookup(&csrf, "inquiry"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("class=\"customer-data\""),
        "print shows a notice only"
    );
    assert!(r.body.contains("class=\"watermark\""), "watermarked");
    let mark = site.send("GET", "/console/watermark.svg", &op, "").await;
    assert_eq!(mark.header(header::CONTENT_TYPE), "image/svg+xml");
    assert!(
        mark.body.contains("閲覧者: op "),
        "the viewer and the time: {}",
        mark.body
    );
    assert!(
        r.body.contains("東京都＊＊＊"),
        "the address masked: {}",
        r.body
    );
    assert!(!r.body.contains("千代田区"));
    assert!(
        !r.body.contains(&phone(1)),
        "the value searched is not sent back"
    );
    // Without a purpose the vault refuses, and the page says why.
    let r = site
        .send("POST", "/console/lookup", &op, &lookup(&csrf, ""))
        .await;
    assert!(r.body.contains("照会できませんでした"), "{}", r.body);
    assert!(!r.body.contains("customer-data"));

    // English on request; the session continues.
    let r = site
        .send("POST", "/console/lang", &op, &format!("csrf={csrf}"))
        .await;
    let lang = format!(
        "mamori_lang={}",
        r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap()[12..14].to_owned()
    );
    let r = site
        .send("GET", "/console/", &format!("{op}; {lang}"), "")
        .await;
    assert!(
        r.body.contains("<html lang=\"en\">") && r.body.contains("Customer lookup"),
        "{}",
        r.body
    );

    // A tampered cookie opens no session; a revoked token ends it.
    let mut bad = op.clone();
    bad.insert(bad.len() - 3, 'A');
    let r = site.send("GET", "/console/", &bad, "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    site.vault.revoke_tokens("cli:test", "op").unwrap();
    let r = site.send("GET", "/console/lookup", &op, "").await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "the session ended with its token"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_without_customer_data_never_gets_the_lookup() {
    let site = Site::new();
    let admin = site.sign_in("admin").await;
    let home = site.send("GET", "/console/", &admin, "").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        !home.body.contains("/console/lookup"),
        "no form it cannot submit"
    );
    let r = site.send("GET", "/console/lookup", &admin, "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let csrf = home.csrf();
    let form = format!("csrf={csrf}&tenant=acme&purpose=inquiry&case_id=C-1&key=phone&value=090");
    let r = site.send("POST", "/console/lookup", &admin, &form).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Signing out ends the session in this browser.
    let r = site
        .send("POST", "/console/logout", &admin, &format!("csrf={csrf}"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.headers
            .get(header::SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_requests_access_their_supervisor_approves_and_the_record_shows() {
    let site = Site::new();
    let op = site.sign_in("op").await;
    let look = |csrf: &str, case: &str| {
        format!(
            "csrf={csrf}&tenant=acme&purpose=inquiry&case_id={case}&key=phone&value={}",
            encode(&phone(9))
        )
    };
    let form = site.send("GET", "/console/lookup", &op, "").await;
    let csrf = form.csrf();
    // One customer of op's own segment read today (the approver sees it).
    let own = format!(
        "csrf={csrf}&tenant=acme&purpose=inquiry&case_id=CASE-1&key=phone&value={}",
        encode(&phone(1))
    );
    let r = site.send("POST", "/console/lookup", &op, &own).await;
    assert!(r.body.contains("東京都＊＊＊"), "{}", r.body);
    let r = site
        .send("POST", "/console/lookup", &op, &look(&csrf, "CASE-9"))
        .await;
    assert!(
        r.body.contains("該当する顧客は見つかりませんでした"),
        "the partner's customer is not shown"
    );

    // The request form, purpose and case carried over; the purpose's fields offered.
    let r = site
        .send(
            "GET",
            "/console/requests/new?tenant=acme&purpose=inquiry&case_id=CASE-9",
            &op,
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("name=\"fields\" value=\"phone\""),
        "{}",
        r.body
    );
    let filed = site
        .send(
            "POST",
            "/console/requests",
            &op,
            &format!(
                "csrf={csrf}&tenant=acme&purpose=inquiry&segment=collab&fields=name&fields=phone&fields=address&case_id=CASE-9&justification={}&records=3&hours=4",
                encode("提携先のお客さまからの解約のお問い合わせ対応のため")
            ),
        )
        .await;
    assert!(filed.body.contains("申請しました"), "{}", filed.body);

    // The supervisor's inbox: approve it.
    let sv = site.sign_in("sv").await;
    let inbox = site.send("GET", "/console/inbox", &sv, "").await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(
        inbox.body.contains("op — acme") && inbox.body.contains("CASE-9"),
        "{}",
        inbox.body
    );
    // Beside it, the requester's last week: one read of one customer, no
    // open alert, training current.
    assert!(inbox.body.contains("1 回 / 1 名の顧客"), "{}", inbox.body);
    assert!(inbox.body.contains("受講済み（有効）"));
    let at = inbox.body.find("/console/requests/").unwrap() + "/console/requests/".len();
    let id = &inbox.body[at..at + inbox.body[at..].find('/').unwrap()];
    let csrf_sv = inbox.csrf();
    let r = site
        .send(
            "POST",
            &format!("/console/requests/{id}/decide"),
            &sv,
            &format!(
                "csrf={csrf_sv}&verdict=approve&comment={}",
                encode("承認します")
            ),
        )
        .await;
    assert!(r.body.contains("承認しました"), "{}", r.body);
    assert!(!r.body.contains("CASE-9"), "no longer waiting");
    // The operator cannot approve their own (nothing waits for them).
    let mine = site.send("GET", "/console/inbox", &op, "").await;
    assert!(!mine.body.contains("CASE-9"));

    // Under the approved case the partner's customer shows, masked.
    let r = site
        .send("POST", "/console/lookup", &op, &look(&csrf, "CASE-9"))
        .await;
    assert!(r.body.contains("区分: collab"), "{}", r.body);
    assert!(r.body.contains("東京都＊＊＊"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_security_office_handles_an_alert_and_suspends_the_person() {
    let site = Site::new();
    let now = chrono::Utc::now().timestamp();
    let alert = alert_about("op", "a1b2c3d4e5f60718a1b2c3d4e5f60718", now);
    assert!(site.vault.store().insert_alert(&alert, &[], now).unwrap());
    let op = site.sign_in("op").await;

    // The person the alert is about never sees it.
    let r = site.send("GET", "/console/alerts", &op, "").await;
    assert!(!r.body.contains("a1b2c3d4e5f60718a1b2c3d4e5f60718"));
    let r = site
        .send(
            "GET",
            "/console/alerts/a1b2c3d4e5f60718a1b2c3d4e5f60718",
            &op,
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // An auditor sees it, with no form to act on it.
    let au = site.sign_in("au").await;
    let r = site
        .send(
            "GET",
            "/console/alerts/a1b2c3d4e5f60718a1b2c3d4e5f60718",
            &au,
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        !r.body.contains("/act\""),
        "no form the auditor cannot submit"
    );

    let so = site.sign_in("so").await;
    let list = site.send("GET", "/console/alerts", &so, "").await;
    assert!(
        list.body
            .contains("/console/alerts/a1b2c3d4e5f60718a1b2c3d4e5f60718"),
        "{}",
        list.body
    );
    let detail = site
        .send(
            "GET",
            "/console/alerts/a1b2c3d4e5f60718a1b2c3d4e5f60718",
            &so,
            "",
        )
        .await;
    let csrf = detail.csrf();
    let act =
        |action: &str, note: &str| format!("csrf={csrf}&action={action}&note={}", encode(note));
    let path = "/console/alerts/a1b2c3d4e5f60718a1b2c3d4e5f60718/act";
    // Closing needs a note that says something.
    let r = site.send("POST", path, &so, &act("resolve", "")).await;
    assert!(r.body.contains("処理できませんでした"), "{}", r.body);
    let r = site.send("POST", path, &so, &act("ack", "")).await;
    assert!(r.body.contains("対応を開始しました"), "{}", r.body);
    // Suspending the person ends their session at its next request.
    let r = site.send("POST", path, &so, &act("suspend", "")).await;
    assert!(r.body.contains("利用を停止しました"), "{}", r.body);
    let r = site.send("GET", "/console/lookup", &op, "").await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "a suspended person is signed out"
    );
    let r = site
        .send(
            "POST",
            path,
            &so,
            &act(
                "resolve",
                "ハニーレコードの閲覧を本人に確認、誤操作ではなかった",
            ),
        )
        .await;
    assert!(
        r.body.contains("解決として記録しました") && r.body.contains("解決済み"),
        "{}",
        r.body
    );
    assert!(
        !r.body.contains("name=\"action\""),
        "a closed alert offers no more acts"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_auditor_searches_the_log_and_opens_an_events_proof() {
    let site = Site::new();
    let op = site.sign_in("op").await;
    let form = site.send("GET", "/console/lookup", &op, "").await;
    let look = format!(
        "csrf={}&tenant=acme&purpose=inquiry&case_id=CASE-1&key=phone&value={}",
        form.csrf(),
        encode(&phone(1))
    );
    site.send("POST", "/console/lookup", &op, &look).await;
    site.vault.audit().flush().unwrap();

    let au = site.sign_in("au").await;
    let r = site
        .send(
            "GET",
            "/console/audit?action=record.search&tenant=acme",
            &au,
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("user:op") && r.body.contains("CASE-1"),
        "{}",
        r.body
    );
    let at = r.body.find("/console/audit/proof?").expect("a proof link");
    let href = &r.body[at..at + r.body[at..].find('"').unwrap()].replace("&amp;", "&");
    let proof = site.send("GET", href, &au, "").await;
    assert_eq!(proof.status, StatusCode::OK, "{}", proof.body);
    assert!(
        proof.body.contains("リーフハッシュ") && proof.body.contains("— mamori-"),
        "{}",
        proof.body
    );
    assert!(
        !proof.body.contains(&phone(1)),
        "no searched value in the log"
    );

    // An operator reads no audit log; a proof of another log is not found.
    let r = site
        .send("GET", "/console/audit?action=record.search", &op, "")
        .await;
    assert!(!r.body.contains("CASE-1"));
    assert!(r.body.contains("role=\"alert\""), "{}", r.body);
    let r = site
        .send("GET", "/console/audit/proof?log=system&seq=1", &op, "")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// Every page that shows data, fetched with every role's session: what a
/// role is not for is refused or shows nothing, whatever the link.
#[tokio::test(flavor = "multi_thread")]
async fn each_role_gets_only_its_own_pages() {
    let site = Site::new();
    let now = chrono::Utc::now().timestamp();
    let alert_id = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let alert = alert_about("op", alert_id, now);
    assert!(site.vault.store().insert_alert(&alert, &[], now).unwrap());
    let mut sessions = BTreeMap::new();
    for login in ["op", "sv", "so", "au", "admin"] {
        sessions.insert(login, site.sign_in(login).await);
    }
    // (login, may look up customers, sees the alert about op, reads the audit log)
    let expected = [
        ("op", true, false, false),
        ("sv", true, true, true),
        ("so", false, true, true),
        ("au", false, true, true),
        ("admin", false, false, false),
    ];
    for (login, looks_up, sees_alert, reads_log) in expected {
        let s = &sessions[login];
        let r = site.send("GET", "/console/lookup", s, "").await;
        assert_eq!(
            r.status == StatusCode::OK,
            looks_up,
            "{login} lookup: {}",
            r.status
        );
        let csrf = site.send("GET", "/console/", s, "").await.csrf();
        let post = format!(
            "csrf={csrf}&tenant=acme&purpose=inquiry&case_id=CASE-1&key=phone&value={}",
            encode(&phone(1))
        );
        let r = site.send("POST", "/console/lookup", s, &post).await;
        if !looks_up {
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{login} lookup post");
            assert!(!r.body.contains("東京都"), "{login}: no customer data");
        }
        let r = site
            .send("GET", &format!("/console/alerts/{alert_id}"), s, "")
            .await;
        assert_eq!(
            r.status == StatusCode::OK,
            sees_alert,
            "{login} alert: {}",
            r.status
        );
        let r = site.send("GET", "/console/alerts", s, "").await;
        assert_eq!(r.body.contains(alert_id), sees_alert, "{login} alert list");
        let r = site
            .send(
                "GET",
                "/console/audit?action=record.search&tenant=acme",
                s,
                "",
            )
            .await;
        assert_eq!(
            !r.body.contains("role=\"alert\""),
            reads_log,
            "{login} audit: {}",
            r.body
        );
    }
}

/// The security office's dashboard: the open alert counted and charted by
/// severity and rule, a full-access tenant against its cap, training that
/// lapses soon dated in the Japanese calendar, people never trained listed
/// as lapsed; auditors read it too; every other role is refused and is not
/// offered it.
#[tokio::test(flavor = "multi_thread")]
async fn the_security_office_sees_what_needs_attention_on_its_dashboard() {
    let site = Site::new();
    let now = chrono::Utc::now().timestamp();
    let alert = alert_about("op", "11112222333344445555666677778888", now);
    assert!(site.vault.store().insert_alert(&alert, &[], now).unwrap());
    // sv's pass ends in about 15 days (a year's validity).
    let so = site
        .vault
        .authenticate(Some(&site.tokens["so"]), None)
        .unwrap();
    site.vault
        .record_training(&so, "sv", "privacy-basics", 95, Some(now - 350 * 86_400))
        .unwrap();
    let s = site.sign_in("so").await;
    let home = site.send("GET", "/console/", &s, "").await;
    assert!(home.body.contains("href=\"/console/dashboard\""));
    let r = site.send("GET", "/console/dashboard", &s, "").await;
    assert_eq!(r.status, StatusCode::OK);
    let b = &r.body;
    assert!(!b.contains("role=\"alert\">"), "not refused: {b}");
    // The alert: a card, and the severity and rule charts' figures.
    assert!(
        b.contains("<span class=\"n\">1</span>未対応のアラート"),
        "{b}"
    );
    assert!(b.contains("緊急 1, 高 0, 中 0, 低 0"), "{b}");
    assert!(
        b.contains("<desc id=\"rules-d\">おとり顧客の閲覧 1</desc>"),
        "{b}"
    );
    // sv holds full access to acme under the default cap.
    assert!(
        b.contains("<desc id=\"full-access-d\">acme 1</desc>"),
        "{b}"
    );
    assert!(b.contains("class=\"limit\""));
    // sv lapses soon, in the Japanese calendar; the office itself never
    // trained: lapsed. op's pass is current: not listed.
    let sv_row = b.split("<tr><td>sv</td>").nth(1).expect("sv listed");
    assert!(
        sv_row[..sv_row.find("</tr>").unwrap()].contains("令和"),
        "{b}"
    );
    assert!(b.contains("<tr><td>so</td>"), "{b}");
    assert!(b.contains("未受講"));
    assert!(!b.contains("<tr><td>op</td>"), "{b}");
    // The charts are SVG drawn by the server: no script, no inline style.
    assert!(b.contains("<svg class=\"chart\" role=\"img\""));
    assert!(!b.contains("<script") && !b.contains("style=\""));
    // English: ISO dates.
    let s_en = format!("{s}; mamori_lang=en");
    let r = site.send("GET", "/console/dashboard", &s_en, "").await;
    assert!(r.body.contains("critical 1, high 0"), "{}", r.body);
    assert!(r.body.contains("decoy record read 1"));
    assert!(!r.body.contains("令和"));
    // Auditors read it; nobody else.
    for (login, reads) in [("au", true), ("sv", false), ("op", false), ("admin", false)] {
        let s = site.sign_in(login).await;
        let r = site.send("GET", "/console/dashboard", &s, "").await;
        assert_eq!(!r.body.contains("role=\"alert\">"), reads, "{login}");
        assert_eq!(r.body.contains("<svg"), reads, "{login}: no figures");
        let home = site.send("GET", "/console/", &s, "").await;
        assert_eq!(home.body.contains("/console/dashboard"), reads, "{login}");
    }
}

/// An export through the console: the requester's supervisor finds it in
/// the inbox, checks the recipient's key fingerprint and approves; the
/// security office gives the second approval; the requester downloads the
/// package once — ciphertext only the recipient opens; others never see it.
#[tokio::test(flavor = "multi_thread")]
async fn an_export_is_approved_by_two_and_downloaded_once_by_its_requester() {
    let site = Site::new();
    let so = site
        .vault
        .authenticate(Some(&site.tokens["so"]), None)
        .unwrap();
    let by = NewUser {
        login: "by",
        role: Role::Backyard,
        department: None,
        vendor: None,
        manager: Some("sv"),
    };
    let token = site.vault.create_user("cli:test", &by).unwrap().to_string();
    site.vault
        .assign("cli:test", "by", "acme", Some("own"))
        .unwrap();
    site.vault
        .record_training(&so, "by", "privacy-basics", 90, None)
        .unwrap();
    site.vault.record_compliance(&so, "by", None).unwrap();
    let recipient = mamori_crypto::PackageIdentity::generate();
    let caller = site.vault.authenticate(Some(&token), None).unwrap();
    let x = site
        .vault
        .request_export(
            &caller,
            &mamori_vault::exports::NewExport {
                tenant: "acme".into(),
                segment: Some("own".into()),
                fields: vec!["customer_no".into(), "name".into(), "address".into()],
                purpose: "billing".into(),
                case_id: "CHG-2026-0412".into(),
                reason: "料金改定のお知らせを郵送するため印刷会社へ宛名データを渡す".into(),
                recipient_name: "さくら印刷株式会社".into(),
                recipient_key: recipient.recipient().encoded(),
            },
        )
        .unwrap();
    let path = format!("/console/exports/{}", x.id);

    // The supervisor: in the inbox, then the export with its fingerprint.
    let sv = site.sign_in("sv").await;
    let inbox = site.send("GET", "/console/inbox", &sv, "").await;
    assert!(inbox.body.contains(&path), "{}", inbox.body);
    let page = site.send("GET", &path, &sv, "").await;
    assert!(page.body.contains(&x.recipient_fingerprint));
    assert!(page.body.contains("さくら印刷株式会社"));
    let csrf = page.csrf();
    let r = site
        .send(
            "POST",
            &format!("{path}/act"),
            &sv,
            &format!(
                "csrf={csrf}&action=approve&comment={}",
                encode("宛先を確認")
            ),
        )
        .await;
    assert!(r.body.contains("承認しました"), "{}", r.body);
    assert!(r.body.contains("1 / 2"));
    assert!(!r.body.contains("value=\"approve\""), "not offered twice");
    let inbox = site.send("GET", "/console/inbox", &sv, "").await;
    assert!(!inbox.body.contains(&path), "no longer waiting for sv");
    // A second approval by the same person is refused with the vault's reason.
    let r = site
        .send(
            "POST",
            &format!("{path}/act"),
            &sv,
            &format!("csrf={csrf}&action=approve"),
        )
        .await;
    assert!(r.body.contains("role=\"alert\""), "{}", r.body);

    // The operator sees nothing of it: not found, like a random id.
    let op = site.sign_in("op").await;
    let r = site.send("GET", &path, &op, "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!r.body.contains("さくら印刷"));
    let random = site
        .send(
            "GET",
            "/console/exports/00000000000000000000000000000000",
            &op,
            "",
        )
        .await;
    assert_eq!(random.status, r.status);

    // The security office approves: ready.
    let so_s = site.sign_in("so").await;
    let page = site.send("GET", &path, &so_s, "").await;
    let csrf = page.csrf();
    let r = site
        .send(
            "POST",
            &format!("{path}/act"),
            &so_s,
            &format!("csrf={csrf}&action=approve"),
        )
        .await;
    assert!(r.body.contains("ダウンロード可"), "{}", r.body);

    // The requester downloads it once: ciphertext only the recipient opens.
    let mut tokens = site.tokens.clone();
    tokens.insert("by", token);
    let site = Site { tokens, ..site };
    let by_s = site.sign_in("by").await;
    let page = site.send("GET", &path, &by_s, "").await;
    assert!(
        page.body.contains(&format!("{path}/download")),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let no_csrf = site
        .send("POST", &format!("{path}/download"), &by_s, "csrf=forged")
        .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let file = site
        .send_bytes(
            "POST",
            &format!("{path}/download"),
            &by_s,
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(file.0, StatusCode::OK);
    assert!(
        !String::from_utf8_lossy(&file.1).contains("試験"),
        "encrypted"
    );
    let plain = recipient.open(&file.1).unwrap();
    assert!(String::from_utf8_lossy(&plain).contains("試験 花子1"));
    let again = site
        .send(
            "POST",
            &format!("{path}/download"),
            &by_s,
            &format!("csrf={csrf}"),
        )
        .await;
    assert!(
        again.body.contains("role=\"alert\""),
        "once only: {}",
        again.body
    );
}

/// The system's health: the system administrator's page (and the security
/// office's and auditors'), with each audit log against its signed
/// checkpoint and how to verify independently; nobody else gets it, and
/// it never holds a customer's value.
#[tokio::test(flavor = "multi_thread")]
async fn the_system_administrator_sees_the_systems_health_and_no_customer_data() {
    let site = Site::new();
    site.vault.audit().flush().unwrap();
    for (login, sees) in [
        ("admin", true),
        ("so", true),
        ("au", true),
        ("sv", false),
        ("op", false),
    ] {
        let s = site.sign_in(login).await;
        let home = site.send("GET", "/console/", &s, "").await;
        assert_eq!(
            home.body.contains("href=\"/console/system\""),
            sees,
            "{login}"
        );
        let r = site.send("GET", "/console/system", &s, "").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            !r.body.contains("role=\"alert\">"),
            sees,
            "{login}: {}",
            r.body
        );
        assert_eq!(r.body.contains("<code>tenant/acme</code>"), sees, "{login}");
        assert!(
            !r.body.contains("試験") && !r.body.contains("090-"),
            "{login}: no customer data"
        );
        if sees {
            assert!(
                r.body.contains("audit verify --key"),
                "how to verify independently"
            );
            assert!(r.body.contains("有効: 1"), "{}", r.body);
        }
    }
}

/// The security office's records: everyone with their verdict, a course
/// and a confirmation recorded through the form, a person suspended and
/// reinstated; vendors; decoys planted and listed — and every one of these
/// pages refused to everyone else, decoys above all.
#[tokio::test(flavor = "multi_thread")]
async fn the_security_office_keeps_people_vendors_and_decoys() {
    let site = Site::new();
    let so = site.sign_in("so").await;
    let list = site.send("GET", "/console/people", &so, "").await;
    assert!(
        list.body.contains("href=\"/console/people/op\""),
        "{}",
        list.body
    );
    // sv never trained: lapsed in the list.
    let sv_row = list.body.split("/console/people/sv\"").nth(1).unwrap();
    assert!(sv_row[..sv_row.find("</tr>").unwrap()].contains("未受講・期限切れ"));

    // Record sv's course through the form: current now, dated 和暦.
    let page = site.send("GET", "/console/people/sv", &so, "").await;
    let csrf = page.csrf();
    let r = site
        .send(
            "POST",
            "/console/people/sv/act",
            &so,
            &format!("csrf={csrf}&action=training&course=privacy-basics&score=88"),
        )
        .await;
    assert!(r.body.contains("role=\"status\""), "{}", r.body);
    assert!(
        r.body.contains("受講済み（有効）") && r.body.contains("令和"),
        "{}",
        r.body
    );
    // A score that is not a number: refused, said why, nothing recorded.
    let r = site
        .send(
            "POST",
            "/console/people/sv/act",
            &so,
            &format!("csrf={csrf}&action=training&course=privacy-basics&score=abc"),
        )
        .await;
    assert!(r.body.contains("role=\"alert\""));
    assert_eq!(
        r.body.matches("privacy-basics (").count(),
        1,
        "one course row"
    );

    // Suspend op: op's session ends at the next request; reinstate.
    let op = site.sign_in("op").await;
    let r = site
        .send(
            "POST",
            "/console/people/op/act",
            &so,
            &format!("csrf={csrf}&action=suspend"),
        )
        .await;
    assert!(r.body.contains("role=\"status\""), "{}", r.body);
    let r = site.send("GET", "/console/", &op, "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "suspended: signed out");
    site.send(
        "POST",
        "/console/people/op/act",
        &so,
        &format!("csrf={csrf}&action=reinstate"),
    )
    .await;
    assert!(
        site.vault
            .authenticate(Some(&site.tokens["op"]), None)
            .is_ok()
    );

    // Decoys: plant two, listed with their record ids.
    let r = site.send("GET", "/console/honey", &so, "").await;
    assert!(r.body.contains("<option value=\"acme\">"));
    let r = site
        .send(
            "POST",
            "/console/honey",
            &so,
            &format!("csrf={csrf}&tenant=acme&count=2"),
        )
        .await;
    assert!(r.body.contains("追加しました: 2"), "{}", r.body);
    let decoys = site.vault.store().honey().unwrap();
    assert_eq!(decoys.len(), 2);
    assert!(r.body.contains(&decoys[0].record.to_string()));
    let r = site
        .send(
            "POST",
            "/console/honey",
            &so,
            &format!("csrf={csrf}&tenant=acme&count=0"),
        )
        .await;
    assert!(r.body.contains("role=\"alert\""), "{}", r.body);
    let r = site
        .send(
            "POST",
            "/console/honey",
            &so,
            "csrf=forged&tenant=acme&count=2",
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(site.vault.store().honey().unwrap().len(), 2);

    // Vendors: the page answers (none yet).
    let r = site.send("GET", "/console/vendors", &so, "").await;
    assert!(!r.body.contains("role=\"alert\""), "{}", r.body);

    // Nobody else: refused, no decoy id, no person's record, no form.
    let decoy = decoys[0].record.to_string();
    for login in ["sv", "au", "admin", "op"] {
        let s = site.sign_in(login).await;
        let home = site.send("GET", "/console/", &s, "").await;
        assert!(
            !home.body.contains("/console/people\""),
            "{login}: not offered"
        );
        for path in ["/console/people", "/console/vendors", "/console/honey"] {
            // Auditors read the vendors (report.read), nothing else here.
            if login == "au" && path == "/console/vendors" {
                let r = site.send("GET", path, &s, "").await;
                assert!(!r.body.contains("role=\"alert\""), "{}", r.body);
                continue;
            }
            let r = site.send("GET", path, &s, "").await;
            assert!(
                r.body.contains("role=\"alert\""),
                "{login} {path}: {}",
                r.body
            );
            assert!(!r.body.contains(&decoy), "{login} {path}: no decoy id");
            assert!(
                !r.body.contains("name=\"count\""),
                "{login} {path}: no form"
            );
        }
        let r = site.send("GET", "/console/people/so", &s, "").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{login}");
        // Their own record they may read, without the office's forms.
        let own = site
            .send("GET", &format!("/console/people/{login}"), &s, "")
            .await;
        assert_eq!(own.status, StatusCode::OK, "{login}");
        assert!(!own.body.contains("value=\"suspend\""), "{login}: no form");
        let csrf = home.csrf();
        let r = site
            .send(
                "POST",
                "/console/honey",
                &s,
                &format!("csrf={csrf}&tenant=acme&count=2"),
            )
            .await;
        assert!(r.body.contains("role=\"alert\""), "{login} plants nothing");
    }
    assert_eq!(site.vault.store().honey().unwrap().len(), 2);
}

/// An access review through the console: the security office opens a
/// quarterly campaign, the supervisor finds the operator's segment among
/// their items with its use, revokes it with a reason (a reason is
/// required), and the operator's lookup loses the segment; the office reads
/// the figures per reviewer; the operator has nothing to review.
#[tokio::test(flavor = "multi_thread")]
async fn a_supervisor_reviews_their_operators_access_and_revokes_it() {
    let site = Site::new();
    let so = site.sign_in("so").await;
    let page = site.send("GET", "/console/reviews", &so, "").await;
    assert!(
        page.body.contains("action=\"/console/reviews\""),
        "the office opens"
    );
    let csrf = page.csrf();
    let deadline = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d");
    let r = site
        .send(
            "POST",
            "/console/reviews",
            &so,
            &format!(
                "csrf={csrf}&title={}&tenant=acme&kind=segment&fallback=&deadline={deadline}",
                encode("2026年度 第3四半期")
            ),
        )
        .await;
    assert!(r.body.contains("role=\"status\""), "{}", r.body);
    let link = "/console/reviews/items?campaign=";
    let at = r.body.find(link).unwrap() + link.len();
    let campaign = r.body[at..at + r.body[at..].find('"').unwrap()].to_owned();
    // A deadline that is not a date: refused, said why.
    let r = site
        .send(
            "POST",
            "/console/reviews",
            &so,
            &format!("csrf={csrf}&title=x&deadline=next-week"),
        )
        .await;
    assert!(r.body.contains("YYYY-MM-DD"), "{}", r.body);

    // The supervisor's items: op's own segment, unused.
    let sv = site.sign_in("sv").await;
    let items = site
        .send(
            "GET",
            &format!("/console/reviews/items?campaign={campaign}"),
            &sv,
            "",
        )
        .await;
    assert!(items.body.contains("op — acme own"), "{}", items.body);
    assert!(items.body.contains("取消を推奨"), "unused: suggests revoke");
    let at = items.body.find("/console/reviews/items/").unwrap() + "/console/reviews/items/".len();
    let item = &items.body[at..at + items.body[at..].find('/').unwrap()];
    let csrf = items.csrf();
    let decide = |verdict: &str, reason: &str| {
        format!(
            "csrf={csrf}&campaign={campaign}&verdict={verdict}&reason={}",
            encode(reason)
        )
    };
    let path = format!("/console/reviews/items/{item}/decide");
    let r = site.send("POST", &path, &sv, &decide("revoke", "")).await;
    assert!(r.body.contains("role=\"alert\""), "a reason is required");
    let r = site
        .send("POST", &path, &sv, &decide("revoke", "異動のため不要"))
        .await;
    assert!(r.body.contains("取り消しました: op"), "{}", r.body);
    assert!(!r.body.contains(&path), "decided once: no form");

    // The operator's lookup no longer reaches the segment.
    let op = site.sign_in("op").await;
    let form = site.send("GET", "/console/lookup", &op, "").await;
    let csrf = form.csrf();
    let r = site
        .send(
            "POST",
            "/console/lookup",
            &op,
            &format!(
                "csrf={csrf}&tenant=acme&purpose=inquiry&case_id=CASE-1&key=phone&value={}",
                encode(&phone(1))
            ),
        )
        .await;
    assert!(!r.body.contains("東京都＊＊＊"), "{}", r.body);
    // op reviews nothing.
    let mine = site
        .send(
            "GET",
            &format!("/console/reviews/items?campaign={campaign}"),
            &op,
            "",
        )
        .await;
    assert!(!mine.body.contains("/decide"));

    // The office's figures: sv decided one, revoked it (keep rate 0%).
    let r = site
        .send("GET", &format!("/console/reviews/{campaign}"), &so, "")
        .await;
    assert!(
        r.body.contains("<desc id=\"keep-rate-d\">sv 0</desc>"),
        "{}",
        r.body
    );
    // The campaign's signed report, from the same page.
    assert!(
        r.body.contains("name=\"kind\" value=\"review\""),
        "{}",
        r.body
    );
    let csrf = r.csrf();
    let csv = site
        .send(
            "POST",
            "/console/oversight/report",
            &so,
            &format!("csrf={csrf}&kind=review&subject={campaign}&format=csv"),
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert!(csv.headers.contains_key("x-mamori-report-sha256"));
    let r = site
        .send("GET", &format!("/console/reviews/{campaign}"), &sv, "")
        .await;
    assert!(
        r.body.contains("role=\"alert\""),
        "figures are for overseers"
    );
}

/// A corrective directive from an alert: the security office directs the
/// operator the alert names; the operator finds it (watermarked: it may
/// name a customer), acknowledges it once with a reply; the supervisor
/// sees it acknowledged; an auditor reads it without a form.
#[tokio::test(flavor = "multi_thread")]
async fn a_directive_from_an_alert_is_acknowledged_by_its_recipient() {
    let site = Site::new();
    let now = chrono::Utc::now().timestamp();
    let alert_id = "99998888777766665555444433332222";
    let alert = alert_about("op", alert_id, now);
    assert!(site.vault.store().insert_alert(&alert, &[], now).unwrap());
    let so = site.sign_in("so").await;
    let page = site
        .send("GET", &format!("/console/alerts/{alert_id}"), &so, "")
        .await;
    assert!(page.body.contains("/directive\""), "offered on the alert");
    let csrf = page.csrf();
    let path = format!("/console/alerts/{alert_id}/directive");
    let r = site
        .send("POST", &path, &so, &format!("csrf={csrf}&text="))
        .await;
    assert!(
        r.body.contains("role=\"alert\""),
        "a directive says something"
    );
    let text = "おとり顧客の閲覧について、閲覧の目的を本日中に報告してください";
    let r = site
        .send(
            "POST",
            &path,
            &so,
            &format!("csrf={csrf}&text={}", encode(text)),
        )
        .await;
    assert!(r.body.contains("是正指示を出しました"), "{}", r.body);

    let op = site.sign_in("op").await;
    let list = site.send("GET", "/console/directives", &op, "").await;
    assert!(list.body.contains(text), "{}", list.body);
    assert!(list.body.contains("class=\"watermark\""), "watermarked");
    assert!(list.body.contains("未確認"));
    let at = list.body.find("/console/directives/acme/").unwrap();
    let ack = &list.body[at..at + list.body[at..].find('"').unwrap()];
    let csrf = list.csrf();
    let reply = "業務手順の確認中の誤操作でした";
    let r = site
        .send(
            "POST",
            ack,
            &op,
            &format!("csrf={csrf}&response={}", encode(reply)),
        )
        .await;
    assert!(
        r.body.contains("確認を記録しました") && r.body.contains(reply),
        "{}",
        r.body
    );
    assert!(!r.body.contains(ack), "acknowledged once: no form");
    let again = site.send("POST", ack, &op, &format!("csrf={csrf}")).await;
    assert!(again.body.contains("role=\"alert\""), "not twice");

    // The supervisor sees it, acknowledged; cannot acknowledge it.
    let sv = site.sign_in("sv").await;
    let r = site.send("GET", "/console/directives", &sv, "").await;
    assert!(r.body.contains(reply), "{}", r.body);
    let csrf = r.csrf();
    let r = site.send("POST", ack, &sv, &format!("csrf={csrf}")).await;
    assert!(r.body.contains("role=\"alert\""));
    // An auditor reads it without a form; a system administrator not at all.
    let au = site.sign_in("au").await;
    let r = site.send("GET", "/console/directives", &au, "").await;
    assert!(
        r.body.contains(text) && !r.body.contains("/ack\""),
        "{}",
        r.body
    );
    let admin = site.sign_in("admin").await;
    let r = site.send("GET", "/console/directives", &admin, "").await;
    assert!(!r.body.contains(text));
}

/// A multipart form as a browser sends it: the CSRF token and one file.
fn multipart(csrf: &str, name: &str, file: &str) -> (String, String) {
    multipart_with(&[("csrf", csrf)], name, file)
}

/// A multipart form with these text fields and one file.
fn multipart_with(fields: &[(&str, &str)], name: &str, file: &str) -> (String, String) {
    let b = "----mamori-test-boundary";
    let mut body = String::new();
    for (k, v) in fields {
        body += &format!("--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n");
    }
    body += &format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: text/csv\r\n\r\n{file}\r\n--{b}--\r\n"
    );
    (format!("multipart/form-data; boundary={b}"), body)
}

/// Leak response: the security office uploads a file found outside; the
/// page names the tenant, how many customers, who was shown them (the
/// operator who looked one up), the categories — masked, watermarked; the
/// file is refused to everyone else and never read without a session.
#[tokio::test(flavor = "multi_thread")]
async fn the_security_office_uploads_a_leaked_file_and_sees_who_read_those_customers() {
    let site = Site::new();
    // op reads customer 1.
    assert_eq!(site.read_as(&site.tokens["op"], 1, "CASE-1"), 1);
    let leaked = format!(
        "氏名,電話番号\n試験 花子1,{}\n試験 花子2,{}\n",
        phone(1),
        phone(2)
    );

    let so = site.sign_in("so").await;
    let form = site.send("GET", "/console/leak", &so, "").await;
    assert!(form.body.contains("enctype=\"multipart/form-data\""));
    let (ctype, body) = multipart(&form.csrf(), "list.csv", &leaked);
    let r = site
        .send_typed("POST", "/console/leak", &so, &ctype, &body)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let b = &r.body;
    assert!(b.contains("list.csv"), "{b}");
    assert!(b.contains("電話番号"), "{b}");
    assert!(b.contains("委託元: acme"), "{b}");
    assert!(
        b.contains("<strong>2</strong> 人（最大）"),
        "both customers named: {b}"
    );
    assert!(b.contains("<td>user:op</td>"), "the reader is named: {b}");
    assert!(
        b.contains("class=\"watermark\""),
        "masked examples: watermarked"
    );
    assert!(!b.contains(&phone(2)), "values are masked: {b}");

    // The notice for acme: the drafts and their deadlines; the list needs
    // a recipient key acme has not registered, and says so.
    let csrf = form.csrf();
    let fields = [
        ("csrf", csrf.as_str()),
        ("tenant", "acme"),
        ("known_on", "2026-12-01"),
        ("want", "drafts"),
    ];
    let (ctype, body) = multipart_with(&fields, "list.csv", &leaked);
    let r = site
        .send_typed("POST", "/console/leak/notice", &so, &ctype, &body)
        .await;
    assert!(
        r.body.contains("速報の下書き") && r.body.contains("個人情報保護委員会"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("2026-12-01 00:00"),
        "known from the day given: {}",
        r.body
    );
    assert!(r.body.contains("class=\"watermark\""));
    let fields = [
        ("csrf", csrf.as_str()),
        ("tenant", "acme"),
        ("want", "list"),
    ];
    let (ctype, body) = multipart_with(&fields, "list.csv", &leaked);
    let r = site
        .send_typed("POST", "/console/leak/notice", &so, &ctype, &body)
        .await;
    assert!(r.body.contains("受領鍵が登録されていない"), "{}", r.body);
    let fields = [
        ("csrf", csrf.as_str()),
        ("tenant", "acme"),
        ("known_on", "yesterday"),
    ];
    let (ctype, body) = multipart_with(&fields, "list.csv", &leaked);
    let r = site
        .send_typed("POST", "/console/leak/notice", &so, &ctype, &body)
        .await;
    assert!(r.body.contains("YYYY-MM-DD"), "{}", r.body);

    // A forged token, an empty upload: refused, nothing analysed.
    let (ctype, body) = multipart("forged", "list.csv", &leaked);
    let r = site
        .send_typed("POST", "/console/leak", &so, &ctype, &body)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let (ctype, body) = multipart(&form.csrf(), "empty.csv", "");
    let r = site
        .send_typed("POST", "/console/leak", &so, &ctype, &body)
        .await;
    assert!(r.body.contains("role=\"alert\""), "{}", r.body);

    // Without a session the upload is never read: to the sign-in page.
    let (ctype, body) = multipart("x", "list.csv", &leaked);
    let r = site
        .send_typed("POST", "/console/leak", "", &ctype, &body)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Anyone else: refused, no analysis.
    for login in ["sv", "au", "op", "admin"] {
        let s = site.sign_in(login).await;
        // No form, and no tenant named.
        let page = site.send("GET", "/console/leak", &s, "").await;
        assert!(page.body.contains("role=\"alert\""), "{login}");
        assert!(
            !page.body.contains("<option value=\"acme\">"),
            "{login}: no tenant ids"
        );
        assert!(
            !page.body.contains("type=\"file\""),
            "{login}: no upload form"
        );
        let csrf = site.send("GET", "/console/", &s, "").await.csrf();
        let (ctype, body) = multipart(&csrf, "list.csv", &leaked);
        let r = site
            .send_typed("POST", "/console/leak", &s, &ctype, &body)
            .await;
        assert!(r.body.contains("role=\"alert\""), "{login}");
        assert!(!r.body.contains("user:op"), "{login}: no analysis");
        let fields = [
            ("csrf", csrf.as_str()),
            ("tenant", "acme"),
            ("want", "drafts"),
        ];
        let (ctype, body) = multipart_with(&fields, "list.csv", &leaked);
        let r = site
            .send_typed("POST", "/console/leak/notice", &s, &ctype, &body)
            .await;
        assert!(
            r.body.contains("role=\"alert\"") && !r.body.contains("速報の下書き"),
            "{login}"
        );
    }
}

/// The month's oversight: the self-inspection run from the records (its
/// run recorded), an item no record can show declared by the security
/// office, the signed monthly report downloaded; auditors read without the
/// forms; nobody else gets either.
#[tokio::test(flavor = "multi_thread")]
async fn the_security_office_inspects_the_month_and_downloads_its_signed_report() {
    let site = Site::new();
    let month = mamori_core::jst::date(chrono::Utc::now().timestamp())
        .unwrap()
        .format("%Y-%m")
        .to_string();
    let so = site.sign_in("so").await;
    let r = site
        .send("GET", &format!("/console/oversight?month={month}"), &so, "")
        .await;
    let b = &r.body;
    assert!(
        b.contains("常時全件アクセス権限者は承認済みで上限以内"),
        "{b}"
    );
    assert!(b.contains("<code>system#"), "the run is recorded: {b}");
    assert_eq!(
        b.matches("action=\"/console/oversight/declare\"").count(),
        3
    );
    assert!(b.contains("未申告"));
    let csrf = r.csrf();
    let statement = "管理区域の施錠と入退室記録を確認した";
    let r = site
        .send(
            "POST",
            "/console/oversight/declare",
            &so,
            &format!(
                "csrf={csrf}&month={month}&item=facility_locks&statement={}",
                encode(statement)
            ),
        )
        .await;
    assert!(r.body.contains("申告を記録しました"), "{}", r.body);
    assert!(r.body.contains(statement), "{}", r.body);
    let r = site
        .send("GET", "/console/oversight?month=2026-13", &so, "")
        .await;
    assert!(r.body.contains("YYYY-MM"), "a month that is none: said");

    // The signed report, as CSV and (with the Japanese font) PDF.
    let report = |format: &str| format!("csrf={csrf}&subject={month}&format={format}");
    let csv = site
        .send("POST", "/console/oversight/report", &so, &report("csv"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert_eq!(csv.headers["x-mamori-report-sha256"].len(), 64);
    assert!(csv.body.contains("10-6"), "技術的安全管理措置");
    if mamori_report::default_font().is_some() {
        let (status, pdf) = site
            .send_bytes("POST", "/console/oversight/report", &so, &report("pdf"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(pdf.starts_with(b"%PDF"));
    }
    let forged = site
        .send(
            "POST",
            "/console/oversight/report",
            &so,
            &format!("csrf=x&subject={month}&format=csv"),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Auditors read it without the declaration forms.
    let au = site.sign_in("au").await;
    let r = site.send("GET", "/console/oversight", &au, "").await;
    assert!(r.body.contains("常時全件アクセス権限者"), "{}", r.body);
    assert!(!r.body.contains("/console/oversight/declare"));
    // Nobody else.
    for login in ["sv", "op", "admin"] {
        let s = site.sign_in(login).await;
        let r = site.send("GET", "/console/oversight", &s, "").await;
        assert!(r.body.contains("role=\"alert\""), "{login}");
        assert!(!r.body.contains("常時全件アクセス権限者"), "{login}");
        assert!(
            !r.body.contains("/console/oversight/report"),
            "{login}: no report form"
        );
        let csrf = r.csrf();
        let r = site
            .send(
                "POST",
                "/console/oversight/report",
                &s,
                &format!("csrf={csrf}&subject={month}&format=csv"),
            )
            .await;
        assert!(r.body.contains("role=\"alert\""), "{login}: no report");
    }
}

/// A surprise audit of a vendor: the security office starts it, the
/// vendor's person finds their sampled read and explains it once, the
/// office and auditors read the explanation (watermarked); nobody else
/// reads the audit.
#[tokio::test(flavor = "multi_thread")]
async fn a_vendor_audit_samples_a_read_its_reader_explains() {
    let site = Site::new();
    let so = site
        .vault
        .authenticate(Some(&site.tokens["so"]), None)
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let clauses: Vec<String> = mamori_core::governance::CLAUSES
        .iter()
        .map(|(id, _, _)| (*id).to_owned())
        .collect();
    site.vault
        .put_vendor(
            &so,
            "bpo",
            "テストBPO株式会社",
            now - 86_400,
            now + 300 * 86_400,
            &clauses,
        )
        .unwrap();
    let vd = NewUser {
        login: "vd",
        role: Role::VendorUser,
        department: None,
        vendor: Some("bpo"),
        manager: Some("sv"),
    };
    let token = site.vault.create_user("cli:test", &vd).unwrap().to_string();
    site.vault
        .assign("cli:test", "vd", "acme", Some("own"))
        .unwrap();
    site.vault
        .record_training(&so, "vd", "privacy-basics", 90, None)
        .unwrap();
    site.vault.record_compliance(&so, "vd", None).unwrap();
    assert_eq!(site.read_as(&token, 1, "CASE-5"), 1);
    let mut tokens = site.tokens.clone();
    tokens.insert("vd", token);
    let site = Site { tokens, ..site };

    let so_s = site.sign_in("so").await;
    let page = site.send("GET", "/console/audits", &so_s, "").await;
    assert!(
        page.body.contains("<option value=\"bpo\">"),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let today = mamori_core::jst::date(now)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    let deadline = mamori_core::jst::date(now + 7 * 86_400)
        .unwrap()
        .format("%Y-%m-%d");
    let r = site
        .send(
            "POST",
            "/console/audits",
            &so_s,
            &format!("csrf={csrf}&vendor=bpo&from={today}&to={today}&size=5&deadline={deadline}"),
        )
        .await;
    assert!(r.body.contains("開始しました: bpo"), "{}", r.body);
    let at = r.body.find("/console/audits/").unwrap() + "/console/audits/".len();
    let audit = r.body[at..at + r.body[at..].find('"').unwrap()].to_owned();
    let r = site
        .send(
            "POST",
            "/console/audits",
            &so_s,
            &format!("csrf={csrf}&vendor=bpo&from=x&to={today}&size=5&deadline={deadline}"),
        )
        .await;
    assert!(r.body.contains("YYYY-MM-DD"), "a bad date is said");

    // vd explains the sampled read, once.
    let vd_s = site.sign_in("vd").await;
    let mine = site.send("GET", "/console/explain", &vd_s, "").await;
    assert!(mine.body.contains("CASE-5"), "{}", mine.body);
    let field = |name: &str| {
        let at = mine
            .body
            .find(&format!("name=\"{name}\" value=\""))
            .unwrap()
            + name.len()
            + 15;
        mine.body[at..at + mine.body[at..].find('"').unwrap()].to_owned()
    };
    let form = format!(
        "csrf={}&audit={}&log={}&seq={}&text={}",
        mine.csrf(),
        field("audit"),
        encode(&field("log")),
        field("seq"),
        encode("お客さまからの住所変更の電話に対応したため")
    );
    let r = site.send("POST", "/console/explain", &vd_s, &form).await;
    assert!(r.body.contains("説明を記録しました"), "{}", r.body);
    assert!(!r.body.contains("CASE-5"), "nothing left to explain");
    let again = site.send("POST", "/console/explain", &vd_s, &form).await;
    assert!(again.body.contains("role=\"alert\""), "once only");

    // The office reads it, watermarked; auditors too; the vendor's person
    // and the operator do not.
    let r = site
        .send("GET", &format!("/console/audits/{audit}"), &so_s, "")
        .await;
    assert!(
        r.body.contains("住所変更の電話に対応したため"),
        "{}",
        r.body
    );
    assert!(r.body.contains("class=\"watermark\""));
    let csrf = r.csrf();
    let csv = site
        .send(
            "POST",
            "/console/oversight/report",
            &so_s,
            &format!("csrf={csrf}&kind=vendor_audit&subject={audit}&format=csv"),
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert!(csv.headers.contains_key("x-mamori-report-sha256"));
    let au = site.sign_in("au").await;
    let r = site.send("GET", "/console/audits", &au, "").await;
    assert!(r.body.contains(&audit) && !r.body.contains("action=\"/console/audits\""));
    for login in ["vd", "op", "sv"] {
        let s = site.sign_in(login).await;
        let r = site
            .send("GET", &format!("/console/audits/{audit}"), &s, "")
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{login}");
        let r = site.send("GET", "/console/audits", &s, "").await;
        assert!(
            r.body.contains("role=\"alert\"") && !r.body.contains(&audit),
            "{login}"
        );
    }
}

/// The month's reconciliation in the console: a day the operator read
/// customers without being in the secure area is a discrepancy; the
/// security office disposes of it with a reason (required), once; the
/// operator sees none of it.
#[tokio::test(flavor = "multi_thread")]
async fn the_security_office_disposes_of_a_reconciliation_discrepancy() {
    let site = Site::new();
    assert_eq!(site.read_as(&site.tokens["op"], 1, "CASE-1"), 1);
    let so = site
        .vault
        .authenticate(Some(&site.tokens["so"]), None)
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let from = mamori_core::jst::day_start(mamori_core::jst::day(now));
    let files = mamori_vault::reconciliation::ReconcileFiles {
        mapping: None,
        people: b"login,badge,pc_account\nop,B1,CORP\\op\n",
        rooms: "日時,カード番号,区分\n".as_bytes(),
        logons:
            b"TimeCreated,Id,MachineName,TargetUserName,TargetDomainName,TargetLogonId,LogonType\n",
        hosts: None,
        applications: None,
    };
    site.vault
        .reconcile(
            &so,
            from,
            now + 1,
            mamori_reconcile::Params::default(),
            files,
        )
        .unwrap();

    let s = site.sign_in("so").await;
    let page = site.send("GET", "/console/reconciliation", &s, "").await;
    assert!(page.body.contains("<h2 id=\"d-"), "{}", page.body);
    assert!(page.body.contains("op — "), "{}", page.body);
    let at = page.body.find("/console/reconciliation/").unwrap();
    let path = &page.body[at..at + page.body[at..].find('"').unwrap()];
    let csrf = page.csrf();
    let r = site
        .send(
            "POST",
            path,
            &s,
            &format!("csrf={csrf}&outcome=explained&note="),
        )
        .await;
    assert!(r.body.contains("role=\"alert\""), "a reason is required");
    let r = site
        .send(
            "POST",
            path,
            &s,
            &format!(
                "csrf={csrf}&outcome=explained&note={}",
                encode("在宅勤務の許可日だった")
            ),
        )
        .await;
    assert!(
        r.body.contains("記録しました: 説明がつく — op"),
        "{}",
        r.body
    );
    let again = site
        .send(
            "POST",
            path,
            &s,
            &format!("csrf={csrf}&outcome=mistake&note=x"),
        )
        .await;
    assert!(again.body.contains("role=\"alert\""), "once only");
    let all = site
        .send("GET", "/console/reconciliation?all=1", &s, "")
        .await;
    assert!(all.body.contains("説明がつく"), "{}", all.body);

    // The office runs the month again through the form: files uploaded as
    // exported; the run's signed report from the same page.
    let month = mamori_core::jst::date(now)
        .unwrap()
        .format("%Y-%m")
        .to_string();
    let csrf = page.csrf();
    let b = "----mamori-recon";
    let part = |name: &str, file: &str, body: &str| {
        format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\r\n{body}\r\n"
        )
    };
    let text = |name: &str, v: &str| {
        format!("--{b}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{v}\r\n")
    };
    let ctype = format!("multipart/form-data; boundary={b}");
    let full = [
        text("csrf", &csrf),
        text("month", &month),
        part(
            "people",
            "people.csv",
            "login,badge,pc_account\nop,B1,CORP\\op\n",
        ),
        part("rooms", "rooms.csv", "日時,カード番号,区分\n"),
        part(
            "logons",
            "logons.csv",
            "TimeCreated,Id,MachineName,TargetUserName,TargetDomainName,TargetLogonId,LogonType\n",
        ),
    ]
    .concat()
        + &format!("--{b}--\r\n");
    let r = site
        .send_typed("POST", "/console/reconciliation", &s, &ctype, &full)
        .await;
    assert!(r.body.contains("突合を実行しました"), "{}", r.body);
    assert!(r.body.contains("name=\"kind\" value=\"reconciliation\""));
    let at = r.body.find("name=\"subject\" value=\"").unwrap() + 24;
    let run = r.body[at..at + 64].to_owned();
    let csv = site
        .send(
            "POST",
            "/console/oversight/report",
            &s,
            &format!("csrf={csrf}&kind=reconciliation&subject={run}&format=csv"),
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    // Without the logons: said which files are needed; a month that is none.
    let short = [
        text("csrf", &csrf),
        text("month", &month),
        part("people", "p.csv", "x"),
    ]
    .concat()
        + &format!("--{b}--\r\n");
    let r = site
        .send_typed("POST", "/console/reconciliation", &s, &ctype, &short)
        .await;
    assert!(r.body.contains("3つのファイルが必要"), "{}", r.body);
    let bad = full.replace(&month, "2026-13");
    let r = site
        .send_typed("POST", "/console/reconciliation", &s, &ctype, &bad)
        .await;
    assert!(r.body.contains("YYYY-MM"), "{}", r.body);

    // The operator, whom it is about, sees none of it.
    let op_s = site.sign_in("op").await;
    let r = site
        .send("GET", "/console/reconciliation?all=1", &op_s, "")
        .await;
    assert!(!r.body.contains("<h2 id=\"d-"), "{}", r.body);
    let r = site
        .send(
            "POST",
            path,
            &op_s,
            &format!("csrf={}&outcome=mistake&note=x", r.csrf()),
        )
        .await;
    assert!(r.body.contains("role=\"alert\""));
    assert!(
        !r.body.contains("action=\"/console/reconciliation\""),
        "no run form"
    );
    let mine = full.replace(&csrf, &r.csrf());
    let r = site
        .send_typed("POST", "/console/reconciliation", &op_s, &ctype, &mine)
        .await;
    assert!(r.body.contains("role=\"alert\"") && !r.body.contains("突合を実行しました"));
}

/// The egress register: the system administrator requests a destination,
/// the security office approves it for a while and later revokes it with a
/// reason; the requester cannot approve their own; operators get nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_destination_is_requested_approved_and_revoked_in_the_egress_register() {
    let site = Site::new();
    let admin = site.sign_in("admin").await;
    let page = site.send("GET", "/console/egress", &admin, "").await;
    assert!(
        page.body.contains("action=\"/console/egress\""),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let r = site
        .send(
            "POST",
            "/console/egress",
            &admin,
            &format!(
                "csrf={csrf}&destination=api.example.co.jp&port=443&purpose={}&days=90",
                encode("決済代行会社への売上データ送信")
            ),
        )
        .await;
    assert!(
        r.body.contains("記録しました: api.example.co.jp"),
        "{}",
        r.body
    );
    assert!(r.body.contains("承認待ち"));
    assert!(
        !r.body.contains("/act\""),
        "the requester gets no approval form"
    );
    let r = site
        .send(
            "POST",
            "/console/egress",
            &admin,
            &format!("csrf={csrf}&destination=x&port=99999&purpose=y&days=1"),
        )
        .await;
    assert!(
        r.body.contains("role=\"alert\""),
        "a port out of range is refused"
    );

    let so = site.sign_in("so").await;
    let page = site.send("GET", "/console/egress", &so, "").await;
    let at = page.body.find("/console/egress/").unwrap();
    let path = page.body[at..at + page.body[at..].find('"').unwrap()].to_owned();
    let csrf_so = page.csrf();
    let r = site
        .send(
            "POST",
            &path,
            &so,
            &format!("csrf={csrf_so}&action=approve"),
        )
        .await;
    assert!(r.body.contains("許可中"), "{}", r.body);
    // Its requester cannot approve it (a forged post): refused.
    let r = site
        .send(
            "POST",
            &path,
            &admin,
            &format!("csrf={csrf}&action=approve"),
        )
        .await;
    assert!(r.body.contains("role=\"alert\""));
    let r = site
        .send(
            "POST",
            &path,
            &so,
            &format!(
                "csrf={csrf_so}&action=revoke&reason={}",
                encode("契約終了のため")
            ),
        )
        .await;
    assert!(r.body.contains("取消"), "{}", r.body);

    let op = site.sign_in("op").await;
    let r = site.send("GET", "/console/egress", &op, "").await;
    assert!(r.body.contains("role=\"alert\"") && !r.body.contains("api.example.co.jp"));
    assert!(!r.body.contains("action=\"/console/egress\""), "no form");
}

/// The PC agents' page: the security office sends every PC hunting for an
/// incident's case (a case id that is personal data is refused); auditors
/// read without the form; nobody else reads it.
#[tokio::test(flavor = "multi_thread")]
async fn the_security_office_sends_the_pc_agents_hunting() {
    let site = Site::new();
    let so = site.sign_in("so").await;
    let page = site.send("GET", "/console/machines", &so, "").await;
    assert!(
        page.body.contains("報告した PC はまだありません"),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let r = site
        .send(
            "POST",
            "/console/machines",
            &so,
            &format!("csrf={csrf}&case_id=INC-2026-12&full=1"),
        )
        .await;
    assert!(
        r.body.contains("一斉検査を指示しました: INC-2026-12"),
        "{}",
        r.body
    );
    let r = site
        .send(
            "POST",
            "/console/machines",
            &so,
            &format!("csrf={csrf}&case_id={}", encode(&phone(3))),
        )
        .await;
    assert!(
        r.body.contains("role=\"alert\""),
        "a phone number is no case id"
    );
    assert!(!r.body.contains(&phone(3)), "and is not echoed");
    let au = site.sign_in("au").await;
    let r = site.send("GET", "/console/machines", &au, "").await;
    assert!(!r.body.contains("role=\"alert\"") && !r.body.contains("action=\"/console/machines\""));
    for login in ["op", "sv", "admin"] {
        let s = site.sign_in(login).await;
        let r = site.send("GET", "/console/machines", &s, "").await;
        assert!(r.body.contains("role=\"alert\""), "{login}");
        let r = site
            .send(
                "POST",
                "/console/machines",
                &s,
                &format!("csrf={}&case_id=INC-9", r.csrf()),
            )
            .await;
        assert!(
            r.body.contains("role=\"alert\"") && !r.body.contains("INC-9"),
            "{login}"
        );
    }
}
