//! Bulk writes from an import: validate each row, encrypt, audit, then store
//! the batch atomically. Re-running a batch updates instead of duplicating,
//! because records are keyed by customer number.
//!
//! A batch is handled in two steps so that an importer can pipeline them:
//! [`Vault::prepare_import`] (validation, lookup of existing customers,
//! encryption: CPU work, spread over the cores) and [`ImportSession::write`]
//! (one audit event, one atomic store write). While one batch is written, the
//! next can be prepared. A session is a commit group: its batches become
//! durable together, which on SQLite saves rewriting the random-keyed index
//! pages at every batch ([`Vault::commit_import`] is a group of one).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use mamori_audit::{Decision as AuditDecision, Event};
use mamori_core::{FieldType, RecordId, normalize, schema::KEY_FIELD};
use mamori_store::{RecordWrite, StoreError, Token, WriteKind};
use serde::Serialize;

pub use crate::kernel::write::{CommitGroups, GROUP_MAX_TIME};

use crate::{
    Vault,
    error::{Result, VaultError},
    kernel::write::{on_cores, prepare_write, validate_fields},
    tenants::TenantState,
};

/// One data row of an import, already mapped to schema field names.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// Line in the source file, for error reports.
    pub line: u64,
    pub segment: Option<String>,
    pub fields: BTreeMap<String, String>,
}

/// A rejected row: where and why, never what.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Rejection {
    pub line: u64,
    pub code: String,
    pub reason: String,
}

#[derive(Debug, Default, Serialize)]
pub struct BatchOutcome {
    pub inserted: u64,
    pub updated: u64,
    pub rejected: Vec<Rejection>,
    /// Ids of the records written, in the batch's order.
    #[serde(skip)]
    pub ids: Vec<RecordId>,
}

/// A valid row, keyed by its customer number.
struct ValidRow {
    /// Normalised customer number.
    key: String,
    segment: String,
    fields: BTreeMap<String, String>,
}

/// A batch validated and encrypted, ready to commit.
pub struct PreparedBatch {
    tenant: String,
    state: Arc<TenantState>,
    /// A customer repeated within the batch keeps its last row.
    rows: Vec<ValidRow>,
    writes: Vec<RecordWrite>,
    rejected: Vec<Rejection>,
}

impl PreparedBatch {
    /// Rows that will be written (after dropping rejected and repeated ones).
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

impl Vault {
    /// Imports one batch: [`Self::prepare_import`] then [`Self::commit_import`].
    pub fn import_batch(
        &self,
        actor: &str,
        tenant: &str,
        default_segment: Option<&str>,
        rows: Vec<ImportRow>,
    ) -> Result<BatchOutcome> {
        let batch = self.prepare_import(tenant, default_segment, rows)?;
        self.commit_import(actor, batch)
    }

    /// Validates, looks up existing customers and encrypts one batch.
    /// Nothing is written and nothing audited yet.
    pub fn prepare_import(
        &self,
        tenant: &str,
        default_segment: Option<&str>,
        rows: Vec<ImportRow>,
    ) -> Result<PreparedBatch> {
        let state = self
            .tenants
            .get(self.store.as_ref(), self.root.as_ref(), tenant, None)?;
        if !state.active() {
            return Err(VaultError::Shredded(tenant.to_owned()));
        }
        let mut rejected = Vec::new();
        let mut position: HashMap<String, usize> = HashMap::new();
        let mut valid: Vec<ValidRow> = Vec::with_capacity(rows.len());
        for row in rows {
            let segment = row
                .segment
                .as_deref()
                .or(default_segment)
                .unwrap_or(state.schema.default_segment())
                .to_owned();
            match validate_fields(&state.schema, &segment, &row.fields) {
                Ok(fields) => {
                    let key = normalize::normalize(FieldType::Text, &fields[KEY_FIELD])
                        .map_err(|e| VaultError::Internal(e.to_string()))?;
                    let v = ValidRow {
                        key: key.clone(),
                        segment,
                        fields,
                    };
                    match position.get(&key) {
                        Some(&i) => valid[i] = v,
                        None => {
                            position.insert(key, valid.len());
                            valid.push(v);
                        }
                    }
                }
                Err((code, reason)) => rejected.push(Rejection {
                    line: row.line,
                    code: code.as_str().into(),
                    reason,
                }),
            }
        }
        let writes = self.seal_rows(&state, &valid, |t| self.store.find_keys(tenant, t))?;
        Ok(PreparedBatch {
            tenant: tenant.to_owned(),
            state,
            rows: valid,
            writes,
            rejected,
        })
    }

