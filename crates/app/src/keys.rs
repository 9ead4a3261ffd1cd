//! The data directory's secrets: the root key's provider — the root key
//! from its file (mode 0600, refused when others can read it) or the
//! environment, a PKCS#11 token logged in with a PIN, a Transit engine
//! called with a token, or an AWS KMS key called with an access key, each
//! from the environment or a file — and the
//! audit signing key, and the public half
//! auditors verify with; `mamori.toml`'s provider line, which `key migrate`
//! changes.

use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::Path,
    sync::Arc,
};

use mamori_audit::checkpoint::{Signer, Verifier};
use mamori_crypto::{KeyProvider, ProviderKind, RootKey};
use mamori_keys::{Pkcs11Provider, TransitProvider};
use mamori_vault::{Result, VaultError};
use zeroize::Zeroizing;

use crate::{
    config::{CONFIG_FILE, Config},
    io,
};

pub const ROOT_KEY_ENV: &str = "MAMORI_ROOT_KEY";
pub const AUDIT_KEY_ENV: &str = "MAMORI_AUDIT_KEY";
/// The PKCS#11 token's user PIN (or `[keys.pkcs11] pin_file`).
pub const PKCS11_PIN_ENV: &str = "MAMORI_PKCS11_PIN";
/// The Transit engine's token (or `[keys.transit] token_file`).
pub const TRANSIT_TOKEN_ENV: &str = "MAMORI_TRANSIT_TOKEN";
/// AWS's own names for an access key (or `[keys.kms] credentials_file`).
pub const AWS_ACCESS_KEY_ENV: &str = "AWS_ACCESS_KEY_ID";
pub const AWS_SECRET_KEY_ENV: &str = "AWS_SECRET_ACCESS_KEY";
pub const AWS_SESSION_TOKEN_ENV: &str = "AWS_SESSION_TOKEN";

/// The provider `[keys] provider` names.
pub fn configured_kind(config: &Config) -> Result<ProviderKind> {
    ProviderKind::parse(&config.keys.provider).ok_or_else(|| {
        VaultError::Config(format!(
            "[keys] provider: '{}' is not one of {}",
            config.keys.provider,
            ProviderKind::ALL.map(|k| k.name()).join(", ")
        ))
    })
}

/// The configured root-key provider, answering: a missing key file, token
/// or PIN, or a token that refuses, is an error here — nothing starts
/// without its keys.
pub fn key_provider(dir: &Path, config: &Config) -> Result<Arc<dyn KeyProvider>> {
    provider_of(configured_kind(config)?, dir, config)
}

/// A provider of `kind` as `[keys]` describes it.
pub fn provider_of(
    kind: ProviderKind,
    dir: &Path,
    config: &Config,
) -> Result<Arc<dyn KeyProvider>> {
    match kind {
        ProviderKind::File => Ok(Arc::new(load_root_key(dir, config)?)),
        ProviderKind::Pkcs11 => {
            let pin = pkcs11_pin(dir, config)?;
            let provider = Pkcs11Provider::open(&config.keys.pkcs11, pin)
                .map_err(|e| VaultError::key("[keys] provider = \"pkcs11\"", e))?;
            Ok(Arc::new(provider))
        }
        ProviderKind::Transit => {
            let t = &config.keys.transit;
            let ca = (!t.ca.is_empty()).then(|| dir.join(&t.ca));
            let provider = TransitProvider::open(t, ca.as_deref(), transit_token(dir, config)?)
                .map_err(|e| VaultError::key("[keys] provider = \"transit\"", e))?;
            Ok(Arc::new(provider))
        }
        ProviderKind::Kms => kms_provider(dir, config),
    }
}

#[cfg(feature = "kms")]
fn kms_provider(dir: &Path, config: &Config) -> Result<Arc<dyn KeyProvider>> {
    let k = &config.keys.kms;
    let ca = (!k.ca.is_empty()).then(|| dir.join(&k.ca));
    let provider = mamori_keys::KmsProvider::open(k, ca.as_deref(), kms_credentials(dir, config)?)
        .map_err(|e| VaultError::key("[keys] provider = \"kms\"", e))?;
    Ok(Arc::new(provider))
}

