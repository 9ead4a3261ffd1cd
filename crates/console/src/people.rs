//! The security office's records of people, vendors and decoys in the
//! console: everyone with their people-gate verdict now (training,
//! annual compliance confirmation, vendor contract, suspension), one
//! person with their training and confirmations and the forms to record a
//! course passed or a confirmation signed and to suspend or reinstate
//! them; vendors with their contracts and missing clauses; the decoy
//! customers and the form to plant more. The vault decides each read and
//! act (`people.*`, `vendor.*`, `honey.*` — the security office) and
//! records it; nobody else is shown anything, decoys least of all.

use askama::Template;
use axum::{
    Form,
    extract::{Path, State},
    response::Response,
};
use mamori_store::TenantStatus;
use mamori_vault::admin::people::{PersonSummary, PersonView, VendorView};
use serde::Deserialize;

use crate::{
    ConsoleState,
    i18n::Tr,
    pages::{Chrome, Person, blocking, forged, listed, render},
};

/// A person as the list shows them.
struct Row {
    p: PersonSummary,
    training_until: String,
    leaves: String,
}

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage {
    t: Tr,
    page: Chrome,
    people: Vec<Row>,
    refused: Option<String>,
}

pub async fn list(State(state): State<ConsoleState>, p: Person) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let t = Tr(p.lang);
    let got = blocking(move || vault.people_list(&caller)).await;
    let (people, refused) = listed(got, None, |x| Row {
        training_until: x.training_until.map(|e| t.date(e)).unwrap_or_default(),
        leaves: x.leaves_at.map(|e| t.date(e)).unwrap_or_default(),
        p: x,
    });
    let page = p.chrome(t.get("people.title"), false);
    let html = render(PeoplePage {
        t,
        page,
        people,
        refused,
    });
    p.page(&state, html)
}

/// A dated row of the person's record.
struct Dated {
    what: String,
    from: String,
    until: String,
    by: String,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    t: Tr,
    page: Chrome,
    v: PersonView,
    training: Vec<Dated>,
    compliance: Vec<Dated>,
    /// The office's forms (a person reading their own record gets none).
    manages: bool,
    done: Option<String>,
    refused: Option<String>,
}

async fn person_page(
    state: &ConsoleState,
    p: Person,
    login: String,
    done: Option<String>,
    refused: Option<String>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let Ok(v) = blocking(move || vault.person(&caller, &login)).await else {
        return crate::pages::not_found(&p);
    };
    let t = Tr(p.lang);
    let training = (v.training.iter())
        .map(|r| Dated {
            what: format!("{} ({})", r.course, r.score),
            from: t.date(r.completed_at),
            until: t.date(r.expires_at),
            by: r.recorded_by.clone(),
        })
        .collect();
    let compliance = (v.compliance.iter())
        .map(|r| Dated {
            what: String::new(),
            from: t.date(r.confirmed_at),
            until: t.date(r.expires_at),
            by: r.recorded_by.clone(),
        })
        .collect();
    let page = p.chrome(t.get("person.title"), false);
    let html = render(PersonPage {
        t,
        page,
        v,
        training,
        compliance,
        manages: p.caller.role == mamori_core::Role::SecurityOfficer,
        done,
        refused,
    });
    p.page(state, html)
}

pub async fn show(
    State(state): State<ConsoleState>,
    p: Person,
    Path(login): Path<String>,
) -> Response {
    person_page(&state, p, login, None, None).await
}

#[derive(Deserialize)]
pub struct ActForm {
    csrf: String,
    action: String,
    #[serde(default)]
    course: String,
    #[serde(default)]
    score: String,
}

