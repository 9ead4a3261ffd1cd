//! A review campaign's report: what it covered, what was decided (by the
//! reviewers and by the deadline's default) and applied, each reviewer's
//! keep rate and median seconds per decision (rubber-stamping made
//! visible), and who can see which segment at its close, with the trend
//! over every campaign closed before the report's checkpoints.

use std::collections::BTreeMap;

use mamori_report::{Chart, ChartKind, Ledger, Report, Series, Text, Value};
use serde_json::Value as Json;

use super::{
    AsOf, Detail,
    monthly::{fig, section},
};
use crate::{
    Vault,
    error::{Result, VaultError},
    oversight::reviews::reviewer_stats,
};

impl Vault {
    /// The details of `action` events of `campaign` within the horizon, oldest first.
    fn campaign_events(
        &self,
        action: &str,
        campaign: Option<&str>,
        as_of: &AsOf,
    ) -> Result<Vec<(i64, Detail, String)>> {
        let mut out = Vec::new();
        self.each_event_held(action, Some(as_of), |row, e| {
            if campaign.is_none_or(|c| e.event.case_id.as_deref() == Some(c)) {
                let case = e.event.case_id.clone().unwrap_or_default();
                out.push((row.ts.div_euclid(1_000_000), e.event.detail, case));
            }
            Ok(())
        })?;
        Ok(out)
    }

