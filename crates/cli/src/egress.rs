//! `mamori egress`: the register of external destinations allowed from the
//! secure area (管理簿; acts as you: --token). Requested with a purpose,
//! approved by the security office for a limited time (re-approved to keep
//! it), revoked at once, and published as a squid ACL or a PAC file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use mamori_app::datadir;
use mamori_vault::egress::{EgressEntry, ListFormat};

use crate::{governance::me, output::Out};

#[derive(Subcommand)]
pub enum EgressCmd {
    /// Ask for a destination to be allowed.
    Request {
        /// A host (api.example.co.jp), .domain (with subdomains), address or CIDR block.
        destination: String,
        #[arg(long, default_value_t = 443)]
        port: u16,
        /// What the secure area needs it for.
        #[arg(long)]
        purpose: String,
        /// Days an approval lasts before it must be re-approved.
        #[arg(long, default_value_t = 180)]
        days: u32,
    },
    /// Approve, or re-approve for another period (security office; not your own request).
    Approve { id: String },
    /// Revoke at once (security office).
    Revoke {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// The register.
    List,
    /// The allow-list of the destinations in force (security office).
    Publish {
        #[arg(long, value_enum, default_value_t = FormatArg::Squid)]
        format: FormatArg,
        /// The proxy a PAC file sends allowed traffic to.
        #[arg(long, default_value = "proxy.internal:3128")]
        proxy: String,
        /// Write it here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Squid,
    Pac,
}

pub fn egress(dir: &Path, token: Option<&str>, cmd: EgressCmd, out: Out) -> Result<()> {
    let vault = datadir::open(dir)?.vault;
    let caller = me(&vault, token)?;
    match cmd {
        EgressCmd::Request {
            destination,
            port,
            purpose,
            days,
        } => {
            let e = vault.egress_request(&caller, &destination, port, &purpose, days)?;
            out.emit(&e, |e| listing(std::slice::from_ref(e)));
        }
        EgressCmd::Approve { id } => {
            let e = vault.egress_approve(&caller, &id)?;
            out.emit(&e, |e| listing(std::slice::from_ref(e)));
        }
        EgressCmd::Revoke { id, reason } => {
            let e = vault.egress_revoke(&caller, &id, &reason)?;
            out.emit(&e, |e| listing(std::slice::from_ref(e)));
        }
        EgressCmd::List => {
            let all = vault.egress_register(&caller)?;
            out.emit(&all, |a| listing(a));
        }
        EgressCmd::Publish {
            format,
            proxy,
            out: file,
        } => {
            let format = match format {
                FormatArg::Squid => ListFormat::Squid,
                FormatArg::Pac => ListFormat::Pac,
            };
            let text = vault.egress_publish(&caller, format, &proxy)?;
            match file {
                Some(f) => {
                    std::fs::write(&f, &text)
                        .with_context(|| format!("writing {}", f.display()))?;
                    out.emit(&serde_json::json!({"written": f}), |_| {
                        format!("written / 出力: {}", f.display())
                    });
                }
                None => print!("{text}"),
            }
        }
    }
    Ok(())
}

fn listing(all: &[EgressEntry]) -> String {
    if all.is_empty() {
        return "the register is empty / 登録なし".to_owned();
    }
    let mut s = format!(
        "{:<32} {:<32} {:>5} {:<9} {:<25} {}",
        "id", "destination", "port", "state", "valid until", "purpose"
    );
    for e in all {
        s.push_str(&format!(
            "\n{:<32} {:<32} {:>5} {:<9} {:<25} {}",
            e.id,
            e.destination,
            e.port,
            format!("{:?}", e.state).to_lowercase(),
            e.valid_until.as_deref().unwrap_or("-"),
            e.purpose
        ));
    }
    s
}
