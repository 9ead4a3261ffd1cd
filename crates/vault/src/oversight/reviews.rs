//! Access review campaigns (D4; seed 004 inspects entitlements every
//! quarter). The security office opens a campaign over a scope; every
//! entitlement in it becomes an item with a reviewer — the person's manager,
//! else the campaign's fallback, never the person nor whoever gave the
//! entitlement — and the vault's evidence taken at opening. A reviewer keeps
//! or revokes each item with a reason; a revocation is recorded and applied
//! in one transaction, then checked (`applied`). At the deadline every item
//! nobody decided takes the campaign's default (revoke unless said
//! otherwise) — except the last active security officer's role, which is
//! escalated instead of locking the vault's oversight out. A recurring
//! campaign opens its successor when due. Per reviewer, the share kept and
//! the median seconds per decision make rubber-stamping visible.

use std::collections::BTreeMap;

use chrono::Months;
use mamori_core::{NominationId, Role};
use mamori_policy::{Action, ReviewCheck};
use mamori_store::{
    Assignment, CampaignRow, Removal, ReviewDecision, ReviewItemFilter, ReviewItemRow,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::review_evidence::{Entitlement, Evidence, Kind, Scope, Staff, active};
use crate::{
    Caller, ErrorCode, Vault,
    error::{Result, VaultError},
};

/// The actor of what the schedule does by itself (deadlines, successors).
const SYSTEM: &str = "system";
const MAX_NOTE: usize = 2_000;

/// What the deadline does to an item nobody decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoAnswer {
    /// Remove the entitlement (the default: access nobody vouches for goes).
    #[default]
    Revoke,
    /// Leave it.
    Keep,
    /// Raise it for investigation, leave it in force.
    Escalate,
}

impl NoAnswer {
    pub fn as_str(self) -> &'static str {
        match self {
            NoAnswer::Revoke => "revoke",
            NoAnswer::Keep => "keep",
            NoAnswer::Escalate => "escalate",
        }
    }

    fn parse(s: &str) -> NoAnswer {
        match s {
            "keep" => NoAnswer::Keep,
            "escalate" => NoAnswer::Escalate,
            _ => NoAnswer::Revoke,
        }
    }
}

/// A reviewer's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Keep,
    Revoke,
}

/// A campaign to open.
#[derive(Clone, Debug)]
pub struct CampaignSpec {
    pub title: String,
    pub scope: Scope,
    /// Reviews items whose reviewee has no eligible manager.
    pub fallback: Option<String>,
    /// Unix seconds.
    pub deadline: i64,
    pub notice_days: u32,
    pub on_no_answer: NoAnswer,
    /// 0 (once), 1, 3 (quarterly, the default), 6 or 12.
    pub every_months: u32,
    pub evidence_days: u32,
}

impl CampaignSpec {
    /// A quarterly campaign with the usual settings: notices a week before,
    /// revoke on no answer, 90 days of evidence.
    pub fn quarterly(title: &str, scope: Scope, deadline: i64) -> Self {
        CampaignSpec {
            title: title.to_owned(),
            scope,
            fallback: None,
            deadline,
            notice_days: 7,
            on_no_answer: NoAnswer::Revoke,
            every_months: 3,
            evidence_days: 90,
        }
    }
}

/// A campaign as people read it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignView {
    pub id: String,
    pub title: String,
    pub scope: Scope,
    pub fallback: Option<String>,
    pub opened_by: String,
    pub opened_at: String,
    pub deadline: String,
    pub notice_days: u32,
    pub on_no_answer: NoAnswer,
    pub every_months: u32,
    pub evidence_days: u32,
    pub closed_at: Option<String>,
    /// The campaign that followed this one.
    pub successor: Option<String>,
    pub items: u64,
    pub decided: u64,
}

/// A review item as its reviewer (or the security office) reads it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemView {
    pub id: String,
    pub campaign: String,
    pub kind: Kind,
    pub login: String,
    pub tenant: Option<String>,
    pub target: String,
    pub reviewer: String,
    pub grantor: Option<String>,
    pub evidence: Evidence,
    /// keep | revoke | escalated, once decided.
    pub decision: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    /// kept | revoked (applied and checked) | escalated | failed (still in force when checked).
    pub applied: Option<String>,
}

