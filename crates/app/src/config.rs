//! `mamori.toml`: every section of the configuration, read from the data
//! directory with the environment's overrides.
//!
//! `mamori.toml` in the data directory holds every setting; any key can be
//! overridden by an environment variable named `MAMORI_<SECTION>_<KEY>`
//! (upper case), e.g. `MAMORI_SERVER_LISTEN=0.0.0.0:8080`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const CONFIG_FILE: &str = "mamori.toml";

pub use mamori_vault::rules::{
    ExportsConfig, GovernanceConfig, LimitsConfig, PeopleConfig, Rules, ScanConfig,
};
pub use mamori_watch::config::{ChannelConfig, DetectConfig, SmtpConfig};

/// Every section of `mamori.toml`; each section owns its defaults.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub keys: KeysConfig,
    pub store: StoreConfig,
    pub audit: AuditConfig,
    pub import: ImportConfig,
    pub policy: PolicyConfig,
    pub governance: GovernanceConfig,
    pub people: PeopleConfig,
    pub limits: LimitsConfig,
    pub exports: ExportsConfig,
    pub scan: ScanConfig,
    pub detect: DetectConfig,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the HTTP API listens on.
    pub listen: String,
    /// An address of its own serving `/metrics` to whoever reaches it (put
    /// it where only the monitoring system does); empty: none. On the API's
    /// address `/metrics` answers only to the token in MAMORI_METRICS_TOKEN.
    pub metrics_listen: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// Root key file, relative to the data directory. Ignored when the
    /// environment variable MAMORI_ROOT_KEY holds the key (base64).
    pub root_key_file: String,
    /// The audit log's Ed25519 signing key (C2SP signer-key format), relative
    /// to the data directory; its public half is written beside it as
    /// `<file>.pub` for auditors. Ignored when MAMORI_AUDIT_KEY holds the key.
    pub audit_key_file: String,
}

/// Overrides `[store] url`; `mamori --store URL` sets it.
pub const STORE_ENV: &str = "MAMORI_STORE";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Where the vault keeps its data. Empty: the embedded SQLite files below.
    /// `postgres://user@host:5432/db` (or `host=… user=… dbname=…`): one
    /// PostgreSQL database that several `mamori serve` nodes share. The
    /// `--store` option and MAMORI_STORE override it; a password belongs in
    /// MAMORI_PG_PASSWORD, not in this file.
    pub url: String,
    /// PostgreSQL schema holding mamori's tables.
    pub pg_schema: String,
    /// Most PostgreSQL connections one process opens.
    pub pg_pool_size: usize,
    /// CA certificate (PEM) that signed the PostgreSQL server's certificate,
    /// relative to the data directory: connections then use verified TLS.
    /// Empty: no TLS, which is accepted only for a database on this machine
    /// (loopback or Unix socket) unless the URL says `sslmode=disable`.
    pub pg_ca: String,
    /// Vault database file, relative to the data directory.
    pub vault_db: String,
    /// Audit database file, relative to the data directory.
    pub audit_db: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// How long an append waits for a locked audit database before the
    /// request fails closed.
    pub busy_timeout_ms: u64,
    /// Witnesses each new checkpoint is offered to: `http://host:port` of a
    /// `mamori witness serve`, or a directory on separate (ideally
    /// append-only) storage, relative to the data directory or absolute.
    pub witnesses: Vec<String>,
    /// Each log's checkpoints go to each witness at most this often.
    pub witness_every_s: u64,
    /// For https:// witnesses: the CA certificate(s) to trust (PEM), relative
    /// to the data directory or absolute; only these are trusted.
    pub witness_ca: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImportConfig {
    /// Records per atomic batch.
    pub batch_size: usize,
    /// Records per commit group (imports and `key rewrap`): batches are made
    /// durable together, at most this many records (or five seconds of
    /// writing) at a time. On SQLite a commit rewrites every index page its
    /// batches touched, so larger groups write far less; a killed import
    /// redoes at most one group.
    pub group_records: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Directory of Cedar policy files, relative to the data directory.
    pub dir: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            metrics_listen: String::new(),
        }
    }
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            root_key_file: "root.key".into(),
            audit_key_file: "audit.key".into(),
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            pg_schema: "mamori".into(),
            pg_pool_size: 16,
            pg_ca: String::new(),
            vault_db: "vault.db".into(),
            audit_db: "audit.db".into(),
        }
    }
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            busy_timeout_ms: 5000,
            witnesses: Vec::new(),
            witness_every_s: 10,
            witness_ca: String::new(),
        }
    }
}

impl Default for ImportConfig {
    fn default() -> Self {
        Self {
            batch_size: 10_000,
            group_records: 100_000,
        }
    }
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            dir: "policies".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
}

