//! The rules themselves: each looks at one activity and the person's state
//! and reports what crossed a threshold. Deduplication, rate limits and the
//! risk score are the engine's business, not theirs.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};
use mamori_audit::Decision;

use crate::activity::{Activity, Kind};
use crate::calendar::{self, WorkingTime};
use crate::facts::{Facts, PeerStats};
use crate::rules::{RuleId, Rules, Severity};
use crate::stats::robust;
use crate::user::{UserState, slide};

/// A threshold crossed: what the engine turns into an alert.
#[derive(Clone, Debug)]
pub struct Finding {
    pub rule: RuleId,
    pub variant: &'static str,
    pub severity: Severity,
    /// Start of the deduplication window (Unix seconds).
    pub window: i64,
    pub value: f64,
    pub threshold: f64,
    pub indicator: Option<RuleId>,
}

/// Everything a check may read about the moment.
pub struct Ctx<'a> {
    pub rules: &'a Rules,
    pub a: &'a Activity,
    pub at: i64,
    pub date: NaiveDate,
    pub hour: usize,
    pub facts: &'a Facts,
    pub peers: Option<&'a PeerStats>,
    /// Keys of the decoy records planted in every tenant.
    pub honey: &'a HashSet<u64>,
    pub working: WorkingTime<'a>,
    /// Volume thresholds are multiplied by this (below 1 for departing users).
    pub factor: f64,
}

impl Ctx<'_> {
    pub fn hour_window(&self) -> i64 {
        calendar::hour_start(self.at)
    }

    pub fn day_window(&self) -> i64 {
        calendar::day_start(self.at)
    }

    fn on(&self, rule: RuleId) -> bool {
        self.rules.common(rule).enabled
    }

    fn finding(&self, rule: RuleId, variant: &'static str, window: i64) -> Finding {
        Finding {
            rule,
            variant,
            severity: self.rules.common(rule).severity,
            window,
            value: 0.0,
            threshold: 0.0,
            indicator: None,
        }
    }

    /// A volume rule's finding; for a departing user it is raised as `departing`.
    fn volume(&self, rule: RuleId, value: f64, threshold: f64) -> Finding {
        let mut f = self.finding(rule, "", self.day_window());
        if rule == RuleId::HourlyVolume {
            f.window = self.hour_window();
        }
        if self.factor < 1.0 {
            let d = self.rules.departing.severity;
            f.indicator = Some(rule);
            f.rule = RuleId::Departing;
            f.variant = rule.as_str();
            f.severity = f.severity.max(d);
        }
        f.value = value;
        f.threshold = threshold;
        f
    }
}

fn with(mut f: Finding, value: f64, threshold: f64) -> Finding {
    f.value = value;
    f.threshold = threshold;
    f
}

/// Runs every enabled rule; the state has already counted this activity's records.
pub fn run(cx: &Ctx, u: &mut UserState, out: &mut Vec<Finding>) {
    look_back(cx, u, out);
    inactive(cx, u, out);
    off_hours(cx, out);
    new_client(cx, u, out);
    honey(cx, out);
    household(cx, out);
    denials(cx, u, out);
    match cx.a.kind {
        Kind::Lookup { search } => {
            if search {
                enumeration(cx, u, out);
            }
            if !cx.a.shown().is_empty() {
                hourly_volume(cx, u, out);
                daily_distinct(cx, u, out);
                cumulative(cx, u, out);
                no_case(cx, u, out);
                velocity(cx, u, out);
                unmask(cx, u, out);
            }
        }
        Kind::ExportRequest { rows } if cx.a.decision == Decision::Allow => {
            export(cx, u, rows, out)
        }
        Kind::ScanMatch {
            values,
            named,
            over_budget,
        } => scan_oracle(cx, u, (values, named), over_budget, out),
        Kind::ScanReport {
            new_naming,
            unreported,
        } if cx.a.decision == Decision::Allow => pc_findings(cx, new_naming, unreported, out),
        _ => {}
    }
}

fn honey(cx: &Ctx, out: &mut Vec<Finding>) {
    if !cx.on(RuleId::Honey) || cx.honey.is_empty() {
        return;
    }
    let hits = cx.a.records.iter().filter(|k| cx.honey.contains(k)).count();
    if hits > 0 {
        let f = cx.finding(RuleId::Honey, "", cx.hour_window());
        out.push(with(f, hits as f64, 0.0));
    }
}

