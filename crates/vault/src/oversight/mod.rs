//! What auditors and the security office read about the vault itself:
//! audit checkpoints and proofs, and the reports of who can see which customers.

pub mod audit_proofs;
pub mod report;