/// One reviewer's figures in a campaign.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewerStats {
    pub reviewer: String,
    pub items: u64,
    pub decided: u64,
    pub kept: u64,
    pub revoked: u64,
    /// kept / decided, in percent (one decimal).
    pub keep_rate_percent: f64,
    /// Median seconds per decision (from first sight, or the reviewer's
    /// previous decision, to this one).
    pub median_seconds: Option<i64>,
}

/// A campaign's figures.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignStats {
    pub campaign: CampaignView,
    pub reviewers: Vec<ReviewerStats>,
    /// Items by applied status (kept, revoked, escalated, failed, open).
    pub applied: BTreeMap<String, u64>,
}

/// What one pass of the schedule did.
#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TickReport {
    /// Reviewers told their deadline is near.
    pub notices: u64,
    pub closed: Vec<String>,
    pub opened: Vec<String>,
    /// Campaigns that could not close and successors that could not open,
    /// with the error code (e.g. no eligible reviewer any more); tried
    /// again on the next pass.
    pub failed: Vec<(String, String)>,
}

impl Vault {
    /// Opens a campaign: every entitlement in scope an item with its
    /// reviewer and evidence, kept in one transaction.
    pub fn open_campaign(&self, caller: &Caller, spec: &CampaignSpec) -> Result<CampaignView> {
        let decision = self.gate.decide_review_open(&caller.principal);
        let event = self.gated(
            self.caller_event(caller, "review.open", "ok"),
            &decision,
            "review campaigns are opened by the security office",
        )?;
        self.start_campaign(event, &caller.principal.login, spec, None)
    }

    fn start_campaign(
        &self,
        event: mamori_audit::Event,
        by: &str,
        spec: &CampaignSpec,
        predecessor: Option<&str>,
    ) -> Result<CampaignView> {
        let now = self.now();
        self.check_spec(spec, now)?;
        let staff = self.users()?;
        let found = self.entitlements_in(&spec.scope, now, &staff)?;
        let reviewers = reviewers(&found, spec.fallback.as_deref(), now, &staff)?;
        let evidence = self.evidence(&found, spec.evidence_days, now, &staff)?;
        let id = mamori_core::ids::CampaignId::random().to_string();
        let items: Vec<ReviewItemRow> = found
            .iter()
            .zip(reviewers)
            .zip(&evidence)
            .map(|((e, reviewer), ev)| ReviewItemRow {
                id: mamori_core::ids::ReviewItemId::random().to_string(),
                campaign: id.clone(),
                kind: e.kind.as_str().to_owned(),
                login: e.user.login.clone(),
                tenant: e.tenant.clone(),
                target: e.target.clone(),
                reviewer,
                grantor: e.grantor.clone(),
                evidence: serde_json::to_string(ev).unwrap_or_default(),
                shown_at: None,
                decision: None,
                applied: None,
            })
            .collect();
        let row = CampaignRow {
            id: id.clone(),
            title: spec.title.clone(),
            scope: serde_json::to_string(&spec.scope).unwrap_or_default(),
            fallback: spec.fallback.clone(),
            opened_by: by.to_owned(),
            opened_at: now,
            deadline: spec.deadline,
            notice_days: spec.notice_days,
            on_no_answer: spec.on_no_answer.as_str().to_owned(),
            every_months: spec.every_months,
            evidence_days: spec.evidence_days,
            noticed_at: None,
            closed_at: None,
            closed_by: None,
            successor: None,
        };
        let digest = evidence_digest(&items);
        let mut e = event;
        e.case_id = Some(id.clone());
        let e = e
            .detail("title", spec.title.as_str())
            .detail(
                "scope",
                serde_json::to_value(&spec.scope).unwrap_or_default(),
            )
            .detail("deadline", mamori_core::jst::rfc3339(spec.deadline))
            .detail("on_no_answer", spec.on_no_answer.as_str())
            .detail("every_months", spec.every_months)
            .detail("items", items.len())
            .detail("evidence_sha256", digest);
        let e = match predecessor {
            Some(p) => e.detail("predecessor", p),
            None => e,
        };
        self.audit.append(e)?;
        if !self.store.open_campaign(&row, &items, predecessor)? {
            return Err(VaultError::Conflict(
                "the campaign's successor was opened a moment ago".into(),
            ));
        }
        Ok(self.campaign_view(row, items.len() as u64, 0))
    }

