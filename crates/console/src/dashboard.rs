//! The security office's dashboard (auditors read it too): the vault's
//! `dashboard` drawn as figures, server-side SVG charts and short lists,
//! each linking to the screen where it is handled. Nobody else gets it:
//! the vault refuses them and the page says so.

use askama::Template;
use axum::{extract::State, response::Response};
use mamori_vault::dashboard::{
    CONTRACT_SOON_DAYS, ContractEnding, Dashboard, TRAINING_SOON_DAYS, TrainingDue,
};

use crate::{
    ConsoleState,
    charts::{self, Bars, Columns, Row},
    i18n::Tr,
    pages::{Chrome, Person, blocking, render},
};

/// A training entry as listed.
struct Due {
    login: String,
    role: String,
    course: String,
    until: String,
    lapsed: bool,
    /// Never passed at all (as opposed to a pass that ended).
    never: bool,
}

struct Ending {
    vendor: String,
    name: String,
    until: String,
    people: u64,
    ended: bool,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    t: Tr,
    page: Chrome,
    refused: Option<String>,
    /// Open alerts, exports and requests waiting.
    alerts_open: u64,
    exports_pending: u64,
    requests_pending: u64,
    severity: Option<Bars>,
    rules: Option<Bars>,
    per_day: Option<Columns>,
    full_access: Option<Bars>,
    over_cap: Vec<String>,
    training: Vec<Due>,
    contracts: Vec<Ending>,
    training_days: i64,
    contract_days: i64,
    at: String,
}

pub async fn show(State(state): State<ConsoleState>, p: Person) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let got = blocking(move || vault.dashboard(&caller)).await;
    let t = Tr(p.lang);
    let page = p.chrome(t.get("dashboard.title"), false);
    let html = render(match got {
        Ok(d) => drawn(t, page, d),
        Err(why) => DashboardPage {
            refused: Some(why),
            ..drawn(t, page, Dashboard::default())
        },
    });
    p.page(&state, html)
}

fn drawn(t: Tr, page: Chrome, d: Dashboard) -> DashboardPage {
    let severity = charts::bars(
        "severity",
        t.get("dashboard.by_severity"),
        (d.alerts_by_severity.iter())
            .map(|c| Row::new(severity_label(t, &c.label), c.n).class(c.label.clone()))
            .collect(),
    );
    let rules = charts::bars(
        "rules",
        t.get("dashboard.by_rule"),
        (d.alerts_by_rule.iter())
            .map(|c| Row::new(rule_label(t, &c.label), c.n))
            .collect(),
    );
    let per_day = charts::columns(
        "per-day",
        t.get("dashboard.per_day"),
        (d.alerts_per_day.iter())
            .map(|c| (c.label.clone(), c.n))
            .collect(),
    );
    let full_access = charts::bars(
        "full-access",
        t.get("dashboard.full_access"),
        (d.full_access.iter())
            .map(|f| Row::new(f.tenant.clone(), f.holders).limit(u64::from(f.cap)))
            .collect(),
    );
    let over_cap = (d.full_access.iter())
        .filter(|f| f.holders > u64::from(f.cap))
        .map(|f| f.tenant.clone())
        .collect();
    DashboardPage {
        alerts_open: d.alerts_by_severity.iter().map(|c| c.n).sum(),
        exports_pending: d.exports_pending,
        requests_pending: d.requests_pending,
        severity: Some(severity),
        rules: (!d.alerts_by_rule.is_empty()).then_some(rules),
        per_day: Some(per_day),
        full_access: (!d.full_access.is_empty()).then_some(full_access),
        over_cap,
        training: d.training.into_iter().map(|x| due(t, x)).collect(),
        contracts: d.contracts.into_iter().map(|c| ending(t, c)).collect(),
        training_days: TRAINING_SOON_DAYS,
        contract_days: CONTRACT_SOON_DAYS,
        at: if d.at > 0 {
            t.time(d.at)
        } else {
            String::new()
        },
        t,
        page,
        refused: None,
    }
}

fn severity_label(t: Tr, s: &str) -> String {
    match s {
        "critical" => t.get("severity.critical").to_owned(),
        "high" => t.get("severity.high").to_owned(),
        "medium" => t.get("severity.medium").to_owned(),
        "low" => t.get("severity.low").to_owned(),
        other => other.to_owned(),
    }
}

/// A rule's name for people (its id if the vault knows a rule this
/// build does not).
fn rule_label(t: Tr, rule: &str) -> String {
    match mamori_detect::rules::RuleId::parse(rule).map(|r| r.title()) {
        Some((ja, en)) => match t.0 {
            crate::i18n::Lang::Ja => ja.to_owned(),
            crate::i18n::Lang::En => en.to_owned(),
        },
        None => rule.to_owned(),
    }
}

fn due(t: Tr, x: TrainingDue) -> Due {
    Due {
        until: x.expires_at.map(|e| t.date(e)).unwrap_or_default(),
        never: x.expires_at.is_none(),
        login: x.login,
        role: x.role,
        course: x.course,
        lapsed: x.lapsed,
    }
}

fn ending(t: Tr, c: ContractEnding) -> Ending {
    Ending {
        until: t.date(c.contract_end),
        vendor: c.vendor,
        name: c.name,
        people: c.people,
        ended: c.ended,
    }
}
