//! `mamori vendor audit`: surprise audits of a vendor (acts as you:
//! --token). `start` (security office) records the vendor's facts and a
//! seeded sample of its people's reads; `asked` lists the reads you are
//! asked to explain; `explain` answers one; `show` (security office,
//! auditors) prints the audit with its explanations.

use anyhow::{Context, Result};
use clap::Subcommand;
use mamori_vault::{Caller, Vault, vendor_audit::VendorAudit};
use serde_json::json;

use crate::{
    output::Out,
    period::{month_or_range, parse_time},
};

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Start a surprise audit of a vendor over a period (a month by default).
    Start {
        vendor: String,
        /// `YYYY-MM` (Japan time); or give --from and --to.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        month: Option<String>,
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// Day after the last, `YYYY-MM-DD`.
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Reads to sample (1-500).
        #[arg(long, default_value_t = 20)]
        sample: usize,
        /// Re-draw a recorded sample with its seed (random when absent).
        #[arg(long)]
        seed: Option<u64>,
        /// Explanations are due by (YYYY-MM-DD, Japan time, or RFC 3339).
        #[arg(long)]
        deadline: String,
    },
    /// An audit with the facts, the sample and its explanations.
    Show { id: String },
    /// The sampled reads you are asked to explain.
    Asked,
    /// Answer the vendor questionnaire for your company (a vendor's own
    /// people): every question as QUESTION=ANSWER (staff_count=12,
    /// all_trained=yes, all_pledged=yes, audit_rights=yes,
    /// subcontracting=yes, no_open_incidents=yes).
    Answer {
        #[arg(long = "answer", value_name = "QUESTION=ANSWER", required = true)]
        answers: Vec<String>,
    },
    /// A vendor's latest answers checked against the vault's records
    /// (security office, auditors).
    Questionnaire { vendor: String },
    /// Explain one of your sampled reads (`--read LOG#SEQ` as `asked` prints it).
    Explain {
        id: String,
        #[arg(long)]
        read: String,
        /// Why you read it: the case, the customer's request, the task.
        #[arg(long)]
        text: String,
    },
}

pub fn audit(vault: &Vault, caller: &Caller, cmd: AuditCmd, out: Out) -> Result<()> {
    match cmd {
        AuditCmd::Start {
            vendor,
            month,
            from,
            to,
            sample,
            seed,
            deadline,
        } => {
            let period = month_or_range(month.as_deref(), from.as_deref(), to.as_deref())?;
            let a = vault.audit_vendor(
                caller,
                &vendor,
                period,
                sample,
                seed,
                parse_time(&deadline)?,
            )?;
            out.emit(&a, human);
        }
        AuditCmd::Show { id } => {
            let a = vault.vendor_audit(caller, &id)?;
            out.emit(&a, human);
        }
        AuditCmd::Asked => {
            let items = vault.my_audit_items(caller)?;
            let rows: Vec<_> = items
                .iter()
                .map(|(id, s)| json!({"audit": id, "read": format!("{}#{}", s.log, s.seq), "at": s.at, "tenant": s.tenant, "purpose": s.purpose, "case_id": s.case_id}))
                .collect();
            out.emit(&rows, |_| {
                if items.is_empty() {
                    return "nothing to explain / 説明依頼なし".to_owned();
                }
                items
                    .iter()
                    .map(|(id, s)| {
                        format!(
                            "{id} {}#{} {} {} {}",
                            s.log,
                            s.seq,
                            s.at,
                            s.tenant,
                            s.case_id.as_deref().unwrap_or("-")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        AuditCmd::Answer { answers } => {
            let mut map = std::collections::BTreeMap::new();
            for a in &answers {
                let (q, v) = a
                    .split_once('=')
                    .context("--answer is QUESTION=ANSWER, e.g. all_trained=yes")?;
                map.insert(q.trim().to_owned(), v.trim().to_owned());
            }
            vault.answer_questionnaire(caller, &map)?;
            out.emit(&json!({"status": "answered"}), |_| {
                "answered / 回答済".to_owned()
            });
        }
        AuditCmd::Questionnaire { vendor } => {
            let q = vault.questionnaire(caller, &vendor)?;
            out.emit(&q, |q| {
                let mut s = format!(
                    "questionnaire / 質問票 {} — answered by {} at {} · {} inconsistent",
                    q.vendor, q.answered_by, q.answered_at, q.inconsistent
                );
                for a in &q.answers {
                    let mark = if a.consistent {
                        "ok"
                    } else {
                        "MISMATCH / 不一致"
                    };
                    s.push_str(&format!(
                        "\n{:<18} answer {:<4} records {:<4} {mark}  {}",
                        a.question, a.answer, a.fact, a.text
                    ));
                }
                s
            });
        }
        AuditCmd::Explain { id, read, text } => {
            let (log, seq) = read
                .rsplit_once('#')
                .and_then(|(l, s)| Some((l, s.parse::<u64>().ok()?)))
                .context("--read is LOG#SEQ, as `mamori vendor audit asked` prints it")?;
            vault.explain_read(caller, &id, (log, seq), &text)?;
            out.emit(
                &json!({"audit": id, "read": read, "status": "explained"}),
                |_| "explained / 説明済".to_owned(),
            );
        }
    }
    Ok(())
}

fn human(a: &VendorAudit) -> String {
    let f = &a.facts;
    let mut s = format!(
        "vendor audit / 抜き打ち監査 {} ({}) {} – {}, due {}\nseed {} · {} of {} reads sampled · {} overdue\n\
         contract in force: {} · clauses missing: {} · people {} · training lapsed: {} · compliance lapsed: {} · open alerts {}",
        a.id,
        a.vendor,
        a.from,
        a.to,
        a.deadline,
        a.seed,
        a.sample.len(),
        a.population,
        a.overdue,
        f.contract_in_force,
        if f.clauses_missing.is_empty() {
            "-".into()
        } else {
            f.clauses_missing.join(", ")
        },
        f.people,
        if f.training_lapsed.is_empty() {
            "-".into()
        } else {
            f.training_lapsed.join(", ")
        },
        if f.compliance_lapsed.is_empty() {
            "-".into()
        } else {
            f.compliance_lapsed.join(", ")
        },
        f.open_alerts
    );
    for i in &a.sample {
        let r = &i.read;
        s.push_str(&format!(
            "\n{}#{} {} {} {} {} — {}",
            r.log,
            r.seq,
            r.at,
            r.login,
            r.tenant,
            r.case_id.as_deref().unwrap_or("-"),
            i.explanation
                .as_deref()
                .unwrap_or("(not explained / 未回答)")
        ));
    }
    s
}
