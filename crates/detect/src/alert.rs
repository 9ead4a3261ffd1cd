//! Alerts as the engine raises them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::activity::EventRef;
use crate::rules::{RuleId, Severity};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable id: the same person, rule, variant and window always give the
    /// same id, so replaying history after a restart cannot raise an alert twice.
    pub id: String,
    pub rule: RuleId,
    /// Which form of the rule fired (`vip`, `rows`, `concurrent`, …); empty for the plain one.
    pub variant: String,
    pub severity: Severity,
    pub user: String,
    pub tenant: Option<String>,
    /// Time of the event that crossed the threshold.
    pub at: DateTime<Utc>,
    /// Start of the deduplication window (Unix seconds).
    pub window: i64,
    /// What was measured, and the threshold it crossed.
    pub value: f64,
    pub threshold: f64,
    /// For `departing`: the volume rule that fired under the lowered thresholds.
    pub indicator: Option<RuleId>,
    /// The triggering event in the audit log.
    pub evidence: EventRef,
    /// The person's risk score after this alert.
    pub risk: f64,
}

pub fn alert_id(user: &str, rule: RuleId, variant: &str, window: i64) -> String {
    let mut h = Sha256::new();
    for part in ["mamori-alert/v1", user, rule.as_str(), variant] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    h.update(window.to_string().as_bytes());
    hex::encode(&h.finalize()[..16])
}

impl Alert {
    /// One line for people, in Japanese and English.
    pub fn summary(&self) -> (String, String) {
        summary(self.rule, &self.variant, self.value, self.threshold)
    }
}

/// [`summary`] of a stored alert, whose rule is a name: an alert stored by a
/// newer version, under a rule this one does not know, is summarised by that name.
pub fn summary_named(rule: &str, variant: &str, value: f64, threshold: f64) -> (String, String) {
    match RuleId::parse(rule) {
        Some(rule) => summary(rule, variant, value, threshold),
        None => (rule.to_owned(), rule.to_owned()),
    }
}

