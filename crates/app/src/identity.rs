//! The identity providers of `[[identity.oidc]]`, each with its client
//! secret: from the environment variable or the file it names (for a
//! systemd credential, `client_secret_file = "/run/credentials/mamori.service/entra"`).
//! A provider whose secret this process was not given can be named (to link
//! people to it) but not signed in through; a server refuses to start
//! without every secret (`require_secrets`).

use std::path::Path;

use mamori_core::Role;
use mamori_identity::{Provider, ProviderConfig};
use mamori_vault::{Result, VaultError};
use zeroize::Zeroizing;

use crate::config::Config;

pub fn providers(dir: &Path, config: &Config) -> Result<Vec<Provider>> {
    let mut names = std::collections::HashSet::new();
    config
        .identity
        .oidc
        .iter()
        .map(|c| {
            if !names.insert(c.name.as_str()) {
                return Err(bad(c, "another provider has the same name".into()));
            }
            for role in c.roles.values() {
                role.parse::<Role>()
                    .map_err(|_| bad(c, format!("roles: '{role}' is not a mamori role")))?;
            }
            let secret = secret(dir, c)?;
            Provider::new(c.clone(), secret, dir).map_err(|e| VaultError::Config(e.to_string()))
        })
        .collect()
}

/// Fails unless every provider has its client secret (a server signs
/// people in; it must not start half able to).
pub fn require_secrets(providers: &[ProviderConfig], dir: &Path) -> Result<()> {
    for c in providers {
        if secret(dir, c)?.is_none() {
            return Err(bad(
                c,
                format!(
                    "the client secret is missing (set {})",
                    if c.client_secret_env.is_empty() {
                        format!("the file {}", c.client_secret_file)
                    } else {
                        format!("the environment variable {}", c.client_secret_env)
                    }
                ),
            ));
        }
    }
    Ok(())
}

fn secret(dir: &Path, c: &ProviderConfig) -> Result<Option<Zeroizing<String>>> {
    let secret = match (
        c.client_secret_env.is_empty(),
        c.client_secret_file.is_empty(),
    ) {
        (false, true) => std::env::var(&c.client_secret_env).ok(),
        (true, false) => std::fs::read_to_string(dir.join(&c.client_secret_file)).ok(),
        _ => {
            return Err(bad(
                c,
                "set exactly one of client_secret_env and client_secret_file".into(),
            ));
        }
    };
    Ok(secret
        .map(|s| Zeroizing::new(s.trim().to_owned()))
        .filter(|s| !s.is_empty()))
}

fn bad(c: &ProviderConfig, m: String) -> VaultError {
    VaultError::Config(format!("[[identity.oidc]] {}: {m}", c.name))
}