    fn check_spec(&self, spec: &CampaignSpec, now: i64) -> Result<()> {
        let bad = |why: &str| Err(VaultError::bad(ErrorCode::CampaignInvalid, why.to_owned()));
        let title = spec.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return bad("a campaign needs a title of at most 200 characters");
        }
        if spec.deadline <= now || spec.deadline > now + 366 * 86_400 {
            return bad("the deadline is after now and within a year");
        }
        if spec.notice_days > 60
            || !(1..=366).contains(&spec.evidence_days)
            || ![0, 1, 3, 6, 12].contains(&spec.every_months)
        {
            return bad("notice 0-60 days, evidence 1-366 days, every 0, 1, 3, 6 or 12 months");
        }
        let s = &spec.scope;
        if let Some(t) = &s.tenant {
            let known = mamori_core::TenantId::parse(t).is_ok() && self.store.tenant(t)?.is_some();
            if !known {
                return bad("the scope's tenant is not one of this vault's");
            }
            if let Some(seg) = &s.segment
                && self.tenant(t)?.schema.segment(seg).is_none()
            {
                return bad("the scope's segment is not one of the tenant's");
            }
        } else if s.segment.is_some() {
            return bad("a segment is scoped within a tenant: give the tenant too");
        }
        if s.role
            .as_deref()
            .is_some_and(|r| r.parse::<Role>().is_err())
        {
            return bad("the scope's role is not a known role");
        }
        if let Some(v) = &s.vendor
            && self.store.vendor(v)?.is_none()
        {
            return bad("the scope's vendor is not registered");
        }
        if let Some(f) = &spec.fallback
            && !self.store.user(f)?.is_some_and(|u| eligible(&u, now))
        {
            return bad("the fallback reviewer is not an active supervisor or security officer");
        }
        Ok(())
    }

    /// Campaigns, newest first (security office and auditors: all; others
    /// see those in which they review something).
    pub fn campaigns(&self, caller: &Caller, open_only: bool) -> Result<Vec<CampaignView>> {
        let overseer = self.gate.decide_report(&caller.principal).allowed();
        let mut out = Vec::new();
        for c in self.store.campaigns(open_only)? {
            let items = self.campaign_items(&c.id, false)?;
            let me = &caller.principal.login;
            if !overseer && !items.iter().any(|i| &i.reviewer == me) {
                continue;
            }
            let decided = items.iter().filter(|i| i.decision.is_some()).count() as u64;
            out.push(self.campaign_view(c, items.len() as u64, decided));
        }
        self.audit.append(
            self.caller_event(caller, "review.campaigns", "ok")
                .detail("returned", out.len()),
        )?;
        Ok(out)
    }

    /// The items the caller reviews (or, for the security office and
    /// auditors with `all`, every item) of a campaign or of every open one.
    /// Listing one's own items marks when they were first seen.
    pub fn review_items(
        &self,
        caller: &Caller,
        campaign: Option<&str>,
        all: bool,
        open_only: bool,
    ) -> Result<Vec<ItemView>> {
        let me = caller.principal.login.as_str();
        let rows = self.store.review_items(&ReviewItemFilter {
            campaign: campaign.map(str::to_owned),
            reviewer: (!all).then(|| me.to_owned()),
            open_only,
            limit: usize::MAX,
        })?;
        let now = self.now();
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for row in rows {
            if !self
                .decide_on_item(caller, Action::ReviewView, &row)?
                .allowed()
            {
                continue;
            }
            if row.reviewer == me && row.decision.is_none() {
                seen.insert(row.campaign.clone());
            }
            out.push(item_view(row));
        }
        for c in seen {
            self.store.mark_shown(&c, me, now)?;
        }
        self.audit.append(
            self.caller_event(caller, "review.items", "ok")
                .detail("returned", out.len()),
        )?;
        Ok(out)
    }

    /// A reviewer's decision on an item, with the reason; a revocation is
    /// applied with it and checked.
    pub fn decide_item(
        &self,
        caller: &Caller,
        id: &str,
        verdict: Verdict,
        reason: &str,
    ) -> Result<ItemView> {
        let reason = self
            .checked_comment(Some(reason), true)?
            .unwrap_or_default();
        if reason.chars().count() > MAX_NOTE {
            return Err(VaultError::bad(
                ErrorCode::NoteTooLong,
                format!("a reason has at most {MAX_NOTE} characters"),
            ));
        }
        let row = self.visible_item(caller, id)?;
        let mut event = self.caller_event(caller, "review.decide", "ok");
        event.case_id = Some(row.campaign.clone());
        let d = self.decide_on_item(caller, Action::ReviewDecide, &row)?;
        let event = self.gated(
            event,
            &d,
            "an item is decided by the reviewer the campaign chose for it",
        )?;
        if row.decision.is_some() {
            return Err(decided());
        }
        let outcome = match verdict {
            Verdict::Keep => NoAnswer::Keep,
            Verdict::Revoke if self.last_security_officer(&row)? => {
                return Err(VaultError::State {
                    code: ErrorCode::LastSecurityOfficer,
                    message:
                        "this is the last active security officer: appoint another before revoking"
                            .into(),
                });
            }
            Verdict::Revoke => NoAnswer::Revoke,
        };
        self.settle(event, &caller.principal.login, row, outcome, reason)
    }

    /// Records and applies one decision (a reviewer's or the deadline's),
    /// then checks what it did.
    fn settle(
        &self,
        event: mamori_audit::Event,
        by: &str,
        row: ReviewItemRow,
        outcome: NoAnswer,
        reason: &str,
    ) -> Result<ItemView> {
        let now = self.now();
        let (note, mut event) = self.sealed_reason(event, &row, reason)?;
        let removal = match outcome {
            NoAnswer::Revoke => Some(self.removal(&row, by, reason, now)?),
            _ => None,
        };
        event = event
            .detail("item", row.id.as_str())
            .detail("kind", row.kind.as_str())
            .detail("person", row.login.as_str())
            .detail("target", row.target.as_str())
            .detail("outcome", decision_word(outcome));
        self.audit.append(self.placed(event)?)?;
        let decision = ReviewDecision {
            outcome: decision_word(outcome).to_owned(),
            by: by.to_owned(),
            at: now,
            note,
        };
        if !self
            .store
            .decide_review(&row.id, &decision, removal.as_ref())?
        {
            return Err(decided());
        }
        let applied = match outcome {
            NoAnswer::Keep => "kept",
            NoAnswer::Escalate => "escalated",
            NoAnswer::Revoke if self.still_held(&row)? => "failed",
            NoAnswer::Revoke => "revoked",
        };
        self.store.set_review_applied(&row.id, applied)?;
        if applied == "failed" {
            // Loud: a revocation recorded but not in force is escalated.
            let e = self
                .admin_event(SYSTEM, "review.decide", row.tenant.as_deref())
                .detail("item", row.id.as_str())
                .detail("person", row.login.as_str())
                .detail("outcome", "escalated")
                .detail("why", "revocation_not_applied");
            self.audit.append(e)?;
        }
        let mut row = row;
        row.decision = Some(decision);
        row.applied = Some(applied.to_owned());
        Ok(item_view(row))
    }

    /// The reason sealed under the item's tenant key (as text where the item
    /// names no tenant: a role), and the event placed in that tenant's log.
    fn sealed_reason(
        &self,
        mut event: mamori_audit::Event,
        row: &ReviewItemRow,
        reason: &str,
    ) -> Result<(Vec<u8>, mamori_audit::Event)> {
        let Some(t) = row.tenant.as_deref() else {
            return Ok((reason.as_bytes().to_vec(), event));
        };
        event.tenant = Some(t.to_owned());
        let state = self.tenant(t)?;
        if !state.active() {
            // Nothing can be sealed under a destroyed key, and nothing is
            // kept in clear: the decision stands without its reason.
            let event = event.detail("note", "not kept: tenant shredded");
            return Ok((Vec::new(), event));
        }
        let sealed = self.seal_comment(&state, &item_bytes(&row.id)?, reason)?;
        Ok((sealed.clone(), event.detail("note", hex::encode(&sealed))))
    }

    /// What revoking the item removes.
    fn removal(&self, row: &ReviewItemRow, by: &str, reason: &str, now: i64) -> Result<Removal> {
        let tenant = row.tenant.clone().unwrap_or_default();
        Ok(match Kind::parse(&row.kind) {
            Some(Kind::Segment) => Removal::Assignment(Assignment {
                login: row.login.clone(),
                tenant,
                segment: Some(row.target.clone()),
            }),
            Some(Kind::FullAccess) => {
                let id = NominationId::parse(&row.target)
                    .map_err(|_| VaultError::Internal("review item names no nomination".into()))?;
                let state = self.tenant(&tenant)?;
                // Under a destroyed key the step keeps no comment.
                let comment = state.active().then_some(reason);
                let step = self.history_step(by, &state, id.as_bytes(), now, "revoked", comment)?;
                Removal::FullAccess { id, step }
            }
            Some(Kind::Role) => Removal::Account {
                login: row.login.clone(),
                at: now,
            },
            None => {
                return Err(VaultError::Internal(
                    "review item of an unknown kind".into(),
                ));
            }
        })
    }

    /// Whether a revoked entitlement is still in force (the check after).
    fn still_held(&self, row: &ReviewItemRow) -> Result<bool> {
        let now = self.now();
        Ok(match Kind::parse(&row.kind) {
            Some(Kind::Role) => self
                .store
                .user(&row.login)?
                .is_some_and(|u| active(&u, now)),
            _ => {
                let segment = (row.kind == "segment").then(|| row.target.clone());
                self.store
                    .assignments(&row.login)?
                    .iter()
                    .any(|a| Some(&a.tenant) == row.tenant.as_ref() && a.segment == segment)
            }
        })
    }

    /// Whether the item is the role of the only active security officer.
    fn last_security_officer(&self, row: &ReviewItemRow) -> Result<bool> {
        if row.kind != "role" || row.target != Role::SecurityOfficer.as_str() {
            return Ok(false);
        }
        let now = self.now();
        let others = self
            .store
            .users()?
            .into_iter()
            .filter(|u| u.role == row.target && u.login != row.login && active(u, now))
            .count();
        Ok(others == 0)
    }

    /// Closes a campaign now (security office): every undecided item takes
    /// the campaign's default.
    pub fn close_campaign(&self, caller: &Caller, id: &str) -> Result<CampaignView> {
        let decision = self.gate.decide_review_open(&caller.principal);
        self.gated(
            self.caller_event(caller, "review.close", "ok"),
            &decision,
            "review campaigns are closed by the security office",
        )?;
        let c = self
            .store
            .campaign(id)?
            .ok_or(VaultError::NotFound { what: "campaign" })?;
        self.finish(c, &caller.principal.login)
    }

    /// Applies the default to what nobody decided, then closes.
    fn finish(&self, c: CampaignRow, by: &str) -> Result<CampaignView> {
        if c.closed_at.is_some() {
            return Err(decided());
        }
        let open = self.campaign_items(&c.id, true)?;
        let default = NoAnswer::parse(&c.on_no_answer);
        let why = "no decision by the deadline";
        for row in open {
            let outcome = match default {
                NoAnswer::Revoke if self.last_security_officer(&row)? => NoAnswer::Escalate,
                other => other,
            };
            let mut e = self.admin_event(SYSTEM, "review.decide", None);
            e.case_id = Some(c.id.clone());
            self.settle(e.detail("default", true), SYSTEM, row, outcome, why)?;
        }
        let now = self.now();
        let mut e = self.admin_event(by, "review.close", None);
        e.case_id = Some(c.id.clone());
        // Who can see which segment once the review took effect: the
        // quarterly trend of `report trend` (seed 004's 76 % -> 13 %).
        let table = serde_json::to_value(self.entitlement_table(None)?).unwrap_or_default();
        self.audit.append(e.detail("entitlements", table))?;
        self.store.close_campaign(&c.id, by, now)?;
        let c = self
            .store
            .campaign(&c.id)?
            .ok_or(VaultError::NotFound { what: "campaign" })?;
        let (items, decided) = self.counts(&c.id)?;
        Ok(self.campaign_view(c, items, decided))
    }

    /// One pass of the schedule (run by `mamori review tick` from cron, and
    /// by every server's sweeper): notices before deadlines, deadlines
    /// reached, successors due. Idempotent; a pass while another process
    /// holds the schedule's lease does nothing.
    pub fn review_tick(&self, actor: &str) -> Result<TickReport> {
        let mut report = TickReport::default();
        // One process at a time however many serve the vault: a deadline's
        // defaults and a notice are given once.
        let Some(_lease) = self.store.try_lead("reviews")? else {
            return Ok(report);
        };
        let now = self.now();
        // Yesterday's use summarised ahead of any campaign's evidence.
        self.summarise_days(mamori_core::jst::day(now) - 92, now)?;
        for c in self.store.campaigns(false)? {
            if c.closed_at.is_none() && c.deadline <= now {
                let id = c.id.clone();
                // One campaign that cannot close does not hold up the others
                // (an audit log that cannot be written stops everything).
                match self.finish(c, SYSTEM) {
                    Ok(_) => report.closed.push(id),
                    Err(VaultError::AuditUnavailable) => return Err(VaultError::AuditUnavailable),
                    Err(e) => {
                        tracing::warn!(campaign = %id, code = e.error_code().as_str(), "review campaign could not close");
                        report.failed.push((id, e.error_code().as_str().to_owned()));
                    }
                }
                continue;
            }
            if c.closed_at.is_none()
                && c.noticed_at.is_none()
                && now >= c.deadline - i64::from(c.notice_days) * 86_400
            {
                report.notices += self.notify(&c, actor, now)?;
            }
            if c.closed_at.is_some() && c.every_months > 0 && c.successor.is_none() {
                let due = next_opening(&c);
                if due.is_some_and(|d| d <= now) {
                    let spec = successor_spec(&c, now)?;
                    let e = self.admin_event(actor, "review.open", None);
                    match self.start_campaign(e, SYSTEM, &spec, Some(&c.id)) {
                        Ok(v) => report.opened.push(v.id),
                        Err(VaultError::BadRequest { code, .. }) => {
                            let mut e = self.admin_event(actor, "review.open", None);
                            e.decision = mamori_audit::Decision::Invalid;
                            e.reason = code.as_str().to_owned();
                            e.case_id = Some(c.id.clone());
                            self.audit.append(e.detail("successor_of", c.id.as_str()))?;
                            report.failed.push((c.id.clone(), code.as_str().to_owned()));
                        }
                        Err(other) => return Err(other),
                    }
                }
            }
        }
        Ok(report)
    }
}

