//! The engine: feeds each activity through the rules, turns findings into
//! alerts (deduplicated per person, rule and window; rate-limited per rule;
//! scored), and rolls days over — driven only by the events' own times, so
//! a replay of history and a simulated clock behave exactly like live
//! traffic.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use crate::activity::{Activity, EventRef, Kind};
use crate::alert::{Alert, alert_id};
use crate::calendar::{Shift, WorkingTime, jst_date, jst_day, jst_hour};
use crate::checks::{self, Ctx, Finding};
use crate::facts::{Facts, PeerStats};
use crate::rules::{RuleId, Rules, RulesError, Severity};
use crate::stats::{median, percentile};
use crate::user::UserState;
use mamori_audit::Decision;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleDay {
    pub raised: u32,
    /// Alerts not raised because the rule reached `max_per_day`.
    pub suppressed: u32,
}

/// One day's alert counts per rule, and the rules that flooded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailySummary {
    pub date: NaiveDate,
    pub rules: BTreeMap<RuleId, RuleDay>,
    /// Rules that hit their daily cap: too noisy to be useful as configured.
    pub noisy: Vec<RuleId>,
}

/// Everything that survives a restart.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    day: i32,
    users: HashMap<String, UserState>,
    peers: HashMap<String, PeerStats>,
    rule_day: BTreeMap<RuleId, RuleDay>,
    summaries: Vec<DailySummary>,
    /// Each PC agent's last scan report (rule 18). Absent from state saved
    /// before the rule existed: agents are learnt again from their next report.
    #[serde(default)]
    machines: BTreeMap<String, LastReport>,
}

/// When a machine last reported, and the event that says so.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct LastReport {
    at: i64,
    event: EventRef,
    tenant: Option<String>,
}

pub struct Engine {
    rules: Rules,
    shifts: HashMap<String, Shift>,
    default_shift: Shift,
    days_off: HashSet<NaiveDate>,
    directory: HashMap<String, Facts>,
    no_facts: Facts,
    honey: HashSet<u64>,
    state: State,
}

impl Engine {
    pub fn new(rules: Rules) -> Result<Self, RulesError> {
        rules.validate()?;
        let parse = |spec: &str| Shift::parse(spec).map_err(RulesError::Invalid);
        let default_shift = parse(&rules.off_hours.default_shift)?;
        let shifts = rules
            .off_hours
            .shifts
            .iter()
            .map(|(k, v)| Ok((k.clone(), parse(v)?)))
            .collect::<Result<_, RulesError>>()?;
        let days_off = crate::calendar::days_off(&rules.off_hours.days_off);
        Ok(Self {
            rules,
            shifts,
            default_shift,
            days_off,
            directory: HashMap::new(),
            no_facts: Facts::default(),
            honey: HashSet::new(),
            state: State::default(),
        })
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Replaces the directory (people's groups, contracts and shifts).
    pub fn set_directory(&mut self, directory: HashMap<String, Facts>) {
        self.directory = directory;
    }

    /// Replaces the set of honey record keys.
    pub fn set_honey(&mut self, keys: HashSet<u64>) {
        self.honey = keys;
    }

    /// The state to persist (with the position in the log it reflects).
    pub fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(&self.state).expect("state serialises")
    }

    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), serde_json::Error> {
        self.state = serde_json::from_slice(bytes)?;
        Ok(())
    }

    /// People tracked.
    pub fn users(&self) -> usize {
        self.state.users.len()
    }

    /// The person's current risk score (decayed to their last activity).
    pub fn risk(&self, user: &str) -> f64 {
        self.state.users.get(user).map_or(0.0, |u| u.risk)
    }

    pub fn peers(&self, group: &str) -> Option<&PeerStats> {
        self.state.peers.get(group)
    }

    /// Daily summaries produced since the last call.
    pub fn take_summaries(&mut self) -> Vec<DailySummary> {
        std::mem::take(&mut self.state.summaries)
    }

