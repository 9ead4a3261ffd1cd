//! The PC agents in the console (the security office, auditors): each
//! scanner machine with its last report's verdict (clean, findings,
//! incomplete), when it last reported and was last clean, whether it has
//! gone silent, the hunts it has not answered; and the security office's
//! form to send every machine (or some) hunting — scan again at their next
//! contact and report, for an incident's case.

use askama::Template;
use axum::{Form, extract::State, response::Response};
use mamori_core::Role;
use mamori_store::ScanVerdict;
use mamori_vault::leak::agents::{MachineView, NewHunt};
use serde::Deserialize;

use crate::{
    ConsoleState,
    i18n::Tr,
    pages::{Chrome, Person, blocking, forged, listed, render},
};

/// Days without a report after which a machine counts as silent here.
const SILENT_DAYS: u32 = 7;

fn verdict(v: Option<ScanVerdict>) -> &'static str {
    match v {
        Some(ScanVerdict::Clean) => "machines.clean",
        Some(ScanVerdict::Findings) => "machines.findings",
        Some(ScanVerdict::Incomplete) => "machines.incomplete",
        None => "machines.never",
    }
}

#[derive(Template)]
#[template(path = "machines.html")]
struct MachinesPage {
    t: Tr,
    page: Chrome,
    machines: Vec<(MachineView, &'static str)>,
    hunts: bool,
    silent_days: u32,
    done: Option<String>,
    refused: Option<String>,
}

async fn machines_page(
    state: &ConsoleState,
    p: Person,
    done: Option<String>,
    refused: Option<String>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let got = blocking(move || vault.machines(&caller, SILENT_DAYS)).await;
    let (machines, refused) = listed(got, refused, |m| {
        let v = verdict(m.last_verdict);
        (m, v)
    });
    let t = Tr(p.lang);
    let page = p.chrome(t.get("machines.title"), false);
    let html = render(MachinesPage {
        t,
        page,
        machines,
        hunts: p.caller.role == Role::SecurityOfficer,
        silent_days: SILENT_DAYS,
        done,
        refused,
    });
    p.page(state, html)
}

pub async fn list(State(state): State<ConsoleState>, p: Person) -> Response {
    machines_page(&state, p, None, None).await
}

#[derive(Deserialize)]
pub struct HuntForm {
    csrf: String,
    case_id: String,
    #[serde(default)]
    full: Option<String>,
}

/// Sends every scanner hunting for a case (the security office).
pub async fn hunt(
    State(state): State<ConsoleState>,
    p: Person,
    Form(f): Form<HuntForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let h = NewHunt {
        case_id: f.case_id.trim().to_owned(),
        full: f.full.is_some(),
        machines: Vec::new(),
        quarantine_to: None,
        days: None,
    };
    match blocking(move || vault.start_hunt(&caller, &h)).await {
        Ok(row) => machines_page(&state, p, Some(row.case_id), None).await,
        Err(why) => machines_page(&state, p, None, Some(why)).await,
    }
}
