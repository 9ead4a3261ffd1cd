//! The PostgreSQL baseline: what a team would build on PostgreSQL without
//! mamori — customers' fields encrypted with pgcrypto (`pgp_sym_encrypt`),
//! looked up by a keyed hash of the normalised phone, decrypted in the query
//! (`pgp_sym_decrypt` of the same fields mamori's inquiry view shows), and one
//! audit row inserted and committed per request before answering.

use std::{io::Write, sync::Arc};

use anyhow::{Context, Result};
use axum::{Json, Router, extract::State, routing::post};
use mamori_core::{FieldType, normalize::normalize};
use parking_lot::Mutex;
use postgres::{Client, NoTls, Statement};
use serde_json::{Value, json};

/// The baseline's secrets: in a real deployment they would come from a
/// secret store; here they only need to be the same for load and lookup.
const DATA_KEY: &str = "baseline-data-key-0123456789abcdef";
const HASH_KEY: &str = "baseline-hash-key-0123456789abcdef";

const FIELDS: [&str; 7] = [
    "name",
    "name_kana",
    "birth_date",
    "address",
    "phone",
    "mobile",
    "email",
];

fn connect(url: &str, schema: &str) -> Result<Client> {
    let mut c = Client::connect(url, NoTls).context("connect to PostgreSQL")?;
    c.batch_execute(&format!("SET search_path TO {schema}, public"))?;
    Ok(c)
}

/// Loads `records` generated people: plaintext COPY into a staging table,
/// then encrypted server-side with pgcrypto, in parallel slices.
pub fn load(url: &str, schema: &str, seed: u64, records: u64) -> Result<()> {
    let mut c = Client::connect(url, NoTls)?;
    c.batch_execute(&format!(
        "CREATE EXTENSION IF NOT EXISTS pgcrypto;
         DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema}, public;
         CREATE UNLOGGED TABLE staging (n BIGINT, customer_no TEXT, name TEXT, name_kana TEXT, birth_date TEXT,
             address TEXT, phone TEXT, mobile TEXT, email TEXT, plan TEXT, mobile_norm TEXT);
         CREATE TABLE people (customer_no TEXT PRIMARY KEY, name BYTEA, name_kana BYTEA, birth_date BYTEA,
             address BYTEA, phone BYTEA, mobile BYTEA, email BYTEA, plan TEXT, mobile_hash BYTEA);
         CREATE TABLE audit (id BIGSERIAL PRIMARY KEY, ts TIMESTAMPTZ NOT NULL DEFAULT now(), actor TEXT,
             action TEXT, purpose TEXT, case_id TEXT, records TEXT);"
    ))?;
    let mut w = c.copy_in("COPY staging FROM STDIN (FORMAT csv)")?;
    for (n, p) in mamori_synth::Generator::new(seed)
        .take(records as usize)
        .enumerate()
    {
        let quoted: Vec<String> = std::iter::once(n.to_string())
            .chain(crate::baseline_row(p))
            .map(|v| format!("\"{}\"", v.replace('"', "\"\"")))
            .collect();
        writeln!(w, "{}", quoted.join(","))?;
    }
    w.finish()?;
    let enc: Vec<String> = FIELDS
        .iter()
        .map(|f| format!("pgp_sym_encrypt({f}, '{DATA_KEY}')"))
        .collect();
    let insert = format!(
        "INSERT INTO people SELECT customer_no, {}, plan, hmac(mobile_norm, '{HASH_KEY}', 'sha256')
         FROM staging WHERE n % $1 = $2",
        enc.join(", ")
    );
    // pgp_sym_encrypt is slow (a salted, iterated key derivation per value):
    // one slice per core.
    let slices = 2i64;
    let threads: Vec<_> = (0..slices)
        .map(|i| {
            let (url, schema, insert) = (url.to_owned(), schema.to_owned(), insert.clone());
            std::thread::spawn(move || -> Result<()> {
                let mut c = connect(&url, &schema)?;
                c.execute(insert.as_str(), &[&slices, &i])?;
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("load thread panicked"))??;
    }
    c.batch_execute(
        "CREATE INDEX people_mobile ON people(mobile_hash); DROP TABLE staging; ANALYZE people;",
    )?;
    Ok(())
}

struct Conn {
    client: Client,
    select: Statement,
    audit: Statement,
}

struct Baseline {
    url: String,
    schema: String,
    idle: Mutex<Vec<Conn>>,
}

impl Baseline {
    fn conn(&self) -> Result<Conn> {
        if let Some(c) = self.idle.lock().pop() {
            return Ok(c);
        }
        let mut client = connect(&self.url, &self.schema)?;
        let dec: Vec<String> = FIELDS
            .iter()
            .map(|f| format!("pgp_sym_decrypt({f}, '{DATA_KEY}')"))
            .collect();
        let select = client.prepare(&format!(
            "SELECT customer_no, {} FROM people WHERE mobile_hash = hmac($1, '{HASH_KEY}', 'sha256')",
            dec.join(", ")
        ))?;
        let audit = client.prepare(
            "INSERT INTO audit (actor, action, purpose, case_id, records) VALUES ('user:bench', 'record.search', $1, $2, $3)",
        )?;
        Ok(Conn {
            client,
            select,
            audit,
        })
    }
}

/// Serves `POST /search {"phone": …}` like the SQLite baseline.
pub fn serve(url: &str, schema: &str, listen: &str) -> Result<()> {
    let state = Arc::new(Baseline {
        url: url.to_owned(),
        schema: schema.to_owned(),
        idle: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/search", post(search))
        .with_state(state);
    crate::serve_baseline(app, listen, "PostgreSQL baseline")
}

async fn search(
    State(s): State<Arc<Baseline>>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, axum::http::StatusCode> {
    let phone = body["phone"].as_str().unwrap_or_default().to_owned();
    let out = tokio::task::spawn_blocking(move || -> Result<Value> {
        let norm = normalize(FieldType::Phone, &phone).unwrap_or_default();
        let mut c = s.conn()?;
        let rows = c.client.query(&c.select, &[&norm])?;
        let records: Vec<Value> = rows
            .iter()
            .map(|r| {
                let mut fields = serde_json::Map::new();
                for (i, f) in FIELDS.iter().enumerate() {
                    fields.insert((*f).to_owned(), json!(r.get::<_, String>(i + 1)));
                }
                json!({"customer_no": r.get::<_, String>(0), "fields": fields})
            })
            .collect();
        let ids: Vec<&str> = rows.iter().map(|r| r.get::<_, &str>(0)).collect();
        c.client
            .execute(&c.audit, &[&"inquiry", &"BENCH-1", &ids.join(",")])?;
        s.idle.lock().push(c);
        Ok(json!({ "records": records }))
    })
    .await;
    match out {
        Ok(Ok(v)) => Ok(Json(v)),
        _ => Err(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
    }
}
