//! What the gate knows about a person: assignments, live grants, training,
//! compliance and vendor — cached per person and refreshed whenever the
//! store's governance revision moves — and the security office's operations
//! that keep those records (A7, A8).

use crate::ErrorCode;
use mamori_core::ids::valid_login;
use std::{collections::HashMap, sync::Arc};

use mamori_audit::Event;
use mamori_core::governance::CLAUSES;
use mamori_policy::Principal;
use mamori_store::{AccessRequestRow, Assignment, ComplianceRow, TrainingRow, UserRow, VendorRow};
use parking_lot::Mutex;
use serde::Serialize;

use crate::{
    Caller, Vault,
    error::{Result, VaultError},
    rules::{LimitsConfig, PeopleConfig},
};

const DAY: i64 = 86_400;

/// Everything about one person the gate needs, as of one governance revision.
#[derive(Debug)]
pub struct PersonFacts {
    pub rev: u64,
    pub user: UserRow,
    pub assignments: Vec<Assignment>,
    /// Approved, unrevoked grants that had not ended when loaded.
    pub grants: Vec<AccessRequestRow>,
    pub training: Vec<TrainingRow>,
    pub compliance: Vec<ComplianceRow>,
    pub vendor: Option<VendorRow>,
    /// The person's household as HR gave it (tokens only), for rule 14.
    pub household: Option<crate::household::Household>,
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

    pub fn status(&self, now: i64, people: &PeopleConfig, limits: &LimitsConfig) -> PeopleStatus {
        let training_current = people.required_courses.iter().all(|course| {
            self.training.iter().any(|t| {
                &t.course == course
                    && t.score >= people.pass_score
                    && t.completed_at <= now
                    && now < t.expires_at
            })
        });
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

/// Per-person facts, reloaded when the governance revision changes.
#[derive(Default)]
pub(crate) struct PeopleCache {
    by_login: Mutex<HashMap<String, Arc<PersonFacts>>>,
}

impl PeopleCache {
    pub(crate) fn get(&self, vault: &Vault, user: UserRow, rev: u64) -> Result<Arc<PersonFacts>> {
        if let Some(f) = self.by_login.lock().get(&user.login)
            && f.rev == rev
        {
            return Ok(f.clone());
        }
        let store = vault.store.as_ref();
        let vendor = match &user.vendor {
            Some(v) => store.vendor(v)?,
            None => None,
        };
        let facts = Arc::new(PersonFacts {
            rev,
            assignments: store.assignments(&user.login)?,
            grants: store.live_grants(&user.login, vault.now())?,
            training: store.training(&user.login)?,
            compliance: store.compliance(&user.login)?,
            vendor,
            household: household(store, &user.login)?,
            user,
        });
        self.by_login
            .lock()
            .insert(facts.user.login.clone(), facts.clone());
        Ok(facts)
    }
}

/// A person's stored household; bytes that do not decode are an error, not
/// a silent "no household" (that would switch the rule off unnoticed).
fn household(
    store: &dyn mamori_store::UserStore,
    login: &str,
) -> Result<Option<crate::household::Household>> {
    match store.household(login)? {
        None => Ok(None),
        Some(b) => crate::household::Household::decode(&b)
            .map(Some)
            .ok_or_else(|| {
                crate::error::VaultError::Internal(format!(
                    "household of '{login}': unreadable tokens"
                ))
            }),
    }
}

/// A vendor as shown: its contract and which clauses are missing.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VendorView {
    #[serde(flatten)]
    pub row: VendorRow,
    pub in_force: bool,
    pub missing_clauses: Vec<String>,
}

/// Training and compliance of one person, and the verdict of the people gate.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonView {
    pub login: String,
    pub role: String,
    pub manager: Option<String>,
    pub vendor: Option<String>,
    pub training: Vec<TrainingRow>,
    pub compliance: Vec<ComplianceRow>,
    pub status: PeopleStatus,
    pub daily_record_budget: u64,
}

impl Vault {
    /// Refuses unless the policy lets `caller` keep people and vendor records.
    fn check_manage(&self, caller: &Caller, action: &str) -> Result<Event> {
        let decision = self.gate.decide_manage(&caller.principal);
        self.gated(
            self.caller_event(caller, action, "ok"),
            &decision,
            "only the security office keeps training, compliance, vendor and cap records",
        )
    }

    pub(crate) fn existing_user(&self, login: &str) -> Result<UserRow> {
        self.store
            .user(login)?
            .ok_or(VaultError::NotFound { what: "user" })
    }

