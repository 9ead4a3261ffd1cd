//! Surprise audits of vendors in the console: the security office starts
//! one (a vendor, a period, how many of its people's reads to sample, the
//! deadline); the security office and auditors read every audit — the
//! vendor's facts, the sample drawn with its recorded seed, which reads
//! are explained and how, what is overdue; and the person whose read was
//! sampled explains it, once, before the deadline. The vault decides and
//! records each step; an explanation may name a customer, so pages that
//! show them are watermarked.

use askama::Template;
use axum::{
    Form,
    extract::{Path, State},
    response::Response,
};
use mamori_core::{Role, jst};
use mamori_vault::vendor_audit::{Sampled, VendorAudit};
use serde::Deserialize;

use crate::{
    ConsoleState,
    i18n::Tr,
    pages::{Chrome, Person, blocking, forged, listed, render},
};

#[derive(Template)]
#[template(path = "vendor_audits.html")]
struct AuditsPage {
    t: Tr,
    page: Chrome,
    audits: Vec<VendorAudit>,
    /// Vendor ids for the security office's form (None: no form).
    vendors: Option<Vec<String>>,
    done: Option<String>,
    refused: Option<String>,
}

async fn audits_page(
    state: &ConsoleState,
    p: Person,
    done: Option<String>,
    refused: Option<String>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let starts = p.caller.role == Role::SecurityOfficer;
    let listed = blocking(move || {
        let audits = vault.vendor_audits(&caller)?;
        let vendors = if starts {
            Some(
                vault
                    .vendor_list(&caller)?
                    .into_iter()
                    .map(|v| v.row.id)
                    .collect(),
            )
        } else {
            None
        };
        Ok((audits, vendors))
    })
    .await;
    let (audits, vendors, refused) = match listed {
        Ok((a, v)) => (a, v, refused),
        Err(why) => (Vec::new(), None, Some(why)),
    };
    let t = Tr(p.lang);
    let page = p.chrome(t.get("audits.title"), false);
    let html = render(AuditsPage {
        t,
        page,
        audits,
        vendors,
        done,
        refused,
    });
    p.page(state, html)
}

pub async fn list(State(state): State<ConsoleState>, p: Person) -> Response {
    audits_page(&state, p, None, None).await
}

#[derive(Deserialize)]
pub struct StartForm {
    csrf: String,
    vendor: String,
    from: String,
    to: String,
    size: String,
    deadline: String,
}

fn day(s: &str) -> Result<i64, mamori_vault::VaultError> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map(jst::midnight)
        .map_err(|_| {
            mamori_vault::VaultError::bad(
                mamori_vault::ErrorCode::RequestInvalid,
                "dates are YYYY-MM-DD",
            )
        })
}

/// Starts a surprise audit as the security office.
pub async fn start(
    State(state): State<ConsoleState>,
    p: Person,
    Form(f): Form<StartForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let done = blocking(move || {
        // The period runs to the end of its last day; the deadline too.
        let (from, to) = (day(&f.from)?, day(&f.to)? + 86_400);
        let deadline = day(&f.deadline)? + 86_400 - 1;
        let size = f.size.trim().parse::<usize>().map_err(|_| {
            mamori_vault::VaultError::bad(
                mamori_vault::ErrorCode::RequestInvalid,
                "the sample size is a whole number",
            )
        })?;
        vault.audit_vendor(&caller, &f.vendor, (from, to), size, None, deadline)
    })
    .await;
    match done {
        Ok(a) => audits_page(&state, p, Some(a.vendor), None).await,
        Err(why) => audits_page(&state, p, None, Some(why)).await,
    }
}

#[derive(Template)]
#[template(path = "vendor_audit.html")]
struct AuditPage {
    t: Tr,
    page: Chrome,
    a: VendorAudit,
    /// The Japanese font is there: PDF offered.
    pdf: bool,
}

pub async fn show(
    State(state): State<ConsoleState>,
    p: Person,
    Path(id): Path<String>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let Ok(a) = blocking(move || vault.vendor_audit(&caller, &id)).await else {
        return crate::pages::not_found(&p);
    };
    let t = Tr(p.lang);
    // Explanations may name a customer.
    let page = p.chrome(t.get("audits.one"), true);
    let html = render(AuditPage {
        t,
        page,
        a,
        pdf: state.report_font.is_some(),
    });
    p.page(&state, html)
}

#[derive(Template)]
#[template(path = "explain.html")]
struct ExplainPage {
    t: Tr,
    page: Chrome,
    items: Vec<(String, Sampled)>,
    done: bool,
    refused: Option<String>,
}

async fn explain_page(
    state: &ConsoleState,
    p: Person,
    done: bool,
    refused: Option<String>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let (items, refused) = listed(
        blocking(move || vault.my_audit_items(&caller)).await,
        refused,
        |x| x,
    );
    let t = Tr(p.lang);
    let page = p.chrome(t.get("explain.title"), false);
    let html = render(ExplainPage {
        t,
        page,
        items,
        done,
        refused,
    });
    p.page(state, html)
}

/// The person's sampled reads waiting for their explanation.
pub async fn mine(State(state): State<ConsoleState>, p: Person) -> Response {
    explain_page(&state, p, false, None).await
}

#[derive(Deserialize)]
pub struct ExplainForm {
    csrf: String,
    audit: String,
    log: String,
    seq: u64,
    text: String,
}

/// Explains one sampled read, once.
pub async fn explain(
    State(state): State<ConsoleState>,
    p: Person,
    Form(f): Form<ExplainForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let done =
        blocking(move || vault.explain_read(&caller, &f.audit, (&f.log, f.seq), &f.text)).await;
    match done {
        Ok(()) => explain_page(&state, p, true, None).await,
        Err(why) => explain_page(&state, p, false, Some(why)).await,
    }
}
