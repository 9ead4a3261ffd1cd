//! What a review campaign puts in front of a reviewer, taken once when the
//! campaign opens: the entitlements in scope (segment assignments, standing
//! full access, privileged roles), who gave each one (from the audit log),
//! and the vault's own evidence per entitlement — reads and distinct
//! customers under it in the evidence window, last use, open alerts about
//! the person, training, and how many of the person's department hold the
//! same thing. Each closed Japan day's use is summarised once from the audit
//! log and kept (`usage`); a campaign reads the window's summaries and walks
//! only what is not summarised yet.

use std::collections::{HashMap, HashSet};

use mamori_core::Role;
use mamori_core::jst::{day as jst_day, day_start};
use mamori_store::{AlertFilter, AlertState, AuditRow, RequestState, UsageRow, UserRow};
use serde::{Deserialize, Serialize};

use super::period::is_read;
use crate::{
    Vault,
    error::{Result, VaultError},
};

/// What kind of entitlement an item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An assignment to one segment of a tenant.
    Segment,
    /// Standing access to every segment of a tenant (an approved nomination).
    FullAccess,
    /// A privileged role (supervisor, security officer, auditor, sysadmin):
    /// revoking it ends the account.
    Role,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Segment => "segment",
            Kind::FullAccess => "full_access",
            Kind::Role => "role",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::Segment, Kind::FullAccess, Kind::Role]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Roles whose holding is itself reviewed.
pub const PRIVILEGED: [Role; 4] = [
    Role::Supervisor,
    Role::SecurityOfficer,
    Role::Auditor,
    Role::Sysadmin,
];

/// Which entitlements a campaign covers; every filter given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scope {
    pub tenant: Option<String>,
    pub segment: Option<String>,
    /// The reviewees' role.
    pub role: Option<String>,
    pub department: Option<String>,
    pub vendor: Option<String>,
    /// Kinds of entitlement; segment and full access when empty.
    #[serde(default)]
    pub kinds: Vec<Kind>,
}

impl Scope {
    pub(crate) fn kinds(&self) -> Vec<Kind> {
        if self.kinds.is_empty() {
            vec![Kind::Segment, Kind::FullAccess]
        } else {
            self.kinds.clone()
        }
    }

    fn person(&self, u: &UserRow) -> bool {
        self.role.as_deref().is_none_or(|r| r == u.role)
            && self
                .department
                .as_deref()
                .is_none_or(|d| u.department.as_deref() == Some(d))
            && self
                .vendor
                .as_deref()
                .is_none_or(|v| u.vendor.as_deref() == Some(v))
    }

    fn place(&self, tenant: &str, segment: Option<&str>) -> bool {
        self.tenant.as_deref().is_none_or(|t| t == tenant)
            && self.segment.as_deref().is_none_or(|s| Some(s) == segment)
    }
}

/// A person with their assignments (`Vault::users`), read once per campaign.
pub(crate) type Staff = (UserRow, Vec<mamori_store::Assignment>);

/// One entitlement in scope, before a reviewer is chosen.
#[derive(Clone, Debug)]
pub(crate) struct Entitlement {
    pub kind: Kind,
    pub user: UserRow,
    pub tenant: Option<String>,
    /// The segment, the nomination id, or the role.
    pub target: String,
    pub grantor: Option<String>,
}

/// The vault's facts about one entitlement, as of the campaign's opening.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    /// Days of activity the counts cover.
    pub days: u32,
    /// Reads under the entitlement (for a role: actions taken).
    pub reads: u64,
    /// Distinct customers shown under it (0 for a role).
    pub customers: u64,
    /// The last such read or action (Japan time), if any in the window.
    pub last_use: Option<String>,
    /// Alerts about the person not yet resolved.
    pub open_alerts: u64,
    pub training_current: bool,
    /// Others of the person's department who hold the same entitlement.
    pub peers_holding: u64,
    /// People in the person's department (the person included).
    pub department_size: u64,
    /// `revoke` when the entitlement was not used in the window (computed
    /// once, at opening, like Entra's "no sign-in" recommendation).
    pub recommendation: Option<String>,
}

/// Use of one entitlement in the window.
#[derive(Default)]
struct Use {
    reads: u64,
    last: i64,
    customers: HashSet<[u8; 16]>,
}