    /// Records a passed (or failed) course and its test score.
    pub fn record_training(
        &self,
        caller: &Caller,
        login: &str,
        course: &str,
        score: u32,
        completed_at: Option<i64>,
    ) -> Result<TrainingRow> {
        let e = self.check_manage(caller, "people.training")?;
        self.existing_user(login)?;
        if !valid_login(course) {
            return Err(VaultError::bad(
                ErrorCode::CourseInvalid,
                "course ids are 2-64 lower-case letters, digits, '.', '_' or '-'",
            ));
        }
        if score > 100 {
            return Err(VaultError::bad(
                ErrorCode::ScoreInvalid,
                "score must be 0-100",
            ));
        }
        let now = self.now();
        let completed_at = completed_at.unwrap_or(now);
        if completed_at > now {
            return Err(VaultError::bad(
                ErrorCode::DateInFuture,
                "a course cannot be completed in the future",
            ));
        }
        let row = TrainingRow {
            login: login.to_owned(),
            course: course.to_owned(),
            completed_at,
            score,
            expires_at: completed_at + i64::from(self.rules.people.training_valid_days) * DAY,
            recorded_by: caller.principal.login.clone(),
        };
        self.audit.append(
            e.detail("login", login)
                .detail("course", course)
                .detail("score", score)
                .detail("expires_at", row.expires_at),
        )?;
        self.store.add_training(&row).map_err(|e| match e {
            mamori_store::StoreError::Conflict(_) => VaultError::Conflict(format!(
                "'{login}' already has course '{course}' recorded at that time"
            )),
            other => other.into(),
        })?;
        Ok(row)
    }

    /// Records an annual compliance confirmation (誓約書).
    pub fn record_compliance(
        &self,
        caller: &Caller,
        login: &str,
        confirmed_at: Option<i64>,
    ) -> Result<ComplianceRow> {
        let e = self.check_manage(caller, "people.compliance")?;
        self.existing_user(login)?;
        let now = self.now();
        let confirmed_at = confirmed_at.unwrap_or(now);
        if confirmed_at > now {
            return Err(VaultError::bad(
                ErrorCode::DateInFuture,
                "a confirmation cannot be signed in the future",
            ));
        }
        let row = ComplianceRow {
            login: login.to_owned(),
            confirmed_at,
            expires_at: confirmed_at + i64::from(self.rules.people.compliance_valid_days) * DAY,
            recorded_by: caller.principal.login.clone(),
        };
        self.audit.append(
            e.detail("login", login)
                .detail("expires_at", row.expires_at),
        )?;
        self.store.add_compliance(&row).map_err(|e| match e {
            mamori_store::StoreError::Conflict(_) => VaultError::Conflict(format!(
                "'{login}' already has a confirmation recorded at that time"
            )),
            other => other.into(),
        })?;
        Ok(row)
    }

    /// One person's training, compliance and people-gate verdict now.
    pub fn person(&self, caller: &Caller, login: &str) -> Result<PersonView> {
        let is_self = caller.principal.login == login;
        if !is_self {
            self.check_manage(caller, "people.view")?;
        }
        let user = self.existing_user(login)?;
        let rev = self.store.governance_rev()?;
        let facts = self.people.get(self, user, rev)?;
        let status = facts.status(self.now(), &self.rules.people, &self.rules.limits);
        Ok(PersonView {
            login: facts.user.login.clone(),
            role: facts.user.role.clone(),
            manager: facts.user.manager.clone(),
            vendor: facts.user.vendor.clone(),
            training: facts.training.clone(),
            compliance: facts.compliance.clone(),
            status,
            daily_record_budget: self.rules.limits.daily_records_for(&facts.user.role),
        })
    }

