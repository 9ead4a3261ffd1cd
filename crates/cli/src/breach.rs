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
use mamori_scan::Outcome;
use mamori_vault::leak::breach::FileAnalysis;

use crate::{governance::me, output::Out};

#[derive(Subcommand)]
pub enum BreachCmd {
    /// Whose customers a leaked file holds, what it leaks, and which
    /// accounts and exports it came from.
    Analyze(AnalyzeArgs),
    /// One tenant's notification package: drafts of its 速報 and 確報 and
    /// the list of affected people encrypted to the tenant's key.
    Notify(NotifyArgs),
}

#[derive(Args)]
pub struct NotifyArgs {
    /// The leaked file (a zip's entries are taken together).
    pub file: PathBuf,
    /// The tenant (委託元) the package is for.
    #[arg(long)]
    pub tenant: String,
    /// When the business knew of the leak (RFC 3339; the first alert or
    /// finding): the deadlines count from it. Now when not given.
    #[arg(long, value_name = "TIME")]
    pub known_at: Option<String>,
    /// A new directory for the package (drafts and the encrypted list).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct AnalyzeArgs {
    /// The leaked files (any format `mamori scan` reads; a zip's entries
    /// are analysed one by one).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn breach(dir: &std::path::Path, token: Option<&str>, cmd: BreachCmd, out: Out) -> Result<()> {
    let args = match cmd {
        BreachCmd::Analyze(args) => args,
        BreachCmd::Notify(args) => return notify(dir, token, args, out),
    };
    let vault = datadir::open(dir)?.vault;
    let caller = me(&vault, token)?;
    vault.analyze_stream(
        &caller,
        |limits, part, to| mamori_scan::scan_paths_streamed(&args.files, &limits, part, to),
        // A file on disk is read again for its watermark (an entry of a zip
        // is not: its path names no file).
        |report| match report.format {
            Some(f) if f.is_text() => {
                let bytes = std::fs::read(&report.path).ok()?;
                mamori_scan::extract::text_of(report.format, &bytes).map(String::from)
            }
            _ => None,
        },
        |a| out.emit(&a, human),
    )?;
    Ok(())
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
        for w in a.watermarks.iter().filter(|w| w.tenant == b.tenant) {
            s.push_str(&format!(
                "\n    watermark {} export {} by {} to {} ({} canaries, {}/{} marks)",
                w.verdict,
                w.export,
                w.requester,
                w.recipient_name,
                w.canary_hits,
                w.marks_matching,
                w.marks_seen
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

fn notify(dir: &std::path::Path, token: Option<&str>, args: NotifyArgs, out: Out) -> Result<()> {
    let known_at = match &args.known_at {
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|_| {
                    anyhow::anyhow!(
                        "--known-at takes an RFC 3339 time, e.g. 2026-12-01T09:30:00+09:00"
                    )
                })?
                .timestamp(),
        ),
        None => None,
    };
    if args.out.exists() {
        bail!(
            "{} exists: the package goes to a new directory",
            args.out.display()
        );
    }
    let vault = datadir::open(dir)?.vault;
    let caller = me(&vault, token)?;
    let bytes = std::fs::read(&args.file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?;
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let leaked = vault.read_leak(&caller, &name, &bytes)?;
    drop(bytes);
    let notice = vault.breach_notice(&caller, &leaked, &args.tenant, known_at)?;
    drop(leaked);
    if notice.breach.people_possible == 0 {
        bail!(
            "{} names none of the tenant's customers: there is no one to notify (the analysis is recorded)",
            args.file.display()
        );
    }
    write_package(&args.out, &notice)?;
    out.emit(&notice, |n| {
        let mut s = format!(
            "tenant {}: 確認済み {} 人 / 最大 {} 人 — 速報 {} 〜 {}, 確報 {}（③なら {}）",
            n.tenant,
            n.breach.people_confirmed,
            n.breach.people_possible,
            n.preliminary_due[0],
            n.preliminary_due[1],
            n.final_due,
            n.final_due_unlawful
        );
        match &n.list {
            Some(l) => s.push_str(&format!(
                "\n  本人通知リスト {} 人（確認済み {}）: 受領用鍵 {} に暗号化",
                l.people, l.confirmed, l.recipient
            )),
            None => s.push_str("\n  本人通知リストなし: テナントの [breach] notify_recipient が未設定 / no list: the tenant has no recipient key"),
        }
        s.push_str(&format!("\n  written to {}", args.out.display()));
        s
    });
    Ok(())
}

/// The drafts and the encrypted list, in a new directory only this account reads.
fn write_package(
    dir: &std::path::Path,
    n: &mamori_vault::leak::notice::BreachNotice,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let t = &n.tenant;
    std::fs::write(dir.join(format!("{t}-速報.md")), &n.preliminary)?;
    std::fs::write(dir.join(format!("{t}-確報.md")), &n.final_report)?;
    if let Some(l) = &n.list {
        std::fs::write(dir.join(format!("{t}-本人通知.csv.age")), &l.bytes)?;
    }
    Ok(())
}
