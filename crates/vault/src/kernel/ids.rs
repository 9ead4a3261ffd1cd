//! Ids a caller sends back (of requests, exports, directives): opaque,
//! random, 32 hex digits. One that does not parse is answered as not found,
//! exactly like one that parses and names nothing.

use mamori_core::RecordId;

use crate::error::{Result, VaultError};

/// The id of a `what` (e.g. `"export"`), or `NotFound` for that kind.
pub(crate) fn parse_id(id: &str, what: &'static str) -> Result<RecordId> {
    RecordId::parse(id).map_err(|_| VaultError::NotFound { what })
}
