//! Work that passes through several people: access requests and grants,
//! standing full access, bulk exports (with their watermark and tracing),
//! corrective directives, alerts and suspensions.

pub mod alerts;
pub mod approval_context;
pub mod directives;
pub mod exports;
pub mod full_access;
pub mod grants;
pub(crate) mod watermark;
