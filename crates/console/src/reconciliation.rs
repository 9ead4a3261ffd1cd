//! The monthly reconciliation's discrepancies in the console: each
//! disagreement between reads, grants, PC logons and room presence that
//! the person may see (the gate's `reconcile.view` about the person it
//! names), open ones by default, each disposed of with a reason —
//! explained, a recording mistake, or escalated for detection to raise.
//! The security office also runs the month's reconciliation here with the
//! outside files (the people map, the door system's log, Windows logons,
//! optionally the PC-address map, pre-applications and a column mapping),
//! uploaded as they are exported, and downloads the run's signed report.

use askama::Template;
use axum::{
    Form,
    extract::{Multipart, Path, Query, State},
    response::Response,
};
use mamori_core::Role;
use mamori_vault::{
    discrepancies::{DiscrepancyView, Outcome},
    reconciliation::ReconcileFiles,
};
use serde::Deserialize;

use crate::{
    ConsoleState,
    i18n::Tr,
    pages::{Chrome, Person, blocking, forged, listed, render},
    upload,
};

/// The largest upload of one run's files (as the API's).
pub const MAX_RUN_BYTES: usize = 128 * 1024 * 1024;

/// A run just made: its id (the report's SHA-256) and what it found.
struct Ran {
    id: String,
    discrepancies: usize,
    not_checked: Vec<String>,
}

#[derive(Template)]
#[template(path = "discrepancies.html")]
struct DiscrepanciesPage {
    t: Tr,
    page: Chrome,
    items: Vec<DiscrepancyView>,
    /// The security office's run form.
    runs: bool,
    ran: Option<Ran>,
    pdf: bool,
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
    page_with_run(state, p, all, None, done, refused).await
}

async fn page_with_run(
    state: &ConsoleState,
    p: Person,
    all: bool,
    ran: Option<Ran>,
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
        runs: p.caller.role == Role::SecurityOfficer,
        ran,
        pdf: state.report_font.is_some(),
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

/// `[from, to)` of a `YYYY-MM` month in Japan, `to` no later than now.
fn month(s: &str) -> Option<(i64, i64)> {
    let (from, to) = mamori_core::jst::month_bounds(s)?;
    Some((from, to.min(chrono::Utc::now().timestamp() + 1)))
}

/// Runs the month's reconciliation with the uploaded files (the security
/// office); the discrepancies again, with what the run found.
pub async fn run(State(state): State<ConsoleState>, p: Person, form: Multipart) -> Response {
    let t = Tr(p.lang);
    let mut up = match upload::read(form).await {
        Ok(up) => up,
        Err(key) => {
            return discrepancies_page(&state, p, false, None, Some(t.get(key).into())).await;
        }
    };
    if let Some(r) = forged(&p, up.text("csrf")) {
        return r;
    }
    let Some((from, to)) = month(up.text("month")) else {
        let why = t.get("oversight.bad_month").to_owned();
        return discrepancies_page(&state, p, false, None, Some(why)).await;
    };
    let mut file = |name: &str| up.take_file(name).map(|(_, b)| b);
    let (people, rooms, logons) = (file("people"), file("rooms"), file("logons"));
    let (hosts, applications, mapping) = (file("hosts"), file("applications"), file("mapping"));
    let (Some(people), Some(rooms), Some(logons)) = (people, rooms, logons) else {
        let why = t.get("recon.files_missing").to_owned();
        return discrepancies_page(&state, p, false, None, Some(why)).await;
    };
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let done = blocking(move || {
        let files = ReconcileFiles {
            mapping: mapping.as_deref(),
            people: &people,
            rooms: &rooms,
            logons: &logons,
            hosts: hosts.as_deref(),
            applications: applications.as_deref(),
        };
        vault.reconcile(&caller, from, to, Default::default(), files)
    })
    .await;
    match done {
        Ok(r) => {
            let ran = Ran {
                id: r.report_sha256,
                discrepancies: r.report.discrepancies.len(),
                not_checked: r.report.not_checked,
            };
            page_with_run(&state, p, false, Some(ran), None, None).await
        }
        Err(why) => discrepancies_page(&state, p, false, None, Some(why)).await,
    }
}