    /// Creates or updates a vendor and its contract.
    pub fn put_vendor(
        &self,
        caller: &Caller,
        id: &str,
        name: &str,
        contract_start: i64,
        contract_end: i64,
        clauses: &[String],
    ) -> Result<VendorView> {
        let e = self.check_manage(caller, "vendor.put")?;
        if !valid_login(id) {
            return Err(VaultError::bad(
                ErrorCode::VendorIdInvalid,
                "vendor ids are 2-64 lower-case letters, digits, '.', '_' or '-'",
            ));
        }
        if name.trim().is_empty() {
            return Err(VaultError::bad(
                ErrorCode::VendorNameMissing,
                "a vendor needs a name",
            ));
        }
        if contract_end <= contract_start {
            return Err(VaultError::bad(
                ErrorCode::ContractPeriodInvalid,
                "the contract must end after it starts",
            ));
        }
        let known: Vec<&str> = CLAUSES.iter().map(|(id, _, _)| *id).collect();
        if clauses.iter().any(|c| !known.contains(&c.as_str())) {
            return Err(VaultError::bad(
                ErrorCode::ClauseUnknown,
                format!(
                    "a clause named is unknown; clauses are {}",
                    known.join(", ")
                ),
            ));
        }
        let mut clauses = clauses.to_vec();
        clauses.sort();
        clauses.dedup();
        let row = VendorRow {
            id: id.to_owned(),
            name: name.trim().to_owned(),
            contract_start,
            contract_end,
            clauses,
            updated_by: caller.principal.login.clone(),
            updated_at: self.now(),
        };
        self.audit.append(
            e.detail("vendor", id)
                .detail("contract_start", contract_start)
                .detail("contract_end", contract_end)
                .detail("clauses", row.clauses.clone()),
        )?;
        self.store.put_vendor(&row)?;
        Ok(self.vendor_view(row))
    }

    pub fn vendors(&self) -> Result<Vec<VendorView>> {
        Ok(self
            .store
            .vendors()?
            .into_iter()
            .map(|v| self.vendor_view(v))
            .collect())
    }

    fn vendor_view(&self, row: VendorRow) -> VendorView {
        let missing_clauses = CLAUSES
            .iter()
            .filter(|(id, _, _)| !row.clauses.iter().any(|c| c == id))
            .map(|(id, _, _)| (*id).to_owned())
            .collect();
        VendorView {
            in_force: vendor_in_force(&row, self.now()),
            missing_clauses,
            row,
        }
    }

    /// Sets the cap on standing full-access holders of a tenant (None: the default).
    pub fn set_full_access_cap(
        &self,
        caller: &Caller,
        tenant: &str,
        cap: Option<u32>,
    ) -> Result<()> {
        let mut e = self.check_manage(caller, "tenant.full_access_cap")?;
        self.store
            .tenant(tenant)?
            .ok_or(VaultError::NotFound { what: "tenant" })?;
        e = e.tenant(tenant);
        e.detail.insert("cap".into(), cap.into());
        self.audit.append(e)?;
        self.store.set_full_access_cap(tenant, cap)?;
        Ok(())
    }

    /// The logins above `login` in the management chain, nearest first.
    /// The gate's view of `login` at this second (standing access only).
    pub(crate) fn principal_of(&self, login: &str) -> Result<Principal> {
        let user = self.existing_user(login)?;
        let rev = self.store.governance_rev()?;
        let facts = self.people.get(self, user, rev)?;
        let status = facts.status(self.now(), &self.rules.people, &self.rules.limits);
        Ok(facts.principal(status))
    }

    /// Where `me` stands to `other` in the management chain: (manages them,
    /// is managed by them). The org-chart facts every approval policy judges by.
    pub(crate) fn relation(&self, me: &str, other: &str) -> Result<(bool, bool)> {
        let manages = self.manager_chain(other)?.iter().any(|m| m == me);
        let managed_by = self.manager_chain(me)?.iter().any(|m| m == other);
        Ok((manages, managed_by))
    }

    pub(crate) fn manager_chain(&self, login: &str) -> Result<Vec<String>> {
        let mut chain = Vec::new();
        let mut next = self.store.user(login)?.and_then(|u| u.manager);
        // An org chart is shallow; the bound stops a cycle made by hand in the database.
        while let Some(m) = next.take() {
            if chain.contains(&m) || m == login || chain.len() > 32 {
                break;
            }
            next = self.store.user(&m)?.and_then(|u| u.manager);
            chain.push(m);
        }
        Ok(chain)
    }

    /// Sets who approves `login`'s requests. A cycle is refused.
    pub fn set_manager(&self, actor: &str, login: &str, manager: Option<&str>) -> Result<()> {
        self.existing_user(login)?;
        if let Some(m) = manager {
            self.existing_user(m)?;
            if m == login || self.manager_chain(m)?.iter().any(|x| x == login) {
                return Err(VaultError::bad(
                    ErrorCode::ManagerCycle,
                    format!("'{m}' reports to '{login}'; a manager cannot report to their report"),
                ));
            }
        }
        let mut e = self
            .admin_event(actor, "user.manager", None)
            .detail("login", login);
        e.detail.insert("manager".into(), manager.into());
        self.audit.append(e)?;
        self.store.set_manager(login, manager)?;
        Ok(())
    }
}