#[cfg(not(feature = "kms"))]
fn kms_provider(_dir: &Path, _config: &Config) -> Result<Arc<dyn KeyProvider>> {
    Err(VaultError::Config(
        "[keys] provider = \"kms\": this mamori was built without AWS KMS; build it with \
         `cargo build --release --features kms`"
            .into(),
    ))
}

/// The access key KMS requests are signed with: AWS_ACCESS_KEY_ID and
/// AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) when set, else the
/// `credential_process` JSON of `[keys.kms] credentials_file`, read again
/// whenever KMS refuses the one it has (a helper may have refreshed it).
#[cfg(feature = "kms")]
fn kms_credentials(dir: &Path, config: &Config) -> Result<mamori_keys::kms::CredentialsLoader> {
    use mamori_keys::KmsCredentials;
    if let (Ok(id), Ok(secret)) = (
        std::env::var(AWS_ACCESS_KEY_ENV),
        std::env::var(AWS_SECRET_KEY_ENV),
    ) {
        let c = KmsCredentials {
            access_key_id: id.trim().to_owned(),
            secret_access_key: Zeroizing::new(secret.trim().to_owned()),
            session_token: std::env::var(AWS_SESSION_TOKEN_ENV)
                .ok()
                .map(|t| Zeroizing::new(t.trim().to_owned())),
        };
        return Ok(Box::new(move || Ok(c.clone())));
    }
    let file = &config.keys.kms.credentials_file;
    if file.is_empty() {
        return Err(VaultError::Config(format!(
            "the kms provider needs an access key: set {AWS_ACCESS_KEY_ENV} and \
             {AWS_SECRET_KEY_ENV}, or [keys.kms] credentials_file"
        )));
    }
    let given = GivenSecret::File(dir.join(file));
    Ok(Box::new(move || {
        let text = given.read().map_err(|e| e.to_string())?;
        KmsCredentials::from_process_json(&text)
    }))
}

/// A secret the security office gives the process at start: an
/// environment variable, else an owner-only file (a systemd credential, an
/// agent's sink), read — trimmed — whenever it is needed.
enum GivenSecret {
    Env(Zeroizing<String>),
    File(std::path::PathBuf),
}

impl GivenSecret {
    /// From `env`, else from `file` (relative to `dir`); `missing` says
    /// what to set when neither is.
    fn find(env: &str, file: &str, dir: &Path, missing: String) -> Result<Self> {
        if let Ok(value) = std::env::var(env) {
            return Ok(Self::Env(Zeroizing::new(value.trim().to_owned())));
        }
        if file.is_empty() {
            return Err(VaultError::Config(missing));
        }
        Ok(Self::File(dir.join(file)))
    }

    fn read(&self) -> Result<Zeroizing<String>> {
        match self {
            Self::Env(value) => Ok(value.clone()),
            Self::File(path) => {
                check_private(path)?;
                let text = Zeroizing::new(
                    fs::read_to_string(path).map_err(|e| io("cannot read", path, e))?,
                );
                Ok(Zeroizing::new(text.trim().to_owned()))
            }
        }
    }
}

/// The Transit token, read now and again whenever the engine refuses the
/// one it has (an agent may have renewed it in its file).
fn transit_token(dir: &Path, config: &Config) -> Result<mamori_keys::transit::TokenLoader> {
    let given = GivenSecret::find(
        TRANSIT_TOKEN_ENV,
        &config.keys.transit.token_file,
        dir,
        format!(
            "the transit provider needs a token: set {TRANSIT_TOKEN_ENV} or \
             [keys.transit] token_file"
        ),
    )?;
    Ok(Box::new(move || {
        given.read().map_err(|e| match e {
            VaultError::Internal(m) => m,
            other => other.to_string(),
        })
    }))
}

/// Creates the root key on the configured PKCS#11 token (`mamori key
/// pkcs11-create`): generated inside it, never extractable.
pub fn create_pkcs11_key(dir: &Path, config: &Config) -> Result<()> {
    let pin = pkcs11_pin(dir, config)?;
    Pkcs11Provider::create_key(&config.keys.pkcs11, pin)
        .map_err(|e| VaultError::key("[keys.pkcs11]", e))
}

