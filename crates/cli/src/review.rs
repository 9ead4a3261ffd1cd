//! `mamori review`: quarterly access reviews (D4). The security office
//! opens a campaign over a scope (acts as you: --token); each entitlement
//! in it goes to its reviewer with the vault's evidence; reviewers keep or
//! revoke with a reason; `tick` (from cron or a timer, as the OS user) sends
//! the notices, applies the default at the deadline and opens the next
//! campaign of a recurring one.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::Subcommand;
use mamori_app::datadir;
use mamori_vault::{
    review_evidence::{Kind, Scope},
    reviews::{CampaignSpec, CampaignStats, CampaignView, ItemView, NoAnswer, Verdict},
};

use crate::{cli_actor, governance::me, output::Out};

#[derive(Subcommand)]
pub enum ReviewCmd {
    /// Open a campaign (security office).
    Open(Box<OpenArgs>),
    /// Campaigns, newest first (yours to review, or all for the security
    /// office and auditors); open ones unless --all.
    Campaigns {
        #[arg(long)]
        all: bool,
    },
    /// The items you review (undecided unless --decided); --everyone for
    /// every item (security office, auditors).
    Items {
        #[arg(long)]
        campaign: Option<String>,
        #[arg(long)]
        decided: bool,
        #[arg(long)]
        everyone: bool,
    },
    /// Keep or revoke an item, with the reason (its reviewer only).
    Decide {
        /// The item's id.
        id: String,
        #[arg(long = "as", value_enum)]
        verdict: VerdictArg,
        /// Why: what the evidence showed and what the job needs.
        #[arg(long)]
        reason: String,
    },
    /// Close a campaign now: undecided items take its default (security office).
    Close { id: String },
    /// Per reviewer: decisions, share kept, median seconds (security office, auditors).
    Stats { id: String },
    /// Notices before deadlines, deadlines reached, successors due (run it
    /// from cron or a timer; idempotent).
    Tick,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum VerdictArg {
    Keep,
    Revoke,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum NoAnswerArg {
    Revoke,
    Keep,
    Escalate,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum KindArg {
    Segment,
    FullAccess,
    Role,
}

#[derive(clap::Args)]
pub struct OpenArgs {
    #[arg(long)]
    pub title: String,
    /// Last day to answer, `YYYY-MM-DD` (Japan time; the deadline is its end).
    #[arg(long)]
    pub deadline: String,
    #[arg(long)]
    pub tenant: Option<String>,
    #[arg(long, requires = "tenant")]
    pub segment: Option<String>,
    /// The reviewees' role.
    #[arg(long)]
    pub role: Option<String>,
    #[arg(long)]
    pub department: Option<String>,
    #[arg(long)]
    pub vendor: Option<String>,
    /// Kinds of entitlement (default: segment and full-access).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub kinds: Vec<KindArg>,
    /// Reviews what a person's manager cannot (none, or the grantor).
    #[arg(long)]
    pub fallback: Option<String>,
    #[arg(long, default_value_t = 7)]
    pub notice_days: u32,
    #[arg(long, value_enum, default_value = "revoke")]
    pub on_no_answer: NoAnswerArg,
    /// 0 for once; 3 is quarterly.
    #[arg(long, default_value_t = 3)]
    pub every_months: u32,
    #[arg(long, default_value_t = 90)]
    pub evidence_days: u32,
}

pub fn review(dir: &Path, token: Option<&str>, cmd: ReviewCmd, out: Out) -> Result<()> {
    let vault = datadir::open(dir)?.vault;
    if let ReviewCmd::Tick = cmd {
        let t = vault.review_tick(&cli_actor())?;
        out.emit(&t, |t| {
            format!(
                "notices: {} / closed: {} / opened: {} / could not open: {}",
                t.notices,
                t.closed.len(),
                t.opened.len(),
                t.failed.len()
            )
        });
        return Ok(());
    }
    let caller = me(&vault, token)?;
    match cmd {
        ReviewCmd::Open(a) => {
            let spec = spec(*a)?;
            let c = vault.open_campaign(&caller, &spec)?;
            out.emit(&c, |c| campaigns(std::slice::from_ref(c)));
        }
        ReviewCmd::Campaigns { all } => {
            let found = vault.campaigns(&caller, !all)?;
            out.emit(&found, |f| campaigns(f));
        }
        ReviewCmd::Items {
            campaign,
            decided,
            everyone,
        } => {
            let found = vault.review_items(&caller, campaign.as_deref(), everyone, !decided)?;
            out.emit(&found, |f| items(f));
        }
        ReviewCmd::Decide {
            id,
            verdict,
            reason,
        } => {
            let v = match verdict {
                VerdictArg::Keep => Verdict::Keep,
                VerdictArg::Revoke => Verdict::Revoke,
            };
            let i = vault.decide_item(&caller, &id, v, &reason)?;
            out.emit(&i, |i| items(std::slice::from_ref(i)));
        }
        ReviewCmd::Close { id } => {
            let c = vault.close_campaign(&caller, &id)?;
            out.emit(&c, |c| campaigns(std::slice::from_ref(c)));
        }
        ReviewCmd::Stats { id } => {
            let s = vault.campaign_stats(&caller, &id)?;
            out.emit(&s, stats);
        }
        ReviewCmd::Tick => {}
    }
    Ok(())
}

fn spec(a: OpenArgs) -> Result<CampaignSpec> {
    let last = NaiveDate::parse_from_str(&a.deadline, "%Y-%m-%d")
        .context("--deadline is a date, YYYY-MM-DD")?;
    let next = last.succ_opt().context("--deadline is out of range")?;
    let kinds = a
        .kinds
        .iter()
        .map(|k| match k {
            KindArg::Segment => Kind::Segment,
            KindArg::FullAccess => Kind::FullAccess,
            KindArg::Role => Kind::Role,
        })
        .collect();
    Ok(CampaignSpec {
        title: a.title,
        scope: Scope {
            tenant: a.tenant,
            segment: a.segment,
            role: a.role,
            department: a.department,
            vendor: a.vendor,
            kinds,
        },
        fallback: a.fallback,
        deadline: mamori_core::jst::midnight(next),
        notice_days: a.notice_days,
        on_no_answer: match a.on_no_answer {
            NoAnswerArg::Revoke => NoAnswer::Revoke,
            NoAnswerArg::Keep => NoAnswer::Keep,
            NoAnswerArg::Escalate => NoAnswer::Escalate,
        },
        every_months: a.every_months,
        evidence_days: a.evidence_days,
    })
}

fn campaigns(found: &[CampaignView]) -> String {
    if found.is_empty() {
        return "no campaigns / 点検なし".to_owned();
    }
    let mut s = format!(
        "{:<32} {:<25} {:>5} {:>7}  {:<8} {}",
        "id", "deadline", "items", "decided", "default", "title"
    );
    for c in found {
        s.push_str(&format!(
            "\n{:<32} {:<25} {:>5} {:>7}  {:<8} {}{}",
            c.id,
            c.deadline,
            c.items,
            c.decided,
            c.on_no_answer.as_str(),
            c.title,
            if c.closed_at.is_some() {
                " (closed / 終了)"
            } else {
                ""
            }
        ));
    }
    s
}

fn items(found: &[ItemView]) -> String {
    if found.is_empty() {
        return "nothing to review / 点検対象なし".to_owned();
    }
    let mut s = format!(
        "{:<32} {:<16} {:<11} {:<24} {:>6} {:>9}  {:<25} {}",
        "id", "person", "kind", "what", "reads", "customers", "last use", "decision"
    );
    for i in found {
        let what = match &i.tenant {
            Some(t) => format!(
                "{t}/{}",
                if i.kind == Kind::FullAccess {
                    "*"
                } else {
                    &i.target
                }
            ),
            None => i.target.clone(),
        };
        let decision = match (&i.decision, &i.applied) {
            (Some(d), Some(a)) => format!("{d} ({a})"),
            (Some(d), None) => d.clone(),
            _ => match &i.evidence.recommendation {
                Some(r) => format!("open — suggests {r} (unused)"),
                None => "open".into(),
            },
        };
        s.push_str(&format!(
            "\n{:<32} {:<16} {:<11} {:<24} {:>6} {:>9}  {:<25} {}",
            i.id,
            i.login,
            i.kind.as_str(),
            what,
            i.evidence.reads,
            i.evidence.customers,
            i.evidence.last_use.as_deref().unwrap_or("-"),
            decision
        ));
    }
    s
}

fn stats(s: &CampaignStats) -> String {
    let mut out = campaigns(std::slice::from_ref(&s.campaign));
    out.push_str(&format!(
        "\n\n{:<16} {:>5} {:>7} {:>5} {:>7} {:>7} {:>9}",
        "reviewer", "items", "decided", "kept", "revoked", "keep %", "median s"
    ));
    for r in &s.reviewers {
        out.push_str(&format!(
            "\n{:<16} {:>5} {:>7} {:>5} {:>7} {:>7.1} {:>9}",
            r.reviewer,
            r.items,
            r.decided,
            r.kept,
            r.revoked,
            r.keep_rate_percent,
            r.median_seconds.map_or("-".into(), |m| m.to_string())
        ));
    }
    let applied: Vec<String> = s.applied.iter().map(|(k, n)| format!("{k} {n}")).collect();
    out.push_str(&format!("\n\napplied: {}", applied.join(", ")));
    out
}
