//! Alerts in the console: the list the vault lets the person see (the
//! security office and auditors all, a supervisor their team's, nobody their
//! own), one alert with its evidence, and its handling — acknowledge, close
//! as resolved or as a false positive with a note, suspend the person —
//! offered only to those who handle alerts (the security office and
//! supervisors); the vault decides each act and records it.

use askama::Template;
use axum::{
    Form,
    extract::{Path, Query, State},
    response::Response,
};
use mamori_core::Role;
use mamori_store::{AlertFilter, AlertState};
use mamori_vault::alerts::{AlertView, Outcome};
use serde::Deserialize;

use crate::{
    ConsoleState,
    i18n::{Lang, Tr},
    pages::{Chrome, Person, blocking, forged, listed, render},
};

/// An alert as a page shows it.
pub struct Shown {
    pub id: String,
    pub severity: String,
    pub rule: String,
    pub summary: String,
    pub login: String,
    pub tenant: String,
    pub at: String,
    pub state: String,
    pub assignee: String,
    pub evidence: String,
    pub note: Option<String>,
    pub open: bool,
}

fn shown(a: AlertView, lang: Lang) -> Shown {
    let r = a.row;
    let at = chrono::DateTime::from_timestamp(r.at, 0)
        .map(|t| {
            t.with_timezone(&mamori_core::jst::zone())
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default();
    Shown {
        severity: r.severity,
        rule: r.rule,
        summary: match lang {
            Lang::Ja => a.summary_ja,
            Lang::En => a.summary_en,
        },
        login: r.login,
        tenant: r.tenant.unwrap_or_default(),
        at,
        state: r.state.as_str().to_owned(),
        open: matches!(r.state, AlertState::Open | AlertState::Acknowledged),
        assignee: r.assignee.unwrap_or_default(),
        evidence: format!("{}#{}", r.evidence_log, r.evidence_seq),
        note: a.note,
        id: r.id,
    }
}

/// Whether the role handles alerts (the vault still decides each act).
fn manages(role: Role) -> bool {
    matches!(role, Role::SecurityOfficer | Role::Supervisor)
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    t: Tr,
    page: Chrome,
    alerts: Vec<Shown>,
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
    let filter = AlertFilter {
        state: q.all.is_none().then_some(AlertState::Open),
        limit: 200,
        ..AlertFilter::default()
    };
    let got = blocking(move || vault.alerts(&caller, &filter)).await;
    let (alerts, refused) = listed(got, None, |a| shown(a, p.lang));
    let t = Tr(p.lang);
    let page = p.chrome(t.get("alerts.title"), false);
    let html = render(AlertsPage {
        t,
        page,
        alerts,
        refused,
    });
    p.page(&state, html)
}

#[derive(Template)]
#[template(path = "alert.html")]
struct AlertPage {
    t: Tr,
    page: Chrome,
    a: Shown,
    manages: bool,
    done: Option<String>,
    refused: Option<String>,
}

pub(crate) async fn page(
    state: &ConsoleState,
    p: Person,
    id: String,
    done: Option<String>,
    refused: Option<String>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let a = match blocking(move || vault.alert(&caller, &id)).await {
        Ok(a) => shown(a, p.lang),
        // Unknown and not yours answer alike.
        _ => return crate::pages::not_found(&p),
    };
    let t = Tr(p.lang);
    let page = p.chrome(t.get("alert.title"), false);
    let html = render(AlertPage {
        t,
        page,
        a,
        manages: manages(p.caller.role),
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
    page(&state, p, id, None, None).await
}

#[derive(Deserialize)]
pub struct ActForm {
    csrf: String,
    action: String,
    #[serde(default)]
    note: String,
}

/// One act on an alert, as the person; the alert again, saying what happened.
pub async fn act(
    State(state): State<ConsoleState>,
    p: Person,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller, alert) = (state.vault.clone(), p.caller.clone(), id.clone());
    let action = f.action.clone();
    let done = blocking(move || match action.as_str() {
        "ack" => vault.acknowledge_alert(&caller, &alert).map(|_| ()),
        "resolve" => vault
            .close_alert(&caller, &alert, Outcome::Resolved, &f.note)
            .map(|_| ()),
        "false_positive" => vault
            .close_alert(&caller, &alert, Outcome::FalsePositive, &f.note)
            .map(|_| ()),
        "suspend" => {
            let login = vault.alert(&caller, &alert)?.row.login;
            vault.suspend_user(&caller, &login, Some(&alert))
        }
        _ => Err(mamori_vault::VaultError::bad(
            mamori_vault::ErrorCode::RequestInvalid,
            "unknown action",
        )),
    })
    .await;
    match done {
        Ok(()) => page(&state, p, id, Some(f.action), None).await,
        Err(why) => page(&state, p, id, None, Some(why)).await,
    }
}
