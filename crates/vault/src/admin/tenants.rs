//! Tenants: creating one with its schema, keys and purposes, and what an
//! operator sees of them.

use crate::ErrorCode;
use mamori_core::{Schema, TenantId};
use mamori_crypto::TenantKeySet;
use mamori_store::{KeyRow, TenantRow, TenantStatus};
use serde::Serialize;

use crate::{
    Vault,
    error::{Result, VaultError},
};

#[derive(Debug, Serialize)]
pub struct TenantSummary {
    pub id: String,
    pub name: String,
    pub status: TenantStatus,
    pub key_version: u32,
    pub records: u64,
    pub segments: Vec<String>,
    pub purposes: Vec<String>,
}

impl Vault {
    pub fn create_tenant(
        &self,
        actor: &str,
        id: &str,
        name: &str,
        schema_src: &str,
    ) -> Result<TenantSummary> {
        let tid = TenantId::parse(id)
            .map_err(|e| VaultError::bad(ErrorCode::TenantIdInvalid, e.to_string()))?;
        if name.trim().is_empty() {
            return Err(VaultError::bad(
                ErrorCode::TenantNameMissing,
                "a tenant needs a display name",
            ));
        }
        Schema::parse(schema_src)
            .map_err(|e| VaultError::bad(ErrorCode::SchemaInvalid, e.to_string()))?;
        if self.store.tenant(id)?.is_some() {
            return Err(VaultError::Conflict(format!(
                "tenant '{id}' already exists"
            )));
        }
        let (_, wd, wi) = TenantKeySet::generate(self.root.as_ref(), tid.as_str(), 1)
            .map_err(|e| VaultError::key("a new tenant key", e))?;
        let now = self.now();
        self.audit.append(
            self.admin_event(actor, "tenant.create", Some(id))
                .detail("key_version", 1),
        )?;
        self.store.create_tenant(
            &TenantRow {
                id: id.to_owned(),
                name: name.trim().to_owned(),
                schema: schema_src.to_owned(),
                status: TenantStatus::Active,
                current_key_version: 1,
                created_at: now,
                shredded_at: None,
                full_access_cap: None,
            },
            &KeyRow {
                tenant: id.to_owned(),
                version: 1,
                wrapped_data: wd.0,
                wrapped_index: wi.0,
                created_at: now,
            },
        )?;
        self.tenant_summary(id)
    }

    pub fn tenant_summary(&self, id: &str) -> Result<TenantSummary> {
        let row = self
            .store
            .tenant(id)?
            .ok_or(VaultError::NotFound { what: "tenant" })?;
        let schema = Schema::parse(&row.schema).map_err(|e| VaultError::Internal(e.to_string()))?;
        Ok(TenantSummary {
            records: self.store.count_records(id, None)?,
            id: row.id,
            name: row.name,
            status: row.status,
            key_version: row.current_key_version,
            segments: schema.segments.iter().map(|s| s.id.clone()).collect(),
            purposes: schema.purposes.iter().map(|p| p.id.clone()).collect(),
        })
    }

    /// The tenant's schema, as stored.
    pub fn tenant_schema(&self, id: &str) -> Result<std::sync::Arc<Schema>> {
        Ok(self
            .tenants
            .get(self.store.as_ref(), self.root.as_ref(), id, None)?
            .schema
            .clone())
    }

    pub fn tenants(&self) -> Result<Vec<TenantSummary>> {
        self.store
            .tenants()?
            .iter()
            .map(|t| self.tenant_summary(&t.id))
            .collect()
    }
}
