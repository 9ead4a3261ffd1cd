//! Ids a caller sends back (of requests, exports, directives): opaque,
//! random, 32 hex digits. One that does not parse is answered as not found,
//! exactly like one that parses and names nothing.

use std::str::FromStr;

use crate::error::{Result, VaultError};

/// The id of a `what` (e.g. `"export"`: an `ExportId`), or `NotFound` for that kind.
pub(crate) fn parse_id<T: FromStr>(id: &str, what: &'static str) -> Result<T> {
    id.parse().map_err(|_| VaultError::NotFound { what })
}
