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

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
};

use mamori_audit::Decision as AuditDecision;
use mamori_core::{FieldType, RecordId};
use mamori_policy::Action;
use mamori_store::Token;
use serde::{Deserialize, Serialize};
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

impl Found {
    /// A value as a scanner sent it, made canonical here (the vault trusts no
    /// caller's normaliser); `None` when it is not a value of its type.
    pub fn new(ty: FieldType, raw: &str, group: u64) -> Option<Found> {
        let value = Zeroizing::new(mamori_core::normalize::normalize(ty, raw).ok()?);
        Some(Found { ty, value, group })
    }
}

/// A file's values cut into parts of at most `max` that keep each line or
/// row whole (values come in the order of their groups), so that a
/// confirmation — two values of one row — is never cut apart. Only a single
/// row with more than `max` values is split.
pub fn parts(found: &[Found], max: usize) -> Vec<&[Found]> {
    let max = max.max(1);
    let mut out = Vec::new();
    let mut rest = found;
    while rest.len() > max {
        let last_group = rest[max].group;
        // Cut before the row that straddles the limit, if it is not the first.
        let cut = rest[..max]
            .iter()
            .rposition(|f| f.group != last_group)
            .map_or(max, |i| i + 1);
        let (part, tail) = rest.split_at(cut);
        out.push(part);
        rest = tail;
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Tokens per store lookup.
const LOOKUP_BATCH: usize = 1000;

/// What one tenant holds of the values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Each customer named, under a pseudonym that holds for this file only:
    /// a file sent in parts is counted exactly by merging its parts'
    /// pseudonyms, and nothing links a customer to another file or a record.
    pub people: Vec<Named>,
}

/// A customer a file names, under the file's pseudonym for them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Named {
    /// 32 hex digits.
    pub pseudonym: String,
    /// Two different values of one line or row name them.
    pub confirmed: bool,
}

/// The answer to one call.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchReport {
    /// SHA-256 of the file the values came from, hex, as the caller gave it.
    pub file_sha256: String,
    pub values: u64,
    /// Tenants with at least one customer named, by id.
    pub tenants: Vec<TenantMatch>,
}

impl MatchReport {
    /// An empty report for a file, to merge the answers of its parts into.
    pub fn new(file_sha256: &[u8; 32]) -> Self {
        MatchReport {
            file_sha256: hex::encode(file_sha256),
            values: 0,
            tenants: Vec::new(),
        }
    }

    /// Adds the answer for another part of the same file: customers named in
    /// both count once, confirmed if either part confirmed them.
    pub fn merge(&mut self, part: MatchReport) {
        self.values += part.values;
        for t in part.tenants {
            let i = match self.tenants.iter().position(|m| m.tenant == t.tenant) {
                Some(i) => i,
                None => {
                    self.tenants.push(TenantMatch {
                        tenant: t.tenant.clone(),
                        values_matched: 0,
                        people_possible: 0,
                        people_confirmed: 0,
                        people: Vec::new(),
                    });
                    self.tenants.len() - 1
                }
            };
            let m = &mut self.tenants[i];
            m.values_matched += t.values_matched;
            let mut people: BTreeMap<String, bool> = std::mem::take(&mut m.people)
                .into_iter()
                .map(|n| (n.pseudonym, n.confirmed))
                .collect();
            for n in t.people {
                *people.entry(n.pseudonym).or_default() |= n.confirmed;
            }
            m.people_possible = people.len() as u64;
            m.people_confirmed = people.values().filter(|c| **c).count() as u64;
            m.people = people
                .into_iter()
                .map(|(pseudonym, confirmed)| Named {
                    pseudonym,
                    confirmed,
                })
                .collect();
        }
        self.tenants.sort_by(|a, b| a.tenant.cmp(&b.tenant));
    }
}

/// One tenant's hits: per customer, per group, the values that named them.
#[derive(Default)]
pub(crate) struct Hits {
    pub(crate) by_record: HashMap<RecordId, HashMap<u64, HashSet<usize>>>,
    values: HashSet<usize>,
}

impl Hits {
    fn is_confirmed(groups: &HashMap<u64, HashSet<usize>>) -> bool {
        groups.values().any(|v| v.len() >= 2)
    }

    /// The tenant's line of the answer, customers under the file's pseudonyms
    /// (under the tenant's newest index key: were the key rotated between two
    /// parts of one file, a customer named in both would count twice — rare,
    /// and only ever an over-count of the upper bound).
    fn answer(&self, state: &TenantState, file: &[u8; 32]) -> Result<TenantMatch> {
        let keys = state
            .keys
            .values()
            .next_back()
            .ok_or_else(|| VaultError::Internal("a tenant without keys".into()))?;
        let mut people: Vec<Named> = self
            .by_record
            .iter()
            .map(|(record, groups)| Named {
                pseudonym: hex::encode(keys.index.pseudonym(file, record.as_bytes())),
                confirmed: Self::is_confirmed(groups),
            })
            .collect();
        people.sort_by(|a, b| a.pseudonym.cmp(&b.pseudonym));
        Ok(TenantMatch {
            tenant: state.row.id.clone(),
            values_matched: self.values.len() as u64,
            people_possible: people.len() as u64,
            people_confirmed: people.iter().filter(|n| n.confirmed).count() as u64,
            people,
        })
    }
}

