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

pub mod access;
pub mod admin;
pub mod config;
pub mod datadir;
pub mod error;
pub mod ingest;
mod sealed;
mod tenants;

use std::sync::Arc;

use mamori_audit::AuditLog;
use mamori_core::clock::{Clock, SystemClock};
use mamori_crypto::RootKey;
use mamori_policy::Gate;
use mamori_store::{UserStore, VaultStore};

pub use access::{Caller, RecordView, SearchBy};
pub use error::{Result, VaultError};

/// Storage the vault needs: records and people (one database today).
pub trait Backend: VaultStore + UserStore {}
impl<T: VaultStore + UserStore> Backend for T {}

pub struct Vault {
    store: Arc<dyn Backend>,
    audit: AuditLog,
    gate: Gate,
    root: RootKey,
    tenants: tenants::TenantCache,
    clock: Arc<dyn Clock>,
}

impl Vault {
    pub fn new(store: Arc<dyn Backend>, audit: AuditLog, gate: Gate, root: RootKey) -> Self {
        Self {
            store,
            audit,
            gate,
            root,
            tenants: Default::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Replaces the clock (tests move time instead of sleeping).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub fn store(&self) -> &Arc<dyn Backend> {
        &self.store
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }
}
