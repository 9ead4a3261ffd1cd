//! A reconciliation run's report: the run as stored under the SHA-256 its
//! `reconcile.run` event recorded, every discrepancy by class, and the
//! dispositions given to them up to the report's checkpoints.

use std::collections::BTreeMap;

use mamori_reconcile::Class;
use mamori_report::{Chart, ChartKind, Ledger, Report, Series, Text, Value};
use serde_json::Value as Json;

use super::{
    AsOf, Detail,
    monthly::{fig, section},
    sha256_hex,
};
use crate::{
    Vault,
    error::{Result, VaultError},
};

/// A disposition as its first event recorded it.
pub(super) struct Given {
    outcome: String,
    by: String,
    at: String,
}

const RUN_QUERY: &str =
    "GET /v1/reconciliation/runs/{run} (the stored report; its SHA-256 is the run id)";

impl Vault {
    /// The run's discrepancies (from the stored report) and, by id, the
    /// first disposition recorded for each within the horizon.
    pub(super) fn run_dispositions(
        &self,
        run: &str,
        as_of: &AsOf,
    ) -> Result<(Vec<Json>, BTreeMap<String, Given>)> {
        let report = self.stored_run(run)?.1;
        self.dispositions(&report, as_of)
    }

    /// A stored report's discrepancies and the first disposition of each.
    fn dispositions(
        &self,
        report: &Json,
        as_of: &AsOf,
    ) -> Result<(Vec<Json>, BTreeMap<String, Given>)> {
        let items: Vec<Json> = report
            .get("discrepancies")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let ids: std::collections::HashSet<&str> =
            items.iter().filter_map(|d| d.get("id")?.as_str()).collect();
        let mut given = BTreeMap::new();
        self.each_event_held("reconcile.dispose", Some(as_of), |row, e| {
            let Some(id) = e.event.case_id.as_deref() else {
                return Ok(());
            };
            if ids.contains(id) && !given.contains_key(id) {
                let d = &e.event.detail;
                given.insert(
                    id.to_owned(),
                    Given {
                        outcome: d
                            .get("outcome")
                            .and_then(Json::as_str)
                            .unwrap_or_default()
                            .into(),
                        by: e.event.actor.trim_start_matches("user:").to_owned(),
                        at: mamori_core::jst::rfc3339(row.ts.div_euclid(1_000_000)),
                    },
                );
            }
            Ok(())
        })?;
        Ok((items, given))
    }

    /// The stored run: whether its bytes still hash to its id, and its report.
    fn stored_run(&self, run: &str) -> Result<(bool, Json)> {
        let row = self
            .store
            .reconciliation(run)?
            .ok_or(VaultError::NotFound {
                what: "reconciliation run",
            })?;
        let intact = sha256_hex(&row.report) == run;
        let report = serde_json::from_slice(&row.report)
            .map_err(|_| VaultError::Internal("a stored reconciliation does not parse".into()))?;
        Ok((intact, report))
    }

    /// The `reconcile.run` event of `run` within the horizon.
    fn run_event(&self, run: &str, as_of: &AsOf) -> Result<Detail> {
        let mut found = None;
        self.each_event_held("reconcile.run", Some(as_of), |_, e| {
            let d = e.event.detail;
            if d.get("report_sha256").and_then(Json::as_str) == Some(run) {
                found = Some(d);
            }
            Ok(())
        })?;
        found.ok_or(VaultError::NotFound {
            what: "reconciliation run",
        })
    }

