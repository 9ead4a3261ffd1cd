//! `mamori-bench`: tools for `bench/run.sh`.
//!
//! - `load` drives a server with keep-alive connections for a fixed time and
//!   reports requests/s and latency percentiles;
//! - `baseline-serve` is what a team would build without mamori: customers in
//!   a plain SQLite table, a point select by phone, and one audit row inserted
//!   (and committed, WAL + synchronous=FULL) per request before answering;
//! - `audit-append` measures the audit log's durable appends against plain
//!   SQLite inserting the same rows (`bench/audit.sh`);
//! - `soak` runs a contact centre's mixed work at a fixed rate for a long
//!   time (`bench/soak.sh`).

mod audit;
mod detect;
mod pg_baseline;
mod reconcile;
mod soak;

/// A synthetic person as the baselines store them: the columns in order,
/// then the normalised mobile number they are looked up by.
fn baseline_row(p: mamori_synth::Person) -> [String; 10] {
    let norm = normalize(FieldType::Phone, &p.mobile).unwrap_or_default();
    [
        p.customer_no,
        p.name,
        p.name_kana,
        p.birth_date,
        p.address,
        p.phone,
        p.mobile,
        p.email,
        p.plan,
        norm,
    ]
}

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use axum::{Json, Router, extract::State, routing::post};
use clap::{Parser, Subcommand, ValueEnum};
use mamori_core::{FieldType, normalize::normalize};
use parking_lot::Mutex;
use rand::{Rng, SeedableRng, rngs::SmallRng};
use rusqlite::{Connection, OptionalExtension};
use serde_json::{Value, json};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum Target {
    /// `POST {url}/v1/tenants/{tenant}/records/search` with purpose and case id.
    Mamori,
    /// `POST {url}/search` of `baseline-serve`.
    Baseline,
}

