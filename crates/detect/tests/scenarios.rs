//! Scenario tests: 50 synthetic operators on a simulated clock; three weeks
//! of ordinary work, then one kind of misbehaviour. The ordinary weeks must
//! stay quiet (nothing above low), and each misbehaviour must raise the
//! right rule at the right severity at the event that crossed the line.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use mamori_detect::simulate::{Sim, jst};
use mamori_detect::{Activity, Alert, Engine, Facts, RuleId, Rules, Severity, record_key};

const OPERATORS: usize = 50;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Monday 5 October 2026 (the Monday after has スポーツの日, a day off).
fn start() -> NaiveDate {
    date(2026, 10, 5)
}

struct World {
    sim: Sim,
    engine: Engine,
    alerts: Vec<Alert>,
    /// The first day not yet simulated.
    next: NaiveDate,
}

impl World {
    fn new(seed: u64) -> World {
        World {
            sim: Sim::new(seed, OPERATORS, 40_000),
            engine: Engine::new(Rules::default()).unwrap(),
            alerts: Vec::new(),
            next: start(),
        }
    }

    fn feed(&mut self) -> Vec<Alert> {
        let mut raised = Vec::new();
        for e in self.sim.drain() {
            let a = Activity::from_event(&e).expect("a person's event");
            raised.extend(self.engine.observe(&a));
        }
        self.alerts.extend(raised.iter().cloned());
        raised
    }

    /// Ordinary days; returns their alerts.
    fn ordinary(&mut self, days: i64) -> Vec<Alert> {
        let mut raised = Vec::new();
        for _ in 0..days {
            self.sim.normal_day(self.next);
            raised.extend(self.feed());
            self.next += Duration::days(1);
        }
        raised
    }

    /// The next working day, without simulating it.
    fn next_workday(&self) -> NaiveDate {
        let mut d = self.next;
        while !Sim::is_workday(d) {
            d += Duration::days(1);
        }
        d
    }

    fn facts(&mut self, op: usize, facts: Facts) {
        let login = self.sim.operators[op].login.clone();
        self.engine.set_directory(HashMap::from([(login, facts)]));
    }

    fn login(&self, op: usize) -> String {
        self.sim.operators[op].login.clone()
    }
}

fn above_low(alerts: &[Alert]) -> Vec<&Alert> {
    alerts
        .iter()
        .filter(|a| a.severity > Severity::Low)
        .collect()
}

/// The alert of `rule` for `user`, which must exist.
fn find<'a>(alerts: &'a [Alert], user: &str, rule: RuleId) -> &'a Alert {
    alerts
        .iter()
        .find(|a| a.user == user && a.rule == rule)
        .unwrap_or_else(|| panic!("no {rule:?} alert for {user}: {alerts:#?}"))
}

fn within_a_second(alert: &Alert, trigger: DateTime<Utc>) {
    let lag = alert.at - trigger;
    assert!(
        lag >= Duration::zero() && lag <= Duration::seconds(1),
        "{:?} raised at {} for a trigger at {trigger}",
        alert.rule,
        alert.at
    );
}

#[test]
fn ordinary_weeks_stay_quiet() {
    let mut w = World::new(1);
    let raised = w.ordinary(28);
    assert!(
        above_low(&raised).is_empty(),
        "ordinary work raised: {:#?}",
        above_low(&raised)
    );
    // Low alerts exist (lookups without a case happen) but stay rare.
    assert!(raised.len() < 30, "{} low alerts in 4 weeks", raised.len());
    // Peers were learnt: 50 operators, a median day of 40–80 customers.
    let p = w.engine.peers("operator").expect("peer norms");
    assert_eq!(p.members, OPERATORS as u32);
    let m = p.distinct_median.unwrap();
    assert!((40.0..80.0).contains(&m), "peer median {m}");
}

