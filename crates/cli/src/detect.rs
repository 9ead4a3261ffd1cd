//! `mamori alert` (handling alerts; acts as you: --token), `mamori honey`
//! (decoy customers) and `mamori detect` (rules and replay over history).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use clap::Subcommand;
use mamori_app::datadir;
use mamori_detect::{Alert, Rules};
use mamori_store::{AlertFilter, AlertState};
use mamori_vault::alerts::{AlertView, Outcome};

use crate::{cli_actor, governance::me, output::Out};

#[derive(Subcommand)]
pub enum AlertCmd {
    /// Alerts you may see, newest first.
    List {
        /// open, acknowledged, resolved or false_positive.
        #[arg(long)]
        state: Option<String>,
        /// Only alerts about this person.
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        rule: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One alert.
    Show { id: String },
    /// Take an open alert in hand.
    Ack { id: String },
    /// Give an alert to someone to handle.
    Assign {
        id: String,
        #[arg(long)]
        to: String,
    },
    /// Close an alert as handled, saying what was found.
    Resolve {
        id: String,
        #[arg(long)]
        note: String,
    },
    /// Close an alert as a false positive, saying why.
    FalsePositive {
        id: String,
        #[arg(long)]
        note: String,
    },
}

#[derive(Subcommand)]
pub enum HoneyCmd {
    /// Plant decoy customers in a tenant; any access to one raises a critical alert.
    Plant {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value_t = 20)]
        n: usize,
    },
    /// The decoys planted.
    List,
}

#[derive(Subcommand)]
pub enum ShiftCmd {
    /// Import a shift calendar: CSV `login,date,start,end` (Japan time, HH:MM;
    /// empty start and end: a day off). Each person's days in the file replace what was known.
    Import { file: PathBuf },
    /// Give a person one of the rules file's named weekly shifts (`[off_hours.shifts]`).
    Set {
        login: String,
        #[arg(long, conflicts_with = "clear", required_unless_present = "clear")]
        shift: Option<String>,
        /// Back to the default shift.
        #[arg(long)]
        clear: bool,
    },
}

#[derive(Subcommand)]
pub enum CaseCmd {
    /// Import cases: CSV `case_id,customer_no` (or `案件番号,お客さま番号`;
    /// UTF-8). A read under a known case of another customer counts as a
    /// lookup without a case (rule no_case). Run it as often as the call
    /// system exports; a case in the file replaces what was known of it.
    Import {
        #[arg(long)]
        tenant: String,
        file: PathBuf,
    },
}

pub fn case(dir: &Path, cmd: CaseCmd, out: Out) -> Result<()> {
    let vault = datadir::open(dir)?.vault;
    match cmd {
        CaseCmd::Import { tenant, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {} (UTF-8 expected)", file.display()))?;
            let r = vault.import_cases(&cli_actor(), &tenant, &text)?;
            out.emit(&r, |r| {
                format!("{} cases of '{}' recorded", r.cases, r.tenant)
            });
        }
    }
    Ok(())
}