#[derive(Subcommand)]
enum Cmd {
    Load {
        #[arg(long)]
        url: String,
        #[arg(long, value_enum)]
        target: Target,
        #[arg(long, default_value = "bench")]
        tenant: String,
        /// Bearer tokens, comma-separated: connection `i` uses token `i mod n`
        /// (many operators, each on a connection of its own, as in a call centre).
        #[arg(long, value_delimiter = ',', default_value = "")]
        token: Vec<String>,
        /// Look up only people of this segment (operators assigned to one segment).
        #[arg(long)]
        segment: Option<String>,
        /// Seed and size of the generated data set the server holds; lookups use its phones.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        records: u64,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        #[arg(long, default_value_t = 3)]
        warmup: u64,
        /// The server's process ids (comma-separated): their CPU time
        /// (user + system, from /proc) over the measured window is reported
        /// per request — a figure far less noisy than requests/s on a shared
        /// 2-core machine.
        #[arg(long, value_delimiter = ',')]
        server_pid: Vec<u32>,
    },
    /// Loads generated people into PostgreSQL encrypted with pgcrypto (the
    /// PostgreSQL baseline's data).
    PgBaselineLoad {
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "bench_baseline")]
        schema: String,
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        records: u64,
    },
    /// Serves the PostgreSQL baseline: pgp_sym_decrypt of the fields plus an
    /// audit row per lookup.
    PgBaselineServe {
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "bench_baseline")]
        schema: String,
        #[arg(long)]
        listen: String,
    },
    /// Appends events from many threads to one audit log of a data
    /// directory made by `mamori init`; reports events/s and latency
    /// against plain SQLite inserting the same rows.
    AuditAppend {
        #[arg(long)]
        data_dir: std::path::PathBuf,
        #[arg(long, default_value_t = 32)]
        writers: usize,
        #[arg(long, default_value_t = 200_000)]
        events: u64,
        /// Write every event's bytes here (for timing sha256sum over them).
        #[arg(long)]
        bodies: Option<std::path::PathBuf>,
    },
    /// Events per second through the default detection rules on one core,
    /// against reading the events alone; memory per tracked person.
    Detect {
        #[arg(long, default_value_t = 2_000)]
        operators: usize,
        #[arg(long, default_value_t = 30)]
        days: i64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Mixed work at a fixed rate: searches, reads, writes, access requests
    /// and approvals, exports, alert handling, refusals (see `soak.rs`).
    Soak {
        /// One server, or several comma-separated (requests take turns).
        #[arg(long, value_delimiter = ',')]
        url: Vec<String>,
        #[arg(long, default_value = "bench")]
        tenant: String,
        /// Seed and size of the generated data set the server holds.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        records: u64,
        /// The operators' segment: they look up its customers.
        #[arg(long, default_value = "own")]
        segment: String,
        /// Operators' tokens, comma-separated.
        #[arg(long, value_delimiter = ',')]
        operators: Vec<String>,
        #[arg(long)]
        backyard: String,
        /// The operators' and the back office's supervisor.
        #[arg(long)]
        supervisor: String,
        #[arg(long)]
        officer: String,
        #[arg(long)]
        sysadmin: String,
        /// Requests per second, all kinds together.
        #[arg(long)]
        rate: f64,
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        #[arg(long, value_delimiter = ',')]
        server_pid: Vec<u32>,
        /// Where the case ids of acknowledged reads and writes are written.
        #[arg(long)]
        acked: std::path::PathBuf,
        /// What this run's case ids start with (distinct per run on one vault).
        #[arg(long, default_value = "SOAK")]
        label: String,
    },
    /// A vault holding a simulated month of a secure area, and its outside files.
    ReconcileSetup {
        #[arg(long)]
        data_dir: std::path::PathBuf,
        /// Where the outside files and the officer's token are written.
        #[arg(long)]
        out: std::path::PathBuf,
        #[arg(long, default_value_t = 2000)]
        people: usize,
        #[arg(long, default_value_t = 30)]
        days: i64,
        #[arg(long, default_value_t = 47)]
        reads_per_day: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 128)]
        writers: usize,
        /// The first day, `YYYY-MM-DD` (default 2026-11-01).
        #[arg(long)]
        start: Option<chrono::NaiveDate>,
    },
    /// On a reconcile-setup vault: more tenants, every operator assigned to
    /// each, and a fallback reviewer (for a review campaign's scale).
    ReviewSetup {
        #[arg(long)]
        data_dir: std::path::PathBuf,
        #[arg(long, default_value_t = 5)]
        tenants: usize,
    },
    /// The month's reads listed from the audit database and parsed.
    ReconcileBaseline {
        #[arg(long)]
        audit_db: std::path::PathBuf,
        #[arg(long)]
        from: i64,
        #[arg(long)]
        to: i64,
    },
    BaselineServe {
        #[arg(long)]
        db: String,
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        records: u64,
        #[arg(long)]
        listen: String,
    },
}

#[global_allocator]
static ALLOC: detect::Counting = detect::Counting;

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Load {
            url,
            target,
            tenant,
            token,
            segment,
            seed,
            records,
            connections,
            seconds,
            warmup,
            server_pid,
        } => {
            let phones = phones_of(seed, records, segment.as_deref())?;
            let out = runtime()?.block_on(load(Plan {
                url,
                target,
                tenant,
                tokens: token,
                phones: Arc::new(phones),
                connections,
                seconds,
                warmup,
                server_pid,
            }))?;
            println!("{}", serde_json::to_string(&out)?);
        }
        Cmd::Soak {
            url,
            tenant,
            seed,
            records,
            segment,
            operators,
            backyard,
            supervisor,
            officer,
            sysadmin,
            rate,
            seconds,
            server_pid,
            acked,
            label,
        } => {
            let phones = phones_of(seed, records, Some(&segment))?;
            anyhow::ensure!(rate > 0.0 && !operators.is_empty(), "a rate and operators");
            let plan = soak::Plan {
                urls: url,
                tenant,
                phones,
                people: soak::People {
                    operators,
                    backyard,
                    supervisor,
                    officer,
                    sysadmin,
                },
                rate,
                seconds,
                server_pids: server_pid,
                acked,
                label,
            };
            println!(
                "{}",
                serde_json::to_string(&runtime()?.block_on(soak::run(plan))?)?
            );
        }
        Cmd::Detect {
            operators,
            days,
            seed,
        } => {
            let out = detect::run(detect::Plan {
                operators,
                days,
                seed,
            })?;
            println!("{}", serde_json::to_string(&out)?);
        }
        Cmd::AuditAppend {
            data_dir,
            writers,
            events,
            bodies,
        } => {
            let out = audit::append(audit::AppendPlan {
                data_dir,
                writers: writers.max(1),
                events,
                bodies,
            })?;
            println!("{}", serde_json::to_string(&out)?);
        }
        Cmd::ReconcileSetup {
            data_dir,
            out,
            people,
            days,
            reads_per_day,
            seed,
            writers,
            start,
        } => {
            let out = reconcile::setup(reconcile::SetupPlan {
                data_dir,
                out,
                shape: mamori_reconcile::simulate::Shape {
                    people,
                    days,
                    reads_per_day,
                    seed,
                    plant: false,
                    start: start.map(mamori_core::jst::midnight),
                },
                writers: writers.max(1),
            })?;
            println!("{}", serde_json::to_string(&out)?);
        }
        Cmd::ReviewSetup { data_dir, tenants } => {
            let out = reconcile::review_setup(&data_dir, tenants.max(1))?;
            println!("{}", serde_json::to_string(&out)?);
        }
        Cmd::ReconcileBaseline { audit_db, from, to } => {
            println!(
                "{}",
                serde_json::to_string(&reconcile::baseline(&audit_db, from, to)?)?
            );
        }
        Cmd::BaselineServe {
            db,
            seed,
            records,
            listen,
        } => baseline(&db, seed, records, &listen)?,
        Cmd::PgBaselineLoad {
            url,
            schema,
            seed,
            records,
        } => pg_baseline::load(&url, &schema, seed, records)?,
        Cmd::PgBaselineServe {
            url,
            schema,
            listen,
        } => pg_baseline::serve(&url, &schema, &listen)?,
    }
    Ok(())
}