impl Use {
    fn add(&mut self, at: i64, records: &[[u8; 16]]) {
        self.reads += 1;
        self.last = self.last.max(at);
        self.customers.extend(records.iter().copied());
    }
}

/// Use over a stretch of the log (a day being summarised, or the part of
/// the window not yet summarised): per (login, tenant) and per (login,
/// tenant, segment) standing reads, per login every action.
#[derive(Default)]
struct Usage {
    tenant: HashMap<(String, String), Use>,
    segment: HashMap<(String, String, String), Use>,
    acts: HashMap<String, Use>,
}

/// The members of a read's event the evidence needs.
#[derive(Deserialize)]
struct ReadEvent<'a> {
    #[serde(default, borrow)]
    records: Vec<&'a str>,
    #[serde(default, borrow)]
    detail: ReadDetail<'a>,
}

#[derive(Default, Deserialize)]
struct ReadDetail<'a> {
    /// Grant id → the records shown under it (not standing use).
    #[serde(default, borrow)]
    grants: HashMap<&'a str, Vec<&'a str>>,
    #[serde(default, borrow)]
    segments: Vec<&'a str>,
}

impl Vault {
    /// The entitlements `scope` covers among `staff` (people with their
    /// assignments, as `Vault::users` reads them), held by people still
    /// active now, each with the person who gave it where the log says.
    pub(crate) fn entitlements_in(
        &self,
        scope: &Scope,
        now: i64,
        staff: &[Staff],
    ) -> Result<Vec<Entitlement>> {
        let kinds = scope.kinds();
        let grantors = self.grantors()?;
        let mut out = Vec::new();
        for (user, assignments) in staff {
            if !active(user, now) || !scope.person(user) {
                continue;
            }
            for a in assignments {
                let kind = match a.segment {
                    Some(_) => Kind::Segment,
                    None => Kind::FullAccess,
                };
                if !kinds.contains(&kind) || !scope.place(&a.tenant, a.segment.as_deref()) {
                    continue;
                }
                let (target, grantor) = match &a.segment {
                    Some(seg) => (
                        seg.clone(),
                        grantors
                            .get(&assign_key(&user.login, &a.tenant, seg))
                            .cloned(),
                    ),
                    None => match self.holding(&a.tenant, &user.login)? {
                        Some(found) => found,
                        None => continue, // a holder without an approval on record is nobody's to review here
                    },
                };
                out.push(Entitlement {
                    kind,
                    user: user.clone(),
                    tenant: Some(a.tenant.clone()),
                    target,
                    grantor,
                });
            }
            let privileged = user
                .role
                .parse::<Role>()
                .is_ok_and(|r| PRIVILEGED.contains(&r));
            if kinds.contains(&Kind::Role) && privileged && scope.tenant.is_none() {
                out.push(Entitlement {
                    kind: Kind::Role,
                    grantor: grantors.get(&create_key(&user.login)).cloned(),
                    target: user.role.clone(),
                    user: user.clone(),
                    tenant: None,
                });
            }
        }
        Ok(out)
    }

    /// The approved nomination behind a whole-tenant assignment: its id and
    /// who approved it.
    fn holding(&self, tenant: &str, login: &str) -> Result<Option<(String, Option<String>)>> {
        Ok(self
            .store
            .full_access(tenant)?
            .into_iter()
            .find(|n| n.login == login && n.state == RequestState::Approved)
            .map(|n| (n.id.to_string(), n.decided_by)))
    }

