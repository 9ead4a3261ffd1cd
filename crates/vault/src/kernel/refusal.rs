//! Refusals recorded before they are answered: the event of a refused
//! request goes to the audit log with its decision and reason, and if the log
//! cannot take it the caller gets the audit failure instead — nothing is
//! refused (or allowed) unrecorded.

use mamori_audit::{Decision as AuditDecision, Event};

use crate::{ErrorCode, Vault, error::VaultError};

impl Vault {
    /// Records a refusal and returns the error to give the caller.
    pub(crate) fn refuse(
        &self,
        mut event: Event,
        decision: AuditDecision,
        reason: String,
        err: VaultError,
    ) -> VaultError {
        event.decision = decision;
        event.reason = reason;
        match self.audit.append(event) {
            Ok(_) => err,
            Err(e) => e.into(),
        }
    }

    /// A refusal because of the state of what was asked about (409),
    /// recorded as invalid with the code as its reason.
    /// Records a request refused for what it carried (a missing purpose, a
    /// malformed value) under the error's own code, and returns the error.
    pub(crate) fn refuse_invalid(&self, e: Event, err: VaultError) -> VaultError {
        let reason = err.code().to_owned();
        self.refuse(e, AuditDecision::Invalid, reason, err)
    }

    pub(crate) fn refuse_state(&self, e: Event, code: ErrorCode, message: String) -> VaultError {
        self.refuse(
            e,
            AuditDecision::Invalid,
            code.as_str().into(),
            VaultError::State { code, message },
        )
    }
}
