//! Creating and opening a data directory:
//!
//! ```text
//! DIR/mamori.toml      configuration
//! DIR/root.key         32 random bytes, mode 0600 (or MAMORI_ROOT_KEY, base64)
//! DIR/vault.db         tenants, wrapped keys, sealed records, users (SQLite, WAL)
//! DIR/audit.db         the audit log (SQLite, WAL)
//! DIR/policies/        Cedar policies and their schema
//! ```

use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::Arc,
};

use mamori_audit::AuditLog;
use mamori_crypto::RootKey;
use mamori_policy::{DEFAULT_POLICIES, Gate, POLICY_SCHEMA};
use mamori_store::sqlite::{SqliteAudit, SqliteVault};
use zeroize::Zeroizing;

use crate::{
    Vault,
    config::{CONFIG_FILE, Config},
    error::{Result, VaultError},
};

pub const ROOT_KEY_ENV: &str = "MAMORI_ROOT_KEY";

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
    let config = Config::default();
    let root_key = if std::env::var_os(ROOT_KEY_ENV).is_some() {
        format!("from environment variable {ROOT_KEY_ENV}")
    } else {
        let path = dir.join(&config.keys.root_key_file);
        let key = RootKey::generate().map_err(|e| VaultError::Internal(e.to_string()))?;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| io("cannot create", &path, e))?;
        f.write_all(key.expose_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| io("cannot write", &path, e))?;
        path.display().to_string()
    };
    let policy_dir = dir.join(&config.policy.dir);
    fs::create_dir_all(&policy_dir).map_err(|e| io("cannot create", &policy_dir, e))?;
    for (name, body) in [
        ("mamori.cedarschema", POLICY_SCHEMA),
        ("default.cedar", DEFAULT_POLICIES),
    ] {
        fs::write(policy_dir.join(name), body)
            .map_err(|e| io("cannot write", &policy_dir.join(name), e))?;
    }
    SqliteVault::open(&dir.join(&config.store.vault_db))?;
    SqliteAudit::open(
        &dir.join(&config.store.audit_db),
        config.audit.busy_timeout_ms,
    )?;
    let config_path = dir.join(CONFIG_FILE);
    fs::write(&config_path, Config::default_toml())
        .map_err(|e| io("cannot write", &config_path, e))?;
    Ok(InitReport {
        data_dir: dir.to_owned(),
        root_key,
        config: config_path,
    })
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
    let meta = fs::metadata(&path).map_err(|e| io("cannot read root key", &path, e))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(VaultError::Internal(format!(
            "root key {} is readable by group or others; run: chmod 600 {}",
            path.display(),
            path.display()
        )));
    }
    let bytes = Zeroizing::new(fs::read(&path).map_err(|e| io("cannot read root key", &path, e))?);
    RootKey::from_bytes(&bytes)
        .map_err(|e| VaultError::Internal(format!("{}: {e}", path.display())))
}

/// Everything a command needs from an initialised data directory.
pub struct Opened {
    pub config: Config,
    pub vault: Arc<Vault>,
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
    let store = Arc::new(SqliteVault::open(&dir.join(&config.store.vault_db))?);
    let audit_store = Arc::new(SqliteAudit::open(
        &dir.join(&config.store.audit_db),
        config.audit.busy_timeout_ms,
    )?);
    let audit = AuditLog::start(audit_store)?;
    let vault = Vault::new(store, audit, gate, root).with_rules(crate::Rules::from_config(&config));
    let vault = Arc::new(adjust(vault));
    Ok(Opened { config, vault })
}
