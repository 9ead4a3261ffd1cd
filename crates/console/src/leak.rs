//! Leak response in the console (the security office): a leaked file
//! uploaded as it was found, and the vault's analysis of it — per file
//! (a zip's entries each) the kinds of personal data it holds, counted,
//! with a masked example of each; per tenant how many customers it names
//! (confirmed by two values of a row, and at most), the accounts and
//! exports that were shown those customers with their share and first and
//! last time, the report categories of the 個人情報保護委員会 rules; and
//! the exports whose watermark the file carries. The upload is read only
//! after the person is authenticated (the extractor runs first) and kept
//! nowhere: it is analysed in memory and dropped.

use askama::Template;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::{
    extract::{Multipart, State},
    response::Response,
};
use mamori_core::{Role, schema::ReportTo};
use mamori_store::TenantStatus;
use mamori_vault::leak::{breach::FileAnalysis, notice::BreachNotice};

use crate::{
    ConsoleState,
    i18n::{Lang, Tr},
    pages::{Chrome, Person, blocking, forged, render},
    upload,
};

/// The largest leaked file the console takes (as the API's breach routes).
pub const MAX_LEAK_BYTES: usize = 64 * 1024 * 1024;

/// A kind of personal data found, counted, with its masked example.
struct Item {
    label: &'static str,
    count: u64,
    example: String,
}

/// One file's analysis as the page shows it.
struct Shown {
    a: FileAnalysis,
    items: Vec<Item>,
}

#[derive(Template)]
#[template(path = "leak.html")]
struct LeakPage {
    t: Tr,
    page: Chrome,
    files: Vec<Shown>,
    name: Option<String>,
    /// Whether the upload forms are offered (the security office).
    offered: bool,
    /// Active tenants, for the notice form.
    tenants: Vec<String>,
    notice: Option<Notice>,
    refused: Option<String>,
}

/// A drafted notice as the page shows it.
struct Notice {
    n: BreachNotice,
    report_to: &'static str,
}

fn shown(lang: Lang, a: FileAnalysis) -> Shown {
    let items = (a.items.counts.iter())
        .map(|(kind, n)| Item {
            label: match lang {
                Lang::Ja => kind.label_ja(),
                Lang::En => kind.label_en(),
            },
            count: *n,
            example: a.items.examples.get(kind).cloned().unwrap_or_default(),
        })
        .collect();
    Shown { a, items }
}

fn leak_page(
    state: &ConsoleState,
    p: Person,
    files: Vec<FileAnalysis>,
    name: Option<String>,
    notice: Option<BreachNotice>,
    refused: Option<String>,
) -> Response {
    let t = Tr(p.lang);
    // Masked examples and drafts about customers: watermarked, not printed.
    let page = p.chrome(t.get("leak.title"), !files.is_empty() || notice.is_some());
    // The forms are offered to the security office only (the vault decides
    // each analysis anyway); nobody else is told which tenants exist.
    let offered = p.caller.role == Role::SecurityOfficer;
    let tenants = if offered {
        let all = state.vault.store().tenants().unwrap_or_default();
        (all.into_iter())
            .filter(|x| x.status == TenantStatus::Active)
            .map(|x| x.id)
            .collect()
    } else {
        Vec::new()
    };
    let html = render(LeakPage {
        files: files.into_iter().map(|a| shown(p.lang, a)).collect(),
        t,
        page,
        name,
        offered,
        tenants,
        notice: notice.map(|n| Notice {
            report_to: match n.report_to {
                ReportTo::Ppc => "leak.to.ppc",
                ReportTo::Soumu => "leak.to.soumu",
                ReportTo::Municipal => "leak.to.municipal",
            },
            n,
        }),
        refused,
    });
    p.page(state, html)
}

pub async fn form(State(state): State<ConsoleState>, p: Person) -> Response {
    leak_page(&state, p, Vec::new(), None, None, None)
}

/// Analyses the uploaded file as the person.
pub async fn analyze(State(state): State<ConsoleState>, p: Person, form: Multipart) -> Response {
    let mut up = match upload::read(form).await {
        Ok(up) => up,
        Err(key) => {
            let why = Tr(p.lang).get(key).to_owned();
            return leak_page(&state, p, Vec::new(), None, None, Some(why));
        }
    };
    if let Some(r) = forged(&p, up.text("csrf")) {
        return r;
    }
    let Some((name, bytes)) = up.take_file("file") else {
        let why = Tr(p.lang).get("leak.empty").to_owned();
        return leak_page(&state, p, Vec::new(), None, None, Some(why));
    };
    let (vault, caller, shown_name) = (state.vault.clone(), p.caller.clone(), name.clone());
    let done = blocking(move || vault.analyze_upload(&caller, &name, &bytes)).await;
    match done {
        Ok(files) => leak_page(&state, p, files, Some(shown_name), None, None),
        Err(why) => leak_page(&state, p, Vec::new(), None, None, Some(why)),
    }
}

/// The notification package for one tenant: the drafts (速報, 確報) with
/// their deadlines shown, or the list of the people affected, encrypted to
/// the tenant's recipient key, as a file.
pub async fn notice(State(state): State<ConsoleState>, p: Person, form: Multipart) -> Response {
    let mut up = match upload::read(form).await {
        Ok(up) => up,
        Err(key) => {
            let why = Tr(p.lang).get(key).to_owned();
            return leak_page(&state, p, Vec::new(), None, None, Some(why));
        }
    };
    if let Some(r) = forged(&p, up.text("csrf")) {
        return r;
    }
    let Some((name, bytes)) = up.take_file("file") else {
        let why = Tr(p.lang).get("leak.empty").to_owned();
        return leak_page(&state, p, Vec::new(), None, None, Some(why));
    };
    let (tenant, want) = (up.text("tenant").to_owned(), up.text("want").to_owned());
    let known_at = match up.text("known_on").trim() {
        "" => None,
        day => match chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d") {
            Ok(d) => Some(mamori_core::jst::midnight(d)),
            Err(_) => {
                let why = Tr(p.lang).get("leak.bad_date").to_owned();
                return leak_page(&state, p, Vec::new(), None, None, Some(why));
            }
        },
    };
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let done = blocking(move || {
        let leaked = vault.read_leak(&caller, &name, &bytes)?;
        vault.breach_notice(&caller, &leaked, &tenant, known_at)
    })
    .await;
    match done {
        Ok(n) if want == "list" => match n.list {
            Some(list) => {
                let mut r = list.bytes.into_response();
                let h = r.headers_mut();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                let file = format!("attachment; filename=\"{}-affected.csv.age\"", n.tenant);
                if let Ok(v) = HeaderValue::from_str(&file) {
                    h.insert(header::CONTENT_DISPOSITION, v);
                }
                r
            }
            None => {
                let why = Tr(p.lang).get("leak.no_list").to_owned();
                leak_page(&state, p, Vec::new(), None, Some(n), Some(why))
            }
        },
        Ok(n) => leak_page(&state, p, Vec::new(), None, Some(n), None),
        Err(why) => leak_page(&state, p, Vec::new(), None, None, Some(why)),
    }
}