impl Config {
    /// The vault's sections, as the vault takes them.
    pub fn rules(&self) -> Rules {
        Rules {
            governance: self.governance.clone(),
            people: self.people.clone(),
            limits: self.limits.clone(),
            exports: self.exports.clone(),
            scan: self.scan.clone(),
        }
    }

    /// The file written by `mamori init`, with comments.
    pub fn default_toml() -> String {
        Config::default().to_toml()
    }

    /// This configuration as a file (what `init` writes).
    pub fn to_toml(&self) -> String {
        let body = toml::to_string_pretty(self).expect("config serialises");
        format!(
            "# mamori configuration. Every key can be overridden by MAMORI_<SECTION>_<KEY>,\n\
             # e.g. MAMORI_SERVER_LISTEN=0.0.0.0:8080. Paths are relative to this directory.\n\n{body}"
        )
    }

    /// Reads `mamori.toml` from `dir` and applies `MAMORI_*` overrides.
    pub fn load(dir: &Path) -> Result<Self, ConfigError> {
        let path = dir.join(CONFIG_FILE);
        let src = std::fs::read_to_string(&path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let mut config =
            Self::from_toml_with_env(&src, &path.display().to_string(), |k| std::env::var(k).ok())?;
        // The short form every guide uses (and `--store` sets).
        if let Ok(url) = std::env::var(STORE_ENV) {
            config.store.url = url;
        }
        Ok(config)
    }

    /// Parses `src`, then replaces every key for which `env` has a value.
    /// Overrides go through the same typed deserialisation as the file.
    pub fn from_toml_with_env(
        src: &str,
        origin: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let parsed: Config = toml::from_str(src).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string(),
        })?;
        let mut table = toml::Table::try_from(&parsed).expect("config serialises to a table");
        override_table(&mut table, "MAMORI", &env)?;
        table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                path: origin.to_owned(),
                message: e.to_string(),
            })
    }

    pub fn path(&self, dir: &Path, rel: &str) -> PathBuf {
        dir.join(rel)
    }
}

/// Replaces each key of `table` (recursively: `MAMORI_LIMITS_DAILY_RECORDS_OPERATOR`)
/// for which `env` has a value. Lists take comma-separated values.
fn override_table(
    table: &mut toml::Table,
    prefix: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    for (key, slot) in table.iter_mut() {
        let var = format!("{prefix}_{}", key.to_uppercase());
        if let toml::Value::Table(inner) = slot {
            override_table(inner, &var, env)?;
            continue;
        }
        let Some(raw) = env(&var) else { continue };
        let bad = |message: &str| ConfigError::Env {
            var: var.clone(),
            message: message.into(),
        };
        *slot = match slot {
            toml::Value::Integer(_) => {
                toml::Value::Integer(raw.trim().parse().map_err(|_| bad("expected an integer"))?)
            }
            toml::Value::Boolean(_) => toml::Value::Boolean(
                raw.trim()
                    .parse()
                    .map_err(|_| bad("expected true or false"))?,
            ),
            toml::Value::Array(_) => toml::Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| toml::Value::String(s.to_owned()))
                    .collect(),
            ),
            _ => toml::Value::String(raw),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_env_overrides() {
        let src = Config::default_toml();
        let c = Config::from_toml_with_env(&src, "t", |_| None).unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:8080");
        let c = Config::from_toml_with_env(&src, "t", |k| match k {
            "MAMORI_SERVER_LISTEN" => Some("0.0.0.0:9000".into()),
            "MAMORI_IMPORT_BATCH_SIZE" => Some("50".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.server.listen, "0.0.0.0:9000");
        assert_eq!(c.import.batch_size, 50);
        let c = Config::from_toml_with_env(&src, "t", |k| match k {
            "MAMORI_LIMITS_DAILY_RECORDS_OPERATOR" => Some("40".into()),
            "MAMORI_PEOPLE_REQUIRED_COURSES" => Some("privacy-basics, security-2026".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.limits.daily_records_for("operator"), 40);
        assert_eq!(c.limits.daily_records_for("supervisor"), 300);
        assert_eq!(
            c.people.required_courses,
            vec!["privacy-basics".to_string(), "security-2026".to_string()]
        );
        let err = Config::from_toml_with_env(&src, "t", |k| {
            (k == "MAMORI_IMPORT_BATCH_SIZE").then(|| "many".into())
        });
        assert!(
            err.unwrap_err()
                .to_string()
                .contains("MAMORI_IMPORT_BATCH_SIZE")
        );
        let err = Config::from_toml_with_env("[server]\nlisten = 5\n", "t", |_| None);
        assert!(err.is_err());
        let err = Config::from_toml_with_env("[sever]\n", "t", |_| None);
        assert!(err.unwrap_err().to_string().contains("sever"));
    }
}
