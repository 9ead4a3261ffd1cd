//! The security office's operations on people's records: training,
//! compliance, vendors and their contracts, managers, the full-access cap
//! (A7, A8). What the gate makes of the records is `kernel/people.rs`.

use crate::ErrorCode;
use mamori_core::ids::valid_login;

use mamori_audit::Event;
use mamori_core::governance::CLAUSES;
use mamori_policy::Principal;
use mamori_store::{ComplianceRow, TrainingRow, UserRow, VendorRow};
use serde::Serialize;

use crate::{
    Caller, Vault,
    error::{Result, VaultError},
    kernel::people::DAY,
};

pub use crate::kernel::people::{PeopleStatus, PersonFacts, vendor_in_force};

/// A vendor as shown: its contract and which clauses are missing.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VendorView {
    #[serde(flatten)]
    pub row: VendorRow,
    pub in_force: bool,
    pub missing_clauses: Vec<String>,
}

/// One person as the security office's list shows them: who they are,
/// where they stand with the people gate now, and when their required
/// training next lapses.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonSummary {
    pub login: String,
    pub role: String,
    pub department: Option<String>,
    pub vendor: Option<String>,
    pub manager: Option<String>,
    pub status: PeopleStatus,
    pub suspended: bool,
    pub leaves_at: Option<i64>,
    /// The earliest expiry among the required courses' current passes
    /// (None: some required course has no current pass).
    pub training_until: Option<i64>,
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
    /// Access suspended pending a review.
    pub suspended: bool,
}

impl Vault {
    /// Refuses unless the policy lets `caller` keep people and vendor records.
    pub(crate) fn check_manage(&self, caller: &Caller, action: &str) -> Result<Event> {
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
            mamori_store::StoreError::Conflict(_) => VaultError::Conflict(
                "the person already has this course recorded at that time".into(),
            ),
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
            mamori_store::StoreError::Conflict(_) => VaultError::Conflict(
                "the person already has a confirmation recorded at that time".into(),
            ),
            other => other.into(),
        })?;
        Ok(row)
    }

    /// Everyone, with their people-gate verdict now (security office).
    pub fn people_list(&self, caller: &Caller) -> Result<Vec<PersonSummary>> {
        let e = self.check_manage(caller, "people.list")?;
        let now = self.now();
        let mut out = Vec::new();
        for user in self.store.users()? {
            let facts = self.people.get(self, user)?;
            let status = facts.status(now, &self.rules.people, &self.rules.limits);
            let people = &self.rules.people;
            // Per required course the end of its current pass; the earliest.
            let until: Option<Vec<i64>> = (people.required_courses.iter())
                .map(|course| {
                    (facts.pass_until(course, people.pass_score, now)).filter(|&e| e > now)
                })
                .collect();
            let u = &facts.user;
            out.push(PersonSummary {
                login: u.login.clone(),
                role: u.role.clone(),
                department: u.department.clone(),
                vendor: u.vendor.clone(),
                manager: u.manager.clone(),
                status,
                suspended: u.suspended_at.is_some(),
                leaves_at: u.leaves_at,
                training_until: until.and_then(|v| v.into_iter().min()),
            });
        }
        self.audit.append(e.detail("returned", out.len()))?;
        Ok(out)
    }

    /// One person's training, compliance and people-gate verdict now.
    pub fn person(&self, caller: &Caller, login: &str) -> Result<PersonView> {
        let is_self = caller.principal.login == login;
        if !is_self {
            self.check_manage(caller, "people.view")?;
        }
        let user = self.existing_user(login)?;
        let facts = self.people.get(self, user)?;
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
            suspended: facts.user.suspended_at.is_some(),
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

    /// The vendors, their contracts and missing clauses, for the security
    /// office and auditors (report.read; recorded). Nobody else: which
    /// companies handle which clients' data is not an operator's business.
    pub fn vendor_list(&self, caller: &Caller) -> Result<Vec<VendorView>> {
        let decision = self.gate.decide_report(&caller.principal);
        let e = self.gated(
            self.caller_event(caller, "vendor.list", "ok"),
            &decision,
            "vendors are listed for the security office and auditors",
        )?;
        let out = self.vendors()?;
        self.audit.append(e.detail("returned", out.len()))?;
        Ok(out)
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

    /// Sets the cap on standing full-access holders of a tenant (None: the
    /// default) — a sensitive act: the tenant's `[step_up]` rule applies.
    pub fn set_full_access_cap(
        &self,
        caller: &Caller,
        tenant: &str,
        cap: Option<u32>,
    ) -> Result<()> {
        let mut e = self.check_manage(caller, "tenant.full_access_cap")?;
        let state = self.tenant(tenant)?;
        e = e.tenant(tenant);
        e.detail.insert("cap".into(), cap.into());
        let e = self.stepped_up(caller, &state, e)?;
        self.audit.append(e)?;
        self.store.set_full_access_cap(tenant, cap)?;
        Ok(())
    }

    /// The logins above `login` in the management chain, nearest first.
    /// The gate's view of `login` at this second (standing access only).
    pub(crate) fn principal_of(&self, login: &str) -> Result<Principal> {
        let user = self.existing_user(login)?;
        let facts = self.people.get(self, user)?;
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
