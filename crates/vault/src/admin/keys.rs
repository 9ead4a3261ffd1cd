//! A tenant's keys: rotation, re-encryption of older records under the
//! current version (page by page, sealed on every core, in commit groups),
//! crypto-shredding, and moving every wrapped key to another root-key
//! provider.

use mamori_core::RecordId;
use mamori_crypto::{DeploymentSecret, KeyProvider, TenantKeySet, WrappedKey};
use mamori_store::{DeploymentKeyRow, KeyRow, RecordScan, RecordWrite, TenantStatus, WriteKind};
use serde::Serialize;

use crate::{
    Vault,
    error::{Result, VaultError},
    kernel::write::{CommitGroups, on_cores, prepare_write},
    sealed,
    tenants::TenantState,
};

#[derive(Debug, Serialize)]
pub struct RewrapProgress {
    pub rewrapped: u64,
    pub remaining_estimate: u64,
}

impl Vault {
    /// Makes a new key version; new writes use it, old records stay readable
    /// until `rewrap` moves them.
    pub fn rotate_key(&self, actor: &str, tenant: &str) -> Result<u32> {
        let state = self
            .tenants
            .get(self.store.as_ref(), self.root.as_ref(), tenant, None)?;
        if !state.active() {
            return Err(VaultError::Shredded(tenant.to_owned()));
        }
        let version = state.row.current_key_version + 1;
        let (_, wd, wi) = TenantKeySet::generate(self.root.as_ref(), tenant, version)
            .map_err(|e| VaultError::key("a new tenant key", e))?;
        self.audit.append(
            self.admin_event(actor, "key.rotate", Some(tenant))
                .detail("key_version", version),
        )?;
        self.store.add_key(&KeyRow {
            tenant: tenant.to_owned(),
            version,
            wrapped_data: wd.0,
            wrapped_index: wi.0,
            created_at: self.now(),
        })?;
        Ok(version)
    }

    /// Re-encrypts records written under older key versions with the current
    /// one, `batch` at a time: each batch audited, then written atomically,
    /// in commit groups of up to `group_records` (as an import: on SQLite a
    /// commit rewrites every index page its batches touched). While one
    /// batch is written, the next is read and re-sealed on every core. Safe to
    /// interrupt and re-run: a group not committed is rolled back, and the
    /// next run picks up the records still under an old version.
    pub fn rewrap(
        &self,
        actor: &str,
        tenant: &str,
        batch: usize,
        group_records: usize,
        mut progress: impl FnMut(&RewrapProgress),
    ) -> Result<u64> {
        let state = self
            .tenants
            .get(self.store.as_ref(), self.root.as_ref(), tenant, None)?;
        if !state.active() {
            return Err(VaultError::Shredded(tenant.to_owned()));
        }
        let current = state.row.current_key_version;
        let total = self.store.count_records(tenant, None)?;
        let (pages, resealed) = std::sync::mpsc::sync_channel::<Result<Vec<RecordWrite>>>(1);
        std::thread::scope(|s| {
            let state = &state;
            s.spawn(move || {
                let mut after = RecordId::from_bytes([0; 16]);
                loop {
                    let page = self.reseal_page(state, current, &mut after, batch.max(1));
                    let more = matches!(&page, Ok(w) if !w.is_empty());
                    // The writer stops listening when it fails.
                    if pages.send(page).is_err() || !more {
                        return;
                    }
                }
            });
            let mut groups = CommitGroups::new(group_records);
            let mut done = 0u64;
            for page in resealed {
                let writes = page?;
                if writes.is_empty() {
                    break;
                }
                let mut e = self
                    .admin_event(actor, "key.rewrap", Some(tenant))
                    .detail("key_version", current)
                    .detail("count", writes.len());
                e.records = writes.iter().map(|w| w.record.id.to_string()).collect();
                self.audit.append(e)?;
                groups.current(|| self.store.bulk(tenant))?.write(&writes)?;
                if let Some(full) = groups.wrote(writes.len() as u64) {
                    full.commit()?;
                }
                done += writes.len() as u64;
                progress(&RewrapProgress {
                    rewrapped: done,
                    remaining_estimate: total.saturating_sub(done),
                });
            }
            if let Some(last) = groups.take() {
                last.commit()?;
            }
            Ok(done)
        })
    }

    /// The next `limit` records after `after` still under a key version older
    /// than `current`, decrypted and sealed again under `current` (empty when
    /// none is left).
    fn reseal_page(
        &self,
        state: &TenantState,
        current: u32,
        after: &mut RecordId,
        limit: usize,
    ) -> Result<Vec<RecordWrite>> {
        let rows = self.store.scan_records(
            &state.row.id,
            &RecordScan {
                segment: None,
                older_than_version: Some(current),
                after: *after,
                limit,
            },
        )?;
        if let Some(last) = rows.last() {
            *after = last.id;
        }
        on_cores(&rows, |row| {
            let old = state.keys_for(row.key_version)?;
            let plain = sealed::open(&old.data, row.id.as_bytes(), &row.sealed, |_| true)?;
            let mut w = prepare_write(
                state,
                Some(row.id),
                row.segment.clone(),
                &plain,
                row.updated_at,
            )?;
            // Only while it is still what was read: an update meanwhile
            // (already under the current key) must not be reverted.
            w.kind = WriteKind::Reseal(row.key_version);
            Ok(w)
        })
    }

