//! PostgreSQL: the same stores in one database that several `mamori serve`
//! processes share. Every table lives in one schema (`mamori` unless
//! configured), so a database can hold other things and tests can use a
//! fresh schema each.
//!
//! Consistency across processes comes from the database, never from a lock
//! in one process: compare-and-set `UPDATE … WHERE state = …` for every state
//! change, row locks (`FOR UPDATE`) where a decision reads before it writes
//! (the full-access cap, a pending export), and one advisory lock per audit
//! log held by its appender until commit, so each log stays one gapless
//! sequence however many processes append to it.

mod agents;
mod alerts;
mod audit;
mod budgets;
pub mod copy;
mod deprovision;
mod exports;
mod governance;
mod lease;
mod reconcile;
mod reviews;
mod schema;
mod scim;
mod users;
mod vault;
mod watch;

use std::{collections::HashMap, time::Duration};

use parking_lot::{Condvar, Mutex};
use postgres::{Client, GenericClient, NoTls, Row, Statement, types::ToSql};

use mamori_store::{Result, StoreError};

/// Connection settings beyond the URL.
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// The schema holding mamori's tables.
    pub schema: String,
    /// Most connections this process opens.
    pub pool_size: usize,
    /// How long a request waits for a free connection before failing.
    pub acquire_timeout: Duration,
    /// The password, when it is not in the URL (kept out of config files).
    pub password: Option<String>,
    /// Connect over TLS, trusting only the CA certificate(s) in this PEM
    /// file and checking the server's name. None: no TLS (a URL asking for
    /// `sslmode=require` is then refused rather than left unverified).
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            schema: "mamori".into(),
            pool_size: 16,
            acquire_timeout: Duration::from_secs(30),
            password: None,
            ca_file: None,
        }
    }
}

/// Whether `config` names a host other than this machine (a Unix socket or
/// a loopback address is this machine).
fn remote(config: &postgres::Config) -> bool {
    config.get_hosts().iter().any(|h| match h {
        postgres::config::Host::Tcp(name) => {
            !matches!(name.as_str(), "localhost" | "127.0.0.1" | "::1" | "[::1]")
        }
        postgres::config::Host::Unix(_) => false,
    })
}

/// A TLS connector trusting only the certificates in `ca` (PEM).
fn tls_connector(ca: &std::path::Path) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let bad = |e: String| StoreError::Db(format!("store.pg_ca {}: {e}", ca.display()));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| bad(e.to_string()))? {
        roots
            .add(cert.map_err(|e| bad(e.to_string()))?)
            .map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificate in the file".into()));
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Schema names are spliced into SQL (search_path, functions), so only plain
/// identifiers are accepted.
fn check_schema_name(s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Db(format!(
            "schema name '{s}': use lower-case letters, digits and _ (at most 63)"
        )))
    }
}

/// A connection with its prepared statements: each query is parsed once per
/// connection, then only bound and executed. Queries are keyed by their text;
/// the few built from filters have a handful of shapes each.
pub(crate) struct Conn {
    client: Client,
    cache: HashMap<String, Statement>,
}

fn prepare<C: GenericClient>(
    c: &mut C,
    cache: &mut HashMap<String, Statement>,
    sql: &str,
) -> Result<Statement> {
    if let Some(st) = cache.get(sql) {
        return Ok(st.clone());
    }
    let st = c.prepare(sql)?;
    cache.insert(sql.to_owned(), st.clone());
    Ok(st)
}

/// Queries through the statement cache, on a connection or inside a transaction.
macro_rules! cached_queries {
    ($ty:ty, $client:ident) => {
        impl $ty {
            pub(crate) fn query(
                &mut self,
                sql: &str,
                args: &[&(dyn ToSql + Sync)],
            ) -> Result<Vec<Row>> {
                let st = prepare(&mut self.$client, &mut self.cache, sql)?;
                Ok(self.$client.query(&st, args)?)
            }
            pub(crate) fn query_opt(
                &mut self,
                sql: &str,
                args: &[&(dyn ToSql + Sync)],
            ) -> Result<Option<Row>> {
                let st = prepare(&mut self.$client, &mut self.cache, sql)?;
                Ok(self.$client.query_opt(&st, args)?)
            }
            pub(crate) fn execute(
                &mut self,
                sql: &str,
                args: &[&(dyn ToSql + Sync)],
            ) -> Result<u64> {
                let st = prepare(&mut self.$client, &mut self.cache, sql)?;
                Ok(self.$client.execute(&st, args)?)
            }
            /// Statements without parameters, over the simple protocol
            /// (DDL, VACUUM).
            pub(crate) fn batch(&mut self, sql: &str) -> Result<()> {
                Ok(self.$client.batch_execute(sql)?)
            }
        }
    };
}