impl Vault {
    /// Tells each reviewer with undecided items that the deadline is near
    /// (a `review.notice` event per reviewer, which the console's inbox and
    /// notifications read); once per campaign.
    fn notify(&self, c: &CampaignRow, actor: &str, now: i64) -> Result<u64> {
        let open = self.campaign_items(&c.id, true)?;
        let mut per: BTreeMap<&str, u64> = BTreeMap::new();
        for i in &open {
            *per.entry(i.reviewer.as_str()).or_default() += 1;
        }
        for (reviewer, n) in &per {
            let mut e = self.admin_event(actor, "review.notice", None);
            e.case_id = Some(c.id.clone());
            self.audit.append(
                e.detail("reviewer", *reviewer)
                    .detail("undecided", *n)
                    .detail("deadline", mamori_core::jst::rfc3339(c.deadline)),
            )?;
        }
        self.store.mark_noticed(&c.id, now)?;
        Ok(per.len() as u64)
    }

    /// Per reviewer: how many kept, how many revoked, and how long each
    /// decision took — for the security office and auditors.
    pub fn campaign_stats(&self, caller: &Caller, id: &str) -> Result<CampaignStats> {
        let decision = self.gate.decide_report(&caller.principal);
        let mut e = self.caller_event(caller, "review.stats", "ok");
        e.case_id = Some(id.to_owned());
        let e = self.gated(
            e,
            &decision,
            "campaign figures are for the security office and auditors",
        )?;
        let c = self
            .store
            .campaign(id)?
            .ok_or(VaultError::NotFound { what: "campaign" })?;
        let items = self.campaign_items(id, false)?;
        let mut applied: BTreeMap<String, u64> = BTreeMap::new();
        for i in &items {
            let k = i.applied.clone().unwrap_or_else(|| "open".into());
            *applied.entry(k).or_default() += 1;
        }
        let reviewers = reviewer_stats(&items);
        self.audit.append(e)?;
        let decided = items.iter().filter(|i| i.decision.is_some()).count() as u64;
        Ok(CampaignStats {
            campaign: self.campaign_view(c, items.len() as u64, decided),
            reviewers,
            applied,
        })
    }

