//! The request path for customer data. Each public method here is one API
//! operation, and each follows the same order: validate, authorise, read,
//! decrypt what the view allows, mask, audit (fail closed), return.

use crate::ErrorCode;
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use mamori_audit::{Decision as AuditDecision, Event};
use mamori_core::{
    FieldClass, FieldType, MaskKind, Purpose, RecordId, Schema, TenantId, case_id, normalize,
    schema::KEY_FIELD,
};
use mamori_policy::{Action, DataRequest, Decision, Permit, Principal, mask};
use mamori_store::{AccessRequestRow, RecordRow, Token, WriteKind};
use serde::Serialize;

use crate::{
    Vault,
    error::{Result, VaultError},
    kernel::caller::Caller,
    kernel::{
        released::Released,
        write::{prepare_write, validate_fields},
    },
    sealed,
    tenants::TenantState,
    usage::GrantCharge,
};

/// Why the caller is looking: the purpose (利用目的) and the case or call id.
#[derive(Clone, Copy, Debug, Default)]
pub struct Access<'a> {
    pub purpose: Option<&'a str>,
    pub case_id: Option<&'a str>,
}

/// Which value to look a customer up by, as typed (normalised here).
#[derive(Clone, Debug)]
pub struct SearchBy {
    pub key: String,
    pub value: String,
}

/// A record as the caller may see it: only the purpose's fields, masked.
#[derive(Clone, Debug, Serialize)]
pub struct RecordView {
    pub id: String,
    pub segment: String,
    pub fields: BTreeMap<String, String>,
    /// Fields shown in part only, with the mask applied.
    pub masked: BTreeMap<String, MaskKind>,
    pub updated_at: i64,
}

/// What a search shows. Matches in segments the caller may not see are
/// neither shown nor counted here (the count would tell that a value
/// belongs to someone there); the audit event records how many there were.
#[derive(Clone, Debug, Serialize)]
pub struct SearchResult {
    pub records: Vec<RecordView>,
}

/// A record the gate allowed to be shown, with its permit and the grant it
/// was allowed under (if any): the only kind of row a read decrypts.
struct Shown<'g> {
    row: RecordRow,
    grant: Option<&'g AccessRequestRow>,
    _permit: Permit,
}

/// What a grant holder reading under another case id is told.
const GRANT_OTHER_CASE: &str =
    "your grant for this serves only the case it was approved for: name that case_id";

/// What a caller with no assignment to a tenant and no live grant on it is
/// told: the same words whether or not the tenant exists (invariant 11).
const DOOR_REFUSAL: &str = "no assignment or live grant of yours covers this tenant";

#[derive(Clone, Debug, Serialize)]
pub struct WriteOutcome {
    pub id: String,
    pub created: bool,
}

fn loggable_purpose(p: Option<&str>) -> Option<String> {
    p.map(|p| {
        let ok = !p.is_empty()
            && p.len() <= 64
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            p.to_owned()
        } else {
            "(not an identifier)".to_owned()
        }
    })
}

/// Whether `view` shows a sensitive field in full.
fn shows_sensitive(schema: &Schema, view: &BTreeMap<String, MaskKind>) -> bool {
    view.iter().any(|(name, kind)| {
        *kind == MaskKind::Full
            && schema
                .field(name)
                .is_some_and(|f| f.class == FieldClass::Sensitive)
    })
}

/// What detection needs to know about a read besides ids: the sensitive
/// fields shown in full and the segments of the records (names only).
fn detection_facts(mut event: Event, schema: &Schema, records: &[RecordView]) -> Event {
    let mut unmasked = BTreeSet::new();
    let mut segments = BTreeSet::new();
    for r in records {
        segments.insert(r.segment.as_str());
        for name in r.fields.keys().filter(|f| !r.masked.contains_key(*f)) {
            if schema
                .field(name)
                .is_some_and(|f| f.class == FieldClass::Sensitive)
            {
                unmasked.insert(name.as_str());
            }
        }
    }
    if !unmasked.is_empty() {
        event = event.detail("unmasked", unmasked.into_iter().collect::<Vec<_>>());
    }
    if !segments.is_empty() {
        event = event.detail("segments", segments.into_iter().collect::<Vec<_>>());
    }
    event
}

