//! What auditors and the security office read about the vault itself:
//! the audit log's events, checkpoints and proofs, and the reports of who
//! can see which customers.

pub mod audit_proofs;
pub mod audit_reading;
pub mod report;
