//! Just-in-time access (A4, A5): a person asks for more than their standing
//! assignments — one segment, some fields, one purpose, a record budget, a
//! time window — with a case id and a real justification; someone else
//! approves or denies it; the gate then enforces the grant until it ends or
//! is revoked. Holders of standing full access may issue such grants directly.
//!
//! Every step is checked by the policy gate (who may approve whom is policy,
//! fed with facts of the org chart), recorded in the audit log, and kept in
//! the request's history after it ends. Free text (justification, comments)
//! is sealed under the tenant's key like any customer field.

use crate::ErrorCode;
use mamori_core::GrantId;
use mamori_core::jst;
use std::collections::{BTreeMap, HashMap};

use mamori_audit::Event;
use mamori_core::governance::weak_reason;
use mamori_policy::{Action, Decision, GrantRequest};
use mamori_store::{
    AccessRequestRow, Decided, GrantOrigin, HistoryRow, RequestFilter, RequestStage, RequestState,
};
use serde::{Deserialize, Serialize};

pub use crate::kernel::history::HistoryStep;

use crate::kernel::ids::parse_id;
use crate::{
    Caller, Vault,
    error::{Result, VaultError},
    sealed,
    tenants::{TenantMemo, TenantState},
};

/// Field names under which free text is sealed (AAD binds them).
const JUSTIFICATION: &str = "request.justification";

/// What someone asks for.
#[derive(Clone, Debug, Deserialize)]
pub struct NewRequest {
    pub tenant: String,
    /// None: every segment of the tenant.
    pub segment: Option<String>,
    pub fields: Vec<String>,
    pub purpose: String,
    pub case_id: String,
    pub justification: String,
    pub record_budget: u64,
    /// Start (Unix seconds); None: now.
    pub starts_at: Option<i64>,
    /// Length of the window; None: the maximum for requests, the issue default for issued grants.
    pub hours: Option<u32>,
}

/// What a request for data (a grant or an export) names, for validation.
pub(crate) struct Scope<'a> {
    pub purpose: &'a str,
    pub segment: Option<&'a str>,
    pub fields: &'a [String],
    pub case_id: &'a str,
    pub justification: &'a str,
}

/// Where a request stands now, derived from its state and the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for a decision.
    Pending,
    /// Never decided before its window ended.
    Lapsed,
    Denied,
    /// Approved; its window has not begun.
    Scheduled,
    Active,
    Expired,
    Revoked,
}

/// A request as shown to those who may see it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestView {
    pub id: String,
    pub tenant: String,
    pub requester: String,
    pub segment: Option<String>,
    pub fields: Vec<String>,
    pub purpose: String,
    pub case_id: String,
    pub justification: String,
    pub record_budget: u64,
    /// Customers read under the grant so far (approved grants only).
    pub records_used: Option<u64>,
    pub starts_at: String,
    pub ends_at: String,
    pub status: Status,
    pub origin: GrantOrigin,
    pub decided_by: Option<String>,
    pub revoked_by: Option<String>,
    pub history: Vec<HistoryStep>,
}

/// Which requests to list.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListFilter {
    pub tenant: Option<String>,
    /// Only pending requests (what is waiting for an approver).
    #[serde(default)]
    pub pending: bool,
    /// Only the caller's own requests.
    #[serde(default)]
    pub mine: bool,
    pub limit: Option<usize>,
}

pub(crate) fn status(row: &AccessRequestRow, now: i64) -> Status {
    match row.stage.state() {
        RequestState::Pending if now >= row.ends_at => Status::Lapsed,
        RequestState::Pending => Status::Pending,
        RequestState::Denied => Status::Denied,
        RequestState::Revoked => Status::Revoked,
        RequestState::Approved if now < row.starts_at => Status::Scheduled,
        RequestState::Approved if now < row.ends_at => Status::Active,
        RequestState::Approved => Status::Expired,
    }
}

impl Vault {
    fn grant_event(&self, caller: &Caller, action: Action, tenant: &str) -> Event {
        self.caller_event(caller, action.as_str(), "ok")
            .tenant(tenant)
    }

