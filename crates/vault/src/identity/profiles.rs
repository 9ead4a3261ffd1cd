//! What provisioning makes of a person: their role, department, vendor and
//! manager from their groups at the identity provider and the User's own
//! enterprise attributes, by `[identity.scim]`'s rules (the first rule
//! naming one of their groups decides each); and the link to their
//! sign-in at the configured provider, made from their externalId.

use mamori_identity::scim::{Group, ScimError};
use mamori_store::{Profile, ScimKind, ScimQuery, ScimRow, StoreError};

use super::provisioning::{ScimClient, ScimFail, ScimResult, stored_user};
use crate::{Vault, rules::ScimGroupRule};

/// The most groups of one person read to place them.
const MAX_GROUPS: usize = 1_000;

fn rule_names(rule: &ScimGroupRule, row: &ScimRow, group: &Group) -> bool {
    let by_name = rule
        .display_name
        .as_ref()
        .is_some_and(|n| n.to_lowercase() == group.display_name.to_lowercase());
    let by_id = rule
        .external_id
        .as_ref()
        .is_some_and(|x| row.external_id.as_deref() == Some(x.as_str()));
    by_name || by_id
}

impl Vault {
    /// Computes a provisioned person's profile and, when it differs from
    /// what mamori holds, records and sets it. Values that name nothing
    /// here (a vendor not registered, a manager who is no one) are left
    /// out and named in the event as unresolved.
    pub(super) fn settle_profile(&self, c: &ScimClient, user_id: &str) -> ScimResult<()> {
        let Some(row) = self.store.scim(ScimKind::User, user_id)? else {
            return Ok(());
        };
        let user = stored_user(&row)?.user;
        let login = row.login.clone().ok_or_else(|| {
            ScimFail::Vault(crate::VaultError::Internal(
                "a User without its person".into(),
            ))
        })?;
        let Some(person) = self.store.user(&login)? else {
            return Ok(());
        };
        let (_, groups) = self.store.scim_find(
            ScimKind::Group,
            &ScimQuery {
                member: Some(user_id.to_owned()),
                limit: MAX_GROUPS,
                ..ScimQuery::default()
            },
        )?;
        let groups: Vec<(ScimRow, Group)> = groups
            .into_iter()
            .filter_map(|r| serde_json::from_str(&r.doc).ok().map(|g| (r, g)))
            .collect();
        let rules: Vec<&ScimGroupRule> = self
            .rules
            .scim
            .groups
            .iter()
            .filter(|rule| groups.iter().any(|(r, g)| rule_names(rule, r, g)))
            .collect();
        let first = |f: fn(&ScimGroupRule) -> Option<String>| rules.iter().find_map(|r| f(r));
        let mut unresolved = Vec::new();
        let vendor = match first(|r| r.vendor.clone()) {
            Some(v) if self.store.vendor(&v)?.is_none() => {
                unresolved.push("vendor");
                None
            }
            v => v,
        };
        let manager = match &user.manager {
            Some(id) => self.store.scim(ScimKind::User, id)?.and_then(|m| m.login),
            None => first(|r| r.manager.clone()),
        };
        let manager = match manager {
            Some(m) if m == login || self.store.user(&m)?.is_none() => {
                unresolved.push("manager");
                None
            }
            m => m,
        };
        let profile = Profile {
            role: rules
                .iter()
                .find_map(|r| r.role)
                .unwrap_or(self.rules.scim.default_role)
                .as_str()
                .to_owned(),
            department: user
                .department
                .clone()
                .or_else(|| first(|r| r.department.clone())),
            vendor,
            manager,
        };
        let current = Profile {
            role: person.role.clone(),
            department: person.department.clone(),
            vendor: person.vendor.clone(),
            manager: person.manager.clone(),
        };
        if profile == current {
            return Ok(());
        }
        let mut e = self
            .scim_event(c, "user.profile")
            .detail("login", login.as_str())
            .detail("origin", "scim")
            .detail("unresolved", unresolved);
        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(&profile) {
            for (k, v) in fields {
                e = e.detail(&k, v);
            }
        }
        self.audit.append(e)?;
        self.store.set_profile(&login, &profile)?;
        Ok(())
    }

    /// The issuer and subject a provisioned person's externalId links to,
    /// when `[identity.scim] link_provider` names a provider.
    fn link_for(&self, external_id: &str) -> ScimResult<Option<(String, String)>> {
        let cfg = &self.rules.scim;
        if cfg.link_provider.is_empty() {
            return Ok(None);
        }
        let issuer = self
            .identity
            .iter()
            .find(|p| p.config.name == cfg.link_provider)
            .map(|p| p.config.issuer.clone())
            .ok_or_else(|| {
                ScimFail::Vault(crate::VaultError::Internal(
                    "identity.scim.link_provider names no configured provider".into(),
                ))
            })?;
        Ok(Some((
            issuer,
            cfg.link_subject.replace("{externalId}", external_id),
        )))
    }

    /// Refuses an externalId whose sign-in identity is someone else's.
    pub(super) fn check_link_free(&self, user: &mamori_identity::scim::User) -> ScimResult<()> {
        let Some(x) = &user.external_id else {
            return Ok(());
        };
        if let Some((issuer, subject)) = self.link_for(x)?
            && self.store.identity(&issuer, &subject)?.is_some()
        {
            return Err(ScimError::uniqueness(
                "the identity this externalId names is already linked to a person",
            )
            .into());
        }
        Ok(())
    }

    /// Moves a provisioned person's link from the old externalId's identity
    /// to the new one's (recorded as `identity.unlink` / `identity.link`).
    pub(super) fn link_provisioned(
        &self,
        c: &ScimClient,
        login: &str,
        old: Option<&str>,
        new: Option<&str>,
    ) -> ScimResult<()> {
        if let Some(x) = old
            && let Some((issuer, subject)) = self.link_for(x)?
            && self.store.identity(&issuer, &subject)?.as_deref() == Some(login)
        {
            self.audit.append(
                self.scim_event(c, "identity.unlink")
                    .detail("login", login)
                    .detail("provider", self.rules.scim.link_provider.as_str())
                    .detail("subject", subject.as_str()),
            )?;
            self.store.unlink_identity(&issuer, &subject)?;
        }
        if let Some(x) = new
            && let Some((issuer, subject)) = self.link_for(x)?
        {
            self.audit.append(
                self.scim_event(c, "identity.link")
                    .detail("login", login)
                    .detail("provider", self.rules.scim.link_provider.as_str())
                    .detail("subject", subject.as_str()),
            )?;
            self.store
                .link_identity(&issuer, &subject, login, self.now())
                .map_err(|e| match e {
                    StoreError::Conflict(_) => ScimFail::Scim(ScimError::uniqueness(
                        "the identity this externalId names is already linked to a person",
                    )),
                    other => other.into(),
                })?;
        }
        Ok(())
    }
}
