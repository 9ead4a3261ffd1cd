//! Crash safety: the server is killed with SIGKILL at random moments while
//! clients read and write through it, and restarted on the same data
//! directory, again and again. Afterwards every request that got a 2xx has
//! exactly one audit event and its write is present, no request has two
//! events, both databases pass SQLite's integrity check, and the audit log
//! verifies.
//!
//! 50 kills by default (CI); `MAMORI_CRASH_ITERATIONS=500` for a longer
//! run (`scripts/crash-soak.sh`), `MAMORI_CRASH_SEED` to replay one.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::common::TestVault;
use serde_json::{Value, json};

/// A small deterministic generator (xorshift64*): the seed is printed so a
/// failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
}

/// Requests that got a 2xx, by case id, with the id of a written record.
type Acked = Arc<Mutex<HashMap<String, (Kind, String)>>>;

const CLIENTS: usize = 4;

/// One client: alternates writes of a new record and audited searches,
/// each with its own case id, until the server dies.
fn client(base: String, token: String, id: usize, round: u64, acked: Acked, stop: Arc<AtomicBool>) {
    mamori_audit::tls::install_provider();
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let case = format!("CR{round}x{id}x{n}");
        let (kind, req) = if n.is_multiple_of(2) {
            let body = json!({"purpose": "contract_change", "case_id": case, "segment": "own",
                "fields": {"name": "試験 太郎", "name_kana": "シケン タロウ", "phone": "03-5555-0002", "plan": "光ライト"}});
            (
                Kind::Write,
                http.put(format!("{base}/v1/tenants/acme/records/{case}"))
                    .json(&body),
            )
        } else {
            let body =
                json!({"purpose": "inquiry", "case_id": case, "by": {"phone": "03-5555-0009"}});
            (
                Kind::Read,
                http.post(format!("{base}/v1/tenants/acme/records/search"))
                    .json(&body),
            )
        };
        match req.bearer_auth(&token).send() {
            Ok(r) if r.status().is_success() => {
                // A body cut off by the kill still counts: the 2xx was sent.
                let id = r
                    .json::<Value>()
                    .ok()
                    .and_then(|b| b["id"].as_str().map(str::to_owned));
                acked
                    .lock()
                    .unwrap()
                    .insert(case, (kind, id.unwrap_or_default()));
            }
            Ok(r) => {
                let status = r.status();
                let text = r.text().unwrap_or_default();
                // Anything but success or a dying server is a bug in the test setup.
                assert!(
                    status.as_u16() == 503,
                    "unexpected {status} for {case}: {text}"
                );
            }
            Err(_) => return, // the server was killed
        }
    }
}

fn integrity(path: &std::path::Path) -> String {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn sigkill_under_load_loses_nothing_acknowledged() {
    let iterations: u64 = std::env::var("MAMORI_CRASH_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let seed = std::env::var("MAMORI_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash harness: {iterations} kills, MAMORI_CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let mut v = TestVault::new();
    // The load is one person's; the limits that stop enumeration are not under test.
    v.env
        .push(("MAMORI_LIMITS_REQUESTS_PER_MINUTE".into(), "1000000".into()));
    v.env.push((
        "MAMORI_LIMITS_DAILY_RECORDS_BACKYARD".into(),
        "1000000".into(),
    ));
    v.ok(&["tenant", "create", "acme", "--name", "アクメ通信"]);
    let csv = crate::common::csv_of(v.dir.path(), "acme.csv", 5, 100);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let token = v.user("by", "backyard", &["acme"]);
    let acked: Acked = Arc::default();

    for round in 0..iterations {
        let s = v.serve();
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| {
                let (base, token, acked, stop) =
                    (s.base.clone(), token.clone(), acked.clone(), stop.clone());
                std::thread::spawn(move || client(base, token, id, round, acked, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20 + rng.below(300)));
        // SIGKILL: no shutdown, no flush, no checkpoint of the quiet logs.
        let mut s = s;
        s.child.kill().unwrap();
        s.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().expect("client thread");
        }
    }

    let acked = acked.lock().unwrap().clone();
    let writes = acked.values().filter(|(k, _)| *k == Kind::Write).count();
    eprintln!(
        "crash harness: {} acknowledged requests ({writes} writes)",
        acked.len()
    );
    assert!(
        acked.len() as u64 >= iterations,
        "the load reached the server"
    );

    let data = v.data();
    assert_eq!(integrity(&data.join("vault.db")), "ok");
    assert_eq!(integrity(&data.join("audit.db")), "ok");
    let seen = crate::common::audited_cases(&data);
    for (case, (kind, _)) in &acked {
        assert_eq!(
            seen.get(case),
            Some(&1),
            "{kind:?} {case}: acknowledged, so audited once"
        );
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "no request is audited twice"
    );

    // Every acknowledged write is there.
    let s = v.serve();
    for (case, (_, id)) in acked.iter().filter(|(_, (k, _))| *k == Kind::Write) {
        if id.is_empty() {
            continue; // the response body was cut off: the audit check above covers it
        }
        let r = s.send(
            "GET",
            &format!("/v1/tenants/acme/records/{id}?purpose=contract_change&case_id=CHECK"),
            &token,
            None,
        );
        assert_eq!(r.status, 200, "{case}: {:?}", r.body);
    }
    drop(s);
    assert!(v.ok(&["audit", "verify"])["ok"].as_bool().unwrap());
}
