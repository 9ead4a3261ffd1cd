//! Creating and opening a data directory:
//!
//! ```text
//! DIR/mamori.toml      configuration
//! DIR/root.key         32 random bytes, mode 0600 (or MAMORI_ROOT_KEY, base64)
//! DIR/audit.key        the audit log's Ed25519 signing key, mode 0600 (or MAMORI_AUDIT_KEY)
//! DIR/audit.key.pub    its public half: what auditors and witnesses verify with
//! DIR/vault.db         tenants, wrapped keys, sealed records, users (SQLite, WAL)
//! DIR/audit.db         the audit log (SQLite, WAL)
//! DIR/policies/        Cedar policies and their schema
//! ```
//!
//! With `[store] url = "postgres://…"` the two databases are one PostgreSQL
//! schema instead, and every node serving the vault has a copy of the rest
//! of the directory (the same keys and policies).

use crate::ErrorCode;
use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::Arc,
};

use mamori_audit::{
    AuditLog, Witnesses,
    checkpoint::{Signer, Verifier},
    witness_client::Target,
};
use mamori_crypto::RootKey;
use mamori_policy::{DEFAULT_POLICIES, Gate, POLICY_SCHEMA};
use mamori_store::{
    AuditStore,
    postgres::{PgOptions, PgStore, is_postgres_url, url_has_password},
    sqlite::{SqliteAudit, SqliteVault},
};
use zeroize::Zeroizing;

use crate::{
    Backend, Vault,
    config::{CONFIG_FILE, Config, StoreConfig},
    error::{Result, VaultError},
};

pub const ROOT_KEY_ENV: &str = "MAMORI_ROOT_KEY";
pub const AUDIT_KEY_ENV: &str = "MAMORI_AUDIT_KEY";
/// The PostgreSQL password, kept out of the configuration file.
pub const PG_PASSWORD_ENV: &str = "MAMORI_PG_PASSWORD";

fn io(what: &str, path: &Path, e: std::io::Error) -> VaultError {
    VaultError::Internal(format!("{what} {}: {e}", path.display()))
}

/// What `init` created.
#[derive(Debug, serde::Serialize)]
pub struct InitReport {
    pub data_dir: PathBuf,
    pub root_key: String,
    pub config: PathBuf,
}

/// Creates a new data directory. Refuses to touch one that already holds a vault.
pub fn init(dir: &Path) -> Result<InitReport> {
    if dir.join(CONFIG_FILE).exists() || dir.join("vault.db").exists() {
        return Err(VaultError::Conflict(format!(
            "{} already holds a vault; refusing to overwrite it (choose another --data-dir)",
            dir.display()
        )));
    }
    fs::create_dir_all(dir).map_err(|e| io("cannot create", dir, e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| io("cannot restrict", dir, e))?;
    // Where the data lives is chosen at init (MAMORI_STORE, MAMORI_STORE_*)
    // and written down, so that every later command finds it.
    let mut config = Config::from_toml_with_env(&Config::default_toml(), "defaults", |k| {
        k.starts_with("MAMORI_STORE_")
            .then(|| std::env::var(k).ok())
            .flatten()
    })
    .map_err(|e| VaultError::bad(ErrorCode::ConfigInvalid, e.to_string()))?;
    if let Ok(url) = std::env::var(crate::config::STORE_ENV) {
        config.store.url = url;
    }
    let postgres = is_postgres_url(&config.store.url);
    if postgres && url_has_password(&config.store.url) {
        return Err(VaultError::bad(
            ErrorCode::StorePasswordInUrl,
            format!(
                "the store URL carries a password, which would be written to {CONFIG_FILE}; \
                 give the URL without it and the password in {PG_PASSWORD_ENV}"
            ),
        ));
    }
    if postgres {
        // Checked before anything is written: a schema holding a vault is
        // served by copies of the data directory that created it.
        let store = open_postgres(dir, &config.store, true)?;
        if store.holds_data()? {
            return Err(VaultError::Conflict(format!(
                "PostgreSQL schema '{}' already holds a vault; refusing to initialise it again \
                 (another node serves it with a copy of the data directory that created it)",
                store.schema()
            )));
        }
    }
    let root_key = if std::env::var_os(ROOT_KEY_ENV).is_some() {
        format!("from environment variable {ROOT_KEY_ENV}")
    } else {
        let path = dir.join(&config.keys.root_key_file);
        let key = RootKey::generate().map_err(|e| VaultError::Internal(e.to_string()))?;
        write_secret(&path, key.expose_bytes())?;
        path.display().to_string()
    };
    if std::env::var_os(AUDIT_KEY_ENV).is_none() {
        create_audit_key(&dir.join(&config.keys.audit_key_file))?;
    }
    let policy_dir = dir.join(&config.policy.dir);
    fs::create_dir_all(&policy_dir).map_err(|e| io("cannot create", &policy_dir, e))?;
    for (name, body) in [
        ("mamori.cedarschema", POLICY_SCHEMA),
        ("default.cedar", DEFAULT_POLICIES),
    ] {
        fs::write(policy_dir.join(name), body)
            .map_err(|e| io("cannot write", &policy_dir.join(name), e))?;
    }
    if !postgres {
        SqliteVault::open(&dir.join(&config.store.vault_db))?;
        SqliteAudit::open(
            &dir.join(&config.store.audit_db),
            config.audit.busy_timeout_ms,
        )?;
    }
    let config_path = dir.join(CONFIG_FILE);
    fs::write(&config_path, config.to_toml()).map_err(|e| io("cannot write", &config_path, e))?;
    Ok(InitReport {
        data_dir: dir.to_owned(),
        root_key,
        config: config_path,
    })
}

/// Writes a new secret file readable by its owner only; never overwrites.
pub fn write_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io("cannot create", path, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| io("cannot write", path, e))
}