    /// Audits and writes a prepared batch in a transaction of its own.
    pub fn commit_import(&self, actor: &str, batch: PreparedBatch) -> Result<BatchOutcome> {
        let mut session = self.import_session(&batch.tenant)?;
        let out = session.write(actor, batch)?;
        session.commit()?;
        Ok(out)
    }

    /// Opens a commit group for an import into `tenant`: batches written
    /// through it become durable together at [`ImportSession::commit`].
    /// It holds the store's write lock, so importers commit every few seconds.
    pub fn import_session(&self, tenant: &str) -> Result<ImportSession<'_>> {
        Ok(ImportSession {
            vault: self,
            tenant: tenant.to_owned(),
            bulk: self.store.bulk(tenant)?,
        })
    }

    /// Finds which customers exist already (under any key version), then
    /// encrypts every row, on several threads for a large batch.
    fn seal_rows(
        &self,
        state: &TenantState,
        rows: &[ValidRow],
        find_keys: impl FnOnce(&[Token]) -> Result<HashMap<Token, RecordId>, StoreError>,
    ) -> Result<Vec<RecordWrite>> {
        // Each row's key token under every held key version, computed once.
        let per_row: Vec<Vec<Token>> = rows
            .iter()
            .map(|r| {
                state
                    .keys
                    .values()
                    .map(|k| k.index.token(KEY_FIELD, &r.key))
                    .collect()
            })
            .collect();
        let all: Vec<Token> = per_row.iter().flatten().copied().collect();
        let found = find_keys(&all)?;
        let existing: Vec<Option<RecordId>> = per_row
            .iter()
            .map(|ts| ts.iter().find_map(|t| found.get(t).copied()))
            .collect();
        let now = self.now();
        let rows: Vec<(&ValidRow, Option<RecordId>)> = rows.iter().zip(existing).collect();
        on_cores(&rows, |(r, e)| {
            prepare_write(state, *e, r.segment.clone(), &r.fields, now)
        })
    }
}

/// Batches of one import written in one commit group (see
/// [`mamori_store::BulkWrite`]). Each batch is audited before it is written;
/// an event thus stands for a batch sent to the store, and a group that is
/// never committed (a killed import) leaves events without records, never
/// records without events. Re-running the import writes them again.
pub struct ImportSession<'a> {
    vault: &'a Vault,
    tenant: String,
    bulk: Box<dyn mamori_store::BulkWrite + 'a>,
}

impl ImportSession<'_> {
    /// Audits and writes one prepared batch, atomically. If one of its
    /// customers was created after the batch was prepared (by a concurrent
    /// writer, or by an earlier batch of this group, which the preparing
    /// reader cannot see yet), the batch is sealed again against what this
    /// group sees and retried once.
    pub fn write(&mut self, actor: &str, mut batch: PreparedBatch) -> Result<BatchOutcome> {
        if batch.tenant != self.tenant {
            return Err(VaultError::Internal(format!(
                "a batch for tenant '{}' in an import into '{}'",
                batch.tenant, self.tenant
            )));
        }
        if batch.writes.is_empty() {
            return Ok(BatchOutcome {
                rejected: batch.rejected,
                ..Default::default()
            });
        }
        for attempt in 0..2 {
            if attempt > 0 {
                let bulk = &mut self.bulk;
                batch.writes = self
                    .vault
                    .seal_rows(&batch.state, &batch.rows, |t| bulk.find_keys(t))?;
            }
            let (event, inserted, updated) = import_event(actor, &batch);
            self.vault.audit.append(event)?;
            match self.bulk.write(&batch.writes) {
                Ok(()) => {
                    return Ok(BatchOutcome {
                        inserted,
                        updated,
                        rejected: batch.rejected,
                        ids: batch.writes.iter().map(|w| w.record.id).collect(),
                    });
                }
                Err(StoreError::Conflict(_)) if attempt == 0 => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(VaultError::Conflict(
            "the batch kept conflicting with concurrent writes".into(),
        ))
    }

    /// Makes every batch written so far durable.
    pub fn commit(self) -> Result<()> {
        Ok(self.bulk.commit()?)
    }
}

/// The audit event of one batch write, with its counts of new and updated
/// records.
fn import_event(actor: &str, batch: &PreparedBatch) -> (Event, u64, u64) {
    let inserted = batch
        .writes
        .iter()
        .filter(|w| w.kind == WriteKind::New)
        .count() as u64;
    let updated = batch.writes.len() as u64 - inserted;
    let mut e =
        Event::new(actor, "record.import", AuditDecision::Allow, "ok").tenant(&batch.tenant);
    e.records = batch
        .writes
        .iter()
        .map(|w| w.record.id.to_string())
        .collect();
    let e = e
        .detail("inserted", inserted)
        .detail("updated", updated)
        .detail("rejected", batch.rejected.len());
    (e, inserted, updated)
}
