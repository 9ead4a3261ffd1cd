//! The audit log in the console, for those the policy lets read it
//! (auditors and the security office all of it, a supervisor their
//! tenants and team — the vault scopes every read and records it): a
//! search by action, actor, tenant and dates, and one event with its
//! inclusion proof and the signed checkpoint it verifies against, for
//! checking outside the console.

use askama::Template;
use axum::{
    extract::{Query, State},
    response::Response,
};
use mamori_store::AuditQuery;
use serde::Deserialize;

use crate::{
    ConsoleState,
    i18n::Tr,
    pages::{Chrome, Person, blocking, not_found, render},
};

#[derive(Default, Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub tenant: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

/// An event as the search lists it.
pub struct Row {
    pub log: String,
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub tenant: String,
    pub decision: String,
    pub reason: String,
    pub case_id: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    t: Tr,
    page: Chrome,
    form: SearchForm,
    events: Vec<Row>,
    searched: bool,
    refused: Option<String>,
}

/// Midnight (Japan) of a `YYYY-MM-DD` date, in microseconds.
fn day_us(s: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(mamori_core::jst::midnight(d).saturating_mul(1_000_000))
}

fn jst(ts: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(ts)
        .map(|t| {
            t.with_timezone(&mamori_core::jst::zone())
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| ts.to_owned())
}

pub async fn search(
    State(state): State<ConsoleState>,
    p: Person,
    Query(f): Query<SearchForm>,
) -> Response {
    let searched =
        !(f.action.is_empty() && f.actor.is_empty() && f.tenant.is_empty() && f.from.is_empty());
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let q = AuditQuery {
        action: some(&f.action),
        actor: some(&f.actor),
        tenant: some(&f.tenant),
        from_ts: day_us(&f.from),
        to_ts: day_us(&f.to),
        limit: 200,
        ..AuditQuery::default()
    };
    let (events, refused) = if searched {
        let (vault, caller) = (state.vault.clone(), p.caller.clone());
        match blocking(move || vault.audit_events(&caller, q)).await {
            Ok(page) => (page.events.into_iter().map(row).collect(), None),
            Err(why) => (Vec::new(), Some(why)),
        }
    } else {
        (Vec::new(), None)
    };
    let t = Tr(p.lang);
    let page = p.chrome(t.get("audit.title"), false);
    let html = render(AuditPage {
        t,
        page,
        form: f,
        events,
        searched,
        refused,
    });
    p.page(&state, html)
}

fn row(e: mamori_audit::SealedEvent) -> Row {
    Row {
        at: jst(&e.ts),
        log: e.log,
        seq: e.seq,
        actor: e.event.actor,
        action: e.event.action,
        tenant: e.event.tenant.unwrap_or_default(),
        decision: format!("{:?}", e.event.decision).to_lowercase(),
        reason: e.event.reason,
        case_id: e.event.case_id.unwrap_or_default(),
    }
}

#[derive(Deserialize)]
pub struct ProofQuery {
    log: String,
    seq: u64,
}

#[derive(Template)]
#[template(path = "proof.html")]
struct ProofPage {
    t: Tr,
    page: Chrome,
    log: String,
    seq: u64,
    event: String,
    leaf: String,
    size: u64,
    path: Vec<String>,
    checkpoint: Option<String>,
}

/// One event with its inclusion proof in the latest signed checkpoint.
pub async fn proof(
    State(state): State<ConsoleState>,
    p: Person,
    Query(q): Query<ProofQuery>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let (log, seq) = (q.log.clone(), q.seq);
    let Ok(v) = blocking(move || vault.audit_inclusion(&caller, &log, seq, None)).await else {
        return not_found(&p);
    };
    let t = Tr(p.lang);
    let page = p.chrome(t.get("proof.title"), false);
    let html = render(ProofPage {
        t,
        page,
        event: serde_json::to_string_pretty(&v.event).unwrap_or_default(),
        log: v.log,
        seq: v.seq,
        leaf: v.leaf_hash,
        size: v.size,
        path: v.proof,
        checkpoint: v.checkpoint,
    });
    p.page(&state, html)
}