    /// Feeds one activity through the rules; returns the alerts it raises.
    pub fn observe(&mut self, a: &Activity) -> Vec<Alert> {
        let day = jst_day(a.at);
        if day > self.state.day {
            self.roll_to(day);
        }
        if a.kind == Kind::Escalated {
            return self.escalated(a);
        }
        let facts = self.directory.get(&a.user).unwrap_or(&self.no_facts);
        let group = facts
            .peer_group
            .as_deref()
            .or(a.role.as_deref())
            .unwrap_or("-");
        if !self.state.users.contains_key(&a.user) {
            self.state
                .users
                .insert(a.user.clone(), UserState::default());
        }
        let Some(u) = self.state.users.get_mut(&a.user) else {
            return Vec::new();
        };
        u.advance(day);
        if u.group != group {
            u.group = group.to_owned();
        }
        let date = jst_date(day);
        let hour = jst_hour(a.at);
        u.record_shown(hour, a.shown());
        let shift = facts
            .shift
            .as_ref()
            .and_then(|s| self.shifts.get(s))
            .unwrap_or(&self.default_shift);
        let cx = Ctx {
            rules: &self.rules,
            a,
            at: a.at.timestamp(),
            date,
            hour,
            facts,
            peers: self.state.peers.get(group),
            honey: &self.honey,
            working: WorkingTime {
                shift,
                dated: Some(&facts.calendar),
                days_off: &self.days_off,
                grace: self.rules.off_hours.grace_minutes,
            },
            factor: departing_factor(&self.rules, facts, date),
        };
        if matches!(a.kind, Kind::ScanReport { .. }) && a.decision == Decision::Allow {
            let last = LastReport {
                at: cx.at,
                event: a.event.clone(),
                tenant: a.tenant.clone(),
            };
            self.state.machines.insert(a.user.clone(), last);
        }
        let mut findings = Vec::new();
        checks::run(&cx, u, &mut findings);
        u.last_at = u.last_at.max(cx.at);
        if findings.is_empty() {
            return Vec::new();
        }
        let mut raiser = Raiser {
            rules: &self.rules,
            rule_day: &mut self.state.rule_day,
        };
        raiser.raise(a, u, findings)
    }

    /// The checks the clock decides rather than an event (rule 18: a PC
    /// agent silent for `days` since its last report). Called by the live
    /// detector every round with the time now; one alert per silence — the
    /// window is the last report, so a machine that reports again and goes
    /// quiet again is news again.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Alert> {
        let rule = &self.rules.machine_silent;
        if !rule.enabled {
            return Vec::new();
        }
        let limit = (rule.days * 86_400.0) as i64;
        let silent: Vec<(String, LastReport)> = self
            .state
            .machines
            .iter()
            .filter(|(_, m)| now.timestamp() - m.at >= limit)
            .map(|(k, m)| (k.clone(), m.clone()))
            .collect();
        let mut out = Vec::new();
        for (machine, last) in silent {
            let a = Activity::clock(machine.clone(), last.tenant, last.event, now);
            let u = self.state.users.entry(machine).or_default();
            let f = Finding {
                rule: RuleId::MachineSilent,
                variant: "",
                severity: rule.severity,
                window: last.at,
                value: (now.timestamp() - last.at) as f64 / 86_400.0,
                threshold: rule.days,
                indicator: None,
            };
            let mut raiser = Raiser {
                rules: &self.rules,
                rule_day: &mut self.state.rule_day,
            };
            out.extend(raiser.one(&a, u, f).map(|(alert, _)| alert));
        }
        out
    }

    /// Rule 19: someone judged a reconciliation discrepancy about `a.user`
    /// worth investigating. Raised as it stands: the judgement is not the
    /// person's own activity, so none of their counters move.
    fn escalated(&mut self, a: &Activity) -> Vec<Alert> {
        let rule = &self.rules.reconcile_escalated;
        if !rule.enabled {
            return Vec::new();
        }
        let f = Finding {
            rule: RuleId::ReconcileEscalated,
            variant: "",
            severity: rule.severity,
            window: a.at.timestamp(),
            value: 1.0,
            threshold: 0.0,
            indicator: None,
        };
        let u = self.state.users.entry(a.user.clone()).or_default();
        let mut raiser = Raiser {
            rules: &self.rules,
            rule_day: &mut self.state.rule_day,
        };
        raiser
            .one(a, u, f)
            .map(|(alert, _)| alert)
            .into_iter()
            .collect()
    }

    /// A new day: yesterday's summary, everyone's history moved on, peer norms recomputed.
    fn roll_to(&mut self, day: i32) {
        if self.state.day > 0 {
            let rules = std::mem::take(&mut self.state.rule_day);
            let noisy = rules
                .iter()
                .filter(|(_, d)| d.suppressed > 0)
                .map(|(r, _)| *r)
                .collect();
            self.state.summaries.push(DailySummary {
                date: jst_date(self.state.day),
                rules,
                noisy,
            });
        }
        for u in self.state.users.values_mut() {
            u.advance(day);
        }
        self.state.peers = peer_stats(&self.state.users, &self.rules);
        self.state.day = day;
    }
}

