//! The reconciliation itself: one pure function from the vault's facts and
//! the outside logs to a [`Report`]. Reads are judged one by one but
//! reported per person, day and class (a person reading from outside the
//! area all afternoon is one discrepancy with a count, not three hundred);
//! everything is sorted, so the same inputs give the same report.

use std::collections::{BTreeMap, HashMap, HashSet};

use mamori_core::jst;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    logon::{self, LogonEvent, Session},
    people::{Hosts, People},
    room::{self, Contradiction, Presence, RoomEvent},
};

/// A vault read (`record.search`, `record.read`) as its audit event records it.
#[derive(Clone, Debug)]
pub struct Read {
    pub log: String,
    pub seq: u64,
    pub at: i64,
    pub login: String,
    pub tenant: String,
    pub purpose: String,
    pub case_id: Option<String>,
    /// The address the request came from.
    pub client: Option<String>,
    /// Grants it showed records under.
    pub grants: Vec<String>,
    /// Records it showed under standing access (not under a grant).
    pub standing_records: usize,
    /// Records it showed in all.
    pub records: usize,
}

/// An approved access request: its window, ended early if it was revoked.
#[derive(Clone, Debug)]
pub struct Grant {
    pub id: String,
    pub login: String,
    pub tenant: String,
    pub purpose: String,
    pub case_id: String,
    pub from: i64,
    pub to: i64,
}

/// Standing access to a tenant (an assignment), from when it was recorded
/// to when it ended (None: still held).
#[derive(Clone, Debug)]
pub struct Standing {
    pub login: String,
    pub tenant: String,
    pub from: i64,
    pub to: Option<i64>,
}

/// The period reconciled: `[from, to)`, Unix seconds.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Period {
    pub from: i64,
    pub to: i64,
}

/// Tolerances, recorded in the report.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Clock skew allowed between the vault, the door system and the PCs.
    pub skew_s: i64,
    /// A logon session without a recorded logoff ends this long after it began.
    pub max_session_h: i64,
    /// An entry without an exit counts as presence this long at most.
    pub max_stay_h: i64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            skew_s: 120,
            max_session_h: 12,
            max_stay_h: 16,
        }
    }
}

/// Everything a run joins.
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    pub period: Period,
    /// Reads from before the period count only as a grant's use.
    pub reads: &'a [Read],
    pub grants: &'a [Grant],
    pub standing: &'a [Standing],
    /// Pre-applications (login, Japan day): outside ones and shifts. A
    /// grant's days count too.
    pub applications: &'a [(String, i64)],
    pub people: &'a People,
    /// The dedicated PCs; without them, where a read came from is not checked.
    pub hosts: Option<&'a Hosts>,
    pub rooms: &'a [RoomEvent],
    pub logons: &'a [LogonEvent],
}

/// The kinds of discrepancy, in the order a report lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// A vault read no grant or assignment covers.
    ReadWithoutCoverage,
    /// A vault read while the reader was not inside the secure area.
    ReadOutsideArea,
    /// A vault read from an address that is no dedicated PC.
    ReadFromOtherMachine,
    /// A vault read from a dedicated PC on which nobody was logged on.
    ReadWithoutLogon,
    /// A vault read from a dedicated PC on which someone else was logged on.
    ReadOnAnotherLogon,
    /// A PC logon while the person was not inside the secure area.
    LogonWithoutEntry,
    /// An entry into the secure area on a day without a pre-application.
    EntryWithoutApplication,
    /// The door log contradicts itself (see `kind`).
    PresenceContradiction,
    /// An approved grant whose window ended unused.
    GrantUnused,
    /// A badge, PC account or vault login the person map does not name.
    Unmapped,
}

impl Class {
    pub const ALL: [Class; 10] = [
        Class::ReadWithoutCoverage,
        Class::ReadOutsideArea,
        Class::ReadFromOtherMachine,
        Class::ReadWithoutLogon,
        Class::ReadOnAnotherLogon,
        Class::LogonWithoutEntry,
        Class::EntryWithoutApplication,
        Class::PresenceContradiction,
        Class::GrantUnused,
        Class::Unmapped,
    ];