    /// Who made each assignment (the latest `user.assign` for it) and who
    /// created each account, as the log records: logins for people, the
    /// CLI actor (`cli:<os user>`) otherwise.
    fn grantors(&self) -> Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        for action in ["user.assign", "user.create"] {
            self.each_event(action, None, |_, e| {
                let d = &e.event.detail;
                let login = d.get("login").and_then(|v| v.as_str()).unwrap_or_default();
                let key = match (action, e.event.tenant.as_deref()) {
                    ("user.create", _) => create_key(login),
                    (_, Some(t)) => {
                        let seg = d.get("segment").and_then(|v| v.as_str());
                        assign_key(login, t, seg.unwrap_or_default())
                    }
                    _ => return Ok(()),
                };
                let actor = e
                    .event
                    .actor
                    .strip_prefix("user:")
                    .unwrap_or(&e.event.actor);
                out.insert(key, actor.to_owned());
                Ok(())
            })?;
        }
        Ok(out)
    }

    /// The evidence for each entitlement, in order. The window is the last
    /// `days` Japan days and today: closed days from their summaries (each
    /// day summarised once from the audit log, here or by the schedule),
    /// the rest walked from the log.
    pub(crate) fn evidence(
        &self,
        items: &[Entitlement],
        days: u32,
        now: i64,
        staff: &[Staff],
    ) -> Result<Vec<Evidence>> {
        let first = jst_day(now) - i64::from(days);
        let closed = self.summarise_days(first, now)?;
        let people: HashSet<&str> = items.iter().map(|e| e.user.login.as_str()).collect();
        let mut live = Usage::default();
        self.walk_period(day_start(closed + 1), now + 1, |row| {
            live.add(row, |login| people.contains(login))
        })?;
        let mut totals = Totals::default();
        let mut group = Group::default();
        self.store.each_usage(first, closed, &mut |r| {
            if people.contains(r.login.as_str()) {
                group.take(r, &live, &mut totals);
            }
            Ok(())
        })?;
        group.finish(&live, &mut totals);
        totals.live_only(live);
        let departments = Departments::of(staff, now);
        let alerts = self.open_alerts(&people)?;
        let mut out = Vec::with_capacity(items.len());
        for e in items {
            let u = totals.of(e);
            let facts = self.people.get(self, e.user.clone())?;
            let status = facts.status(now, &self.rules.people, &self.rules.limits);
            let (peers, size) = departments.peers(e);
            out.push(Evidence {
                days,
                reads: u.map_or(0, |u| u.reads),
                customers: u.map_or(0, |u| u.customers),
                last_use: u.map(|u| mamori_core::jst::rfc3339(u.last)),
                open_alerts: alerts.get(e.user.login.as_str()).copied().unwrap_or(0),
                training_current: status.training_current,
                peers_holding: peers,
                department_size: size,
                recommendation: u.is_none().then(|| "revoke".to_owned()),
            });
        }
        Ok(out)
    }

    /// Summarises every closed Japan day from `first` on that is not yet
    /// (a day is closed a minute after it ended: events are stamped at
    /// their commit); returns the last closed day.
    pub(crate) fn summarise_days(&self, first: i64, now: i64) -> Result<i64> {
        let closed = jst_day(now - 60) - 1;
        let done: HashSet<i64> = self.store.usage_days(first, closed)?.into_iter().collect();
        for day in (first..=closed).filter(|d| !done.contains(d)) {
            let mut u = Usage::default();
            self.walk_period(day_start(day), day_start(day + 1), |row| {
                u.add(row, |_| true)
            })?;
            self.store.put_usage_day(day, &u.rows(day))?;
        }
        Ok(closed)
    }

    /// Unresolved alerts about each of `people`.
    fn open_alerts(&self, people: &HashSet<&str>) -> Result<HashMap<String, u64>> {
        let mut out: HashMap<String, u64> = HashMap::new();
        for state in [AlertState::Open, AlertState::Acknowledged] {
            let found = self.store.alerts(&AlertFilter {
                state: Some(state),
                limit: usize::MAX,
                ..AlertFilter::default()
            })?;
            for a in found.iter().filter(|a| people.contains(a.login.as_str())) {
                *out.entry(a.login.clone()).or_default() += 1;
            }
        }
        Ok(out)
    }
}

impl Usage {
    /// Counts one event of the log if its actor is a person `wanted`.
    fn add(&mut self, row: &AuditRow, wanted: impl Fn(&str) -> bool) -> Result<()> {
        let Some(login) = row.actor.strip_prefix("user:") else {
            return Ok(());
        };
        if !wanted(login) {
            return Ok(());
        }
        let at = row.ts.div_euclid(1_000_000);
        self.acts.entry(login.to_owned()).or_default().add(at, &[]);
        match row.tenant.as_deref() {
            Some(tenant) if is_read(row) => self.read(row, login, tenant, at),
            _ => Ok(()),
        }
    }