impl Vault {
    /// The event of a non-data action the gate decided: when allowed, the
    /// event to append once the action is done; when refused, the refusal is
    /// recorded and the caller told the policy's hint (or `fallback`).
    pub(crate) fn gated(&self, event: Event, decision: &Decision, fallback: &str) -> Result<Event> {
        self.permitted(event, decision, fallback).map(|(e, _)| e)
    }

    /// [`gated`](Self::gated), keeping the gate's permit: for an act that
    /// hands over personal data (`Released` asks for it).
    pub(crate) fn permitted(
        &self,
        mut event: Event,
        decision: &Decision,
        fallback: &str,
    ) -> Result<(Event, Permit)> {
        event.policies = decision.policies().to_vec();
        if let Some(permit) = decision.permit() {
            return Ok((event, permit));
        }
        event.decision = AuditDecision::Deny;
        event.reason = decision.reason();
        self.audit.append(self.placed(event)?)?;
        let reason = if decision.hints().is_empty() {
            fallback.to_owned()
        } else {
            decision.hints().join("; ")
        };
        Err(VaultError::Forbidden { reason })
    }

    /// The event of a data request, without its case id: that is recorded
    /// only once `check_case_id` passed it (it may be personal data).
    fn event(&self, caller: &Caller, action: Action, tenant: &str, access: Access<'_>) -> Event {
        let mut e = self
            .caller_event(caller, action.as_str(), "allowed")
            .tenant(tenant);
        e.purpose = loggable_purpose(access.purpose);
        e
    }

    /// Checks a case id before it is recorded anywhere: the shape and
    /// personal-data checks every tenant shares, the tenant's own pattern,
    /// and that it is not one of the tenant's customer numbers.
    pub(crate) fn check_case_id(&self, state: &TenantState, case_id: &str) -> Result<()> {
        let refused = |message: String| VaultError::bad(ErrorCode::CaseIdInvalid, message);
        case_id_form(&state.schema, case_id).map_err(refused)?;
        let as_key = BTreeMap::from([(KEY_FIELD.to_owned(), case_id.to_owned())]);
        if self.existing(state, &as_key)?.is_some() {
            return Err(refused(
                "a case id must not be personal data; this one is a customer number".into(),
            ));
        }
        Ok(())
    }

    /// Records a gate refusal and explains it to the caller in terms they can act on.
    fn deny(
        &self,
        caller: &Caller,
        mut event: Event,
        decision: &Decision,
        purpose: &Purpose,
    ) -> VaultError {
        event.policies = decision.policies().to_vec();
        let hint = if !decision.hints().is_empty() {
            decision.hints().join("; ")
        } else if decision.policies().is_empty() && !purpose.roles.contains(&caller.role) {
            format!(
                "purpose '{}' is not available to the role {}",
                purpose.id, caller.role
            )
        } else if decision.policies().is_empty() {
            "no assignment covers this tenant or segment, or the role may not do this".to_owned()
        } else {
            format!("forbidden by policy {}", decision.policies().join(", "))
        };
        self.refuse(
            event,
            AuditDecision::Deny,
            decision.reason(),
            VaultError::Forbidden { reason: hint },
        )
    }

    /// The tenant door, passed before anything about the tenant is looked
    /// up: customer data of a tenant is reached only through an assignment
    /// to it or a live grant on it (every data policy asks for one of them),
    /// so a caller with neither is refused with one answer whether the tenant
    /// exists or not. The refusal goes to the tenant's log when there is such
    /// a tenant, else to the system log without the submitted id; either way
    /// the same one store read and one append are done before answering.
    fn enter(
        &self,
        caller: &Caller,
        action: Action,
        tenant: &str,
        access: Access<'_>,
    ) -> Result<Arc<TenantState>> {
        self.door(
            caller,
            || self.event(caller, action, tenant, access),
            tenant,
        )?;
        self.tenant_at(tenant, Some(caller.rev))
    }

    /// The tenant door alone, for requests that reach a tenant's data in
    /// bulk (exports): passes, or records `event` as refused and answers
    /// as for a tenant that does not exist.
    /// The refusal's event is built only when there is a refusal: the door
    /// is on every data request's path.
    pub(crate) fn door(
        &self,
        caller: &Caller,
        event: impl FnOnce() -> Event,
        tenant: &str,
    ) -> Result<()> {
        if caller.in_scope(tenant) && caller.facts.reaches(tenant, self.now()) {
            return Ok(());
        }
        Err(self.refuse(
            self.placed(event())?,
            AuditDecision::Deny,
            "tenant_not_assigned".into(),
            VaultError::Forbidden {
                reason: DOOR_REFUSAL.into(),
            },
        ))
    }

