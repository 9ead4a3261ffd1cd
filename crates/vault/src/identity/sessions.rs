//! Console sessions: credentials of their own (kind `session`), stored
//! hashed like API tokens, living at most `SESSION_S`, and revoked by
//! signing out or with the rest of the person's credentials. A session
//! keeps how its person signed in (`SignedInWith`), for the acts that need a
//! recent, strong sign-in and for the audit log.

use mamori_crypto::token;
use mamori_store::{Credential, CredentialKind};
use zeroize::Zeroizing;

use crate::{
    Vault,
    error::{Result, VaultError},
    kernel::caller::SignedInWith,
};

/// A session ends this long after it was opened, whatever happens (the
/// console also ends it after a quarter of an hour without a request).
pub const SESSION_S: i64 = 8 * 3600;

/// A session just opened: its secret (for the console's sealed cookie only)
/// and whose it is.
pub struct OpenedSession {
    pub secret: Zeroizing<String>,
    pub login: String,
    pub expires_at: i64,
    /// The console page the sign-in was begun for (a step-up), if any.
    pub back: Option<String>,
}

impl Vault {
    /// Opens a console session for the holder of an API token, which is
    /// authenticated exactly as the API authenticates it. The session keeps
    /// the token's tenant scope and ends no later than the token.
    pub fn open_session_with_token(
        &self,
        api_token: &str,
        client: Option<String>,
    ) -> Result<OpenedSession> {
        let caller = self.authenticate(Some(api_token), client.clone())?;
        let with = SignedInWith {
            method: "token".into(),
            ..SignedInWith::default()
        };
        let until = caller.expires_at;
        self.open_session(
            &caller.principal.login,
            &caller.role,
            caller.scope.as_deref().map(<[String]>::to_vec),
            until,
            with,
            client,
        )
    }

    /// Stores a new session for `login` and records its opening.
    pub(crate) fn open_session(
        &self,
        login: &str,
        role: &mamori_core::Role,
        tenants: Option<Vec<String>>,
        until: Option<i64>,
        with: SignedInWith,
        client: Option<String>,
    ) -> Result<OpenedSession> {
        let now = self.now();
        let expires_at = until.map_or(now + SESSION_S, |u| u.min(now + SESSION_S));
        let (secret, hash) = token::generate().map_err(|e| VaultError::Internal(e.to_string()))?;
        let auth = serde_json::to_string(&with).map_err(|e| VaultError::Internal(e.to_string()))?;
        let mut e = with.recorded_in(
            self.admin_event(&format!("user:{login}"), "auth.session", None)
                .detail("expires_at", expires_at),
        );
        e.actor_role = Some(role.as_str().to_owned());
        e.client = client;
        if let Some(t) = &tenants {
            e = e.detail("tenants", t.clone());
        }
        self.audit.append(e)?;
        self.store.add_credential(
            login,
            &hash,
            &Credential {
                kind: CredentialKind::Session,
                expires_at: Some(expires_at),
                tenants,
                auth: Some(auth),
            },
            now,
        )?;
        Ok(OpenedSession {
            secret,
            login: login.to_owned(),
            expires_at,
            back: None,
        })
    }

    /// Signs a session out: it is revoked, so a copy of the console's cookie
    /// opens nothing afterwards. Unknown or already closed: nothing to do.
    pub fn close_session(&self, secret: &str, client: Option<String>) -> Result<()> {
        let Ok(caller) = self.authenticate_session(secret, client) else {
            return Ok(());
        };
        self.audit
            .append(self.caller_event(&caller, "auth.signout", "ok"))?;
        self.store
            .revoke_credential(&token::hash(secret), self.now())?;
        Ok(())
    }
}
