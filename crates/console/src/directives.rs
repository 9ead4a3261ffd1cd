//! Corrective directives (是正指示) in the console: the directives the
//! person may see in each of their tenants — addressed to them, or, for a
//! supervisor, to their team, and for the security office and auditors,
//! all — each acknowledged by its recipient with an optional reply; and a
//! directive issued from an alert about the person it names. The vault
//! decides each step and keeps the text sealed in the tenant's log; a
//! directive may name a customer, so the page is watermarked and prints
//! only a notice.

use askama::Template;
use axum::{
    Form,
    extract::{Path, State},
    response::Response,
};
use mamori_core::Role;
use mamori_store::TenantStatus;
use mamori_vault::directives::DirectiveView;
use serde::Deserialize;

use crate::{
    ConsoleState,
    i18n::Tr,
    pages::{Chrome, Person, blocking, forged, render, tenants},
};

/// A directive as the page shows it.
struct Shown {
    d: DirectiveView,
    issued_at: String,
    acknowledged_at: String,
    /// The recipient may acknowledge it here.
    acknowledges: bool,
}

#[derive(Template)]
#[template(path = "directives.html")]
struct DirectivesPage {
    t: Tr,
    page: Chrome,
    directives: Vec<Shown>,
    done: Option<String>,
    refused: Option<String>,
}

/// The tenants whose directives the person looks through: their own, or
/// every active one for those who oversee all (the vault still decides
/// each directive).
fn tenants_of(state: &ConsoleState, p: &Person) -> Vec<String> {
    if matches!(p.caller.role, Role::SecurityOfficer | Role::Auditor) {
        return (state
            .vault
            .store()
            .tenants()
            .unwrap_or_default()
            .into_iter())
        .filter(|t| t.status == TenantStatus::Active)
        .map(|t| t.id)
        .collect();
    }
    tenants(p)
}

async fn directives_page(
    state: &ConsoleState,
    p: Person,
    done: Option<String>,
    refused: Option<String>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let list = tenants_of(state, &p);
    let listed = blocking(move || {
        let mut all = Vec::new();
        for tenant in list {
            all.extend(vault.directives(&caller, &tenant, None)?);
        }
        Ok(all)
    })
    .await;
    let t = Tr(p.lang);
    let me = p.caller.principal.login.clone();
    let (directives, refused) = match listed {
        Ok(v) => (
            v.into_iter()
                .map(|d| Shown {
                    issued_at: t.at(&d.issued_at),
                    acknowledged_at: d
                        .acknowledged_at
                        .as_deref()
                        .map(|s| t.at(s))
                        .unwrap_or_default(),
                    acknowledges: d.to == me && d.acknowledged.is_none(),
                    d,
                })
                .collect(),
            refused,
        ),
        Err(why) => (Vec::new(), Some(why)),
    };
    let page = p.chrome(t.get("directives.title"), true);
    let html = render(DirectivesPage {
        t,
        page,
        directives,
        done,
        refused,
    });
    p.page(state, html)
}

pub async fn list(State(state): State<ConsoleState>, p: Person) -> Response {
    directives_page(&state, p, None, None).await
}

#[derive(Deserialize)]
pub struct AckForm {
    csrf: String,
    #[serde(default)]
    response: String,
}

/// The recipient acknowledges a directive; the list again.
pub async fn acknowledge(
    State(state): State<ConsoleState>,
    p: Person,
    Path((tenant, id)): Path<(String, String)>,
    Form(f): Form<AckForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let done = blocking(move || {
        let response = Some(f.response.as_str()).filter(|r| !r.trim().is_empty());
        vault.acknowledge_directive(&caller, &tenant, &id, response)
    })
    .await;
    let t = Tr(p.lang);
    match done {
        Ok(_) => directives_page(&state, p, Some(t.done("acknowledge")), None).await,
        Err(why) => directives_page(&state, p, None, Some(why)).await,
    }
}

#[derive(Deserialize)]
pub struct IssueForm {
    csrf: String,
    text: String,
}

/// A directive about an alert to the person it names (the security office,
/// or a supervisor for their team); the alert's page again.
pub async fn issue_from_alert(
    State(state): State<ConsoleState>,
    p: Person,
    Path(alert): Path<String>,
    Form(f): Form<IssueForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller, id) = (state.vault.clone(), p.caller.clone(), alert.clone());
    let done = blocking(move || {
        let a = vault.alert(&caller, &id)?.row;
        let tenant = a.tenant.unwrap_or_default();
        vault.issue_directive(&caller, &tenant, &a.login, &format!("alert:{id}"), &f.text)
    })
    .await;
    match done {
        Ok(_) => crate::alerts::page(&state, p, alert, Some("directive".into()), None).await,
        Err(why) => crate::alerts::page(&state, p, alert, None, Some(why)).await,
    }
}
