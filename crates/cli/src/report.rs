//! `mamori report`: oversight reports, run as a person (security office, auditors).

use std::path::Path;

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use mamori_app::datadir;
use mamori_vault::report::{EntitlementRow, TrendPoint};

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
    /// The same table as each closed review campaign left it, oldest first:
    /// the quarterly trend.
    Trend {
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

/// A CSV field quoted (RFC 4180): department names may hold commas or quotes.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// RFC 4180 CSV.
fn csv(rows: &[EntitlementRow]) -> String {
    let q = quote;
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
        ReportCmd::Trend { format } => {
            let points = vault.entitlement_trend(&caller)?;
            out.emit(&points, |p| match format {
                Format::Table => trend_table(p),
                Format::Csv => trend_csv(p),
            });
        }
    }
    Ok(())
}

/// Per tenant, segment and department, the share at each campaign's close.
fn trend_table(points: &[TrendPoint]) -> String {
    let mut t = format!("{:<16} {:<10} {:<24}", "tenant", "segment", "department");
    for p in points {
        t.push_str(&format!(
            " {:>10}",
            p.closed_at.get(..10).unwrap_or(&p.closed_at)
        ));
    }
    let mut keys: Vec<(&str, &str, &str)> = points
        .iter()
        .flat_map(|p| p.rows.iter())
        .map(|r| (r.tenant.as_str(), r.segment.as_str(), r.department.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    for (tenant, segment, department) in keys {
        t.push_str(&format!("\n{tenant:<16} {segment:<10} {department:<24}"));
        for p in points {
            let share = p
                .rows
                .iter()
                .find(|r| {
                    (r.tenant.as_str(), r.segment.as_str(), r.department.as_str())
                        == (tenant, segment, department)
                })
                .map_or("-".to_owned(), |r| format!("{:.1}%", r.share_percent));
            t.push_str(&format!(" {share:>10}"));
        }
    }
    t
}

/// One row per campaign, tenant, segment and department (RFC 4180).
fn trend_csv(points: &[TrendPoint]) -> String {
    let q = quote;
    let mut t =
        String::from("closed_at,campaign,tenant,segment,department,can_see,people,share_percent");
    for p in points {
        for r in &p.rows {
            t.push_str(&format!(
                "\r\n{},{},{},{},{},{},{},{:.1}",
                q(&p.closed_at),
                q(&p.campaign),
                q(&r.tenant),
                q(&r.segment),
                q(&r.department),
                r.can_see,
                r.people,
                r.share_percent
            ));
        }
    }
    t
}
