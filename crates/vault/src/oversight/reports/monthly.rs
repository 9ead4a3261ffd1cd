//! The monthly 安全管理措置 evidence report, following 個人情報保護法
//! ガイドライン（通則編）10: 組織的 (10-3), 人的 (10-4), 物理的 (10-5) and
//! 技術的 (10-6) safeguards, each figure counted from the month's audit
//! events or taken from the month's self-inspection and reconciliation as
//! their events recorded them. Counts and staff ids only: no customer's
//! value appears.

use std::collections::{BTreeMap, HashSet};

use mamori_core::jst::{self, rfc3339};
use mamori_report::{Chart, ChartKind, Figure, Ledger, Report, Section, Series, Text, Value};
use serde_json::Value as Json;

use super::{AsOf, Detail, events_query};
use crate::{
    ErrorCode, Vault,
    error::{Result, VaultError},
    oversight::{egress::EgressState, period::is_read},
};

/// `[from, to)` of a month `YYYY-MM` (Japan time); a month not yet begun
/// (at `now`) is refused.
pub(super) fn month(m: &str, now: i64) -> Result<(i64, i64)> {
    let bad = || {
        VaultError::bad(
            ErrorCode::ReportInvalid,
            "a monthly report names a month as YYYY-MM that has begun",
        )
    };
    if m.len() != 7 {
        return Err(bad());
    }
    let (from, to) = jst::month_bounds(m).ok_or_else(bad)?;
    if from > now {
        return Err(bad());
    }
    Ok((from, to))
}

/// What one walk over the month's events counts.
#[derive(Default)]
struct Tally {
    allowed: BTreeMap<String, u64>,
    denied: BTreeMap<String, u64>,
    readers: HashSet<String>,
    reads: u64,
    reads_per_day: BTreeMap<i64, u64>,
    events: u64,
}

pub(crate) fn fig(id: &str, ja: &str, en: &str, value: Value, query: String) -> Figure {
    Figure {
        id: id.to_owned(),
        label: Text::new(ja, en),
        value,
        query,
    }
}

pub(crate) fn section(id: &str, ja: &str, en: &str, figures: Vec<Figure>) -> Section {
    Section {
        id: id.to_owned(),
        title: Text::new(ja, en),
        figures,
        chart: None,
        ledger: None,
    }
}

fn text(d: &Detail, k: &str) -> String {
    d.get(k)
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned()
}

impl Vault {
    /// The details of the latest `action` event (`inspect.run`,
    /// `reconcile.run`) of the month starting at `from`, within the horizon
    /// when given.
    pub(super) fn month_run(
        &self,
        action: &str,
        from: i64,
        as_of: Option<&AsOf>,
    ) -> Result<Option<Detail>> {
        let mut found = None;
        let start = rfc3339(from);
        self.each_event_held(action, as_of, |_, e| {
            if text(&e.event.detail, "from") == start {
                found = Some(e.event.detail);
            }
            Ok(())
        })?;
        Ok(found)
    }

    fn tally(&self, from: i64, to: i64, as_of: &AsOf) -> Result<Tally> {
        let mut t = Tally::default();
        self.walk_period(from, to, |row| {
            if !as_of.holds(row) {
                return Ok(());
            }
            t.events += 1;
            let side = if row.decision == "allow" {
                &mut t.allowed
            } else {
                &mut t.denied
            };
            *side.entry(row.action.clone()).or_default() += 1;
            if is_read(row) {
                t.reads += 1;
                t.readers.insert(row.actor.clone());
                let day = jst::day(row.ts.div_euclid(1_000_000));
                *t.reads_per_day.entry(day).or_default() += 1;
            }
            Ok(())
        })?;
        Ok(t)
    }

