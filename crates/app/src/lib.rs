//! Start-up: everything between a data directory and a running vault.
//!
//! Architecture invariant: this is the one crate below the binaries that
//! reads configuration files, key files and the environment (`MAMORI_*`),
//! and the one that picks a store backend. The vault, detection and the
//! stores receive values; none of them looks at a path or a variable.
//!
//! ```text
//! config.rs   mamori.toml: every section with its defaults, MAMORI_* overrides
//! datadir.rs  init and open a data directory; start detection
//! identity.rs the identity providers, each with its client secret (environment or file)
//! keys.rs     the root key and the audit signing key (files or environment)
//! stores.rs   SQLite files or PostgreSQL; the audit log alone for auditors
//! ```

pub mod config;
pub mod datadir;
pub mod identity;
pub mod keys;
pub mod stores;

use std::path::Path;

use mamori_vault::VaultError;

/// A file operation that failed, naming the file (paths are the operator's
/// own configuration, never a submitted value).
fn io(what: &str, path: &Path, e: std::io::Error) -> VaultError {
    VaultError::Internal(format!("{what} {}: {e}", path.display()))
}
