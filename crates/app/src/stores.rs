//! Choosing and opening the store: the SQLite files of the data directory,
//! or the configured PostgreSQL schema — for the vault, or the audit log
//! alone (an auditor's read-only view, maintenance without the root key).

use std::{path::Path, sync::Arc};

use mamori_store::{AuditStore, Backend};
use mamori_store_postgres::{PgOptions, PgStore, is_postgres_url};
use mamori_store_sqlite::{SqliteAudit, SqliteVault};
use mamori_vault::{ErrorCode, Result, VaultError};

use crate::config::{Config, StoreConfig};

/// The PostgreSQL password, kept out of the configuration file.
pub const PG_PASSWORD_ENV: &str = "MAMORI_PG_PASSWORD";

/// The configured PostgreSQL store; `migrate` brings its schema up to date
/// (what a server does), otherwise a schema of another version is refused.
pub fn open_postgres(dir: &Path, c: &StoreConfig, migrate: bool) -> Result<PgStore> {
    let opts = PgOptions {
        schema: c.pg_schema.clone(),
        pool_size: c.pg_pool_size.max(1),
        password: std::env::var(PG_PASSWORD_ENV).ok(),
        ca_file: (!c.pg_ca.is_empty()).then(|| dir.join(&c.pg_ca)),
        ..Default::default()
    };
    let store = if migrate {
        PgStore::open(&c.url, opts)
    } else {
        PgStore::open_existing(&c.url, opts)
    };
    Ok(store?)
}

/// The vault's stores: the SQLite files of the data directory, or the
/// configured PostgreSQL database.
pub fn open_stores(dir: &Path, config: &Config) -> Result<(Arc<dyn Backend>, Arc<dyn AuditStore>)> {
    if is_postgres_url(&config.store.url) {
        let store = Arc::new(open_postgres(dir, &config.store, true)?);
        return Ok((store.clone(), store));
    }
    if !config.store.url.is_empty() {
        return Err(VaultError::bad(
            ErrorCode::StoreUrlInvalid,
            "[store] url: expected postgres://… (or empty for the SQLite files); the value is not repeated here, it may hold a password",
        ));
    }
    Ok((
        Arc::new(SqliteVault::open(&dir.join(&config.store.vault_db))?),
        Arc::new(SqliteAudit::open(
            &dir.join(&config.store.audit_db),
            config.audit.busy_timeout_ms,
        )?),
    ))
}

/// The audit log of a data directory, read-only — what an auditor needs,
/// with the public key (`audit_verifier` or one given to them): no root key,
/// no signing key, no write access. (On PostgreSQL, give the auditor a role
/// with SELECT only: docs/deploy.md.)
pub fn open_audit(dir: &Path) -> Result<Box<dyn AuditStore>> {
    audit_only(dir, false)
}

/// The audit log of a data directory, writable, without the vault: for
/// maintenance that needs no root key (`mamori audit archive`).
pub fn open_audit_rw(dir: &Path) -> Result<Box<dyn AuditStore>> {
    audit_only(dir, true)
}

/// The audit log alone, from the configured store (PostgreSQL's schema is
/// never migrated from here: that is a server's job).
fn audit_only(dir: &Path, writable: bool) -> Result<Box<dyn AuditStore>> {
    let config = Config::load(dir).map_err(|e| VaultError::Internal(e.to_string()))?;
    if is_postgres_url(&config.store.url) {
        return Ok(Box::new(open_postgres(dir, &config.store, false)?));
    }
    let path = dir.join(&config.store.audit_db);
    Ok(if writable {
        Box::new(SqliteAudit::open(&path, config.audit.busy_timeout_ms)?)
    } else {
        Box::new(SqliteAudit::open_read_only(&path)?)
    })
}