#[test]
fn off_hours_burst() {
    let mut w = World::new(2);
    w.ordinary(21);
    let day = w.next_workday();
    w.sim.normal_day(day);
    let first = jst(day, 23, 10, 0);
    for k in 0..40 {
        let c = w.sim.customer();
        w.sim
            .lookup(7, first + Duration::seconds(15 * k), vec![c], true, true);
    }
    let raised = w.feed();
    let op = w.login(7);
    let a = find(&raised, &op, RuleId::OffHours);
    assert_eq!(a.severity, Severity::Medium);
    within_a_second(a, first);
    // 40 records in an hour is also above the floor of 30.
    let v = find(&raised, &op, RuleId::HourlyVolume);
    within_a_second(v, first + Duration::seconds(15 * 30));
    let others: Vec<&Alert> = above_low(&raised)
        .into_iter()
        .filter(|a| a.user != op)
        .collect();
    assert!(others.is_empty(), "{others:#?}");
}

#[test]
fn enumeration_without_a_case() {
    let mut w = World::new(3);
    w.ordinary(21);
    let day = w.next_workday();
    w.sim.normal_day(day);
    let first = jst(day, 14, 0, 0);
    for k in 0..25 {
        let c = w.sim.customer();
        w.sim
            .lookup(3, first + Duration::seconds(12 * k), vec![c], false, true);
    }
    let raised = w.feed();
    let a = find(&raised, &w.login(3), RuleId::Enumeration);
    assert_eq!(a.severity, Severity::High);
    // The 20th search crosses the line.
    within_a_second(a, first + Duration::seconds(12 * 19));
    assert_eq!(a.value, 20.0);
}

#[test]
fn honey_record_touched() {
    let mut w = World::new(4);
    w.ordinary(21);
    let honey = w.sim.customer();
    w.engine
        .set_honey(HashSet::from([record_key(&honey).unwrap()]));
    let day = w.next_workday();
    w.sim.normal_day(day);
    let at = jst(day, 11, 23, 45);
    w.sim.lookup(5, at, vec![honey], true, true);
    let raised = w.feed();
    let a = find(&raised, &w.login(5), RuleId::Honey);
    assert_eq!(a.severity, Severity::Critical);
    within_a_second(a, at);
    // It takes the person to the critical risk level, which it says itself: no second alert.
    assert!(a.risk >= 75.0, "{}", a.risk);
    assert!(!raised.iter().any(|x| x.rule == RuleId::RiskScore));
}

#[test]
fn departing_users_spike() {
    let mut w = World::new(5);
    w.ordinary(21);
    let day = w.next_workday();
    w.facts(
        9,
        Facts {
            contract_end: Some(day + Duration::days(10)),
            ..Facts::default()
        },
    );
    w.sim.normal_day(day);
    // 16 customers more in one hour: under the floor of 30 for anyone else.
    let first = jst(day, 16, 0, 0);
    for k in 0..16 {
        let c = w.sim.customer();
        w.sim.lookup(
            9,
            first + Duration::seconds(200 * k),
            vec![c.clone()],
            true,
            true,
        );
        w.sim
            .lookup(12, first + Duration::seconds(200 * k), vec![c], true, true);
    }
    let raised = w.feed();
    let a = find(&raised, &w.login(9), RuleId::Departing);
    assert_eq!(a.severity, Severity::High);
    assert_eq!(a.indicator, Some(RuleId::HourlyVolume));
    assert!(a.at >= first && a.at <= first + Duration::hours(1));
    // The same hour from someone who is staying raises nothing above low.
    let stays = w.login(12);
    let flagged: Vec<&Alert> = above_low(&raised)
        .into_iter()
        .filter(|a| a.user == stays)
        .collect();
    assert!(flagged.is_empty(), "{flagged:#?}");
}

#[test]
fn vendor_after_contract_end() {
    let mut w = World::new(6);
    w.ordinary(21);
    let day = w.next_workday();
    w.facts(
        11,
        Facts {
            contract_end: Some(day - Duration::days(1)),
            ..Facts::default()
        },
    );
    w.sim.normal_day(day);
    let raised = w.feed();
    let op = w.login(11);
    let a = find(&raised, &op, RuleId::Inactive);
    assert_eq!(a.severity, Severity::High);
    assert_eq!(a.variant, "contract_ended");
    let first = w
        .alerts
        .iter()
        .filter(|x| x.user == op)
        .map(|x| x.at)
        .min()
        .unwrap();
    assert_eq!(a.at, first, "raised at the first event of the day");
}

