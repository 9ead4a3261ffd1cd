//! The vault engine. Every path to customer data runs through [`Vault`], in
//! one order that a reader can follow in `access.rs`:
//!
//! ```text
//! authenticate → validate (purpose, input) → authorise (policy gate)
//!   → store lookup → decrypt only the fields the view allows → mask
//!   → append to the audit log (fail closed) → return
//! ```
//!
//! Architecture invariant: nothing leaves a `Vault` method with personal data
//! unless the gate allowed it and the audit log has durably recorded it.

// The rooms. `kernel` is what the others stand on; each other room is one
// kind of work. Their modules are re-exported here, so that the vault's
// callers (the server, the CLI) name `mamori_vault::grants`, not the room.
pub mod admin;
pub mod feeds;
pub mod kernel;
pub mod oversight;
pub mod read;
pub mod workflows;

// Start-up and detection, which leave this crate next (issue 23: app, watch).
pub mod config;
pub mod datadir;
pub mod detection;

pub use admin::people;
pub(crate) use feeds::feed;
pub use feeds::{cases, household, ingest};
pub use kernel::{error, error_code};
pub(crate) use kernel::{sealed, tenants};
pub use oversight::{audit_proofs, report};
pub use read::access;
pub(crate) use read::{sequence, usage};
pub(crate) use workflows::watermark;
pub use workflows::{alerts, directives, exports, full_access, grants};

use std::sync::Arc;

use mamori_audit::AuditLog;
use mamori_core::clock::{Clock, SystemClock};
use mamori_crypto::RootKey;
use mamori_policy::Gate;
pub use mamori_store::Lease;
use mamori_store::{
    AlertStore, BudgetStore, ExportStore, GovernanceStore, LeaseStore, UserStore, VaultStore,
};

pub use access::{Caller, RecordView, SearchBy};
pub use error::{ErrorCode, Result, VaultError};

/// Storage the vault needs: records, people, governance, exports, alerts and
/// budgets (one SQLite file, or one PostgreSQL schema with the audit log).
pub trait Backend:
    VaultStore + UserStore + GovernanceStore + ExportStore + AlertStore + BudgetStore + LeaseStore
{
}
impl<
    T: VaultStore + UserStore + GovernanceStore + ExportStore + AlertStore + BudgetStore + LeaseStore,
> Backend for T
{
}

/// The configured rules of governance, people and limits.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub governance: config::GovernanceConfig,
    pub people: config::PeopleConfig,
    pub limits: config::LimitsConfig,
    pub exports: config::ExportsConfig,
}

impl Rules {
    pub fn from_config(c: &config::Config) -> Self {
        Self {
            governance: c.governance.clone(),
            people: c.people.clone(),
            limits: c.limits.clone(),
            exports: c.exports.clone(),
        }
    }
}

pub struct Vault {
    store: Arc<dyn Backend>,
    audit: AuditLog,
    gate: Gate,
    root: RootKey,
    /// Derived from the root key: tokens of staff households (rule 14).
    household_key: mamori_crypto::HouseholdKey,
    tenants: tenants::TenantCache,
    people: people::PeopleCache,
    usage: usage::Usage,
    sequences: sequence::Sequences,
    rules: Rules,
    clock: Arc<dyn Clock>,
    /// Detection running in this process, if started; stopped before the last checkpoint.
    detection: parking_lot::Mutex<Option<detection::Detection>>,
}

/// A process that ends leaves no unsigned audit events behind: the last
/// events get their signed checkpoint before the vault goes away.
impl Drop for Vault {
    fn drop(&mut self) {
        // Detection saves its state and may record a last alert first.
        drop(self.detection.lock().take());
        if let Err(e) = self.audit.flush() {
            tracing::error!(error = %e, "could not sign the last audit checkpoint");
        }
    }
}

impl Vault {
    pub fn new(store: Arc<dyn Backend>, audit: AuditLog, gate: Gate, root: RootKey) -> Self {
        Self {
            store,
            audit,
            gate,
            household_key: mamori_crypto::HouseholdKey::derive(&root),
            root,
            tenants: Default::default(),
            people: Default::default(),
            usage: Default::default(),
            sequences: Default::default(),
            rules: Rules::default(),
            clock: Arc::new(SystemClock),
            detection: parking_lot::Mutex::new(None),
        }
    }

    /// Replaces the default rules with configured ones.
    pub fn with_rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Replaces the clock (tests move time instead of sleeping).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.audit.set_clock(clock.clone());
        self.clock = clock;
        self
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub fn store(&self) -> &Arc<dyn Backend> {
        &self.store
    }

    pub fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }
}