    fn counts(&self, campaign: &str) -> Result<(u64, u64)> {
        let items = self.campaign_items(campaign, false)?;
        let decided = items.iter().filter(|i| i.decision.is_some()).count();
        Ok((items.len() as u64, decided as u64))
    }

    /// Every item of a campaign (only the undecided with `open_only`).
    pub(crate) fn campaign_items(
        &self,
        campaign: &str,
        open_only: bool,
    ) -> Result<Vec<ReviewItemRow>> {
        Ok(self.store.review_items(&ReviewItemFilter {
            campaign: Some(campaign.to_owned()),
            open_only,
            limit: usize::MAX,
            ..ReviewItemFilter::default()
        })?)
    }

    fn campaign_view(&self, c: CampaignRow, items: u64, decided: u64) -> CampaignView {
        let rfc = mamori_core::jst::rfc3339;
        CampaignView {
            scope: serde_json::from_str(&c.scope).unwrap_or_default(),
            on_no_answer: NoAnswer::parse(&c.on_no_answer),
            opened_at: rfc(c.opened_at),
            deadline: rfc(c.deadline),
            closed_at: c.closed_at.map(rfc),
            id: c.id,
            title: c.title,
            fallback: c.fallback,
            opened_by: c.opened_by,
            notice_days: c.notice_days,
            every_months: c.every_months,
            evidence_days: c.evidence_days,
            successor: c.successor,
            items,
            decided,
        }
    }

