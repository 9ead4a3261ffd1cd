//! The rule set: which rules run, their thresholds and severities, the risk
//! score. Read from a TOML file (`detect.toml` in the data directory) and
//! validated when the process starts — an unknown key, a threshold out of
//! range or a malformed shift stops it, so a typo never silently disables a
//! rule. Every volume rule has an absolute floor, so quiet users never trip
//! a relative threshold on a handful of events.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::Shift;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// What an alert is about. The names are the rule tables of the rules file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleId {
    HourlyVolume,
    DailyDistinct,
    NoCase,
    Enumeration,
    Export,
    OffHours,
    Unmask,
    Departing,
    Cumulative,
    Inactive,
    NewClient,
    Velocity,
    Denials,
    Household,
    Honey,
    ScanOracle,
    PcFindings,
    MachineSilent,
    ReconcileEscalated,
    /// Not a rule of its own: the user's risk score reached a new level.
    RiskScore,
}

impl RuleId {
    pub const ALL: [RuleId; 20] = [
        RuleId::HourlyVolume,
        RuleId::DailyDistinct,
        RuleId::NoCase,
        RuleId::Enumeration,
        RuleId::Export,
        RuleId::OffHours,
        RuleId::Unmask,
        RuleId::Departing,
        RuleId::Cumulative,
        RuleId::Inactive,
        RuleId::NewClient,
        RuleId::Velocity,
        RuleId::Denials,
        RuleId::Household,
        RuleId::Honey,
        RuleId::ScanOracle,
        RuleId::PcFindings,
        RuleId::MachineSilent,
        RuleId::ReconcileEscalated,
        RuleId::RiskScore,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The rule's name for people, in Japanese and English (charts and
    /// lists; an alert's own line is `alert::summary`).
    pub fn title(self) -> (&'static str, &'static str) {
        match self {
            RuleId::HourlyVolume => ("1時間の閲覧件数", "records per hour"),
            RuleId::DailyDistinct => ("1日の閲覧顧客数", "customers per day"),
            RuleId::NoCase => ("案件番号なしの照会", "lookups without a case"),
            RuleId::Enumeration => ("総当たり・連番の検索", "enumeration"),
            RuleId::Export => ("エクスポート申請", "export requests"),
            RuleId::OffHours => ("勤務時間外の閲覧", "off-hours access"),
            RuleId::Unmask => ("マスク解除", "unmasking"),
            RuleId::Departing => ("退職・契約終了予定者", "departing person"),
            RuleId::Cumulative => ("累積の閲覧量", "cumulative volume"),
            RuleId::Inactive => ("休眠・契約終了後の利用", "dormant or ended account"),
            RuleId::NewClient => ("新しい端末・接続元", "new client"),
            RuleId::Velocity => ("高速な連続閲覧", "sustained fast reading"),
            RuleId::Denials => ("拒否の繰り返し", "repeated refusals"),
            RuleId::Household => ("本人・家族の閲覧", "own household viewed"),
            RuleId::Honey => ("おとり顧客の閲覧", "decoy record read"),
            RuleId::ScanOracle => ("照合の悪用の疑い", "scan matching probed"),
            RuleId::PcFindings => ("PC 内の個人データ", "personal data on a PC"),
            RuleId::MachineSilent => ("PC エージェントの無応答", "PC agent silent"),
            RuleId::ReconcileEscalated => ("突合の未解消", "reconciliation escalated"),
            RuleId::RiskScore => ("リスクスコアの上昇", "risk score rose"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::HourlyVolume => "hourly_volume",
            RuleId::DailyDistinct => "daily_distinct",
            RuleId::NoCase => "no_case",
            RuleId::Enumeration => "enumeration",
            RuleId::Export => "export",
            RuleId::OffHours => "off_hours",
            RuleId::Unmask => "unmask",
            RuleId::Departing => "departing",
            RuleId::Cumulative => "cumulative",
            RuleId::Inactive => "inactive",
            RuleId::NewClient => "new_client",
            RuleId::Velocity => "velocity",
            RuleId::Denials => "denials",
            RuleId::Household => "household",
            RuleId::Honey => "honey",
            RuleId::ScanOracle => "scan_oracle",
            RuleId::PcFindings => "pc_findings",
            RuleId::MachineSilent => "machine_silent",
            RuleId::ReconcileEscalated => "reconcile_escalated",
            RuleId::RiskScore => "risk_score",
        }
    }
}

/// The settings every rule has.
#[derive(Clone, Copy, Debug)]
pub struct Common {
    pub enabled: bool,
    pub severity: Severity,
    pub max_per_day: u32,
}

/// Declares a rule's settings: `enabled`, `severity` and `max_per_day`
/// (alerts a day after which the rule is muted and reported as noisy), plus
/// its own parameters, each with its default.
macro_rules! rule {
    ($(#[$m:meta])* $name:ident, $sev:expr, { $($(#[$fm:meta])* $f:ident : $t:ty = $d:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            pub enabled: bool,
            pub severity: Severity,
            pub max_per_day: u32,
            $($(#[$fm])* pub $f: $t,)*
        }
        impl Default for $name {
            fn default() -> Self {
                Self { enabled: true, severity: $sev, max_per_day: 50, $($f: $d,)* }
            }
        }
        impl $name {
            pub fn common(&self) -> Common {
                Common { enabled: self.enabled, severity: self.severity, max_per_day: self.max_per_day }
            }
        }
    };
}

rule!(
    /// 1. Records viewed in an hour above max(own same-hour baseline + k·σ, peer percentile, floor).
    HourlyVolume, Severity::Medium, {
        floor: u32 = 30,
        sigmas: f64 = 3.0,
        peer_percentile: f64 = 99.0,
        /// Active days of history before the user's own baseline counts.
        min_history_days: u32 = 5,
    }
);

rule!(
    /// 2. Distinct customers in a day: robust z-score and a multiple of the peer median.
    DailyDistinct, Severity::Medium, {
        z: f64 = 4.0,
        peer_ratio: f64 = 2.0,
        min_peers: u32 = 5,
        floor: u32 = 40,
        min_history_days: u32 = 5,
    }
);

rule!(
    /// 3. Lookups without a case or call id.
    NoCase, Severity::Low, {
        per_day: u32 = 3,
        /// Segments whose records are VIP: any lookup without a case is raised at `vip_severity`.
        vip_segments: Vec<String> = Vec::new(),
        vip_severity: Severity = Severity::High,
    }
);

rule!(
    /// 4. Enumeration: many searches without a case in a short time,
    /// searches returning many rows, or customer numbers searched one after
    /// the other (with or without a case).
    Enumeration, Severity::High, {
        searches: u32 = 20,
        window_minutes: u32 = 10,
        max_rows: u32 = 50,
        sequential: u32 = 5,
    }
);

rule!(
    /// 5. Export requests above a row count, or more than `per_day` in a day.
    Export, Severity::Medium, {
        max_rows: u64 = 10_000,
        per_day: u32 = 1,
    }
);

rule!(
    /// 6. Activity outside the user's shift, or on a Japanese public holiday.
    OffHours, Severity::Medium, {
        /// The shift of users without one of their own.
        default_shift: String = "mon-sat 08:00-21:00".to_owned(),
        /// Named shifts that users are given in the directory.
        shifts: BTreeMap<String, String> = BTreeMap::new(),
        /// Minutes tolerated before and after a shift.
        grace_minutes: u32 = 30,
        /// Company days off besides the public holidays.
        days_off: Vec<NaiveDate> = Vec::new(),
    }
);

rule!(
    /// 7. Sensitive fields (My Number, bank, 要配慮) shown unmasked too often or without a purpose.
    Unmask, Severity::Medium, {
        per_day: u32 = 20,
    }
);

rule!(
    /// 8. Users whose contract ends soon: volume thresholds scaled by
    /// `factor`, and, once per announced end, their last `look_back_days`
    /// reviewed with the daily-distinct rule at that factor.
    Departing, Severity::High, {
        days_before_end: u32 = 30,
        factor: f64 = 0.5,
        look_back: bool = true,
    }
);

rule!(
    /// 9. Distinct customers over 30 days well above the peer percentile.
    Cumulative, Severity::Medium, {
        peer_percentile: f64 = 99.0,
        /// How far above the percentile: by definition one in a hundred honest
        /// people is above the 99th, so the line is drawn clear of them.
        margin: f64 = 1.25,
        min_peers: u32 = 5,
        floor: u32 = 800,
    }
);

rule!(
    /// 10. Activity after the contract ended, or after more than `idle_days` without any.
    Inactive, Severity::High, {
        idle_days: u32 = 30,
    }
);

rule!(
    /// 11. A new terminal or address for the user, or two addresses at once.
    NewClient, Severity::Low, {
        /// Two addresses within this many seconds are concurrent sessions.
        concurrent_seconds: u32 = 60,
        concurrent_severity: Severity = Severity::Medium,
    }
);

rule!(
    /// 12. More than `per_minute` records a minute, `minutes` minutes running.
    Velocity, Severity::High, {
        per_minute: u32 = 20,
        minutes: u32 = 5,
    }
);

rule!(
    /// 13. Repeated refusals.
    Denials, Severity::Medium, {
        count: u32 = 5,
        window_minutes: u32 = 10,
    }
);

rule!(
    /// 14. A customer who shares the reader's family name and home address
    /// (self or relative lookup; needs the person's household from HR).
    Household, Severity::High, {}
);

rule!(
    /// 15. Any access to a honey (decoy) record.
    Honey, Severity::Critical, {}
);

rule!(
    /// 16. A scanning credential used as an oracle for "is this number a
    /// customer?": many values matched in a window of which almost none name
    /// anyone (values made up rather than found), or its scan budget
    /// exhausted (`budget`).
    ScanOracle, Severity::High, {
        window_minutes: u32 = 60,
        /// Values in the window before the yield is judged.
        min_values: u64 = 10_000,
        /// Customers named per 100 values at or below which the window alerts.
        max_yield_percent: f64 = 1.0,
    }
);

rule!(
    /// 17. A PC agent's report: files naming customers newly found on the
    /// machine, or files the vault matched for it that the report leaves out
    /// (`unreported`: the agent's word contradicts the vault's record).
    PcFindings, Severity::High, {
        /// New files naming customers in one report before it alerts.
        min_files: u64 = 1,
    }
);

rule!(
    /// 18. A PC agent that has stopped reporting: no scan report for `days`
    /// since its last one (an agent uninstalled, a PC kept off the network).
    /// Judged on the clock, not on an event; the alert's evidence is the
    /// machine's last report.
    MachineSilent, Severity::Medium, {
        /// Days without a report before it alerts (fractions allowed).
        days: f64 = 7.0,
    }
);

rule!(
    /// 19. A discrepancy of the monthly reconciliation judged `escalated`
    /// by the security office or the person's supervisor: an alert about
    /// the person it concerns, with the judgement as its evidence.
    ReconcileEscalated, Severity::High, {}
);

/// The per-user risk score: rule points that decay, with levels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Risk {
    pub half_life_hours: f64,
    /// Points an alert of each severity adds.
    pub points: BTreeMap<Severity, f64>,
    /// Score at which the user's level becomes medium, high, critical.
    pub medium: f64,
    pub high: f64,
    pub critical: f64,
}

impl Default for Risk {
    fn default() -> Self {
        Self {
            half_life_hours: 72.0,
            points: BTreeMap::from([
                (Severity::Low, 5.0),
                (Severity::Medium, 25.0),
                (Severity::High, 50.0),
                (Severity::Critical, 75.0),
            ]),
            medium: 25.0,
            high: 50.0,
            critical: 75.0,
        }
    }
}

impl Risk {
    pub fn level(&self, score: f64) -> Option<Severity> {
        if score >= self.critical {
            Some(Severity::Critical)
        } else if score >= self.high {
            Some(Severity::High)
        } else if score >= self.medium {
            Some(Severity::Medium)
        } else {
            None
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    pub risk: Risk,
    pub hourly_volume: HourlyVolume,
    pub daily_distinct: DailyDistinct,
    pub no_case: NoCase,
    pub enumeration: Enumeration,
    pub export: Export,
    pub off_hours: OffHours,
    pub unmask: Unmask,
    pub departing: Departing,
    pub cumulative: Cumulative,
    pub inactive: Inactive,
    pub new_client: NewClient,
    pub velocity: Velocity,
    pub denials: Denials,
    pub household: Household,
    pub honey: Honey,
    pub scan_oracle: ScanOracle,
    pub pc_findings: PcFindings,
    pub machine_silent: MachineSilent,
    pub reconcile_escalated: ReconcileEscalated,
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules file: {0}")]
    Parse(String),
    #[error("rules file: {0}")]
    Invalid(String),
}

impl Rules {
    /// Parses and validates a rules file.
    pub fn from_toml(text: &str) -> Result<Self, RulesError> {
        let rules: Rules = toml::from_str(text).map_err(|e| RulesError::Parse(e.to_string()))?;
        rules.validate()?;
        Ok(rules)
    }

    /// The defaults, as a commented-free TOML a user can start from.
    pub fn default_toml() -> String {
        toml::to_string_pretty(&Rules::default()).expect("the defaults serialise")
    }

    pub fn common(&self, rule: RuleId) -> Common {
        match rule {
            RuleId::HourlyVolume => self.hourly_volume.common(),
            RuleId::DailyDistinct => self.daily_distinct.common(),
            RuleId::NoCase => self.no_case.common(),
            RuleId::Enumeration => self.enumeration.common(),
            RuleId::Export => self.export.common(),
            RuleId::OffHours => self.off_hours.common(),
            RuleId::Unmask => self.unmask.common(),
            RuleId::Departing => self.departing.common(),
            RuleId::Cumulative => self.cumulative.common(),
            RuleId::Inactive => self.inactive.common(),
            RuleId::NewClient => self.new_client.common(),
            RuleId::Velocity => self.velocity.common(),
            RuleId::Denials => self.denials.common(),
            RuleId::Household => self.household.common(),
            RuleId::Honey => self.honey.common(),
            RuleId::ScanOracle => self.scan_oracle.common(),
            RuleId::PcFindings => self.pc_findings.common(),
            RuleId::MachineSilent => self.machine_silent.common(),
            RuleId::ReconcileEscalated => self.reconcile_escalated.common(),
            RuleId::RiskScore => Common {
                enabled: true,
                severity: Severity::Medium,
                max_per_day: u32::MAX,
            },
        }
    }

    pub fn validate(&self) -> Result<(), RulesError> {
        let bad = |what: &str| Err(RulesError::Invalid(what.to_owned()));
        let pct = |p: f64| (0.0..=100.0).contains(&p);
        if !pct(self.hourly_volume.peer_percentile) || !pct(self.cumulative.peer_percentile) {
            return bad("peer_percentile must be between 0 and 100");
        }
        if !(self.hourly_volume.sigmas > 0.0 && self.daily_distinct.z > 0.0) {
            return bad("hourly_volume.sigmas and daily_distinct.z must be positive");
        }
        if self.daily_distinct.peer_ratio.is_nan() || self.daily_distinct.peer_ratio < 1.0 {
            return bad("daily_distinct.peer_ratio must be at least 1");
        }
        if self.cumulative.margin.is_nan() || self.cumulative.margin < 1.0 {
            return bad("cumulative.margin must be at least 1");
        }
        if !(self.departing.factor > 0.0 && self.departing.factor <= 1.0) {
            return bad("departing.factor must be in (0, 1]");
        }
        let e = &self.enumeration;
        if e.searches == 0 || e.window_minutes == 0 || e.sequential < 2 {
            return bad(
                "enumeration.searches and window_minutes must be at least 1, sequential at least 2",
            );
        }
        if self.denials.count == 0 || self.denials.window_minutes == 0 {
            return bad("denials.count and window_minutes must be at least 1");
        }
        if self.velocity.minutes == 0 || self.velocity.minutes > 60 {
            return bad("velocity.minutes must be between 1 and 60");
        }
        let so = &self.scan_oracle;
        if so.window_minutes == 0 || so.min_values == 0 || !pct(so.max_yield_percent) {
            return bad(
                "scan_oracle.window_minutes and min_values must be at least 1, max_yield_percent between 0 and 100",
            );
        }
        let days = self.machine_silent.days;
        if !(days.is_finite() && days > 0.0 && days <= 3650.0) {
            return bad("machine_silent.days must be more than 0 and at most 3650");
        }
        if self.pc_findings.min_files == 0 {
            return bad("pc_findings.min_files must be at least 1");
        }
        if self.inactive.idle_days == 0 {
            return bad("inactive.idle_days must be at least 1");
        }
        let r = &self.risk;
        if !(r.half_life_hours > 0.0
            && r.medium > 0.0
            && r.medium <= r.high
            && r.high <= r.critical)
        {
            return bad("risk: half_life_hours > 0 and 0 < medium <= high <= critical");
        }
        Shift::parse(&self.off_hours.default_shift)
            .map_err(|e| RulesError::Invalid(format!("off_hours.default_shift: {e}")))?;
        for (name, spec) in &self.off_hours.shifts {
            Shift::parse(spec)
                .map_err(|e| RulesError::Invalid(format!("off_hours.shifts.{name}: {e}")))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_validate() {
        let text = Rules::default_toml();
        let back = Rules::from_toml(&text).unwrap();
        assert_eq!(back, Rules::default());
        assert_eq!(Rules::from_toml("").unwrap(), Rules::default());
    }

    #[test]
    fn overrides_keep_the_other_defaults() {
        let r = Rules::from_toml(
            "[hourly_volume]\nfloor = 100\n[honey]\nenabled = false\n[off_hours.shifts]\nnight = \"mon-sun 21:00-09:00\"\n",
        )
        .unwrap();
        assert_eq!(r.hourly_volume.floor, 100);
        assert_eq!(r.hourly_volume.sigmas, 3.0);
        assert!(!r.honey.enabled);
        assert_eq!(r.honey.severity, Severity::Critical);
    }

    #[test]
    fn typos_and_bad_values_are_refused() {
        for (text, needle) in [
            ("[hourly_volume]\nflor = 3\n", "unknown field"),
            ("[hourly_volum]\n", "unknown field"),
            ("[honey]\nseverity = \"urgent\"\n", "unknown variant"),
            ("[cumulative]\npeer_percentile = 120.0\n", "peer_percentile"),
            ("[departing]\nfactor = 0.0\n", "factor"),
            (
                "[off_hours]\ndefault_shift = \"mon-fri 9-5\"\n",
                "default_shift",
            ),
            (
                "[off_hours.shifts]\nlate = \"someday 10:00-11:00\"\n",
                "shifts.late",
            ),
            ("[risk]\nmedium = 80.0\n", "risk"),
        ] {
            let err = Rules::from_toml(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