    /// A refusal decided before its tenant was looked up goes to that
    /// tenant's log when there is such a tenant, and otherwise to the system
    /// log without the submitted id (no log is made for a name someone typed).
    /// One store read either way.
    pub(crate) fn placed(&self, mut event: Event) -> Result<Event> {
        let Some(tenant) = event.tenant.as_deref() else {
            return Ok(event);
        };
        let known = TenantId::parse(tenant).is_ok() && self.store.tenant(tenant)?.is_some();
        if !known {
            event.tenant = None;
            event = event.detail("tenant", "unknown");
        }
        Ok(event)
    }

    /// Records a refusal to show or change a record the caller reached but
    /// may not act on (another segment), and answers exactly as for a record
    /// that does not exist: an id or customer number in a segment one may not
    /// see must look like a random one (invariant 11).
    fn refuse_as_missing(&self, mut event: Event, decision: &Decision) -> VaultError {
        event.policies = decision.policies().to_vec();
        self.refuse(
            event,
            AuditDecision::Deny,
            decision.reason(),
            VaultError::NotFound { what: "record" },
        )
    }

    /// Checks what every data request needs: an active tenant, a well-formed
    /// case id that is not personal data, a defined purpose, the rate limit.
    /// Returns the purpose and the request's event (its case id recorded
    /// only once checked).
    fn prepare<'s>(
        &self,
        caller: &Caller,
        action: Action,
        tenant: &str,
        access: Access<'_>,
        state: &'s TenantState,
    ) -> Result<(&'s Purpose, Event)> {
        let mut event = self.event(caller, action, tenant, access);
        if !state.active() {
            return Err(self.refuse(
                event,
                AuditDecision::Deny,
                "tenant_shredded".into(),
                VaultError::Shredded(tenant.to_owned()),
            ));
        }
        if let Some(c) = access.case_id {
            if let Err(err) = self.check_case_id(state, c) {
                return Err(self.refuse_invalid(event, err));
            }
            event.case_id = Some(c.to_owned());
        }
        let Some(purpose_id) = access.purpose.filter(|p| !p.trim().is_empty()) else {
            let err = VaultError::bad(
                ErrorCode::PurposeMissing,
                "every access to customer data must name a purpose (利用目的)",
            );
            return Err(self.refuse_invalid(event, err));
        };
        let Some(purpose) = state.schema.purpose(purpose_id) else {
            let known: Vec<&str> = state
                .schema
                .purposes
                .iter()
                .map(|p| p.id.as_str())
                .collect();
            let err = VaultError::bad(
                ErrorCode::PurposeUnknown,
                format!("unknown purpose; this tenant defines: {}", known.join(", ")),
            );
            return Err(self.refuse_invalid(event, err));
        };
        if let Err(err) = self.count_request(&caller.principal.login) {
            return Err(self.refuse(event, AuditDecision::Deny, err.code().into(), err));
        }
        Ok((purpose, event))
    }

    /// The gate's decision on the caller's standing access.
    fn decide(
        &self,
        caller: &Caller,
        action: Action,
        state: &TenantState,
        segment: Option<&str>,
        purpose: &Purpose,
        access: Access<'_>,
    ) -> Decision {
        self.decide_as(&caller.principal, action, state, segment, purpose, access)
    }

    pub(crate) fn decide_as(
        &self,
        principal: &Principal,
        action: Action,
        state: &TenantState,
        segment: Option<&str>,
        purpose: &Purpose,
        access: Access<'_>,
    ) -> Decision {
        let roles: Vec<&str> = purpose.roles.iter().map(|r| r.as_str()).collect();
        let segments: Vec<String> = state.schema.segments.iter().map(|s| s.id.clone()).collect();
        self.gate.decide(
            principal,
            &DataRequest {
                action,
                tenant: &state.row.id,
                segment,
                tenant_segments: &segments,
                purpose: &purpose.id,
                purpose_known: true,
                purpose_roles: &roles,
                has_case: access.case_id.is_some(),
                tenant_active: state.active(),
            },
        )
    }

    /// The gate's refusal (the first segment's) when `action` is allowed in
    /// no segment of the tenant on standing access; None when some segment
    /// allows it.
    fn refused_in_every_segment(
        &self,
        caller: &Caller,
        action: Action,
        state: &TenantState,
        purpose: &Purpose,
        access: Access<'_>,
    ) -> Option<Decision> {
        let mut first = None;
        for segment in &state.schema.segments {
            let d = self.decide(caller, action, state, Some(&segment.id), purpose, access);
            if d.allowed() {
                return None;
            }
            first.get_or_insert(d);
        }
        first.or(Some(Decision::refused()))
    }

    /// Standing access first; when that is simply not granted (no forbid),
    /// the caller's live grants for this tenant, purpose and segment are put
    /// before the gate. Returns the grant the access rests on, if any.
    fn decide_with_grants<'c>(
        &self,
        caller: &'c Caller,
        action: Action,
        state: &TenantState,
        segment: Option<&str>,
        purpose: &Purpose,
        access: Access<'_>,
    ) -> (Decision, Option<&'c AccessRequestRow>) {
        let standing = self.decide(caller, action, state, segment, purpose, access);
        if standing.allowed() || !standing.policies().is_empty() {
            return (standing, None);
        }
        let now = self.now();
        let (covering, other_case): (Vec<&AccessRequestRow>, Vec<&AccessRequestRow>) = caller
            .facts
            .live_grants(now)
            .filter(|g| {
                g.tenant == state.row.id
                    && g.purpose == purpose.id
                    && (segment.is_none() || g.segment.is_none() || g.segment.as_deref() == segment)
            })
            // A grant serves the case it was approved for, and no other.
            .partition(|g| access.case_id == Some(g.case_id.as_str()));
        let Some(first) = covering.first().copied() else {
            if !other_case.is_empty() {
                return (standing.with_hint(GRANT_OTHER_CASE), None);
            }
            return (standing, None);
        };
        let mut p = caller.principal.clone();
        p.grant_scopes = covering
            .iter()
            .map(|g| (g.tenant.clone(), g.segment.clone()))
            .collect();
        let d = self.decide_as(&p, action, state, segment, purpose, access);
        let grant = d.allowed().then_some(first);
        (d, grant)
    }

    /// Reserves what a read is about to show against the daily and grant
    /// budgets; a refusal is recorded and flagged for detection.
    fn charge_or_refuse(&self, caller: &Caller, event: &Event, shown: &[Shown<'_>]) -> Result<()> {
        let ids: Vec<RecordId> = shown.iter().map(|s| s.row.id).collect();
        let mut charges: Vec<GrantCharge> = Vec::new();
        for Shown { row, grant, .. } in shown {
            let Some(g) = grant else { continue };
            match charges.iter_mut().find(|c| c.grant == g.id) {
                Some(c) => c.records.push(row.id),
                None => charges.push(GrantCharge {
                    grant: g.id,
                    budget: g.record_budget,
                    starts_at: g.starts_at,
                    ends_at: g.ends_at,
                    records: vec![row.id],
                }),
            }
        }
        match self.charge(
            &caller.principal.login,
            &caller.principal.role,
            &ids,
            &charges,
        ) {
            Ok(()) => Ok(()),
            Err(err) => {
                let mut e = event.clone().detail("flag", "budget");
                e.records.clear();
                Err(self.refuse(e, AuditDecision::Deny, err.code().into(), err))
            }
        }
    }

    pub(crate) fn tenant(&self, tenant: &str) -> Result<std::sync::Arc<TenantState>> {
        self.tenant_at(tenant, None)
    }

    /// The tenant as of the governance revision `rev` the caller
    /// authenticated with (no database read when nothing changed since).
    pub(crate) fn tenant_at(
        &self,
        tenant: &str,
        rev: Option<u64>,
    ) -> Result<std::sync::Arc<TenantState>> {
        TenantId::parse(tenant).map_err(|_| VaultError::NotFound { what: "tenant" })?;
        self.tenants
            .get(self.store.as_ref(), self.root.as_ref(), tenant, rev)
    }

    /// Decrypts and masks one stored record for `view`.
    fn view_of(
        &self,
        state: &TenantState,
        shown: &Shown<'_>,
        view: &BTreeMap<String, MaskKind>,
    ) -> Result<RecordView> {
        let row = &shown.row;
        let keys = state.keys_for(row.key_version)?;
        let plain = sealed::open(&keys.data, row.id.as_bytes(), &row.sealed, |f| {
            view.contains_key(f)
        })?;
        let mut fields = BTreeMap::new();
        let mut masked = BTreeMap::new();
        for (name, value) in plain {
            let kind = view[&name];
            let ty = state.schema.field(&name).map_or(FieldType::Text, |f| f.ty);
            if kind != MaskKind::Full {
                masked.insert(name.clone(), kind);
            }
            fields.insert(name, mask::apply(kind, ty, &value));
        }
        Ok(RecordView {
            id: row.id.to_string(),
            segment: row.segment.clone(),
            fields,
            masked,
            updated_at: row.updated_at,
        })
    }

    /// Finds customers by a searchable value (phone, e-mail, customer number, kana).
    pub fn search(
        &self,
        caller: &Caller,
        tenant: &str,
        access: Access<'_>,
        by: &SearchBy,
    ) -> Result<Released<SearchResult>> {
        let state = self.enter(caller, Action::Search, tenant, access)?;
        let (purpose, mut event) = self.prepare(caller, Action::Search, tenant, access, &state)?;
        // The key is recorded once known to be one of the schema's (an
        // unknown one is a submitted value, neither logged nor echoed).
        let Some(ty) = state.schema.search_key_type(&by.key) else {
            let keys: Vec<&str> = state.schema.search_keys().into_iter().collect();
            let err = VaultError::bad(
                ErrorCode::SearchKeyUnknown,
                format!(
                    "not a search key of this tenant; searchable: {}",
                    keys.join(", ")
                ),
            );
            return Err(self.refuse_invalid(event, err));
        };
        let normalized = match normalize::normalize(ty, &by.value) {
            Ok(n) => n,
            Err(e) => {
                let err = VaultError::bad(
                    ErrorCode::SearchValueInvalid,
                    format!("search value for '{}': {e}", by.key),
                );
                return Err(self.refuse_invalid(event.detail("by", by.key.as_str()), err));
            }
        };
        event = event.detail("by", by.key.as_str());
        let (decision, _) =
            self.decide_with_grants(caller, Action::Search, &state, None, purpose, access);
        event.policies = decision.policies().to_vec();
        let Some(permit) = decision.permit() else {
            return Err(self.deny(caller, event, &decision, purpose));
        };
        if by.key == KEY_FIELD {
            event =
                self.note_sequence(&caller.principal.login, &state, &by.key, &normalized, event);
        }
        let tokens: Vec<Token> = state
            .keys
            .values()
            .map(|k| k.index.token(&by.key, &normalized))
            .collect();
        let mut shown = Vec::new();
        let mut withheld = 0;
        for row in self.store.find(tenant, &by.key, &tokens)? {
            let (d, grant) = self.decide_with_grants(
                caller,
                Action::Read,
                &state,
                Some(&row.segment),
                purpose,
                access,
            );
            match d.permit() {
                Some(p) => shown.push(Shown {
                    row,
                    grant,
                    _permit: p,
                }),
                None => withheld += 1,
            }
        }
        let records = self.show(caller, &state, purpose, event, permit, &shown, |e| {
            e.detail("withheld", withheld)
        })?;
        Ok(records.map(|records| SearchResult { records }))
    }

    /// Charges the budgets, decrypts and masks what may be shown, and records
    /// it in the audit log — the common end of every read. `permit` is the
    /// request's; each row carries its own.
    #[allow(clippy::too_many_arguments)]
    fn show(
        &self,
        caller: &Caller,
        state: &TenantState,
        purpose: &Purpose,
        mut event: Event,
        permit: Permit,
        shown: &[Shown<'_>],
        finish: impl FnOnce(Event) -> Event,
    ) -> Result<Released<Vec<RecordView>>> {
        let standing = purpose.view_for(caller.role);
        // Each row's view: under a grant, only the fields it names.
        let views: Vec<std::borrow::Cow<'_, BTreeMap<String, MaskKind>>> = shown
            .iter()
            .map(|one| match one.grant {
                None => std::borrow::Cow::Borrowed(&standing),
                Some(g) => std::borrow::Cow::Owned(
                    standing
                        .iter()
                        .filter(|(f, _)| g.fields.contains(f))
                        .map(|(f, m)| (f.clone(), *m))
                        .collect(),
                ),
            })
            .collect();
        // A sensitive field shown in full is a sensitive act where the
        // tenant asks for a step-up: decided before anything is charged or
        // decrypted.
        if state.schema.step_up.as_ref().is_some_and(|r| r.unmask)
            && views.iter().any(|v| shows_sensitive(&state.schema, v))
        {
            event = self.stepped_up(caller, state, event)?;
        }
        self.charge_or_refuse(caller, &event, shown)?;
        let mut records = Vec::with_capacity(shown.len());
        let mut fields = BTreeSet::new();
        let mut by_grant: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (one, view) in shown.iter().zip(&views) {
            if let Some(g) = one.grant {
                by_grant
                    .entry(g.id.to_string())
                    .or_default()
                    .push(one.row.id.to_string());
            }
            fields.extend(view.keys().cloned());
            records.push(self.view_of(state, one, view)?);
        }
        event.records = records.iter().map(|r| r.id.clone()).collect();
        event.fields = fields.into_iter().collect();
        event = detection_facts(event, &state.schema, &records);
        // Checks against HR's households and the case feed, only where there is one.
        let household = caller.facts.household.as_ref();
        if household.is_some() || state.case_feed {
            let rows: Vec<&RecordRow> = shown.iter().map(|s| &s.row).collect();
            event = self.note_household(household, state, &rows, event)?;
            event = self.note_case(state, &rows, event)?;
        }
        if !by_grant.is_empty() {
            let grants: serde_json::Map<String, serde_json::Value> = by_grant
                .into_iter()
                .map(|(g, ids)| (g, ids.into()))
                .collect();
            event = event.detail("grants", grants);
        }
        let receipt = self.audit.append(finish(event))?;
        Ok(Released::new(permit, receipt, records))
    }

    /// Reads one record by its opaque id. Another tenant's id is "not found",
    /// exactly like a random one: the lookup is always scoped by tenant.
    pub fn get(
        &self,
        caller: &Caller,
        tenant: &str,
        id: &str,
        access: Access<'_>,
    ) -> Result<Released<RecordView>> {
        let state = self.enter(caller, Action::Read, tenant, access)?;
        let (purpose, mut event) = self.prepare(caller, Action::Read, tenant, access, &state)?;
        // Authorise at tenant level first, so an unassigned caller learns nothing about ids.
        let (decision, _) =
            self.decide_with_grants(caller, Action::Search, &state, None, purpose, access);
        let Some(permit) = decision.permit() else {
            return Err(self.deny(caller, event, &decision, purpose));
        };
        let row = match RecordId::parse(id) {
            Ok(rid) => self.store.record(tenant, &rid)?,
            Err(_) => None,
        };
        let Some(row) = row else {
            return Err(self.refuse(
                event,
                AuditDecision::Allow,
                "not_found".into(),
                VaultError::NotFound { what: "record" },
            ));
        };
        let (decision, grant) = self.decide_with_grants(
            caller,
            Action::Read,
            &state,
            Some(&row.segment),
            purpose,
            access,
        );
        event.policies = decision.policies().to_vec();
        event.records = vec![row.id.to_string()];
        let Some(row_permit) = decision.permit() else {
            return Err(self.refuse_as_missing(event, &decision));
        };
        let shown = Shown {
            row,
            grant,
            _permit: row_permit,
        };
        let records = self.show(caller, &state, purpose, event, permit, &[shown], |e| e)?;
        records
            .map(|mut r| r.pop())
            .transpose()
            .ok_or_else(|| VaultError::Internal("a shown record went missing".into()))
    }

    /// Creates or replaces the record of a customer number.
    pub fn upsert(
        &self,
        caller: &Caller,
        tenant: &str,
        customer_no: &str,
        segment: Option<&str>,
        fields: &BTreeMap<String, String>,
        access: Access<'_>,
    ) -> Result<WriteOutcome> {
        let state = self.enter(caller, Action::Write, tenant, access)?;
        let (purpose, mut event) = self.prepare(caller, Action::Write, tenant, access, &state)?;
        let mut input = fields.clone();
        match input.get(KEY_FIELD) {
            Some(v) if v.trim() != customer_no.trim() => {
                let err = VaultError::bad(
                    ErrorCode::CustomerNoMismatch,
                    "customer_no in the body differs from the one in the path",
                );
                return Err(self.refuse_invalid(event, err));
            }
            _ => input.insert(KEY_FIELD.to_owned(), customer_no.to_owned()),
        };
        let segment = segment.unwrap_or(state.schema.default_segment()).to_owned();
        let canonical = match validate_fields(&state.schema, &segment, &input) {
            Ok(c) => c,
            Err((code, msg)) => {
                return Err(self.refuse_invalid(event, VaultError::bad(code, msg)));
            }
        };
        let existing = self.existing(&state, &canonical)?;
        let mut segments = vec![segment.clone()];
        if let Some((_, old)) = &existing {
            segments.push(old.clone());
        }
        for seg in &segments {
            let decision = self.decide(caller, Action::Write, &state, Some(seg), purpose, access);
            if !decision.allowed() {
                return Err(self.deny(caller, event, &decision, purpose));
            }
        }
        let write = prepare_write(
            &state,
            existing.map(|(id, _)| id),
            segment,
            &canonical,
            self.now(),
        )?;
        let outcome = WriteOutcome {
            id: write.record.id.to_string(),
            created: write.kind == WriteKind::New,
        };
        event.records = vec![outcome.id.clone()];
        event.fields = canonical.keys().cloned().collect();
        // Audit first: a write that cannot be recorded does not happen.
        self.audit.append(event)?;
        self.store.write_records(tenant, &[write])?;
        Ok(outcome)
    }

    /// Deletes the record of a customer number.
    pub fn delete(
        &self,
        caller: &Caller,
        tenant: &str,
        customer_no: &str,
        access: Access<'_>,
    ) -> Result<String> {
        let state = self.enter(caller, Action::Delete, tenant, access)?;
        let (purpose, mut event) = self.prepare(caller, Action::Delete, tenant, access, &state)?;
        // Decided before the lookup: one who may delete in no segment of the
        // tenant learns nothing about which customer numbers exist.
        if let Some(decision) =
            self.refused_in_every_segment(caller, Action::Delete, &state, purpose, access)
        {
            event.policies = decision.policies().to_vec();
            return Err(self.deny(caller, event, &decision, purpose));
        }
        let key = BTreeMap::from([(KEY_FIELD.to_owned(), customer_no.to_owned())]);
        let found = match normalize::normalize(FieldType::Text, customer_no) {
            Ok(_) => self.existing(&state, &key)?,
            Err(_) => None,
        };
        let Some((id, segment)) = found else {
            return Err(self.refuse(
                event,
                AuditDecision::Allow,
                "not_found".into(),
                VaultError::NotFound { what: "record" },
            ));
        };
        let decision = self.decide(
            caller,
            Action::Delete,
            &state,
            Some(&segment),
            purpose,
            access,
        );
        event.policies = decision.policies().to_vec();
        event.records = vec![id.to_string()];
        if !decision.allowed() {
            return Err(self.refuse_as_missing(event, &decision));
        }
        self.audit.append(event)?;
        self.store.delete_record(tenant, &id)?;
        Ok(id.to_string())
    }

    /// The id and segment of the record holding this customer number, if any,
    /// looking under every key version still in use.
    pub(crate) fn existing(
        &self,
        state: &TenantState,
        canonical: &BTreeMap<String, String>,
    ) -> Result<Option<(RecordId, String)>> {
        let Some(no) = canonical.get(KEY_FIELD) else {
            return Ok(None);
        };
        let norm = normalize::normalize(FieldType::Text, no)
            .map_err(|e| VaultError::bad(ErrorCode::FieldInvalid, format!("{KEY_FIELD}: {e}")))?;
        let tokens: Vec<Token> = state
            .keys
            .values()
            .map(|k| k.index.token(KEY_FIELD, &norm))
            .collect();
        Ok(self
            .store
            .find(&state.row.id, KEY_FIELD, &tokens)?
            .into_iter()
            .next()
            .map(|row| (row.id, row.segment)))
    }
}

/// What a case id must look like for this tenant: the shape and
/// personal-data checks every tenant shares, then the tenant's own pattern.
/// The reason when not (never the value).
pub(crate) fn case_id_form(schema: &Schema, case_id: &str) -> std::result::Result<(), String> {
    case_id::check(case_id).map_err(|e| e.to_string())?;
    match &schema.case_id_pattern {
        Some(p) if !p.matches(case_id) => Err(format!(
            "this tenant's case ids have the form {}",
            p.as_str()
        )),
        _ => Ok(()),
    }
}