cached_queries!(Conn, client);
cached_queries!(Tx<'_>, tx);

/// The cached queries, for code that runs on a connection or in a
/// transaction alike (a commit group runs its own `BEGIN` on a connection).
pub(crate) trait Queries {
    fn query(&mut self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>>;
    fn execute(&mut self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<u64>;
}

macro_rules! queries {
    ($ty:ty) => {
        impl Queries for $ty {
            fn query(&mut self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
                <$ty>::query(self, sql, args)
            }
            fn execute(&mut self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<u64> {
                <$ty>::execute(self, sql, args)
            }
        }
    };
}

queries!(Conn);
queries!(Tx<'_>);

/// A transaction on a pooled connection; rolled back unless committed.
pub(crate) struct Tx<'a> {
    tx: postgres::Transaction<'a>,
    cache: &'a mut HashMap<String, Statement>,
}

impl Tx<'_> {
    pub(crate) fn commit(self) -> Result<()> {
        Ok(self.tx.commit()?)
    }
}

impl Conn {
    /// The types of the columns `sql` returns.
    pub(crate) fn column_types(&mut self, sql: &str) -> Result<Vec<postgres::types::Type>> {
        let st = self.client.prepare(sql)?;
        Ok(st.columns().iter().map(|c| c.type_().clone()).collect())
    }

    /// Starts `COPY … FROM STDIN`.
    pub(crate) fn copy_in(&mut self, sql: &str) -> Result<postgres::CopyInWriter<'_>> {
        Ok(self.client.copy_in(sql)?)
    }

    /// Starts `COPY … TO STDOUT`.
    pub(crate) fn copy_out(&mut self, sql: &str) -> Result<postgres::CopyOutReader<'_>> {
        Ok(self.client.copy_out(sql)?)
    }

    pub(crate) fn tx(&mut self) -> Result<Tx<'_>> {
        Ok(Tx {
            tx: self.client.transaction()?,
            cache: &mut self.cache,
        })
    }
}

/// A transaction begun by hand on a pooled connection — `BEGIN` sent in one
/// batch with what must follow it at once (a lock, a setting), or kept open
/// across calls (an import's commit group); rolled back unless committed.
pub(crate) struct Begun<'a> {
    conn: Pooled<'a>,
    committed: bool,
}

impl<'a> Begun<'a> {
    /// Sends `begin` (which starts with `BEGIN`) on `conn`.
    pub(crate) fn new(mut conn: Pooled<'a>, begin: &str) -> Result<Self> {
        conn.batch(begin)?;
        Ok(Self {
            conn,
            committed: false,
        })
    }

    pub(crate) fn commit(mut self) -> Result<()> {
        self.conn.batch("COMMIT")?;
        self.committed = true;
        Ok(())
    }
}

impl std::ops::Deref for Begun<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl std::ops::DerefMut for Begun<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl Drop for Begun<'_> {
    fn drop(&mut self) {
        if !self.committed {
            // A connection that cannot roll back is broken and is not pooled.
            let _ = self.conn.batch("ROLLBACK");
        }
    }
}

/// A bounded pool: at most `pool_size` connections, a waiter blocks until
/// one is returned (or gives up after `acquire_timeout`). A connection that
/// broke is dropped instead of returned.
pub(crate) struct Pool {
    /// Statements every new connection runs after choosing the schema.
    session: &'static str,
    config: postgres::Config,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    opts: PgOptions,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

pub(crate) struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let mut st = self.pool.state.lock();
        match self.conn.take() {
            Some(c) if !c.client.is_closed() => st.idle.push(c),
            _ => st.open -= 1,
        }
        drop(st);
        self.pool.freed.notify_one();
    }
}

