//! Reading customer data: the caller, authentication and the one request
//! path (search, get, upsert, delete: gate, lookup, decrypt, mask, audit),
//! the per-person budgets a read is charged to, and the note on searches by
//! consecutive customer numbers.

pub mod access;
pub(crate) mod sequence;
pub(crate) mod usage;