    /// One item the caller may see; unknown and not permitted look the
    /// same (the refusal is recorded).
    fn visible_item(&self, caller: &Caller, id: &str) -> Result<ReviewItemRow> {
        let not_found = VaultError::NotFound {
            what: "review item",
        };
        let Some(row) = self.store.review_item(id)? else {
            return Err(not_found);
        };
        let d = self.decide_on_item(caller, Action::ReviewView, &row)?;
        if !d.allowed() {
            let mut e = self.caller_event(caller, "review.view", "ok");
            e.case_id = Some(row.campaign.clone());
            e.policies = d.policies().to_vec();
            return Err(self.refuse(e, mamori_audit::Decision::Deny, d.reason(), not_found));
        }
        Ok(row)
    }

    /// The gate's word on `action` over an item, with who stands where.
    fn decide_on_item(
        &self,
        caller: &Caller,
        action: Action,
        row: &ReviewItemRow,
    ) -> Result<mamori_policy::Decision> {
        let me = caller.principal.login.as_str();
        let (manages, _) = self.relation(me, &row.login)?;
        Ok(self.gate.decide_review(
            &caller.principal,
            &ReviewCheck {
                action,
                reviewee: &row.login,
                is_reviewee: me == row.login,
                is_reviewer: me == row.reviewer,
                is_grantor: row.grantor.as_deref() == Some(me),
                manages_reviewee: manages,
            },
        ))
    }
}

