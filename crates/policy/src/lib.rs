//! The authorisation gate and masking: the only place that decides who may do
//! what with customer data, and how much of each value they see.
//!
//! Architecture invariant: only this crate decides. Callers describe the request
//! (who, what, which tenant/segment, which purpose) and act on the answer; no
//! other crate branches on roles. Policies are Cedar files in the data
//! directory, validated against a Cedar schema when the gate is loaded.

mod gate;
/// Masking lives in `mamori_core::mask` (pure, shared with the file scanner,
/// which must not carry the gate); the vault renders values through it here.
pub use mamori_core::mask;

pub use gate::{
    Action, AuditScope, DEFAULT_POLICIES, DataRequest, Decision, ExportCheck, Gate, GrantRequest,
    POLICY_SCHEMA, Permit, PolicyError, Principal, ReviewCheck,
};