/// Refuses a secret file that group or others can read.
pub fn check_private(path: &Path) -> Result<()> {
    let meta = fs::metadata(path).map_err(|e| io("cannot read", path, e))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(VaultError::Internal(format!(
            "{} is readable by group or others; run: chmod 600 {}",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// A new audit signing key at `path` and its public half at `path.pub`.
fn create_audit_key(path: &Path) -> Result<Signer> {
    let mut id = [0u8; 4];
    getrandom::fill(&mut id).map_err(|e| VaultError::Internal(e.to_string()))?;
    let signer = Signer::generate(&format!("mamori-{}", hex::encode(id)))
        .map_err(|e| VaultError::Internal(e.to_string()))?;
    write_secret(path, format!("{}\n", signer.to_skey().as_str()).as_bytes())?;
    let public = path.with_extension("key.pub");
    fs::write(&public, format!("{}\n", signer.verifier().to_vkey()))
        .map_err(|e| io("cannot write", &public, e))?;
    Ok(signer)
}

/// The audit signing key from MAMORI_AUDIT_KEY or its file. A data directory
/// made before audit checkpoints existed gets its key on first open.
pub fn load_audit_key(dir: &Path, config: &Config) -> Result<Signer> {
    let parse =
        |s: &str| Signer::parse(s).map_err(|e| VaultError::Internal(format!("audit key: {e}")));
    if let Ok(skey) = std::env::var(AUDIT_KEY_ENV) {
        return parse(&Zeroizing::new(skey));
    }
    let path = dir.join(&config.keys.audit_key_file);
    if !path.exists() {
        tracing::warn!(path = %path.display(), "no audit signing key; creating one");
        return create_audit_key(&path);
    }
    check_private(&path)?;
    let text = Zeroizing::new(fs::read_to_string(&path).map_err(|e| io("cannot read", &path, e))?);
    parse(&text)
}

/// Loads the root key from MAMORI_ROOT_KEY or the key file, refusing a file
/// that others can read.
pub fn load_root_key(dir: &Path, config: &Config) -> Result<RootKey> {
    if let Ok(b64) = std::env::var(ROOT_KEY_ENV) {
        let b64 = Zeroizing::new(b64);
        return RootKey::from_base64(&b64)
            .map_err(|e| VaultError::Internal(format!("{ROOT_KEY_ENV}: {e}")));
    }
    let path = dir.join(&config.keys.root_key_file);
    check_private(&path)?;
    let bytes = Zeroizing::new(fs::read(&path).map_err(|e| io("cannot read root key", &path, e))?);
    RootKey::from_bytes(&bytes)
        .map_err(|e| VaultError::Internal(format!("{}: {e}", path.display())))
}

/// Everything a command needs from an initialised data directory.
pub struct Opened {
    pub config: Config,
    pub vault: Arc<Vault>,
}

/// Starts detection in this process when the configuration enables it
/// (`[detect] enabled`); the rules file is validated first.
pub fn start_detection(dir: &Path, opened: &Opened) -> Result<()> {
    let cfg = &opened.config.detect;
    if cfg.enabled {
        let rules = crate::detection::load_rules(dir, cfg)?;
        opened.vault.start_detection(cfg, rules, dir)?;
    }
    Ok(())
}

pub fn open(dir: &Path) -> Result<Opened> {
    open_with(dir, |v| v)
}

/// `open`, letting the caller adjust the vault before it is shared (tests
/// set a manual clock or tighter rules).
pub fn open_with(dir: &Path, adjust: impl FnOnce(Vault) -> Vault) -> Result<Opened> {
    if !dir.join(CONFIG_FILE).exists() {
        return Err(VaultError::NotFound {
            what: "vault (no mamori.toml here; run `mamori init` first) —",
        });
    }
    let config = Config::load(dir).map_err(|e| VaultError::Internal(e.to_string()))?;
    let root = load_root_key(dir, &config)?;
    let gate = Gate::load(&dir.join(&config.policy.dir))
        .map_err(|e| VaultError::Internal(e.to_string()))?;
    let (store, audit_store) = open_stores(dir, &config)?;
    let signer = load_audit_key(dir, &config)?;
    let witnesses = witnesses(dir, &config, &signer.verifier())?;
    let audit = AuditLog::start(audit_store, signer, witnesses)?;
    let vault = Vault::new(store, audit, gate, root).with_rules(crate::Rules::from_config(&config));
    let vault = Arc::new(adjust(vault));
    Ok(Opened { config, vault })
}

/// The witnesses of `audit.witnesses`, ready to be written to.
fn witnesses(dir: &Path, config: &Config, key: &Verifier) -> Result<Witnesses> {
    let targets = config
        .audit
        .witnesses
        .iter()
        .map(|w| witness_target(dir, w, key, &config.audit.witness_ca))
        .collect::<Result<Vec<_>>>()?;
    Ok(Witnesses {
        targets,
        every: std::time::Duration::from_secs(config.audit.witness_every_s.max(1)),
    })
}

/// One witness: a URL, or a directory relative to the data directory.
pub fn witness_target(dir: &Path, spec: &str, key: &Verifier, ca: &str) -> Result<Target> {
    let spec = if spec.contains("://") {
        spec.to_owned()
    } else {
        dir.join(spec).display().to_string()
    };
    let ca = (!ca.is_empty()).then(|| dir.join(ca));
    Target::parse(&spec, key, ca.as_deref())
        .map_err(|e| VaultError::bad(ErrorCode::WitnessInvalid, format!("audit.witnesses: {e}")))
}

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
    let config = Config::load(dir).map_err(|e| VaultError::Internal(e.to_string()))?;
    if is_postgres_url(&config.store.url) {
        return Ok(Box::new(open_postgres(dir, &config.store, false)?));
    }
    Ok(Box::new(SqliteAudit::open_read_only(
        &dir.join(&config.store.audit_db),
    )?))
}

/// The audit log of a data directory, writable, without the vault: for
/// maintenance that needs no root key (`mamori audit archive`).
pub fn open_audit_rw(dir: &Path) -> Result<Box<dyn AuditStore>> {
    let config = Config::load(dir).map_err(|e| VaultError::Internal(e.to_string()))?;
    if is_postgres_url(&config.store.url) {
        return Ok(Box::new(open_postgres(dir, &config.store, false)?));
    }
    Ok(Box::new(SqliteAudit::open(
        &dir.join(&config.store.audit_db),
        config.audit.busy_timeout_ms,
    )?))
}

/// The audit key's public half: from MAMORI_AUDIT_KEY when set, otherwise
/// the `.pub` file beside the key file.
pub fn audit_verifier(dir: &Path) -> Result<Verifier> {
    if let Ok(skey) = std::env::var(AUDIT_KEY_ENV) {
        let signer = Signer::parse(&Zeroizing::new(skey))
            .map_err(|e| VaultError::Internal(format!("audit key: {e}")))?;
        return Ok(signer.verifier());
    }
    let config = Config::load(dir).map_err(|e| VaultError::Internal(e.to_string()))?;
    let path = dir
        .join(&config.keys.audit_key_file)
        .with_extension("key.pub");
    let text = fs::read_to_string(&path).map_err(|e| io("cannot read", &path, e))?;
    Verifier::parse(&text).map_err(|e| VaultError::Internal(format!("{}: {e}", path.display())))
}
