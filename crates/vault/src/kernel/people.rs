//! What the gate knows about a person: assignments, live grants, training,
//! compliance, vendor and household — cached per person and refreshed
//! whenever the store's governance revision moves — and the people-gate
//! verdicts evaluated at a request's second (A7, A8). The records are kept
//! by `admin/people.rs`.

use std::{collections::HashMap, sync::Arc};

use mamori_core::governance::CLAUSES;
use mamori_policy::Principal;
use mamori_store::{AccessRequestRow, Assignment, ComplianceRow, TrainingRow, UserRow, VendorRow};
use parking_lot::Mutex;
use serde::Serialize;

use crate::{
    Vault,
    error::{Result, VaultError},
    kernel::household::Household,
    rules::{LimitsConfig, PeopleConfig},
};

pub(crate) const DAY: i64 = 86_400;

/// Everything about one person the gate needs, as of one governance revision.
#[derive(Debug)]
pub struct PersonFacts {
    /// The person as stored, `facts_rev` included: the facts below were
    /// read at that revision.
    pub user: UserRow,
    pub assignments: Vec<Assignment>,
    /// Approved, unrevoked grants that had not ended when loaded.
    pub grants: Vec<AccessRequestRow>,
    pub training: Vec<TrainingRow>,
    pub compliance: Vec<ComplianceRow>,
    pub vendor: Option<VendorRow>,
    /// The person's household as HR gave it (tokens only), for rule 14.
    pub household: Option<Household>,
}

/// The time-dependent verdicts on a person, evaluated at the request's second.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeopleStatus {
    pub training_current: bool,
    pub compliance_required: bool,
    pub compliance_current: bool,
    pub vendor_valid: bool,
}

impl PersonFacts {
    /// Grants whose window contains `now`.
    pub fn live_grants(&self, now: i64) -> impl Iterator<Item = &AccessRequestRow> {
        self.grants
            .iter()
            .filter(move |g| g.starts_at <= now && now < g.ends_at)
    }

    /// Whether any standing assignment or live grant names `tenant`: the
    /// only ways to a tenant's customer data (the vault's tenant door).
    pub fn reaches(&self, tenant: &str, now: i64) -> bool {
        self.assignments.iter().any(|a| a.tenant == tenant)
            || self.live_grants(now).any(|g| g.tenant == tenant)
    }

    /// Whether the person holds standing access to every segment of `tenant`.
    pub fn holds_full_access(&self, tenant: &str) -> bool {
        self.assignments
            .iter()
            .any(|a| a.tenant == tenant && a.segment.is_none())
    }

    /// When the latest pass of `course` completed by `now` ends (in the
    /// past once it lapsed); None if it was never passed. Current exactly
    /// when that end is after `now`.
    pub fn pass_until(&self, course: &str, pass_score: u32, now: i64) -> Option<i64> {
        (self.training.iter())
            .filter(|t| t.course == course && t.score >= pass_score)
            .filter(|t| t.completed_at <= now)
            .map(|t| t.expires_at)
            .max()
    }

    pub fn status(&self, now: i64, people: &PeopleConfig, limits: &LimitsConfig) -> PeopleStatus {
        let training_current = (people.required_courses.iter())
            .all(|course| self.pass_until(course, people.pass_score, now) > Some(now));
        let compliance_current = self
            .compliance
            .iter()
            .any(|c| c.confirmed_at <= now && now < c.expires_at);
        let heavy_grant = self
            .live_grants(now)
            .any(|g| g.record_budget > people.compliance_threshold);
        let compliance_required =
            limits.daily_records_for(&self.user.role) > people.compliance_threshold || heavy_grant;
        let vendor_valid = match (&self.user.vendor, &self.vendor) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(_), Some(v)) => vendor_in_force(v, now),
        };
        PeopleStatus {
            training_current,
            compliance_required,
            compliance_current,
            vendor_valid,
        }
    }

    /// The principal for the gate: standing assignments, people verdicts, no grants.
    pub fn principal(&self, status: PeopleStatus) -> Principal {
        let mut p = Principal::new(
            &self.user.login,
            &self.user.role,
            self.assignments
                .iter()
                .map(|a| (a.tenant.clone(), a.segment.clone()))
                .collect(),
        );
        p.department = self.user.department.clone();
        p.vendor = self.user.vendor.clone();
        p.training_current = status.training_current;
        p.compliance_required = status.compliance_required;
        p.compliance_current = status.compliance_current;
        p.vendor_valid = status.vendor_valid;
        p
    }
}

/// In force now, with every required clause confirmed.
pub fn vendor_in_force(v: &VendorRow, now: i64) -> bool {
    v.contract_start <= now
        && now < v.contract_end
        && CLAUSES
            .iter()
            .all(|(id, _, _)| v.clauses.iter().any(|c| c == id))
}

/// Per-person facts, reloaded when that person's revision (`facts_rev`,
/// moved by the store's triggers on their assignments, requests, training,
/// compliance, household and vendor) or their user row changes — not when
/// anyone else's does.
#[derive(Default)]
pub(crate) struct PeopleCache {
    by_login: Mutex<HashMap<String, Arc<PersonFacts>>>,
    /// One loader per person at a time: the requests a person has in flight
    /// when their revision moves wait for one reload instead of each doing
    /// it (the soak's operators had eight requests in flight each).
    loading: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl PeopleCache {
    pub(crate) fn get(&self, vault: &Vault, user: UserRow) -> Result<Arc<PersonFacts>> {
        if let Some(f) = self.cached(&user) {
            return Ok(f);
        }
        let gate = self
            .loading
            .lock()
            .entry(user.login.clone())
            .or_default()
            .clone();
        let _one = gate.lock();
        if let Some(f) = self.cached(&user) {
            return Ok(f);
        }
        let facts = Arc::new(load(vault, user)?);
        self.by_login
            .lock()
            .insert(facts.user.login.clone(), facts.clone());
        Ok(facts)
    }

    fn cached(&self, user: &UserRow) -> Option<Arc<PersonFacts>> {
        self.by_login
            .lock()
            .get(&user.login)
            .filter(|f| f.user == *user)
            .cloned()
    }
}

/// What the gate knows of `user`, read from the store.
fn load(vault: &Vault, user: UserRow) -> Result<PersonFacts> {
    let store = vault.store.as_ref();
    let vendor = match &user.vendor {
        Some(v) => store.vendor(v)?,
        None => None,
    };
    Ok(PersonFacts {
        assignments: store.assignments(&user.login)?,
        grants: store.live_grants(&user.login, vault.now())?,
        training: store.training(&user.login)?,
        compliance: store.compliance(&user.login)?,
        vendor,
        household: household(store, &user.login)?,
        user,
    })
}

/// A person's stored household; bytes that do not decode are an error, not
/// a silent "no household" (that would switch the rule off unnoticed).
fn household(store: &dyn mamori_store::UserStore, login: &str) -> Result<Option<Household>> {
    match store.household(login)? {
        None => Ok(None),
        Some(b) => Household::decode(&b).map(Some).ok_or_else(|| {
            VaultError::Internal(format!("household of '{login}': unreadable tokens"))
        }),
    }
}