/// Rule 8's look-back: when a person is first seen departing (for an
/// announced end), their last 90 days are reviewed with the daily-distinct
/// rule at the departing factor — exfiltration tends to come in the weeks
/// before notice is given, when nobody was watching closely. Once per end.
fn look_back(cx: &Ctx, u: &mut UserState, out: &mut Vec<Finding>) {
    let Some(end) = cx.facts.contract_end.filter(|_| cx.factor < 1.0) else {
        return;
    };
    let end = end.num_days_from_ce();
    if u.looked_back == Some(end) || !cx.on(RuleId::Departing) || !cx.rules.departing.look_back {
        return;
    }
    let r = &cx.rules.daily_distinct;
    let Some(peer_median) = cx
        .peers
        .filter(|p| p.members >= r.min_peers)
        .and_then(|p| p.distinct_median)
    else {
        return; // tried again when peers are known
    };
    u.looked_back = Some(end);
    let days: Vec<f64> = u.last_90_days().map(f64::from).collect();
    if days.len() < r.min_history_days as usize {
        return;
    }
    let Some((m, s)) = robust(&days) else {
        return;
    };
    let s = s.max(0.05 * m).max(1.0);
    // Days unusual by ordinary standards (at least the peer floor), judged
    // against the person's own 90 days with the lowered z.
    let floor = (peer_median * r.peer_ratio).max(f64::from(r.floor));
    let threshold = (m + r.z * cx.factor * s).max(floor);
    let over = days.iter().filter(|d| **d >= threshold).count();
    if over > 0 {
        let mut f = cx.finding(RuleId::Departing, "look_back", cx.day_window());
        f.indicator = Some(RuleId::DailyDistinct);
        out.push(with(f, over as f64, threshold.round()));
    }
}

fn household(cx: &Ctx, out: &mut Vec<Finding>) {
    if cx.on(RuleId::Household) && cx.a.household > 0 && !cx.a.shown().is_empty() {
        let f = cx.finding(RuleId::Household, "", cx.hour_window());
        out.push(with(f, f64::from(cx.a.household), 0.0));
    }
}

fn inactive(cx: &Ctx, u: &UserState, out: &mut Vec<Finding>) {
    if !cx.on(RuleId::Inactive) {
        return;
    }
    if cx.facts.contract_end.is_some_and(|end| cx.date > end) {
        out.push(cx.finding(RuleId::Inactive, "contract_ended", cx.day_window()));
        return;
    }
    let idle = i64::from(cx.rules.inactive.idle_days) * 86_400;
    if u.last_at > 0 && cx.at - u.last_at > idle {
        let days = ((cx.at - u.last_at) / 86_400) as f64;
        let f = cx.finding(RuleId::Inactive, "idle", cx.day_window());
        out.push(with(f, days, f64::from(cx.rules.inactive.idle_days)));
    }
}

fn off_hours(cx: &Ctx, out: &mut Vec<Finding>) {
    if cx.on(RuleId::OffHours) && !cx.working.contains(cx.a.at) {
        out.push(cx.finding(RuleId::OffHours, "", cx.day_window()));
    }
}

fn new_client(cx: &Ctx, u: &mut UserState, out: &mut Vec<Finding>) {
    // Network addresses only: the CLI on the server's own host is not a terminal.
    let Some(client) =
        cx.a.client
            .as_deref()
            .filter(|c| c.parse::<std::net::IpAddr>().is_ok())
    else {
        return;
    };
    let r = &cx.rules.new_client;
    let first_ever = u.clients.is_empty();
    let (known, concurrent) = u.see_client(client, cx.at, i64::from(r.concurrent_seconds));
    if !cx.on(RuleId::NewClient) {
        return;
    }
    if concurrent {
        let mut f = cx.finding(RuleId::NewClient, "concurrent", cx.hour_window());
        f.severity = r.concurrent_severity;
        out.push(f);
    } else if !known && !first_ever {
        out.push(cx.finding(RuleId::NewClient, "", cx.day_window()));
    }
}

fn denials(cx: &Ctx, u: &mut UserState, out: &mut Vec<Finding>) {
    if cx.a.decision != Decision::Deny || !cx.on(RuleId::Denials) {
        return;
    }
    let r = &cx.rules.denials;
    let n = slide(
        &mut u.denials,
        cx.at,
        i64::from(r.window_minutes) * 60,
        r.count as usize,
    );
    if n >= r.count as usize {
        let f = cx.finding(RuleId::Denials, "", cx.hour_window());
        out.push(with(f, n as f64, f64::from(r.count)));
    }
}