/// One load run.
struct Plan {
    url: String,
    target: Target,
    tenant: String,
    tokens: Vec<String>,
    phones: Arc<Vec<String>>,
    connections: usize,
    seconds: u64,
    warmup: u64,
    server_pid: Vec<u32>,
}

/// CPU seconds (user + system) a process has used so far, from /proc.
/// The mobile numbers of the generated people (of one segment) the
/// server holds: what the load generators look customers up by.
fn phones_of(seed: u64, records: u64, segment: Option<&str>) -> Result<Vec<String>> {
    let phones: Vec<String> = mamori_synth::Generator::new(seed)
        .take(records.min(200_000) as usize)
        .filter(|p| segment.is_none_or(|s| s == p.segment))
        .map(|p| p.mobile)
        .collect();
    anyhow::ensure!(!phones.is_empty(), "no generated person is in that segment");
    Ok(phones)
}

/// The load generators' runtime: one worker thread, so that the server
/// under test keeps the other core.
fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?)
}

fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("no process {pid}"))?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64> {
        Ok(f.get(i).context("short /proc stat")?.parse::<u64>()? as f64)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok((ticks(11)? + ticks(12)?) / hz)
}

async fn load(plan: Plan) -> Result<Value> {
    let Plan {
        url,
        target,
        tenant,
        tokens,
        phones,
        connections,
        seconds,
        warmup,
        server_pid,
    } = plan;
    mamori_audit::tls::install_provider();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    // Several servers (comma-separated URLs): connections take turns.
    let endpoints: Vec<String> = url
        .split(',')
        .map(|u| match target {
            Target::Mamori => format!("{u}/v1/tenants/{tenant}/records/search"),
            Target::Baseline => format!("{u}/search"),
        })
        .collect();
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (client, endpoint, token, phones, measuring, stop) = (
            client.clone(),
            endpoints[c % endpoints.len()].clone(),
            tokens[c % tokens.len()].clone(),
            phones.clone(),
            measuring.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = SmallRng::seed_from_u64(c as u64);
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let phone = &phones[rng.random_range(0..phones.len())];
                let body = match target {
                    Target::Mamori => {
                        json!({"purpose": "inquiry", "case_id": "BENCH-1", "by": {"phone": phone}})
                    }
                    Target::Baseline => json!({"phone": phone}),
                };
                let t = Instant::now();
                let ok = match client
                    .post(&endpoint)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) => {
                        let good = r.status().is_success();
                        let _ = r.bytes().await;
                        good
                    }
                    Err(_) => false,
                };
                if measuring.load(Ordering::Relaxed) {
                    if ok {
                        lat.push(t.elapsed().as_micros() as u64)
                    } else {
                        errors += 1
                    }
                }
            }
            (lat, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(warmup)).await;
    measuring.store(true, Ordering::Relaxed);
    let cpu = |pids: &[u32]| -> Result<f64> { pids.iter().map(|p| cpu_seconds(*p)).sum() };
    let cpu_start = (!server_pid.is_empty())
        .then(|| cpu(&server_pid))
        .transpose()?;
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    let server_cpu = match cpu_start {
        Some(c0) => Some(cpu(&server_pid)? - c0),
        None => None,
    };
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    Ok(json!({
        "requests": all.len(), "errors": errors, "seconds": elapsed,
        "rps": all.len() as f64 / elapsed, "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": pct(1.0),
        "connections": connections,
        "server_cpu_s": server_cpu,
        "server_cpu_us_per_req": server_cpu.map(|c| c * 1e6 / all.len().max(1) as f64),
    }))
}

