//! The kernel: what every room stands on — errors and the one table of
//! their codes, refusals recorded before they are answered, sealing of
//! fields and free text under a tenant's keys, histories with sealed
//! comments, a tenant's loaded state (schema, keys, purposes), and the
//! preparation of record writes (checked, sealed, tokenised, grouped), and
//! the rules (configured limits) everything is measured against, and the
//! one way personal data leaves: released with the gate's permit and the
//! audit log's receipt.

pub mod error;
pub mod error_code;
pub mod history;
pub(crate) mod ids;
pub(crate) mod refusal;
pub mod released;
pub mod rules;
pub(crate) mod sealed;
pub(crate) mod tenants;
pub mod write;
