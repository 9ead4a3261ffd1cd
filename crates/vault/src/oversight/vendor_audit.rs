//! Surprise audits of a vendor (G2; NTT West's fix adds surprise checks by a
//! third party). The security office picks a vendor and a period: the
//! vendor's facts as the vault holds them (contract in force, the five
//! clauses, its people's training, compliance and open alerts), and a
//! reproducible random sample of its people's reads — the seed recorded, so
//! anyone entitled re-draws the same sample from the same log — each sent
//! to the person who made it for an explanation by a deadline.
//!
//! Like directives, an audit is nothing but audit events: `vendor.audit`
//! (the sample as audit positions, the seed, the deadline) and
//! `vendor.explain` (an explanation, sealed under the read's tenant key).

use std::collections::BTreeMap;

use mamori_core::jst::rfc3339;
use mamori_store::{AlertFilter, AlertState};
use rand::{SeedableRng, seq::index};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    period::{is_read, parse},
    reports::AsOf,
};
use crate::{
    Caller, ErrorCode, Vault,
    error::{Result, VaultError},
    kernel::ids::id_bytes,
};

/// The most reads one audit samples.
const MAX_SAMPLE: usize = 500;

/// One sampled read, as recorded in the audit event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sampled {
    pub log: String,
    pub seq: u64,
    pub at: String,
    pub login: String,
    pub tenant: String,
    pub purpose: Option<String>,
    pub case_id: Option<String>,
}

/// A sampled read with its explanation, as the audit's report shows it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SampleItem {
    #[serde(flatten)]
    pub read: Sampled,
    pub explained_at: Option<String>,
    /// The explanation (the security office and auditors only).
    pub explanation: Option<String>,
}

/// The vendor's facts as the vault holds them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VendorFacts {
    pub contract_in_force: bool,
    /// Clauses the contract is recorded to hold, and those missing.
    pub clauses_missing: Vec<String>,
    pub people: u64,
    pub training_lapsed: Vec<String>,
    pub compliance_lapsed: Vec<String>,
    pub open_alerts: u64,
}

/// A surprise audit: the facts, the sample and its explanations.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VendorAudit {
    pub id: String,
    pub vendor: String,
    pub from: String,
    pub to: String,
    pub deadline: String,
    /// The seed the sample was drawn with (from the reads ordered by log and position).
    pub seed: u64,
    /// Reads by the vendor's people in the period.
    pub population: u64,
    pub facts: VendorFacts,
    pub sample: Vec<SampleItem>,
    /// Sampled reads not explained although the deadline passed.
    pub overdue: u64,
}

/// An explanation as its event records it.
pub(crate) struct Explanation {
    pub(crate) at: i64,
    /// Sealed under the read's tenant key, hex.
    note: String,
    tenant: String,
}

/// What the opening event holds.
#[derive(Serialize, Deserialize)]
pub(crate) struct Opened {
    pub(crate) vendor: String,
    pub(crate) from: i64,
    pub(crate) to: i64,
    pub(crate) deadline: i64,
    pub(crate) seed: u64,
    pub(crate) population: u64,
    pub(crate) facts: VendorFacts,
    pub(crate) sample: Vec<Sampled>,
}

