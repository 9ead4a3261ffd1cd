//! Self-inspection from facts (G1). Docomo's daily self-inspection "assumed
//! no false declarations"; here each checklist item is a probe over the
//! vault's own records for a period, printed as verified or failed with its
//! counts and findings (staff ids, tenant ids, export ids — never a
//! customer's value). What no record can show (locks on the secure area,
//! disposal of devices, clean desks) is a person's declaration, recorded as
//! an audit event and printed as declared, by whom — never as verified.
//! The run is an audit event carrying every status and the report's SHA-256.

use std::collections::{BTreeMap, HashMap, HashSet};

use mamori_core::jst::{day as jst_day, day_start, rfc3339};
use mamori_store::{DiscrepancyFilter, ExportFilter, RequestState, ScanVerdict, TenantStatus};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{
    Caller, ErrorCode, Vault,
    error::{Result, VaultError},
};

/// Findings listed per probe (the counts hold them all).
const MAX_FINDINGS: usize = 20;

/// Items only a person can vouch for: (id, what is declared).
pub const DECLARED: [(&str, &str); 3] = [
    (
        "facility_locks",
        "管理区域の施錠と入退室の管理（物理的安全管理措置）",
    ),
    (
        "device_disposal",
        "機器・電子媒体の廃棄と削除の記録（物理的安全管理措置）",
    ),
    (
        "clean_desk",
        "書類・端末の盗難等の防止（クリアデスク・画面ロック）",
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The records show it holds.
    Verified,
    /// The records show it does not (see the findings).
    Failed,
    /// Nothing in the period to check (e.g. no PC agent reported).
    NotApplicable,
    /// A person said so; the vault cannot check it.
    Declared,
    /// Nobody declared it in the period.
    Undeclared,
}

/// One checklist item.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Probe {
    pub id: &'static str,
    /// What is checked, in Japanese.
    pub title: &'static str,
    pub status: Status,
    pub counts: BTreeMap<&'static str, u64>,
    pub findings: Vec<String>,
    /// For a declared item: who, when, what they said.
    pub declared_by: Option<String>,
    pub declared_at: Option<String>,
    pub statement: Option<String>,
}

impl Probe {
    fn checked(id: &'static str, title: &'static str, findings: Vec<String>) -> Probe {
        Probe {
            id,
            title,
            status: if findings.is_empty() {
                Status::Verified
            } else {
                Status::Failed
            },
            counts: BTreeMap::new(),
            findings,
            declared_by: None,
            declared_at: None,
            statement: None,
        }
    }

    fn count(mut self, name: &'static str, n: u64) -> Probe {
        self.counts.insert(name, n);
        self
    }

    fn trimmed(mut self) -> Probe {
        self.counts
            .entry("findings")
            .or_insert(self.findings.len() as u64);
        self.findings.truncate(MAX_FINDINGS);
        self
    }
}

/// An inspection as run and recorded.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Inspection {
    pub from: String,
    pub to: String,
    pub probes: Vec<Probe>,
    /// The `inspect.run` event that records it.
    pub log: String,
    pub seq: u64,
    /// SHA-256 of the probes' JSON, as recorded in the event.
    pub sha256: String,
}