    fn read(&mut self, row: &AuditRow, login: &str, tenant: &str, at: i64) -> Result<()> {
        let e: ReadEvent<'_> = serde_json::from_slice(&row.body)
            .map_err(|_| VaultError::Internal("stored audit event does not parse".into()))?;
        let granted: HashSet<&str> = e.detail.grants.values().flatten().copied().collect();
        let standing: Vec<[u8; 16]> = e
            .records
            .iter()
            .filter(|r| !granted.contains(*r))
            .filter_map(|r| {
                let mut b = [0u8; 16];
                hex::decode_to_slice(r, &mut b).ok().map(|()| b)
            })
            .collect();
        if standing.is_empty() {
            return Ok(());
        }
        let key = (login.to_owned(), tenant.to_owned());
        self.tenant.entry(key).or_default().add(at, &[]);
        // A read names the segments of all its records; where it touched
        // several, each is credited with the read's customers.
        for seg in e.detail.segments {
            let key = (login.to_owned(), tenant.to_owned(), seg.to_owned());
            self.segment.entry(key).or_default().add(at, &standing);
        }
        Ok(())
    }

    /// A day's summary rows: the tenant's reads (customers are the union of
    /// its segments'), each segment's with its customers, every action.
    fn rows(self, day: i64) -> Vec<UsageRow> {
        let row = |login: String, tenant: String, segment: String, u: Use| {
            let mut ids: Vec<[u8; 16]> = u.customers.into_iter().collect();
            ids.sort_unstable();
            UsageRow {
                day,
                login,
                tenant,
                segment,
                reads: u.reads,
                last_at: u.last,
                records: ids.concat(),
            }
        };
        let mut out = Vec::new();
        for ((login, tenant), u) in self.tenant {
            out.push(row(login, tenant, String::new(), u));
        }
        for ((login, tenant, segment), u) in self.segment {
            out.push(row(login, tenant, segment, u));
        }
        for (login, u) in self.acts {
            out.push(row(login, String::new(), String::new(), u));
        }
        out
    }
}

/// What the window holds for one key: reads, last use, distinct customers.
#[derive(Clone, Copy, Debug, Default)]
struct Total {
    reads: u64,
    last: i64,
    customers: u64,
}

/// Per (login, tenant, segment) — segment empty for the tenant, tenant and
/// segment empty for a person's actions.
#[derive(Default)]
struct Totals(HashMap<(String, String, String), Total>);

impl Totals {
    fn of(&self, e: &Entitlement) -> Option<&Total> {
        let login = e.user.login.clone();
        let tenant = e.tenant.clone().unwrap_or_default();
        let key = match e.kind {
            Kind::Role => (login, String::new(), String::new()),
            Kind::FullAccess => (login, tenant, String::new()),
            Kind::Segment => (login, tenant, e.target.clone()),
        };
        self.0.get(&key)
    }

    /// Keys only the live part of the window has (no summary row).
    fn live_only(&mut self, live: Usage) {
        let mut put = |key: (String, String, String), u: &Use, customers: u64| {
            self.0.entry(key).or_insert(Total {
                reads: u.reads,
                last: u.last,
                customers,
            });
        };
        for ((l, t, s), u) in &live.segment {
            put(
                (l.clone(), t.clone(), s.clone()),
                u,
                u.customers.len() as u64,
            );
        }
        for ((l, t), u) in &live.tenant {
            let all: HashSet<&[u8; 16]> = live
                .segment
                .iter()
                .filter(|((sl, st, _), _)| sl == l && st == t)
                .flat_map(|(_, u)| u.customers.iter())
                .collect();
            put((l.clone(), t.clone(), String::new()), u, all.len() as u64);
        }
        for (l, u) in &live.acts {
            put((l.clone(), String::new(), String::new()), u, 0);
        }
    }
}

/// The summary rows of one (login, tenant), gathered as they stream by
/// (ordered by person, tenant, segment, day), then counted with the live
/// part of the window: one person's ids in memory at a time.
#[derive(Default)]
struct Group {
    login: String,
    tenant: String,
    /// segment → (reads, last, ids); "" for the tenant's own row.
    parts: HashMap<String, (u64, i64, Vec<[u8; 16]>)>,
}

impl Group {
    fn take(&mut self, r: UsageRow, live: &Usage, totals: &mut Totals) {
        if r.login != self.login || r.tenant != self.tenant {
            self.finish(live, totals);
            self.login = r.login;
            self.tenant = r.tenant;
        }
        let part = self.parts.entry(r.segment).or_default();
        part.0 += r.reads;
        part.1 = part.1.max(r.last_at);
        part.2.extend(
            r.records
                .chunks_exact(16)
                .filter_map(|c| <[u8; 16]>::try_from(c).ok()),
        );
    }