impl Vault {
    /// Starts a surprise audit of `vendor` over `[from, to)`: the facts, and
    /// `size` reads drawn with `seed` (random when None) for explanation by
    /// `deadline` (security office).
    pub fn audit_vendor(
        &self,
        caller: &Caller,
        vendor: &str,
        (from, to): (i64, i64),
        size: usize,
        seed: Option<u64>,
        deadline: i64,
    ) -> Result<VendorAudit> {
        let decision = self.gate.decide_manage(&caller.principal);
        let mut event = self.gated(
            self.caller_event(caller, "vendor.audit", "ok"),
            &decision,
            "surprise audits are the security office's",
        )?;
        let to = self.checked_period(from, to)?;
        let now = self.now();
        if deadline <= now || !(1..=MAX_SAMPLE).contains(&size) {
            return Err(VaultError::bad(
                ErrorCode::RequestInvalid,
                format!("the deadline is after now, and a sample is 1-{MAX_SAMPLE} reads"),
            ));
        }
        let row = self
            .store
            .vendor(vendor)?
            .ok_or(VaultError::NotFound { what: "vendor" })?;
        let people: Vec<String> = self
            .store
            .users()?
            .into_iter()
            .filter(|u| u.vendor.as_deref() == Some(vendor))
            .map(|u| u.login)
            .collect();
        let theirs: std::collections::HashSet<&str> = people.iter().map(String::as_str).collect();
        let mut reads = Vec::new();
        self.walk_period(from, to, |r| {
            let Some(login) = r.actor.strip_prefix("user:") else {
                return Ok(());
            };
            if is_read(r) && theirs.contains(login) {
                let e = parse(r)?;
                reads.push(Sampled {
                    log: e.log.clone(),
                    seq: e.seq,
                    at: rfc3339(r.ts.div_euclid(1_000_000)),
                    login: login.to_owned(),
                    tenant: e.event.tenant.clone().unwrap_or_default(),
                    purpose: e.event.purpose.clone(),
                    case_id: e.event.case_id.clone(),
                });
            }
            Ok(())
        })?;
        // The population in a fixed order, so the seed alone re-draws it.
        reads.sort_by(|a, b| (&a.log, a.seq).cmp(&(&b.log, b.seq)));
        let seed = seed.unwrap_or_else(rand::random);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut picked = index::sample(&mut rng, reads.len(), size.min(reads.len())).into_vec();
        picked.sort_unstable();
        let sample: Vec<Sampled> = picked.into_iter().map(|i| reads[i].clone()).collect();
        let facts = self.vendor_facts(&row, &people, to)?;
        let id = mamori_core::ids::VendorAuditId::random().to_string();
        let opened = Opened {
            vendor: vendor.to_owned(),
            from,
            to,
            deadline,
            seed,
            population: reads.len() as u64,
            facts,
            sample,
        };
        event.case_id = Some(id.clone());
        let body = serde_json::to_value(&opened).unwrap_or_default();
        let digest = hex::encode(Sha256::digest(body.to_string()));
        self.audit
            .append(event.detail("audit", body).detail("sha256", digest))?;
        self.vendor_audit_view(id, opened)
    }

    /// The audit as it stands: each sampled read with its explanation (the
    /// security office and auditors).
    pub fn vendor_audit(&self, caller: &Caller, id: &str) -> Result<VendorAudit> {
        let decision = self.gate.decide_report(&caller.principal);
        let mut e = self.caller_event(caller, "vendor.audit_read", "ok");
        e.case_id = Some(id.to_owned());
        let e = self.gated(
            e,
            &decision,
            "surprise audits are read by the security office and auditors",
        )?;
        let opened = self.opened(id)?;
        self.audit.append(e)?;
        self.vendor_audit_view(id.to_owned(), opened)
    }

    /// Every surprise audit, newest first (the security office, auditors).
    pub fn vendor_audits(&self, caller: &Caller) -> Result<Vec<VendorAudit>> {
        let decision = self.gate.decide_report(&caller.principal);
        let e = self.gated(
            self.caller_event(caller, "vendor.audit_list", "ok"),
            &decision,
            "surprise audits are read by the security office and auditors",
        )?;
        let mut out = Vec::new();
        for (id, opened) in self.audits()? {
            out.push(self.vendor_audit_view(id, opened)?);
        }
        out.reverse();
        self.audit.append(e.detail("returned", out.len()))?;
        Ok(out)
    }

    /// The sampled reads the caller made and is asked to explain, of every
    /// audit still before its deadline.
    pub fn my_audit_items(&self, caller: &Caller) -> Result<Vec<(String, Sampled)>> {
        let me = caller.principal.login.as_str();
        let now = self.now();
        let mut out = Vec::new();
        for (id, opened) in self.audits()? {
            if opened.deadline <= now {
                continue;
            }
            let explained = self.explanations(&id, None)?;
            for s in opened.sample.into_iter().filter(|s| s.login == me) {
                if !explained.contains_key(&(s.log.clone(), s.seq)) {
                    out.push((id.clone(), s));
                }
            }
        }
        Ok(out)
    }