    pub fn parse(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Class::ReadWithoutCoverage => "read_without_coverage",
            Class::ReadOutsideArea => "read_outside_area",
            Class::ReadFromOtherMachine => "read_from_other_machine",
            Class::ReadWithoutLogon => "read_without_logon",
            Class::ReadOnAnotherLogon => "read_on_another_logon",
            Class::LogonWithoutEntry => "logon_without_entry",
            Class::EntryWithoutApplication => "entry_without_application",
            Class::PresenceContradiction => "presence_contradiction",
            Class::GrantUnused => "grant_unused",
            Class::Unmapped => "unmapped",
        }
    }

    /// What it is called, in Japanese and in English (reports, the console).
    pub fn title(self) -> (&'static str, &'static str) {
        match self {
            Class::ReadWithoutCoverage => {
                ("権限・承認のない閲覧", "read without a grant or assignment")
            }
            Class::ReadOutsideArea => {
                ("専用エリア外での閲覧", "read while outside the secure area")
            }
            Class::ReadFromOtherMachine => (
                "専用PC以外からの閲覧",
                "read from a machine that is no dedicated PC",
            ),
            Class::ReadWithoutLogon => (
                "ログオンのない専用PCからの閲覧",
                "read from a dedicated PC nobody was logged on to",
            ),
            Class::ReadOnAnotherLogon => ("他人のログオン中の閲覧", "read on someone else's logon"),
            Class::LogonWithoutEntry => ("入室記録のないログオン", "PC logon without a room entry"),
            Class::EntryWithoutApplication => {
                ("事前申請のない入室", "room entry without a pre-application")
            }
            Class::PresenceContradiction => ("入退室記録の矛盾", "contradictory door records"),
            Class::GrantUnused => ("未使用の承認済み権限", "approved grant never used"),
            Class::Unmapped => (
                "対応表にない識別子",
                "identifier missing from the person map",
            ),
        }
    }
}

/// Where a discrepancy's evidence is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Evidence {
    /// An audit event.
    Audit { log: String, seq: u64 },
    /// A line of the door log.
    Rooms { line: usize },
    /// A line of the PC events (a session's 4624).
    Logons { line: usize },
    /// An access request.
    Grant { id: String },
}

/// Evidence kept per discrepancy; `count` says how many there were.
const EVIDENCE_KEPT: usize = 20;

/// One discrepancy, waiting for a disposition.
#[derive(Clone, Debug, Serialize)]
pub struct Discrepancy {
    /// Stable across runs over the same inputs.
    pub id: String,
    pub class: Class,
    /// The vault login; for `unmapped`, `badge:…`, `account:…` or `login:…`.
    pub person: String,
    /// Japan date of the first occurrence.
    pub day: String,
    /// The first occurrence (RFC 3339, Japan time).
    pub at: String,
    /// Occurrences (reads, events) it stands for.
    pub count: usize,
    /// What kind, where a class has kinds (a contradiction's, a read's tenant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The first occurrences' evidence (at most 20).
    pub evidence: Vec<Evidence>,
}

/// What went in, in figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub reads: usize,
    pub grants: usize,
    pub standing: usize,
    pub applications: usize,
    pub people: usize,
    pub hosts: usize,
    pub room_events: usize,
    pub room_events_refused: usize,
    pub sessions: usize,
    pub sessions_end_unknown: usize,
}

/// A run's result.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub period: Period,
    pub params: Params,
    pub counts: Counts,
    /// Discrepancies per class (every class listed, zeros too).
    pub by_class: BTreeMap<Class, usize>,
    /// Checks that could not be made, and why.
    pub not_checked: Vec<String>,
    pub discrepancies: Vec<Discrepancy>,
}

/// Occurrences gathered per (class, person, day, kind).
#[derive(Default)]
struct Found {
    groups: BTreeMap<(Class, String, i64, Option<String>), Group>,
}

struct Group {
    first: i64,
    count: usize,
    /// The earliest evidence, whatever order it came in (kept at most
    /// twice the limit between trims).
    evidence: Vec<(i64, Evidence)>,
}

impl Group {
    fn keep(&mut self, at: i64, e: Evidence) {
        self.evidence.push((at, e));
        if self.evidence.len() >= 2 * EVIDENCE_KEPT {
            self.trim();
        }
    }

    fn trim(&mut self) {
        self.evidence.sort();
        self.evidence.dedup();
        self.evidence.truncate(EVIDENCE_KEPT);
    }
}

impl Found {
    fn add(&mut self, class: Class, person: &str, at: i64, kind: Option<&str>, evidence: Evidence) {
        let day = match class {
            // One per identifier, whatever the day.
            Class::Unmapped => 0,
            _ => jst::day(at),
        };
        let g = self
            .groups
            .entry((class, person.to_owned(), day, kind.map(str::to_owned)))
            .or_insert(Group {
                first: at,
                count: 0,
                evidence: Vec::new(),
            });
        g.first = g.first.min(at);
        g.count += 1;
        g.keep(at, evidence);
    }

