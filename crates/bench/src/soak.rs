//! `mamori-bench soak`: the mixed work of a contact centre at a fixed rate
//! for a long time, against one server or several (`bench/soak.sh`).
//!
//! Operators search customers and read them by id, the back office writes
//! records, operators ask for access and their supervisor approves it, the
//! back office exports (a supervisor and the security office approve, the
//! package is downloaded once), the security office works the alert queue,
//! and a few requests are refused on purpose (a system administrator looking
//! at customer data, an unknown purpose). Every answer is classified: done,
//! refused as expected, or an error (anything else — a 5xx, an unexpected
//! code, a dropped connection). Every acknowledged read and write carries a
//! case id of its own, written to `--acked` so that the script can check
//! the audit log holds each exactly once. The servers' resident memory is
//! sampled every ten seconds.

use std::{
    collections::BTreeMap,
    io::Write,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use parking_lot::Mutex;
use rand::{Rng, SeedableRng, rngs::SmallRng};
use serde_json::{Value, json};

/// Who does the work: tokens by role.
pub struct People {
    pub operators: Vec<String>,
    pub backyard: String,
    pub supervisor: String,
    pub officer: String,
    pub sysadmin: String,
}

pub struct Plan {
    pub urls: Vec<String>,
    pub tenant: String,
    /// Phones of customers the operators may see.
    pub phones: Vec<String>,
    pub people: People,
    /// Requests per second, all kinds together.
    pub rate: f64,
    pub seconds: u64,
    pub server_pids: Vec<u32>,
    /// Where the case ids of acknowledged reads and writes go, one a line.
    pub acked: PathBuf,
    /// What every case id of this run starts with (runs on one vault must
    /// differ, so that each case id names one request).
    pub label: String,
}

/// One kind of work, with its share of the requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Search,
    Read,
    Write,
    AccessRequest,
    Export,
    Alerts,
    Refused,
}

/// The requests' mix, per mille. Exports are not in it: one starts every
/// `EXPORT_EVERY` (a package holds a whole segment). Access requests are
/// rare (a handful a day per person in a
/// real centre: each one approved changes the governance revision).
const MIX: [(Kind, u32); 6] = [
    (Kind::Search, 700),
    (Kind::Read, 100),
    (Kind::Write, 100),
    (Kind::AccessRequest, 2),
    (Kind::Alerts, 38),
    (Kind::Refused, 60),
];

const EXPORT_EVERY: Duration = Duration::from_secs(30);

/// How an answer counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Done,
    Expected,
    Error,
}

#[derive(Default)]
struct Tally {
    counts: BTreeMap<(Kind, &'static str), u64>,
    /// The first few errors: kind, status, code.
    errors: Vec<String>,
    latencies_us: Vec<u64>,
    acked: Vec<String>,
}

struct Shared {
    plan: Plan,
    client: reqwest::Client,
    tally: Mutex<Tally>,
    next_case: AtomicU64,
    /// Requests answered so far, sampled every 10 s to show throughput over time.
    answered: AtomicU64,
    /// Record ids seen in search answers, for reads by id.
    ids: Mutex<Vec<String>>,
}

/// An answer: status, body (problem documents have `code`).
struct Answer {
    status: u16,
    body: Value,
}

impl Shared {
    fn url(&self, n: u64) -> &str {
        &self.plan.urls[(n as usize) % self.plan.urls.len()]
    }

    fn case(&self, prefix: &str) -> String {
        let n = self.next_case.fetch_add(1, Ordering::Relaxed);
        format!("{}-{prefix}-{n}", self.plan.label)
    }

    async fn call(
        &self,
        method: &str,
        url: String,
        token: &str,
        body: Option<Value>,
    ) -> Option<Answer> {
        let mut req = self
            .client
            .request(method.parse().ok()?, url)
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.ok()?;
        let status = r.status().as_u16();
        let bytes = r.bytes().await.ok()?;
        Some(Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        })
    }

    /// A search by phone as the holder of `token`.
    async fn search_as(
        &self,
        n: u64,
        token: &str,
        purpose: &str,
        case: &str,
        phone: &str,
    ) -> Option<Answer> {
        let url = format!(
            "{}/v1/tenants/{}/records/search",
            self.url(n),
            self.plan.tenant
        );
        let body = json!({"purpose": purpose, "case_id": case, "by": {"phone": phone}});
        self.call("POST", url, token, Some(body)).await
    }