    pub(super) fn monthly_report(&self, m: &str, as_of: &AsOf) -> Result<Report> {
        let (from, to) = month(m, self.now())?;
        let t = self.tally(from, to, as_of)?;
        let inspection = self.month_run("inspect.run", from, Some(as_of))?;
        let run = self.month_run("reconcile.run", from, Some(as_of))?;
        let q = |action: &str| events_query(action, from, to, "allowed");
        let n = |action: &str| Value::Count(t.allowed.get(action).copied().unwrap_or(0));
        let count =
            |id: &str, ja: &str, en: &str, action: &str| fig(id, ja, en, n(action), q(action));
        let probe = Probes::new(inspection.as_ref(), from);
        let classes = Classes::new(run.as_ref(), from);

        let mut org = section(
            "10-3",
            "組織的安全管理措置",
            "Organisational safeguards",
            vec![
                fig(
                    "reads",
                    "個人データの検索・閲覧（従業者による）",
                    "Searches and reads of personal data by staff",
                    Value::Count(t.reads),
                    q("record.search") + "; the same for action=record.read; actors user:*",
                ),
                fig(
                    "readers",
                    "閲覧した従業者数",
                    "Staff who read",
                    Value::Count(t.readers.len() as u64),
                    q("record.search")
                        + "; the same for action=record.read; distinct actors user:*",
                ),
                fig(
                    "refused",
                    "拒否されたアクセス（全操作）",
                    "Refused requests (every action)",
                    Value::Count(t.denied.values().sum()),
                    events_query("*", from, to, "refused"),
                ),
                fig(
                    "events",
                    "監査ログに記録された事象",
                    "Events recorded in the audit logs",
                    Value::Count(t.events),
                    events_query("*", from, to, "all"),
                ),
                count(
                    "alerts_raised",
                    "検知したアラート",
                    "Alerts raised",
                    "alert.raise",
                ),
                count(
                    "alerts_resolved",
                    "解決したアラート",
                    "Alerts resolved",
                    "alert.resolve",
                ),
                count(
                    "breach_analyses",
                    "漏えい時の影響分析",
                    "Breach impact analyses",
                    "breach.analyze",
                ),
                probe.figure(
                    "inspection",
                    "自己点検（事実に基づく）",
                    "Self-inspection from facts",
                ),
                classes.total(),
                classes.disposed(self, as_of)?,
            ],
        );
        org.chart = Some(reads_chart(from, to, &t));
        org.ledger = Some(probe.ledger());

        let human = section(
            "10-4",
            "人的安全管理措置",
            "Human safeguards",
            vec![
                probe.item(
                    "training",
                    "研修失効中の閲覧がないこと",
                    "No reads on lapsed training",
                ),
                count(
                    "review_decisions",
                    "アクセス権の見直し（判断）",
                    "Access review decisions",
                    "review.decide",
                ),
                count(
                    "reviews_closed",
                    "見直しキャンペーンの完了",
                    "Review campaigns closed",
                    "review.close",
                ),
                count(
                    "vendor_audits",
                    "委託先への抜き打ち監査",
                    "Surprise vendor audits",
                    "vendor.audit",
                ),
                count(
                    "vendor_explanations",
                    "委託先からの説明",
                    "Explanations from vendors",
                    "vendor.explain",
                ),
                count(
                    "vendor_questionnaires",
                    "委託先の自己点検票（回答）",
                    "Vendor questionnaires answered",
                    "vendor.questionnaire",
                ),
            ],
        );

        let mut physical = vec![
            classes.figure(
                "read_outside_area",
                "管理区域外からの閲覧",
                "Reads while not in the secure area",
            ),
            classes.figure(
                "logon_without_entry",
                "入室記録のない PC ログオン",
                "PC logons without a room entry",
            ),
            classes.figure(
                "entry_without_application",
                "事前申請のない入室",
                "Room entries without a pre-application",
            ),
            classes.figure(
                "presence_contradiction",
                "入退室記録の矛盾",
                "Presence contradictions",
            ),
            count(
                "exports",
                "持ち出し（エクスポートの作成）",
                "Exports packaged (data carried out)",
                "export.package",
            ),
            count(
                "export_approvals",
                "持ち出しの承認",
                "Export approvals",
                "export.approve",
            ),
        ];
        for (id, ja, en) in [
            (
                "facility_locks",
                "管理区域の施錠と入退室管理（申告）",
                "Secure area locks (declared)",
            ),
            (
                "device_disposal",
                "機器・媒体の廃棄（申告）",
                "Device and media disposal (declared)",
            ),
            (
                "clean_desk",
                "盗難等の防止（申告）",
                "Theft prevention (declared)",
            ),
        ] {
            physical.push(probe.item(id, ja, en));
        }
        let physical = section(
            "10-5",
            "物理的安全管理措置",
            "Physical safeguards",
            physical,
        );

        let until = to.min(as_of.at);
        let egress = self.egress_entries_as_of(Some(as_of), until)?;
        let in_force = egress
            .values()
            .filter(|e| e.state == EgressState::Approved)
            .count();
        let mut tech = section(
            "10-6",
            "技術的安全管理措置",
            "Technical safeguards",
            vec![
                count(
                    "grants_requested",
                    "一時アクセスの申請",
                    "Access requests",
                    "access.request",
                ),
                count(
                    "grants_approved",
                    "一時アクセスの承認",
                    "Access approvals",
                    "access.approve",
                ),
                count(
                    "grants_revoked",
                    "一時アクセスの取消",
                    "Access revocations",
                    "access.revoke",
                ),
                count(
                    "full_access_approved",
                    "常時全件アクセスの承認",
                    "Standing full access approved",
                    "fullaccess.approve",
                ),
                probe.item(
                    "full_access",
                    "常時全件アクセスが承認済みかつ上限内",
                    "Standing full access approved and within cap",
                ),
                count(
                    "suspensions",
                    "利用停止",
                    "Accounts suspended",
                    "user.suspend",
                ),
                fig(
                    "auth_refused",
                    "認証の拒否",
                    "Refused authentications",
                    Value::Count(t.denied.get("auth.token").copied().unwrap_or(0)),
                    events_query("auth.token", from, to, "refused"),
                ),
                fig(
                    "egress_in_force",
                    "外部接続先（管理簿）の有効件数（月末）",
                    "Egress destinations in force (month end)",
                    Value::Count(in_force as u64),
                    format!(
                        "GET /v1/egress — the register folded from egress.request/approve/revoke, in force at {}",
                        rfc3339(until)
                    ),
                ),
                count(
                    "egress_approved",
                    "外部接続先の承認",
                    "Egress approvals",
                    "egress.approve",
                ),
                count(
                    "scans",
                    "PC の残存データ検査",
                    "PC scans reported",
                    "scan.report",
                ),
                probe.item(
                    "agents",
                    "PC エージェントの検査結果",
                    "PC agents report clean",
                ),
                probe.item(
                    "witness",
                    "監査ログの第三者証明（ウィットネス）",
                    "Audit log cosigned by a witness",
                ),
            ],
        );
        tech.chart = classes.chart();

        Ok(Report {
            kind: "monthly".into(),
            title: Text::new(
                format!("安全管理措置の実施状況報告（{m}）"),
                format!("Safeguards evidence report ({m})"),
            ),
            subject: m.to_owned(),
            as_of: String::new(),
            sections: vec![org, human, physical, tech],
            checkpoints: Vec::new(),
            verify: Text::new("", ""),
        })
    }
}

