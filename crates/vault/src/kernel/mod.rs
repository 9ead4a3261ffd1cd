//! The kernel: what every room stands on — the caller (a token resolved
//! to a person and what the gate knows of them, cached per governance
//! revision), errors and the one table of their codes, refusals recorded before they are answered, sealing of
//! fields and free text under a tenant's keys, histories with sealed
//! comments, a tenant's loaded state (schema, keys, purposes), and the
//! preparation of record writes (checked, sealed, tokenised, grouped), and
//! the rules (configured limits) everything is measured against, the
//! deployment's secrets (unwrapped at start by the root key's provider), and the
//! one way personal data leaves: released with the gate's permit and the
//! audit log's receipt.

pub mod caller;
pub(crate) mod deployment;
pub mod error;
pub mod error_code;
pub mod history;
pub mod household;
pub(crate) mod ids;
pub mod people;
pub(crate) mod refusal;
pub mod released;
pub mod rules;
pub(crate) mod sealed;
pub(crate) mod tenants;
pub mod write;