impl Vault {
    /// Runs the self-inspection over `[from, to)` (security office, auditors).
    pub fn inspect(&self, caller: &Caller, from: i64, to: i64) -> Result<Inspection> {
        let decision = self.gate.decide_report(&caller.principal);
        let event = self.gated(
            self.caller_event(caller, "inspect.run", "ok"),
            &decision,
            "self-inspections are run by the security office and auditors",
        )?;
        let to = self.checked_period(from, to)?;
        let mut probes = vec![
            self.probe_full_access()?,
            self.probe_training(from, to)?,
            self.probe_exports(from, to)?,
            self.probe_witness(from)?,
            self.probe_agents(from)?,
            self.probe_reconciliation(from, to)?,
            self.probe_reviews(to)?,
        ];
        probes.extend(self.declarations(from, to)?);
        let bytes = serde_json::to_vec(&probes)
            .map_err(|e| VaultError::Internal(format!("inspection: {e}")))?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let statuses: serde_json::Map<String, serde_json::Value> = probes
            .iter()
            .map(|p| {
                let s = serde_json::to_value(p.status).unwrap_or_default();
                (p.id.to_owned(), s)
            })
            .collect();
        // Each item's figures (never its findings or a statement), so that
        // a signed report re-derives them from the log alone.
        let summaries: Vec<serde_json::Value> = probes
            .iter()
            .map(|p| {
                serde_json::json!({
                    "id": p.id, "title": p.title, "status": p.status,
                    "counts": p.counts, "declared_by": p.declared_by,
                })
            })
            .collect();
        let receipt = self.audit.append(
            event
                .detail("from", rfc3339(from))
                .detail("to", rfc3339(to))
                .detail("statuses", statuses)
                .detail("probes", summaries)
                .detail("sha256", sha256.as_str()),
        )?;
        Ok(Inspection {
            from: rfc3339(from),
            to: rfc3339(to),
            probes,
            log: receipt.log().to_owned(),
            seq: receipt.seq(),
            sha256,
        })
    }

    /// Records a person's declaration of an item the vault cannot check
    /// (security office).
    pub fn declare(&self, caller: &Caller, item: &str, statement: &str) -> Result<()> {
        let decision = self.gate.decide_manage(&caller.principal);
        let event = self.gated(
            self.caller_event(caller, "inspect.declare", "ok"),
            &decision,
            "declarations are made by the security office",
        )?;
        let Some((id, _)) = DECLARED.iter().find(|(id, _)| *id == item) else {
            let known: Vec<&str> = DECLARED.iter().map(|(id, _)| *id).collect();
            return Err(VaultError::bad(
                ErrorCode::RequestInvalid,
                format!("unknown item; declarable: {}", known.join(", ")),
            ));
        };
        let statement = self
            .checked_comment(Some(statement), true)?
            .unwrap_or_default();
        if statement.chars().count() > 2_000 {
            return Err(VaultError::bad(
                ErrorCode::NoteTooLong,
                "a statement has at most 2000 characters",
            ));
        }
        self.audit
            .append(event.detail("item", *id).detail("statement", statement))?;
        Ok(())
    }

    /// Every standing full-access holder approved, and each tenant within its cap.
    fn probe_full_access(&self) -> Result<Probe> {
        let mut findings = Vec::new();
        let (mut tenants, mut holders) = (0, 0);
        for t in self.store.tenants()? {
            if t.status != TenantStatus::Active {
                continue;
            }
            tenants += 1;
            let approved: HashSet<String> = self
                .store
                .full_access(&t.id)?
                .into_iter()
                .filter(|n| n.state == RequestState::Approved)
                .map(|n| n.login)
                .collect();
            let whole: Vec<String> = self
                .store
                .tenant_assignments(&t.id)?
                .into_iter()
                .filter(|a| a.segment.is_none())
                .map(|a| a.login)
                .collect();
            holders += whole.len() as u64;
            if whole.len() as u64 > u64::from(self.full_access_cap(&t)) {
                findings.push(format!("{}: over cap", t.id));
            }
            for login in whole.iter().filter(|l| !approved.contains(*l)) {
                findings.push(format!("{}: {login} not approved", t.id));
            }
        }
        Ok(Probe::checked(
            "full_access",
            "常時全件アクセス権限者は承認済みで上限以内",
            findings,
        )
        .count("tenants", tenants)
        .count("holders", holders)
        .trimmed())
    }