    fn into_discrepancies(self) -> Vec<Discrepancy> {
        let mut out: Vec<Discrepancy> = self
            .groups
            .into_iter()
            .map(|((class, person, _, kind), mut g)| {
                g.trim();
                let day = jst::date(g.first)
                    .map(|d| d.to_string())
                    .unwrap_or_default();
                let mut h = Sha256::new();
                for part in [class.as_str(), &person, &day, kind.as_deref().unwrap_or("")] {
                    h.update((part.len() as u64).to_be_bytes());
                    h.update(part.as_bytes());
                }
                let id = hex::encode(&h.finalize()[..16]);
                Discrepancy {
                    id,
                    class,
                    person,
                    day,
                    at: jst::rfc3339(g.first),
                    count: g.count,
                    kind,
                    evidence: g.evidence.into_iter().map(|(_, e)| e).collect(),
                }
            })
            .collect();
        out.sort_by(|a, b| {
            (&a.day, a.class, &a.person, &a.kind).cmp(&(&b.day, b.class, &b.person, &b.kind))
        });
        out
    }
}

/// Runs the reconciliation over reads held in memory.
pub fn reconcile(i: &Inputs<'_>, p: &Params) -> Report {
    let mut r = Reconciler::new(*i, p);
    for read in i.reads {
        r.read(read);
    }
    r.finish()
}

/// A reconciliation fed its reads one at a time (the vault streams them
/// from the audit log, so a month of reads is never held in memory): the
/// door log, sessions, grants and standing access are prepared first.
pub struct Reconciler<'a> {
    i: Inputs<'a>,
    p: Params,
    found: Found,
    not_checked: Vec<String>,
    presence: HashMap<String, Presence>,
    empty: Presence,
    /// Sessions by host then start; `on_host` holds each host's range.
    sessions: Vec<Session>,
    on_host: HashMap<String, std::ops::Range<usize>>,
    grants: Grants<'a>,
    standing: HashMap<(&'a str, &'a str), Vec<&'a Standing>>,
    used: HashSet<String>,
    reads: usize,
    applications: usize,
}

impl<'a> Reconciler<'a> {
    /// Everything but the reads (`i.reads` is not looked at).
    pub fn new(i: Inputs<'a>, p: &Params) -> Self {
        let mut r = Reconciler {
            i,
            p: *p,
            found: Found::default(),
            not_checked: Vec::new(),
            presence: HashMap::new(),
            empty: Presence::default(),
            sessions: Vec::new(),
            on_host: HashMap::new(),
            grants: Grants::default(),
            standing: HashMap::new(),
            used: HashSet::new(),
            reads: 0,
            applications: 0,
        };
        r.doors();
        r.logons();
        for g in i.grants {
            r.grants.by_id.insert(&g.id, g);
            r.grants.by_login.entry(&g.login).or_default().push(g);
        }
        for s in i.standing {
            r.standing.entry((&s.login, &s.tenant)).or_default().push(s);
        }
        if i.hosts.is_none() {
            r.not_checked.push(
                "read_from_other_machine, read_without_logon, read_on_another_logon: no host map was given"
                    .to_owned(),
            );
        }
        r
    }

    fn in_period(&self, at: i64) -> bool {
        self.i.period.from <= at && at < self.i.period.to
    }

    fn presence_of(&self, login: &str) -> &Presence {
        self.presence.get(login).unwrap_or(&self.empty)
    }

