//! Ids a caller sends back (of requests, exports, directives): opaque,
//! random, 32 hex digits. One that does not parse is answered as not found,
//! exactly like one that parses and names nothing. And the bytes of a stored
//! id that a sealed note is bound to.

use std::str::FromStr;

use crate::error::{Result, VaultError};

/// The id of a `what` (e.g. `"export"`: an `ExportId`), or `NotFound` for that kind.
pub(crate) fn parse_id<T: FromStr>(id: &str, what: &'static str) -> Result<T> {
    id.parse().map_err(|_| VaultError::NotFound { what })
}

/// The tenant a decision names for what belongs to no tenant (an alert or a
/// discrepancy about staff activity alone).
pub(crate) const NO_TENANT: &str = "-";

/// The 16 bytes of a stored id of 32 hex digits (an alert's, a
/// discrepancy's), which bind a sealed note to it; `what` names the kind.
pub(crate) fn id_bytes(id: &str, what: &str) -> Result<[u8; 16]> {
    let mut b = [0u8; 16];
    hex::decode_to_slice(id, &mut b)
        .map_err(|_| VaultError::Internal(format!("{what} id is not 32 hex digits")))?;
    Ok(b)
}