#[test]
fn slow_exfiltration_over_a_month() {
    let mut w = World::new(7);
    w.ordinary(21);
    let thief = 13;
    let op = w.login(thief);
    let median = w.engine.peers("operator").unwrap().distinct_median.unwrap();
    let mut raised = Vec::new();
    for _ in 0..30 {
        let day = w.next;
        w.sim.normal_day(day);
        if Sim::is_workday(day) {
            // As many customers again as a typical colleague sees: twice
            // the peers' distinct customers, every working day.
            w.sim.browse(thief, day, median.round() as usize);
        }
        raised.extend(w.feed());
        w.next += Duration::days(1);
    }
    let mine: Vec<&Alert> = raised.iter().filter(|a| a.user == op).collect();
    let by_rule = |r: RuleId| mine.iter().filter(|a| a.rule == r).count();
    assert!(
        by_rule(RuleId::DailyDistinct) + by_rule(RuleId::Cumulative) > 0,
        "the thief went unnoticed: {mine:#?}"
    );
    assert!(by_rule(RuleId::Cumulative) > 0, "{mine:#?}");
    assert!(
        mine.iter()
            .all(|a| a.severity >= Severity::Medium || a.rule == RuleId::NoCase)
    );
    // Repeated alerts push the person's risk to high at least.
    assert!(
        mine.iter()
            .any(|a| a.rule == RuleId::RiskScore && a.severity >= Severity::High),
        "{mine:#?}"
    );
    // Nobody else is flagged above low.
    let flagged = above_low(&raised);
    let others: Vec<&&Alert> = flagged.iter().filter(|a| a.user != op).collect();
    assert!(others.is_empty(), "{others:#?}");
}

#[test]
fn a_restart_loses_and_duplicates_nothing() {
    let run = |restart_after: Option<i64>| {
        let mut w = World::new(8);
        let mut ids = Vec::new();
        for d in 0..35 {
            if Some(d) == restart_after {
                let snap = w.engine.snapshot();
                let mut fresh = Engine::new(Rules::default()).unwrap();
                fresh.restore(&snap).unwrap();
                w.engine = fresh;
            }
            if d == 30 {
                let day = w.next_workday();
                let first = jst(day, 23, 0, 0);
                for k in 0..40 {
                    let c = w.sim.customer();
                    w.sim
                        .lookup(4, first + Duration::seconds(10 * k), vec![c], false, true);
                }
            }
            ids.extend(w.ordinary(1).into_iter().map(|a| a.id));
        }
        ids
    };
    let straight = run(None);
    let restarted = run(Some(22));
    assert!(straight.len() > 3, "{straight:?}");
    assert_eq!(straight, restarted);
    let unique: HashSet<&String> = straight.iter().collect();
    assert_eq!(unique.len(), straight.len(), "an alert was raised twice");
}

#[test]
fn noisy_rules_are_capped_and_reported() {
    let rules = Rules::from_toml("[off_hours]\nmax_per_day = 3\n").unwrap();
    let mut w = World::new(9);
    w.engine = Engine::new(rules).unwrap();
    w.ordinary(21);
    let day = w.next_workday();
    for op in 0..10 {
        let c = w.sim.customer();
        w.sim
            .lookup(op, jst(day, 22, op as u32, 0), vec![c], true, true);
    }
    let raised = w.feed();
    let off: Vec<&Alert> = raised
        .iter()
        .filter(|a| a.rule == RuleId::OffHours)
        .collect();
    assert_eq!(off.len(), 3);
    w.ordinary(2);
    let summaries = w.engine.take_summaries();
    let s = summaries
        .iter()
        .find(|s| s.date == day)
        .expect("that day's summary");
    assert_eq!(s.noisy, vec![RuleId::OffHours]);
    assert_eq!(s.rules[&RuleId::OffHours].raised, 3);
    assert_eq!(s.rules[&RuleId::OffHours].suppressed, 7);
}

