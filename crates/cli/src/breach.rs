//! `mamori breach analyze FILE…` (security office; acts as you: --token): a
//! leaked file of any format the scanner reads → per tenant, the customers
//! it holds (confirmed and possible), the items it leaks, which of the PPC's
//! report categories apply as far as the system can tell, and the accounts
//! and exports it overlaps, ranked. Nothing of the file is written anywhere;
//! the analysis is an audit event with the file's hash and its figures.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use mamori_app::datadir;
use mamori_scan::{FileReport, Kind, Limits, Outcome, Summary};
use mamori_vault::leak::breach::{BreachReport, TenantBreach};
use serde::Serialize;

use crate::{governance::me, output::Out};

#[derive(Subcommand)]
pub enum BreachCmd {
    /// Whose customers a leaked file holds, what it leaks, and which
    /// accounts and exports it came from.
    Analyze(AnalyzeArgs),
}

#[derive(Args)]
pub struct AnalyzeArgs {
    /// The leaked files (any format `mamori scan` reads; a zip's entries
    /// are analysed one by one).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// A report category of the APPI's enforcement rules (施行規則第7条) as far
/// as the file shows it.
#[derive(Serialize)]
struct Category {
    /// ①..④
    id: &'static str,
    /// `applies`, `may_apply`, `for_a_person` (the system cannot know).
    verdict: &'static str,
    why: String,
}

#[derive(Serialize)]
struct FileAnalysis {
    path: String,
    sha256: Option<String>,
    outcome: Outcome,
    /// The kinds of personal data in the file, counted (氏名, 住所, 電話 …).
    items: Summary,
    tenants: Vec<TenantAnalysis>,
}

#[derive(Serialize)]
struct TenantAnalysis {
    #[serde(flatten)]
    breach: TenantBreach,
    categories: Vec<Category>,
}

pub fn breach(dir: &std::path::Path, token: Option<&str>, cmd: BreachCmd, out: Out) -> Result<()> {
    let BreachCmd::Analyze(args) = cmd;
    let vault = datadir::open(dir)?.vault;
    let caller = me(&vault, token)?;
    let mut failure = None;
    mamori_scan::scan_paths(&args.files, &Limits::default(), |mut report| {
        if failure.is_some() {
            return;
        }
        match analyze(&vault, &caller, &mut report) {
            Ok(a) => out.emit(&a, human),
            Err(e) => failure = Some(e),
        }
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn analyze(
    vault: &mamori_vault::Vault,
    caller: &mamori_vault::Caller,
    report: &mut FileReport,
) -> Result<FileAnalysis> {
    let items = report.findings.summary();
    let mut analysis = FileAnalysis {
        path: report.path.display().to_string(),
        sha256: report.sha256.map(hex::encode),
        outcome: report.outcome.clone(),
        items,
        tenants: Vec::new(),
    };
    let Some(sha) = report.sha256 else {
        return Ok(analysis);
    };
    if report.findings.truncated {
        bail!(
            "{}: more values than one analysis holds; split the file",
            analysis.path
        );
    }
    let found = crate::scan::take_found(report);
    let BreachReport { tenants, .. } = vault.analyze_breach(caller, &sha, &found)?;
    analysis.tenants = tenants
        .into_iter()
        .map(|t| TenantAnalysis {
            categories: categories(&analysis.items, &t),
            breach: t,
        })
        .collect();
    Ok(analysis)
}

/// The report categories (① 要配慮, ② 財産的被害, ③ 不正の目的, ④ 1,000人超)
/// as far as the file and the audit log show them.
fn categories(items: &Summary, t: &TenantBreach) -> Vec<Category> {
    let has = |k: Kind| items.counts.get(&k).copied().unwrap_or(0) > 0;
    let mut out = vec![Category {
        id: "①",
        verdict: "for_a_person",
        why: "要配慮個人情報（病歴・信条等）はパターンでは判別できません / special-care data cannot be told by pattern".into(),
    }];
    out.push(if has(Kind::Card) {
        Category {
            id: "②",
            verdict: "applies",
            why: "クレジットカード番号を含む / card numbers present".into(),
        }
    } else {
        Category {
            id: "②",
            verdict: "for_a_person",
            why: "カード番号なし。口座・ID等の有無は要確認 / no card numbers; accounts or credentials to be checked".into(),
        }
    });
    let top = t.readers.first().filter(|r| r.share >= 0.5);
    out.push(Category {
        id: "③",
        verdict: if top.is_some() { "may_apply" } else { "for_a_person" },
        why: match top {
            Some(r) => format!(
                "{} の閲覧で漏えい顧客の {:.0}% を説明できる（内部不正の可能性） / the reads of {} explain {:.0}% of the leaked customers",
                r.who,
                r.share * 100.0,
                r.who,
                r.share * 100.0
            ),
            None => "不正の目的の有無は要判断 / whether with unlawful intent is for a person to judge".into(),
        },
    });
    out.push(if t.people_confirmed > 1000 {
        Category {
            id: "④",
            verdict: "applies",
            why: format!(
                "確認済み {} 人 / {} confirmed",
                t.people_confirmed, t.people_confirmed
            ),
        }
    } else if t.people_possible > 1000 {
        Category {
            id: "④",
            verdict: "may_apply",
            why: format!(
                "最大 {} 人（確認済み {} 人） / up to {} ({} confirmed)",
                t.people_possible, t.people_confirmed, t.people_possible, t.people_confirmed
            ),
        }
    } else {
        Category {
            id: "④",
            verdict: "for_a_person",
            why: format!(
                "最大 {} 人 / up to {}",
                t.people_possible, t.people_possible
            ),
        }
    });
    if has(Kind::MyNumber) {
        out.push(Category {
            id: "番号法",
            verdict: "may_apply",
            why: "個人番号（特定個人情報）を含む: 番号法の報告要件も確認 / My Numbers present: check the My Number Act's reporting duty too".into(),
        });
    }
    out
}

fn human(a: &FileAnalysis) -> String {
    let mut s = a.path.clone();
    if a.outcome != Outcome::Inspected {
        s.push_str(&format!("\n  {}", crate::scan::outcome_text(&a.outcome)));
    }
    let items: Vec<String> = a
        .items
        .counts
        .iter()
        .map(|(k, n)| format!("{} {n}", k.label_ja()))
        .collect();
    s.push_str(&format!("\n  項目 / items: {}", items.join(", ")));
    if a.tenants.is_empty() {
        s.push_str("\n  no tenant's customers / どのテナントの顧客も含まれていません");
    }
    for t in &a.tenants {
        let b = &t.breach;
        s.push_str(&format!(
            "\n  tenant {}: 確認済み {} 人 / 最大 {} 人 (confirmed {} / possible {})",
            b.tenant, b.people_confirmed, b.people_possible, b.people_confirmed, b.people_possible
        ));
        for c in &t.categories {
            s.push_str(&format!("\n    {} {:<12} {}", c.id, c.verdict, c.why));
        }
        for r in b.readers.iter().take(5) {
            s.push_str(&format!(
                "\n    reader {:<24} {:>7} ({:.0}%)  {} – {}",
                r.who,
                r.customers,
                r.share * 100.0,
                r.first,
                r.last
            ));
        }
        for x in b.exports.iter().take(5) {
            s.push_str(&format!(
                "\n    export {} by {} {:>7} ({:.0}%)  {}",
                x.who,
                x.requester.as_deref().unwrap_or("?"),
                x.customers,
                x.share * 100.0,
                x.last
            ));
        }
    }
    s
}