    fn count(&self, kind: Kind, outcome: Outcome, answer: Option<&Answer>, started: Instant) {
        let mut t = self.tally.lock();
        let label = match outcome {
            Outcome::Done => "done",
            Outcome::Expected => "refused_as_expected",
            Outcome::Error => "error",
        };
        *t.counts.entry((kind, label)).or_default() += 1;
        self.answered.fetch_add(1, Ordering::Relaxed);
        if outcome == Outcome::Error && t.errors.len() < 20 {
            let what = answer.map_or("no answer (connection)".to_owned(), |a| {
                format!("{} {}", a.status, a.body["code"].as_str().unwrap_or("-"))
            });
            t.errors.push(format!("{kind:?}: {what}"));
        }
        t.latencies_us.push(started.elapsed().as_micros() as u64);
    }

    fn ack(&self, case: String) {
        self.tally.lock().acked.push(case);
    }
}

/// Done when the status is `ok`, refused as expected when the code is one
/// of `expected`, else an error.
fn judge(a: Option<&Answer>, ok: u16, expected: &[&str]) -> Outcome {
    match a {
        Some(a) if a.status == ok => Outcome::Done,
        Some(a)
            if a.body["code"]
                .as_str()
                .is_some_and(|c| expected.contains(&c)) =>
        {
            Outcome::Expected
        }
        _ => Outcome::Error,
    }
}

async fn search(s: &Shared, n: u64, rng: &mut SmallRng) {
    let p = &s.plan;
    let phone = &p.phones[rng.random_range(0..p.phones.len())];
    let token = &p.people.operators[n as usize % p.people.operators.len()];
    let case = s.case("S");
    let t = Instant::now();
    let a = s.search_as(n, token, "inquiry", &case, phone).await;
    let outcome = judge(a.as_ref(), 200, &[]);
    if outcome == Outcome::Done {
        if let Some(id) = a.as_ref().and_then(|a| a.body["records"][0]["id"].as_str()) {
            let mut ids = s.ids.lock();
            if ids.len() < 10_000 {
                ids.push(id.to_owned());
            }
        }
        s.ack(case);
    }
    s.count(Kind::Search, outcome, a.as_ref(), t);
}

async fn read(s: &Shared, n: u64, rng: &mut SmallRng) {
    let id = {
        let ids = s.ids.lock();
        if ids.is_empty() {
            return;
        }
        ids[rng.random_range(0..ids.len())].clone()
    };
    let p = &s.plan;
    let token = &p.people.operators[n as usize % p.people.operators.len()];
    let case = s.case("R");
    let url = format!(
        "{}/v1/tenants/{}/records/{id}?purpose=inquiry&case_id={case}",
        s.url(n),
        p.tenant
    );
    let t = Instant::now();
    let a = s.call("GET", url, token, None).await;
    let outcome = judge(a.as_ref(), 200, &[]);
    if outcome == Outcome::Done {
        s.ack(case);
    }
    s.count(Kind::Read, outcome, a.as_ref(), t);
}

async fn write(s: &Shared, n: u64) {
    let p = &s.plan;
    let case = s.case("W");
    let url = format!("{}/v1/tenants/{}/records/SOAK-{n}", s.url(n), p.tenant);
    let body = json!({"purpose": "contract_change", "case_id": case, "segment": "own", "fields": {
        "name": "耐久 試験", "name_kana": "タイキュウ シケン", "phone": format!("03-5{:03}-{:04}", n % 1000, n % 10_000),
        "address": "東京都千代田区千代田1-1", "plan": "光ライト"}});
    let t = Instant::now();
    let a = s.call("PUT", url, &p.people.backyard, Some(body)).await;
    let outcome = match a.as_ref().map(|a| a.status) {
        Some(200 | 201) => Outcome::Done,
        _ => Outcome::Error,
    };
    if outcome == Outcome::Done {
        s.ack(case);
    }
    s.count(Kind::Write, outcome, a.as_ref(), t);
}

/// An operator asks for the partner segment for a case; their supervisor approves.
async fn access_request(s: &Shared, n: u64) {
    let p = &s.plan;
    let token = &p.people.operators[n as usize % p.people.operators.len()];
    let ask = json!({"tenant": p.tenant, "segment": "collab", "fields": ["customer_no", "name", "phone"],
        "purpose": "inquiry", "case_id": s.case("A"),
        "justification": "提携先のお客さまからの問い合わせに回答するため契約内容を確認する",
        "record_budget": 5, "hours": 1});
    let t = Instant::now();
    let a = s
        .call(
            "POST",
            format!("{}/v1/access/requests", s.url(n)),
            token,
            Some(ask),
        )
        .await;
    let outcome = judge(a.as_ref(), 201, &[]);
    s.count(Kind::AccessRequest, outcome, a.as_ref(), t);
    let Some(id) = a.as_ref().and_then(|a| a.body["id"].as_str()) else {
        return;
    };
    let t = Instant::now();
    let url = format!("{}/v1/access/requests/{id}/approve", s.url(n + 1));
    let a = s
        .call(
            "POST",
            url,
            &p.people.supervisor,
            Some(json!({"comment": "確認しました"})),
        )
        .await;
    s.count(
        Kind::AccessRequest,
        judge(a.as_ref(), 200, &[]),
        a.as_ref(),
        t,
    );
}

