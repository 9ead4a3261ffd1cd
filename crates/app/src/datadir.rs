//! Creating and opening a data directory:
//!
//! ```text
//! DIR/mamori.toml      configuration
//! DIR/root.key         32 random bytes, mode 0600 (or MAMORI_ROOT_KEY, base64);
//!                      none when an HSM holds the root key ([keys] provider)
//! DIR/audit.key        the audit log's Ed25519 signing key, mode 0600 (or MAMORI_AUDIT_KEY)
//! DIR/audit.key.pub    its public half: what auditors and witnesses verify with
//! DIR/vault.db         tenants, wrapped keys, sealed records, users (SQLite, WAL)
//! DIR/audit.db         the audit log (SQLite, WAL)
//! DIR/policies/        Cedar policies and their schema
//! DIR/detect.toml      detection rules (optional; built-in defaults otherwise)
//! ```
//!
//! With `[store] url = "postgres://…"` the two databases are one PostgreSQL
//! schema instead, and every node serving the vault has a copy of the rest
//! of the directory (the same keys and policies).

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    sync::Arc,
};

use mamori_audit::{AuditLog, Witnesses, checkpoint::Verifier, witness_client::Target};
use mamori_crypto::{ProviderKind, RootKey};
use mamori_detect::Rules as DetectRules;
use mamori_policy::{DEFAULT_POLICIES, Gate, POLICY_SCHEMA};
use mamori_store_postgres::{is_postgres_url, url_has_password};
use mamori_store_sqlite::{SqliteAudit, SqliteVault};
use mamori_vault::{ErrorCode, Result, Vault, VaultError};
use mamori_watch::{Surroundings, Watch};
use zeroize::Zeroizing;

use crate::{
    config::{CONFIG_FILE, Config},
    io,
    keys::{
        AUDIT_KEY_ENV, ROOT_KEY_ENV, configured_kind, create_audit_key, key_provider,
        load_audit_key, provider_of, write_secret,
    },
    stores::{PG_PASSWORD_ENV, open_postgres, open_stores},
};

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
    // Where the data and the root key live is chosen at init (MAMORI_STORE,
    // MAMORI_STORE_*, MAMORI_KEYS_*) and written down, so that every later
    // command finds them.
    let mut config = Config::from_toml_with_env(&Config::default_toml(), "defaults", |k| {
        (k.starts_with("MAMORI_STORE_") || k.starts_with("MAMORI_KEYS_"))
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
    let kind = configured_kind(&config)?;
    let root_key = if kind != ProviderKind::File {
        // Checked now, not at the first start: the token and its PIN.
        let provider = provider_of(kind, dir, &config)?;
        provider.describe()
    } else if std::env::var_os(ROOT_KEY_ENV).is_some() {
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

/// Everything a command needs from an initialised data directory.
///
/// Fields drop in order: detection (`watch`) stops before the vault, so its
/// last alert and saved state get the vault's final signed checkpoint.
pub struct Opened {
    /// Detection, once started here (`start_detection`).
    pub watch: Option<Watch>,
    pub vault: Arc<Vault>,
    pub config: Config,
    /// The audit key's public half (what reports' checkpoints are verified with).
    pub audit_key: Verifier,
    /// The data directory it was opened from.
    pub dir: std::path::PathBuf,
}

/// Loads and validates the detection rules file; the built-in defaults when
/// it does not exist.
pub fn load_rules(dir: &Path, config: &Config) -> Result<DetectRules> {
    let path = dir.join(&config.detect.rules_file);
    let bad = |e: &dyn std::fmt::Display| VaultError::Config(format!("{}: {e}", path.display()));
    match fs::read_to_string(&path) {
        Ok(text) => DetectRules::from_toml(&text).map_err(|e| bad(&e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DetectRules::default()),
        Err(e) => Err(bad(&e)),
    }
}

/// Starts detection in this process when the configuration enables it
/// (`[detect] enabled`); the rules file and channels are validated first.
pub fn start_detection(dir: &Path, opened: &mut Opened) -> Result<()> {
    let cfg = &opened.config.detect;
    if !cfg.enabled || opened.watch.is_some() {
        return Ok(());
    }
    let rules = load_rules(dir, &opened.config)?;
    let around = Surroundings {
        dir: dir.to_owned(),
        smtp_password: std::env::var(SMTP_PASSWORD_ENV).ok().map(Zeroizing::new),
    };
    let vault = &opened.vault;
    let watch = Watch::start(
        vault.store().clone(),
        vault.audit().clone(),
        cfg,
        rules,
        around,
    )
    .map_err(watch_error)?;
    opened.watch = Some(watch);
    Ok(())
}

/// The mail relay's password (`[detect.smtp] username`), kept out of the file.
pub const SMTP_PASSWORD_ENV: &str = "MAMORI_SMTP_PASSWORD";

/// Detection's errors as the vault's: a bad section or rule is the
/// configuration's fault; the rest is what the store or log answered.
fn watch_error(e: mamori_watch::WatchError) -> VaultError {
    use mamori_watch::WatchError as W;
    match e {
        W::Config(m) => VaultError::Config(m),
        W::Store(e) => e.into(),
        W::Audit(e) => e.into(),
        W::Internal(m) => VaultError::Internal(m),
    }
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
    let root = key_provider(dir, &config)?;
    let gate = Gate::load(&dir.join(&config.policy.dir))
        .map_err(|e| VaultError::Internal(e.to_string()))?;
    let (store, audit_store) = open_stores(dir, &config)?;
    let signer = load_audit_key(dir, &config)?;
    let audit_key = signer.verifier();
    let witnesses = witnesses(dir, &config, &audit_key)?;
    let audit = AuditLog::start(audit_store, signer, witnesses)?;
    let providers = crate::identity::providers(dir, &config)?;
    let vault = Vault::new(store, audit, gate, root)?
        .with_rules(config.rules())
        .with_identity_providers(providers);
    let vault = Arc::new(adjust(vault));
    Ok(Opened {
        watch: None,
        vault,
        config,
        audit_key,
        dir: dir.to_owned(),
    })
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
