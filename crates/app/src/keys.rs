//! The data directory's secrets: the root key and the audit signing key,
//! from their files (mode 0600, refused when others can read them) or from
//! the environment, and the public half auditors verify with.

use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::Path,
};

use mamori_audit::checkpoint::{Signer, Verifier};
use mamori_crypto::RootKey;
use mamori_vault::{Result, VaultError};
use zeroize::Zeroizing;

use crate::{config::Config, io};

pub const ROOT_KEY_ENV: &str = "MAMORI_ROOT_KEY";
pub const AUDIT_KEY_ENV: &str = "MAMORI_AUDIT_KEY";

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
