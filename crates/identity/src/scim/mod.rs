//! SCIM 2.0 (RFC 7643, RFC 7644), the protocol half of provisioning: the
//! resources mamori keeps (`resource`: a User's `userName`, `externalId`,
//! `displayName`, `active` and the enterprise extension's `department` and
//! `manager`; a Group's `displayName`, `externalId` and `members`), PATCH
//! as identity providers really send it (`patch`: `op` in any case,
//! booleans as strings, `active` without a path, members removed by value
//! or by filter), the filters provisioning clients use (`filter`), list
//! pages and attribute projection (`query`), and the discovery documents
//! (`discovery`). Pure functions over JSON: the vault stores the resources
//! and decides what they mean for a person's access.
//!
//! Attribute names are case-insensitive in SCIM, so a resource is read
//! from a document whose keys are folded to lower case first (`fold`), and
//! written back with the canonical names. Attributes mamori does not keep
//! (names, e-mail addresses, phone numbers, titles) are not stored: a
//! provider may send them, and they are dropped on arrival.

pub mod discovery;
pub mod filter;
pub mod patch;
pub mod query;
pub mod resource;

pub use filter::Filter;
pub use query::ListQuery;
pub use resource::{Group, User};

/// The SCIM core schemas and the messages' URNs.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The longest string attribute mamori keeps (a userName, a displayName,
/// an externalId, a department).
pub const MAX_STRING: usize = 256;
/// The most operations one PATCH may carry, and members one Group may have.
pub const MAX_OPERATIONS: usize = 1_000;
pub const MAX_MEMBERS: usize = 100_000;

/// A SCIM error (RFC 7644 §3.12): an HTTP status, a `scimType` where the
/// RFC defines one, and a detail that names attributes and rules — never
/// a value the client sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidValue"), detail)
    }
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidSyntax"), detail)
    }
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidFilter"), detail)
    }
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidPath"), detail)
    }
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(400, Some("noTarget"), detail)
    }
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(400, Some("mutability"), detail)
    }
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::new(400, Some("tooMany"), detail)
    }
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some("uniqueness"), detail)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(404, None, format!("no such {what}"))
    }
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        Self::new(501, None, detail)
    }

    /// The error's body (`status` is a string, as RFC 7644 §3.12 has it).
    pub fn body(&self) -> serde_json::Value {
        let mut b = serde_json::json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            b["scimType"] = t.into();
        }
        b
    }
}

/// A JSON document with every object key folded to lower case, at every
/// depth (SCIM attribute names are case-insensitive: RFC 7643 §2.1).
pub fn fold(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k.to_lowercase(), fold(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(fold).collect()),
        other => other,
    }
}