/// One tenant's customers a leaked file names, each confirmed or not —
/// all a breach analysis keeps of a match. Built part by part (each part
/// whole lines or rows, so a confirmation is never cut apart), so a file's
/// values never need to be held at once: per customer a flag, not the
/// values and groups that named them.
#[derive(Default)]
pub struct Leaked {
    pub(crate) records: HashMap<RecordId, bool>,
    /// Values that named at least one of the tenant's customers.
    pub(crate) values: u64,
}

impl Leaked {
    /// Adds the hits of one part of the file.
    pub(crate) fn add(&mut self, hits: Hits) {
        self.values += hits.values.len() as u64;
        for (record, groups) in hits.by_record {
            *self.records.entry(record).or_default() |= Hits::is_confirmed(&groups);
        }
    }

    /// Adds what another file (an entry of the same zip) named.
    pub(crate) fn merge(&mut self, other: Leaked) {
        self.values += other.values;
        for (record, confirmed) in other.records {
            *self.records.entry(record).or_default() |= confirmed;
        }
    }

    pub(crate) fn confirms(&self, id: &RecordId) -> bool {
        self.records.get(id).copied().unwrap_or(false)
    }

    pub(crate) fn confirmed_count(&self) -> usize {
        self.records.values().filter(|c| **c).count()
    }
}

/// Every tenant's part of one leaked file, gathered part by part.
#[derive(Default)]
pub struct LeakParts {
    pub(crate) values: u64,
    pub(crate) tenants: BTreeMap<String, Leaked>,
}

impl LeakParts {
    /// Adds what another file (an entry of the same zip) named.
    pub(crate) fn merge(&mut self, other: LeakParts) {
        self.values += other.values;
        for (tenant, leaked) in other.tenants {
            self.tenants.entry(tenant).or_default().merge(leaked);
        }
    }
}

impl Vault {
    /// The tenants a leaked file is matched against: every active one,
    /// read once for all of a file's parts.
    pub(crate) fn active_tenants(&self) -> Result<Vec<Arc<TenantState>>> {
        let mut states = Vec::new();
        for row in self.store.tenants()? {
            let state = self.tenant(&row.id)?;
            if state.active() {
                states.push(state);
            }
        }
        Ok(states)
    }