    /// Nobody read customer data while their required training had lapsed
    /// (each person-day with reads from the usage summaries, judged at its
    /// last read).
    fn probe_training(&self, from: i64, to: i64) -> Result<Probe> {
        let (first, last) = (jst_day(from), jst_day(to - 1));
        let closed = self.summarise_days(first, self.now())?;
        // login → (day, its last read)
        let mut days: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        self.store.each_usage(first, last.min(closed), &mut |r| {
            if !r.tenant.is_empty() && r.segment.is_empty() && r.reads > 0 {
                days.entry(r.login).or_default().push((r.day, r.last_at));
            }
            Ok(())
        })?;
        let mut findings = Vec::new();
        let mut person_days = 0;
        let mut logins: Vec<_> = days.into_iter().collect();
        logins.sort();
        for (login, mut days) in logins {
            let Some(user) = self.store.user(&login)? else {
                continue;
            };
            let facts = self.people.get(self, user)?;
            days.sort_unstable();
            days.dedup_by_key(|d| d.0);
            for (day, last_read) in days {
                person_days += 1;
                // Judged at the day's last read (the summaries keep no other).
                if !facts
                    .status(last_read, &self.rules.people, &self.rules.limits)
                    .training_current
                {
                    let date = mamori_core::jst::date(day_start(day)).map(|d| d.to_string());
                    findings.push(format!("{login} {}", date.unwrap_or_default()));
                }
            }
        }
        Ok(Probe::checked(
            "training",
            "研修未了・期限切れの者による個人データの閲覧なし",
            findings,
        )
        .count("person_days_with_reads", person_days)
        .trimmed())
    }

    /// Every export packaged in the period had its approvals: enough distinct
    /// people, not the requester, a supervisor and the security office.
    fn probe_exports(&self, from: i64, to: i64) -> Result<Probe> {
        let mut findings = Vec::new();
        let mut packaged = 0;
        let all = self.store.exports(&ExportFilter {
            limit: usize::MAX,
            ..ExportFilter::default()
        })?;
        for e in all.iter().filter(|e| (from..to).contains(&e.created_at)) {
            if e.stage.package().is_none() {
                continue;
            }
            packaged += 1;
            let approvals = self.store.export_approvals(&e.id)?;
            let people: HashSet<&str> = approvals
                .iter()
                .map(|a| a.approver.as_str())
                .filter(|a| *a != e.requester)
                .collect();
            let roles: HashSet<&str> = approvals.iter().map(|a| a.role.as_str()).collect();
            let both = roles.contains("supervisor") && roles.contains("security_officer");
            if (people.len() as u64) < u64::from(e.approvals_required) || !both {
                findings.push(format!("{} export {}", e.tenant, e.id));
            }
        }
        Ok(Probe::checked(
            "exports",
            "一括エクスポートは複数名（監督者とセキュリティ部門）の承認後のみ",
            findings,
        )
        .count("packaged", packaged)
        .trimmed())
    }

    /// Every audit log cosigned by a witness since the period began.
    fn probe_witness(&self, from: i64) -> Result<Probe> {
        let store = self.audit.store();
        let logs = store.logs()?;
        let mut findings = Vec::new();
        for log in &logs {
            let at = store
                .latest_cosigned(log)?
                .map(|c| c.ts.div_euclid(1_000_000));
            if at.is_none_or(|t| t < from) {
                findings.push(log.clone());
            }
        }
        Ok(Probe::checked(
            "witness",
            "監査ログが期間中に外部の証人に連署されている",
            findings,
        )
        .count("logs", logs.len() as u64)
        .trimmed())
    }

