//! What the rules look at: an audit event reduced to the facts about a
//! person's behaviour. Only events of people (`user:` actors) count; the
//! record ids become 64-bit keys (they are random, so their first bytes are
//! already uniform), which keeps per-user state small.

use chrono::{DateTime, Utc};
use mamori_audit::{Decision, SealedEvent};
use mamori_core::ids::RecordId;
use serde::{Deserialize, Serialize};

/// Where an event is in the audit log: the evidence an alert points to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EventRef {
    pub log: String,
    pub seq: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Customer records were looked up (`search`) or opened by id.
    Lookup {
        search: bool,
    },
    Write,
    ExportRequest {
        rows: u64,
    },
    /// Values a scan found were matched (`named`: customers they named, all
    /// tenants together), or refused because the credential's daily budget
    /// was spent (`over_budget`).
    ScanMatch {
        values: u64,
        named: u64,
        over_budget: bool,
    },
    /// A PC agent's report: files naming customers found in this scan (not
    /// carried over unchanged), and files the vault matched that the report
    /// left out.
    ScanReport {
        new_naming: u64,
        unreported: u64,
    },
    /// A reconciliation discrepancy or an access review item about this
    /// person escalated (by someone else, or by the review's deadline: the
    /// activity's user is the person concerned).
    Escalated,
    Other,
}

#[derive(Clone, Debug)]
pub struct Activity {
    pub event: EventRef,
    pub at: DateTime<Utc>,
    pub user: String,
    pub role: Option<String>,
    pub tenant: Option<String>,
    pub kind: Kind,
    pub decision: Decision,
    pub purpose: bool,
    /// A case id was given, and the case feed (if any) did not contradict it.
    pub case_id: bool,
    /// Keys of the records shown (lookups) or touched.
    pub records: Vec<u64>,
    /// Sensitive field values shown in full (fields × records).
    pub unmasked: u32,
    /// Segments of the records shown.
    pub segments: Vec<String>,
    /// Records shown that belong to the person's own household (rule 14).
    pub household: u32,
    /// A search by a customer number next to the person's previous one.
    pub sequential: bool,
    pub client: Option<String>,
}

impl Activity {
    /// What a check of the clock acts on: nobody did anything, so the
    /// evidence is the event the silence is measured from (rule 18).
    pub fn clock(user: String, tenant: Option<String>, event: EventRef, at: DateTime<Utc>) -> Self {
        Activity {
            event,
            at,
            user,
            role: None,
            tenant,
            kind: Kind::Other,
            decision: Decision::Allow,
            purpose: false,
            case_id: false,
            records: Vec::new(),
            unmasked: 0,
            segments: Vec::new(),
            household: 0,
            sequential: false,
            client: None,
        }
    }
}

/// The key a record id is tracked by.
pub fn record_key(id: &str) -> Option<u64> {
    let id = RecordId::parse(id).ok()?;
    let b = id.as_bytes();
    Some(u64::from_be_bytes([
        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
    ]))
}

fn strings(e: &SealedEvent, key: &str) -> Vec<String> {
    e.event
        .detail
        .get(key)
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A match call's values and the customers they named (`tenants`: `[tenant,
/// possible, confirmed]` per tenant).
fn scan_match(e: &SealedEvent) -> Kind {
    let d = &e.event.detail;
    let values = d.get("values").and_then(|v| v.as_u64()).unwrap_or(0);
    let named = d
        .get("tenants")
        .and_then(|t| t.as_array())
        .into_iter()
        .flatten()
        .filter_map(|t| t.get(1).and_then(|n| n.as_u64()))
        .sum();
    let over_budget = d.get("flag").and_then(|f| f.as_str()) == Some("budget");
    Kind::ScanMatch {
        values,
        named,
        over_budget,
    }
}

impl Activity {
    /// The activity an event records, or `None` for events that are not a
    /// person's (the system, the CLI, anonymous callers) or carry no time.
    pub fn from_event(e: &SealedEvent) -> Option<Activity> {
        // An escalation is about the person it names, whoever recorded it:
        // a supervisor, or the system at a review's deadline.
        let judgement = matches!(
            e.event.action.as_str(),
            "reconcile.dispose" | "review.decide"
        );
        let mut user = match e.event.actor.strip_prefix("user:") {
            Some(u) => u,
            None if judgement => "",
            None => return None,
        };
        let at = e.timestamp()?;
        let kind = match e.event.action.as_str() {
            "record.search" => Kind::Lookup { search: true },
            "record.read" => Kind::Lookup { search: false },
            "record.write" | "record.delete" => Kind::Write,
            "export.request" => Kind::ExportRequest {
                rows: e
                    .event
                    .detail
                    .get("rows")
                    .and_then(|v| v.as_u64())
                    .unwrap_or(0),
            },
            // The system log's event of a match (a tenant's event of the same
            // call only lists the tenant's records).
            "scan.match" if e.event.tenant.is_none() => scan_match(e),
            "scan.report" => {
                let n = |k: &str| e.event.detail.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
                Kind::ScanReport {
                    new_naming: n("new_naming_customers"),
                    unreported: n("unreported_files"),
                }
            }
            // A discrepancy judged escalated, or a review item escalated (the
            // last security officer's missed review, a revocation that did
            // not take).
            "reconcile.dispose" | "review.decide" if e.event.decision == Decision::Allow => {
                let d = &e.event.detail;
                let person = d.get("person").and_then(|v| v.as_str());
                match (d.get("outcome").and_then(|v| v.as_str()), person) {
                    // About a person of the vault (not a badge or PC account
                    // the person map lacks).
                    (Some("escalated"), Some(p)) if !p.contains(':') => {
                        user = p;
                        Kind::Escalated
                    }
                    _ => Kind::Other,
                }
            }
            _ => Kind::Other,
        };
        if user.is_empty() {
            return None; // the system's own decision, not about a person
        }
        let records = e
            .event
            .records
            .iter()
            .filter_map(|r| record_key(r))
            .collect::<Vec<_>>();
        let unmasked = strings(e, "unmasked").len() as u32 * records.len() as u32;
        Some(Activity {
            event: EventRef {
                log: e.log.clone(),
                seq: e.seq,
            },
            at,
            user: user.to_owned(),
            role: e.event.actor_role.clone(),
            tenant: e.event.tenant.clone(),
            kind,
            decision: e.event.decision,
            purpose: e.event.purpose.is_some(),
            // A case id the call system says is about someone else is no case.
            case_id: e.event.case_id.is_some() && !e.event.detail.contains_key("case_mismatch"),
            records,
            unmasked,
            segments: strings(e, "segments"),
            household: strings(e, "household").len() as u32,
            sequential: e.event.detail.get("sequential") == Some(&serde_json::Value::Bool(true)),
            client: e.event.client.clone(),
        })
    }

    /// Records that were actually shown to the person.
    pub fn shown(&self) -> &[u64] {
        match (self.kind, self.decision) {
            (Kind::Lookup { .. }, Decision::Allow) => &self.records,
            _ => &[],
        }
    }
}
