//! The vault's rules: its sections of `mamori.toml` (`[governance]`,
//! `[people]`, `[limits]`, `[exports]`, `[scan]`, `[identity.scim]`), each with its defaults. The vault
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
    pub scim: ScimConfig,
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

/// SCIM provisioning (`[identity.scim]`): what a provisioned person's
/// groups at the identity provider make them in mamori, and how they are
/// linked to their sign-in.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScimConfig {
    /// The role of a provisioned person in no group that maps a role. It
    /// opens nothing by itself: tenants are assigned in mamori.
    pub default_role: mamori_core::Role,
    /// Link every provisioned person to their identity at this
    /// `[[identity.oidc]]` provider (by name), from their externalId; empty:
    /// no links (made with `mamori user link`).
    pub link_provider: String,
    /// The subject of that link, `{externalId}` replaced by the User's
    /// externalId. For Entra (`subject = "entra"`), externalId mapped to the
    /// objectId: `"<directory (tenant) id>/{externalId}"`.
    pub link_subject: String,
    /// The SCIM endpoint's address as the provider reaches it, for the
    /// resources' `meta.location` (e.g. `https://mamori.example.jp/scim/v2`);
    /// empty: the path `/scim/v2`.
    pub base_url: String,
    /// Groups that place their members (`[[identity.scim.groups]]`), in
    /// order: for each of role, department, vendor and manager, the first
    /// rule naming one of a person's groups decides it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<ScimGroupRule>,
}

/// What membership of one group means.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScimGroupRule {
    /// The group by its displayName (compared without case)…
    pub display_name: Option<String>,
    /// …or by its externalId at the provider (Entra: the group's objectId).
    pub external_id: Option<String>,
    pub role: Option<mamori_core::Role>,
    pub department: Option<String>,
    /// A registered vendor (`mamori vendor create`) its members work for.
    pub vendor: Option<String>,
    /// The login of the person who approves its members' requests.
    pub manager: Option<String>,
}

impl Default for ScimConfig {
    fn default() -> Self {
        Self {
            default_role: mamori_core::Role::Operator,
            link_provider: String::new(),
            link_subject: "{externalId}".into(),
            base_url: String::new(),
            groups: Vec::new(),
        }
    }
}

impl ScimConfig {
    /// Refuses what could not mean anything: a rule naming no group or
    /// setting nothing, a role a provider may not hand out.
    pub fn check(&self) -> Result<(), String> {
        use mamori_core::Role;
        let machine = |r: Role| matches!(r, Role::Scanner);
        if machine(self.default_role) || self.default_role == Role::VendorUser {
            return Err("identity.scim.default_role must be a role of a person who works without a vendor (e.g. operator)".into());
        }
        if !self.link_provider.is_empty() && !self.link_subject.contains("{externalId}") {
            return Err("identity.scim.link_subject must contain {externalId}".into());
        }
        for (i, g) in self.groups.iter().enumerate() {
            let n = i + 1;
            if g.display_name.is_none() == g.external_id.is_none() {
                return Err(format!(
                    "identity.scim.groups #{n}: name the group by display_name or by external_id (one of them)"
                ));
            }
            if g.role.is_none()
                && g.department.is_none()
                && g.vendor.is_none()
                && g.manager.is_none()
            {
                return Err(format!(
                    "identity.scim.groups #{n}: set at least one of role, department, vendor, manager"
                ));
            }
            if g.role.is_some_and(machine) {
                return Err(format!(
                    "identity.scim.groups #{n}: the scanner role belongs to machines, not to provisioned people"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod scim_tests {
    use super::*;
    use mamori_core::Role;

    #[test]
    fn scim_rules_that_could_mean_nothing_are_refused() {
        assert!(ScimConfig::default().check().is_ok());
        let with = |g: ScimGroupRule| ScimConfig {
            groups: vec![g],
            ..ScimConfig::default()
        };
        let named = ScimGroupRule {
            display_name: Some("mamori-supervisors".into()),
            ..ScimGroupRule::default()
        };
        assert!(with(named.clone()).check().is_err(), "sets nothing");
        assert!(
            with(ScimGroupRule {
                role: Some(Role::Supervisor),
                ..named.clone()
            })
            .check()
            .is_ok()
        );
        assert!(
            with(ScimGroupRule {
                role: Some(Role::Scanner),
                ..named.clone()
            })
            .check()
            .is_err()
        );
        let both = ScimGroupRule {
            external_id: Some("x".into()),
            role: Some(Role::Auditor),
            ..named
        };
        assert!(with(both).check().is_err(), "one way to name the group");
        let vendor_default = ScimConfig {
            default_role: Role::VendorUser,
            ..ScimConfig::default()
        };
        assert!(vendor_default.check().is_err());
        let link = ScimConfig {
            link_provider: "entra".into(),
            link_subject: "tid/oid".into(),
            ..ScimConfig::default()
        };
        assert!(link.check().is_err(), "the subject must use the externalId");
    }
}