impl Pool {
    fn new(url: &str, opts: PgOptions, session: &'static str) -> Result<Self> {
        check_schema_name(&opts.schema)?;
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Db(format!("PostgreSQL URL: {e}")))?;
        if let Some(p) = &opts.password {
            config.password(p.as_bytes());
        }
        if config.get_application_name().is_none() {
            config.application_name("mamori");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let tls = match &opts.ca_file {
            Some(ca) => {
                // Verified TLS or nothing: never fall back to plaintext.
                config.ssl_mode(postgres::config::SslMode::Require);
                Some(tls_connector(ca)?)
            }
            None if config.get_ssl_mode() == postgres::config::SslMode::Require => {
                return Err(StoreError::Db(
                    "the store URL asks for TLS (sslmode=require): set store.pg_ca to the CA \
                     that signed the server's certificate"
                        .into(),
                ));
            }
            None if remote(&config) && !url.contains("sslmode=disable") => {
                // Plaintext to another machine would carry who read which
                // record, and token hashes, in the clear: not by default.
                return Err(StoreError::Db(
                    "the database is on another host: set store.pg_ca to the CA that signed its \
                     certificate (verified TLS), or say sslmode=disable in the URL to accept a \
                     connection in the clear"
                        .into(),
                ));
            }
            None => {
                config.ssl_mode(postgres::config::SslMode::Disable);
                None
            }
        };
        Ok(Self {
            session,
            config,
            tls,
            opts,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        })
    }

    pub(crate) fn connect(&self) -> Result<Conn> {
        let mut client = match &self.tls {
            Some(tls) => self.config.connect(tls.clone())?,
            None => self.config.connect(NoTls)?,
        };
        // The schema is checked to be a plain identifier; the server then
        // resolves every unqualified name there (and nowhere else first).
        // Generic plans: every statement is prepared once per connection,
        // and left to choose, the server planned the lookup's statements
        // afresh for every execution (a custom plan per value: 40 % of its
        // CPU under the lookup benchmark, BENCHMARKS.md). They are point
        // lookups and key-ordered scans whose best plan does not depend on
        // the values bound.
        client.batch_execute(&format!(
            "SET search_path TO {}, pg_catalog; SET TIME ZONE 'UTC'; \
             SET plan_cache_mode = force_generic_plan; {}",
            self.opts.schema, self.session
        ))?;
        Ok(Conn {
            client,
            cache: HashMap::new(),
        })
    }

    pub(crate) fn get(&self) -> Result<Pooled<'_>> {
        let deadline = std::time::Instant::now() + self.opts.acquire_timeout;
        let mut st = self.state.lock();
        loop {
            while let Some(c) = st.idle.pop() {
                if c.client.is_closed() {
                    st.open -= 1;
                    continue;
                }
                return Ok(Pooled {
                    pool: self,
                    conn: Some(c),
                });
            }
            if st.open < self.opts.pool_size.max(1) {
                st.open += 1;
                drop(st);
                return match self.connect() {
                    Ok(c) => Ok(Pooled {
                        pool: self,
                        conn: Some(c),
                    }),
                    Err(e) => {
                        self.state.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            if self.freed.wait_until(&mut st, deadline).timed_out() {
                return Err(StoreError::Db(format!(
                    "no free PostgreSQL connection within {:?} (pool of {})",
                    self.opts.acquire_timeout, self.opts.pool_size
                )));
            }
        }
    }
}

/// Every store on one PostgreSQL database: records, people, governance,
/// exports, alerts and the audit log.
pub struct PgStore {
    pool: Pool,
    /// The connection a standby asked for a lease on, kept for its next
    /// attempt (a standby asks every few seconds; a new connection each
    /// time would cost the database a login each time).
    lease_spare: Mutex<Option<Client>>,
    /// Budget charges, batched, on connections whose commits do not wait
    /// for the disk (postgres/budgets.rs says why).
    charger: budgets::Charger,
    /// Who owns which token, as of a governance revision: served from here
    /// while the watch confirms that revision (watch.rs).
    tokens: users::TokenCache,
}

/// Whether `url` names a PostgreSQL database (rather than the SQLite files).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://") || url.contains("host=")
}

/// Whether `url` carries a password (which should not be written to files).
pub fn url_has_password(url: &str) -> bool {
    url.parse::<postgres::Config>()
        .is_ok_and(|c| c.get_password().is_some())
}

impl PgStore {
    /// Whether the schema already holds a vault (a tenant, a user or an audit event).
    pub fn holds_data(&self) -> Result<bool> {
        let row = self.conn()?.query_opt(
            "SELECT EXISTS (SELECT 1 FROM tenants) OR EXISTS (SELECT 1 FROM users)
                 OR EXISTS (SELECT 1 FROM audit_events)",
            &[],
        )?;
        Ok(row.is_some_and(|r| r.get(0)))
    }

