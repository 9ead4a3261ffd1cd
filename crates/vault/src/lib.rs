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
pub mod identity;
pub mod kernel;
pub mod leak;
pub mod oversight;
pub mod read;
pub mod workflows;

pub use admin::people;
pub(crate) use feeds::feed;
pub use feeds::{cases, household, ingest};
pub use kernel::{error, error_code, rules};
pub(crate) use kernel::{sealed, tenants};
pub use oversight::{
    audit_proofs, dashboard, discrepancies, egress, inspection, reconciliation, report, reports,
    review_evidence, reviews, system, vendor_audit,
};
pub use read::access;
pub(crate) use read::{sequence, usage};
pub(crate) use workflows::watermark;
pub use workflows::{alerts, approval_context, directives, exports, full_access, grants};

use std::sync::Arc;

use mamori_audit::AuditLog;
use mamori_core::clock::{Clock, SystemClock};
use mamori_crypto::{DeploymentKeys, KeyProvider};
use mamori_policy::Gate;
pub use mamori_store::{Backend, Lease};

pub use access::{RecordView, SearchBy};
pub use error::{ErrorCode, Result, VaultError};
pub use kernel::caller::Caller;
pub use kernel::released::Released;
pub use rules::Rules;

pub struct Vault {
    store: Arc<dyn Backend>,
    audit: AuditLog,
    gate: Gate,
    /// Holds the root key: wraps and unwraps tenant keys.
    root: Arc<dyn KeyProvider>,
    /// The household (rule 14), console-session and sign-in keys.
    deployment: DeploymentKeys,
    /// Asks the root key's provider whether it still answers (`/readyz`).
    provider_probe: kernel::deployment::Probe,
    tenants: tenants::TenantCache,
    people: kernel::people::PeopleCache,
    usage: usage::Usage,
    sequences: sequence::Sequences,
    rules: Rules,
    clock: Arc<dyn Clock>,
    /// The identity providers people may sign in through.
    identity: Vec<Arc<mamori_identity::Provider>>,
}

/// A process that ends leaves no unsigned audit events behind: the last
/// events get their signed checkpoint before the vault goes away.
impl Drop for Vault {
    fn drop(&mut self) {
        if let Err(e) = self.audit.flush() {
            tracing::error!(error = %e, "could not sign the last audit checkpoint");
        }
    }
}

impl Vault {
    /// A vault over `store`, its keys under `root`. Fails — so that a
    /// server does not start — when the provider cannot unwrap the
    /// deployment's secrets (an HSM token missing, a KMS unreachable, the
    /// wrong root key).
    pub fn new(
        store: Arc<dyn Backend>,
        audit: AuditLog,
        gate: Gate,
        root: Arc<dyn KeyProvider>,
    ) -> Result<Self> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let (deployment, provider_probe) = kernel::deployment::load(
            store.as_ref(),
            root.as_ref(),
            &audit,
            clock.now().timestamp(),
        )?;
        Ok(Self {
            store,
            audit,
            gate,
            deployment,
            provider_probe,
            root,
            tenants: Default::default(),
            people: Default::default(),
            usage: Default::default(),
            sequences: Default::default(),
            rules: Rules::default(),
            clock,
            identity: Vec::new(),
        })
    }

    /// The identity providers people may sign in through (`[[identity.oidc]]`).
    pub fn with_identity_providers(mut self, providers: Vec<mamori_identity::Provider>) -> Self {
        self.identity = providers.into_iter().map(Arc::new).collect();
        self
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

    /// The key console sessions are sealed with (the same on every node).
    pub fn console_session_key(&self) -> mamori_crypto::session::SessionKey {
        self.deployment.console_session()
    }

    /// What holds the root key.
    pub fn key_provider(&self) -> &dyn KeyProvider {
        self.root.as_ref()
    }

    /// Whether the root key's provider still answers (an HSM token present,
    /// a Transit engine reachable and unsealed): one unwrap at most every
    /// few seconds, for `/readyz`. Blocking (it may call out).
    pub fn key_provider_answers(&self) -> bool {
        self.provider_probe.answers(self.root.as_ref())
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
