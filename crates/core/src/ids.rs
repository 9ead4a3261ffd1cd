//! Identifiers. Tenant ids are chosen by people and therefore validated;
//! record ids are random and opaque so that they reveal nothing about the
//! customer, the tenant or the order of insertion.

use std::fmt;

use rand::RngCore;
use serde::{Deserialize, Serialize};

/// A client organisation (委託元). Lower-case ASCII letters, digits, `-` and `_`,
/// 2 to 40 characters, starting with a letter: safe in paths, URLs, SQL and log lines.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid tenant id: use 2-40 lower-case letters, digits, '-' or '_', starting with a letter"
)]
pub struct InvalidTenantId;

impl TenantId {
    /// The same rule as a regular expression, for API descriptions.
    pub const PATTERN: &'static str = "^[a-z][a-z0-9_-]{1,39}$";

    pub fn parse(s: &str) -> Result<Self, InvalidTenantId> {
        let ok = (2..=40).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidTenantId)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantId {
    type Error = InvalidTenantId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<TenantId> for String {
    fn from(t: TenantId) -> String {
        t.0
    }
}
impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Opaque ids: 128 random bits, shown as 32 lower-case hex digits, one type
/// per kind of thing so that a grant's id cannot be passed where a record's
/// is expected. They reveal nothing about the customer, the tenant or the
/// order of insertion.
macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name([u8; 16]);

        impl $name {
            pub fn random() -> Self {
                let mut b = [0u8; 16];
                rand::rng().fill_bytes(&mut b);
                Self(b)
            }
            pub fn from_bytes(b: [u8; 16]) -> Self {
                Self(b)
            }
            pub fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }
            pub fn parse(s: &str) -> Result<Self, InvalidId> {
                let mut b = [0u8; 16];
                if s.len() != 32 {
                    return Err(InvalidId);
                }
                hex::decode_to_slice(s, &mut b).map_err(|_| InvalidId)?;
                Ok(Self(b))
            }
        }

        impl From<[u8; 16]> for $name {
            fn from(b: [u8; 16]) -> Self {
                Self(b)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(r: $name) -> String {
                r.to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }
    };
}

/// An id that is not 32 hexadecimal digits.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid id: expected 32 hexadecimal digits")]
pub struct InvalidId;

opaque_id!(
    /// A customer record.
    RecordId
);
opaque_id!(
    /// An access request, and the grant it becomes when approved.
    GrantId
);
opaque_id!(
    /// A bulk export request, its approvals and its package.
    ExportId
);
opaque_id!(
    /// A nomination for standing full access to a tenant.
    NominationId
);
opaque_id!(
    /// A corrective directive (an audit event of the tenant's log).
    DirectiveId
);
opaque_id!(
    /// A hunt: the security office asks PC agents to scan at their next contact.
    HuntId
);
opaque_id!(
    /// One scan by a PC agent, chosen by the agent (a report sent twice is
    /// recorded once).
    ScanId
);

/// Logins, vendor ids and course ids: 2–64 lower-case letters, digits, `.`,
/// `_` or `-` — safe in URLs, logs and file names.
pub fn valid_login(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids() {
        for ok in ["acme", "city-shinagawa", "t_01"] {
            assert!(TenantId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "Acme",
            "1acme",
            "acme/..",
            "a b",
            "テナント",
            &"a".repeat(41),
        ] {
            assert_eq!(TenantId::parse(bad), Err(InvalidTenantId), "{bad}");
        }
    }

    #[test]
    fn logins() {
        for ok in ["op-sato", "a.b_c", "x1", &"a".repeat(64)] {
            assert!(valid_login(ok), "{ok}");
        }
        for bad in ["", "a", "Sato", "sato/..", "佐藤", "a b", &"a".repeat(65)] {
            assert!(!valid_login(bad), "{bad}");
        }
    }

    #[test]
    fn the_pattern_says_what_parse_does() {
        let pattern = regex::Regex::new(TenantId::PATTERN).unwrap();
        for s in [
            "acme",
            "city-shinagawa",
            "t_01",
            "",
            "a",
            "Acme",
            "1acme",
            "acme/..",
            "a b",
            "ab\n",
            "テナント",
            &"a".repeat(40),
            &"a".repeat(41),
        ] {
            assert_eq!(pattern.is_match(s), TenantId::parse(s).is_ok(), "{s:?}");
        }
    }

    #[test]
    fn record_ids_round_trip_and_reject_garbage() {
        let id = RecordId::random();
        assert_eq!(RecordId::parse(&id.to_string()), Ok(id));
        for bad in ["", "xyz", &"g".repeat(32), &"0".repeat(31), &"0".repeat(33)] {
            assert_eq!(RecordId::parse(bad), Err(InvalidId), "{bad}");
        }
    }
}
opaque_id!(
    /// An access review campaign.
    CampaignId
);
opaque_id!(
    /// One entitlement under review in a campaign.
    ReviewItemId
);
opaque_id!(
    /// A surprise audit of a vendor.
    VendorAuditId
);
opaque_id!(
    /// A destination of the egress register.
    EgressId
);
