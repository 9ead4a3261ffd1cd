//! Access reviews in the console: the campaigns the person takes part in
//! (reviewers) or oversees (the security office, auditors) with their
//! progress; the reviewer's items, each with the vault's evidence (reads,
//! customers, last use, open alerts, training, peers holding the same,
//! "unused: suggests revoke") and a keep-or-revoke form that needs a
//! reason; a campaign's figures per reviewer, keep rate charted so that
//! rubber-stamping shows; and the security office's form to open a
//! quarterly campaign. The vault decides and records each step.

use askama::Template;
use axum::{
    Form,
    extract::{Path, Query, State},
    response::Response,
};
use mamori_core::Role;
use mamori_vault::{
    review_evidence::{Kind, Scope},
    reviews::{CampaignSpec, CampaignStats, CampaignView, ItemView, Verdict},
};
use serde::Deserialize;

use crate::{
    ConsoleState,
    charts::{self, Bars, Row},
    i18n::Tr,
    pages::{Chrome, Person, blocking, forged, listed, render},
};

#[derive(Template)]
#[template(path = "reviews.html")]
struct ReviewsPage {
    t: Tr,
    page: Chrome,
    campaigns: Vec<CampaignView>,
    /// The security office's form to open one.
    opens: bool,
    /// Links to each campaign's figures (the security office, auditors).
    oversees: bool,
    done: Option<String>,
    refused: Option<String>,
}

async fn reviews_page(
    state: &ConsoleState,
    p: Person,
    done: Option<String>,
    refused: Option<String>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let (campaigns, refused) = listed(
        blocking(move || vault.campaigns(&caller, true)).await,
        refused,
        |x| x,
    );
    let t = Tr(p.lang);
    let page = p.chrome(t.get("reviews.title"), false);
    let html = render(ReviewsPage {
        t,
        page,
        campaigns,
        opens: p.caller.role == Role::SecurityOfficer,
        oversees: matches!(p.caller.role, Role::SecurityOfficer | Role::Auditor),
        done,
        refused,
    });
    p.page(state, html)
}

pub async fn list(State(state): State<ConsoleState>, p: Person) -> Response {
    reviews_page(&state, p, None, None).await
}

#[derive(Deserialize)]
pub struct OpenForm {
    csrf: String,
    title: String,
    #[serde(default)]
    tenant: String,
    /// `segment`, `full_access`, or empty for both.
    #[serde(default)]
    kind: String,
    /// Who reviews the items of people without an eligible manager.
    #[serde(default)]
    fallback: String,
    /// The deadline's date (YYYY-MM-DD, Japan), the end of that day.
    deadline: String,
}

/// Opens a quarterly campaign (the usual settings) as the person.
pub async fn open(
    State(state): State<ConsoleState>,
    p: Person,
    Form(f): Form<OpenForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let done = blocking(move || {
        let day =
            chrono::NaiveDate::parse_from_str(f.deadline.trim(), "%Y-%m-%d").map_err(|_| {
                mamori_vault::VaultError::bad(
                    mamori_vault::ErrorCode::CampaignInvalid,
                    "the deadline is a date, YYYY-MM-DD",
                )
            })?;
        let deadline = mamori_core::jst::midnight(day) + 86_400 - 1;
        let scope = Scope {
            tenant: Some(f.tenant.trim().to_owned()).filter(|t| !t.is_empty()),
            kinds: Kind::parse(&f.kind).into_iter().collect(),
            ..Scope::default()
        };
        let mut spec = CampaignSpec::quarterly(f.title.trim(), scope, deadline);
        spec.fallback = Some(f.fallback.trim().to_owned()).filter(|l| !l.is_empty());
        vault.open_campaign(&caller, &spec)
    })
    .await;
    match done {
        Ok(c) => reviews_page(&state, p, Some(c.title), None).await,
        Err(why) => reviews_page(&state, p, None, Some(why)).await,
    }
}

/// An item as the reviewer's page shows it.
struct Item {
    i: ItemView,
    last_use: String,
    decided_at: String,
}

