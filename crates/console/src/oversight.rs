//! The month's oversight in the console (the security office, auditors):
//! the self-inspection run from the vault's records for a month — each
//! checklist item verified, failed (with its findings: staff, tenant and
//! export ids, never a customer's value), not applicable, declared or
//! undeclared — with the security office's form to declare what no record
//! can show; and the month's signed report (安全管理措置 evidence by
//! 通則編 10-3..10-6) downloaded as PDF, Excel or CSV, made as of the audit
//! log's signed checkpoints and verifiable later from the file alone.

use std::sync::Arc;

use askama::Template;
use axum::{
    Form,
    extract::{Query, State},
    http::{HeaderName, HeaderValue, header},
    response::{IntoResponse, Response},
};
use mamori_core::{Role, jst};
use mamori_vault::{
    inspection::{DECLARED, Inspection, Probe, Status},
    reports::{ReportFormat, ReportSpec},
};
use serde::Deserialize;

use crate::{
    ConsoleState,
    i18n::Tr,
    pages::{Chrome, Person, blocking, forged, render},
};

/// A probe as the page shows it.
struct Item {
    p: Probe,
    status: &'static str,
    counts: String,
    /// An item the security office may declare now.
    declarable: bool,
    /// Failed or undeclared: marked.
    attention: bool,
}

#[derive(Template)]
#[template(path = "oversight.html")]
struct OversightPage {
    t: Tr,
    page: Chrome,
    month: String,
    items: Vec<Item>,
    /// The `inspect.run` event and the result's SHA-256.
    recorded: Option<(String, String)>,
    /// The report form (the security office, auditors; the vault decides).
    reports: bool,
    pdf: bool,
    done: Option<String>,
    refused: Option<String>,
}

fn status(s: Status) -> &'static str {
    match s {
        Status::Verified => "probe.verified",
        Status::Failed => "probe.failed",
        Status::NotApplicable => "probe.not_applicable",
        Status::Declared => "probe.declared",
        Status::Undeclared => "probe.undeclared",
    }
}

/// This month in Japan, `YYYY-MM`.
fn this_month() -> String {
    jst::date(chrono::Utc::now().timestamp())
        .map(|d| d.format("%Y-%m").to_string())
        .unwrap_or_default()
}

#[derive(Deserialize)]
pub struct MonthQuery {
    month: Option<String>,
}

async fn oversight_page(
    state: &ConsoleState,
    p: Person,
    month: String,
    done: Option<String>,
    refused: Option<String>,
) -> Response {
    let t = Tr(p.lang);
    let ran = match jst::month_bounds(&month) {
        None => Err(t.get("oversight.bad_month").to_owned()),
        Some((from, to)) => {
            let (vault, caller) = (state.vault.clone(), p.caller.clone());
            // A month not yet over is inspected up to now.
            let to = to.min(chrono::Utc::now().timestamp() + 1);
            blocking(move || vault.inspect(&caller, from, to)).await
        }
    };
    let declares = p.caller.role == Role::SecurityOfficer;
    let (items, recorded, refused) = match ran {
        Ok(i) => {
            let Inspection {
                probes,
                log,
                seq,
                sha256,
                ..
            } = i;
            let items = (probes.into_iter())
                .map(|p| Item {
                    status: status(p.status),
                    counts: (p.counts.iter())
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    declarable: declares && DECLARED.iter().any(|(id, _)| *id == p.id),
                    attention: matches!(p.status, Status::Failed | Status::Undeclared),
                    p,
                })
                .collect();
            (items, Some((format!("{log}#{seq}"), sha256)), refused)
        }
        Err(why) => (Vec::new(), None, Some(why)),
    };
    let page = p.chrome(t.get("oversight.title"), false);
    let html = render(OversightPage {
        t,
        page,
        month,
        items,
        recorded,
        reports: matches!(p.caller.role, Role::SecurityOfficer | Role::Auditor),
        pdf: state.report_font.is_some(),
        done,
        refused,
    });
    p.page(state, html)
}

/// The month's self-inspection (this month by default).
pub async fn show(
    State(state): State<ConsoleState>,
    p: Person,
    Query(q): Query<MonthQuery>,
) -> Response {
    let month = q.month.unwrap_or_else(this_month);
    oversight_page(&state, p, month, None, None).await
}

#[derive(Deserialize)]
pub struct DeclareForm {
    csrf: String,
    month: String,
    item: String,
    statement: String,
}

/// The security office declares an item no record can show.
pub async fn declare(
    State(state): State<ConsoleState>,
    p: Person,
    Form(f): Form<DeclareForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller, item) = (state.vault.clone(), p.caller.clone(), f.item.clone());
    let done = blocking(move || vault.declare(&caller, &item, &f.statement)).await;
    match done {
        Ok(()) => oversight_page(&state, p, f.month, Some(f.item), None).await,
        Err(why) => oversight_page(&state, p, f.month, None, Some(why)).await,
    }
}

#[derive(Deserialize)]
pub struct ReportForm {
    csrf: String,
    /// `monthly` (the default), `review`, `vendor_audit` or `reconciliation`.
    #[serde(default)]
    kind: String,
    /// The month (`YYYY-MM`), the campaign, the audit or the run.
    subject: String,
    format: String,
}

impl ReportForm {
    fn spec(&self) -> ReportSpec {
        let subject = self.subject.trim().to_owned();
        match self.kind.as_str() {
            "review" => ReportSpec::Review { campaign: subject },
            "vendor_audit" => ReportSpec::VendorAudit { audit: subject },
            "reconciliation" => ReportSpec::Reconciliation { run: subject },
            _ => ReportSpec::Monthly { month: subject },
        }
    }
}

/// A signed report (the month's by default; a review's, a vendor audit's
/// or a reconciliation's) as a file.
pub async fn report(
    State(state): State<ConsoleState>,
    p: Person,
    Form(f): Form<ReportForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let format = match f.format.as_str() {
        "pdf" => ReportFormat::Pdf,
        "xlsx" => ReportFormat::Xlsx,
        _ => ReportFormat::Csv,
    };
    let font: Option<Arc<Vec<u8>>> = state.report_font.clone();
    let (vault, caller, spec) = (state.vault.clone(), p.caller.clone(), f.spec());
    let made = blocking(move || {
        vault.generate_report(&caller, &spec, format, font.as_deref().map(Vec::as_slice))
    })
    .await;
    match made {
        Ok(g) => {
            let mut r = g.bytes.into_response();
            let h = r.headers_mut();
            let disposition = format!("attachment; filename=\"{}\"", g.file_name);
            for (name, value) in [
                (header::CONTENT_TYPE, g.format.content_type().to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
                (HeaderName::from_static("x-mamori-report-sha256"), g.sha256),
                (
                    HeaderName::from_static("x-mamori-audit-event"),
                    format!("{}#{}", g.log, g.seq),
                ),
            ] {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    h.insert(name, v);
                }
            }
            r
        }
        // Back to the month's page (the month asked for, or this one),
        // saying why.
        Err(why) => {
            let month = match f.spec() {
                ReportSpec::Monthly { month } => month,
                _ => this_month(),
            };
            oversight_page(&state, p, month, None, Some(why)).await
        }
    }
}
