//! A surprise vendor audit's report: the vendor's facts as the audit
//! recorded them, the sample of its people's reads (drawn with the
//! recorded seed) and which were explained by the deadline — never the
//! explanations' text, which may hold anything.

use mamori_report::{Chart, ChartKind, Ledger, Report, Series, Text, Value};

use super::{
    AsOf,
    monthly::{fig, section},
};
use crate::{
    Vault,
    error::{Result, VaultError},
};

impl Vault {
    pub(super) fn vendor_audit_report(&self, id: &str, as_of: &AsOf) -> Result<Report> {
        let rfc = mamori_core::jst::rfc3339;
        let o = self
            .audits_as_of(Some(as_of))?
            .into_iter()
            .find(|(i, _)| i == id)
            .map(|(_, o)| o)
            .ok_or(VaultError::NotFound { what: "audit" })?;
        let explained = self.explanations(id, Some(as_of))?;
        let q = format!("GET /v1/audit/events?action=vendor.audit&case_id={id} → audit");
        let xq = format!("GET /v1/audit/events?action=vendor.explain&case_id={id}");
        let done = |s: &crate::vendor_audit::Sampled| explained.get(&(s.log.clone(), s.seq));
        let answered = o.sample.iter().filter(|s| done(s).is_some()).count() as u64;
        let overdue = if o.deadline <= as_of.at {
            o.sample.len() as u64 - answered
        } else {
            0
        };
        let f = &o.facts;
        let yes = |b: bool| Value::Text(if b { "はい yes" } else { "いいえ no" }.into());
        let mut audit = section(
            "audit",
            "委託先の抜き打ち監査",
            "Surprise vendor audit",
            vec![
                fig(
                    "vendor",
                    "委託先",
                    "Vendor",
                    Value::Text(o.vendor.clone()),
                    q.clone(),
                ),
                fig(
                    "period",
                    "対象期間",
                    "Period",
                    Value::Text(format!("{} – {}", rfc(o.from), rfc(o.to))),
                    q.clone(),
                ),
                fig(
                    "deadline",
                    "説明の期限",
                    "Deadline for explanations",
                    Value::Text(rfc(o.deadline)),
                    q.clone(),
                ),
                fig(
                    "seed",
                    "抽出の乱数シード",
                    "Sample seed",
                    Value::Text(o.seed.to_string()),
                    q.clone(),
                ),
                fig(
                    "population",
                    "期間中の閲覧（母集団）",
                    "Reads in the period (population)",
                    Value::Count(o.population),
                    q.clone(),
                ),
                fig(
                    "explained",
                    "説明済みの抽出閲覧",
                    "Sampled reads explained",
                    Value::Share {
                        part: answered,
                        whole: o.sample.len() as u64,
                    },
                    xq.clone(),
                ),
                fig(
                    "overdue",
                    "期限超過で未説明",
                    "Unexplained past the deadline",
                    Value::Count(overdue),
                    xq.clone(),
                ),
            ],
        );
        let facts = section(
            "facts",
            "委託先の事実（監査開始時の記録）",
            "The vendor's facts (as recorded when the audit opened)",
            vec![
                fig(
                    "contract_in_force",
                    "契約が有効",
                    "Contract in force",
                    yes(f.contract_in_force),
                    q.clone() + ".facts",
                ),
                fig(
                    "clauses_missing",
                    "契約に欠けている条項",
                    "Contract clauses missing",
                    Value::Text(if f.clauses_missing.is_empty() {
                        "なし none".into()
                    } else {
                        f.clauses_missing.join(", ")
                    }),
                    q.clone() + ".facts",
                ),
                fig(
                    "people",
                    "アクセスできる従業者",
                    "People with access",
                    Value::Count(f.people),
                    q.clone() + ".facts",
                ),
                fig(
                    "training_lapsed",
                    "研修が失効",
                    "Training lapsed",
                    Value::Count(f.training_lapsed.len() as u64),
                    q.clone() + ".facts",
                ),
                fig(
                    "compliance_lapsed",
                    "誓約書が失効",
                    "Pledges lapsed",
                    Value::Count(f.compliance_lapsed.len() as u64),
                    q.clone() + ".facts",
                ),
                fig(
                    "open_alerts",
                    "未解決のアラート",
                    "Open alerts",
                    Value::Count(f.open_alerts),
                    q.clone() + ".facts",
                ),
            ],
        );
        let mut per: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
        for s in &o.sample {
            let e = per.entry(s.login.as_str()).or_default();
            e.0 += 1;
            e.1 += u64::from(done(s).is_some());
        }
        audit.chart = Some(Chart {
            title: Text::new(
                "従業者別の抽出件数と説明",
                "Sampled reads and explanations per person",
            ),
            kind: ChartKind::Column,
            categories: per.keys().map(|k| (*k).to_owned()).collect(),
            series: vec![
                Series {
                    name: Text::new("抽出", "Sampled"),
                    values: per.values().map(|v| v.0 as f64).collect(),
                },
                Series {
                    name: Text::new("説明済み", "Explained"),
                    values: per.values().map(|v| v.1 as f64).collect(),
                },
            ],
        });
        audit.ledger = Some(Ledger {
            title: Text::new(
                "抽出した閲覧（点検記録）",
                "Sampled reads (inspection record)",
            ),
            columns: vec![
                Text::new("監査ログ位置", "Audit position"),
                Text::new("日時", "At"),
                Text::new("従業者", "Person"),
                Text::new("テナント", "Tenant"),
                Text::new("目的", "Purpose"),
                Text::new("案件", "Case"),
                Text::new("説明日時", "Explained at"),
            ],
            rows: o
                .sample
                .iter()
                .map(|s| {
                    vec![
                        format!("{}#{}", s.log, s.seq),
                        s.at.clone(),
                        s.login.clone(),
                        s.tenant.clone(),
                        s.purpose.clone().unwrap_or_default(),
                        s.case_id.clone().unwrap_or_default(),
                        done(s).map_or("未説明".into(), |x| rfc(x.at)),
                    ]
                })
                .collect(),
            query: format!("{q}.sample; {xq}"),
        });
        Ok(Report {
            kind: "vendor_audit".into(),
            title: Text::new(
                format!("委託先監査報告（{}）", o.vendor),
                format!("Vendor audit report ({})", o.vendor),
            ),
            subject: id.to_owned(),
            as_of: String::new(),
            sections: vec![audit, facts],
            checkpoints: Vec::new(),
            verify: Text::new("", ""),
        })
    }
}
