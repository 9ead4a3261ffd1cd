//! `mamori inspect`: the self-inspection from facts (security office,
//! auditors; acts as you: --token). `run` checks each item against the
//! vault's records for a period and prints it verified, failed (with
//! findings), not applicable, declared or undeclared; `declare` records the
//! security office's statement for an item no record can show.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use mamori_app::datadir;
use mamori_vault::inspection::{DECLARED, Inspection, Status};

use crate::{governance::me, output::Out, period::month_or_range};

#[derive(Subcommand)]
pub enum InspectCmd {
    /// Inspect a period (a month by default) from the vault's records.
    Run {
        /// `YYYY-MM` (Japan time); or give --from and --to.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        month: Option<String>,
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// Day after the last, `YYYY-MM-DD`.
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Also write the whole result as JSON here.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Declare an item no record can show (security office): facility_locks,
    /// device_disposal or clean_desk, with what was checked.
    Declare {
        item: String,
        #[arg(long)]
        statement: String,
    },
}

pub fn inspect(dir: &Path, token: Option<&str>, cmd: InspectCmd, out: Out) -> Result<()> {
    let vault = datadir::open(dir)?.vault;
    let caller = me(&vault, token)?;
    match cmd {
        InspectCmd::Run {
            month,
            from,
            to,
            out: file,
        } => {
            let (from, to) = month_or_range(month.as_deref(), from.as_deref(), to.as_deref())?;
            let i = vault.inspect(&caller, from, to)?;
            if let Some(f) = file {
                let json = serde_json::to_vec_pretty(&i)?;
                std::fs::write(&f, json).with_context(|| format!("writing {}", f.display()))?;
            }
            out.emit(&i, human);
        }
        InspectCmd::Declare { item, statement } => {
            vault.declare(&caller, &item, &statement)?;
            let title = DECLARED
                .iter()
                .find(|(id, _)| *id == item)
                .map_or("", |(_, t)| *t);
            out.emit(
                &serde_json::json!({"item": item, "status": "declared"}),
                |_| format!("declared / 申告: {item} — {title}"),
            );
        }
    }
    Ok(())
}

fn human(i: &Inspection) -> String {
    let mut s = format!("self-inspection / 自己点検 {} – {}\n", i.from, i.to);
    for p in &i.probes {
        let mark = match p.status {
            Status::Verified => "verified / 確認済",
            Status::Failed => "FAILED / 不適合",
            Status::NotApplicable => "n/a / 対象なし",
            Status::Declared => "declared / 申告",
            Status::Undeclared => "undeclared / 未申告",
        };
        s.push_str(&format!("\n{:<20} {:<20} {}", p.id, mark, p.title));
        let counts: Vec<String> = p.counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
        if !counts.is_empty() {
            s.push_str(&format!("\n{:<20} {}", "", counts.join(", ")));
        }
        for f in &p.findings {
            s.push_str(&format!("\n{:<20} - {f}", ""));
        }
        if let (Some(by), Some(at), Some(st)) = (&p.declared_by, &p.declared_at, &p.statement) {
            s.push_str(&format!("\n{:<20} {by} ({at}): {st}", ""));
        }
    }
    s.push_str(&format!(
        "\n\nrecorded as {}#{} (sha256 {})",
        i.log, i.seq, i.sha256
    ));
    s
}
