//! What auditors and the security office read about the vault itself:
//! the audit log's events, checkpoints and proofs, and the reports of who
//! can see which customers, the monthly reconciliation of reads with
//! grants, PC logons and room presence, the quarterly access reviews, and
//! the self-inspection from facts, surprise audits of vendors, and the
//! egress register.

pub mod audit_proofs;
pub mod audit_reading;
pub mod dashboard;
pub mod discrepancies;
pub mod egress;
pub mod inspection;
mod period;
pub mod reconciliation;
pub mod report;
pub mod reports;
pub mod review_evidence;
pub mod reviews;
pub mod system;
pub mod vendor_audit;