    /// Presence person by person, its contradictions, and entries on days
    /// without a pre-application.
    fn doors(&mut self) {
        let i = self.i;
        let mut doors: HashMap<&str, Vec<&RoomEvent>> = HashMap::new();
        for e in i.rooms {
            let login = match (&e.login, &e.badge) {
                (Some(l), _) => Some(l.as_str()),
                (None, Some(b)) => i.people.by_badge(b),
                (None, None) => None,
            };
            match login {
                Some(l) => doors.entry(l).or_default().push(e),
                None if self.in_period(e.at) => {
                    let id = format!("badge:{}", e.badge.as_deref().unwrap_or(""));
                    let ev = Evidence::Rooms { line: e.line };
                    self.found
                        .add(Class::Unmapped, &id, e.at, Some("badge"), ev);
                }
                None => {}
            }
        }
        for (login, mut evs) in doors {
            evs.sort_by_key(|e| (e.at, e.line));
            let p = room::presence(&evs, self.p.max_stay_h * 3600, i.period.to);
            self.presence.insert(login.to_owned(), p);
        }
        // Pre-applications: outside ones, shifts, and every day a grant covers.
        let mut applied: HashSet<(&str, i64)> = i
            .applications
            .iter()
            .map(|(l, d)| (l.as_str(), *d))
            .collect();
        for g in i.grants {
            for day in jst::day(g.from)..=jst::day((g.to - 1).max(g.from)) {
                applied.insert((g.login.as_str(), day));
            }
        }
        self.applications = applied.len();
        let mut logins: Vec<&String> = self.presence.keys().collect();
        logins.sort();
        let mut found = Vec::new();
        for login in logins {
            let pres = &self.presence[login];
            for &(kind, at, line) in &pres.contradictions {
                let kind = Some(contradiction_name(kind));
                found.push((Class::PresenceContradiction, login.clone(), at, kind, line));
            }
            for (&day, &(at, line)) in &pres.entries {
                if !applied.contains(&(login.as_str(), day)) {
                    found.push((
                        Class::EntryWithoutApplication,
                        login.clone(),
                        at,
                        None,
                        line,
                    ));
                }
            }
        }
        for (class, login, at, kind, line) in found {
            if self.in_period(at) {
                self.found
                    .add(class, &login, at, kind, Evidence::Rooms { line });
            }
        }
    }

    /// Sessions; a logon needs its person inside.
    fn logons(&mut self) {
        let i = self.i;
        self.sessions = logon::sessions(i.logons, self.p.max_session_h * 3600, i.period.to);
        let mut k = 0;
        while k < self.sessions.len() {
            let host = self.sessions[k].host.clone();
            let end = k + self.sessions[k..].partition_point(|s| s.host == host);
            self.on_host.insert(host, k..end);
            k = end;
        }
        for s in &self.sessions {
            if !(i.period.from <= s.start && s.start < i.period.to) {
                continue;
            }
            let evidence = Evidence::Logons { line: s.line };
            match i.people.by_account(&s.domain, &s.account) {
                Some(login) => {
                    let inside = self
                        .presence
                        .get(login)
                        .is_some_and(|p| p.contains(s.start, self.p.skew_s));
                    if !inside {
                        let kind = s.remote.then_some("remote");
                        self.found
                            .add(Class::LogonWithoutEntry, login, s.start, kind, evidence);
                    }
                }
                None => {
                    let id = format!("account:{}\\{}", s.domain, s.account);
                    self.found
                        .add(Class::Unmapped, &id, s.start, Some("pc_account"), evidence);
                }
            }
        }
    }

    /// Judges one read. Reads from before the period count only as the use
    /// of the grants they were made under.
    pub fn read(&mut self, r: &Read) {
        for g in &r.grants {
            if !self.used.contains(g) {
                self.used.insert(g.clone());
            }
        }
        if !self.in_period(r.at) {
            return;
        }
        self.reads += 1;
        let evidence = || Evidence::Audit {
            log: r.log.clone(),
            seq: r.seq,
        };
        if !covered(r, &self.grants, &self.standing) {
            let kind = Some(r.tenant.as_str());
            self.found
                .add(Class::ReadWithoutCoverage, &r.login, r.at, kind, evidence());
        }
        if !self.i.people.knows(&r.login) {
            let id = format!("login:{}", r.login);
            self.found
                .add(Class::Unmapped, &id, r.at, Some("vault_login"), evidence());
            return;
        }
        if !self.presence_of(&r.login).contains(r.at, self.p.skew_s) {
            self.found
                .add(Class::ReadOutsideArea, &r.login, r.at, None, evidence());
        }
        let Some(hosts) = self.i.hosts else { return };
        let Some(host) = r.client.as_deref().and_then(|c| hosts.at(c)) else {
            self.found.add(
                Class::ReadFromOtherMachine,
                &r.login,
                r.at,
                None,
                evidence(),
            );
            return;
        };
        let on_host = self
            .on_host
            .get(host)
            .map_or(&[][..], |range| &self.sessions[range.clone()]);
        let active = active_sessions(on_host, r.at, self.p.skew_s);
        let people = self.i.people;
        if active.is_empty() {
            self.found.add(
                Class::ReadWithoutLogon,
                &r.login,
                r.at,
                Some(host),
                evidence(),
            );
        } else if !active
            .iter()
            .any(|s| people.by_account(&s.domain, &s.account) == Some(r.login.as_str()))
        {
            let evidence = evidence();
            let others: Vec<(i64, usize)> = active.iter().map(|s| (s.start, s.line)).collect();
            let f = &mut self.found;
            f.add(
                Class::ReadOnAnotherLogon,
                &r.login,
                r.at,
                Some(host),
                evidence,
            );
            f.add_evidence(Class::ReadOnAnotherLogon, &r.login, r.at, host, &others);
        }
    }

