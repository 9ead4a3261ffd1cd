//! Detection end to end, through the real binary: a decoy customer read by
//! an operator raises a critical alert within moments, a webhook receives it,
//! the right people see and handle it (the subject never does), the person
//! is suspended and reinstated; alerts survive a killed server without being
//! lost or repeated, and reach a receiver that starts late.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use crate::common::{Server, TestVault};
use serde_json::{Value, json};

/// A webhook receiver: records each JSON body it is sent.
struct Hook {
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Hook {
    fn start(listener: TcpListener) -> Hook {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let b = bodies.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let l = line.to_ascii_lowercase();
                    if let Some(v) = l.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; len];
                if reader.read_exact(&mut body).is_ok()
                    && let Ok(v) = serde_json::from_slice(&body)
                {
                    b.lock().unwrap().push(v);
                }
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        Hook { bodies }
    }

    /// Waits for a notification about `alert`.
    fn wait_for(&self, alert: &str, within: Duration) -> Value {
        let start = Instant::now();
        loop {
            if let Some(v) = self
                .bodies
                .lock()
                .unwrap()
                .iter()
                .find(|b| b["alert"]["id"] == alert)
            {
                return v.clone();
            }
            assert!(
                start.elapsed() < within,
                "no notification for {alert}: {:?}",
                self.bodies.lock().unwrap()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Sends every alert to `target`.
fn channel(v: &TestVault, target: &str) {
    let path = v.data().join("mamori.toml");
    let cfg = std::fs::read_to_string(&path).unwrap();
    let channel = format!(
        "channels = [{{ name = \"soc\", target = \"{target}\", audience = \"all\", min_severity = \"low\" }}]"
    );
    assert!(cfg.contains("channels = []"), "{cfg}");
    std::fs::write(&path, cfg.replacen("channels = []", &channel, 1)).unwrap();
}

fn webhook_channel(v: &TestVault, port: u16) {
    channel(v, &format!("http://127.0.0.1:{port}/hook"));
}

/// A message with its body decoded when the sender chose base64.
fn decoded(mail: &str) -> String {
    use base64::Engine;
    let Some((head, body)) = mail.split_once("\r\n\r\n") else {
        return mail.to_owned();
    };
    if !head.contains("Content-Transfer-Encoding: base64") {
        return mail.to_owned();
    }
    let text: String = body.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_default();
    format!("{head}\r\n\r\n{}", String::from_utf8_lossy(&bytes))
}

/// A local SMTP relay that keeps every message it is given.
fn smtp_sink(listener: TcpListener) -> Arc<Mutex<Vec<String>>> {
    let mails = Arc::new(Mutex::new(Vec::new()));
    let m = mails.clone();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut say = |s: &str| conn.write_all(s.as_bytes());
            let _ = say("220 sink ESMTP\r\n");
            let mut data: Option<String> = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(d) = data.as_mut() {
                    if line == ".\r\n" {
                        m.lock().unwrap().push(data.take().unwrap());
                        let _ = say("250 queued\r\n");
                    } else {
                        d.push_str(&line);
                    }
                    continue;
                }
                let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                let _ = match verb.as_str() {
                    "EHLO" => say("250-sink\r\n250 8BITMIME\r\n"),
                    "DATA" => {
                        data = Some(String::new());
                        say("354 go ahead\r\n")
                    }
                    "QUIT" => {
                        let _ = say("221 bye\r\n");
                        break;
                    }
                    _ => say("250 ok\r\n"),
                };
            }
        }
    });
    mails
}

/// A vault with a tenant, decoys, and a team: supervisor `sv` over operator `op`.
struct Setup {
    v: TestVault,
    honey: Vec<String>,
    sv: String,
    op: String,
    op2: String,
    so: String,
    au: String,
}

