//! The embedded default: two SQLite files in WAL mode under the data directory,
//! `vault.db` (tenants, keys, records, users) and `audit.db` (the audit log).
//! Keeping the log in its own file lets its writer commit in groups without
//! waiting for an import holding the vault's write lock.

mod agents;
mod alerts;
mod audit;
mod budgets;
mod deprovision;
mod exports;
mod full_access;
mod governance;
mod history;
mod lease;
mod reconcile;
mod reviews;
mod scim;
mod users;
mod vault;

use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};

use mamori_store::{Result, StoreError};

pub use audit::SqliteAudit;

/// A small pool: SQLite connections are cheap, but opening one per request is not.
pub(crate) struct Pool {
    path: PathBuf,
    read_only: bool,
    idle: Mutex<Vec<Connection>>,
}

pub(crate) struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Connection>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            let mut idle = self.pool.idle.lock();
            if idle.len() < 32 {
                idle.push(c);
            }
        }
    }
}

impl Pool {
    fn new(path: &Path, read_only: bool) -> Self {
        Self {
            path: path.to_owned(),
            read_only,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn get(&self) -> Result<Pooled<'_>> {
        let conn = match self.idle.lock().pop() {
            Some(c) => c,
            None => open(&self.path, self.read_only)?,
        };
        Ok(Pooled {
            pool: self,
            conn: Some(conn),
        })
    }
}

/// How long a connection waits for a lock before giving up.
pub(crate) const DEFAULT_BUSY_MS: u64 = 10_000;

/// Makes the database file readable by its owner only before SQLite opens
/// it: created 0600 when new, tightened to 0600 when an older version left
/// it wider. SQLite gives its `-wal` and `-shm` files the database file's
/// mode, so they follow; those left wider by an older version are tightened
/// too. (They hold only ciphertexts and tokens, but which customers exist
/// and when they changed is nobody else's business either.)
fn private_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |e: std::io::Error| StoreError::Db(format!("{}: {e}", path.display()));
    if !path.exists() {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            // Another process made it first: tightened below like any other.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let p = std::path::PathBuf::from(p);
        if let Ok(meta) = std::fs::metadata(&p)
            && meta.permissions().mode() & 0o077 != 0
        {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
    }
    Ok(())
}

pub(crate) fn open(path: &Path, read_only: bool) -> Result<Connection> {
    open_with(path, read_only, DEFAULT_BUSY_MS)
}

pub(crate) fn open_with(path: &Path, read_only: bool, busy_ms: u64) -> Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    if !read_only {
        private_file(path)?;
    }
    let mut conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_millis(busy_ms))?;
    // Query planner stability: without it, this STAT4 build of SQLite
    // re-prepares a cached statement whenever a bound value changes, which
    // cost a fifth of the CPU of every lookup (BENCHMARKS.md). Our queries are
    // point lookups whose best plan never depends on the value.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    // FULL: a committed transaction survives power loss, not only a crash.
    // temp_store=MEMORY: sorts and temporary tables never spill to files.
    // secure_delete: freed pages are zeroed, so a destroyed key leaves no copy.
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA temp_store = MEMORY;
         PRAGMA secure_delete = ON;
         PRAGMA foreign_keys = ON;",
    )?;
    // Each connection has a page cache of its own, and a pool keeps up to 32
    // readers: at 32 MiB each the readers alone could hold 2 GiB of copies of
    // the same hot pages (issue 22's soak: a server growing towards that
    // bound for ten minutes). Readers keep 4 MiB — the B-trees' upper levels —
    // and share the OS's page cache for the rest; the writer, one per
    // database, keeps 32 MiB for the pages its commit groups rewrite.
    let cache_kib = if read_only { 4096 } else { 32_768 };
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    // Every write transaction takes the write lock when it begins. A deferred
    // one that reads first and then writes cannot wait for another process's
    // writer (SQLite refuses the upgrade at once with "database is locked");
    // an immediate one waits its turn under the busy timeout.
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    Ok(conn)
}

/// Applies the numbered migrations not yet applied (tracked by `user_version`).
pub(crate) fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<()> {
    let current: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > migrations.len() {
        return Err(StoreError::Schema(format!(
            "database schema version {current} is newer than this binary ({})",
            migrations.len()
        )));
    }
    for (i, sql) in migrations.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The vault database: tenants, keys, records and users.
pub struct SqliteVault {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Pool,
    budgets: budgets::Budgets,
}

impl SqliteVault {
    /// Opens (creating and migrating if needed) `vault.db` at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let mut writer = open(path, false)?;
        migrate(&mut writer, vault::MIGRATIONS)?;
        Ok(Self {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: Pool::new(path, true),
            budgets: Default::default(),
        })
    }

    /// Checkpoints the WAL into the main file and truncates it, so that pages
    /// removed by secure delete (a shredded tenant's keys) leave no copy behind.
    pub fn checkpoint(&self) -> Result<()> {
        self.writer
            .lock()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }
}