    fn finish(&mut self, live: &Usage, totals: &mut Totals) {
        let (login, tenant) = (
            std::mem::take(&mut self.login),
            std::mem::take(&mut self.tenant),
        );
        let mut all: Vec<[u8; 16]> = Vec::new();
        let parts = std::mem::take(&mut self.parts);
        let whole = parts.get("").map(|p| (p.0, p.1));
        for (segment, (reads, last, mut ids)) in parts {
            let key = (login.clone(), tenant.clone(), segment.clone());
            let mut total = Total {
                reads,
                last,
                customers: 0,
            };
            let now = if tenant.is_empty() {
                live.acts.get(&login)
            } else if segment.is_empty() {
                live.tenant.get(&(login.clone(), tenant.clone()))
            } else {
                live.segment
                    .get(&(login.clone(), tenant.clone(), segment.clone()))
            };
            if let Some(u) = now {
                total.reads += u.reads;
                total.last = total.last.max(u.last);
                ids.extend(u.customers.iter().copied());
            }
            if segment.is_empty() {
                totals.0.insert(key, total);
                continue;
            }
            ids.sort_unstable();
            ids.dedup();
            total.customers = ids.len() as u64;
            all.extend_from_slice(&ids);
            totals.0.insert(key, total);
        }
        // The tenant's customers: the union of its segments' (live included).
        if !tenant.is_empty() {
            for ((l, t, _), u) in &live.segment {
                if *l == login && *t == tenant {
                    all.extend(u.customers.iter().copied());
                }
            }
            all.sort_unstable();
            all.dedup();
            let key = (login, tenant, String::new());
            let entry = totals.0.entry(key).or_insert(Total {
                reads: whole.map_or(0, |w| w.0),
                last: whole.map_or(0, |w| w.1),
                customers: 0,
            });
            entry.customers = all.len() as u64;
        }
    }
}

/// Department sizes and who holds what in each.
#[derive(Default)]
struct Departments {
    size: HashMap<String, u64>,
    /// (department, tenant or "role", segment / "*" / role) → holders.
    holds: HashMap<(String, String, String), Vec<String>>,
}

impl Departments {
    /// Who is in each department of `staff` and what they hold.
    fn of(staff: &[Staff], now: i64) -> Departments {
        let mut d = Departments::default();
        for (user, assignments) in staff.iter().filter(|(u, _)| active(u, now)) {
            let dept = user.department.clone().unwrap_or_default();
            *d.size.entry(dept.clone()).or_default() += 1;
            d.holds
                .entry((dept.clone(), "role".into(), user.role.clone()))
                .or_default()
                .push(user.login.clone());
            for a in assignments {
                let what = a.segment.clone().unwrap_or_else(|| "*".into());
                d.holds
                    .entry((dept.clone(), a.tenant.clone(), what))
                    .or_default()
                    .push(user.login.clone());
            }
        }
        d
    }

    /// Others of the department holding the same, and the department's size.
    fn peers(&self, e: &Entitlement) -> (u64, u64) {
        let dept = e.user.department.clone().unwrap_or_default();
        let (place, what) = match e.kind {
            Kind::Role => ("role".to_owned(), e.user.role.clone()),
            Kind::FullAccess => (e.tenant.clone().unwrap_or_default(), "*".to_owned()),
            Kind::Segment => (e.tenant.clone().unwrap_or_default(), e.target.clone()),
        };
        let holders = self.holds.get(&(dept.clone(), place, what)).map_or(0, |h| {
            h.iter().filter(|l| **l != e.user.login).count() as u64
        });
        (holders, self.size.get(&dept).copied().unwrap_or(0))
    }
}

/// Whether a person can act at `now` (not left, not suspended).
pub(crate) fn active(u: &UserRow, now: i64) -> bool {
    u.leaves_at.is_none_or(|t| t > now) && u.suspended_at.is_none()
}

fn assign_key(login: &str, tenant: &str, segment: &str) -> String {
    format!("a\u{0}{login}\u{0}{tenant}\u{0}{segment}")
}

fn create_key(login: &str) -> String {
    format!("c\u{0}{login}")
}