/// Records a course or a confirmation, or suspends or reinstates, as the
/// person; their record again, saying what happened.
pub async fn act(
    State(state): State<ConsoleState>,
    p: Person,
    Path(login): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller, who) = (state.vault.clone(), p.caller.clone(), login.clone());
    let action = f.action.clone();
    let done = blocking(move || match action.as_str() {
        "training" => {
            let score = f.score.trim().parse::<u32>().map_err(|_| {
                mamori_vault::VaultError::bad(
                    mamori_vault::ErrorCode::RequestInvalid,
                    "the score is a whole number from 0 to 100",
                )
            })?;
            vault
                .record_training(&caller, &who, f.course.trim(), score, None)
                .map(|_| ())
        }
        "compliance" => vault.record_compliance(&caller, &who, None).map(|_| ()),
        "suspend" => vault.suspend_user(&caller, &who, None),
        "reinstate" => vault.reinstate_user(&caller, &who),
        _ => Err(mamori_vault::VaultError::bad(
            mamori_vault::ErrorCode::RequestInvalid,
            "unknown action",
        )),
    })
    .await;
    match done {
        Ok(()) => person_page(&state, p, login, Some(f.action), None).await,
        Err(why) => person_page(&state, p, login, None, Some(why)).await,
    }
}

/// A vendor as the list shows it.
struct Vendor {
    v: VendorView,
    from: String,
    until: String,
}

#[derive(Template)]
#[template(path = "vendors.html")]
struct VendorsPage {
    t: Tr,
    page: Chrome,
    vendors: Vec<Vendor>,
    refused: Option<String>,
}

pub async fn vendors(State(state): State<ConsoleState>, p: Person) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let t = Tr(p.lang);
    let got = blocking(move || vault.vendor_list(&caller)).await;
    let (vendors, refused) = listed(got, None, |v| Vendor {
        from: t.date(v.row.contract_start),
        until: t.date(v.row.contract_end),
        v,
    });
    let page = p.chrome(t.get("vendors.title"), false);
    let html = render(VendorsPage {
        t,
        page,
        vendors,
        refused,
    });
    p.page(&state, html)
}

/// A decoy as the list shows it.
struct Decoy {
    tenant: String,
    record: String,
    planted_by: String,
    at: String,
}

#[derive(Template)]
#[template(path = "honey.html")]
struct HoneyPage {
    t: Tr,
    page: Chrome,
    decoys: Vec<Decoy>,
    tenants: Vec<String>,
    done: Option<String>,
    refused: Option<String>,
}

async fn honey_page(
    state: &ConsoleState,
    p: Person,
    done: Option<String>,
    refused: Option<String>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let t = Tr(p.lang);
    let listed = blocking(move || {
        let rows = vault.honey_records(&caller)?;
        // The tenants' ids for the form (metadata the gate just let the
        // security office see; no records are counted).
        let tenants = vault.store().tenants()?;
        Ok((rows, tenants))
    })
    .await;
    let (decoys, tenants, refused) = match listed {
        Ok((rows, tenants)) => (
            rows.into_iter()
                .map(|h| Decoy {
                    at: t.time(h.planted_at),
                    tenant: h.tenant,
                    record: h.record.to_string(),
                    planted_by: h.planted_by,
                })
                .collect(),
            tenants
                .into_iter()
                .filter(|x| x.status == TenantStatus::Active)
                .map(|x| x.id)
                .collect(),
            refused,
        ),
        Err(why) => (Vec::new(), Vec::new(), Some(why)),
    };
    let page = p.chrome(t.get("honey.title"), false);
    let html = render(HoneyPage {
        t,
        page,
        decoys,
        tenants,
        done,
        refused,
    });
    p.page(state, html)
}

pub async fn honey(State(state): State<ConsoleState>, p: Person) -> Response {
    honey_page(&state, p, None, None).await
}

#[derive(Deserialize)]
pub struct PlantForm {
    csrf: String,
    tenant: String,
    count: String,
}

pub async fn plant(
    State(state): State<ConsoleState>,
    p: Person,
    Form(f): Form<PlantForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let done = blocking(move || {
        let n = f.count.trim().parse::<usize>().map_err(|_| {
            mamori_vault::VaultError::bad(
                mamori_vault::ErrorCode::HoneyCountInvalid,
                "the number of decoys is a whole number",
            )
        })?;
        vault.plant_honey_as(&caller, &f.tenant, n)
    })
    .await;
    match done {
        Ok(n) => honey_page(&state, p, Some(n.to_string()), None).await,
        Err(why) => honey_page(&state, p, None, Some(why)).await,
    }
}