    pub(super) fn reconciliation_report(&self, run: &str, as_of: &AsOf) -> Result<Report> {
        let event = self.run_event(run, as_of)?;
        let (intact, report) = self.stored_run(run)?;
        let (items, given) = self.dispositions(&report, as_of)?;
        let s = |k: &str| {
            event
                .get(k)
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let q = RUN_QUERY.replace("{run}", run);
        let by_class: BTreeMap<String, u64> = (report.get("by_class").and_then(Json::as_object))
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default();
        let mut figures = vec![
            fig(
                "stored_report",
                "保存された突合結果の完全性（SHA-256）",
                "Stored run intact (SHA-256 equals the run id)",
                Value::Text(
                    if intact {
                        "一致 intact"
                    } else {
                        "不一致 ALTERED"
                    }
                    .into(),
                ),
                q.clone(),
            ),
            fig(
                "reads",
                "突合した閲覧件数",
                "Vault reads checked",
                Value::Count(
                    report
                        .pointer("/counts/reads")
                        .and_then(Json::as_u64)
                        .unwrap_or(0),
                ),
                format!("{q} → counts.reads"),
            ),
            fig(
                "discrepancies",
                "差異の件数",
                "Discrepancies",
                Value::Count(items.len() as u64),
                format!("{q} → discrepancies"),
            ),
        ];
        for class in Class::ALL {
            let (ja, en) = class.title();
            let n = by_class.get(class.as_str()).copied().unwrap_or(0);
            figures.push(fig(
                class.as_str(),
                ja,
                en,
                Value::Count(n),
                format!("{q} → by_class.{}", class.as_str()),
            ));
        }
        let inputs = (event.get("inputs").and_then(Json::as_object))
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        figures.push(fig(
            "inputs",
            "入力ファイルの SHA-256",
            "Input files' SHA-256",
            Value::Text(inputs),
            format!(
                "GET /v1/audit/events?action=reconcile.run → the event with report_sha256={run}"
            ),
        ));
        let mut summary = section("run", "月次突合の結果", "Reconciliation run", figures);
        summary.chart = Some(Chart {
            title: Text::new("差異の区分別件数", "Discrepancies by class"),
            kind: ChartKind::Column,
            categories: Class::ALL.iter().map(|c| c.title().0.to_owned()).collect(),
            series: vec![Series {
                name: Text::new("件数", "Count"),
                values: Class::ALL
                    .iter()
                    .map(|c| by_class.get(c.as_str()).copied().unwrap_or(0) as f64)
                    .collect(),
            }],
        });
        let mut outcomes: BTreeMap<&str, u64> = BTreeMap::new();
        for g in given.values() {
            *outcomes.entry(g.outcome.as_str()).or_default() += 1;
        }
        let dq =
            "GET /v1/audit/events?action=reconcile.dispose — the first per discrepancy of the run"
                .to_owned();
        let mut disposed = vec![fig(
            "disposed",
            "処置済み",
            "With a disposition",
            Value::Share {
                part: given.len() as u64,
                whole: items.len() as u64,
            },
            dq.clone(),
        )];
        for (o, ja, en) in [
            ("explained", "説明あり（正当）", "Explained"),
            ("mistake", "誤り（是正）", "A mistake"),
            (
                "escalated",
                "エスカレーション（アラート）",
                "Escalated to an alert",
            ),
        ] {
            let n = outcomes.get(o).copied().unwrap_or(0);
            disposed.push(fig(
                o,
                ja,
                en,
                Value::Count(n),
                format!("{dq}, outcome={o}"),
            ));
        }
        let mut dispositions = section("dispositions", "差異の処置", "Dispositions", disposed);
        dispositions.ledger = Some(ledger(&items, &given, &q));
        Ok(Report {
            kind: "reconciliation".into(),
            title: Text::new("月次突合報告書", "Monthly reconciliation report"),
            subject: format!(
                "{} – {} ({})",
                s("from"),
                s("to"),
                &run[..run.len().min(16)]
            ),
            as_of: String::new(),
            sections: vec![summary, dispositions],
            checkpoints: Vec::new(),
            verify: Text::new("", ""),
        })
    }
}

fn ledger(items: &[Json], given: &BTreeMap<String, Given>, q: &str) -> Ledger {
    let rows = items
        .iter()
        .map(|d| {
            let s = |k: &str| {
                d.get(k)
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let id = s("id");
            let class = Class::parse(&s("class")).map_or(s("class"), |c| c.title().0.to_owned());
            let count = d
                .get("count")
                .and_then(Json::as_u64)
                .unwrap_or(0)
                .to_string();
            let g = given.get(&id);
            vec![
                id.clone(),
                class,
                s("person"),
                s("day"),
                s("kind"),
                count,
                g.map_or("未処置".into(), |g| g.outcome.clone()),
                g.map_or(String::new(), |g| g.by.clone()),
                g.map_or(String::new(), |g| g.at.clone()),
            ]
        })
        .collect();
    let col = Text::new;
    Ledger {
        title: Text::new(
            "差異の一覧（点検記録）",
            "Discrepancies (inspection record)",
        ),
        columns: vec![
            col("差異ID", "Id"),
            col("区分", "Class"),
            col("対象者", "Person"),
            col("日付", "Day"),
            col("種別", "Kind"),
            col("件数", "Count"),
            col("処置", "Disposition"),
            col("処置者", "By"),
            col("処置日時", "At"),
        ],
        rows,
        query: format!("{q} → discrepancies; dispositions from reconcile.dispose events"),
    }
}
