//! One identity provider as `mamori.toml` configures it (`[[identity.oidc]]`).
//! The client secret is never in the file: start-up (`crates/app`) reads it
//! from an environment variable or a file (a systemd credential, a secret
//! store's mount) that the security office provides.

use std::collections::BTreeMap;

use crate::{Alg, Error, SubjectRule};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Short name: in URLs (`/console/oidc/NAME/start`) and the audit log.
    pub name: String,
    /// What the sign-in button says (e.g. "Microsoft Entra ID").
    #[serde(default)]
    pub label: String,
    /// The issuer, exactly as the provider's discovery document and ID
    /// tokens give it (e.g. `https://login.microsoftonline.com/TENANT/v2.0`).
    pub issuer: String,
    pub client_id: String,
    /// The environment variable holding the client secret.
    #[serde(default)]
    pub client_secret_env: String,
    /// A file holding the client secret (e.g. `$CREDENTIALS_DIRECTORY/…` of
    /// a systemd credential); read once at start.
    #[serde(default)]
    pub client_secret_file: String,
    /// mamori's callback as registered at the provider:
    /// `https://HOST/console/oidc/callback`.
    pub redirect_uri: String,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// How people are identified: `sub` (default) or `entra` (`tid`+`oid`).
    #[serde(default)]
    pub subject: SubjectRule,
    /// The claim listing the person's groups.
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// Group (as the claim gives it: an Entra object id, a Keycloak path) →
    /// mamori role. When set, a person signs in only while one of their
    /// groups maps to their mamori role: the provider taking them out of the
    /// group ends their console access at the next sign-in.
    #[serde(default)]
    pub roles: BTreeMap<String, String>,
    /// People signing in through this provider may act on these tenants
    /// only (e.g. a client's own staff through the client's provider);
    /// empty: whatever their assignments allow.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// ID-token signature algorithms accepted (never HS*, never none).
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<Alg>,
    /// Extra CA certificates (PEM) to trust for this provider besides the
    /// system's, relative to the data directory or absolute.
    #[serde(default)]
    pub ca: String,
    /// An unknown key id fetches the JWK Set again at most this often.
    #[serde(default = "default_jwks_refresh")]
    pub jwks_refresh_min_s: u64,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into()]
}

fn default_groups_claim() -> String {
    "groups".into()
}

fn default_algorithms() -> Vec<Alg> {
    Alg::ALL.to_vec()
}

fn default_jwks_refresh() -> u64 {
    60
}

impl ProviderConfig {
    /// Checks what can be checked without the network.
    pub fn check(&self) -> Result<(), Error> {
        let bad = |m: &str| Err(Error::Config(format!("provider {}: {m}", self.name)));
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 32
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return bad("name must be 1-32 lower-case letters, digits or '-'");
        }
        if self.client_id.is_empty() {
            return bad("client_id is empty");
        }
        if !self.scopes.iter().any(|s| s == "openid") {
            return bad("scopes must include openid");
        }
        if self.algorithms.is_empty() {
            return bad("algorithms is empty");
        }
        crate::provider::secure_url(&self.issuer)
            .map_err(|m| Error::Config(format!("provider {}: issuer {m}", self.name)))?;
        crate::provider::secure_url(&self.redirect_uri)
            .map_err(|m| Error::Config(format!("provider {}: redirect_uri {m}", self.name)))?;
        Ok(())
    }
}