    /// Destroys the tenant's keys. Its records become unreadable for good.
    pub fn shred(&self, actor: &str, tenant: &str) -> Result<()> {
        let row = self
            .store
            .tenant(tenant)?
            .ok_or(VaultError::NotFound { what: "tenant" })?;
        if row.status == TenantStatus::Shredded {
            return Err(VaultError::Shredded(tenant.to_owned()));
        }
        let records = self.store.count_records(tenant, None)?;
        self.audit.append(
            self.admin_event(actor, "tenant.shred", Some(tenant))
                .detail("records", records),
        )?;
        self.store.shred_tenant(tenant, self.now())?;
        Ok(())
    }
}

/// What `migrate_keys` moved.
#[derive(Debug, Serialize)]
pub struct KeyMigration {
    pub from: String,
    pub to: String,
    /// Tenant key versions (each a data and an index key).
    pub tenant_keys: usize,
    pub deployment_secrets: usize,
}

impl Vault {
    /// Moves every wrapped key — each tenant's key versions and the
    /// deployment's secrets — from this vault's root-key provider to `to`:
    /// each unwrapped here and wrapped there, then all replaced in one
    /// transaction, audited first (`key.migrate`). The keys themselves do
    /// not change, so every record stays readable; nothing is replaced
    /// unless every key moved. Run with no server using the vault: one
    /// started meanwhile would still hold the old provider.
    pub fn migrate_keys(&self, actor: &str, to: &dyn KeyProvider) -> Result<KeyMigration> {
        let from = self.root.as_ref();
        if from.kind() == to.kind() && from.describe() == to.describe() {
            return Err(VaultError::Conflict(format!(
                "the keys are already under {}",
                to.describe()
            )));
        }
        let moved = VaultError::key;
        let mut keys = Vec::new();
        for tenant in self.store.tenants()? {
            for k in self.store.keys(&tenant.id)? {
                let (data, index) = (WrappedKey(k.wrapped_data), WrappedKey(k.wrapped_index));
                let (wd, wi) = TenantKeySet::rewrap(from, to, &tenant.id, k.version, &data, &index)
                    .map_err(|e| moved(&format!("tenant '{}' key v{}", tenant.id, k.version), e))?;
                keys.push(KeyRow {
                    wrapped_data: wd.0,
                    wrapped_index: wi.0,
                    ..k
                });
            }
        }
        let mut secrets = Vec::new();
        for row in self.store.deployment_keys()? {
            let Some(secret) = DeploymentSecret::parse(&row.name) else {
                return Err(VaultError::Internal(format!(
                    "deployment secret '{}' is not known to this version",
                    row.name
                )));
            };
            let value = from
                .unwrap(&secret.aad(), &WrappedKey(row.wrapped.clone()))
                .map_err(|e| moved(&format!("secret '{}'", row.name), e))?;
            let wrapped = to
                .wrap(&secret.aad(), &value)
                .map_err(|e| moved(&format!("secret '{}'", row.name), e))?;
            secrets.push(DeploymentKeyRow {
                wrapped: wrapped.0,
                ..row
            });
        }
        let report = KeyMigration {
            from: from.describe(),
            to: to.describe(),
            tenant_keys: keys.len(),
            deployment_secrets: secrets.len(),
        };
        self.audit.append(
            self.admin_event(actor, "key.migrate", None)
                .detail("from", from.kind().name())
                .detail("to", to.kind().name())
                .detail("to_provider", report.to.as_str())
                .detail("tenant_keys", report.tenant_keys)
                .detail("deployment_secrets", report.deployment_secrets),
        )?;
        self.store.rewrap_keys(&keys, &secrets)?;
        Ok(report)
    }
}

/// What `check_keys` found.
#[derive(Debug, Serialize)]
pub struct KeyCheck {
    pub provider: String,
    /// Tenant key versions that opened (each a data and an index key).
    pub tenant_keys: usize,
    pub deployment_secrets: usize,
    /// What did not open, each named (tenant and version, or secret) with why.
    pub failed: Vec<String>,
}

impl Vault {
    /// Unwraps every stored key under this vault's provider — each active
    /// tenant's key versions and the deployment's secrets — and says which
    /// do not open (after a migration, a restore, or for an inspection),
    /// without touching a record. Recorded as `key.check` with its counts.
    pub fn check_keys(&self, actor: &str) -> Result<KeyCheck> {
        let root = self.root.as_ref();
        let mut check = KeyCheck {
            provider: root.describe(),
            tenant_keys: 0,
            deployment_secrets: 0,
            failed: Vec::new(),
        };
        for tenant in self.store.tenants()? {
            for k in self.store.keys(&tenant.id)? {
                let (data, index) = (WrappedKey(k.wrapped_data), WrappedKey(k.wrapped_index));
                match TenantKeySet::unwrap(root, &tenant.id, k.version, &data, &index) {
                    Ok(_) => check.tenant_keys += 1,
                    Err(e) => check
                        .failed
                        .push(format!("tenant '{}' key v{}: {e}", tenant.id, k.version)),
                }
            }
        }
        for row in self.store.deployment_keys()? {
            let opened = DeploymentSecret::parse(&row.name)
                .ok_or(mamori_crypto::CryptoError::Format)
                .and_then(|s| root.unwrap(&s.aad(), &WrappedKey(row.wrapped)));
            match opened {
                Ok(_) => check.deployment_secrets += 1,
                Err(e) => check.failed.push(format!("secret '{}': {e}", row.name)),
            }
        }
        self.audit.append(
            self.admin_event(actor, "key.check", None)
                .detail("provider", root.kind().name())
                .detail("tenant_keys", check.tenant_keys)
                .detail("deployment_secrets", check.deployment_secrets)
                .detail("failed", check.failed.len()),
        )?;
        Ok(check)
    }
}