struct Baseline {
    readers: Mutex<Vec<Connection>>,
    writer: Mutex<Connection>,
    path: String,
}

fn open(path: &str) -> Result<Connection> {
    let c = Connection::open(path)?;
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;",
    )?;
    Ok(c)
}

/// Loads the same generated people in plaintext and serves the naive audited lookup.
fn baseline(db: &str, seed: u64, records: u64, listen: &str) -> Result<()> {
    let _ = std::fs::remove_file(db);
    let mut c = open(db)?;
    c.execute_batch(
        "CREATE TABLE people (customer_no TEXT PRIMARY KEY, name TEXT, name_kana TEXT, birth_date TEXT, address TEXT, phone TEXT, mobile TEXT, email TEXT, plan TEXT, mobile_norm TEXT);
         CREATE INDEX people_mobile ON people(mobile_norm);
         CREATE TABLE audit (id INTEGER PRIMARY KEY, ts INTEGER, actor TEXT, action TEXT, purpose TEXT, records TEXT);",
    )?;
    let tx = c.transaction()?;
    {
        let mut st =
            tx.prepare("INSERT INTO people VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")?;
        for p in mamori_synth::Generator::new(seed).take(records as usize) {
            st.execute(rusqlite::params_from_iter(baseline_row(p)))?;
        }
    }
    tx.commit()?;
    let state = Arc::new(Baseline {
        readers: Mutex::new(Vec::new()),
        writer: Mutex::new(c),
        path: db.to_owned(),
    });
    let app = Router::new()
        .route("/search", post(baseline_search))
        .with_state(state);
    serve_baseline(app, listen, "SQLite baseline")
}

/// Serves a baseline's router on `listen` until the process is stopped.
fn serve_baseline(app: Router, listen: &str, what: &str) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let l = tokio::net::TcpListener::bind(listen)
            .await
            .context("bind")?;
        eprintln!("{what} listening on {listen}");
        axum::serve(l, app).await?;
        Ok(())
    })
}

async fn baseline_search(State(s): State<Arc<Baseline>>, Json(body): Json<Value>) -> Json<Value> {
    let phone = body["phone"].as_str().unwrap_or_default().to_owned();
    let out = tokio::task::spawn_blocking(move || -> Result<Value> {
        let norm = normalize(FieldType::Phone, &phone).unwrap_or_default();
        let conn = match s.readers.lock().pop() {
            Some(c) => c,
            None => open(&s.path)?,
        };
        let row: Option<(String, String, String)> = conn
            .prepare_cached("SELECT customer_no, name, address FROM people WHERE mobile_norm = ?1")?
            .query_row([&norm], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        s.readers.lock().push(conn);
        s.writer.lock().execute(
            "INSERT INTO audit (ts, actor, action, purpose, records) VALUES (strftime('%s','now'), 'user:bench', 'record.search', 'inquiry', ?1)",
            [row.as_ref().map(|r| r.0.clone()).unwrap_or_default()],
        )?;
        Ok(json!({"records": row.map(|(c, n, a)| vec![json!({"customer_no": c, "name": n, "address": a})]).unwrap_or_default()}))
    })
    .await;
    Json(match out {
        Ok(Ok(v)) => v,
        _ => json!({"error": true}),
    })
}