/// The back office exports a segment; a supervisor and the security office
/// approve; the package is downloaded once. `export_too_large` is the
/// expected refusal when the segment is over `exports.max_rows`.
async fn export(s: &Shared, n: u64) {
    let p = &s.plan;
    let ask = json!({"tenant": p.tenant, "segment": "collab", "fields": ["customer_no", "name"],
        "purpose": "billing", "case_id": s.case("E"),
        "reason": "料金改定のお知らせを郵送するため印刷会社へ宛名データを渡す",
        "recipient_name": "さくら印刷株式会社",
        "recipient_key": "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"});
    let t = Instant::now();
    let a = s
        .call(
            "POST",
            format!("{}/v1/exports", s.url(n)),
            &p.people.backyard,
            Some(ask),
        )
        .await;
    s.count(
        Kind::Export,
        judge(a.as_ref(), 201, &["export_too_large"]),
        a.as_ref(),
        t,
    );
    let Some(id) = a
        .as_ref()
        .and_then(|a| a.body["id"].as_str())
        .map(str::to_owned)
    else {
        return;
    };
    for approver in [&p.people.supervisor, &p.people.officer] {
        let t = Instant::now();
        let url = format!("{}/v1/exports/{id}/approve", s.url(n));
        let a = s
            .call(
                "POST",
                url,
                approver,
                Some(json!({"comment": "承認します"})),
            )
            .await;
        s.count(Kind::Export, judge(a.as_ref(), 200, &[]), a.as_ref(), t);
    }
    let t = Instant::now();
    let url = format!("{}/v1/exports/{id}/download", s.url(n + 1));
    let a = s.call("POST", url, &p.people.backyard, None).await;
    // The package is binary: any 200 is a download.
    let outcome = match a.as_ref().map(|a| a.status) {
        Some(200) => Outcome::Done,
        _ => Outcome::Error,
    };
    s.count(Kind::Export, outcome, a.as_ref(), t);
}

/// The security office looks at the open alerts and acknowledges one.
async fn alerts(s: &Shared, n: u64) {
    let p = &s.plan;
    let t = Instant::now();
    let url = format!("{}/v1/alerts?state=open&limit=20", s.url(n));
    let a = s.call("GET", url, &p.people.officer, None).await;
    s.count(Kind::Alerts, judge(a.as_ref(), 200, &[]), a.as_ref(), t);
    let first = a
        .as_ref()
        .and_then(|a| a.body.as_array().or_else(|| a.body["alerts"].as_array()))
        .and_then(|list| list.first())
        .and_then(|x| x["id"].as_str())
        .map(str::to_owned);
    if let Some(id) = first {
        let t = Instant::now();
        let url = format!("{}/v1/alerts/{id}/ack", s.url(n));
        let a = s
            .call("POST", url, &p.people.officer, Some(json!({})))
            .await;
        // Two workers may take the same alert: the second finds it handled.
        let outcome = match a.as_ref() {
            Some(a) if a.status == 200 || a.status == 409 => Outcome::Done,
            _ => Outcome::Error,
        };
        s.count(Kind::Alerts, outcome, a.as_ref(), t);
    }
}

/// Requests that must be refused: a system administrator at customer data,
/// an operator with a purpose the tenant does not define.
async fn refused(s: &Shared, n: u64, rng: &mut SmallRng) {
    let p = &s.plan;
    let phone = &p.phones[rng.random_range(0..p.phones.len())];
    let (token, purpose) = if n.is_multiple_of(2) {
        (&p.people.sysadmin, "inquiry")
    } else {
        (&p.people.operators[0], "marketing")
    };
    let t = Instant::now();
    let a = s.search_as(n, token, purpose, &s.case("X"), phone).await;
    let outcome = match a.as_ref().map(|a| a.status) {
        Some(403 | 400) => Outcome::Expected,
        _ => Outcome::Error,
    };
    s.count(Kind::Refused, outcome, a.as_ref(), t);
}