    /// Asks the gate about `action` on a request for `requester`, with the org-chart facts.
    pub(crate) fn decide_on(
        &self,
        caller: &Caller,
        action: Action,
        tenant: &str,
        requester: &str,
    ) -> Result<Decision> {
        if !caller.in_scope(tenant) {
            return Ok(Decision::refused());
        }
        let me = caller.principal.login.as_str();
        let (manages, managed_by) = self.relation(me, requester)?;
        Ok(self.gate.decide_grant(
            &caller.principal,
            &GrantRequest {
                action,
                tenant,
                requester,
                is_requester: me == requester,
                manages_requester: manages,
                managed_by_requester: managed_by,
                holds_full_access: caller.facts.holds_full_access(tenant),
            },
        ))
    }

    /// Checks what a request for data names against the tenant's schema:
    /// a purpose the role may use, a known segment, fields the purpose shows
    /// that role, a case id and a real justification. Returns the purpose.
    pub(crate) fn check_scope<'s>(
        &self,
        state: &'s TenantState,
        role: mamori_core::Role,
        scope: &Scope<'_>,
    ) -> Result<&'s mamori_core::Purpose> {
        let schema = &state.schema;
        let Some(purpose) = schema.purpose(scope.purpose) else {
            let known: Vec<&str> = schema.purposes.iter().map(|p| p.id.as_str()).collect();
            return Err(VaultError::bad(
                ErrorCode::PurposeUnknown,
                format!("unknown purpose; this tenant defines: {}", known.join(", ")),
            ));
        };
        if !purpose.roles.contains(&role) {
            return Err(VaultError::bad(
                ErrorCode::PurposeNotForRole,
                format!(
                    "purpose '{}' is not available to the role {role}",
                    purpose.id
                ),
            ));
        }
        if let Some(seg) = scope.segment
            && schema.segment(seg).is_none()
        {
            let known: Vec<&str> = schema.segments.iter().map(|s| s.id.as_str()).collect();
            return Err(VaultError::bad(
                ErrorCode::SegmentUnknown,
                format!("unknown segment; this tenant has: {}", known.join(", ")),
            ));
        }
        let view = purpose.view_for(role);
        if scope.fields.is_empty() {
            return Err(VaultError::bad(
                ErrorCode::FieldsMissing,
                "name the fields the work needs (least privilege)",
            ));
        }
        if scope.fields.iter().any(|f| !view.contains_key(f)) {
            let known: Vec<&str> = view.keys().map(String::as_str).collect();
            return Err(VaultError::bad(
                ErrorCode::FieldNotInPurpose,
                format!(
                    "a field named is not shown for purpose '{}'; it shows: {}",
                    purpose.id,
                    known.join(", ")
                ),
            ));
        }
        self.check_case_id(state, scope.case_id)?;
        let min = self.rules.governance.min_justification_chars;
        if let Some(why) = weak_reason(scope.justification, min) {
            return Err(VaultError::bad(ErrorCode::JustificationTooWeak, why));
        }
        Ok(purpose)
    }

    /// Checks a new request against the tenant's schema and the configured limits.
    /// Returns the window (start, end).
    fn validate_request(
        &self,
        state: &TenantState,
        role: mamori_core::Role,
        req: &NewRequest,
        default_hours: u32,
    ) -> Result<(i64, i64)> {
        self.check_scope(
            state,
            role,
            &Scope {
                purpose: &req.purpose,
                segment: req.segment.as_deref(),
                fields: &req.fields,
                case_id: &req.case_id,
                justification: &req.justification,
            },
        )?;
        let g = &self.rules.governance;
        if req.record_budget == 0 || req.record_budget > g.max_grant_records {
            return Err(VaultError::bad(
                ErrorCode::RecordBudgetInvalid,
                format!("record budget must be 1-{} customers", g.max_grant_records),
            ));
        }
        let hours = req.hours.unwrap_or(default_hours);
        if hours == 0 || hours > g.max_grant_hours {
            return Err(VaultError::bad(
                ErrorCode::WindowInvalid,
                format!("a grant lasts 1-{} hours", g.max_grant_hours),
            ));
        }
        let now = self.now();
        let start = req.starts_at.unwrap_or(now);
        // A few minutes of clock skew are fine; backdating is not.
        if start < now - 300 {
            return Err(VaultError::bad(
                ErrorCode::WindowInvalid,
                "a grant cannot start in the past",
            ));
        }
        if start > now + i64::from(g.max_grant_hours) * 3600 * 7 {
            return Err(VaultError::bad(
                ErrorCode::WindowInvalid,
                "a grant cannot start that far ahead; request it closer to the work",
            ));
        }
        Ok((start, start + i64::from(hours) * 3600))
    }

    fn new_row(
        &self,
        state: &TenantState,
        requester: &str,
        req: &NewRequest,
        window: (i64, i64),
        origin: GrantOrigin,
        issuer: Option<&str>,
    ) -> Result<AccessRequestRow> {
        let keys = state.current()?;
        let id = GrantId::random();
        let justification = sealed::seal(
            &keys.data,
            id.as_bytes(),
            &BTreeMap::from([(
                JUSTIFICATION.to_owned(),
                req.justification.trim().to_owned(),
            )]),
        );
        let mut fields = req.fields.clone();
        fields.sort();
        fields.dedup();
        let now = self.now();
        Ok(AccessRequestRow {
            id,
            tenant: state.row.id.clone(),
            requester: requester.to_owned(),
            segment: req.segment.clone(),
            fields,
            purpose: req.purpose.clone(),
            case_id: req.case_id.clone(),
            justification,
            key_version: keys.version,
            record_budget: req.record_budget,
            starts_at: window.0,
            ends_at: window.1,
            // An issued grant is approved by its issuer as it is made.
            stage: match issuer {
                Some(by) => RequestStage::Approved(Decided {
                    by: by.to_owned(),
                    at: now,
                }),
                None => RequestStage::Pending,
            },
            origin,
            created_at: now,
        })
    }

    fn request_event(&self, mut e: Event, row: &AccessRequestRow, req: &NewRequest) -> Event {
        e.purpose = Some(row.purpose.clone());
        e.case_id = Some(row.case_id.clone());
        e.fields = row.fields.clone();
        e = e
            .detail("request", row.id.to_string())
            .detail("requester", row.requester.as_str())
            .detail("record_budget", row.record_budget)
            .detail("starts_at", row.starts_at)
            .detail("ends_at", row.ends_at)
            .detail(
                "justification_chars",
                mamori_core::governance::meaningful_chars(&req.justification),
            );
        e.detail
            .insert("segment".into(), row.segment.clone().into());
        e
    }

    /// Files a request for access beyond the caller's standing assignments.
    pub fn request_access(&self, caller: &Caller, req: &NewRequest) -> Result<RequestView> {
        let me = caller.principal.login.clone();
        // The gate before the tenant is looked up: one who may not ask learns
        // nothing about which tenants exist.
        let d = self.decide_on(caller, Action::AccessRequest, &req.tenant, &me)?;
        let e = self.gated(
            self.grant_event(caller, Action::AccessRequest, &req.tenant),
            &d,
            "only staff assigned to this tenant may request access to it",
        )?;
        let state = self.tenant(&req.tenant)?;
        let max = self.rules.governance.max_grant_hours;
        let window = self.validate_request(&state, caller.role, req, max)?;
        let row = self.new_row(&state, &me, req, window, GrantOrigin::Requested, None)?;
        let e = self.request_event(e, &row, req);
        self.audit.append(e)?;
        self.store.insert_request(
            &row,
            &HistoryRow {
                at: row.created_at,
                actor: me,
                action: "requested".into(),
                comment: None,
            },
        )?;
        self.request_view(&state, &row)
    }

    /// A holder of standing full access gives someone a time-limited grant (A5).
    pub fn issue_grant(
        &self,
        caller: &Caller,
        recipient: &str,
        req: &NewRequest,
    ) -> Result<RequestView> {
        // The gate before the tenant or the recipient is looked up.
        let d = self.decide_on(caller, Action::AccessIssue, &req.tenant, recipient)?;
        let e = self.gated(
            self.grant_event(caller, Action::AccessIssue, &req.tenant),
            &d,
            "only holders of standing full access to this tenant issue grants",
        )?;
        let state = self.tenant(&req.tenant)?;
        let user = self
            .store
            .user(recipient)?
            .ok_or(VaultError::NotFound { what: "user" })?;
        let role: mamori_core::Role = user
            .role
            .parse()
            .map_err(|e| VaultError::Internal(format!("{e}")))?;
        let hours = self.rules.governance.issued_grant_hours;
        let window = self.validate_request(&state, role, req, hours)?;
        let issuer = caller.principal.login.clone();
        let row = self.new_row(
            &state,
            recipient,
            req,
            window,
            GrantOrigin::Issued,
            Some(&issuer),
        )?;
        let e = self.request_event(e, &row, req);
        self.audit.append(e)?;
        self.store.insert_request(
            &row,
            &HistoryRow {
                at: row.created_at,
                actor: issuer,
                action: "issued".into(),
                comment: None,
            },
        )?;
        self.request_view(&state, &row)
    }

    pub fn approve_request(
        &self,
        caller: &Caller,
        id: &str,
        comment: Option<&str>,
    ) -> Result<RequestView> {
        self.decide_request(caller, id, comment, RequestState::Approved)
    }

    /// Denies a pending request; a comment saying why is required.
    pub fn deny_request(&self, caller: &Caller, id: &str, comment: &str) -> Result<RequestView> {
        self.decide_request(caller, id, Some(comment), RequestState::Denied)
    }

    fn decide_request(
        &self,
        caller: &Caller,
        id: &str,
        comment: Option<&str>,
        to: RequestState,
    ) -> Result<RequestView> {
        let rid: GrantId = parse_id(id, "request")?;
        let row = self
            .store
            .request(&rid)?
            .ok_or(VaultError::NotFound { what: "request" })?;
        let state = self.tenant(&row.tenant)?;
        let verb = if to == RequestState::Approved {
            "approved"
        } else {
            "denied"
        };
        let d = self.decide_on(caller, Action::AccessApprove, &row.tenant, &row.requester)?;
        let e = self.gated(
            self.grant_event(caller, Action::AccessApprove, &row.tenant)
                .detail("request", id)
                .detail("requester", row.requester.as_str())
                .detail("outcome", verb),
            &d,
            "only the requester's supervisor or the security office decides this request",
        )?;
        let e = if to == RequestState::Approved {
            self.stepped_up(caller, &state, e)?
        } else {
            e
        };
        let now = self.now();
        if row.stage != RequestStage::Pending {
            return Err(self.refuse_state(
                e,
                ErrorCode::RequestNotPending,
                format!("the request is already {}", row.stage.state().as_str()),
            ));
        }
        if now >= row.ends_at {
            return Err(self.refuse_state(
                e,
                ErrorCode::RequestLapsed,
                "the requested window has ended; the requester must file a new request".into(),
            ));
        }
        let comment = self.checked_comment(comment, to == RequestState::Denied)?;
        self.audit.append(e.clone())?;
        let step = self.history_step(
            &caller.principal.login,
            &state,
            rid.as_bytes(),
            now,
            verb,
            comment,
        )?;
        if !self
            .store
            .transition(&rid, RequestState::Pending, to, &step)?
        {
            // Someone else decided or revoked it between our read and write;
            // the log must not keep a decision that did not happen.
            return Err(self.refuse_state(
                e,
                ErrorCode::RequestNotPending,
                "the request was decided or revoked by someone else a moment ago".into(),
            ));
        }
        self.view_by_id(&state, &rid)
    }

    /// Ends a pending request or a grant early. A reason is required.
    pub fn revoke_request(&self, caller: &Caller, id: &str, reason: &str) -> Result<RequestView> {
        let rid: GrantId = parse_id(id, "request")?;
        let row = self
            .store
            .request(&rid)?
            .ok_or(VaultError::NotFound { what: "request" })?;
        let state = self.tenant(&row.tenant)?;
        let d = self.decide_on(caller, Action::AccessRevoke, &row.tenant, &row.requester)?;
        let e = self.gated(
            self.grant_event(caller, Action::AccessRevoke, &row.tenant)
                .detail("request", id)
                .detail("requester", row.requester.as_str()),
            &d,
            "only the holder, their supervisor or the security office revokes this",
        )?;
        let now = self.now();
        let current = status(&row, now);
        if !matches!(
            current,
            Status::Pending | Status::Scheduled | Status::Active
        ) {
            return Err(self.refuse_state(
                e,
                ErrorCode::RequestNotRevocable,
                format!("the request is {current:?}; only pending requests and live grants can be revoked").to_lowercase(),
            ));
        }
        let reason = self.checked_comment(Some(reason), true)?;
        self.audit.append(e.clone())?;
        let step = self.history_step(
            &caller.principal.login,
            &state,
            rid.as_bytes(),
            now,
            "revoked",
            reason,
        )?;
        if !self
            .store
            .transition(&rid, row.stage.state(), RequestState::Revoked, &step)?
        {
            return Err(self.refuse_state(
                e,
                ErrorCode::RequestNotRevocable,
                "the request changed a moment ago; look at it again".into(),
            ));
        }
        self.view_by_id(&state, &rid)
    }

    /// One request with its history, for those the policy lets see it.
    pub fn access_request(&self, caller: &Caller, id: &str) -> Result<RequestView> {
        let rid: GrantId = parse_id(id, "request")?;
        let row = self
            .store
            .request(&rid)?
            .ok_or(VaultError::NotFound { what: "request" })?;
        let state = self.tenant(&row.tenant)?;
        let d = self.decide_on(caller, Action::AccessView, &row.tenant, &row.requester)?;
        let e = self
            .grant_event(caller, Action::AccessView, &row.tenant)
            .detail("request", id);
        // Indistinguishable from a missing id for those who may not see it.
        let e = self.gated(e, &d, "").map_err(|err| match err {
            VaultError::Forbidden { .. } => VaultError::NotFound { what: "request" },
            audit_failure => audit_failure,
        })?;
        self.audit.append(e)?;
        self.request_view(&state, &row)
    }

    /// Requests the caller may see, newest first.
    pub fn access_requests(&self, caller: &Caller, f: &ListFilter) -> Result<Vec<RequestView>> {
        let limit = f.limit.unwrap_or(100).clamp(1, 1000);
        let rows = self.store.requests(&RequestFilter {
            tenant: f.tenant.clone(),
            requesters: f.mine.then(|| vec![caller.principal.login.clone()]),
            state: f.pending.then_some(RequestState::Pending),
            ends_after: f.pending.then(|| self.now()),
            limit: 1000,
        })?;
        // The decision depends only on (tenant, requester): ask the gate (and
        // walk the org chart) once per pair, not once per row.
        let mut visible: HashMap<(String, String), bool> = HashMap::new();
        let mut states = TenantMemo::default();
        let mut out = Vec::new();
        for row in rows {
            if out.len() >= limit {
                break;
            }
            let key = (row.tenant.clone(), row.requester.clone());
            let allowed = match visible.get(&key) {
                Some(a) => *a,
                None => {
                    let a = self
                        .decide_on(caller, Action::AccessView, &row.tenant, &row.requester)?
                        .allowed();
                    visible.insert(key, a);
                    a
                }
            };
            if !allowed {
                continue;
            }
            let state = states.get(self, &row.tenant)?;
            out.push(self.request_view(&state, &row)?);
        }
        let e = self
            .caller_event(caller, "access.list", "ok")
            .detail("returned", out.len())
            .detail(
                "requests",
                out.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
            );
        self.audit.append(e)?;
        Ok(out)
    }

    fn view_by_id(&self, state: &TenantState, id: &GrantId) -> Result<RequestView> {
        let row = self
            .store
            .request(id)?
            .ok_or(VaultError::NotFound { what: "request" })?;
        self.request_view(state, &row)
    }

    fn request_view(&self, state: &TenantState, row: &AccessRequestRow) -> Result<RequestView> {
        let keys = state.keys_for(row.key_version)?;
        let mut plain = sealed::open(&keys.data, row.id.as_bytes(), &row.justification, |f| {
            f == JUSTIFICATION
        })?;
        let history = self.history_steps(
            state,
            row.id.as_bytes(),
            self.store.request_history(&row.id)?,
        )?;
        let records_used = match row.stage {
            RequestStage::Approved(_) => {
                Some(self.grant_used(&row.requester, &row.id, row.starts_at, row.ends_at)?)
            }
            _ => None,
        };
        Ok(RequestView {
            id: row.id.to_string(),
            tenant: row.tenant.clone(),
            requester: row.requester.clone(),
            segment: row.segment.clone(),
            fields: row.fields.clone(),
            purpose: row.purpose.clone(),
            case_id: row.case_id.clone(),
            justification: plain.remove(JUSTIFICATION).unwrap_or_default(),
            record_budget: row.record_budget,
            records_used,
            starts_at: jst::rfc3339(row.starts_at),
            ends_at: jst::rfc3339(row.ends_at),
            status: status(row, self.now()),
            origin: row.origin,
            decided_by: row.stage.decided().map(|d| d.by.clone()),
            revoked_by: row.stage.revoked().map(|d| d.by.clone()),
            history,
        })
    }
}
