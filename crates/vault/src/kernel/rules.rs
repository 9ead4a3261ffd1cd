//! The vault's rules: its sections of `mamori.toml` (`[governance]`,
//! `[people]`, `[limits]`, `[exports]`, `[scan]`), each with its defaults. The vault
//! receives them as values (`Vault::with_rules`); reading the file and the
//! `MAMORI_*` overrides is start-up's job (mamori-app).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The configured rules of governance, people, limits and exports.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub governance: GovernanceConfig,
    pub people: PeopleConfig,
    pub limits: LimitsConfig,
    pub exports: ExportsConfig,
    pub scan: ScanConfig,
}

/// Just-in-time access and standing full access (A4, A5).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GovernanceConfig {
    /// Most people with standing access to every segment of a tenant, unless a
    /// security officer sets another cap for that tenant.
    pub full_access_cap: u32,
    /// Letters or digits a justification needs at least (punctuation does not count).
    pub min_justification_chars: usize,
    /// Longest window a grant may have.
    pub max_grant_hours: u32,
    /// Window of a grant issued by a full-access holder when none is given.
    pub issued_grant_hours: u32,
    /// Largest record budget one grant may carry.
    pub max_grant_records: u64,
}

/// The people gate (A7).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PeopleConfig {
    /// Courses everyone who reads customer data must have passed.
    pub required_courses: Vec<String>,
    /// Lowest passing score of the comprehension test (0-100).
    pub pass_score: u32,
    /// How long a passed course counts.
    pub training_valid_days: u32,
    /// How long a compliance confirmation counts.
    pub compliance_valid_days: u32,
    /// Above this many records a day (by role budget or grant), an annual
    /// compliance confirmation is required too.
    pub compliance_threshold: u64,
}

/// Limits that stop mass enumeration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Data requests per person per minute.
    pub requests_per_minute: u32,
    /// Distinct customers a person may read per day (Japan time), by role.
    pub daily_records: BTreeMap<String, u64>,
    /// The daily budget of roles not listed above.
    pub daily_records_default: u64,
}

/// Matching what file scans found (D5): what one credential may learn.
/// Every answer tells the caller whether values are someone's customers, so
/// a scanner's credential is bounded like a person's reading.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScanConfig {
    /// Distinct customers a credential may be told of per day (Japan time),
    /// by role. A PC holding more than a scanner's budget is an incident in
    /// itself: its file goes to the security office (`breach analyze`).
    pub customers_per_day: BTreeMap<String, u64>,
    /// The daily budget of roles not listed above (the security office
    /// analysing a leaked file).
    pub customers_per_day_default: u64,
    /// Most values one call matches; a bigger file is sent in parts.
    pub values_per_call: usize,
}

impl ScanConfig {
    pub fn customers_per_day_for(&self, role: &str) -> u64 {
        self.customers_per_day
            .get(role)
            .copied()
            .unwrap_or(self.customers_per_day_default)
    }
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self {
            customers_per_day: BTreeMap::from([("scanner".into(), 5_000)]),
            customers_per_day_default: 10_000_000,
            values_per_call: 100_000,
        }
    }
}

/// Bulk exports (A6): k-of-n approval, caps, the package's download window
/// and its watermark.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportsConfig {
    /// Distinct approvers an export needs (k of k-of-n); which groups they
    /// must come from is policy (`export-approvers-from-both-groups`).
    pub approvals_required: u32,
    /// A pending export lapses after this many hours without enough approvals.
    pub approval_hours: u32,
    /// The package can be downloaded (once) for this many hours after approval.
    pub download_hours: u32,
    /// Most customers one export may contain.
    pub max_rows: u64,
    /// Synthetic canary customers mixed into each package.
    pub canary_rows: u32,
    /// Domain of the canary customers' e-mail addresses. Use one you watch:
    /// mail to a canary address means a package is being used outside.
    pub canary_email_domain: String,
}

impl LimitsConfig {
    pub fn daily_records_for(&self, role: &str) -> u64 {
        self.daily_records
            .get(role)
            .copied()
            .unwrap_or(self.daily_records_default)
    }
}

impl Default for GovernanceConfig {
    fn default() -> Self {
        Self {
            full_access_cap: 3,
            min_justification_chars: 15,
            max_grant_hours: 72,
            issued_grant_hours: 8,
            max_grant_records: 1000,
        }
    }
}

impl Default for PeopleConfig {
    fn default() -> Self {
        Self {
            required_courses: vec!["privacy-basics".into()],
            pass_score: 80,
            training_valid_days: 365,
            compliance_valid_days: 365,
            compliance_threshold: 1000,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            requests_per_minute: 120,
            daily_records: BTreeMap::from([
                ("operator".into(), 300),
                ("backyard".into(), 3000),
                ("vendor_user".into(), 300),
            ]),
            daily_records_default: 300,
        }
    }
}

impl Default for ExportsConfig {
    fn default() -> Self {
        Self {
            approvals_required: 2,
            approval_hours: 72,
            download_hours: 24,
            max_rows: 10_000,
            canary_rows: 2,
            canary_email_domain: "example.jp".into(),
        }
    }
}
