//! Sign-in through an organisation's identity provider: an OpenID Connect
//! relying party (authorisation code flow with PKCE S256), done the way the
//! specifications and their security advice say.
//!
//! - `provider`: one configured provider — discovery (the issuer exactly as
//!   configured), the authorisation URL with state, nonce and PKCE, the code
//!   exchange with the client's credential, the JWK Set cached and fetched
//!   again on an unknown key id (at most once a minute by default). The HTTP
//!   client follows no redirects, reads bounded bodies, and speaks TLS to
//!   anything that is not this machine.
//! - `jose`: compact JWS verification over ring, verify only: an explicit
//!   algorithm allow-list (RS256, PS256, ES256, EdDSA), each algorithm bound
//!   to its key type — never an HMAC, never `none`.
//! - `id_token`: the claims (issuer, audience and `azp`, expiry with leeway,
//!   nonce, `auth_time` for fresh sign-ins) and who signed in: `sub`, or
//!   Entra's `tid`+`oid`, never an e-mail address.
//!
//! - `scim`: SCIM 2.0 provisioning's protocol — the User and Group
//!   resources mamori keeps, PATCH as providers send it, filters, pages
//!   and the discovery documents.
//!
//! This crate never sees a database: the vault keeps the pending sign-ins
//! and decides who the verified subject is to mamori.

pub mod config;
pub mod id_token;
pub mod jose;
pub mod provider;
pub mod scim;

pub use config::ProviderConfig;
pub use id_token::{SubjectRule, Verified};
pub use jose::Alg;
pub use provider::{Begun, Fresh, Provider};

/// Why an ID token or an authorisation response was refused. Each has a
/// short code for the audit log; none repeats anything the token carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the token is not a well-formed signed JWT")]
    Malformed,
    #[error("the token's algorithm is not allowed for this provider")]
    AlgorithmNotAllowed,
    #[error("the token names a key the provider does not publish")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token was issued by another issuer")]
    Issuer,
    #[error("the token was issued for another client")]
    Audience,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token belongs to another sign-in (nonce)")]
    Nonce,
    #[error("the sign-in needed a fresh authentication and this one is older")]
    AuthenticationTooOld,
    #[error("the token does not identify the person")]
    NoSubject,
    #[error("the authorisation response came from another issuer")]
    ResponseIssuer,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Malformed => "id_token_malformed",
            Refusal::AlgorithmNotAllowed => "id_token_alg",
            Refusal::UnknownKey => "id_token_unknown_key",
            Refusal::BadSignature => "id_token_signature",
            Refusal::Issuer => "id_token_issuer",
            Refusal::Audience => "id_token_audience",
            Refusal::Expired => "id_token_expired",
            Refusal::NotYetValid => "id_token_not_yet_valid",
            Refusal::Nonce => "id_token_nonce",
            Refusal::AuthenticationTooOld => "id_token_auth_too_old",
            Refusal::NoSubject => "id_token_no_subject",
            Refusal::ResponseIssuer => "response_issuer",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The provider's answer fails a check.
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// The provider refused (its OAuth error code, e.g. `invalid_grant`).
    #[error("the identity provider refused: {0}")]
    Provider(String),
    /// The provider could not be reached or answered nonsense.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    #[error("identity provider configuration: {0}")]
    Config(String),
}

impl Error {
    /// A short code for the audit log.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Refused(r) => r.code(),
            Error::Provider(_) => "provider_refused",
            Error::Unavailable(_) => "provider_unavailable",
            Error::Config(_) => "provider_config",
        }
    }
}