    /// The caller explains one of their sampled reads (once, before the
    /// deadline). Unknown, someone else's and already explained look alike
    /// to the caller.
    pub fn explain_read(
        &self,
        caller: &Caller,
        id: &str,
        (log, seq): (&str, u64),
        text: &str,
    ) -> Result<()> {
        let text = self.checked_comment(Some(text), true)?.unwrap_or_default();
        let not_found = VaultError::NotFound { what: "audit item" };
        let bytes =
            id_bytes(id, "audit").map_err(|_| VaultError::NotFound { what: "audit item" })?;
        let opened = self
            .opened(id)
            .map_err(|_| VaultError::NotFound { what: "audit item" })?;
        let Some(item) = opened
            .sample
            .iter()
            .find(|s| s.log == log && s.seq == seq && s.login == caller.principal.login)
        else {
            return Err(not_found);
        };
        if opened.deadline <= self.now()
            || self
                .explanations(id, None)?
                .contains_key(&(log.to_owned(), seq))
        {
            return Err(VaultError::State {
                code: ErrorCode::AlreadyExplained,
                message: "this read is explained already, or the audit's deadline passed".into(),
            });
        }
        let state = self.tenant(&item.tenant)?;
        let sealed = self.seal_comment(&state, &bytes, text)?;
        let mut e = self.caller_event(caller, "vendor.explain", "ok");
        e.case_id = Some(id.to_owned());
        e.tenant = Some(item.tenant.clone());
        self.audit.append(
            e.detail("read", format!("{log}#{seq}"))
                .detail("note", hex::encode(sealed)),
        )?;
        Ok(())
    }

    fn vendor_facts(
        &self,
        row: &mamori_store::VendorRow,
        people: &[String],
        at: i64,
    ) -> Result<VendorFacts> {
        let mut f = VendorFacts {
            contract_in_force: row.contract_start <= at && at < row.contract_end,
            clauses_missing: mamori_core::governance::CLAUSES
                .iter()
                .map(|c| c.0)
                .filter(|c| !row.clauses.iter().any(|h| h == c))
                .map(str::to_owned)
                .collect(),
            people: people.len() as u64,
            ..VendorFacts::default()
        };
        for login in people {
            let Some(user) = self.store.user(login)? else {
                continue;
            };
            let facts = self.people.get(self, user)?;
            let status = facts.status(at, &self.rules.people, &self.rules.limits);
            if !status.training_current {
                f.training_lapsed.push(login.clone());
            }
            if status.compliance_required && !status.compliance_current {
                f.compliance_lapsed.push(login.clone());
            }
        }
        for state in [AlertState::Open, AlertState::Acknowledged] {
            f.open_alerts += self
                .store
                .alerts(&AlertFilter {
                    state: Some(state),
                    logins: Some(people.to_vec()),
                    limit: usize::MAX,
                    ..AlertFilter::default()
                })?
                .len() as u64;
        }
        Ok(f)
    }

    /// Every audit opened, by id.
    fn audits(&self) -> Result<Vec<(String, Opened)>> {
        self.audits_as_of(None)
    }

