//! Matching found values: which tenants hold how many of the people a file
//! names. A value is looked up under every search key of its type in every
//! active tenant (its keyed token, under each key version the tenant holds);
//! a customer named by one value is *possible*, by two different values of
//! one line or row *confirmed* — a phone number alone is weak evidence
//! (numbers are reissued), a phone and an e-mail of the same customer in one
//! row are not a coincidence.
//!
//! The answer is counts only. Every call is audited: in the system log with
//! the file's hash and the counts per tenant, and in each matched tenant's log
//! with the records found (opaque ids), so that "where was this customer's
//! data found?" can be asked later.

use std::collections::{HashMap, HashSet};

use mamori_core::{FieldType, RecordId};
use mamori_policy::Action;
use mamori_store::Token;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::{
    Caller, Vault,
    error::{ErrorCode, Result, VaultError},
    tenants::TenantState,
};

/// A value found outside the vault, canonical for its type (as
/// `mamori_core::normalize` makes it), and the line or row it was found in.
#[derive(Clone, Debug)]
pub struct Found {
    pub ty: FieldType,
    pub value: Zeroizing<String>,
    pub group: u64,
}

/// The most values one call matches: a bigger file is matched in parts, each
/// part holding whole lines or rows.
pub const MAX_VALUES: usize = 100_000;

/// Tokens per store lookup.
const LOOKUP_BATCH: usize = 1000;

/// What one tenant holds of the values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantMatch {
    pub tenant: String,
    /// Values that named at least one of the tenant's customers.
    pub values_matched: u64,
    /// Customers named by at least one value: the upper bound.
    pub people_possible: u64,
    /// Customers named by two different values of one line or row: the
    /// lower bound.
    pub people_confirmed: u64,
}

/// The answer to one call.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchReport {
    /// SHA-256 of the file the values came from, hex, as the caller gave it.
    pub file_sha256: String,
    pub values: u64,
    /// Tenants with at least one customer named, by id.
    pub tenants: Vec<TenantMatch>,
}

/// One tenant's hits: per customer, per group, the values that named them.
#[derive(Default)]
struct Hits {
    by_record: HashMap<RecordId, HashMap<u64, HashSet<usize>>>,
    values: HashSet<usize>,
}

impl Hits {
    fn confirmed(&self) -> usize {
        self.by_record
            .values()
            .filter(|groups| groups.values().any(|v| v.len() >= 2))
            .count()
    }
}

impl Vault {
    /// Matches values found in the file whose SHA-256 is `file_sha256`
    /// against every active tenant's customers.
    pub fn match_found(
        &self,
        caller: &Caller,
        file_sha256: &[u8; 32],
        found: &[Found],
    ) -> Result<MatchReport> {
        let d = self.gate.decide_scan(&caller.principal);
        let event = self.gated(
            self.caller_event(caller, Action::ScanMatch.as_str(), "ok"),
            &d,
            "matching what a scan found is for the security office",
        )?;
        if found.len() > MAX_VALUES {
            return Err(VaultError::bad(
                ErrorCode::ScanTooManyValues,
                format!("at most {MAX_VALUES} values are matched in one call"),
            ));
        }
        let file = hex::encode(file_sha256);
        let mut report = MatchReport {
            file_sha256: file.clone(),
            values: found.len() as u64,
            tenants: Vec::new(),
        };
        for row in self.store.tenants()? {
            let state = self.tenant(&row.id)?;
            if !state.active() {
                continue;
            }
            let hits = self.hits(&state, found)?;
            if hits.by_record.is_empty() {
                continue;
            }
            let m = TenantMatch {
                tenant: row.id.clone(),
                values_matched: hits.values.len() as u64,
                people_possible: hits.by_record.len() as u64,
                people_confirmed: hits.confirmed() as u64,
            };
            let mut records: Vec<String> = hits.by_record.keys().map(RecordId::to_string).collect();
            records.sort();
            let mut e = self
                .caller_event(caller, Action::ScanMatch.as_str(), "ok")
                .tenant(&row.id)
                .detail("file_sha256", file.clone())
                .detail("people_possible", m.people_possible)
                .detail("people_confirmed", m.people_confirmed);
            e.records = records;
            e.policies = d.policies().to_vec();
            self.audit.append(e)?;
            report.tenants.push(m);
        }
        let per_tenant: Vec<serde_json::Value> = report
            .tenants
            .iter()
            .map(|t| serde_json::json!([t.tenant, t.people_possible, t.people_confirmed]))
            .collect();
        self.audit.append(
            event
                .detail("file_sha256", file)
                .detail("values", report.values)
                .detail("tenants", per_tenant),
        )?;
        Ok(report)
    }

    /// The tenant's customers each value names.
    fn hits(&self, state: &TenantState, found: &[Found]) -> Result<Hits> {
        let mut hits = Hits::default();
        for key in state.schema.search_keys() {
            let Some(ty) = state.schema.search_key_type(key) else {
                continue;
            };
            let mut by_token: HashMap<Token, Vec<usize>> = HashMap::new();
            for (i, f) in found.iter().enumerate().filter(|(_, f)| f.ty == ty) {
                for keys in state.keys.values() {
                    by_token
                        .entry(keys.index.token(key, &f.value))
                        .or_default()
                        .push(i);
                }
            }
            let tokens: Vec<Token> = by_token.keys().copied().collect();
            for batch in tokens.chunks(LOOKUP_BATCH) {
                for (token, record) in self.store.match_tokens(&state.row.id, key, batch)? {
                    for &i in by_token.get(&token).into_iter().flatten() {
                        hits.values.insert(i);
                        hits.by_record
                            .entry(record)
                            .or_default()
                            .entry(found[i].group)
                            .or_default()
                            .insert(i);
                    }
                }
            }
        }
        Ok(hits)
    }
}