fn enumeration(cx: &Ctx, u: &mut UserState, out: &mut Vec<Finding>) {
    if !cx.on(RuleId::Enumeration) {
        return;
    }
    let r = &cx.rules.enumeration;
    let rows = cx.a.shown().len();
    if rows >= r.max_rows as usize {
        let f = cx.finding(RuleId::Enumeration, "rows", cx.hour_window());
        out.push(with(f, rows as f64, f64::from(r.max_rows)));
    }
    let window = i64::from(r.window_minutes) * 60;
    if cx.a.sequential {
        let n = slide(&mut u.sequential, cx.at, window, r.sequential as usize);
        if n >= r.sequential as usize {
            let f = cx.finding(RuleId::Enumeration, "sequential", cx.hour_window());
            out.push(with(f, n as f64, f64::from(r.sequential)));
        }
    }
    if cx.a.case_id {
        return;
    }
    let n = slide(&mut u.searches, cx.at, window, r.searches as usize);
    if n >= r.searches as usize {
        let f = cx.finding(RuleId::Enumeration, "", cx.hour_window());
        out.push(with(f, n as f64, f64::from(r.searches)));
    }
}

fn hourly_volume(cx: &Ctx, u: &UserState, out: &mut Vec<Finding>) {
    if !cx.on(RuleId::HourlyVolume) {
        return;
    }
    let r = &cx.rules.hourly_volume;
    let count = f64::from(u.today.hours[cx.hour]);
    let base = cx
        .peers
        .and_then(|p| p.hour_p)
        .unwrap_or(0.0)
        .max(f64::from(r.floor));
    // The own baseline is computed only when the cheap part is already crossed.
    if count <= base * cx.factor {
        return;
    }
    let own = if u.history.len() >= r.min_history_days as usize {
        let values: Vec<f64> = u
            .history
            .iter()
            .map(|d| f64::from(d.hours[cx.hour]))
            .collect();
        robust(&values).map_or(0.0, |(m, s)| m + r.sigmas * s)
    } else {
        0.0
    };
    // A departing person is held to lowered thresholds, but never below their own busiest hour.
    let own_max = || {
        u.history
            .iter()
            .map(|d| f64::from(d.hours[cx.hour]))
            .fold(0.0, f64::max)
    };
    let threshold = match cx.factor < 1.0 {
        true => (base.max(own) * cx.factor).max(own_max()),
        false => base.max(own),
    };
    if count > threshold {
        out.push(cx.volume(RuleId::HourlyVolume, count, threshold));
    }
}

fn daily_distinct(cx: &Ctx, u: &UserState, out: &mut Vec<Finding>) {
    if !cx.on(RuleId::DailyDistinct) {
        return;
    }
    let r = &cx.rules.daily_distinct;
    let d = f64::from(u.today.distinct());
    let Some(peer_median) = cx
        .peers
        .filter(|p| p.members >= r.min_peers)
        .and_then(|p| p.distinct_median)
    else {
        return;
    };
    let floor = (peer_median * r.peer_ratio).max(f64::from(r.floor)) * cx.factor;
    if d < floor || u.history.len() < r.min_history_days as usize {
        return;
    }
    let values: Vec<f64> = u.history.iter().map(|h| f64::from(h.distinct)).collect();
    let Some((m, s)) = robust(&values) else {
        return;
    };
    // A very regular person has a MAD near zero; do not let one extra customer count as extreme.
    let s = s.max(0.05 * m).max(1.0);
    let mut threshold = (m + r.z * cx.factor * s).max(floor);
    if cx.factor < 1.0 {
        let own_max = u
            .history
            .iter()
            .map(|h| f64::from(h.distinct))
            .fold(0.0, f64::max);
        threshold = threshold.max(own_max + 1.0);
    }
    if d >= threshold {
        out.push(cx.volume(RuleId::DailyDistinct, d, threshold));
    }
}

fn cumulative(cx: &Ctx, u: &UserState, out: &mut Vec<Finding>) {
    if !cx.on(RuleId::Cumulative) {
        return;
    }
    let r = &cx.rules.cumulative;
    let own = f64::from(u.history_distinct());
    let Some((peer, day)) = cx.peers.filter(|p| p.members >= r.min_peers).and_then(|p| {
        p.cumulative_without(own, r.peer_percentile)
            .zip(p.distinct_p)
    }) else {
        return;
    };
    // The peers' figures are as of midnight; today's count is still growing,
    // so a busy day of their own is allowed on top.
    let peer = (peer * r.margin).max(peer + day);
    // Already a 30-day look-back: not lowered for departing people, whose
    // ordinary month would otherwise cross half the peers' top.
    let threshold = peer.max(f64::from(r.floor));
    let seen = f64::from(u.thirty_days());
    if seen > threshold {
        let mut f = cx.finding(RuleId::Cumulative, "", cx.day_window());
        f.value = seen;
        f.threshold = threshold;
        out.push(f);
    }
}