#[test]
fn a_departing_users_last_90_days_are_reviewed_once() {
    let mut w = World::new(8);
    w.ordinary(14);
    // Three busy days, seven to nine weeks before the notice: 150 customers
    // more than usual on each.
    for _ in 0..3 {
        let day = w.next_workday();
        w.sim.normal_day(day);
        for k in 0..150 {
            let c = w.sim.customer();
            let at = jst(day, 10, 0, 0) + Duration::seconds(20 * k);
            w.sim.lookup(9, at, vec![c], true, true);
        }
        w.feed();
        w.next = day + Duration::days(1);
    }
    w.ordinary(49);

    // Both announce their leaving; only one had the busy days.
    let day = w.next_workday();
    let leaving = Facts {
        contract_end: Some(day + Duration::days(20)),
        ..Facts::default()
    };
    w.engine.set_directory(HashMap::from([
        (w.login(9), leaving.clone()),
        (w.login(12), leaving),
    ]));
    w.sim.normal_day(day);
    w.next = day + Duration::days(1);
    let raised = w.feed();
    let look_backs = |alerts: &[Alert]| -> Vec<Alert> {
        alerts
            .iter()
            .filter(|a| a.rule == RuleId::Departing && a.variant == "look_back")
            .cloned()
            .collect()
    };
    let found = look_backs(&raised);
    assert_eq!(found.len(), 1, "{found:#?}");
    let a = &found[0];
    assert_eq!(
        (a.user.as_str(), a.severity, a.value, a.indicator),
        (
            w.login(9).as_str(),
            Severity::High,
            3.0,
            Some(RuleId::DailyDistinct)
        )
    );
    // Reviewed once per announced end, not again the next day.
    let later = w.ordinary(3);
    assert!(look_backs(&later).is_empty(), "{:#?}", look_backs(&later));
}

/// A scan match as the vault records it in the system log: the values of one
/// file and, per tenant, `[tenant, possible, confirmed]`.
fn scan_event(seq: u64, at: DateTime<Utc>, values: u64, named: u64, allowed: bool) -> Activity {
    use mamori_audit::{Decision, Event, SealedEvent};
    let (decision, reason) = if allowed {
        (Decision::Allow, "ok")
    } else {
        (Decision::Deny, "scan_budget_exhausted")
    };
    let mut e = Event::new("user:pc-0042", "scan.match", decision, reason)
        .detail("file_sha256", "00".repeat(32))
        .detail("values", values);
    if allowed {
        e = e.detail("tenants", serde_json::json!([["acme", named, 0]]));
    } else {
        e = e.detail("flag", "budget");
    }
    e.actor_role = Some("scanner".into());
    let sealed = SealedEvent::seal(e, mamori_audit::log_for(None), seq, at, &[0; 32]);
    Activity::from_event(&sealed).expect("a credential's event")
}

#[test]
fn a_scanner_asking_much_and_finding_little_is_an_oracle() {
    let mut engine = Engine::new(Rules::default()).unwrap();
    let day = start();
    let mut raised = Vec::new();
    // An honest PC: 30,000 values in an hour, 900 of them customers (3 %).
    for i in 0..10 {
        let at = jst(day, 10, i * 5, 0);
        raised.extend(engine.observe(&scan_event(i.into(), at, 3_000, 90, true)));
    }
    assert!(raised.is_empty(), "{raised:?}");
    // Made-up numbers: the next hour, 12,000 values naming 20 people (0.17 %);
    // the line is crossed when the window holds 10,000 values.
    for i in 0..6 {
        let at = jst(day, 12, i * 5, 0);
        raised.extend(engine.observe(&scan_event(100 + u64::from(i), at, 2_000, 4, true)));
    }
    let a = find(&raised, "pc-0042", RuleId::ScanOracle);
    assert_eq!(a.severity, Severity::High);
    within_a_second(a, jst(day, 12, 20, 0));
    assert!(a.value < 1.0, "{}", a.value);
    // Once per hour, however long it goes on.
    assert_eq!(
        raised
            .iter()
            .filter(|x| x.rule == RuleId::ScanOracle)
            .count(),
        1
    );
    // A call refused over the budget is raised at once, as its own variant.
    let at = jst(day, 15, 0, 0);
    let refused = engine.observe(&scan_event(200, at, 50, 0, false));
    let b = find(&refused, "pc-0042", RuleId::ScanOracle);
    assert_eq!(b.variant, "budget");
    within_a_second(b, at);
    // A refusal that is not about the budget (someone who may not match at
    // all) is not this rule's.
    let mut e = scan_event(201, jst(day + Duration::days(1), 10, 0, 0), 50, 0, false);
    e.kind = mamori_detect::activity::Kind::ScanMatch {
        values: 50,
        named: 0,
        over_budget: false,
    };
    assert!(
        !engine
            .observe(&e)
            .iter()
            .any(|a| a.rule == RuleId::ScanOracle)
    );
}