/// The reviewer of each entitlement: the person's manager, else the
/// fallback — whichever is active, a supervisor or security officer,
/// and neither the person nor who gave the entitlement.
fn reviewers(
    found: &[Entitlement],
    fallback: Option<&str>,
    now: i64,
    staff: &[Staff],
) -> Result<Vec<String>> {
    let users: BTreeMap<&str, &mamori_store::UserRow> =
        staff.iter().map(|(u, _)| (u.login.as_str(), u)).collect();
    let mut out = Vec::with_capacity(found.len());
    let mut missing = 0usize;
    for e in found {
        let candidates = [e.user.manager.as_deref(), fallback];
        let chosen = candidates.into_iter().flatten().find(|c| {
            *c != e.user.login
                && e.grantor.as_deref() != Some(*c)
                && users.get(*c).is_some_and(|u| eligible(u, now))
        });
        match chosen {
            Some(c) => out.push(c.to_owned()),
            None => missing += 1,
        }
    }
    if missing > 0 {
        return Err(VaultError::bad(
            ErrorCode::ReviewerMissing,
            format!(
                "{missing} of {} entitlements have no eligible reviewer; name a fallback reviewer (--fallback) or set their managers",
                found.len()
            ),
        ));
    }
    Ok(out)
}

/// Whether a person may review: active, and a supervisor or security officer.
fn eligible(u: &mamori_store::UserRow, now: i64) -> bool {
    active(u, now)
        && [Role::Supervisor.as_str(), Role::SecurityOfficer.as_str()].contains(&u.role.as_str())
}

