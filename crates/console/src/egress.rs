//! The egress register (通信先管理簿) in the console: the destinations the
//! contact centre's PCs may reach, each requested with its purpose by a
//! supervisor, a system administrator or the security office, approved by
//! the security office (never its own request) for a limited time,
//! re-approved to stay, revoked with a reason. The allow-list the proxy
//! loads is published from the register with `mamori egress publish` or
//! `GET /v1/egress/allow-list`.

use askama::Template;
use axum::{
    Form,
    extract::{Path, State},
    response::Response,
};
use mamori_core::Role;
use mamori_vault::egress::{EgressEntry, EgressState};
use serde::Deserialize;

use crate::{
    ConsoleState,
    i18n::Tr,
    pages::{Chrome, Person, blocking, forged, listed, render},
};

fn state_key(s: EgressState) -> &'static str {
    match s {
        EgressState::Pending => "egress.state.pending",
        EgressState::Approved => "egress.state.approved",
        EgressState::Lapsed => "egress.state.lapsed",
        EgressState::Revoked => "egress.state.revoked",
    }
}

#[derive(Template)]
#[template(path = "egress.html")]
struct EgressPage {
    t: Tr,
    page: Chrome,
    entries: Vec<(EgressEntry, &'static str)>,
    /// The security office approves and revokes.
    approves: bool,
    done: Option<String>,
    refused: Option<String>,
}

async fn egress_page(
    state: &ConsoleState,
    p: Person,
    done: Option<String>,
    refused: Option<String>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let got = blocking(move || vault.egress_register(&caller)).await;
    let (entries, refused) = listed(got, refused, |e| {
        let k = state_key(e.state);
        (e, k)
    });
    let t = Tr(p.lang);
    let page = p.chrome(t.get("egress.title"), false);
    let html = render(EgressPage {
        t,
        page,
        entries,
        approves: p.caller.role == Role::SecurityOfficer,
        done,
        refused,
    });
    p.page(state, html)
}

pub async fn list(State(state): State<ConsoleState>, p: Person) -> Response {
    egress_page(&state, p, None, None).await
}

#[derive(Deserialize)]
pub struct RequestForm {
    csrf: String,
    destination: String,
    port: String,
    purpose: String,
    days: String,
}

/// Asks for a destination as the person.
pub async fn request(
    State(state): State<ConsoleState>,
    p: Person,
    Form(f): Form<RequestForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let done = blocking(move || {
        let bad = |what: &str| {
            mamori_vault::VaultError::bad(mamori_vault::ErrorCode::RequestInvalid, what.to_owned())
        };
        let port = f
            .port
            .trim()
            .parse::<u16>()
            .map_err(|_| bad("the port is 1-65535"))?;
        let days = f
            .days
            .trim()
            .parse::<u32>()
            .map_err(|_| bad("the days are a whole number"))?;
        vault.egress_request(&caller, f.destination.trim(), port, &f.purpose, days)
    })
    .await;
    match done {
        Ok(e) => egress_page(&state, p, Some(e.destination), None).await,
        Err(why) => egress_page(&state, p, None, Some(why)).await,
    }
}

#[derive(Deserialize)]
pub struct ActForm {
    csrf: String,
    action: String,
    #[serde(default)]
    reason: String,
}

/// Approves (or re-approves) or revokes a destination as the security office.
pub async fn act(
    State(state): State<ConsoleState>,
    p: Person,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let action = f.action.clone();
    let done = blocking(move || match action.as_str() {
        "approve" => vault.egress_approve(&caller, &id),
        "revoke" => vault.egress_revoke(&caller, &id, &f.reason),
        _ => Err(mamori_vault::VaultError::bad(
            mamori_vault::ErrorCode::RequestInvalid,
            "unknown action",
        )),
    })
    .await;
    let t = Tr(p.lang);
    match done {
        Ok(e) => {
            let what = format!("{}: {}", t.done(&f.action), e.destination);
            egress_page(&state, p, Some(what), None).await
        }
        Err(why) => egress_page(&state, p, None, Some(why)).await,
    }
}
