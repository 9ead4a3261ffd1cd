//! The kernel: what every room stands on — errors and the one table of
//! their codes, sealing of fields and free text under a tenant's keys, and a
//! tenant's loaded state (schema, keys, purposes).

pub mod error;
pub mod error_code;
pub(crate) mod sealed;
pub(crate) mod tenants;
