//! `mamori directive`: corrective directives (是正指示), issued by the
//! security office or a supervisor and acknowledged by the person directed.
//! Acts as you (`--token`); every step is an event in the tenant's audit log.

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;
use mamori_app::datadir;
use mamori_vault::directives::DirectiveView;

use crate::{governance::me, output::Out};

#[derive(Subcommand)]
pub enum DirectiveCmd {
    /// Direct a person about an audit event or an alert.
    Issue {
        #[arg(long)]
        tenant: String,
        /// The person directed (login).
        #[arg(long)]
        to: String,
        /// `tenant/<id>#<seq>` (an audit event of this tenant) or `alert:<id>`.
        #[arg(long)]
        about: String,
        /// What to correct, and by when.
        #[arg(long)]
        text: String,
    },
    /// Acknowledge a directive addressed to you.
    Ack {
        id: String,
        #[arg(long)]
        tenant: String,
        /// What you did about it.
        #[arg(long)]
        response: Option<String>,
    },
    /// The tenant's directives you may see, newest first.
    List {
        #[arg(long)]
        tenant: String,
        /// Only those addressed to this person.
        #[arg(long)]
        to: Option<String>,
    },
    /// One directive.
    Show {
        id: String,
        #[arg(long)]
        tenant: String,
    },
}

fn text(d: &DirectiveView) -> String {
    let mut t = format!(
        "directive {}  {}\n  to         {} (from {})\n  about      {}\n  issued     {} ({}#{})\n  text       {}",
        d.id, d.status, d.to, d.from, d.about, d.issued_at, d.issued.log, d.issued.seq, d.text
    );
    if let (Some(at), Some(ev)) = (&d.acknowledged_at, &d.acknowledged) {
        t.push_str(&format!("\n  acknowledged {at} ({}#{})", ev.log, ev.seq));
    }
    if let Some(r) = &d.response {
        t.push_str(&format!("\n  response   {r}"));
    }
    t
}

pub fn run(dir: &Path, token: Option<&str>, cmd: DirectiveCmd, out: Out) -> Result<()> {
    let vault = datadir::open(dir)?.vault;
    let caller = me(&vault, token)?;
    match cmd {
        DirectiveCmd::Issue {
            tenant,
            to,
            about,
            text: body,
        } => out.emit(
            &vault.issue_directive(&caller, &tenant, &to, &about, &body)?,
            text,
        ),
        DirectiveCmd::Ack {
            id,
            tenant,
            response,
        } => out.emit(
            &vault.acknowledge_directive(&caller, &tenant, &id, response.as_deref())?,
            text,
        ),
        DirectiveCmd::List { tenant, to } => {
            let list = vault.directives(&caller, &tenant, to.as_deref())?;
            out.emit(&list, |l| {
                if l.is_empty() {
                    return "no directives you may see".into();
                }
                l.iter().map(text).collect::<Vec<_>>().join("\n")
            });
        }
        DirectiveCmd::Show { id, tenant } => {
            out.emit(&vault.show_directive(&caller, &tenant, &id)?, text)
        }
    }
    Ok(())
}
