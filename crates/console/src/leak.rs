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
use axum::{
    extract::{Multipart, State},
    response::Response,
};
use mamori_vault::leak::breach::FileAnalysis;

use crate::{
    ConsoleState,
    i18n::{Lang, Tr},
    pages::{Chrome, Person, blocking, forged, render},
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
    refused: Option<String>,
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
    refused: Option<String>,
) -> Response {
    let t = Tr(p.lang);
    // Masked examples of customers' data: watermarked, not printed.
    let page = p.chrome(t.get("leak.title"), !files.is_empty());
    let html = render(LeakPage {
        files: files.into_iter().map(|a| shown(p.lang, a)).collect(),
        t,
        page,
        name,
        refused,
    });
    p.page(state, html)
}

pub async fn form(State(state): State<ConsoleState>, p: Person) -> Response {
    leak_page(&state, p, Vec::new(), None, None)
}

/// What the upload form sent: its CSRF token and the file.
struct Upload {
    csrf: String,
    name: String,
    bytes: Vec<u8>,
}

async fn read_upload(mut form: Multipart) -> Result<Upload, &'static str> {
    let mut up = Upload {
        csrf: String::new(),
        name: String::new(),
        bytes: Vec::new(),
    };
    while let Some(field) = form.next_field().await.map_err(|_| "leak.bad_upload")? {
        match field.name() {
            Some("csrf") => up.csrf = field.text().await.map_err(|_| "leak.bad_upload")?,
            Some("file") => {
                // The browser's file name, reduced to its last part.
                up.name = (field.file_name().unwrap_or("leaked"))
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or("leaked")
                    .to_owned();
                up.bytes = field.bytes().await.map_err(|_| "leak.too_large")?.to_vec();
            }
            _ => {}
        }
    }
    if up.bytes.is_empty() {
        return Err("leak.empty");
    }
    Ok(up)
}

/// Analyses the uploaded file as the person.
pub async fn analyze(State(state): State<ConsoleState>, p: Person, form: Multipart) -> Response {
    let up = match read_upload(form).await {
        Ok(up) => up,
        Err(key) => {
            let why = Tr(p.lang).get(key).to_owned();
            return leak_page(&state, p, Vec::new(), None, Some(why));
        }
    };
    if let Some(r) = forged(&p, &up.csrf) {
        return r;
    }
    let (vault, caller, name) = (state.vault.clone(), p.caller.clone(), up.name.clone());
    let done = blocking(move || vault.analyze_upload(&caller, &name, &up.bytes)).await;
    match done {
        Ok(files) => leak_page(&state, p, files, Some(up.name), None),
        Err(why) => leak_page(&state, p, Vec::new(), None, Some(why)),
    }
}
