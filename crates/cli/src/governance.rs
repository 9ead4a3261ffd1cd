//! `mamori access`, `mamori people`, `mamori vendor`: commands a person runs
//! as themselves. They authenticate with their own API token (`--token` or
//! `MAMORI_TOKEN`), exactly as over HTTP, so that approvals and records name
//! the person who made them — never the operating-system account.

use std::path::Path;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use mamori_app::datadir;
use mamori_vault::{
    Caller, Vault,
    full_access::{FullAccessView, RequestState},
    grants::{HistoryStep, ListFilter, NewRequest, RequestView},
    people::{PersonView, VendorView},
};

use crate::{output::Out, period::parse_time};

#[derive(Subcommand)]
pub enum AccessCmd {
    /// Ask for access beyond your assignments (事前申請); your supervisor decides.
    Request(GrantArgs),
    /// Give someone a time-limited grant (holders of standing full access only).
    Issue {
        /// The person the grant is for.
        #[arg(long)]
        to: String,
        #[command(flatten)]
        grant: GrantArgs,
    },
    /// Approve a pending request.
    Approve {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Deny a pending request, saying why.
    Deny {
        id: String,
        #[arg(long)]
        comment: String,
    },
    /// End a pending request or a live grant early.
    Revoke {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Requests you may see, newest first.
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// Only requests waiting for a decision.
        #[arg(long)]
        pending: bool,
        /// Only your own requests.
        #[arg(long)]
        mine: bool,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One request with its full history.
    Show { id: String },
    /// Standing full access to a tenant (常時フルアクセス): the security office
    /// approves the administrator's nominations, denies or revokes them.
    #[command(subcommand)]
    FullAccess(FullAccessCmd),
}

#[derive(Subcommand)]
pub enum FullAccessCmd {
    /// Holders and nominations of a tenant, with their history.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Approve a nomination: the person holds every segment of the tenant.
    Approve {
        login: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Refuse a nomination, saying why.
    Deny {
        login: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        comment: String,
    },
    /// End a holding (or withdraw a nomination) at once.
    Revoke {
        login: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Args)]
pub struct GrantArgs {
    #[arg(long)]
    tenant: String,
    /// One segment (default: every segment of the tenant).
    #[arg(long)]
    segment: Option<String>,
    /// Fields the work needs, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    fields: Vec<String>,
    /// Purpose (利用目的) from the tenant's list.
    #[arg(long)]
    purpose: String,
    /// Case or ticket id.
    #[arg(long = "case")]
    case_id: String,
    /// Why the work needs this access.
    #[arg(long)]
    reason: String,
    /// Most distinct customers the grant may read.
    #[arg(long)]
    records: u64,
    /// Length of the window in hours.
    #[arg(long)]
    hours: Option<u32>,
    /// Start (YYYY-MM-DD, Japan time, or RFC 3339); default: now.
    #[arg(long)]
    start: Option<String>,
}

#[derive(Subcommand)]
pub enum PeopleCmd {
    /// Record a completed course and its comprehension-test score.
    Training {
        login: String,
        #[arg(long)]
        course: String,
        #[arg(long)]
        score: u32,
        /// Completion date (YYYY-MM-DD or RFC 3339); default: now.
        #[arg(long)]
        completed: Option<String>,
    },
    /// Record an annual compliance confirmation (誓約).
    Compliance {
        login: String,
        /// Date signed (YYYY-MM-DD or RFC 3339); default: now.
        #[arg(long)]
        confirmed: Option<String>,
    },
    /// A person's training, compliance and whether the people gate lets them in.
    Show { login: String },
}

#[derive(Subcommand)]
pub enum VendorCmd {
    /// Register a vendor with its contract.
    Create(VendorArgs),
    /// Change a vendor's contract (renewal, added clauses).
    Update(VendorArgs),
    List,
    /// Surprise audits: the vendor's facts, a seeded sample of its people's
    /// reads for explanation (security office), and the explanations.
    #[command(subcommand)]
    Audit(crate::vendor_audit::AuditCmd),
}

#[derive(Args)]
pub struct VendorArgs {
    id: String,
    #[arg(long)]
    name: String,
    /// Contract start (YYYY-MM-DD, Japan time, or RFC 3339).
    #[arg(long)]
    from: String,
    /// Contract end, exclusive.
    #[arg(long)]
    to: String,
    /// Clauses the contract contains, comma-separated: confidentiality,
    /// subcontracting, liability, return_erasure, audit_rights.
    #[arg(long, value_delimiter = ',')]
    clauses: Vec<String>,
}

/// A date in Japan time, for people.
fn date(ts: i64) -> String {
    mamori_core::jst::date(ts)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The person running the command, from their API token.
pub fn me(vault: &Vault, token: Option<&str>) -> Result<Caller> {
    let Some(token) = token else {
        bail!("this command acts as you: pass your API token with --token or MAMORI_TOKEN");
    };
    Ok(vault.authenticate(Some(token), Some("cli".into()))?)
}

impl GrantArgs {
    fn request(self) -> Result<NewRequest> {
        Ok(NewRequest {
            tenant: self.tenant,
            segment: self.segment,
            fields: self.fields,
            purpose: self.purpose,
            case_id: self.case_id,
            justification: self.reason,
            record_budget: self.records,
            starts_at: self.start.as_deref().map(parse_time).transpose()?,
            hours: self.hours,
        })
    }
}

fn request_text(r: &RequestView) -> String {
    let mut t = format!(
        "request {}  {:?}  ({:?})\n  for        {} on {}/{} purpose {} case {}\n  fields     {}\n  window     {} → {}\n  budget     {} customers{}\n  reason     {}",
        r.id,
        r.status,
        r.origin,
        r.requester,
        r.tenant,
        r.segment.as_deref().unwrap_or("*"),
        r.purpose,
        r.case_id,
        r.fields.join(", "),
        r.starts_at,
        r.ends_at,
        r.record_budget,
        r.records_used
            .map(|u| format!(" ({u} read so far)"))
            .unwrap_or_default(),
        r.justification
    );
    push_history(&mut t, &r.history);
    t
}

fn push_history(t: &mut String, history: &[HistoryStep]) {
    for h in history {
        t.push_str(&format!("\n  {}  {:<9} {}", h.at, h.action, h.actor));
        if let Some(c) = &h.comment {
            t.push_str(&format!(": {c}"));
        }
    }
}

/// A nomination for standing full access, for people.
pub fn full_access_text(f: &FullAccessView) -> String {
    let what = match f.status {
        RequestState::Pending => "nominated; waiting for the security office",
        RequestState::Approved => "holds standing full access",
        RequestState::Denied => "nomination denied",
        RequestState::Revoked => "revoked",
    };
    let mut t = format!("{}/*  {}  {what}", f.tenant, f.login);
    push_history(&mut t, &f.history);
    t
}

fn full_access(vault: &Vault, caller: &Caller, cmd: FullAccessCmd, out: Out) -> Result<()> {
    let one = |f: FullAccessView| out.emit(&f, full_access_text);
    match cmd {
        FullAccessCmd::List { tenant } => {
            let list = vault.full_access_list(caller, &tenant)?;
            out.emit(&list, |l| {
                if l.is_empty() {
                    return format!("nobody holds or is nominated for full access to '{tenant}'");
                }
                l.iter()
                    .map(full_access_text)
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        FullAccessCmd::Approve {
            login,
            tenant,
            comment,
        } => one(vault.approve_full_access(caller, &tenant, &login, comment.as_deref())?),
        FullAccessCmd::Deny {
            login,
            tenant,
            comment,
        } => one(vault.deny_full_access(caller, &tenant, &login, &comment)?),
        FullAccessCmd::Revoke {
            login,
            tenant,
            reason,
        } => one(vault.revoke_full_access(caller, &tenant, &login, &reason)?),
    }
    Ok(())
}

pub fn access(dir: &Path, token: Option<&str>, cmd: AccessCmd, out: Out) -> Result<()> {
    let vault = datadir::open(dir)?.vault;
    let caller = me(&vault, token)?;
    let one = |r: RequestView| out.emit(&r, request_text);
    match cmd {
        AccessCmd::Request(args) => one(vault.request_access(&caller, &args.request()?)?),
        AccessCmd::Issue { to, grant } => {
            one(vault.issue_grant(&caller, &to, &grant.request()?)?)
        }
        AccessCmd::Approve { id, comment } => {
            one(vault.approve_request(&caller, &id, comment.as_deref())?)
        }
        AccessCmd::Deny { id, comment } => one(vault.deny_request(&caller, &id, &comment)?),
        AccessCmd::Revoke { id, reason } => one(vault.revoke_request(&caller, &id, &reason)?),
        AccessCmd::Show { id } => one(vault.access_request(&caller, &id)?),
        AccessCmd::FullAccess(cmd) => full_access(&vault, &caller, cmd, out)?,
        AccessCmd::List {
            tenant,
            pending,
            mine,
            limit,
        } => {
            let list = vault.access_requests(
                &caller,
                &ListFilter {
                    tenant,
                    pending,
                    mine,
                    limit: Some(limit),
                },
            )?;
            out.emit(&list, |l| {
                if l.is_empty() {
                    return "no requests".into();
                }
                l.iter()
                    .map(|r| {
                        format!(
                            "{}  {:<9} {:<14} {}/{} {} → {}",
                            r.id,
                            format!("{:?}", r.status).to_lowercase(),
                            r.requester,
                            r.tenant,
                            r.segment.as_deref().unwrap_or("*"),
                            r.purpose,
                            r.ends_at
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}

fn person_text(p: &PersonView) -> String {
    let yes = |b: bool| if b { "ok" } else { "NO" };
    let mut t = format!(
        "{} ({})  manager {}  vendor {}\n  training current   {}\n  compliance         {}\n  vendor contract    {}\n  daily budget       {} customers",
        p.login,
        p.role,
        p.manager.as_deref().unwrap_or("-"),
        p.vendor.as_deref().unwrap_or("-"),
        yes(p.status.training_current),
        if p.status.compliance_required {
            yes(p.status.compliance_current)
        } else {
            "not required"
        },
        yes(p.status.vendor_valid),
        p.daily_record_budget
    );
    for tr in &p.training {
        t.push_str(&format!(
            "\n  course {:<20} score {:>3}  until {}",
            tr.course,
            tr.score,
            date(tr.expires_at)
        ));
    }
    t
}

pub fn people(dir: &Path, token: Option<&str>, cmd: PeopleCmd, out: Out) -> Result<()> {
    let vault = datadir::open(dir)?.vault;
    let caller = me(&vault, token)?;
    match cmd {
        PeopleCmd::Training {
            login,
            course,
            score,
            completed,
        } => {
            let at = completed.as_deref().map(parse_time).transpose()?;
            let row = vault.record_training(&caller, &login, &course, score, at)?;
            out.emit(&row, |r| {
                format!(
                    "recorded course '{}' for '{}' (score {}, {})",
                    r.course,
                    r.login,
                    r.score,
                    if r.score >= vault.rules().people.pass_score {
                        "passed"
                    } else {
                        "NOT passed"
                    }
                )
            });
        }
        PeopleCmd::Compliance { login, confirmed } => {
            let at = confirmed.as_deref().map(parse_time).transpose()?;
            let row = vault.record_compliance(&caller, &login, at)?;
            out.emit(&row, |r| {
                format!("recorded the compliance confirmation of '{}'", r.login)
            });
        }
        PeopleCmd::Show { login } => {
            let p = vault.person(&caller, &login)?;
            out.emit(&p, person_text);
        }
    }
    Ok(())
}

fn vendor_text(v: &VendorView) -> String {
    format!(
        "{:<16} {:<8} {}  missing clauses: {}",
        v.row.id,
        if v.in_force {
            "in force"
        } else {
            "NOT in force"
        },
        v.row.name,
        if v.missing_clauses.is_empty() {
            "none".to_owned()
        } else {
            v.missing_clauses.join(", ")
        }
    )
}

pub fn vendor(dir: &Path, token: Option<&str>, cmd: VendorCmd, out: Out) -> Result<()> {
    let vault = datadir::open(dir)?.vault;
    if let VendorCmd::List = cmd {
        let list = vault.vendors()?;
        out.emit(&list, |l| {
            l.iter().map(vendor_text).collect::<Vec<_>>().join("\n")
        });
        return Ok(());
    }
    let caller = me(&vault, token)?;
    let (args, create) = match cmd {
        VendorCmd::Create(a) => (a, true),
        VendorCmd::Update(a) => (a, false),
        VendorCmd::Audit(c) => return crate::vendor_audit::audit(&vault, &caller, c, out),
        VendorCmd::List => unreachable!("handled above"),
    };
    let exists = vault.store().vendor(&args.id)?.is_some();
    if create && exists {
        bail!(
            "vendor '{}' already exists; use `mamori vendor update`",
            args.id
        );
    }
    if !create && !exists {
        bail!(
            "vendor '{}' does not exist; use `mamori vendor create`",
            args.id
        );
    }
    let v = vault.put_vendor(
        &caller,
        &args.id,
        &args.name,
        parse_time(&args.from)?,
        parse_time(&args.to)?,
        &args.clauses,
    )?;
    out.emit(&v, vendor_text);
    Ok(())
}
