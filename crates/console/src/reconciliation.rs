//! The monthly reconciliation's discrepancies in the console: each
//! disagreement between reads, grants, PC logons and room presence that
//! the person may see (the gate's `reconcile.view` about the person it
//! names), open ones by default, each disposed of with a reason —
//! explained, a recording mistake, or escalated for detection to raise.
//! Running the reconciliation itself (with the outside files) stays with
//! `mamori reconcile run` and `POST /v1/reconciliation/runs`.

use askama::Template;
use axum::{
    Form,
    extract::{Path, Query, State},
    response::Response,
};
use mamori_vault::discrepancies::{DiscrepancyView, Outcome};
use serde::Deserialize;

use crate::{
    ConsoleState,
    i18n::Tr,
    pages::{Chrome, Person, blocking, forged, listed, render},
};

#[derive(Template)]
#[template(path = "discrepancies.html")]
struct DiscrepanciesPage {
    t: Tr,
    page: Chrome,
    items: Vec<DiscrepancyView>,
    done: Option<String>,
    refused: Option<String>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    all: Option<String>,
}

async fn discrepancies_page(
    state: &ConsoleState,
    p: Person,
    all: bool,
    done: Option<String>,
    refused: Option<String>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let (items, refused) = listed(
        blocking(move || vault.discrepancies(&caller, !all, None)).await,
        refused,
        |x| x,
    );
    let t = Tr(p.lang);
    let page = p.chrome(t.get("recon.title"), false);
    let html = render(DiscrepanciesPage {
        t,
        page,
        items,
        done,
        refused,
    });
    p.page(state, html)
}

pub async fn list(
    State(state): State<ConsoleState>,
    p: Person,
    Query(q): Query<ListQuery>,
) -> Response {
    discrepancies_page(&state, p, q.all.is_some(), None, None).await
}

#[derive(Deserialize)]
pub struct DisposeForm {
    csrf: String,
    outcome: String,
    #[serde(default)]
    note: String,
}

/// Disposes of one discrepancy as the person; the list again.
pub async fn dispose(
    State(state): State<ConsoleState>,
    p: Person,
    Path(id): Path<String>,
    Form(f): Form<DisposeForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let outcome = f.outcome.clone();
    let done = blocking(move || {
        let o = Outcome::parse(&outcome).ok_or_else(|| {
            mamori_vault::VaultError::bad(
                mamori_vault::ErrorCode::RequestInvalid,
                "the outcome is explained, mistake or escalated",
            )
        })?;
        vault.dispose_discrepancy(&caller, &id, o, &f.note)
    })
    .await;
    let t = Tr(p.lang);
    match done {
        Ok(d) => {
            let what = format!("{} — {} {}", t.word("outcome", &f.outcome), d.person, d.day);
            discrepancies_page(&state, p, false, Some(what), None).await
        }
        Err(why) => discrepancies_page(&state, p, false, None, Some(why)).await,
    }
}