pub fn shift(dir: &Path, cmd: ShiftCmd, out: Out) -> Result<()> {
    let opened = datadir::open(dir)?;
    let vault = &opened.vault;
    match cmd {
        ShiftCmd::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let r = vault.import_shifts(&cli_actor(), &text)?;
            out.emit(&r, |r| {
                format!(
                    "imported {} shift rows: {} people, {} person-days",
                    r.rows, r.people, r.days
                )
            });
        }
        ShiftCmd::Set {
            login,
            shift,
            clear: _,
        } => {
            let rules = datadir::load_rules(dir, &opened.config)?;
            let known: Vec<String> = rules.off_hours.shifts.keys().cloned().collect();
            vault.set_user_shift(&cli_actor(), &login, shift.as_deref(), &known)?;
            out.emit(
                &serde_json::json!({ "login": login, "shift": shift }),
                |_| match &shift {
                    Some(s) => format!("'{login}' works the '{s}' shift"),
                    None => format!("'{login}' works the default shift"),
                },
            );
        }
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum DetectCmd {
    /// Print the built-in rules as a rules file to start from.
    Rules,
    /// Check a rules file (as `mamori serve` would at start).
    Check { file: PathBuf },
    /// Re-run the rules over history without storing or notifying anything (for tuning).
    Replay {
        /// First day (YYYY-MM-DD, Japan time).
        #[arg(long)]
        from: NaiveDate,
        /// Day after the last (YYYY-MM-DD, Japan time; default: tomorrow).
        #[arg(long)]
        to: Option<NaiveDate>,
        /// Rules file to try (default: the configured one).
        #[arg(long)]
        rules: Option<PathBuf>,
    },
}

fn alert_text(a: &AlertView) -> String {
    let r = &a.row;
    let at = DateTime::<Utc>::from_timestamp(r.at, 0).unwrap_or_default();
    let mut t = format!(
        "{}  {:<8} {:<13} {}  {}\n  about      {}{}\n  evidence   {}#{}   risk {:.0}\n  {}  /  {}",
        r.id,
        r.severity,
        r.state.as_str(),
        r.rule,
        at.to_rfc3339(),
        r.login,
        r.tenant
            .as_ref()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default(),
        r.evidence_log,
        r.evidence_seq,
        r.risk,
        a.summary_ja,
        a.summary_en,
    );
    if let Some(who) = &r.assignee {
        t.push_str(&format!("\n  assignee   {who}"));
    }
    if let Some(n) = &a.note {
        t.push_str(&format!("\n  note       {n}"));
    }
    t
}

pub fn alert(dir: &Path, token: Option<&str>, cmd: AlertCmd, out: Out) -> Result<()> {
    let vault = datadir::open(dir)?.vault;
    let caller = me(&vault, token)?;
    let one = match cmd {
        AlertCmd::List {
            state,
            user,
            tenant,
            rule,
            limit,
        } => {
            let state = match state.as_deref() {
                None => None,
                Some(s) => Some(AlertState::parse(s).with_context(|| {
                    format!("unknown state '{s}': open, acknowledged, resolved, false_positive")
                })?),
            };
            let f = AlertFilter {
                state,
                login: user,
                logins: None,
                tenant,
                rule,
                since: None,
                limit,
            };
            let list = vault.alerts(&caller, &f)?;
            out.emit(&list, |l| {
                if l.is_empty() {
                    return "no alerts you may see".into();
                }
                l.iter().map(alert_text).collect::<Vec<_>>().join("\n")
            });
            return Ok(());
        }
        AlertCmd::Show { id } => vault.alert(&caller, &id)?,
        AlertCmd::Ack { id } => vault.acknowledge_alert(&caller, &id)?,
        AlertCmd::Assign { id, to } => vault.assign_alert(&caller, &id, &to)?,
        AlertCmd::Resolve { id, note } => {
            vault.close_alert(&caller, &id, Outcome::Resolved, &note)?
        }
        AlertCmd::FalsePositive { id, note } => {
            vault.close_alert(&caller, &id, Outcome::FalsePositive, &note)?
        }
    };
    out.emit(&one, alert_text);
    Ok(())
}

pub fn honey(dir: &Path, cmd: HoneyCmd, out: Out) -> Result<()> {
    let vault = datadir::open(dir)?.vault;
    match cmd {
        HoneyCmd::Plant { tenant, n } => {
            let seed = rand::random::<u64>();
            let planted = vault.plant_honey(&cli_actor(), &tenant, n, seed)?;
            out.emit(&serde_json::json!({ "tenant": tenant, "planted": planted }), |_| {
                format!("planted {planted} decoy customers in '{tenant}'; any access to one raises a critical alert")
            });
        }
        HoneyCmd::List => {
            let rows: Vec<serde_json::Value> = vault
                .honey()?
                .into_iter()
                .map(|(tenant, record, at)| {
                    serde_json::json!({ "tenant": tenant, "record": record, "planted_at": at })
                })
                .collect();
            out.emit(&rows, |rows| {
                if rows.is_empty() {
                    return "no decoys planted".into();
                }
                rows.iter()
                    .map(|r| {
                        format!(
                            "{}  {}",
                            r["tenant"].as_str().unwrap_or(""),
                            r["record"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}

fn jst_midnight(d: NaiveDate) -> DateTime<Utc> {
    let t = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    Utc.from_utc_datetime(&t) - chrono::Duration::hours(9)
}

fn read_rules(path: &Path) -> Result<Rules> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Rules::from_toml(&text).with_context(|| path.display().to_string())
}

fn replay_text(alerts: &[Alert], events: u64) -> String {
    let mut t = format!("{events} events replayed; {} alerts", alerts.len());
    for a in alerts {
        let (ja, en) = a.summary();
        t.push_str(&format!(
            "\n{}  {:<8} {:<14} {:<10} {}  {ja} / {en}",
            a.at.to_rfc3339(),
            a.severity.as_str(),
            a.rule.as_str(),
            a.user,
            a.tenant.as_deref().unwrap_or("-"),
        ));
    }
    t
}

pub fn detect(dir: &Path, cmd: DetectCmd, out: Out) -> Result<()> {
    match cmd {
        DetectCmd::Rules => {
            crate::output::write_stdout(&Rules::default_toml());
        }
        DetectCmd::Check { file } => {
            read_rules(&file)?;
            out.emit(&serde_json::json!({ "valid": true }), |_| {
                format!("{}: valid", file.display())
            });
        }
        DetectCmd::Replay { from, to, rules } => {
            let opened = datadir::open(dir)?;
            let rules = match rules {
                Some(p) => read_rules(&p)?,
                None => datadir::load_rules(dir, &opened.config)?,
            };
            let to = to.unwrap_or_else(|| {
                (Utc::now() + chrono::Duration::hours(9))
                    .date_naive()
                    .succ_opt()
                    .unwrap_or(NaiveDate::MAX)
            });
            if to <= from {
                bail!("--to must be after --from");
            }
            let vault = &opened.vault;
            let (alerts, events) = mamori_watch::replay(
                vault.store().as_ref(),
                vault.audit().store().as_ref(),
                rules,
                &opened.config.detect,
                jst_midnight(from),
                jst_midnight(to),
            )?;
            out.emit(&alerts, |a| replay_text(a, events));
        }
    }
    Ok(())
}