/// The token's PIN: MAMORI_PKCS11_PIN, else the file `pin_file` names.
fn pkcs11_pin(dir: &Path, config: &Config) -> Result<Zeroizing<String>> {
    GivenSecret::find(
        PKCS11_PIN_ENV,
        &config.keys.pkcs11.pin_file,
        dir,
        format!(
            "the pkcs11 provider needs the token's PIN: set {PKCS11_PIN_ENV} or \
             [keys.pkcs11] pin_file"
        ),
    )?
    .read()
}

/// The file provider as the target of `key migrate --to file`: the root
/// key in MAMORI_ROOT_KEY or the key file, or — when there is none — a new
/// random one written to the key file.
pub fn file_provider_for_migration(dir: &Path, config: &Config) -> Result<Arc<dyn KeyProvider>> {
    let path = dir.join(&config.keys.root_key_file);
    if std::env::var_os(ROOT_KEY_ENV).is_none() && !path.exists() {
        let key = RootKey::generate().map_err(|e| VaultError::Internal(e.to_string()))?;
        write_secret(&path, key.expose_bytes())?;
    }
    Ok(Arc::new(load_root_key(dir, config)?))
}

/// Sets `provider` in `mamori.toml`'s `[keys]` table, keeping every other
/// line as it is (comments included); written to a new file and renamed
/// over the old one, so a crash leaves one or the other.
pub fn set_configured_kind(dir: &Path, kind: ProviderKind) -> Result<()> {
    let path = dir.join(CONFIG_FILE);
    let text = fs::read_to_string(&path).map_err(|e| io("cannot read", &path, e))?;
    let updated = with_provider(&text, kind.name());
    let tmp = path.with_extension("toml.new");
    fs::write(&tmp, updated).map_err(|e| io("cannot write", &tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| io("cannot replace", &path, e))?;
    let check = Config::load(dir).map_err(|e| VaultError::Config(e.to_string()))?;
    if std::env::var_os("MAMORI_KEYS_PROVIDER").is_none() && check.keys.provider != kind.name() {
        return Err(VaultError::Config(format!(
            "{} still does not name provider '{}'; set [keys] provider by hand",
            path.display(),
            kind.name()
        )));
    }
    Ok(())
}

/// `text` with the `[keys]` table's `provider` line replaced (or added).
fn with_provider(text: &str, name: &str) -> String {
    let line = format!("provider = \"{name}\"");
    let mut out = Vec::new();
    let (mut in_keys, mut done) = (false, false);
    for l in text.lines() {
        let t = l.trim();
        if t.starts_with('[') {
            if in_keys && !done {
                out.push(line.clone());
                done = true;
            }
            in_keys = t == "[keys]";
        } else if in_keys && !done && t.split('=').next().map(str::trim) == Some("provider") {
            out.push(line.clone());
            done = true;
            continue;
        }
        out.push(l.to_owned());
    }
    if !done {
        if !in_keys {
            out.push(String::new());
            out.push("[keys]".into());
        }
        out.push(line);
    }
    out.join("\n") + "\n"
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
pub(crate) fn create_audit_key(path: &Path) -> Result<Signer> {
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

#[cfg(test)]
mod tests {
    use super::with_provider;

    #[test]
    fn the_provider_line_is_replaced_or_added_in_keys_only() {
        let text = "# mine\n[server]\nprovider = \"x\"\n\n[keys]\n# where\nprovider = \"file\"\nroot_key_file = \"root.key\"\n\n[keys.pkcs11]\nmodule = \"m\"\n";
        assert_eq!(
            with_provider(text, "pkcs11"),
            "# mine\n[server]\nprovider = \"x\"\n\n[keys]\n# where\nprovider = \"pkcs11\"\nroot_key_file = \"root.key\"\n\n[keys.pkcs11]\nmodule = \"m\"\n"
        );
        assert_eq!(
            with_provider("[keys]\nroot_key_file = \"r\"\n[store]\n", "pkcs11"),
            "[keys]\nroot_key_file = \"r\"\nprovider = \"pkcs11\"\n[store]\n"
        );
        assert_eq!(
            with_provider("[server]\nlisten = \"a\"", "file"),
            "[server]\nlisten = \"a\"\n\n[keys]\nprovider = \"file\"\n"
        );
        assert_eq!(
            with_provider("[keys]\naudit_key_file = \"a\"\n", "pkcs11"),
            "[keys]\naudit_key_file = \"a\"\nprovider = \"pkcs11\"\n"
        );
    }
}
