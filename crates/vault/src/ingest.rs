//! Bulk writes from an import: validate each row, encrypt, audit, then store
//! the batch atomically. Re-running a batch updates instead of duplicating,
//! because records are keyed by customer number.

use std::collections::{BTreeMap, HashMap};

use mamori_audit::{Decision as AuditDecision, Event};
use mamori_core::{FieldType, RecordId, normalize, schema::KEY_FIELD};
use mamori_store::{StoreError, Token, WriteKind};
use serde::Serialize;

use crate::{
    Vault,
    access::{prepare_write, validate_fields},
    error::{Result, VaultError},
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
}

impl Vault {
    /// Imports one batch. All valid rows of the batch are written in one
    /// transaction, after one audit event listing their record ids.
    pub fn import_batch(
        &self,
        actor: &str,
        tenant: &str,
        default_segment: Option<&str>,
        rows: Vec<ImportRow>,
    ) -> Result<BatchOutcome> {
        let state = self.tenants.get(self.store.as_ref(), &self.root, tenant)?;
        if !state.active() {
            return Err(VaultError::Shredded(tenant.to_owned()));
        }
        let mut outcome = BatchOutcome::default();
        // Valid rows by customer-number token: a customer repeated within the batch keeps its last row.
        let mut valid: HashMap<Token, (u64, String, BTreeMap<String, String>)> = HashMap::new();
        let lookup_keys = state.keys.values().collect::<Vec<_>>();
        let mut order = Vec::new();
        for row in rows {
            let segment = row
                .segment
                .as_deref()
                .or(default_segment)
                .unwrap_or(state.schema.default_segment())
                .to_owned();
            match validate_fields(&state.schema, &segment, &row.fields) {
                Ok(canonical) => {
                    let no = normalize::normalize(FieldType::Text, &canonical[KEY_FIELD])
                        .map_err(|e| VaultError::Internal(e.to_string()))?;
                    let t = state.current()?.index.token(KEY_FIELD, &no);
                    if valid.insert(t, (row.line, segment, canonical)).is_none() {
                        order.push((t, no));
                    }
                }
                Err((code, reason)) => outcome.rejected.push(Rejection {
                    line: row.line,
                    code: code.into(),
                    reason,
                }),
            }
        }
        if valid.is_empty() {
            return Ok(outcome);
        }
        // Two tries: a concurrent writer may insert the same new customer between lookup and write.
        for attempt in 0..2 {
            let mut writes = Vec::with_capacity(valid.len());
            for (t, no) in &order {
                let (_, segment, canonical) = &valid[t];
                let tokens: Vec<Token> = lookup_keys
                    .iter()
                    .map(|k| k.index.token(KEY_FIELD, no))
                    .collect();
                let existing = self
                    .store
                    .find(tenant, KEY_FIELD, &tokens)?
                    .into_iter()
                    .next();
                writes.push(prepare_write(
                    &state,
                    existing,
                    segment.clone(),
                    canonical,
                    self.now(),
                )?);
            }
            let inserted = writes.iter().filter(|w| w.kind == WriteKind::New).count() as u64;
            let mut e =
                Event::new(actor, "record.import", AuditDecision::Allow, "ok").tenant(tenant);
            e.records = writes
                .iter()
                .map(|w| RecordId::from_bytes(w.record.id).to_string())
                .collect();
            let e = e
                .detail("inserted", inserted)
                .detail("updated", writes.len() as u64 - inserted)
                .detail("rejected", outcome.rejected.len());
            self.audit.append(e)?;
            match self.store.write_records(tenant, &writes) {
                Ok(()) => {
                    outcome.inserted = inserted;
                    outcome.updated = writes.len() as u64 - inserted;
                    return Ok(outcome);
                }
                Err(StoreError::Conflict(_)) if attempt == 0 => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(VaultError::Conflict(
            "the batch kept conflicting with concurrent writes".into(),
        ))
    }
}
