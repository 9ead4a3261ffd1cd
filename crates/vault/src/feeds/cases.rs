//! The call system's case feed (detection rule 3): which customer each case
//! (call, ticket) is about. A read under a case id the feed knows, of a
//! customer other than the case's, is noted in the read's event
//! (`detail.case_mismatch`, the record ids); to detection it is a lookup
//! without a valid case. A case the feed does not know (yet) is not judged:
//! a feed that lags must not raise alerts about honest work.
//!
//! Cases are stored as blind-index tokens of the customer number, one per
//! key version of the tenant, never as numbers.

use crate::ErrorCode;
use mamori_audit::Event;
use mamori_core::{normalize, schema::KEY_FIELD};
use mamori_crypto::KeyVersion;
use mamori_store::{CaseRow, RecordRow, Token};
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::{
    Vault,
    error::{Result, VaultError},
    feed::{Feed, required},
    sealed,
    tenants::TenantState,
};

const VERSION_LEN: usize = 4;
const ENTRY_LEN: usize = VERSION_LEN + 16;

/// What an import did.
#[derive(Clone, Debug, Serialize)]
pub struct CaseImport {
    pub tenant: String,
    pub cases: usize,
}

/// The customer number's token under each key version the tenant holds.
fn tokens_of(state: &TenantState, customer_no: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(state.keys.len() * ENTRY_LEN);
    for (version, keys) in &state.keys {
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&keys.index.token(KEY_FIELD, customer_no));
    }
    out
}

/// The case's token under `version`, if the feed gave one.
fn token_under(tokens: &[u8], version: KeyVersion) -> Option<Token> {
    tokens.chunks_exact(ENTRY_LEN).find_map(|e| {
        let (v, t) = e.split_at(VERSION_LEN);
        (v == version.to_be_bytes()).then(|| t.try_into().expect("16 bytes"))
    })
}

impl Vault {
    /// Imports cases from the call system: CSV with a header
    /// `case_id,customer_no` (or `案件番号,お客さま番号`). A case in the file
    /// replaces what was known of it. The whole file is checked before
    /// anything is written; errors name the line, never a value.
    pub fn import_cases(&self, actor: &str, tenant: &str, csv_text: &str) -> Result<CaseImport> {
        let state = self.tenant(tenant)?;
        if !state.active() {
            return Err(VaultError::Shredded(tenant.to_owned()));
        }
        let key_type = state
            .schema
            .field(KEY_FIELD)
            .map(|f| f.ty)
            .ok_or_else(|| VaultError::Internal(format!("schema without {KEY_FIELD}")))?;
        let feed = Feed::read(
            csv_text,
            ErrorCode::CaseCsvInvalid,
            &[
                required("case_id", "案件番号"),
                required(KEY_FIELD, "お客さま番号"),
            ],
        )?;
        let now = self.now();
        let mut rows: std::collections::BTreeMap<String, CaseRow> = Default::default();
        for (line, v) in &feed.rows {
            let (case_id, customer_no) = (v[0].as_str(), v[1].as_str());
            if let Err(why) = crate::access::case_id_form(&state.schema, case_id) {
                return Err(feed.at(*line, why));
            }
            let customer_no = normalize::normalize(key_type, customer_no)
                .map_err(|e| feed.at(*line, format!("{KEY_FIELD}: {e}")))?;
            let row = CaseRow {
                case_id: case_id.to_owned(),
                tokens: tokens_of(&state, &customer_no),
                updated_at: now,
            };
            if rows.insert(case_id.to_owned(), row).is_some() {
                return Err(feed.at(*line, format!("case '{case_id}' appears twice")));
            }
        }
        let rows: Vec<CaseRow> = rows.into_values().collect();
        let e = Event::new(actor, "case.import", mamori_audit::Decision::Allow, "ok")
            .tenant(tenant)
            .detail("cases", rows.len());
        self.audit.append(e)?;
        self.store.put_cases(tenant, &rows)?;
        Ok(CaseImport {
            tenant: tenant.to_owned(),
            cases: rows.len(),
        })
    }

    /// Notes in a read's event the records shown that are not the customer
    /// of the case the read names (when the feed knows the case).
    pub(crate) fn note_case(
        &self,
        state: &TenantState,
        rows: &[&RecordRow],
        event: Event,
    ) -> Result<Event> {
        let Some(case_id) = event.case_id.as_deref().filter(|_| state.case_feed) else {
            return Ok(event);
        };
        let Some(case) = self.store.case(&state.row.id, case_id)? else {
            return Ok(event);
        };
        let key_type = state.schema.field(KEY_FIELD).map(|f| f.ty);
        let mut other = Vec::new();
        for row in rows {
            let Some(expected) = token_under(&case.tokens, row.key_version) else {
                continue; // a key version newer than the feed's entry: not judged
            };
            let keys = state.keys_for(row.key_version)?;
            let plain = sealed::open(&keys.data, row.id.as_bytes(), &row.sealed, |f| {
                f == KEY_FIELD
            })?;
            let Some(no) = plain.get(KEY_FIELD) else {
                continue;
            };
            let Some(no) = key_type.and_then(|t| normalize::normalize(t, no).ok()) else {
                continue;
            };
            let token = keys.index.token(KEY_FIELD, &no);
            if !bool::from(token.ct_eq(&expected)) {
                other.push(row.id.to_string());
            }
        }
        Ok(if other.is_empty() {
            event
        } else {
            event.detail("case_mismatch", other)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_found_by_its_key_version() {
        let mut tokens = Vec::new();
        for (v, b) in [(1u32, 1u8), (3, 3)] {
            tokens.extend_from_slice(&v.to_be_bytes());
            tokens.extend_from_slice(&[b; 16]);
        }
        assert_eq!(token_under(&tokens, 1), Some([1; 16]));
        assert_eq!(token_under(&tokens, 3), Some([3; 16]));
        assert_eq!(token_under(&tokens, 2), None);
        assert_eq!(token_under(&tokens[..5], 1), None);
    }
}
