//! Cryptography of the vault, built only from vetted RustCrypto primitives.
//!
//! Key hierarchy:
//! ```text
//! root key, held by a provider (`provider`): a file 0600 or MAMORI_ROOT_KEY,
//! or a key inside an HSM or KMS that never leaves it; never in the database
//!   └─ wraps, per tenant and version: data key  (AES-256-GCM-SIV, field encryption)
//!                                     index key (HMAC-SHA256, blind-index tokens)
//!   └─ wraps, once per deployment:    household key (HMAC-SHA256, tokens of staff
//!      (random, `deployment`)           family names and addresses, rule 14)
//!                                     console-session and sign-in keys (AES-256-GCM-SIV)
//! ```
//! Export packages are encrypted to the recipient's own age X25519 key (`package`).
//! Every field ciphertext carries its key version and is bound by its associated
//! data to tenant, record id, field and key version (security invariant 6), so a
//! ciphertext copied to another place fails to decrypt.
//!
//! Architecture invariant: this crate never sees a database handle. It takes
//! bytes and returns bytes; keys are zeroized when dropped.

mod aead;
pub mod deployment;
pub mod keys;
pub mod package;
pub mod provider;
pub mod session;
pub mod token;

pub use aead::{FieldCipher, FieldContext};
pub use deployment::{DeploymentKeys, DeploymentSecret, HouseholdKey};
pub use keys::{IndexKey, KeyVersion, RootKey, TenantKeySet, WrappedKey};
pub use package::{PackageIdentity, PackageRecipient, PackageWriter};
pub use provider::{KeyProvider, ProviderKind};

/// What can go wrong; messages carry no key material and no plaintext.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("decryption failed: wrong key, or the ciphertext was altered or moved")]
    Decrypt,
    #[error("ciphertext format not recognised")]
    Format,
    #[error("no key of version {0} for this tenant")]
    UnknownKeyVersion(u32),
    #[error("root key must be exactly 32 bytes")]
    RootKeyLength,
    #[error("root key is not valid base64")]
    RootKeyEncoding,
    #[error(
        "this key was wrapped by the '{wrapped_by}' key provider, but the vault is configured \
         with '{configured}' (set [keys] provider, or run `mamori key migrate`)"
    )]
    WrongProvider {
        wrapped_by: &'static str,
        configured: &'static str,
    },
    /// The provider did not answer or refused (an HSM token missing, a
    /// PIN refused, a KMS unreachable); the message names no key material.
    #[error("key provider: {0}")]
    Provider(String),
    #[error("operating-system random source failed")]
    Random,
    #[error("not an age X25519 recipient key (age1…)")]
    RecipientKey,
    #[error("not an age X25519 identity (AGE-SECRET-KEY-1…)")]
    IdentityFormat,
    #[error("the package cannot be opened with this identity, or it was altered")]
    PackageOpen,
}