#[derive(Template)]
#[template(path = "review_items.html")]
struct ItemsPage {
    t: Tr,
    page: Chrome,
    campaign: String,
    items: Vec<Item>,
    done: Option<String>,
    refused: Option<String>,
}

#[derive(Deserialize)]
pub struct ItemsQuery {
    campaign: String,
}

async fn items_page(
    state: &ConsoleState,
    p: Person,
    campaign: String,
    done: Option<String>,
    refused: Option<String>,
) -> Response {
    let (vault, caller, c) = (state.vault.clone(), p.caller.clone(), campaign.clone());
    let listed = blocking(move || vault.review_items(&caller, Some(&c), false, false)).await;
    let t = Tr(p.lang);
    let (items, refused) = match listed {
        Ok(v) => (
            v.into_iter()
                .map(|i| Item {
                    last_use: (i.evidence.last_use.as_deref())
                        .map_or_else(|| t.get("inbox.never").to_owned(), |s| t.at(s)),
                    decided_at: i.decided_at.as_deref().map(|s| t.at(s)).unwrap_or_default(),
                    i,
                })
                .collect(),
            refused,
        ),
        Err(why) => (Vec::new(), Some(why)),
    };
    let page = p.chrome(t.get("reviews.items"), false);
    let html = render(ItemsPage {
        t,
        page,
        campaign,
        items,
        done,
        refused,
    });
    p.page(state, html)
}

pub async fn items(
    State(state): State<ConsoleState>,
    p: Person,
    Query(q): Query<ItemsQuery>,
) -> Response {
    items_page(&state, p, q.campaign, None, None).await
}

#[derive(Deserialize)]
pub struct DecideForm {
    csrf: String,
    campaign: String,
    verdict: String,
    #[serde(default)]
    reason: String,
}

/// Keeps or revokes one item as its reviewer; the items again.
pub async fn decide(
    State(state): State<ConsoleState>,
    p: Person,
    Path(id): Path<String>,
    Form(f): Form<DecideForm>,
) -> Response {
    if let Some(r) = forged(&p, &f.csrf) {
        return r;
    }
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let verdict = f.verdict.clone();
    let done = blocking(move || {
        let v = match verdict.as_str() {
            "keep" => Verdict::Keep,
            "revoke" => Verdict::Revoke,
            _ => {
                return Err(mamori_vault::VaultError::bad(
                    mamori_vault::ErrorCode::RequestInvalid,
                    "unknown verdict",
                ));
            }
        };
        vault.decide_item(&caller, &id, v, &f.reason)
    })
    .await;
    let t = Tr(p.lang);
    match done {
        Ok(i) => {
            let what = format!("{}: {} {}", t.done(&f.verdict), i.login, i.target);
            items_page(&state, p, f.campaign, Some(what), None).await
        }
        Err(why) => items_page(&state, p, f.campaign, None, Some(why)).await,
    }
}

#[derive(Template)]
#[template(path = "review_stats.html")]
struct StatsPage {
    t: Tr,
    page: Chrome,
    s: Option<CampaignStats>,
    keep_rates: Option<Bars>,
    /// The Japanese font is there: PDF offered.
    pdf: bool,
    refused: Option<String>,
}

/// A campaign's figures per reviewer (the security office, auditors).
pub async fn stats(
    State(state): State<ConsoleState>,
    p: Person,
    Path(id): Path<String>,
) -> Response {
    let (vault, caller) = (state.vault.clone(), p.caller.clone());
    let got = blocking(move || vault.campaign_stats(&caller, &id)).await;
    let t = Tr(p.lang);
    let (s, keep_rates, refused) = match got {
        Ok(s) => {
            let rows = (s.reviewers.iter())
                .map(|r| Row::new(r.reviewer.clone(), r.keep_rate_percent.round() as u64))
                .collect();
            let chart = charts::bars("keep-rate", t.get("reviews.keep_rate_chart"), rows);
            (Some(s), Some(chart), None)
        }
        Err(why) => (None, None, Some(why)),
    };
    let page = p.chrome(t.get("reviews.stats"), false);
    let html = render(StatsPage {
        t,
        page,
        s,
        keep_rates,
        pdf: state.report_font.is_some(),
        refused,
    });
    p.page(&state, html)
}
