//! `mamori scan PATH…`: personal data left in files, found by the scanner and
//! matched against every tenant's customers by this vault (the security
//! office's own machine, `--data-dir`; acts as you: --token). Prints, per file
//! with findings, what kinds were found (a masked example of each) and which
//! tenants' customers they name — confirmed (two values of one row) and
//! possible. Nothing found is written anywhere; the audit log records each
//! file's hash and counts.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use mamori_app::datadir;
use mamori_scan::{FileReport, Limits, Outcome, Summary};
use mamori_vault::leak::matching::{Found, MatchReport, TenantMatch};
use serde::Serialize;

use crate::{governance::me, output::Out};

#[derive(Args)]
pub struct ScanArgs {
    /// Files or folders to scan (folders recursively; links are not followed).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Also list files in which nothing was found.
    #[arg(long)]
    pub all: bool,
    /// Only find and count, without matching against the vault's customers
    /// (no data directory or token needed).
    #[arg(long)]
    pub no_match: bool,
}

/// One file's line of the report.
#[derive(Serialize)]
struct FileLine {
    path: String,
    sha256: Option<String>,
    bytes: u64,
    outcome: Outcome,
    format: Option<mamori_scan::Format>,
    encoding: Option<&'static str>,
    oversized_cells: u64,
    found: Summary,
    tenants: Vec<TenantMatch>,
}

/// The run's totals.
#[derive(Default, Serialize)]
struct Totals {
    files: u64,
    inspected: u64,
    not_inspected: u64,
    with_findings: u64,
    naming_customers: u64,
}

pub fn scan(dir: &std::path::Path, token: Option<&str>, args: ScanArgs, out: Out) -> Result<()> {
    let vault = if args.no_match {
        None
    } else {
        let vault = datadir::open(dir)?.vault;
        let caller = me(&vault, token)?;
        Some((vault, caller))
    };
    let limits = Limits::default();
    let mut totals = Totals::default();
    let mut failure = None;
    mamori_scan::scan_paths(&args.paths, &limits, |mut report| {
        if failure.is_some() {
            return;
        }
        totals.files += 1;
        if report.outcome == Outcome::Inspected {
            totals.inspected += 1;
        } else {
            totals.not_inspected += 1;
        }
        let matched = match vault.as_ref().map(|(v, c)| matches(v, c, &mut report)) {
            None => Ok(None),
            Some(m) => m,
        };
        let matched = match matched {
            Ok(m) => m,
            Err(e) => {
                failure = Some(e);
                return;
            }
        };
        let line = FileLine {
            path: report.path.display().to_string(),
            sha256: report.sha256.map(hex::encode),
            bytes: report.bytes,
            outcome: report.outcome.clone(),
            format: report.format,
            encoding: report.encoding,
            oversized_cells: report.oversized_cells,
            found: report.findings.summary(),
            tenants: matched.map(|m| m.tenants).unwrap_or_default(),
        };
        if report.findings.total() > 0 {
            totals.with_findings += 1;
        }
        if !line.tenants.is_empty() {
            totals.naming_customers += 1;
        }
        if args.all || report.findings.total() > 0 || report.outcome != Outcome::Inspected {
            out.emit(&line, human);
        }
    });
    if let Some(e) = failure {
        return Err(e.into());
    }
    out.emit(&totals, |t| {
        format!(
            "{} files: {} inspected, {} not inspected; personal data in {}, naming customers in {}",
            t.files, t.inspected, t.not_inspected, t.with_findings, t.naming_customers
        )
    });
    Ok(())
}

/// The file's values matched by the vault, when it has any. The candidates
/// move into the match (no second copy of a value is made) and are gone after.
fn matches(
    vault: &mamori_vault::Vault,
    caller: &mamori_vault::Caller,
    report: &mut FileReport,
) -> mamori_vault::Result<Option<MatchReport>> {
    let (Some(sha), false) = (report.sha256, report.findings.candidates.is_empty()) else {
        return Ok(None);
    };
    let found: Vec<Found> = std::mem::take(&mut report.findings.candidates)
        .into_iter()
        .filter_map(|c| {
            Some(Found {
                ty: c.kind.field_type()?,
                value: c.value,
                group: c.group,
            })
        })
        .collect();
    vault.match_found(caller, &sha, &found).map(Some)
}

fn human(l: &FileLine) -> String {
    let mut s = l.path.clone();
    match &l.outcome {
        Outcome::Inspected => {}
        other => {
            let why = match other {
                Outcome::TooLarge => {
                    "too large to inspect (or a zip bomb) / 大きすぎて検査できません"
                }
                Outcome::NotRead => "not a format this scanner reads / 対象外の形式",
                Outcome::Encrypted => {
                    "password-protected: may hold anything / パスワード付きで検査できません"
                }
                Outcome::TooDeep => "archives nested too deep / 入れ子が深すぎます",
                Outcome::Damaged => "a damaged archive / 壊れたアーカイブ",
                Outcome::Office => "an Office document, not read yet / Office文書（未対応）",
                _ => "unreadable / 読めません",
            };
            s.push_str(&format!("\n  {why}"));
            return s;
        }
    }
    if let Some(e) = l.encoding {
        s.push_str(&format!("  ({e})"));
    }
    for (kind, n) in &l.found.counts {
        let example = l.found.examples.get(kind).map(String::as_str).unwrap_or("");
        s.push_str(&format!(
            "\n  {:<24} {:>8}  e.g. {example}",
            format!("{} / {}", kind.label_ja(), kind.label_en()),
            n
        ));
    }
    for t in &l.tenants {
        s.push_str(&format!(
            "\n  tenant {}: customers confirmed {} / possible {} (values matched {})",
            t.tenant, t.people_confirmed, t.people_possible, t.values_matched
        ));
    }
    if l.oversized_cells > 0 {
        s.push_str(&format!(
            "\n  {} cells longer than the limit were inspected only up to it",
            l.oversized_cells
        ));
    }
    s
}