fn no_case(cx: &Ctx, u: &mut UserState, out: &mut Vec<Finding>) {
    if cx.a.case_id || !cx.on(RuleId::NoCase) {
        return;
    }
    let r = &cx.rules.no_case;
    u.today.no_case += 1;
    let vip = cx.a.unmasked > 0 || cx.a.segments.iter().any(|s| r.vip_segments.contains(s));
    if vip {
        let mut f = cx.finding(RuleId::NoCase, "vip", cx.hour_window());
        f.severity = r.vip_severity;
        out.push(f);
    }
    if u.today.no_case >= r.per_day {
        let f = cx.finding(RuleId::NoCase, "", cx.day_window());
        out.push(with(f, f64::from(u.today.no_case), f64::from(r.per_day)));
    }
}

fn velocity(cx: &Ctx, u: &mut UserState, out: &mut Vec<Finding>) {
    let r = &cx.rules.velocity;
    let minute = cx.at.div_euclid(60);
    u.count_minute(minute, cx.a.shown().len() as u32, r.minutes);
    if !cx.on(RuleId::Velocity) || u.minutes.len() < r.minutes as usize {
        return;
    }
    // Every one of the last `minutes` minutes, without a gap, above the rate.
    let sustained =
        u.minutes.iter().enumerate().all(|(i, (m, c))| {
            *m == minute - i64::from(r.minutes) + 1 + i as i64 && *c > r.per_minute
        });
    if sustained {
        let f = cx.finding(RuleId::Velocity, "", cx.hour_window());
        let total: u32 = u.minutes.iter().map(|(_, c)| c).sum();
        out.push(with(f, f64::from(total), f64::from(r.per_minute)));
    }
}

fn unmask(cx: &Ctx, u: &mut UserState, out: &mut Vec<Finding>) {
    if cx.a.unmasked == 0 || !cx.on(RuleId::Unmask) {
        return;
    }
    let r = &cx.rules.unmask;
    if !cx.a.purpose {
        out.push(cx.finding(RuleId::Unmask, "no_purpose", cx.hour_window()));
    }
    u.today.unmasked = u.today.unmasked.saturating_add(cx.a.unmasked);
    if u.today.unmasked > r.per_day {
        let f = cx.finding(RuleId::Unmask, "", cx.day_window());
        out.push(with(f, f64::from(u.today.unmasked), f64::from(r.per_day)));
    }
}

fn export(cx: &Ctx, u: &mut UserState, rows: u64, out: &mut Vec<Finding>) {
    if !cx.on(RuleId::Export) {
        return;
    }
    let r = &cx.rules.export;
    u.today.exports += 1;
    if rows > r.max_rows {
        let f = cx.finding(RuleId::Export, "rows", cx.hour_window());
        out.push(with(f, rows as f64, r.max_rows as f64));
    }
    if u.today.exports > r.per_day {
        let f = cx.finding(RuleId::Export, "", cx.day_window());
        out.push(with(f, f64::from(u.today.exports), f64::from(r.per_day)));
    }
}

/// Rule 17: customer data newly found on a PC, or left out of its report.
fn pc_findings(cx: &Ctx, new_naming: u64, unreported: u64, out: &mut Vec<Finding>) {
    if !cx.on(RuleId::PcFindings) {
        return;
    }
    if unreported > 0 {
        let f = cx.finding(RuleId::PcFindings, "unreported", cx.day_window());
        out.push(with(f, unreported as f64, 0.0));
    }
    let min = cx.rules.pc_findings.min_files;
    if new_naming >= min {
        let f = cx.finding(RuleId::PcFindings, "", cx.day_window());
        out.push(with(f, new_naming as f64, min as f64));
    }
}

/// Rule 16: a scanner asking much and finding little, or out of budget.
/// (Other refusals of the endpoint — a person who may not match at all —
/// are the denials rule's.)
fn scan_oracle(
    cx: &Ctx,
    u: &mut UserState,
    (values, named): (u64, u64),
    over_budget: bool,
    out: &mut Vec<Finding>,
) {
    if !cx.on(RuleId::ScanOracle) {
        return;
    }
    let r = &cx.rules.scan_oracle;
    if over_budget {
        let f = cx.finding(RuleId::ScanOracle, "budget", cx.hour_window());
        out.push(with(f, values as f64, 0.0));
        return;
    }
    if cx.a.decision != Decision::Allow {
        return;
    }
    let start = cx.at - i64::from(r.window_minutes) * 60;
    while u.scans.front().is_some_and(|(at, _, _)| *at <= start) {
        u.scans.pop_front();
    }
    u.scans.push_back((cx.at, values, named));
    let (asked, found) = u
        .scans
        .iter()
        .fold((0u64, 0u64), |(a, f), (_, v, n)| (a + v, f + n));
    if asked < r.min_values {
        return;
    }
    let yield_percent = found as f64 * 100.0 / asked as f64;
    if yield_percent <= r.max_yield_percent {
        let f = cx.finding(RuleId::ScanOracle, "", cx.hour_window());
        out.push(with(f, yield_percent, r.max_yield_percent));
    }
}
