//! Roles. A role says what kind of work a person does; what the role may do
//! is decided by the policy files, never by code branching on the role.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Contact-centre agent answering calls.
    Operator,
    /// Back-office staff processing applications.
    Backyard,
    /// Team lead; approves requests of the people they manage.
    Supervisor,
    /// Information-security staff (CISO office).
    SecurityOfficer,
    /// Internal or third-party auditor: reads the audit log, never personal data.
    Auditor,
    /// Runs and maintains the system: never reads personal data (A9).
    Sysadmin,
    /// A contractor's or dispatched worker's account bound to a vendor.
    VendorUser,
    /// The credential of one machine that inspects files for personal data
    /// (a PC agent, a file-server scanner): it may ask which tenants' customers
    /// the values it found name, within its budget — and nothing else.
    Scanner,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Operator,
        Role::Backyard,
        Role::Supervisor,
        Role::SecurityOfficer,
        Role::Auditor,
        Role::Sysadmin,
        Role::VendorUser,
        Role::Scanner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Backyard => "backyard",
            Role::Supervisor => "supervisor",
            Role::SecurityOfficer => "security_officer",
            Role::Auditor => "auditor",
            Role::Sysadmin => "sysadmin",
            Role::VendorUser => "vendor_user",
            Role::Scanner => "scanner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
// The message names the roles there are, never the text given (it may be
// anything a client sent).
#[error(
    "unknown role: expected one of operator, backyard, supervisor, security_officer, auditor, sysadmin, vendor_user, scanner"
)]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(UnknownRole)
    }
}
