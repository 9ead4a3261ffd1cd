//! `mamori reconcile run` (security office; acts as you: --token): a
//! month's vault reads joined with grants, standing access, the shift
//! roster and the files from outside — the secure area's door log, the
//! dedicated PCs' logon events, the person map — into discrepancies per
//! class. The run is an audit event holding the files' SHA-256 and the
//! report's, so the same files give the same, provable report.
//! `mamori reconcile list` and `dispose`: each discrepancy judged —
//! explained, a mistake, escalated — with a reason.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use mamori_app::datadir;
use mamori_reconcile::{Class, Params};
use mamori_vault::{
    discrepancies::{DiscrepancyView, Outcome},
    reconciliation::{ReconcileFiles, Reconciliation},
};

use crate::{governance::me, output::Out, period::month_or_range};

#[derive(Subcommand)]
pub enum ReconcileCmd {
    /// Reconcile a period (a month by default) and print its discrepancies.
    Run(Box<RunArgs>),
    /// The discrepancies you may see (your team's, or all for the security
    /// office and auditors), open ones unless --all.
    List {
        /// Disposed ones too.
        #[arg(long)]
        all: bool,
        /// Only those the run with this id (its report's SHA-256) found.
        #[arg(long)]
        run: Option<String>,
    },
    /// Say what a discrepancy was, with the reason (security office, or the
    /// person's supervisor).
    Dispose {
        /// The discrepancy's id.
        id: String,
        #[arg(long = "as", value_enum)]
        outcome: OutcomeArg,
        /// Why: what was checked and found.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum OutcomeArg {
    /// There is an acceptable reason.
    Explained,
    /// A recording mistake (badge not held to the reader, wrong map).
    Mistake,
    /// Needs investigation.
    Escalated,
}

#[derive(Args)]
pub struct RunArgs {
    /// The month, `YYYY-MM` (Japan time); or give --from and --to.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub month: Option<String>,
    /// First day, `YYYY-MM-DD` (Japan time).
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// Day after the last, `YYYY-MM-DD`.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// The person map (CSV: login, badge, pc_account).
    #[arg(long, value_name = "FILE")]
    pub people: PathBuf,
    /// The secure area's door log (CSV, UTF-8 or Shift_JIS).
    #[arg(long, value_name = "FILE")]
    pub rooms: PathBuf,
    /// The dedicated PCs' security events (CSV or JSON).
    #[arg(long, value_name = "FILE")]
    pub logons: PathBuf,
    /// The dedicated PCs and their addresses (CSV: host, address).
    #[arg(long, value_name = "FILE")]
    pub hosts: Option<PathBuf>,
    /// Pre-applications from outside the vault (CSV: login or badge, date).
    #[arg(long, value_name = "FILE")]
    pub applications: Option<PathBuf>,
    /// The column mapping (TOML), where the files' headers differ from the defaults.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Clock skew allowed between the vault, the door system and the PCs.
    #[arg(long, default_value_t = Params::default().skew_s)]
    pub skew_s: i64,
    /// A logon without a recorded logoff ends this many hours after it began.
    #[arg(long, default_value_t = Params::default().max_session_h)]
    pub max_session_h: i64,
    /// An entry without an exit counts as presence this many hours at most.
    #[arg(long, default_value_t = Params::default().max_stay_h)]
    pub max_stay_h: i64,
    /// Also write the whole result (report, inputs' digests, audit event) as JSON here.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn reconcile(dir: &Path, token: Option<&str>, cmd: ReconcileCmd, out: Out) -> Result<()> {
    let args = match cmd {
        ReconcileCmd::Run(args) => *args,
        ReconcileCmd::List { all, run } => {
            let vault = datadir::open(dir)?.vault;
            let caller = me(&vault, token)?;
            let found = vault.discrepancies(&caller, !all, run.as_deref())?;
            out.emit(&found, |f| listing(f));
            return Ok(());
        }
        ReconcileCmd::Dispose {
            id,
            outcome,
            reason,
        } => {
            let vault = datadir::open(dir)?.vault;
            let caller = me(&vault, token)?;
            let outcome = match outcome {
                OutcomeArg::Explained => Outcome::Explained,
                OutcomeArg::Mistake => Outcome::Mistake,
                OutcomeArg::Escalated => Outcome::Escalated,
            };
            let d = vault.dispose_discrepancy(&caller, &id, outcome, &reason)?;
            out.emit(&d, |d| listing(std::slice::from_ref(d)));
            return Ok(());
        }
    };
    let (from, to) = period(&args)?;
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let opt = |p: &Option<PathBuf>| p.as_deref().map(read).transpose();
    let (people, rooms, logons) = (read(&args.people)?, read(&args.rooms)?, read(&args.logons)?);
    let (hosts, applications, mapping) = (
        opt(&args.hosts)?,
        opt(&args.applications)?,
        opt(&args.mapping)?,
    );
    let vault = datadir::open(dir)?.vault;
    let caller = me(&vault, token)?;
    let run = vault.reconcile(
        &caller,
        from,
        to,
        Params {
            skew_s: args.skew_s,
            max_session_h: args.max_session_h,
            max_stay_h: args.max_stay_h,
        },
        ReconcileFiles {
            mapping: mapping.as_deref(),
            people: &people,
            rooms: &rooms,
            logons: &logons,
            hosts: hosts.as_deref(),
            applications: applications.as_deref(),
        },
    )?;
    if let Some(path) = &args.out {
        let bytes = serde_json::to_vec_pretty(&run)?;
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    out.emit(&run, human);
    Ok(())
}

/// `[from, to)` in Unix seconds from --month or --from/--to (Japan days).
fn period(args: &RunArgs) -> Result<(i64, i64)> {
    month_or_range(
        args.month.as_deref(),
        args.from.as_deref(),
        args.to.as_deref(),
    )
}

fn listing(found: &[DiscrepancyView]) -> String {
    if found.is_empty() {
        return "no discrepancies / 不一致なし".to_owned();
    }
    let mut s = format!(
        "{:<32} {:<10} {:<26} {:<16} {:>6}  {:<10} {}",
        "id", "day", "class", "person", "count", "outcome", "kind"
    );
    for d in found {
        s.push_str(&format!(
            "\n{:<32} {:<10} {:<26} {:<16} {:>6}  {:<10} {}",
            d.id,
            d.day,
            d.class,
            d.person,
            d.count,
            d.outcome.map_or("open", |o| o.as_str()),
            d.kind.as_deref().unwrap_or("")
        ));
    }
    s
}

fn human(r: &Reconciliation) -> String {
    let rep = &r.report;
    let c = &rep.counts;
    let mut s = format!(
        "突合 reconciliation {} – {}\n  reads {}  grants {}  people {}  door events {} ({} refused)  PC sessions {} ({} without a recorded logoff)\n  recorded as {}#{}  report sha256 {}\n",
        mamori_core::jst::rfc3339(rep.period.from),
        mamori_core::jst::rfc3339(rep.period.to),
        c.reads,
        c.grants,
        c.people,
        c.room_events,
        c.room_events_refused,
        c.sessions,
        c.sessions_end_unknown,
        r.log,
        r.seq,
        r.report_sha256,
    );
    for class in Class::ALL {
        let (ja, en) = class.title();
        s.push_str(&format!("  {:>5}  {ja} ({en})\n", rep.by_class[&class]));
    }
    for n in &rep.not_checked {
        s.push_str(&format!("  not checked: {n}\n"));
    }
    if rep.discrepancies.is_empty() {
        s.push_str("no discrepancies / 不一致なし");
        return s;
    }
    s.push_str(&format!(
        "\n{:<32} {:<10} {:<26} {:<20} {:>6}  {}",
        "id", "day", "class", "person", "count", "kind"
    ));
    for d in &rep.discrepancies {
        s.push_str(&format!(
            "\n{:<32} {:<10} {:<26} {:<20} {:>6}  {}",
            d.id,
            d.day,
            d.class.as_str(),
            d.person,
            d.count,
            d.kind.as_deref().unwrap_or("")
        ));
    }
    s
}