fn reads_chart(from: i64, to: i64, t: &Tally) -> Chart {
    let days: Vec<i64> = (jst::day(from)..jst::day(to - 1) + 1).collect();
    let label = |d: i64| {
        jst::date(jst::day_start(d)).map_or(String::new(), |date| date.format("%m/%d").to_string())
    };
    Chart {
        title: Text::new("日別の閲覧件数", "Reads per day"),
        kind: ChartKind::Column,
        categories: days.iter().map(|d| label(*d)).collect(),
        series: vec![Series {
            name: Text::new("閲覧", "Reads"),
            values: days
                .iter()
                .map(|d| t.reads_per_day.get(d).copied().unwrap_or(0) as f64)
                .collect(),
        }],
    }
}

/// The month's self-inspection as its event recorded it.
struct Probes<'a> {
    detail: Option<&'a Detail>,
    query: String,
}

impl<'a> Probes<'a> {
    fn new(detail: Option<&'a Detail>, from: i64) -> Self {
        Probes {
            detail,
            query: format!(
                "GET /v1/audit/events?action=inspect.run — the latest with from={} (mamori inspect run --month)",
                rfc3339(from)
            ),
        }
    }

    fn probes(&self) -> Vec<&'a Json> {
        self.detail
            .and_then(|d| d.get("probes"))
            .and_then(Json::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    }

    fn figure(&self, id: &str, ja: &str, en: &str) -> Figure {
        let v = match self.detail {
            Some(d) => {
                let failed = (self.probes().iter())
                    .filter(|p| p.get("status").and_then(Json::as_str) == Some("failed"))
                    .count();
                format!(
                    "実施 run ({} → {}); 不適合 failed: {failed}",
                    text(d, "from"),
                    text(d, "to")
                )
            }
            None => "未実施 not run".into(),
        };
        fig(id, ja, en, Value::Text(v), self.query.clone())
    }