    pub(super) fn review_report(&self, campaign: &str, as_of: &AsOf) -> Result<Report> {
        let opened = self.campaign_events("review.open", Some(campaign), as_of)?;
        let Some((opened_at, open, _)) = opened.into_iter().next() else {
            return Err(VaultError::NotFound { what: "campaign" });
        };
        let decided = self.campaign_events("review.decide", Some(campaign), as_of)?;
        let closes = self.campaign_events("review.close", None, as_of)?;
        let close = closes.iter().find(|(_, _, c)| c == campaign);
        let s = |k: &str| {
            open.get(k)
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let items = open.get("items").and_then(Json::as_u64).unwrap_or(0);
        let eq = |a: &str| format!("GET /v1/audit/events?action={a}&case_id={campaign}");

        // The first decision per item (a second event is an attempt that lost).
        let mut first: BTreeMap<String, (String, bool)> = BTreeMap::new();
        for (_, d, _) in &decided {
            let item = d.get("item").and_then(Json::as_str).unwrap_or_default();
            let outcome = d.get("outcome").and_then(Json::as_str).unwrap_or_default();
            let default = d.get("default").and_then(Json::as_bool).unwrap_or(false);
            first
                .entry(item.to_owned())
                .or_insert((outcome.to_owned(), default));
        }
        let count =
            |f: &dyn Fn(&(String, bool)) -> bool| first.values().filter(|v| f(v)).count() as u64;
        let mut figures = vec![
            fig(
                "items",
                "見直し対象の権限",
                "Entitlements under review",
                Value::Count(items),
                eq("review.open") + " → items",
            ),
            fig(
                "decided",
                "判断済み",
                "Decided",
                Value::Share {
                    part: first.len() as u64,
                    whole: items,
                },
                eq("review.decide") + " — first per item",
            ),
            fig(
                "kept",
                "継続",
                "Kept",
                Value::Count(count(&|v| v.0 == "keep")),
                eq("review.decide") + " outcome=keep",
            ),
            fig(
                "revoked",
                "取消",
                "Revoked",
                Value::Count(count(&|v| v.0 == "revoke")),
                eq("review.decide") + " outcome=revoke",
            ),
            fig(
                "escalated",
                "エスカレーション（最後のセキュリティ責任者など）",
                "Escalated (the last security officer, a revocation not applied)",
                Value::Count(count(&|v| v.0 == "escalated")),
                eq("review.decide") + " outcome=escalated",
            ),
            fig(
                "by_default",
                "期限までに回答なし（既定の処理）",
                "No answer by the deadline (the default applied)",
                Value::Count(count(&|v| v.1)),
                eq("review.decide") + " default=true",
            ),
            fig(
                "closed",
                "完了",
                "Closed",
                Value::Text(close.map_or("未完了 open".into(), |(at, _, _)| {
                    mamori_core::jst::rfc3339(*at)
                })),
                eq("review.close"),
            ),
        ];
        figures.insert(
            0,
            fig(
                "opened",
                "開始・期限",
                "Opened, deadline",
                Value::Text(format!(
                    "{} → {}",
                    mamori_core::jst::rfc3339(opened_at),
                    s("deadline")
                )),
                eq("review.open"),
            ),
        );
        let mut summary = section("campaign", "アクセス権の見直し", "Access review", figures);

        // Reviewers' figures from the items decided within the horizon:
        // a decision is made once, so these do not change later.
        let mut rows = self.campaign_items(campaign, false)?;
        for r in &mut rows {
            if r.decision.as_ref().is_some_and(|d| d.at > as_of.at) {
                r.decision = None;
            }
        }
        let stats = reviewer_stats(&rows);
        summary.chart = Some(Chart {
            title: Text::new("レビュー担当者別の判断", "Decisions per reviewer"),
            kind: ChartKind::Column,
            categories: stats.iter().map(|r| r.reviewer.clone()).collect(),
            series: vec![
                Series {
                    name: Text::new("継続", "Kept"),
                    values: stats.iter().map(|r| r.kept as f64).collect(),
                },
                Series {
                    name: Text::new("取消", "Revoked"),
                    values: stats.iter().map(|r| r.revoked as f64).collect(),
                },
            ],
        });
        summary.ledger = Some(Ledger {
            title: Text::new(
                "レビュー担当者別（形式的承認の確認）",
                "Per reviewer (rubber-stamping made visible)",
            ),
            columns: vec![
                Text::new("担当者", "Reviewer"),
                Text::new("対象", "Items"),
                Text::new("判断", "Decided"),
                Text::new("継続", "Kept"),
                Text::new("取消", "Revoked"),
                Text::new("継続率%", "Keep %"),
                Text::new("中央値(秒)", "Median s"),
            ],
            rows: stats
                .iter()
                .map(|r| {
                    vec![
                        r.reviewer.clone(),
                        r.items.to_string(),
                        r.decided.to_string(),
                        r.kept.to_string(),
                        r.revoked.to_string(),
                        format!("{:.1}", r.keep_rate_percent),
                        r.median_seconds.map_or("-".into(), |s| s.to_string()),
                    ]
                })
                .collect(),
            query: format!(
                "GET /v1/reviews/campaigns/{campaign}/stats — items decided at or before the report's time"
            ),
        });
        let mut sections = vec![summary];
        if let Some((_, d, _)) = close {
            sections.push(entitlements(d, campaign));
        }
        if let Some(trend) = trend(&closes) {
            sections.push(trend);
        }
        Ok(Report {
            kind: "review".into(),
            title: Text::new(
                format!("アクセス権見直し報告（{}）", s("title")),
                format!("Access review report ({})", s("title")),
            ),
            subject: campaign.to_owned(),
            as_of: String::new(),
            sections,
            checkpoints: Vec::new(),
            verify: Text::new("", ""),
        })
    }
}

fn rows(close: &Detail) -> Vec<Json> {
    close
        .get("entitlements")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Who could see which segment once the campaign took effect.
fn entitlements(close: &Detail, campaign: &str) -> mamori_report::Section {
    let table = rows(close);
    let (mut can, mut all) = (0, 0);
    let ledger_rows = table
        .iter()
        .map(|r| {
            let s = |k: &str| {
                r.get(k)
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let n = |k: &str| r.get(k).and_then(Json::as_u64).unwrap_or(0);
            can += n("can_see");
            all += n("people");
            let share = r.get("share_percent").and_then(Json::as_f64).unwrap_or(0.0);
            vec![
                s("tenant"),
                s("segment"),
                s("department"),
                n("can_see").to_string(),
                n("people").to_string(),
                format!("{share:.1}"),
            ]
        })
        .collect();
    let q = format!("GET /v1/audit/events?action=review.close&case_id={campaign} → entitlements");
    let mut sec = section(
        "entitlements",
        "閲覧できる従業者の割合（完了時）",
        "Share of staff who can see each segment (at close)",
        vec![fig(
            "share",
            "全体",
            "Overall",
            Value::Share {
                part: can,
                whole: all,
            },
            q.clone(),
        )],
    );
    sec.ledger = Some(Ledger {
        title: Text::new(
            "部署・区分別の権限保有率",
            "Entitlement share per department and segment",
        ),
        columns: vec![
            Text::new("テナント", "Tenant"),
            Text::new("区分", "Segment"),
            Text::new("部署", "Department"),
            Text::new("閲覧可", "Can see"),
            Text::new("人数", "People"),
            Text::new("割合%", "Share %"),
        ],
        rows: ledger_rows,
        query: q,
    });
    sec
}

/// The overall share per tenant and segment at each campaign's close.
fn trend(closes: &[(i64, Detail, String)]) -> Option<mamori_report::Section> {
    if closes.is_empty() {
        return None;
    }
    let mut keys: Vec<(String, String)> = closes
        .iter()
        .flat_map(|(_, d, _)| rows(d))
        .map(|r| {
            let s = |k: &str| {
                r.get(k)
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            (s("tenant"), s("segment"))
        })
        .collect();
    keys.sort();
    keys.dedup();
    let series = keys
        .iter()
        .map(|(t, g)| {
            let values = closes
                .iter()
                .map(|(_, d, _)| {
                    let (mut can, mut all) = (0u64, 0u64);
                    for r in rows(d) {
                        let s = |k: &str| {
                            r.get(k)
                                .and_then(Json::as_str)
                                .unwrap_or_default()
                                .to_owned()
                        };
                        if (&s("tenant"), &s("segment")) == (t, g) {
                            can += r.get("can_see").and_then(Json::as_u64).unwrap_or(0);
                            all += r.get("people").and_then(Json::as_u64).unwrap_or(0);
                        }
                    }
                    if all == 0 {
                        0.0
                    } else {
                        (can as f64 * 1000.0 / all as f64).round() / 10.0
                    }
                })
                .collect();
            Series {
                name: Text::new(format!("{t}/{g}"), format!("{t}/{g}")),
                values,
            }
        })
        .collect();
    let mut sec = section(
        "trend",
        "権限保有率の推移（四半期ごと）",
        "Entitlement share over the campaigns (quarterly trend)",
        vec![fig(
            "campaigns",
            "完了したキャンペーン",
            "Campaigns closed",
            Value::Count(closes.len() as u64),
            "GET /v1/audit/events?action=review.close (GET /v1/reports/entitlements/trend)".into(),
        )],
    );
    sec.chart = Some(Chart {
        title: Text::new(
            "閲覧できる従業者の割合(%)",
            "Share of staff who can see (%)",
        ),
        kind: ChartKind::Line,
        categories: closes
            .iter()
            .map(|(at, _, _)| mamori_core::jst::rfc3339(*at)[..10].to_owned())
            .collect(),
        series,
    });
    Some(sec)
}
