//! `mamori report`: oversight reports, run as a person (security office, auditors).

use std::path::Path;

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use mamori_app::datadir;
use mamori_vault::report::EntitlementRow;

use crate::{governance::me, output::Out};

#[derive(Subcommand)]
pub enum ReportCmd {
    /// Per tenant, segment and department: how many people can see it, out of how many.
    Entitlements {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Csv,
}

fn table(rows: &[EntitlementRow]) -> String {
    let mut t = format!(
        "{:<16} {:<10} {:<24} {:>8} {:>8} {:>7}",
        "tenant", "segment", "department", "can see", "people", "share"
    );
    for r in rows {
        t.push_str(&format!(
            "\n{:<16} {:<10} {:<24} {:>8} {:>8} {:>6.1}%",
            r.tenant, r.segment, r.department, r.can_see, r.people, r.share_percent
        ));
    }
    t
}

/// RFC 4180 CSV; department names may hold commas or quotes.
fn csv(rows: &[EntitlementRow]) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut t = String::from("tenant,segment,department,can_see,people,share_percent");
    for r in rows {
        t.push_str(&format!(
            "\r\n{},{},{},{},{},{:.1}",
            q(&r.tenant),
            q(&r.segment),
            q(&r.department),
            r.can_see,
            r.people,
            r.share_percent
        ));
    }
    t
}

pub fn report(dir: &Path, token: Option<&str>, cmd: ReportCmd, out: Out) -> Result<()> {
    let vault = datadir::open(dir)?.vault;
    let caller = me(&vault, token)?;
    match cmd {
        ReportCmd::Entitlements { tenant, format } => {
            let rows = vault.entitlements(&caller, tenant.as_deref())?;
            out.emit(&rows, |r| match format {
                Format::Table => table(r),
                Format::Csv => csv(r),
            });
        }
    }
    Ok(())
}