fn setup() -> Setup {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = crate::common::csv_of(v.dir.path(), "p.csv", 3, 30);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let planted = v.ok(&["honey", "plant", "--tenant", "acme", "--n", "3"]);
    assert_eq!(planted["planted"], 3);
    let honey: Vec<String> = v
        .ok(&["honey", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["record"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(honey.len(), 3);
    let sv = v.user("sv", "supervisor", &[]);
    let op = v.user_with("op", "operator", &["acme"], &["--manager", "sv"]);
    let op2 = v.user("op2", "operator", &["acme"]);
    let so = v.officer();
    let au = v.user("au", "auditor", &[]);
    Setup {
        v,
        honey,
        sv,
        op,
        op2,
        so,
        au,
    }
}

fn read(s: &Server, token: &str, id: &str) -> u16 {
    s.send(
        "GET",
        &format!("/v1/tenants/acme/records/{id}?purpose=inquiry&case_id=CALL-7"),
        token,
        None,
    )
    .status
}

/// Polls until `n` alerts of `rule` are visible to `token`.
fn alerts(s: &Server, token: &str, rule: &str, n: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let r = s.send("GET", &format!("/v1/alerts?rule={rule}"), token, None);
        assert_eq!(r.status, 200, "{:?}", r.body);
        let list = r.body.as_array().unwrap().clone();
        if list.len() >= n {
            return list;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{n} {rule} alert(s) expected, got {list:?}\n{}",
            std::fs::read_to_string(&s.log).unwrap_or_default()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_honey_record_raises_a_critical_alert_that_is_notified_and_handled() {
    let Setup {
        v,
        honey,
        sv,
        op,
        op2,
        so,
        au,
    } = setup();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    webhook_channel(&v, listener.local_addr().unwrap().port());
    let hook = Hook::start(listener);
    let s = v.serve();

    // The decoy reads like any customer.
    let started = Instant::now();
    assert_eq!(read(&s, &op, &honey[0]), 200);
    let list = alerts(&s, &so, "honey", 1);
    let detected = started.elapsed();
    assert!(detected < Duration::from_secs(2), "took {detected:?}");
    let a = &list[0];
    assert_eq!(
        (
            a["severity"].as_str(),
            a["login"].as_str(),
            a["state"].as_str()
        ),
        (Some("critical"), Some("op"), Some("open"))
    );
    assert_eq!(a["evidence_log"], "tenant/acme");
    let id = a["id"].as_str().unwrap().to_owned();
    let note = hook.wait_for(&id, Duration::from_secs(10));
    assert!(
        note["text"].as_str().unwrap().contains("critical"),
        "{note}"
    );
    assert_eq!(note["alert"]["login"], "op");

    // Who sees it: the office, auditors, the subject's supervisor; not the subject, not a colleague.
    let show = |t: &str| s.send("GET", &format!("/v1/alerts/{id}"), t, None).status;
    assert_eq!(
        (show(&so), show(&au), show(&sv), show(&op), show(&op2)),
        (200, 200, 200, 404, 404)
    );
    let r = s.send("GET", "/v1/alerts", &op, None);
    assert_eq!(r.body.as_array().map(Vec::len), Some(0), "{:?}", r.body);
    assert_eq!(
        s.send("GET", "/v1/alerts?state=bogus", &so, None).status,
        400
    );

    // Handling: an auditor only looks; the supervisor acknowledges and resolves.
    let post = |t: &str, what: &str, body: Value| {
        s.send("POST", &format!("/v1/alerts/{id}/{what}"), t, Some(body))
    };
    assert_eq!(post(&au, "ack", json!({})).status, 403);
    assert_eq!(post(&op2, "ack", json!({})).status, 404);
    let r = post(&sv, "ack", json!({}));
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (r.body["state"].as_str(), r.body["assignee"].as_str()),
        (Some("acknowledged"), Some("sv"))
    );
    assert_eq!(post(&sv, "assign", json!({"to": "op"})).status, 400);
    assert_eq!(post(&sv, "resolve", json!({"note": ""})).status, 400);
    let text = "本人に確認: 顧客 山田 花子 様の照会は誤操作。再教育を実施";
    let r = post(&sv, "resolve", json!({ "note": text }));
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (r.body["state"].as_str(), r.body["note"].as_str()),
        (Some("resolved"), Some(text))
    );
    let r = post(
        &so,
        "false-positive",
        json!({"note": "再確認の結果 問題なし"}),
    );
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (409, Some("alert_closed"))
    );

    // Suspension pending review: the supervisor suspends, the person is refused, the office reinstates.
    let r = s.send(
        "POST",
        "/v1/users/op/suspend",
        &sv,
        Some(json!({"alert": id})),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        s.send("POST", "/v1/users/op/suspend", &op2, Some(json!({})))
            .status,
        403
    );
    let r = s.search(&op, "acme", Some("inquiry"), "phone", "03-0000-0000");
    assert_eq!(r.status, 403);
    assert!(
        r.body["detail"].as_str().unwrap().contains("suspended"),
        "{:?}",
        r.body
    );
    assert_eq!(
        s.send("POST", "/v1/users/op/reinstate", &so, None).status,
        200
    );
    let r = s.search(&op, "acme", Some("inquiry"), "phone", "03-0000-0000");
    assert_eq!(r.status, 200, "{:?}", r.body);

    // Every step is in the audit log, the note only sealed.
    let events = s.audit(&au, &format!("case_id={id}"));
    let actions: Vec<&str> = events.iter().filter_map(|e| e["action"].as_str()).collect();
    for want in ["alert.raise", "alert.ack", "alert.resolve", "user.suspend"] {
        assert!(actions.contains(&want), "{want} missing: {actions:?}");
    }
    s.stop();
    let db = std::fs::read(v.data().join("audit.db")).unwrap();
    let vault_db = std::fs::read(v.data().join("vault.db")).unwrap();
    for bytes in [&db, &vault_db] {
        assert!(
            !bytes
                .windows("山田 花子".len())
                .any(|w| w == "山田 花子".as_bytes()),
            "the note is stored in clear"
        );
    }
    let (code, out) = v.verify(&[]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn alerts_survive_a_killed_server_once_each_and_reach_a_late_receiver() {
    let Setup {
        v, honey, op, so, ..
    } = setup();
    let port = crate::common::free_port();
    webhook_channel(&v, port);
    let s = v.serve();
    // Enumeration: twenty searches without a case id.
    let search = |s: &Server, i: usize| {
        let body = json!({"purpose": "inquiry", "by": {"phone": format!("03-0000-{i:04}")}});
        s.send("POST", "/v1/tenants/acme/records/search", &op, Some(body))
            .status
    };
    for i in 0..20 {
        assert_eq!(search(&s, i), 200);
    }
    let first = alerts(&s, &so, "enumeration", 1);
    assert_eq!(first[0]["severity"], "high");
    // Killed before its state was saved again: the restart replays what it had seen.
    drop(s);
    let s = v.serve();
    for i in 20..45 {
        assert_eq!(search(&s, i), 200);
    }
    assert_eq!(read(&s, &op, &honey[1]), 200);
    alerts(&s, &so, "honey", 1);
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(alerts(&s, &so, "enumeration", 1).len(), 1, "raised twice");
    assert_eq!(alerts(&s, &so, "honey", 1).len(), 1);

    // The receiver comes up late; both notifications still arrive.
    let hook = Hook::start(TcpListener::bind(("127.0.0.1", port)).unwrap());
    hook.wait_for(first[0]["id"].as_str().unwrap(), Duration::from_secs(30));
    let honey_alert = alerts(&s, &so, "honey", 1)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    hook.wait_for(&honey_alert, Duration::from_secs(30));
    let metrics = s.metrics();
    assert!(
        metrics.contains("mamori_alert_notification_failures"),
        "{metrics}"
    );
    s.stop();
}

/// Takes the detection lease of the vault in `dir` through the store, as
/// another serving process would; it is held until the returned lease is dropped.
fn hold_detection_lease(dir: &std::path::Path) -> Box<dyn mamori_store::Lease> {
    use mamori_store::LeaseStore;
    let store = mamori_store_sqlite::SqliteVault::open(&dir.join("vault.db")).unwrap();
    store
        .try_lead("detection")
        .unwrap()
        .expect("nobody else leads detection yet")
}

#[test]
fn a_first_start_alerts_on_reads_served_before_it_took_the_detection_lease() {
    let Setup {
        v, honey, op, so, ..
    } = setup();
    // No detection state is saved yet, and detection is busy elsewhere while
    // this server answers: what it serves meanwhile happened after it started,
    // so it must raise alerts once this process leads, not be learnt as history.
    let held = hold_detection_lease(&v.data());
    let s = v.serve();
    assert_eq!(read(&s, &op, &honey[2]), 200);
    thread::sleep(Duration::from_millis(500));
    let none = s.send("GET", "/v1/alerts?rule=honey", &so, None);
    assert_eq!(
        none.body.as_array().map(Vec::len),
        Some(0),
        "{:?}",
        none.body
    );
    drop(held);
    let list = alerts(&s, &so, "honey", 1);
    assert_eq!(list[0]["login"], "op");
    s.stop();
}

#[test]
fn alerts_are_mailed_through_the_relay() {
    let Setup {
        mut v,
        honey,
        op,
        so,
        ..
    } = setup();
    let relay = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = relay.local_addr().unwrap().port();
    let mails = smtp_sink(relay);
    channel(&v, "mailto:soc@example.jp,ciso@example.jp");
    for (k, val) in [
        ("MAMORI_DETECT_SMTP_HOST", "127.0.0.1".to_owned()),
        ("MAMORI_DETECT_SMTP_PORT", port.to_string()),
        ("MAMORI_DETECT_SMTP_TLS", "none".to_owned()),
        ("MAMORI_DETECT_SMTP_FROM", "mamori@example.jp".to_owned()),
    ] {
        v.env.push((k.to_owned(), val));
    }
    let s = v.serve();
    assert_eq!(read(&s, &op, &honey[2]), 200);
    let id = alerts(&s, &so, "honey", 1)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let start = Instant::now();
    // (Other alerts may come first: off-hours, when the test runs at night in Japan.)
    let mail = loop {
        let found = mails
            .lock()
            .unwrap()
            .iter()
            .map(|m| decoded(m))
            .find(|m| m.contains(&id));
        if let Some(m) = found {
            break m;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no mail about {id}: {:?}\n{}",
            mails.lock().unwrap(),
            std::fs::read_to_string(&s.log).unwrap_or_default()
        );
        thread::sleep(Duration::from_millis(50));
    };
    assert!(
        mail.contains("To: soc@example.jp, ciso@example.jp"),
        "{mail}"
    );
    assert!(mail.contains("おとり顧客レコードへのアクセス"), "{mail}");
    assert!(mail.contains("From: mamori@example.jp"), "{mail}");
    assert!(mail.contains(&format!("mamori alert show {id}")), "{mail}");
    assert!(mail.contains("critical"), "{mail}");
    assert!(mail.contains(" JST"), "{mail}");
    s.stop();
    // A mail channel without a relay is refused when the server starts.
    v.env.retain(|(k, _)| k != "MAMORI_DETECT_SMTP_HOST");
    let out = v.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[detect.smtp] host"), "{err}");
    // So is an unknown way of forming peer groups.
    v.env
        .push(("MAMORI_DETECT_PEER_GROUPS".into(), "team".into()));
    channel_none(&v);
    let out = v.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("detect.peer_groups 'team'"), "{err}");
}

/// Removes the channels again.
fn channel_none(v: &TestVault) {
    let path = v.data().join("mamori.toml");
    let cfg = std::fs::read_to_string(&path).unwrap();
    let start = cfg.find("channels = [{").unwrap();
    let end = start + cfg[start..].find("}]").unwrap() + 2;
    std::fs::write(
        &path,
        format!("{}channels = []{}", &cfg[..start], &cfg[end..]),
    )
    .unwrap();
}

#[test]
fn the_shift_calendar_decides_what_is_off_hours() {
    let Setup { v, op, op2, so, .. } = setup();
    // Yesterday, today and tomorrow in Japan (a run at midnight stays covered):
    // `op` is off, `op2` works around the clock.
    let today = (chrono::Utc::now() + chrono::Duration::hours(9)).date_naive();
    let mut csv = String::from("login,date,start,end\n");
    for d in [today.pred_opt().unwrap(), today, today.succ_opt().unwrap()] {
        csv.push_str(&format!("op,{d},,\nop2,{d},00:00,24:00\n"));
    }
    let file = v.dir.path().join("shifts.csv");
    std::fs::write(&file, &csv).unwrap();
    let r = v.ok(&["shift", "import", file.to_str().unwrap()]);
    assert_eq!(
        (r["rows"].as_u64(), r["people"].as_u64(), r["days"].as_u64()),
        (Some(6), Some(2), Some(6))
    );

    // Bad files are refused as a whole, by line.
    for (text, needle) in [
        (
            format!("login,date,start,end\nop,{today},09:00,18:00\nghost,{today},09:00,18:00\n"),
            "line 3: unknown login",
        ),
        (
            "ログイン,日付,開始,終了\nop,2026-13-01,09:00,18:00\n".to_owned(),
            "line 2: the date",
        ),
        (
            format!("login,date,start,end\nop,{today},9時,18:00\n"),
            "line 2:",
        ),
        ("name,date\nop,2026-12-01\n".to_owned(), "'login' column"),
    ] {
        std::fs::write(&file, text).unwrap();
        let out = v.run(&["shift", "import", file.to_str().unwrap()]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{needle}: {err}");
    }
    let out = v.run(&["shift", "set", "op", "--shift", "night"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such shift"));

    let s = v.serve();
    assert_eq!(
        s.search(&op, "acme", Some("inquiry"), "phone", "03-0000-0001")
            .status,
        200
    );
    assert_eq!(
        s.search(&op2, "acme", Some("inquiry"), "phone", "03-0000-0002")
            .status,
        200
    );
    let off = alerts(&s, &so, "off_hours", 1);
    thread::sleep(Duration::from_millis(1000));
    let off = if off.len() == 1 {
        alerts(&s, &so, "off_hours", 1)
    } else {
        off
    };
    let who: Vec<&str> = off.iter().filter_map(|a| a["login"].as_str()).collect();
    assert!(who.contains(&"op"), "{who:?}");
    assert!(!who.contains(&"op2"), "{who:?}");
    s.stop();
}

/// An address as someone else would type it: full-width digits and dashes.
fn retyped(address: &str) -> String {
    address
        .chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap(),
            '-' => '－',
            c => c,
        })
        .collect()
}

#[test]
fn looking_up_ones_own_household_raises_a_household_alert() {
    let Setup {
        v, op, op2, au, so, ..
    } = setup();
    let people: Vec<mamori_synth::Person> = mamori_synth::Generator::new(3).take(30).collect();
    let kin = &people[5];
    let stranger = people
        .iter()
        .find(|p| p.address != kin.address && p.mobile != kin.mobile)
        .unwrap();
    let family = kin.name.split_whitespace().next().unwrap();
    let family_kana = kin.name_kana.split_whitespace().next().unwrap();

    // HR's file: op lives at the customer's address, written another way.
    let file = v.dir.path().join("hr.csv");
    let hr = format!(
        "ログイン,姓,姓カナ,住所\nop,{family},{family_kana},{}\n",
        retyped(&kin.address)
    );
    std::fs::write(&file, &hr).unwrap();
    assert_eq!(
        v.ok(&["user", "household", "import", file.to_str().unwrap()])["people"],
        1
    );

    // Bad files are refused whole, by line, without echoing values.
    for (text, needle) in [
        ("login,address\nop,東京都\n".to_owned(), "'family_name'"),
        (
            format!("login,family_name,address\nop,{family},東京都\nghost,{family},東京都\n"),
            "line 3: unknown login",
        ),
        (
            "login,family_name_kana,address\nop,Yamada,東京都\n".to_owned(),
            "line 2: family name (kana): not kana",
        ),
        (
            format!("login,family_name,address\nop,{family},\n"),
            "line 2: address",
        ),
        (
            format!("login,family_name,address\nop,{family},東京都\nop,{family},大阪府\n"),
            "line 3: 'op' appears twice",
        ),
    ] {
        std::fs::write(&file, &text).unwrap();
        let out = v.run(&["user", "household", "import", file.to_str().unwrap()]);
        assert!(!out.status.success(), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{needle}: {err}");
        assert!(!err.contains("東京都") && !err.contains("Yamada"), "{err}");
    }

    // What HR gave is nowhere in the data directory as text.
    for name in ["vault.db", "audit.db"] {
        let bytes = std::fs::read(v.data().join(name)).unwrap();
        for needle in [retyped(&kin.address), kin.address.clone()] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{name} holds the address as text"
            );
        }
    }

    let s = v.serve();
    let search = |token: &str, p: &mamori_synth::Person, case: &str| {
        let r = s.send(
            "POST",
            "/v1/tenants/acme/records/search",
            token,
            Some(json!({"purpose": "inquiry", "case_id": case, "by": {"phone": p.mobile}})),
        );
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body["records"][0]["id"]
            .as_str()
            .unwrap_or_else(|| {
                let log = std::fs::read_to_string(&s.log).unwrap_or_default();
                panic!("{case}: no record in {:?}; server log:\n{log}", r.body)
            })
            .to_owned()
    };
    let kin_id = search(&op, kin, "CALL-KIN");
    search(&op, stranger, "CALL-STRANGER");
    search(&op2, kin, "CALL-OTHER-READER");

    let list = alerts(&s, &so, "household", 1);
    assert_eq!(
        (list[0]["login"].as_str(), list[0]["severity"].as_str()),
        (Some("op"), Some("high"))
    );
    // The evidence names the record, and only for the reader whose household it is.
    let noted = |case: &str| {
        let e = s.audit(&au, &format!("case_id={case}"));
        e[0]["detail"]["household"].clone()
    };
    assert_eq!(noted("CALL-KIN"), json!([kin_id]));
    assert_eq!(noted("CALL-STRANGER"), Value::Null);
    assert_eq!(noted("CALL-OTHER-READER"), Value::Null);
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        alerts(&s, &so, "household", 1).len(),
        1,
        "op2 raised nothing"
    );

    // Forgotten: the next read of the same customer is not noted.
    drop(s);
    v.ok(&["user", "household", "clear", "op"]);
    let s = v.serve();
    let r = s.send(
        "POST",
        "/v1/tenants/acme/records/search",
        &op,
        Some(json!({"purpose": "inquiry", "case_id": "CALL-AFTER", "by": {"phone": kin.mobile}})),
    );
    assert_eq!(r.status, 200);
    let e = s.audit(&au, "case_id=CALL-AFTER");
    assert_eq!(e[0]["detail"]["household"], Value::Null);
}

#[test]
fn customer_numbers_searched_one_after_another_raise_enumeration() {
    let Setup {
        v, op, op2, au, so, ..
    } = setup();
    let people: Vec<mamori_synth::Person> = mamori_synth::Generator::new(3).take(30).collect();
    let s = v.serve();
    let search = |token: &str, number: &str, case: &str| {
        let r = s.send(
            "POST",
            "/v1/tenants/acme/records/search",
            token,
            Some(json!({"purpose": "inquiry", "case_id": case, "by": {"customer_no": number}})),
        );
        assert_eq!(r.status, 200, "{:?}", r.body);
    };
    // Walking through the numbers, each with a plausible case id, and past
    // the last customer (numbers nobody has count the same).
    for (i, p) in people[25..].iter().enumerate() {
        search(&op, &p.customer_no, &format!("WALK-{i}"));
    }
    assert_eq!(people[29].customer_no, "C0300000030");
    search(&op, "C0300000031", "WALK-5");
    // Someone else looking up customers far apart, or one twice.
    for (i, p) in [&people[0], &people[9], &people[20], &people[20]]
        .iter()
        .enumerate()
    {
        search(&op2, &p.customer_no, &format!("CALLS-{i}"));
    }

    let list = alerts(&s, &so, "enumeration", 1);
    assert_eq!(
        (
            list[0]["login"].as_str(),
            list[0]["variant"].as_str(),
            list[0]["severity"].as_str()
        ),
        (Some("op"), Some("sequential"), Some("high")),
        "{list:?}"
    );
    let sequential =
        |case: &str| s.audit(&au, &format!("case_id={case}"))[0]["detail"]["sequential"].clone();
    assert_eq!(
        sequential("WALK-0"),
        Value::Null,
        "the first step has no predecessor"
    );
    for case in ["WALK-1", "WALK-2", "WALK-3", "WALK-4", "WALK-5"] {
        assert_eq!(sequential(case), json!(true), "{case}");
    }
    for case in ["CALLS-0", "CALLS-1", "CALLS-2", "CALLS-3"] {
        assert_eq!(sequential(case), Value::Null, "{case}");
    }
    // No value of a search is in the log, only the fact.
    let everything = serde_json::to_string(&s.audit(&au, "limit=1000")).unwrap();
    assert!(!everything.contains("C0300000031"));
    thread::sleep(Duration::from_millis(500));
    assert_eq!(alerts(&s, &so, "enumeration", 1).len(), 1);
}

#[test]
fn a_read_under_another_customers_case_counts_as_a_read_without_a_case() {
    let Setup { v, op, au, so, .. } = setup();
    let people: Vec<mamori_synth::Person> = mamori_synth::Generator::new(3).take(30).collect();
    // The call system's export: which customer each call is about (one
    // number typed in full width; it is normalised like a search).
    let file = v.dir.path().join("cases.csv");
    let wide: String = people[1]
        .customer_no
        .chars()
        .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
        .collect();
    std::fs::write(
        &file,
        format!(
            "案件番号,お客さま番号\nCALL-A,{}\nCALL-B,{wide}\n",
            people[0].customer_no
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let r = v.ok(&["case", "import", "--tenant", "acme", f]);
    assert_eq!(r["cases"], 2);
    for (text, needle) in [
        ("case,customer\nX,Y\n", "'case_id' column"),
        ("case_id,customer_no\nCALL A,C1\n", "line 2: a case id"),
        (
            "case_id,customer_no\nCALL-1,C1\nCALL-1,C2\n",
            "line 3: case 'CALL-1' appears twice",
        ),
        ("case_id,customer_no\nCALL-1,\n", "line 2: customer_no"),
    ] {
        std::fs::write(&file, text).unwrap();
        let out = v.run(&["case", "import", "--tenant", "acme", f]);
        assert!(!out.status.success(), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{needle}: {err}");
    }
    let out = v.run(&["case", "import", "--tenant", "nobody", f]);
    assert!(!out.status.success());

    let s = v.serve();
    let read = |p: &mamori_synth::Person, case: &str| {
        let r = s.send(
            "POST",
            "/v1/tenants/acme/records/search",
            &op,
            Some(json!({"purpose": "inquiry", "case_id": case, "by": {"customer_no": p.customer_no}})),
        );
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body["records"][0]["id"].as_str().unwrap().to_owned()
    };
    read(&people[0], "CALL-A");
    let wrong = [
        read(&people[2], "CALL-A"),
        read(&people[7], "CALL-B"),
        read(&people[12], "CALL-B"),
    ];
    read(&people[1], "CALL-B");
    read(&people[17], "CALL-UNKNOWN");

    let list = alerts(&s, &so, "no_case", 1);
    assert_eq!(
        (list[0]["login"].as_str(), list[0]["value"].as_f64()),
        (Some("op"), Some(3.0)),
        "{list:?}"
    );
    let events = s.audit(&au, "actor=user:op&action=record.search");
    let mismatched: Vec<Value> = events
        .iter()
        .filter_map(|e| e["detail"]["case_mismatch"].as_array())
        .map(|a| a[0].clone())
        .collect();
    assert_eq!(
        mismatched,
        wrong.map(Value::from),
        "only reads of another customer's case"
    );
    assert_eq!(events.len(), 6);
}
