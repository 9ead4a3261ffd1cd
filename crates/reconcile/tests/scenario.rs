//! A simulated month end to end: the outside files read through the default
//! mapping, the vault's facts, one reconciliation. An honest month has no
//! discrepancy; a month with one of every class planted reports exactly
//! those, each once; the same inputs give the same bytes.

use mamori_reconcile::{
    Class, Params, Report, logon,
    logon::LogonEvent,
    mapping::Mapping,
    people::{Hosts, People},
    reconcile, room,
    room::RoomEvent,
    run::{Inputs, Reconciler},
    simulate::{self, Month, Shape},
};

/// A month with its outside files read through the default mapping.
struct Parsed {
    m: Month,
    people: People,
    hosts: Hosts,
    rooms: Vec<RoomEvent>,
    logons: Vec<LogonEvent>,
}

impl Parsed {
    fn of(shape: Shape) -> Parsed {
        let m = simulate::month(shape);
        let map = Mapping::default();
        Parsed {
            people: People::read(&m.people_csv, &map.people).unwrap(),
            hosts: Hosts::read(&m.hosts_csv, &map.hosts).unwrap(),
            rooms: room::read(&m.rooms_csv, &map.rooms).unwrap(),
            logons: logon::read(&m.logons_json, &map.logons).unwrap(),
            m,
        }
    }

    /// The inputs, with or without the host map, over `logons`.
    fn inputs<'a>(&'a self, with_hosts: bool, logons: &'a [LogonEvent]) -> Inputs<'a> {
        Inputs {
            period: self.m.period,
            reads: &self.m.reads,
            grants: &self.m.grants,
            standing: &self.m.standing,
            applications: &self.m.applications,
            people: &self.people,
            hosts: with_hosts.then_some(&self.hosts),
            rooms: &self.rooms,
            logons,
        }
    }
}

fn run(shape: Shape, with_hosts: bool) -> Report {
    let p = Parsed::of(shape);
    reconcile(&p.inputs(with_hosts, &p.logons), &Params::default())
}

fn shape(plant: bool) -> Shape {
    Shape {
        people: 20,
        days: 30,
        reads_per_day: 20,
        seed: 7,
        plant,
        start: None,
    }
}

#[test]
fn an_honest_month_has_no_discrepancy() {
    let r = run(shape(false), true);
    assert!(
        r.discrepancies.is_empty(),
        "{:#?}",
        &r.discrepancies[..r.discrepancies.len().min(5)]
    );
    assert!(r.counts.reads > 8000, "{:?}", r.counts);
    assert_eq!(r.counts.sessions_end_unknown, 0);
    assert!(r.not_checked.is_empty());
}

#[test]
fn every_planted_discrepancy_is_found_once_and_nothing_else() {
    let r = run(shape(true), true);
    for class in Class::ALL {
        assert_eq!(
            r.by_class[&class],
            1,
            "{class:?}: {:#?}",
            r.discrepancies
                .iter()
                .filter(|d| d.class == class)
                .collect::<Vec<_>>()
        );
    }
    let find = |c: Class| r.discrepancies.iter().find(|d| d.class == c).unwrap();
    assert_eq!(find(Class::ReadWithoutCoverage).person, "op0001");
    assert_eq!(
        find(Class::ReadWithoutCoverage).kind.as_deref(),
        Some("globex")
    );
    assert_eq!(find(Class::ReadOutsideArea).person, "op0002");
    assert_eq!(find(Class::ReadFromOtherMachine).person, "op0003");
    assert_eq!(find(Class::ReadWithoutLogon).person, "op0004");
    let other = find(Class::ReadOnAnotherLogon);
    assert_eq!(
        (other.person.as_str(), other.kind.as_deref()),
        ("op0005", Some("pc-0006"))
    );
    assert_eq!(
        other.evidence.len(),
        2,
        "the read and the colleague's session"
    );
    assert_eq!(
        find(Class::LogonWithoutEntry).kind.as_deref(),
        Some("remote")
    );
    assert_eq!(find(Class::EntryWithoutApplication).person, "op0008");
    let c = find(Class::PresenceContradiction);
    assert_eq!(
        (c.person.as_str(), c.kind.as_deref()),
        ("op0009", Some("exit_without_entry"))
    );
    assert_eq!(find(Class::GrantUnused).person, "op0010");
    let u = find(Class::Unmapped);
    assert_eq!((u.person.as_str(), u.count), ("badge:B99999", 2));
    assert_eq!(r.discrepancies.len(), Class::ALL.len());
}

#[test]
fn without_a_host_map_the_machine_checks_are_named_as_not_made() {
    let r = run(shape(true), false);
    assert_eq!(r.by_class[&Class::ReadFromOtherMachine], 0);
    assert_eq!(r.by_class[&Class::ReadOnAnotherLogon], 0);
    assert_eq!(r.not_checked.len(), 1);
    assert_eq!(r.by_class[&Class::ReadWithoutCoverage], 1);
}

#[test]
fn the_same_inputs_give_the_same_bytes() {
    let a = serde_json::to_vec(&run(shape(true), true)).unwrap();
    let b = serde_json::to_vec(&run(shape(true), true)).unwrap();
    assert_eq!(a, b);
    let other = serde_json::to_vec(&run(
        Shape {
            seed: 8,
            ..shape(true)
        },
        true,
    ))
    .unwrap();
    assert_ne!(a, other, "a different month is a different report");
    // Reads fed in another order (the vault streams them in storage order)
    // make the same report: the evidence kept is the earliest, not the first met.
    let p = Parsed::of(shape(true));
    let mut r = Reconciler::new(p.inputs(true, &p.logons), &Params::default());
    for read in p.m.reads.iter().rev() {
        r.read(read);
    }
    assert_eq!(serde_json::to_vec(&r.finish()).unwrap(), a);
}

#[test]
fn clock_skew_is_a_parameter() {
    // With no tolerance at all, reads just after a lock or logon still pass
    // (the simulation leaves a margin), but a zero-length skew never widens
    // presence: the honest month stays clean either way.
    let p = Parsed::of(shape(false));
    let mut logons_late = p.logons.clone();
    // Every PC clock 10 minutes fast: logons now precede the door entries.
    for e in &mut logons_late {
        e.at -= 600;
    }
    let inputs = |logons| p.inputs(false, logons);
    let strict = Params {
        skew_s: 0,
        ..Params::default()
    };
    assert!(
        reconcile(&inputs(&p.logons), &strict)
            .discrepancies
            .is_empty()
    );
    let skewed = reconcile(&inputs(&logons_late), &strict);
    assert!(skewed.by_class[&Class::LogonWithoutEntry] > 0);
    let tolerant = Params {
        skew_s: 900,
        ..Params::default()
    };
    assert_eq!(
        reconcile(&inputs(&logons_late), &tolerant).by_class[&Class::LogonWithoutEntry],
        0
    );
}
