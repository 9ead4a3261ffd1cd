//! Corrective directives (是正指示, L3; seed 004 asks that instructions and
//! their follow-up can be checked later). The security office, or a
//! supervisor for their own team, directs a person about an audit event or
//! an alert; the person acknowledges it. Both are audit events and nothing
//! else — the directive lives in the tenant's tamper-evident log, so its
//! issue and its acknowledgement are provable with inclusion proofs like
//! any access. The text may name a customer, so it is sealed under the
//! tenant's data key inside the event, never in clear.

use crate::ErrorCode;
use mamori_audit::{Decision, Event, SealedEvent};
use mamori_core::DirectiveId;
use mamori_core::RecordId;
use mamori_core::jst;
use mamori_policy::Action;
use mamori_store::{AuditQuery, each_audit_page};
use serde::Serialize;

use crate::kernel::ids::parse_id;
use crate::{
    Caller, Vault,
    error::{Result, VaultError},
    tenants::TenantState,
};

/// Where a step of a directive is in the audit log (for its proof).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventRef {
    pub log: String,
    pub seq: u64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectiveView {
    pub id: String,
    pub tenant: String,
    /// The person directed.
    pub to: String,
    /// Who issued it (`user:<login>`).
    pub from: String,
    /// `tenant/<id>#<seq>` (an audit event) or `alert:<id>`.
    pub about: String,
    pub text: String,
    pub issued_at: String,
    pub issued: EventRef,
    /// issued | acknowledged
    pub status: &'static str,
    pub acknowledged_at: Option<String>,
    pub response: Option<String>,
    pub acknowledged: Option<EventRef>,
}

const ISSUE: &str = "directive.issue";
const ACK: &str = "directive.ack";
/// Longest directive or response, in characters.
const MAX_TEXT: usize = 2000;

impl Vault {
    /// Directs `to` about an event of the tenant's log or an alert.
    pub fn issue_directive(
        &self,
        caller: &Caller,
        tenant: &str,
        to: &str,
        about: &str,
        text: &str,
    ) -> Result<DirectiveView> {
        // Its form is checked before anything is recorded (the log never
        // holds free text from `about`); whether the tenant, the person and
        // the event exist, only once the gate allowed the caller (no probing
        // of tenants, people or the log otherwise).
        let event = about_event(tenant, about)?;
        let text = self.checked_comment(Some(text), true)?.unwrap_or_default();
        check_length(text)?;
        let d = self.decide_on(caller, Action::DirectiveIssue, tenant, to)?;
        let id = RecordId::random();
        let mut e = self.gated(
            self.caller_event(caller, ISSUE, "ok")
                .tenant(tenant)
                .detail("to", to)
                .detail("about", about),
            &d,
            "corrective directives come from the security office, or from a supervisor to their team",
        )?;
        let state = self.tenant(tenant)?;
        if self.store.user(to)?.is_none() {
            return Err(VaultError::NotFound { what: "user" });
        }
        if let Some((log, seq)) = event
            && self.audit.store().event(&log, seq)?.is_none()
        {
            return Err(VaultError::NotFound {
                what: "audit event",
            });
        }
        e.case_id = Some(id.to_string());
        let e = e.detail(
            "text",
            hex::encode(self.seal_comment(&state, id.as_bytes(), text)?),
        );
        self.audit.append(e)?;
        self.directive(&state, &id.to_string())
    }

    /// The recipient acknowledges a directive, optionally saying what they did.
    pub fn acknowledge_directive(
        &self,
        caller: &Caller,
        tenant: &str,
        id: &str,
        response: Option<&str>,
    ) -> Result<DirectiveView> {
        let state = self.tenant(tenant)?;
        let issued = self.directive(&state, id)?;
        let d = self.decide_on(caller, Action::DirectiveAck, tenant, &issued.to)?;
        let mut e = self.gated(
            self.caller_event(caller, ACK, "ok").tenant(tenant),
            &d,
            "only the person a directive is addressed to acknowledges it",
        )?;
        e.case_id = Some(issued.id.clone());
        if issued.acknowledged.is_some() {
            return Err(self.refuse_state(
                e,
                ErrorCode::DirectiveAlreadyAcknowledged,
                "this directive was acknowledged already".into(),
            ));
        }
        let response = self.checked_comment(response, false)?;
        let mut e = e;
        if let Some(r) = response {
            check_length(r)?;
            let id = parse_id::<DirectiveId>(id, "directive")?;
            e = e.detail(
                "response",
                hex::encode(self.seal_comment(&state, id.as_bytes(), r)?),
            );
        }
        self.audit.append(e)?;
        self.directive(&state, id)
    }

    /// The tenant's directives the caller may see, newest first; optionally
    /// only those addressed to `to`.
    pub fn directives(
        &self,
        caller: &Caller,
        tenant: &str,
        to: Option<&str>,
    ) -> Result<Vec<DirectiveView>> {
        let state = self.tenant(tenant)?;
        let acks = self.events(tenant, ACK, None)?;
        let mut out = Vec::new();
        for issue in self.events(tenant, ISSUE, None)?.into_iter().rev() {
            let recipient = detail(&issue, "to");
            if to.is_some_and(|t| t != recipient) {
                continue;
            }
            if self
                .decide_on(caller, Action::DirectiveView, tenant, &recipient)?
                .allowed()
            {
                let ack = acks.iter().find(|a| a.event.case_id == issue.event.case_id);
                out.push(self.view(&state, &issue, ack)?);
            }
        }
        self.audit.append(
            self.caller_event(caller, "directive.list", "ok")
                .tenant(tenant)
                .detail("returned", out.len()),
        )?;
        Ok(out)
    }

