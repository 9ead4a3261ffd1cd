//! `mamori store`: moving a vault between storage backends.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use mamori_app::{config::Config, keys, stores};
use mamori_audit::{Trust, verify};
use mamori_store_postgres::copy::{self, TableCopied};
use mamori_store_postgres::is_postgres_url;
use mamori_store_sqlite::{SqliteAudit, SqliteVault};
use serde::Serialize;

use crate::output::Out;

#[derive(Subcommand)]
pub enum StoreCmd {
    /// Copy this vault from its SQLite files into an empty PostgreSQL schema:
    /// ciphertexts and the audit log as they are (nothing is decrypted), every
    /// table checked against its source, the copied audit log verified.
    /// Stop the server first so that its last writes are in the copy.
    Migrate {
        /// The SQLite vault: sqlite://DATA_DIR (default: --data-dir).
        #[arg(long)]
        from: Option<String>,
        /// The target: postgres://user@host:5432/db (password in MAMORI_PG_PASSWORD).
        #[arg(long)]
        to: String,
        /// The PostgreSQL schema to create the vault in (default: store.pg_schema).
        #[arg(long)]
        schema: Option<String>,
    },
    /// On PostgreSQL, as the schema's owner: give the application's role what
    /// the servers need (the vault's tables; the audit tables insert and read
    /// only, archiving through the owner's function) and an auditor's role
    /// read access to the audit tables. Run again after an upgrade.
    Grant {
        /// The role the servers connect as.
        #[arg(long)]
        app: String,
        /// A role for auditors (reads the audit log only).
        #[arg(long)]
        auditor: Option<String>,
    },
}

#[derive(Serialize)]
struct Migrated {
    // The target URL is not echoed: it may carry a password.
    schema: String,
    tables: Vec<TableCopied>,
    audit_logs_verified: usize,
    next: String,
}

/// The data directory an `sqlite://` source names (a `vault.db` path names its directory).
fn source_dir(from: Option<&str>, dir: &Path) -> Result<PathBuf> {
    let Some(from) = from else {
        return Ok(dir.to_owned());
    };
    let Some(path) = from.strip_prefix("sqlite://") else {
        bail!("--from {from}: expected sqlite://DATA_DIR");
    };
    let path = PathBuf::from(path);
    Ok(if path.is_file() {
        path.parent().map(Path::to_owned).unwrap_or_default()
    } else {
        path
    })
}

pub fn run(dir: &Path, cmd: StoreCmd, out: Out) -> Result<()> {
    match cmd {
        StoreCmd::Migrate { from, to, schema } => migrate(dir, from, to, schema, out),
        StoreCmd::Grant { app, auditor } => grant(dir, &app, auditor.as_deref(), out),
    }
}

fn grant(dir: &Path, app: &str, auditor: Option<&str>, out: Out) -> Result<()> {
    let config = Config::load(dir)?;
    if !is_postgres_url(&config.store.url) {
        bail!(
            "this vault is on SQLite; roles are a PostgreSQL matter (--store postgres://owner@…)"
        );
    }
    let store = stores::open_postgres(dir, &config.store, true)?;
    store.grant_roles(app, auditor)?;
    out.emit(
        &serde_json::json!({"schema": store.schema(), "app": app, "auditor": auditor}),
        |_| {
            format!(
                "granted in schema '{}': {app} may use the vault and append to the audit log{}",
                store.schema(),
                auditor
                    .map(|a| format!("; {a} may read the audit log"))
                    .unwrap_or_default()
            )
        },
    );
    Ok(())
}

fn migrate(
    dir: &Path,
    from: Option<String>,
    to: String,
    schema: Option<String>,
    out: Out,
) -> Result<()> {
    if !is_postgres_url(&to) {
        bail!("--to {to}: expected postgres://user@host:5432/db");
    }
    let source = source_dir(from.as_deref(), dir)?;
    let config = Config::load(&source).context("the source data directory")?;
    let (vault_db, audit_db) = (
        source.join(&config.store.vault_db),
        source.join(&config.store.audit_db),
    );
    if !vault_db.is_file() || !audit_db.is_file() {
        bail!(
            "{} holds no SQLite vault ({} and {} expected)",
            source.display(),
            config.store.vault_db,
            config.store.audit_db
        );
    }
    // Opening brings the source's schema up to date, as any command would.
    SqliteVault::open(&vault_db)?;
    SqliteAudit::open(&audit_db, config.audit.busy_timeout_ms)?;
    let mut target_cfg = config.store.clone();
    target_cfg.url = to.clone();
    if let Some(s) = schema {
        target_cfg.pg_schema = s;
    }
    let target = stores::open_postgres(&source, &target_cfg, true)?;
    let mut last = String::new();
    let tables = copy::sqlite_to_postgres(&vault_db, &audit_db, &target, &mut |table, rows| {
        if table != last || rows % 100_000 == 0 {
            eprintln!("copying {table}: {rows} rows");
            last = table.to_owned();
        }
    })?;
    // The copy's audit log, verified with the vault's public key like any copy.
    let key = keys::audit_verifier(&source)?;
    let archive_dir = source.join("archive");
    let report = verify(
        &target,
        None,
        &Trust {
            key: Some(key),
            checkpoints: Vec::new(),
            archive_dir: archive_dir.is_dir().then_some(archive_dir),
        },
    )?;
    if !report.ok {
        bail!(
            "the copied audit log does not verify: {}",
            serde_json::to_string(&report).unwrap_or_default()
        );
    }
    let migrated = Migrated {
        schema: target.schema().to_owned(),
        audit_logs_verified: report.logs.len(),
        tables,
        next: format!(
            "set [store] url (and pg_schema = \"{}\") in {}/mamori.toml, or MAMORI_STORE, and start the servers; \
             the SQLite files stay as they were",
            target.schema(),
            source.display()
        ),
    };
    out.emit(&migrated, |m| {
        let mut s = String::new();
        for t in &m.tables {
            s.push_str(&format!(
                "{:<24} {:>10} rows  sha256 {}\n",
                t.table,
                t.rows,
                &t.sha256[..16]
            ));
        }
        s.push_str(&format!(
            "copied into schema '{}' and checked table by table; {} audit logs verify\nnext: {}",
            m.schema, m.audit_logs_verified, m.next
        ));
        s
    });
    Ok(())
}