    /// One checklist item's status, with its counts.
    fn item(&self, id: &str, ja: &str, en: &str) -> Figure {
        let found = self
            .probes()
            .into_iter()
            .find(|p| p.get("id").and_then(Json::as_str) == Some(id));
        let v = match found {
            Some(p) => {
                let status = p.get("status").and_then(Json::as_str).unwrap_or("unknown");
                let counts = counts(p);
                if counts.is_empty() {
                    status.to_owned()
                } else {
                    format!("{status} ({counts})")
                }
            }
            None => "未実施 not run".into(),
        };
        fig(
            id,
            ja,
            en,
            Value::Text(v),
            format!("{} → probes[id={id}]", self.query),
        )
    }

    /// The checklist as a ledger (点検記録).
    fn ledger(&self) -> Ledger {
        let rows = self
            .probes()
            .into_iter()
            .map(|p| {
                let s = |k: &str| {
                    p.get(k)
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                vec![
                    s("id"),
                    s("title"),
                    s("status"),
                    counts(p),
                    s("declared_by"),
                ]
            })
            .collect();
        Ledger {
            title: Text::new(
                "点検記録（自己点検）",
                "Inspection record (self-inspection)",
            ),
            columns: vec![
                Text::new("項目", "Item"),
                Text::new("内容", "What is checked"),
                Text::new("結果", "Status"),
                Text::new("件数", "Counts"),
                Text::new("申告者", "Declared by"),
            ],
            rows,
            query: self.query.clone(),
        }
    }
}

fn counts(p: &Json) -> String {
    p.get("counts")
        .and_then(Json::as_object)
        .map(|c| {
            c.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The month's reconciliation as its event recorded it.
struct Classes<'a> {
    detail: Option<&'a Detail>,
    query: String,
}

impl<'a> Classes<'a> {
    fn new(detail: Option<&'a Detail>, from: i64) -> Self {
        Classes {
            detail,
            query: format!(
                "GET /v1/audit/events?action=reconcile.run — the latest with from={} (GET /v1/reconciliation/runs)",
                rfc3339(from)
            ),
        }
    }

    fn by_class(&self) -> BTreeMap<String, u64> {
        (self
            .detail
            .and_then(|d| d.get("by_class"))
            .and_then(Json::as_object))
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
    }

    fn figure(&self, class: &str, ja: &str, en: &str) -> Figure {
        let v = match self.detail {
            Some(_) => Value::Count(self.by_class().get(class).copied().unwrap_or(0)),
            None => Value::Text("未実施 not run".into()),
        };
        fig(
            class,
            ja,
            en,
            v,
            format!("{} → by_class.{class}", self.query),
        )
    }

    fn total(&self) -> Figure {
        let v = match self.detail {
            Some(d) => Value::Count(d.get("discrepancies").and_then(Json::as_u64).unwrap_or(0)),
            None => Value::Text("未実施 not run".into()),
        };
        let (ja, en) = (
            "月次突合で見つかった差異",
            "Discrepancies found by the monthly reconciliation",
        );
        fig(
            "discrepancies",
            ja,
            en,
            v,
            format!("{} → discrepancies", self.query),
        )
    }

    fn disposed(&self, vault: &Vault, as_of: &AsOf) -> Result<Figure> {
        let (ja, en) = ("差異の処置済み", "Discrepancies with a disposition");
        let run = self.detail.map(|d| text(d, "report_sha256"));
        let v = match run {
            Some(run) => {
                let (ids, given) = vault.run_dispositions(&run, as_of)?;
                Value::Share {
                    part: given.len() as u64,
                    whole: ids.len() as u64,
                }
            }
            None => Value::Text("未実施 not run".into()),
        };
        let query = format!(
            "{} → its discrepancies; GET /v1/audit/events?action=reconcile.dispose (first per discrepancy)",
            self.query
        );
        Ok(fig("disposed", ja, en, v, query))
    }

    fn chart(&self) -> Option<Chart> {
        self.detail?;
        let by = self.by_class();
        Some(Chart {
            title: Text::new("差異の区分別件数", "Discrepancies by class"),
            kind: ChartKind::Column,
            categories: (by.keys())
                .map(|k| {
                    mamori_reconcile::Class::parse(k).map_or(k.clone(), |c| c.title().0.into())
                })
                .collect(),
            series: vec![Series {
                name: Text::new("件数", "Count"),
                values: by.values().map(|n| *n as f64).collect(),
            }],
        })
    }
}
