//! Per-tenant state the request path needs: schema and unwrapped keys, cached
//! and revalidated on every request — against the governance revision the
//! request authenticated with (which every change of a tenant row moves), or
//! else against the tenant row — so a rotation or shred done by another
//! process (the CLI, another node) takes effect at once.

use std::{collections::BTreeMap, collections::HashMap, sync::Arc};

use mamori_core::Schema;
use mamori_crypto::{KeyProvider, KeyVersion, TenantKeySet, WrappedKey};
use mamori_store::{TenantRow, TenantStatus, VaultStore};
use parking_lot::RwLock;

use crate::error::{Result, VaultError};

/// The tenants one operation touches, each loaded (and revalidated) once:
/// for listings and scans that visit many rows of few tenants.
#[derive(Default)]
pub(crate) struct TenantMemo(HashMap<String, Arc<TenantState>>);

impl TenantMemo {
    pub(crate) fn get(&mut self, vault: &crate::Vault, tenant: &str) -> Result<Arc<TenantState>> {
        if let Some(s) = self.0.get(tenant) {
            return Ok(s.clone());
        }
        let s = vault.tenant(tenant)?;
        self.0.insert(tenant.to_owned(), s.clone());
        Ok(s)
    }
}

pub struct TenantState {
    pub row: TenantRow,
    pub schema: Arc<Schema>,
    /// Every key version still held; empty once shredded.
    pub keys: BTreeMap<KeyVersion, TenantKeySet>,
    /// Whether the call system feeds the tenant's cases (then reads are
    /// checked against them). Once on, it stays on until the tenant is shredded.
    pub case_feed: bool,
}

impl TenantState {
    pub fn active(&self) -> bool {
        self.row.status == TenantStatus::Active
    }

    /// The key set new writes use.
    pub fn current(&self) -> Result<&TenantKeySet> {
        self.keys
            .get(&self.row.current_key_version)
            .ok_or_else(|| VaultError::Shredded(self.row.id.clone()))
    }

    pub fn keys_for(&self, version: KeyVersion) -> Result<&TenantKeySet> {
        if !self.active() {
            return Err(VaultError::Shredded(self.row.id.clone()));
        }
        self.keys
            .get(&version)
            .ok_or_else(|| VaultError::Internal(format!("no key of version {version}")))
    }
}

/// A tenant's state and the governance revision it was last checked at.
type Checked = (Option<u64>, Arc<TenantState>);

/// Each tenant's state, as last checked.
#[derive(Default)]
pub struct TenantCache {
    map: RwLock<HashMap<String, Checked>>,
}

impl TenantCache {
    /// The tenant's state. With `rev` — the governance revision the caller
    /// read before (at authentication) — a state checked at that same
    /// revision is used without reading the tenant row: every change of a
    /// tenant row (rotation, shred, cap) moves the revision.
    pub fn get(
        &self,
        store: &dyn VaultStore,
        root: &dyn KeyProvider,
        id: &str,
        rev: Option<u64>,
    ) -> Result<Arc<TenantState>> {
        if let Some((Some(seen), s)) = self.map.read().get(id)
            && rev == Some(*seen)
        {
            return Ok(s.clone());
        }
        let row = store
            .tenant(id)?
            .ok_or(VaultError::NotFound { what: "tenant" })?;
        let cached = self.map.read().get(id).map(|(_, s)| s.clone());
        if let Some(s) = cached
            && s.row.status == row.status
            && s.row.current_key_version == row.current_key_version
            && s.row.created_at == row.created_at
            && s.row.full_access_cap == row.full_access_cap
            && (s.case_feed || !store.has_cases(id)?)
        {
            self.map.write().insert(id.to_owned(), (rev, s.clone()));
            return Ok(s);
        }
        let state = Arc::new(load(store, root, row)?);
        self.map.write().insert(id.to_owned(), (rev, state.clone()));
        Ok(state)
    }
}

fn load(store: &dyn VaultStore, root: &dyn KeyProvider, row: TenantRow) -> Result<TenantState> {
    let schema = Schema::parse(&row.schema)
        .map_err(|e| VaultError::Internal(format!("stored schema of '{}': {e}", row.id)))?;
    let mut keys = BTreeMap::new();
    if row.status == TenantStatus::Active {
        for k in store.keys(&row.id)? {
            let set = TenantKeySet::unwrap(
                root,
                &row.id,
                k.version,
                &WrappedKey(k.wrapped_data),
                &WrappedKey(k.wrapped_index),
            )
            .map_err(|e| VaultError::key(&format!("tenant '{}' key v{}", row.id, k.version), e))?;
            keys.insert(k.version, set);
        }
    }
    Ok(TenantState {
        case_feed: row.status == TenantStatus::Active && store.has_cases(&row.id)?,
        row,
        schema: Arc::new(schema),
        keys,
    })
}
