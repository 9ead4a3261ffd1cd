//! Administrative operations, each recorded in the audit log before it
//! takes effect: tenants, their keys, users and their access, and the
//! people records the gate reads (training, compliance, vendors, managers).

mod keys;
pub mod people;
mod tenants;
mod users;

use mamori_audit::{Decision as AuditDecision, Event};

use crate::Vault;

pub use crate::oversight::audit_reading::AuditPage;
pub use keys::{KeyCheck, KeyMigration, RewrapProgress};
pub use tenants::TenantSummary;
pub use users::{NewUser, TokenTerms};

impl Vault {
    pub(crate) fn admin_event(&self, actor: &str, action: &str, tenant: Option<&str>) -> Event {
        let e = Event::new(actor, action, AuditDecision::Allow, "ok");
        match tenant {
            Some(t) => e.tenant(t),
            None => e,
        }
    }
}