    /// Grants left unused, and the report.
    pub fn finish(mut self) -> Report {
        let (i, period) = (self.i, self.i.period);
        for g in i.grants {
            if g.to > period.from && g.to <= period.to && !self.used.contains(g.id.as_str()) {
                let ev = Evidence::Grant { id: g.id.clone() };
                let at = g.from.max(period.from);
                self.found
                    .add(Class::GrantUnused, &g.login, at, Some(&g.tenant), ev);
            }
        }
        let discrepancies = self.found.into_discrepancies();
        let mut by_class: BTreeMap<Class, usize> = Class::ALL.iter().map(|c| (*c, 0)).collect();
        for d in &discrepancies {
            *by_class.entry(d.class).or_default() += 1;
        }
        let counts = Counts {
            reads: self.reads,
            grants: i.grants.len(),
            standing: i.standing.len(),
            applications: self.applications,
            people: i.people.len(),
            hosts: i.hosts.map_or(0, Hosts::len),
            room_events: i.rooms.len(),
            room_events_refused: i.rooms.iter().filter(|e| !e.ok).count(),
            sessions: self.sessions.len(),
            sessions_end_unknown: self.sessions.iter().filter(|s| !s.end_known).count(),
        };
        Report {
            period,
            params: self.p,
            counts,
            by_class,
            not_checked: self.not_checked,
            discrepancies,
        }
    }
}

impl Found {
    /// Adds the other people's sessions (start, line) as evidence of a read
    /// on their logon.
    fn add_evidence(
        &mut self,
        class: Class,
        login: &str,
        at: i64,
        host: &str,
        sessions: &[(i64, usize)],
    ) {
        let key = (class, login.to_owned(), jst::day(at), Some(host.to_owned()));
        if let Some(g) = self.groups.get_mut(&key) {
            for &(start, line) in sessions {
                g.keep(start, Evidence::Logons { line });
            }
        }
    }
}

fn contradiction_name(c: Contradiction) -> &'static str {
    match c {
        Contradiction::DoubleEntry => "double_entry",
        Contradiction::ExitWithoutEntry => "exit_without_entry",
        Contradiction::EntryWithoutExit => "entry_without_exit",
    }
}

/// Whether the vault's own governance records cover a read: each grant it
/// used was approved for this person, tenant, purpose and case and open at
/// the time; records shown outside a grant had an assignment behind them.
fn covered(
    r: &Read,
    grants: &Grants<'_>,
    standing: &HashMap<(&str, &str), Vec<&Standing>>,
) -> bool {
    let grant_covers = |g: &Grant| {
        g.login == r.login
            && g.tenant == r.tenant
            && g.purpose == r.purpose
            && r.case_id.as_deref() == Some(g.case_id.as_str())
            && g.from <= r.at
            && r.at < g.to
    };
    if !r.grants.iter().all(|id| {
        grants
            .by_id
            .get(id.as_str())
            .is_some_and(|g| grant_covers(g))
    }) {
        return false;
    }
    if r.standing_records == 0 && !r.grants.is_empty() {
        return true;
    }
    let held = standing
        .get(&(r.login.as_str(), r.tenant.as_str()))
        .is_some_and(|s| {
            s.iter()
                .any(|s| s.from <= r.at && s.to.is_none_or(|to| r.at < to))
        });
    // A search that showed nothing was allowed under standing access or any grant.
    held || (r.records == 0
        && grants
            .by_login
            .get(r.login.as_str())
            .is_some_and(|gs| gs.iter().any(|g| grant_covers(g))))
}

/// The grants, by id and by person.
#[derive(Default)]
struct Grants<'a> {
    by_id: HashMap<&'a str, &'a Grant>,
    by_login: HashMap<&'a str, Vec<&'a Grant>>,
}

/// The sessions on one host someone could work in at `at` (sessions sorted
/// by start; a host has some tens a month, so those begun by then are all
/// looked at — a session with a recorded logoff may last any time).
fn active_sessions(sessions: &[Session], at: i64, skew: i64) -> Vec<&Session> {
    let end = sessions.partition_point(|s| s.start - skew <= at);
    sessions[..end]
        .iter()
        .filter(|s| s.active(at, skew))
        .collect()
}