    /// Every PC agent reported in the period, and its latest report is clean.
    fn probe_agents(&self, from: i64) -> Result<Probe> {
        let machines = self.store.machine_reports()?;
        let mut findings = Vec::new();
        let mut clean = 0;
        for m in &machines {
            let r = &m.latest;
            if r.received_at < from {
                findings.push(format!("{} silent", r.login));
            } else if r.verdict != ScanVerdict::Clean {
                findings.push(format!("{} {:?}", r.login, r.verdict).to_lowercase());
            } else {
                clean += 1;
            }
        }
        let mut p = Probe::checked(
            "agents",
            "PC端末の検査が期間中に実施され、個人データの残置なし",
            findings,
        )
        .count("machines", machines.len() as u64)
        .count("clean", clean)
        .trimmed();
        if machines.is_empty() {
            p.status = Status::NotApplicable;
        }
        Ok(p)
    }

    /// A reconciliation was run in the period, and no discrepancy is left
    /// without a disposition.
    fn probe_reconciliation(&self, from: i64, to: i64) -> Result<Probe> {
        let mut runs = 0;
        self.each_event("reconcile.run", Some((from, to)), |_, _| {
            runs += 1;
            Ok(())
        })?;
        let open = self.store.discrepancies(&DiscrepancyFilter {
            open_only: true,
            run: None,
            limit: usize::MAX,
        })?;
        let mut findings: Vec<String> = open
            .iter()
            .map(|d| format!("{} {} {}", d.day, d.class, d.person))
            .collect();
        if runs == 0 {
            findings.insert(0, "no reconciliation run".into());
        }
        Ok(Probe::checked(
            "reconciliation",
            "月次突合の実施と、全不一致の処分",
            findings,
        )
        .count("runs", runs)
        .count("open_discrepancies", open.len() as u64)
        .trimmed())
    }

    /// Access reviewed within the last quarter: a campaign closed in the 92
    /// days up to `to` or still open before its deadline; none overdue; no
    /// revocation left in force.
    fn probe_reviews(&self, to: i64) -> Result<Probe> {
        let campaigns = self.store.campaigns(false)?;
        let mut findings = Vec::new();
        let recent = campaigns.iter().any(|c| match c.closed_at {
            Some(at) => at > to - 92 * 86_400 && at <= to,
            None => c.deadline > to,
        });
        if !recent {
            findings.push("no access review in the last quarter".to_owned());
        }
        for c in campaigns
            .iter()
            .filter(|c| c.closed_at.is_none() && c.deadline <= to)
        {
            findings.push(format!("campaign {} overdue", c.id));
        }
        let mut failed = 0;
        for c in &campaigns {
            failed += self
                .campaign_items(&c.id, false)?
                .iter()
                .filter(|i| i.applied.as_deref() == Some("failed"))
                .count() as u64;
        }
        if failed > 0 {
            findings.push(format!("{failed} revocations not in force"));
        }
        Ok(Probe::checked(
            "reviews",
            "四半期ごとの権限付与状況の点検と、取消の反映",
            findings,
        )
        .count("campaigns", campaigns.len() as u64)
        .trimmed())
    }

    /// The latest declaration of each declarable item in the period.
    fn declarations(&self, from: i64, to: i64) -> Result<Vec<Probe>> {
        let mut latest: HashMap<String, (String, i64, String)> = HashMap::new();
        self.each_event("inspect.declare", Some((from, to)), |row, e| {
            let d = &e.event.detail;
            let text = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            if let (Some(item), Some(statement)) = (text("item"), text("statement")) {
                let by = e.event.actor.trim_start_matches("user:").to_owned();
                latest.insert(item, (by, row.ts.div_euclid(1_000_000), statement));
            }
            Ok(())
        })?;
        Ok(DECLARED
            .iter()
            .map(|(id, title)| {
                let found = latest.remove(*id);
                Probe {
                    id,
                    title,
                    status: if found.is_some() {
                        Status::Declared
                    } else {
                        Status::Undeclared
                    },
                    counts: BTreeMap::new(),
                    findings: Vec::new(),
                    declared_by: found.as_ref().map(|f| f.0.clone()),
                    declared_at: found.as_ref().map(|f| rfc3339(f.1)),
                    statement: found.map(|f| f.2),
                }
            })
            .collect())
    }
}