/// A PC agent's report as the vault records it in the system log.
fn report_event(seq: u64, at: DateTime<Utc>, new_naming: u64, unreported: u64) -> Activity {
    use mamori_audit::{Decision, Event, SealedEvent};
    let mut e = Event::new("user:pc-0042", "scan.report", Decision::Allow, "ok")
        .detail(
            "verdict",
            if new_naming + unreported > 0 {
                "findings"
            } else {
                "clean"
            },
        )
        .detail("new_naming_customers", new_naming)
        .detail("unreported_files", unreported);
    e.actor_role = Some("scanner".into());
    let sealed = SealedEvent::seal(e, mamori_audit::log_for(None), seq, at, &[0; 32]);
    Activity::from_event(&sealed).expect("a credential's event")
}

#[test]
fn customer_files_new_on_a_pc_or_left_out_of_its_report_are_raised() {
    let mut engine = Engine::new(Rules::default()).unwrap();
    let day = start();
    // A clean report, and one whose findings were all there before: nothing.
    assert!(
        engine
            .observe(&report_event(1, jst(day, 9, 0, 0), 0, 0))
            .is_empty()
    );
    // New customer files on the PC.
    let at = jst(day, 10, 0, 0);
    let raised = engine.observe(&report_event(2, at, 3, 0));
    let a = find(&raised, "pc-0042", RuleId::PcFindings);
    assert_eq!(
        (a.severity, a.variant.as_str(), a.value),
        (Severity::High, "", 3.0)
    );
    within_a_second(a, at);
    // A report leaving out what the vault matched: its own variant, at once.
    let at = jst(day, 11, 0, 0);
    let raised = engine.observe(&report_event(3, at, 0, 2));
    let b = find(&raised, "pc-0042", RuleId::PcFindings);
    assert_eq!(b.variant, "unreported");
    within_a_second(b, at);
    // Once a day per variant, however often the PC reports.
    let again = engine.observe(&report_event(4, jst(day, 12, 0, 0), 5, 1));
    assert!(
        !again.iter().any(|x| x.rule == RuleId::PcFindings),
        "{again:?}"
    );
    // A threshold above the new files keeps quiet.
    let mut rules = Rules::default();
    rules.pc_findings.min_files = 10;
    let mut quiet = Engine::new(rules).unwrap();
    assert!(
        quiet
            .observe(&report_event(1, jst(day, 10, 0, 0), 3, 0))
            .is_empty()
    );
}

#[test]
fn a_pc_agent_that_stops_reporting_is_raised_once_per_silence() {
    let mut engine = Engine::new(Rules::default()).unwrap();
    let day = start();
    let first = jst(day, 9, 0, 0);
    engine.observe(&report_event(7, first, 0, 0));
    // Six days and 23 hours: still within the week.
    let almost = first + chrono::Duration::days(7) - chrono::Duration::hours(1);
    assert!(engine.tick(almost).is_empty());
    let late = first + chrono::Duration::days(7) + chrono::Duration::minutes(1);
    let raised = engine.tick(late);
    let a = find(&raised, "pc-0042", RuleId::MachineSilent);
    assert_eq!((a.severity, a.threshold), (Severity::Medium, 7.0));
    assert_eq!(a.evidence.seq, 7, "the evidence is the last report");
    assert!(a.summary().0.contains("7 日"), "{:?}", a.summary());
    // The same silence is news once, whatever the clock says later.
    assert!(engine.tick(late + chrono::Duration::days(3)).is_empty());
    // It reports again, then goes quiet again: a new silence, a new alert.
    let back = late + chrono::Duration::days(4);
    engine.observe(&report_event(8, back, 0, 0));
    assert!(engine.tick(back + chrono::Duration::days(1)).is_empty());
    let again = engine.tick(back + chrono::Duration::days(8));
    let b = find(&again, "pc-0042", RuleId::MachineSilent);
    assert_eq!(b.evidence.seq, 8);
    assert_ne!(a.id, b.id);
    // It survives a restart: the machines are in the saved state.
    let mut restarted = Engine::new(Rules::default()).unwrap();
    restarted.restore(&engine.snapshot()).unwrap();
    assert!(
        restarted.tick(back + chrono::Duration::days(9)).is_empty(),
        "already raised before the restart"
    );
    // Turned off: nothing.
    let mut rules = Rules::default();
    rules.machine_silent.enabled = false;
    let mut off = Engine::new(rules).unwrap();
    off.observe(&report_event(1, first, 0, 0));
    assert!(off.tick(late).is_empty());
}

