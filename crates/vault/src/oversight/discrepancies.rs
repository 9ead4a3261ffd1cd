//! The discrepancies reconciliations found, and their dispositions: each
//! one is explained, a mistake, or escalated by the security office or by
//! the supervisor of the person it is about (never by that person), with
//! a reason — sealed under the tenant's key where the discrepancy names a
//! tenant. A disposition is given once (compare-and-set) and survives a
//! second run over the same month. Who sees which is the policy's word,
//! asked before anything is looked up.

use mamori_policy::Action;
use mamori_store::{DiscrepancyFilter, DiscrepancyRow, Disposition};
use serde::Serialize;

use crate::{
    Caller, ErrorCode, Vault,
    error::{Result, VaultError},
    kernel::ids::{NO_TENANT, id_bytes},
};

/// The longest reason a disposition takes, in characters.
const MAX_NOTE: usize = 2_000;
/// Classes whose `kind` is the tenant concerned.
const TENANT_CLASSES: [&str; 2] = ["read_without_coverage", "grant_unused"];

/// What a discrepancy was judged to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// There is a reason, and it is acceptable (a covered absence, a
    /// colleague's PC used with leave).
    Explained,
    /// A recording mistake (a badge not held to the reader, a wrong map).
    Mistake,
    /// Needs investigation: recorded for detection to raise.
    Escalated,
}

impl Outcome {
    pub fn parse(s: &str) -> Option<Outcome> {
        [Outcome::Explained, Outcome::Mistake, Outcome::Escalated]
            .into_iter()
            .find(|o| o.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Explained => "explained",
            Outcome::Mistake => "mistake",
            Outcome::Escalated => "escalated",
        }
    }
}

/// A discrepancy as people read it (a disposition's reason is not shown).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiscrepancyView {
    pub id: String,
    pub class: String,
    /// The class's name in Japanese.
    pub title: String,
    pub person: String,
    pub day: String,
    pub kind: Option<String>,
    pub count: u64,
    /// The latest run that found it (its report's SHA-256).
    pub run: String,
    pub outcome: Option<Outcome>,
    pub disposed_by: Option<String>,
    pub disposed_at: Option<String>,
}

impl Vault {
    /// The discrepancies the caller may see, by day.
    pub fn discrepancies(
        &self,
        caller: &Caller,
        open_only: bool,
        run: Option<&str>,
    ) -> Result<Vec<DiscrepancyView>> {
        let rows = self.store.discrepancies(&DiscrepancyFilter {
            open_only,
            run: run.map(str::to_owned),
            limit: 100_000,
        })?;
        let mut out = Vec::new();
        for row in rows {
            if self
                .decide_discrepancy(caller, Action::ReconcileView, &row)?
                .allowed()
            {
                out.push(view(row));
            }
        }
        let e = self
            .caller_event(caller, "reconcile.list", "ok")
            .detail("returned", out.len());
        self.audit.append(e)?;
        Ok(out)
    }

    /// Records what a discrepancy was, with the reason.
    pub fn dispose_discrepancy(
        &self,
        caller: &Caller,
        id: &str,
        outcome: Outcome,
        note: &str,
    ) -> Result<DiscrepancyView> {
        let note = self.checked_comment(Some(note), true)?.unwrap_or_default();
        if note.chars().count() > MAX_NOTE {
            return Err(VaultError::bad(
                ErrorCode::NoteTooLong,
                format!("a reason has at most {MAX_NOTE} characters"),
            ));
        }
        let row = self.visible_discrepancy(caller, id)?;
        let mut event = self.caller_event(caller, "reconcile.dispose", "ok");
        event.case_id = Some(row.id.clone());
        let decision = self.decide_discrepancy(caller, Action::ReconcileDispose, &row)?;
        let mut event = self.gated(
            event,
            &decision,
            "a discrepancy is judged by the security office, or by a supervisor for their own team",
        )?;
        if row.disposition.is_some() {
            return Err(disposed());
        }
        let tenant = tenant_of(&row);
        let sealed = match tenant {
            Some(t) => {
                let state = self.tenant(t)?;
                let sealed = self.seal_comment(&state, &id_bytes(&row.id, "discrepancy")?, note)?;
                event.tenant = Some(t.to_owned());
                event = event.detail("note", hex::encode(&sealed));
                sealed
            }
            None => note.as_bytes().to_vec(),
        };
        let disposition = Disposition {
            outcome: outcome.as_str().to_owned(),
            by: caller.principal.login.clone(),
            at: self.now(),
            note: sealed,
        };
        let event = event
            .detail("outcome", outcome.as_str())
            .detail("class", row.class.as_str())
            .detail("person", row.person.as_str())
            .detail("day", row.day.as_str());
        // Recorded before it takes effect: a disposition that cannot be
        // recorded is not given.
        self.audit.append(self.placed(event)?)?;
        // Two people judging at the same moment: the store lets one win;
        // the other's event stands as an attempt.
        if !self.store.dispose(&row.id, &disposition)? {
            return Err(disposed());
        }
        let mut row = row;
        row.disposition = Some(disposition);
        Ok(view(row))
    }

    /// One discrepancy the caller may see; unknown and not permitted look
    /// the same (the refusal is recorded).
    fn visible_discrepancy(&self, caller: &Caller, id: &str) -> Result<DiscrepancyRow> {
        let not_found = VaultError::NotFound {
            what: "discrepancy",
        };
        let row = match self.store.discrepancy(id)? {
            Some(r) => r,
            None => return Err(not_found),
        };
        let d = self.decide_discrepancy(caller, Action::ReconcileView, &row)?;
        if !d.allowed() {
            let mut e = self.caller_event(caller, "reconcile.view", "ok");
            e.case_id = Some(row.id.clone());
            e.policies = d.policies().to_vec();
            let deny = mamori_audit::Decision::Deny;
            return Err(self.refuse(e, deny, d.reason(), not_found));
        }
        Ok(row)
    }

    /// The gate's word on `action` over a discrepancy about `row.person`
    /// (an identifier the person map lacks is nobody's team).
    fn decide_discrepancy(
        &self,
        caller: &Caller,
        action: Action,
        row: &DiscrepancyRow,
    ) -> Result<mamori_policy::Decision> {
        self.decide_on(caller, action, NO_TENANT, &row.person)
    }
}

fn disposed() -> VaultError {
    VaultError::bad(
        ErrorCode::DiscrepancyDisposed,
        "this discrepancy has a disposition already",
    )
}

fn tenant_of(row: &DiscrepancyRow) -> Option<&str> {
    TENANT_CLASSES
        .contains(&row.class.as_str())
        .then_some(row.kind.as_deref())
        .flatten()
}

fn view(row: DiscrepancyRow) -> DiscrepancyView {
    let title = mamori_reconcile::Class::parse(&row.class)
        .map_or(row.class.clone(), |c| c.title().0.to_owned());
    let (outcome, by, at) = match &row.disposition {
        Some(d) => (
            Outcome::parse(&d.outcome),
            Some(d.by.clone()),
            Some(mamori_core::jst::rfc3339(d.at)),
        ),
        None => (None, None, None),
    };
    DiscrepancyView {
        id: row.id,
        class: row.class,
        title,
        person: row.person,
        day: row.day,
        kind: row.kind,
        count: row.count,
        run: row.run,
        outcome,
        disposed_by: by,
        disposed_at: at,
    }
}