    /// Connects and brings the schema up to date (creating it on first use).
    /// Several processes may open the same database at once: migrations run
    /// under an advisory lock, one process at a time.
    pub fn open(url: &str, opts: PgOptions) -> Result<Self> {
        let store = Self::pools(url, opts)?;
        {
            let mut c = store.pool.get()?;
            schema::migrate(&mut c, &store.pool.opts.schema)?;
        }
        Ok(store)
    }

    fn pools(url: &str, opts: PgOptions) -> Result<Self> {
        // The budget charger and the governance watch each use one
        // connection at a time, on a thread of their own.
        let one = PgOptions {
            pool_size: 1,
            ..opts.clone()
        };
        // Named so an administrator can tell the listening connection apart.
        let mut watch = Pool::new(url, one.clone(), "")?;
        watch
            .config
            .application_name(&format!("mamori watch {}", opts.schema));
        Ok(Self {
            lease_spare: Mutex::new(None),
            pool: Pool::new(url, opts, "")?,
            charger: budgets::Charger::new(Pool::new(url, one, "SET synchronous_commit = off;")?),
            tokens: users::TokenCache::new(watch),
        })
    }

    /// Opens without migrating; refuses a schema of another version. For
    /// readers (auditors) and processes that must not change the schema.
    pub fn open_existing(url: &str, opts: PgOptions) -> Result<Self> {
        let store = Self::pools(url, opts)?;
        {
            let mut c = store.pool.get()?;
            schema::check_version(&mut c, &store.pool.opts.schema)?;
        }
        Ok(store)
    }

    /// Grants the application's role and an auditor's role what they need
    /// and no more (see `schema::grant_roles`). Run as the schema's owner.
    pub fn grant_roles(&self, app: &str, auditor: Option<&str>) -> Result<()> {
        schema::grant_roles(&mut *self.conn()?, &self.pool.opts.schema, app, auditor)
    }

    /// The schema this store works in.
    pub fn schema(&self) -> &str {
        &self.pool.opts.schema
    }

    pub(crate) fn conn(&self) -> Result<Pooled<'_>> {
        self.pool.get()
    }
}

/// Converts an unsigned count or size to the BIGINT PostgreSQL stores.
pub(crate) fn big(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Db(format!("{v} does not fit a BIGINT")))
}

/// Rows into model values through one of the shared mappers.
pub(crate) fn map<T>(rows: Vec<Row>, f: fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plaintext is accepted to this machine only; another host needs a CA
    /// (or an explicit `sslmode=disable`). Refused before any connection.
    #[test]
    fn a_remote_database_needs_tls_or_an_explicit_choice() {
        for url in [
            "postgres://mamori@db.internal:5432/mamori",
            "host=10.0.0.5 user=mamori dbname=mamori",
            "host=127.0.0.1,db2.internal user=mamori dbname=mamori",
        ] {
            match Pool::new(url, PgOptions::default(), "") {
                Err(StoreError::Db(m)) => assert!(m.contains("pg_ca"), "{m}"),
                _ => panic!("{url}: plaintext to another host accepted"),
            }
        }
        for url in [
            "postgres://mamori@127.0.0.1:5432/mamori",
            "postgres://mamori@localhost/mamori",
            "host=/var/run/postgresql user=mamori dbname=mamori",
            "postgres://mamori@db.internal:5432/mamori?sslmode=disable",
        ] {
            assert!(Pool::new(url, PgOptions::default(), "").is_ok(), "{url}");
        }
    }
}