    /// Matches one part of a leaked file's values against `states` (the
    /// active tenants) and adds what it names to `into`.
    ///
    /// Tenants are matched side by side, one per core: each tenant's
    /// lookups are its own index, and a breach analysis spends its time
    /// waiting on them.
    pub(crate) fn match_part(
        &self,
        found: &[Found],
        states: &[Arc<TenantState>],
        into: &mut LeakParts,
    ) -> Result<()> {
        into.values += found.len() as u64;
        let next = std::sync::atomic::AtomicUsize::new(0);
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(states.len());
        let work = || -> Result<Vec<(String, Hits)>> {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(state) = states.get(i) else {
                    return Ok(mine);
                };
                mine.push((state.row.id.clone(), self.hits(state, found)?));
            }
        };
        let done: Vec<Result<Vec<(String, Hits)>>> = std::thread::scope(|s| {
            let others: Vec<_> = (1..workers).map(|_| s.spawn(work)).collect();
            let mut all = vec![work()];
            for h in others {
                all.push(h.join().unwrap_or_else(|_| {
                    Err(VaultError::Internal("a matching thread panicked".into()))
                }));
            }
            all
        });
        for hits in done {
            for (tenant, hits) in hits? {
                if !hits.by_record.is_empty() {
                    into.tenants.entry(tenant).or_default().add(hits);
                }
            }
        }
        Ok(())
    }

    /// Matches values found in the file whose SHA-256 is `file_sha256`
    /// against every active tenant's customers. The customers named are
    /// charged to the caller's daily scan budget before anything is
    /// answered; a call over it is refused (and recorded) without counts.
    pub fn match_found(
        &self,
        caller: &Caller,
        file_sha256: &[u8; 32],
        found: &[Found],
    ) -> Result<MatchReport> {
        let d = self.gate.decide_scan(&caller.principal);
        let file = hex::encode(file_sha256);
        let event = self
            .gated(
                self.caller_event(caller, Action::ScanMatch.as_str(), "ok"),
                &d,
                "matching what a scan found is for the security office and its scanners",
            )?
            .detail("file_sha256", file.clone())
            .detail("values", found.len() as u64);
        let max = self.rules.scan.values_per_call;
        if found.len() > max {
            return Err(self.refuse_invalid(
                event,
                VaultError::bad(
                    ErrorCode::ScanTooManyValues,
                    format!("at most {max} values are matched in one call"),
                ),
            ));
        }
        self.count_request(&caller.principal.login)?;
        let mut matched = Vec::new();
        for state in self.active_tenants()? {
            let hits = self.hits(&state, found)?;
            if !hits.by_record.is_empty() {
                matched.push((state, hits));
            }
        }
        let records: Vec<RecordId> = matched
            .iter()
            .flat_map(|(_, h)| h.by_record.keys().copied())
            .collect();
        if let Err(err) =
            self.charge_scan(&caller.principal.login, &caller.principal.role, &records)
        {
            let e = event.detail("flag", "budget");
            return Err(self.refuse(e, AuditDecision::Deny, err.code().into(), err));
        }
        let mut report = MatchReport {
            file_sha256: file.clone(),
            values: found.len() as u64,
            tenants: Vec::new(),
        };
        for (state, hits) in &matched {
            let m = hits.answer(state, file_sha256)?;
            let mut ids: Vec<String> = hits.by_record.keys().map(RecordId::to_string).collect();
            ids.sort();
            let mut e = self
                .caller_event(caller, Action::ScanMatch.as_str(), "ok")
                .tenant(&m.tenant)
                .detail("file_sha256", file.clone())
                .detail("people_possible", m.people_possible)
                .detail("people_confirmed", m.people_confirmed);
            e.records = ids;
            e.policies = d.policies().to_vec();
            self.audit.append(e)?;
            report.tenants.push(m);
        }
        report.tenants.sort_by(|a, b| a.tenant.cmp(&b.tenant));
        let per_tenant: Vec<serde_json::Value> = report
            .tenants
            .iter()
            .map(|t| serde_json::json!([t.tenant, t.people_possible, t.people_confirmed]))
            .collect();
        self.audit.append(event.detail("tenants", per_tenant))?;
        Ok(report)
    }

    /// The tenant's customers each value names. Identifying values (a
    /// phone, an e-mail, a My Number, a customer number) name customers;
    /// quasi-identifiers (a birth date, a postal code, an address, a kana
    /// name) are shared by many people and only confirm a customer an
    /// identifying value of the same row named — alone, a birth date would
    /// make every customer born that day "possible" (and did: a 200,000-row
    /// leak took 2.7 GB to hold them).
    pub(crate) fn hits(&self, state: &TenantState, found: &[Found]) -> Result<Hits> {
        let mut hits = Hits::default();
        let keys: Vec<(&str, FieldType)> = state
            .schema
            .search_keys()
            .into_iter()
            .filter_map(|k| Some((k, state.schema.search_key_type(k)?)))
            .collect();
        for identifying in [true, false] {
            for &(key, ty) in keys
                .iter()
                .filter(|(_, ty)| is_identifying(*ty) == identifying)
            {
                self.hits_of(state, key, ty, found, &mut hits)?;
            }
        }
        Ok(hits)
    }

    /// Adds the hits of one search key; quasi-identifying keys only add to
    /// customers already named.
    fn hits_of(
        &self,
        state: &TenantState,
        key: &str,
        ty: FieldType,
        found: &[Found],
        hits: &mut Hits,
    ) -> Result<()> {
        let identifying = is_identifying(ty);
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
                    let groups = match hits.by_record.get_mut(&record) {
                        Some(g) => g,
                        None if identifying => hits.by_record.entry(record).or_default(),
                        None => continue,
                    };
                    // A quasi-identifier counts only in a row where the
                    // customer was named.
                    let group = match groups.get_mut(&found[i].group) {
                        Some(v) => v,
                        None if identifying => groups.entry(found[i].group).or_default(),
                        None => continue,
                    };
                    group.insert(i);
                    hits.values.insert(i);
                }
            }
        }
        Ok(())
    }
}

/// Whether a value of this type names one person (rather than many).
fn is_identifying(ty: FieldType) -> bool {
    matches!(
        ty,
        FieldType::Phone
            | FieldType::Email
            | FieldType::MyNumber
            | FieldType::Text
            | FieldType::Number
    )
}

/// A scanned file's candidates as the vault matches them (card numbers,
/// which no searchable field holds, are left out). They move out of the
/// report: no second copy of a value is made.
pub fn take_found(report: &mut mamori_scan::FileReport) -> Vec<Found> {
    found_of(std::mem::take(&mut report.findings.candidates))
}

/// Candidates as the vault matches them, moved (no second copy of a value).
pub fn found_of(candidates: Vec<mamori_scan::Candidate>) -> Vec<Found> {
    candidates
        .into_iter()
        .filter_map(|c| {
            Some(Found {
                ty: c.kind.field_type()?,
                value: c.value,
                group: c.group,
            })
        })
        .collect()
}
