//! Links between people and their identities at identity providers: the
//! only way a provider's sign-in becomes a person in mamori. A link names
//! the provider's issuer and the subject its ID tokens carry (`sub`, or
//! Entra's `tid/oid`), never a name or a mail address, which providers
//! reassign. Made and removed by administrators (and by provisioning),
//! each recorded.

use crate::{
    ErrorCode, Vault,
    error::{Result, VaultError},
};

impl Vault {
    /// Links `login` to `subject` at the provider named `provider`.
    pub fn link_identity(
        &self,
        actor: &str,
        login: &str,
        provider: &str,
        subject: &str,
    ) -> Result<()> {
        let issuer = self.issuer_of(provider)?;
        if subject.is_empty() || subject.len() > 255 || subject.chars().any(char::is_control) {
            return Err(VaultError::bad(
                ErrorCode::FieldInvalid,
                "subject must be 1-255 printable characters (the provider's sub, or tid/oid for Entra)",
            ));
        }
        self.store
            .user(login)?
            .ok_or(VaultError::NotFound { what: "user" })?;
        self.audit.append(
            self.admin_event(actor, "identity.link", None)
                .detail("login", login)
                .detail("provider", provider)
                .detail("subject", subject),
        )?;
        self.store
            .link_identity(&issuer, subject, login, self.now())
            .map_err(|e| match e {
                mamori_store::StoreError::Conflict(_) => VaultError::Conflict(
                    "that identity is already linked to someone; unlink it first".into(),
                ),
                other => other.into(),
            })
    }

    /// Removes a link; NotFound when there was none.
    pub fn unlink_identity(&self, actor: &str, provider: &str, subject: &str) -> Result<()> {
        let issuer = self.issuer_of(provider)?;
        self.audit.append(
            self.admin_event(actor, "identity.unlink", None)
                .detail("provider", provider)
                .detail("subject", subject),
        )?;
        if !self.store.unlink_identity(&issuer, subject)? {
            return Err(VaultError::NotFound { what: "identity" });
        }
        Ok(())
    }

    /// A person's identities as (provider, subject); providers no longer
    /// configured are named by their issuer.
    pub fn identities_of(&self, login: &str) -> Result<Vec<(String, String)>> {
        Ok(self
            .store
            .identities(login)?
            .into_iter()
            .map(|(issuer, subject)| {
                let name = self
                    .identity
                    .iter()
                    .find(|p| p.config.issuer == issuer)
                    .map_or(issuer, |p| p.config.name.clone());
                (name, subject)
            })
            .collect())
    }

    fn issuer_of(&self, provider: &str) -> Result<String> {
        self.identity
            .iter()
            .find(|p| p.config.name == provider)
            .map(|p| p.config.issuer.clone())
            .ok_or_else(|| {
                VaultError::bad(
                    ErrorCode::FieldInvalid,
                    "no identity provider of that name is configured ([[identity.oidc]] in mamori.toml)",
                )
            })
    }
}