/// SHA-256 over every item's entitlement and evidence, in order: recorded
/// in the opening event so the snapshot can be shown unchanged later.
fn evidence_digest(items: &[ReviewItemRow]) -> String {
    let mut h = Sha256::new();
    for i in items {
        for part in [
            i.kind.as_str(),
            i.login.as_str(),
            i.tenant.as_deref().unwrap_or_default(),
            i.target.as_str(),
            i.reviewer.as_str(),
            i.evidence.as_str(),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
    }
    hex::encode(h.finalize())
}

/// The bytes a sealed reason is bound to: the item's id.
fn item_bytes(id: &str) -> Result<[u8; 16]> {
    crate::kernel::ids::id_bytes(id, "review item")
}

/// A decision as recorded: `keep`, `revoke`, or `escalated` (the word
/// detection raises an alert on).
fn decision_word(outcome: NoAnswer) -> &'static str {
    match outcome {
        NoAnswer::Escalate => "escalated",
        other => other.as_str(),
    }
}

fn decided() -> VaultError {
    VaultError::State {
        code: ErrorCode::ReviewDecided,
        message: "this item has a decision already, or its campaign is closed".into(),
    }
}

fn item_view(row: ReviewItemRow) -> ItemView {
    let rfc = mamori_core::jst::rfc3339;
    let (decision, by, at) = match row.decision {
        Some(d) => (Some(d.outcome), Some(d.by), Some(rfc(d.at))),
        None => (None, None, None),
    };
    ItemView {
        kind: Kind::parse(&row.kind).unwrap_or(Kind::Segment),
        evidence: serde_json::from_str(&row.evidence).unwrap_or_default(),
        id: row.id,
        campaign: row.campaign,
        login: row.login,
        tenant: row.tenant,
        target: row.target,
        reviewer: row.reviewer,
        grantor: row.grantor,
        decision,
        decided_by: by,
        decided_at: at,
        applied: row.applied,
    }
}

/// When a recurring campaign's successor opens: `every_months` after it opened.
fn next_opening(c: &CampaignRow) -> Option<i64> {
    let opened = chrono::DateTime::from_timestamp(c.opened_at, 0)?;
    opened
        .checked_add_months(Months::new(c.every_months))
        .map(|t| t.timestamp())
}

/// The successor's settings: the same scope and rules, the same time to answer.
fn successor_spec(c: &CampaignRow, now: i64) -> Result<CampaignSpec> {
    let scope = serde_json::from_str(&c.scope)
        .map_err(|_| VaultError::Internal("stored campaign scope does not parse".into()))?;
    Ok(CampaignSpec {
        title: c.title.clone(),
        scope,
        fallback: c.fallback.clone(),
        deadline: now + (c.deadline - c.opened_at).max(86_400),
        notice_days: c.notice_days,
        on_no_answer: NoAnswer::parse(&c.on_no_answer),
        every_months: c.every_months,
        evidence_days: c.evidence_days,
    })
}

/// Per reviewer: decisions, the share kept, and the median time per decision
/// — from when the reviewer first listed the item, or from their previous
/// decision in the campaign if later (the time spent on this one).
pub(crate) fn reviewer_stats(items: &[ReviewItemRow]) -> Vec<ReviewerStats> {
    let mut by: BTreeMap<&str, Vec<&ReviewItemRow>> = BTreeMap::new();
    for i in items {
        by.entry(i.reviewer.as_str()).or_default().push(i);
    }
    by.into_iter()
        .map(|(reviewer, mine)| {
            let mut own: Vec<(&ReviewItemRow, &ReviewDecision)> = mine
                .iter()
                .filter_map(|i| Some((*i, i.decision.as_ref().filter(|d| d.by == reviewer)?)))
                .collect();
            own.sort_by_key(|(_, d)| d.at);
            let mut seconds = Vec::new();
            let mut previous: Option<i64> = None;
            for (i, d) in &own {
                let start = match (i.shown_at, previous) {
                    (Some(s), Some(p)) => Some(s.max(p)),
                    (s, p) => s.or(p),
                };
                if let Some(start) = start {
                    seconds.push((d.at - start).max(0));
                }
                previous = Some(d.at);
            }
            seconds.sort_unstable();
            let kept = own.iter().filter(|(_, d)| d.outcome == "keep").count() as u64;
            let decided = own.len() as u64;
            ReviewerStats {
                reviewer: reviewer.to_owned(),
                items: mine.len() as u64,
                decided,
                kept,
                revoked: own.iter().filter(|(_, d)| d.outcome == "revoke").count() as u64,
                keep_rate_percent: if decided == 0 {
                    0.0
                } else {
                    (kept as f64 * 1000.0 / decided as f64).round() / 10.0
                },
                median_seconds: seconds.get(seconds.len() / 2).copied(),
            }
        })
        .collect()
}