    /// One directive, seen by someone the policy lets see it.
    pub fn show_directive(&self, caller: &Caller, tenant: &str, id: &str) -> Result<DirectiveView> {
        let state = self.tenant(tenant)?;
        let view = self.directive(&state, id)?;
        let d = self.decide_on(caller, Action::DirectiveView, tenant, &view.to)?;
        let mut e = self.gated(
            self.caller_event(caller, "directive.view", "ok").tenant(tenant),
            &d,
            "a directive is seen by its recipient, their managers, the security office and auditors",
        )?;
        e.case_id = Some(view.id.clone());
        self.audit.append(e)?;
        Ok(view)
    }

    /// The allowed events of `action` in the tenant's log, oldest first
    /// (all, or those of one directive).
    fn events(&self, tenant: &str, action: &str, id: Option<&str>) -> Result<Vec<SealedEvent>> {
        let mut out = Vec::new();
        let query = AuditQuery {
            tenant: Some(tenant.to_owned()),
            action: Some(action.to_owned()),
            case_id: id.map(str::to_owned),
            limit: 1000,
            ..Default::default()
        };
        each_audit_page(&**self.audit.store(), query, |rows| -> Result<bool> {
            // Refused attempts are in the log too; only what was done counts.
            for r in rows
                .iter()
                .filter(|r| r.decision == Decision::Allow.as_str())
            {
                out.push(serde_json::from_slice(&r.body).map_err(|_| {
                    VaultError::Internal("stored audit event does not parse".into())
                })?);
            }
            Ok(true)
        })?;
        Ok(out)
    }

    /// A directive by id, from its events.
    fn directive(&self, state: &TenantState, id: &str) -> Result<DirectiveView> {
        parse_id::<DirectiveId>(id, "directive")?;
        let tenant = &state.row.id;
        let issue = self
            .events(tenant, ISSUE, Some(id))?
            .into_iter()
            .next()
            .ok_or(VaultError::NotFound { what: "directive" })?;
        let ack = self.events(tenant, ACK, Some(id))?.into_iter().next();
        self.view(state, &issue, ack.as_ref())
    }

    fn view(
        &self,
        state: &TenantState,
        issue: &SealedEvent,
        ack: Option<&SealedEvent>,
    ) -> Result<DirectiveView> {
        let id = issue.event.case_id.clone().unwrap_or_default();
        let key = parse_id::<DirectiveId>(&id, "directive")?;
        let open = |e: &Event, field: &str| -> Result<Option<String>> {
            let Some(sealed) = e.detail.get(field).and_then(|v| v.as_str()) else {
                return Ok(None);
            };
            let bytes = hex::decode(sealed)
                .map_err(|_| VaultError::Internal("sealed directive text is corrupt".into()))?;
            self.open_comment(state, key.as_bytes(), &bytes).map(Some)
        };
        let at = |e: &SealedEvent| {
            e.timestamp()
                .map(|t| jst::rfc3339(t.timestamp()))
                .unwrap_or_default()
        };
        Ok(DirectiveView {
            id: id.clone(),
            tenant: state.row.id.clone(),
            to: detail(issue, "to"),
            from: issue.event.actor.clone(),
            about: detail(issue, "about"),
            text: open(&issue.event, "text")?.unwrap_or_default(),
            issued_at: at(issue),
            issued: EventRef {
                log: issue.log.clone(),
                seq: issue.seq,
            },
            status: if ack.is_some() {
                "acknowledged"
            } else {
                "issued"
            },
            acknowledged_at: ack.map(at),
            response: match ack {
                Some(a) => open(&a.event, "response")?,
                None => None,
            },
            acknowledged: ack.map(|a| EventRef {
                log: a.log.clone(),
                seq: a.seq,
            }),
        })
    }
}

fn detail(e: &SealedEvent, key: &str) -> String {
    e.event
        .detail
        .get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
}

fn check_length(text: &str) -> Result<()> {
    if text.chars().count() > MAX_TEXT {
        return Err(VaultError::bad(
            ErrorCode::TextTooLong,
            format!("at most {MAX_TEXT} characters"),
        ));
    }
    Ok(())
}

/// What `about` names: an event of this tenant's log (returned, to be
/// looked up) or an alert; anything else is refused.
fn about_event(tenant: &str, about: &str) -> Result<Option<(String, u64)>> {
    let bad = || {
        VaultError::bad(
            ErrorCode::AboutInvalid,
            "--about is an audit event of this tenant (tenant/<tenant id>#<seq>) or an alert (alert:<id>)",
        )
    };
    if let Some(alert) = about.strip_prefix("alert:") {
        let ok = !alert.is_empty()
            && alert.len() <= 64
            && alert
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        return if ok { Ok(None) } else { Err(bad()) };
    }
    let (log, seq) = about.split_once('#').ok_or_else(bad)?;
    let seq: u64 = seq.parse().map_err(|_| bad())?;
    if log != mamori_audit::log_for(Some(tenant)) {
        return Err(bad());
    }
    Ok(Some((log.to_owned(), seq)))
}