    /// Every audit opened within a report's horizon (all when None).
    pub(crate) fn audits_as_of(&self, as_of: Option<&AsOf>) -> Result<Vec<(String, Opened)>> {
        let mut out = Vec::new();
        self.each_event_held("vendor.audit", as_of, |_, e| {
            let (Some(id), Some(body)) = (e.event.case_id.clone(), e.event.detail.get("audit"))
            else {
                return Ok(());
            };
            if let Ok(o) = serde_json::from_value::<Opened>(body.clone()) {
                out.push((id, o));
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn opened(&self, id: &str) -> Result<Opened> {
        self.audits()?
            .into_iter()
            .find(|(i, _)| i == id)
            .map(|(_, o)| o)
            .ok_or(VaultError::NotFound { what: "audit" })
    }

    /// The explanations given, by the (log, seq) of the read explained
    /// (within a report's horizon when given).
    pub(crate) fn explanations(
        &self,
        id: &str,
        as_of: Option<&AsOf>,
    ) -> Result<BTreeMap<(String, u64), Explanation>> {
        let mut out = BTreeMap::new();
        self.each_event_held("vendor.explain", as_of, |_, e| {
            if e.event.case_id.as_deref() != Some(id) {
                return Ok(());
            }
            let d = &e.event.detail;
            let read = d.get("read").and_then(|v| v.as_str()).unwrap_or_default();
            let note = d.get("note").and_then(|v| v.as_str()).unwrap_or_default();
            if let Some((log, seq)) = read.rsplit_once('#')
                && let Ok(seq) = seq.parse::<u64>()
            {
                let at = e.timestamp().map_or(0, |t| t.timestamp());
                let tenant = e.event.tenant.clone().unwrap_or_default();
                out.entry((log.to_owned(), seq)).or_insert(Explanation {
                    at,
                    note: note.to_owned(),
                    tenant,
                });
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn vendor_audit_view(&self, id: String, o: Opened) -> Result<VendorAudit> {
        let explained = self.explanations(&id, None)?;
        let bytes = id_bytes(&id, "audit")?;
        let now = self.now();
        let mut overdue = 0;
        let mut sample = Vec::with_capacity(o.sample.len());
        for read in o.sample {
            let found = explained.get(&(read.log.clone(), read.seq));
            if found.is_none() && o.deadline <= now {
                overdue += 1;
            }
            let explanation = match found {
                Some(x) => {
                    let state = self.tenant(&x.tenant)?;
                    let blob = hex::decode(&x.note)
                        .map_err(|_| VaultError::Internal("explanation is not hex".into()))?;
                    Some(self.open_comment(&state, &bytes, &blob)?)
                }
                None => None,
            };
            sample.push(SampleItem {
                explained_at: found.map(|f| rfc3339(f.at)),
                explanation,
                read,
            });
        }
        Ok(VendorAudit {
            id,
            vendor: o.vendor,
            from: rfc3339(o.from),
            to: rfc3339(o.to),
            deadline: rfc3339(o.deadline),
            seed: o.seed,
            population: o.population,
            facts: o.facts,
            sample,
            overdue,
        })
    }
}

/// The vendor questionnaire: each question's id, its text, and the fact of
/// the vault its answer is checked against.
pub const QUESTIONS: [(&str, &str); 6] = [
    (
        "staff_count",
        "委託業務で顧客データにアクセスできる従業員数（人）",
    ),
    (
        "all_trained",
        "その全員が有効な個人情報保護研修を修了しているか（yes/no）",
    ),
    (
        "all_pledged",
        "必要な全員が有効な誓約書を提出しているか（yes/no）",
    ),
    (
        "audit_rights",
        "契約に委託元の監査権の条項があるか（yes/no）",
    ),
    (
        "subcontracting",
        "契約に再委託の制限の条項があるか（yes/no）",
    ),
    (
        "no_open_incidents",
        "従業員に関する未解決のセキュリティ事案がないか（yes/no）",
    ),
];

/// One answered question against what the vault records.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckedAnswer {
    pub question: String,
    pub text: String,
    pub answer: String,
    /// What the vault's records say, in the answer's terms.
    pub fact: String,
    /// The answer agrees with the records.
    pub consistent: bool,
}

/// The vendor's latest questionnaire, each answer checked.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Questionnaire {
    pub vendor: String,
    pub answered_by: String,
    pub answered_at: String,
    pub answers: Vec<CheckedAnswer>,
    pub inconsistent: u64,
}

impl Vault {
    /// The vendor's answers to the questionnaire, given by one of its own
    /// people; every question answered (`staff_count` a number, the rest
    /// yes or no).
    pub fn answer_questionnaire(
        &self,
        caller: &Caller,
        answers: &BTreeMap<String, String>,
    ) -> Result<()> {
        // Only a vendor's own account answers for it (decided before anything else is read).
        let Some(vendor) = caller.facts.user.vendor.clone() else {
            let e = self.caller_event(caller, "vendor.questionnaire", "ok");
            return Err(self.refuse(
                e,
                mamori_audit::Decision::Deny,
                "not_vendor".into(),
                VaultError::Forbidden {
                    reason: "a questionnaire is answered by the vendor's own people".into(),
                },
            ));
        };
        let bad = || {
            VaultError::bad(
                ErrorCode::RequestInvalid,
                "answer every question once: staff_count a number, the others yes or no",
            )
        };
        if answers.len() != QUESTIONS.len() {
            return Err(bad());
        }
        for (q, _) in QUESTIONS {
            let a = answers.get(q).ok_or_else(bad)?;
            let ok = match q {
                "staff_count" => a.parse::<u64>().is_ok(),
                _ => a == "yes" || a == "no",
            };
            if !ok {
                return Err(bad());
            }
        }
        let e = self.caller_event(caller, "vendor.questionnaire", "ok");
        let body = serde_json::to_value(answers).unwrap_or_default();
        self.audit
            .append(e.detail("vendor", vendor).detail("answers", body))?;
        Ok(())
    }

    /// The vendor's latest answers, each checked against the vault's
    /// records now (security office, auditors).
    pub fn questionnaire(&self, caller: &Caller, vendor: &str) -> Result<Questionnaire> {
        let decision = self.gate.decide_report(&caller.principal);
        let e = self.gated(
            self.caller_event(caller, "vendor.questionnaire_read", "ok"),
            &decision,
            "questionnaires are read by the security office and auditors",
        )?;
        let row = self
            .store
            .vendor(vendor)?
            .ok_or(VaultError::NotFound { what: "vendor" })?;
        let mut latest: Option<(String, i64, BTreeMap<String, String>)> = None;
        self.each_event("vendor.questionnaire", None, |r, ev| {
            let d = &ev.event.detail;
            if d.get("vendor").and_then(|v| v.as_str()) == Some(vendor)
                && let Some(a) = d.get("answers")
                && let Ok(a) = serde_json::from_value(a.clone())
            {
                let by = ev.event.actor.trim_start_matches("user:").to_owned();
                latest = Some((by, r.ts.div_euclid(1_000_000), a));
            }
            Ok(())
        })?;
        let Some((by, at, answers)) = latest else {
            return Err(VaultError::NotFound {
                what: "questionnaire",
            });
        };
        let now = self.now();
        let people: Vec<String> = self
            .store
            .users()?
            .into_iter()
            .filter(|u| {
                u.vendor.as_deref() == Some(vendor) && super::review_evidence::active(u, now)
            })
            .map(|u| u.login)
            .collect();
        let facts = self.vendor_facts(&row, &people, now)?;
        let yes = |b: bool| if b { "yes" } else { "no" }.to_owned();
        let has = |c: &str| !facts.clauses_missing.iter().any(|m| m == c);
        let mut checked = Vec::new();
        for (q, text) in QUESTIONS {
            let fact = match q {
                "staff_count" => people.len().to_string(),
                "all_trained" => yes(facts.training_lapsed.is_empty()),
                "all_pledged" => yes(facts.compliance_lapsed.is_empty()),
                "audit_rights" => yes(has("audit_rights")),
                "subcontracting" => yes(has("subcontracting")),
                _ => yes(facts.open_alerts == 0),
            };
            let answer = answers.get(q).cloned().unwrap_or_default();
            checked.push(CheckedAnswer {
                question: q.to_owned(),
                text: text.to_owned(),
                consistent: answer == fact,
                answer,
                fact,
            });
        }
        self.audit.append(e.detail("vendor", vendor))?;
        Ok(Questionnaire {
            vendor: vendor.to_owned(),
            answered_by: by,
            answered_at: rfc3339(at),
            inconsistent: checked.iter().filter(|c| !c.consistent).count() as u64,
            answers: checked,
        })
    }
}
