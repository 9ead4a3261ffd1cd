//! The deployment's secrets at start: unwrapped from the store by the root
//! key's provider — which is the check that the provider answers, so a
//! vault whose HSM or KMS is missing does not start — or, the first time,
//! made, wrapped and stored (audited as `key.secret`). Several nodes
//! starting at once each try to store theirs; the first stored wins and
//! every node then uses it.

use std::collections::HashMap;

use mamori_audit::{AuditLog, Decision as AuditDecision, Event};
use mamori_crypto::{DeploymentKeys, DeploymentSecret, KeyProvider, WrappedKey};
use mamori_store::{Backend, DeploymentKeyRow, VaultStore};
use zeroize::Zeroizing;

use crate::error::{Result, VaultError};

/// A wrapped secret kept to ask the provider, now and then, whether it
/// still answers (`Vault::key_provider_answers`).
pub(crate) struct Probe {
    wrapped: WrappedKey,
    last: parking_lot::Mutex<Option<(std::time::Instant, bool)>>,
}

/// How long an answer of the provider is taken as still true.
const PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

impl Probe {
    /// Whether `provider` unwraps the probe's secret, asked at most once
    /// per `PROBE_EVERY` (a load balancer asks far more often).
    pub(crate) fn answers(&self, provider: &dyn KeyProvider) -> bool {
        let mut last = self.last.lock();
        if let Some((at, ok)) = *last
            && at.elapsed() < PROBE_EVERY
        {
            return ok;
        }
        let ok = provider
            .unwrap(&DeploymentSecret::SignIn.aad(), &self.wrapped)
            .is_ok();
        *last = Some((std::time::Instant::now(), ok));
        ok
    }
}

pub(crate) fn load(
    store: &dyn Backend,
    provider: &dyn KeyProvider,
    audit: &AuditLog,
    now: i64,
) -> Result<(DeploymentKeys, Probe)> {
    let mut stored = stored_secrets(store)?;
    let missing: Vec<DeploymentSecret> = DeploymentSecret::ALL
        .into_iter()
        .filter(|s| !stored.contains_key(s))
        .collect();
    if !missing.is_empty() {
        for secret in missing {
            create(store, provider, audit, secret, now)?;
        }
        stored = stored_secrets(store)?;
    }
    let value = |secret: DeploymentSecret| -> Result<Zeroizing<[u8; 32]>> {
        let wrapped = stored.get(&secret).ok_or_else(|| {
            VaultError::Internal(format!("deployment secret '{}' vanished", secret.name()))
        })?;
        provider.unwrap(&secret.aad(), wrapped).map_err(|e| {
            let what = format!(
                "the deployment's '{}' secret under {}",
                secret.name(),
                provider.describe()
            );
            VaultError::key(&what, e)
        })
    };
    let keys = DeploymentKeys::new(
        &*value(DeploymentSecret::Household)?,
        value(DeploymentSecret::ConsoleSession)?,
        value(DeploymentSecret::SignIn)?,
    );
    let probe = Probe {
        wrapped: stored[&DeploymentSecret::SignIn].clone(),
        last: parking_lot::Mutex::new(Some((std::time::Instant::now(), true))),
    };
    Ok((keys, probe))
}

/// The wrapped secrets in the store, by name; rows of names this version
/// does not know are left alone.
fn stored_secrets(store: &dyn VaultStore) -> Result<HashMap<DeploymentSecret, WrappedKey>> {
    Ok(store
        .deployment_keys()?
        .into_iter()
        .filter_map(|row| Some((DeploymentSecret::parse(&row.name)?, WrappedKey(row.wrapped))))
        .collect())
}

/// Makes and stores one secret. A data directory that already holds staff
/// households under the old derivation keeps them: its household secret is
/// the value the root key's bytes gave (only a file provider has those).
fn create(
    store: &dyn Backend,
    provider: &dyn KeyProvider,
    audit: &AuditLog,
    secret: DeploymentSecret,
    now: i64,
) -> Result<()> {
    let crypto = |e: mamori_crypto::CryptoError| {
        let what = format!(
            "wrapping the deployment's '{}' secret under {}",
            secret.name(),
            provider.describe()
        );
        VaultError::key(&what, e)
    };
    let carried = match (secret, provider.file_key()) {
        (DeploymentSecret::Household, Some(root)) if holds_households(store)? => {
            Some(secret.legacy(root))
        }
        _ => None,
    };
    let wrapped = match &carried {
        Some(value) => provider.wrap(&secret.aad(), value).map_err(crypto)?,
        None => secret.generate(provider).map_err(crypto)?.1,
    };
    let row = DeploymentKeyRow {
        name: secret.name().to_owned(),
        wrapped: wrapped.0,
        created_at: now,
    };
    if store.add_deployment_key(&row)? {
        audit.append(
            Event::new("system", "key.secret", AuditDecision::Allow, "ok")
                .detail("secret", secret.name())
                .detail("provider", provider.kind().name())
                .detail("carried_over", carried.is_some()),
        )?;
    }
    Ok(())
}

fn holds_households(store: &dyn Backend) -> Result<bool> {
    for user in store.users()? {
        if store.household(&user.login)?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}
