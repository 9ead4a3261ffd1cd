//! Errors of the vault, each with a stable machine code and an HTTP status.
//! Messages name fields, lines and reasons — never values (invariant 2).

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("authentication required: a valid bearer token")]
    Unauthenticated,
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
    State { code: &'static str, message: String },
    /// A rate limit or record budget was reached; the request was refused
    /// and recorded. `retry_after_s`: seconds until the limit resets (the
    /// minute, the Japan day) or, for a grant, until it ends.
    #[error("{message}")]
    Limited {
        code: &'static str,
        message: String,
        retry_after_s: u64,
    },
    /// The audit log could not be written, so nothing was returned (fail closed).
    #[error("the audit log is unavailable; the request was refused")]
    AuditUnavailable,
    /// A configuration or rules file is invalid.
    #[error("configuration: {0}")]
    Config(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl VaultError {
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        VaultError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// Stable code for clients and tests (`type` of the problem document).
    pub fn code(&self) -> &'static str {
        match self {
            VaultError::BadRequest { code, .. } => code,
            VaultError::Unauthenticated => "unauthenticated",
            VaultError::Forbidden { .. } => "forbidden",
            VaultError::NotFound { .. } => "not_found",
            VaultError::Shredded(_) => "tenant_shredded",
            VaultError::Conflict(_) => "conflict",
            VaultError::State { code, .. } => code,
            VaultError::Limited { code, .. } => code,
            VaultError::AuditUnavailable => "audit_unavailable",
            VaultError::Config(_) => "config_invalid",
            VaultError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            VaultError::BadRequest { .. } => 400,
            VaultError::Unauthenticated => 401,
            VaultError::Forbidden { .. } => 403,
            VaultError::NotFound { .. } => 404,
            VaultError::Conflict(_) | VaultError::State { .. } => 409,
            VaultError::Limited { .. } => 429,
            VaultError::Shredded(_) => 410,
            VaultError::AuditUnavailable => 503,
            VaultError::Config(_) | VaultError::Internal(_) => 500,
        }
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
