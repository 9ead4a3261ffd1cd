//! Bulk exports in the console: the exports the vault lets the person see
//! (waiting for approval by default), one export with its approvals so far
//! and its history, and the acts on it — approve or deny (supervisors and
//! the security office, never the requester, never twice), revoke (the
//! security office), and the requester's one download of the package,
//! which is encrypted to the recipient's key: the browser only ever holds
//! ciphertext. The vault decides each act and records it.

use askama::Template;
use axum::{
    Form,
    extract::{Path, Query, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use mamori_core::Role;
use mamori_vault::exports::{ExportListFilter, ExportStatus, ExportView};
use serde::Deserialize;

use crate::{
    ConsoleState,
    i18n::Tr,
    pages::{Chrome, Person, Refused, blocking, forged, guarded, listed, render},
};

/// An export's status as the page names it.
fn status(s: ExportStatus) -> &'static str {
    match s {
        ExportStatus::Pending => "exports.status.pending",
        ExportStatus::Lapsed => "exports.status.lapsed",
        ExportStatus::Denied => "exports.status.denied",
        ExportStatus::Revoked => "exports.status.revoked",
        ExportStatus::Ready => "exports.status.ready",
        ExportStatus::Expired => "exports.status.expired",
        ExportStatus::Downloaded => "exports.status.downloaded",
    }
}

#[derive(Template)]
#[template(path = "exports.html")]
struct ExportsPage {
    t: Tr,
    page: Chrome,
    exports: Vec<(ExportView, &'static str)>,
    refused: Option<String>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    all: Option<String>,
}

pub async fn list(
    State(state): State<ConsoleState>,
    p: Person,
    Query(q): Query<ListQuery>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let filter = ExportListFilter {
        pending: q.all.is_none(),
        ..ExportListFilter::default()
    };
    let got = blocking(move || vault.exports(&caller, &filter)).await;
    let (exports, refused) = listed(got, None, |e| {
        let s = status(e.status);
        (e, s)
    });
    let t = Tr(p.lang);
    let page = p.chrome(t.get("exports.title"), false);
    let html = render(ExportsPage {
        t,
        page,
        exports,
        refused,
    });
    p.page(&state, html)
}

#[derive(Template)]
#[template(path = "export.html")]
struct ExportPage {
    t: Tr,
    page: Chrome,
    e: ExportView,
    status: &'static str,
    /// Forms offered (the vault still decides each act).
    approves: bool,
    revokes: bool,
    downloads: bool,
    done: Option<String>,
    refused: Option<String>,
}

async fn export_page(
    state: &ConsoleState,
    p: Person,
    id: String,
    done: Option<String>,
    refused: Option<String>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let Ok(e) = blocking(move || vault.export(&caller, &id)).await else {
        // Unknown and not yours answer alike.
        return crate::pages::not_found(&p);
    };
    let me = &p.caller.principal.login;
    let role = p.caller.role;
    let pending = e.status == ExportStatus::Pending;
    let approves = pending
        && matches!(role, Role::Supervisor | Role::SecurityOfficer)
        && e.requester != *me
        && !e.approvals.iter().any(|a| a.approver == *me);
    let revokes = role == Role::SecurityOfficer
        && matches!(e.status, ExportStatus::Pending | ExportStatus::Ready);
    let downloads = e.status == ExportStatus::Ready && e.requester == *me;
    let t = Tr(p.lang);
    let page = p.chrome(t.get("export.title"), false);
    let html = render(ExportPage {
        t,
        page,
        status: status(e.status),
        e,
        approves,
        revokes,
        downloads,
        done,
        refused,
    });
    p.page(state, html)
}

pub async fn show(
    State(state): State<ConsoleState>,
    p: Person,
    Path(id): Path<String>,
) -> Response {
    export_page(&state, p, id, None, None).await
}

#[derive(Deserialize)]
pub struct ActForm {
    csrf: String,
    action: String,
    #[serde(default)]
    comment: String,
}

/// Approve, deny or revoke, as the person; the export again, saying what happened.
pub async fn act(
    State(state): State<ConsoleState>,
    p: Person,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller, export) = (state.vault.clone(), p.caller.clone(), id.clone());
    let action = f.action.clone();
    let back = format!("/console/exports/{id}");
    let done = guarded(&back, move || {
        let comment = Some(f.comment.as_str()).filter(|c| !c.trim().is_empty());
        match action.as_str() {
            "approve" => vault.approve_export(&caller, &export, comment),
            "deny" => vault.deny_export(&caller, &export, comment.unwrap_or_default()),
            "revoke" => vault.revoke_export(&caller, &export, comment.unwrap_or_default()),
            _ => Err(mamori_vault::VaultError::bad(
                mamori_vault::ErrorCode::RequestInvalid,
                "unknown action",
            )),
        }
    })
    .await;
    match done {
        Ok(_) => export_page(&state, p, id, Some(f.action), None).await,
        Err(Refused::StepUp(r)) => r,
        Err(Refused::Said(why)) => export_page(&state, p, id, None, Some(why)).await,
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// The requester's one download: the encrypted package as a file.
pub async fn download(
    State(state): State<ConsoleState>,
    p: Person,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller, export) = (state.vault.clone(), p.caller.clone(), id.clone());
    let back = format!("/console/exports/{id}");
    match guarded(&back, move || vault.download_export(&caller, &export)).await {
        Ok(released) => {
            let d = released.into_inner();
            let mut r = d.bytes.into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            let disposition = format!("attachment; filename=\"{}\"", d.file_name);
            if let Ok(v) = HeaderValue::from_str(&disposition) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        Err(Refused::StepUp(r)) => r,
        Err(Refused::Said(why)) => export_page(&state, p, id, None, Some(why)).await,
    }
}