/// One line for people about an alert of `rule` (and `variant`), in Japanese and English.
pub fn summary(rule: RuleId, variant: &str, value: f64, threshold: f64) -> (String, String) {
    let (v, t) = (value.round(), threshold.round());
    let (ja, en): (String, String) = match (rule, variant) {
        (RuleId::HourlyVolume, _) => (
            format!("1時間の閲覧件数 {v} 件（しきい値 {t}）"),
            format!("{v} records viewed in one hour (threshold {t})"),
        ),
        (RuleId::DailyDistinct, _) => (
            format!("本日の閲覧顧客数 {v}（しきい値 {t}）"),
            format!("{v} distinct customers today (threshold {t})"),
        ),
        (RuleId::NoCase, "vip") => (
            "案件番号なし（または別の顧客の案件番号）で重要顧客を閲覧".into(),
            "VIP or sensitive record viewed without a case id (or under another customer's case)"
                .into(),
        ),
        (RuleId::NoCase, _) => (
            format!("案件番号なし・不一致の照会 本日 {v} 件"),
            format!("{v} lookups today without a case id or under another customer's case"),
        ),
        (RuleId::Enumeration, "rows") => (
            format!("1回の検索で {v} 件を取得"),
            format!("one search returned {v} records"),
        ),
        (RuleId::Enumeration, "sequential") => (
            format!("連番のお客さま番号を {v} 回続けて検索"),
            format!("{v} searches by consecutive customer numbers"),
        ),
        (RuleId::Enumeration, _) => (
            format!("案件番号なしの検索 {v} 回（短時間）"),
            format!("{v} searches without a case id in a short time"),
        ),
        (RuleId::Export, "rows") => (
            format!("{v} 行のエクスポート申請（上限 {t}）"),
            format!("export request for {v} rows (limit {t})"),
        ),
        (RuleId::Export, _) => (
            format!("本日 {v} 件目のエクスポート申請"),
            format!("export request number {v} today"),
        ),
        (RuleId::OffHours, _) => (
            "勤務時間外または祝日のアクセス".into(),
            "access outside working hours or on a holiday".into(),
        ),
        (RuleId::Unmask, "no_purpose") => (
            "利用目的なしで機微情報を表示".into(),
            "sensitive fields shown without a purpose".into(),
        ),
        (RuleId::Unmask, _) => (
            format!("機微情報の表示 本日 {v} 件（上限 {t}）"),
            format!("{v} sensitive values shown today (limit {t})"),
        ),
        (RuleId::Departing, "look_back") => (
            format!(
                "退職・契約終了予定者の過去90日: 閲覧顧客数が多い日 {v} 日（しきい値 {t} 人/日）"
            ),
            format!("departing user's last 90 days: {v} days above {t} distinct customers"),
        ),
        (RuleId::Departing, _) => (
            format!("退職・契約終了予定者の大量閲覧 {v}（しきい値 {t}）"),
            format!("departing user's volume {v} (lowered threshold {t})"),
        ),
        (RuleId::Cumulative, _) => (
            format!("30日間の閲覧顧客数 {v}（同僚の上位 {t}）"),
            format!("{v} distinct customers in 30 days (peers' top {t})"),
        ),
        (RuleId::Inactive, "contract_ended") => (
            "契約終了後のアクセス".into(),
            "activity after the contract ended".into(),
        ),
        (RuleId::Inactive, _) => (
            format!("{v} 日ぶりのアクセス"),
            format!("activity after {v} idle days"),
        ),
        (RuleId::NewClient, "concurrent") => (
            "複数の端末から同時にアクセス".into(),
            "concurrent sessions from two addresses".into(),
        ),
        (RuleId::NewClient, _) => (
            "新しい端末・アドレスからのアクセス".into(),
            "access from a new terminal or address".into(),
        ),
        (RuleId::Velocity, _) => (
            format!("毎分 {t} 件超の閲覧が継続"),
            format!("more than {t} records a minute, sustained"),
        ),
        (RuleId::Denials, _) => (
            format!("拒否 {v} 回（短時間）"),
            format!("{v} refusals in a short time"),
        ),
        (RuleId::Household, _) => (
            "本人または家族と思われる顧客の閲覧（姓と住所が一致）".into(),
            "a customer sharing the reader's family name and address (self or relative)".into(),
        ),
        (RuleId::Honey, _) => (
            "おとり顧客レコードへのアクセス".into(),
            "a honey (decoy) record was accessed".into(),
        ),
        (RuleId::MachineSilent, _) => {
            // Days to one decimal: a threshold may be a fraction of a day.
            let (v, t) = (
                (value * 10.0).round() / 10.0,
                (threshold * 10.0).round() / 10.0,
            );
            (
                format!("PCエージェントの報告が {v} 日ありません（しきい値 {t} 日）"),
                format!("no report from this PC agent for {v} days (threshold {t})"),
            )
        }
        (RuleId::PcFindings, "unreported") => (
            format!(
                "PC の報告に、照合で顧客が判明したファイル {v} 件が含まれていません（エージェントの改ざん・不具合の疑い）"
            ),
            format!(
                "the PC's report leaves out {v} files the vault matched to customers (agent tampered with or broken?)"
            ),
        ),
        (RuleId::PcFindings, _) => (
            format!("PC で顧客の個人データを含むファイルを新たに {v} 件検出"),
            format!("{v} new files naming customers found on a PC"),
        ),
        (RuleId::ScanOracle, "budget") => (
            "スキャン照合の1日の上限を超える照会（端末の資格情報の悪用の疑い）".into(),
            "a scanner credential asked past its daily scan budget".into(),
        ),
        (RuleId::ScanOracle, _) => {
            let y = format!("{value:.2}");
            (
                format!(
                    "スキャン照合で顧客に一致した割合が {y}%（しきい値 {t}%）: 値を推測して照会している疑い"
                ),
                format!(
                    "scan matches named customers for {y}% of values (threshold {t}%): values guessed, not found"
                ),
            )
        }
        (RuleId::ReconcileEscalated, _) => (
            "月次突合の不一致が要調査と判断されました".into(),
            "a discrepancy of the monthly reconciliation was escalated for investigation".into(),
        ),
        (RuleId::RiskScore, _) => (
            format!("リスクスコア {v}"),
            format!("risk score reached {v}"),
        ),
    };
    (ja, en)
}