fn pick(rng: &mut SmallRng) -> Kind {
    let total: u32 = MIX.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for (k, w) in MIX {
        if x < w {
            return k;
        }
        x -= w;
    }
    Kind::Search
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Runs the soak and returns its report.
pub async fn run(plan: Plan) -> Result<Value> {
    mamori_audit::tls::install_provider();
    let workers = 64usize;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(workers)
        .timeout(Duration::from_secs(30))
        .build()?;
    let acked_path = plan.acked.clone();
    let (rate, seconds, pids) = (plan.rate, plan.seconds, plan.server_pids.clone());
    let shared = Arc::new(Shared {
        plan,
        client,
        tally: Mutex::new(Tally::default()),
        next_case: AtomicU64::new(1),
        answered: AtomicU64::new(0),
        ids: Mutex::new(Vec::new()),
    });
    // Open loop: request k is due at start + k / rate; a worker late for it
    // starts it at once, and how late it was is reported.
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let slot = Arc::new(AtomicU64::new(0));
    let late_ms = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (s, slot, late_ms) = (shared.clone(), slot.clone(), late_ms.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = SmallRng::seed_from_u64(w as u64 + 1);
            loop {
                let k = slot.fetch_add(1, Ordering::Relaxed);
                let due = start + Duration::from_secs_f64(k as f64 / rate);
                // The run ends on time: work still due (a backlog, or a
                // rate beyond what is served) is not started after it.
                if due >= end || Instant::now() >= end {
                    break;
                }
                let now = Instant::now();
                if due > now {
                    tokio::time::sleep(due - now).await;
                } else {
                    late_ms.fetch_max((now - due).as_millis() as u64, Ordering::Relaxed);
                }
                match pick(&mut rng) {
                    Kind::Search => search(&s, k, &mut rng).await,
                    Kind::Read => read(&s, k, &mut rng).await,
                    Kind::Write => write(&s, k).await,
                    Kind::AccessRequest => access_request(&s, k).await,
                    Kind::Export => {}
                    Kind::Alerts => alerts(&s, k).await,
                    Kind::Refused => refused(&s, k, &mut rng).await,
                }
            }
        }));
    }
    {
        let s = shared.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while Instant::now() + EXPORT_EVERY / 2 < end {
                export(&s, n).await;
                n += 1;
                tokio::time::sleep(EXPORT_EVERY.min(end.saturating_duration_since(Instant::now())))
                    .await;
            }
        }));
    }
    let mut rss: Vec<Value> = Vec::new();
    while Instant::now() < end {
        let sample: Vec<Option<u64>> = pids.iter().map(|p| rss_kib(*p)).collect();
        let answered = shared.answered.load(Ordering::Relaxed);
        rss.push(
            json!({"t_s": start.elapsed().as_secs(), "rss_kib": sample, "answered": answered}),
        );
        tokio::time::sleep(
            Duration::from_secs(10).min(end.saturating_duration_since(Instant::now())),
        )
        .await;
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let sample: Vec<Option<u64>> = pids.iter().map(|p| rss_kib(*p)).collect();
    let answered = shared.answered.load(Ordering::Relaxed);
    rss.push(json!({"t_s": start.elapsed().as_secs(), "rss_kib": sample, "answered": answered}));
    let mut tally = std::mem::take(&mut *shared.tally.lock());
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&acked_path).with_context(|| format!("{}", acked_path.display()))?,
    );
    for c in &tally.acked {
        writeln!(out, "{c}")?;
    }
    out.flush()?;
    tally.latencies_us.sort_unstable();
    let pct = |p: f64| {
        let l = &tally.latencies_us;
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    let mut by_kind: BTreeMap<String, BTreeMap<&str, u64>> = BTreeMap::new();
    let (mut done, mut expected, mut errors) = (0, 0, 0);
    for ((kind, label), n) in &tally.counts {
        by_kind
            .entry(format!("{kind:?}"))
            .or_default()
            .insert(label, *n);
        match *label {
            "done" => done += n,
            "refused_as_expected" => expected += n,
            _ => errors += n,
        }
    }
    Ok(json!({
        "seconds": elapsed, "target_rate": rate,
        "requests": done + expected + errors, "rps": (done + expected + errors) as f64 / elapsed,
        "done": done, "refused_as_expected": expected, "errors": errors,
        "first_errors": tally.errors, "by_kind": by_kind,
        "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": pct(1.0),
        "most_late_ms": late_ms.load(Ordering::Relaxed),
        "acked": tally.acked.len(), "rss": rss,
    }))
}
