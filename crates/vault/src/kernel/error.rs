//! Errors of the vault, each with a stable machine code from the one table
//! (`error_code`), which also gives its HTTP status. Messages name fields,
//! lines and reasons — never values (invariant 2).

pub use crate::error_code::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("{message}")]
    BadRequest { code: ErrorCode, message: String },
    #[error("authentication required: a valid bearer token")]
    Unauthenticated,
    /// A sign-in through an identity provider failed, for the reason `code`
    /// names (recorded in the audit log with it).
    #[error("the sign-in did not succeed ({code})")]
    SignIn { code: &'static str },
    /// A sensitive act needs a recent, stronger sign-in (RFC 9470): sign in
    /// again through `provider`, asking for `acr_values`, at most `max_age`
    /// seconds before the act.
    #[error("this act needs a fresh sign-in with multi-factor authentication")]
    StepUp {
        tenant: String,
        acr_values: Vec<String>,
        max_age: i64,
        provider: Option<String>,
    },
    #[error("not allowed: {reason}")]
    Forbidden { reason: String },
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("tenant '{0}' was shredded: its data was destroyed and cannot be read")]
    Shredded(String),
    #[error("{0}")]
    Conflict(String),
    /// A state conflict with its own code (e.g. `request_not_pending`).
    #[error("{message}")]
    State { code: ErrorCode, message: String },
    /// A rate limit or record budget was reached; the request was refused
    /// and recorded. `retry_after_s`: seconds until the limit resets (the
    /// minute, the Japan day) or, for a grant, until it ends.
    #[error("{message}")]
    Limited {
        code: ErrorCode,
        message: String,
        retry_after_s: u64,
    },
    /// The audit log could not be written, so nothing was returned (fail closed).
    #[error("the audit log is unavailable; the request was refused")]
    AuditUnavailable,
    /// A configuration or rules file is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The root key's provider (an HSM, a KMS) did not answer or refused.
    #[error("key provider unavailable: {0}")]
    KeyProvider(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl VaultError {
    pub fn bad(code: ErrorCode, message: impl Into<String>) -> Self {
        VaultError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// The error's entry in the code table.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            VaultError::BadRequest { code, .. }
            | VaultError::State { code, .. }
            | VaultError::Limited { code, .. } => *code,
            VaultError::Unauthenticated => ErrorCode::Unauthenticated,
            VaultError::SignIn { .. } => ErrorCode::SignInRefused,
            VaultError::StepUp { .. } => ErrorCode::StepUpRequired,
            VaultError::Forbidden { .. } => ErrorCode::Forbidden,
            VaultError::NotFound { .. } => ErrorCode::NotFound,
            VaultError::Shredded(_) => ErrorCode::TenantShredded,
            VaultError::Conflict(_) => ErrorCode::Conflict,
            VaultError::AuditUnavailable => ErrorCode::AuditUnavailable,
            VaultError::Config(_) => ErrorCode::ConfigInvalid,
            VaultError::KeyProvider(_) => ErrorCode::KeyProviderUnavailable,
            VaultError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// A key that could not be wrapped or unwrapped (`what` names it): the
    /// provider's failure, the wrong provider configured, or else a key
    /// that does not open under this root key.
    pub fn key(what: &str, e: mamori_crypto::CryptoError) -> Self {
        use mamori_crypto::CryptoError as C;
        match e {
            C::Provider(m) => VaultError::KeyProvider(format!("{what}: {m}")),
            e @ C::WrongProvider { .. } => VaultError::Config(format!("{what}: {e}")),
            C::Decrypt => VaultError::Internal(format!(
                "{what}: {} (is this the right root key?)",
                C::Decrypt
            )),
            e => VaultError::Internal(format!("{what}: {e}")),
        }
    }

    /// Stable code for clients and tests (`type` of the problem document).
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The HTTP status, the code's in the table.
    pub fn status(&self) -> u16 {
        self.error_code().status()
    }
}

impl From<mamori_store::StoreError> for VaultError {
    fn from(e: mamori_store::StoreError) -> Self {
        match e {
            mamori_store::StoreError::Conflict(m) => {
                VaultError::Conflict(format!("already exists: {m}"))
            }
            other => VaultError::Internal(other.to_string()),
        }
    }
}

impl From<mamori_audit::AuditError> for VaultError {
    fn from(e: mamori_audit::AuditError) -> Self {
        tracing::error!(error = %e, "audit append failed");
        VaultError::AuditUnavailable
    }
}

pub type Result<T, E = VaultError> = std::result::Result<T, E>;