/// A reconciliation discrepancy judged by a supervisor, as the vault records it.
fn judgement(seq: u64, at: DateTime<Utc>, person: &str, outcome: &str) -> Activity {
    use mamori_audit::{Decision, Event, SealedEvent};
    let mut e = Event::new("user:sv01", "reconcile.dispose", Decision::Allow, "ok")
        .detail("outcome", outcome)
        .detail("class", "read_outside_area")
        .detail("person", person)
        .detail("day", "2026-04-01");
    e.actor_role = Some("supervisor".into());
    e.case_id = Some(format!("{seq:032x}"));
    let sealed = SealedEvent::seal(e, mamori_audit::log_for(None), seq, at, &[0; 32]);
    Activity::from_event(&sealed).expect("a person's event")
}

#[test]
fn an_escalated_discrepancy_raises_an_alert_about_the_person_it_concerns() {
    let mut engine = Engine::new(Rules::default()).unwrap();
    let day = start();
    // Explained, or about a badge the person map lacks: nothing of this
    // rule.
    let none = |raised: Vec<mamori_detect::alert::Alert>| {
        !raised.iter().any(|a| a.rule == RuleId::ReconcileEscalated)
    };
    assert!(none(engine.observe(&judgement(
        1,
        jst(day, 10, 0, 0),
        "op07",
        "explained"
    ))));
    assert!(none(engine.observe(&judgement(
        2,
        jst(day, 10, 1, 0),
        "badge:B99",
        "escalated"
    ))));
    // Escalated, at night: one alert about op07 (not about the supervisor),
    // and no off-hours alert for op07, who did nothing at that hour.
    let at = jst(day, 23, 2, 0);
    let raised = engine.observe(&judgement(3, at, "op07", "escalated"));
    assert_eq!(raised.len(), 1, "{raised:?}");
    let a = find(&raised, "op07", RuleId::ReconcileEscalated);
    assert_eq!((a.severity, a.evidence.seq), (Severity::High, 3));
    within_a_second(a, at);
    assert!(engine.risk("op07") > 0.0);
    assert_eq!(engine.risk("sv01"), 0.0);
    // A second escalation about the same person is news too.
    let raised = engine.observe(&judgement(4, jst(day, 23, 30, 0), "op07", "escalated"));
    assert_eq!(raised.len(), 1);
    // Switched off, it raises nothing.
    let mut rules = Rules::default();
    rules.reconcile_escalated.enabled = false;
    let mut off = Engine::new(rules).unwrap();
    assert!(
        off.observe(&judgement(5, at, "op07", "escalated"))
            .is_empty()
    );
}

/// A review item decided by the deadline, as the vault records it: the
/// system's event in the system log, about the person whose role it was.
fn deadline_decision(seq: u64, at: DateTime<Utc>, person: &str, outcome: &str) -> Option<Activity> {
    use mamori_audit::{Decision, Event, SealedEvent};
    let mut e = Event::new("system", "review.decide", Decision::Allow, "ok")
        .detail("outcome", outcome)
        .detail("kind", "role")
        .detail("person", person)
        .detail("default", true);
    e.case_id = Some(format!("{seq:032x}"));
    let sealed = SealedEvent::seal(e, mamori_audit::log_for(None), seq, at, &[0; 32]);
    Activity::from_event(&sealed)
}

#[test]
fn a_review_escalated_at_its_deadline_raises_an_alert_about_the_person() {
    let mut engine = Engine::new(Rules::default()).unwrap();
    let at = jst(start(), 9, 0, 0);
    // The system's other decisions are nobody's activity.
    assert!(deadline_decision(1, at, "so1", "revoke").is_none());
    let a = deadline_decision(2, at, "so1", "escalated").expect("about so1");
    let raised = engine.observe(&a);
    assert_eq!(raised.len(), 1, "{raised:?}");
    let alert = find(&raised, "so1", RuleId::ReconcileEscalated);
    assert_eq!(alert.evidence.seq, 2);
}