fn departing_factor(rules: &Rules, facts: &Facts, date: NaiveDate) -> f64 {
    let r = &rules.departing;
    let soon = facts.contract_end.is_some_and(|end| {
        let left = (end - date).num_days();
        (0..=i64::from(r.days_before_end)).contains(&left)
    });
    if r.enabled && soon { r.factor } else { 1.0 }
}

fn peer_stats(users: &HashMap<String, UserState>, rules: &Rules) -> HashMap<String, PeerStats> {
    #[derive(Default)]
    struct Acc {
        members: u32,
        hours: Vec<f64>,
        distinct: Vec<f64>,
        cumulative: Vec<f64>,
    }
    let mut groups: HashMap<&str, Acc> = HashMap::new();
    for u in users.values().filter(|u| !u.history.is_empty()) {
        let acc = groups.entry(u.group.as_str()).or_default();
        acc.members += 1;
        for d in &u.history {
            acc.hours
                .extend(d.hours.iter().filter(|&&h| h > 0).map(|&h| f64::from(h)));
            acc.distinct.push(f64::from(d.distinct));
        }
        acc.cumulative.push(f64::from(u.history_distinct()));
    }
    groups
        .into_iter()
        .map(|(g, mut acc)| {
            let stats = PeerStats {
                members: acc.members,
                hour_p: percentile(&mut acc.hours, rules.hourly_volume.peer_percentile),
                distinct_median: median(&mut acc.distinct),
                distinct_p: percentile(&mut acc.distinct, rules.cumulative.peer_percentile),
                cumulative: {
                    acc.cumulative.sort_by(f64::total_cmp);
                    acc.cumulative
                },
            };
            (g.to_owned(), stats)
        })
        .collect()
}

/// Turns findings into alerts: once per person, rule and window; at most
/// `max_per_day` a rule; each adding to the person's risk score.
struct Raiser<'a> {
    rules: &'a Rules,
    rule_day: &'a mut BTreeMap<RuleId, RuleDay>,
}

impl Raiser<'_> {
    fn raise(&mut self, a: &Activity, u: &mut UserState, findings: Vec<Finding>) -> Vec<Alert> {
        let mut out = Vec::new();
        for f in findings {
            let Some((alert, new_level)) = self.one(a, u, f) else {
                continue;
            };
            let severity = alert.severity;
            out.push(alert);
            // Only an escalation beyond what the alert itself says is news.
            if let Some(level) = new_level.filter(|l| *l > severity) {
                let f = Finding {
                    rule: RuleId::RiskScore,
                    variant: level.as_str(),
                    severity: level,
                    window: crate::calendar::day_start(a.at.timestamp()),
                    value: 0.0,
                    threshold: 0.0,
                    indicator: None,
                };
                out.extend(self.one(a, u, f).map(|(alert, _)| alert));
            }
        }
        out
    }

    /// The alert, and the risk level the person newly reached with it.
    fn one(
        &mut self,
        a: &Activity,
        u: &mut UserState,
        mut f: Finding,
    ) -> Option<(Alert, Option<Severity>)> {
        let key = format!("{}/{}", f.rule.as_str(), f.variant);
        if u.fired.get(&key) == Some(&f.window) {
            return None;
        }
        u.fired.insert(key, f.window);
        let count = self.rule_day.entry(f.rule).or_default();
        if count.raised >= self.rules.common(f.rule).max_per_day {
            count.suppressed += 1;
            return None;
        }
        count.raised += 1;
        let at = a.at.timestamp();
        let r = &self.rules.risk;
        let elapsed_h = (at - u.risk_at).max(0) as f64 / 3600.0;
        u.risk *= 0.5f64.powf(elapsed_h / r.half_life_hours);
        u.risk_at = at;
        let before = r.level(u.risk);
        if f.rule == RuleId::RiskScore {
            f.value = u.risk.round();
            f.threshold = level_threshold(r, f.severity);
        } else {
            u.risk += r.points.get(&f.severity).copied().unwrap_or(0.0);
        }
        let after = r.level(u.risk);
        let alert = Alert {
            id: alert_id(&a.user, f.rule, f.variant, f.window),
            rule: f.rule,
            variant: f.variant.to_owned(),
            severity: f.severity,
            user: a.user.clone(),
            tenant: a.tenant.clone(),
            at: a.at,
            window: f.window,
            value: f.value,
            threshold: f.threshold,
            indicator: f.indicator,
            evidence: a.event.clone(),
            risk: u.risk,
        };
        Some((alert, (after > before).then_some(after).flatten()))
    }
}

fn level_threshold(r: &crate::rules::Risk, s: Severity) -> f64 {
    match s {
        Severity::Critical => r.critical,
        Severity::High => r.high,
        _ => r.medium,
    }
}
