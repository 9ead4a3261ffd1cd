//! Cryptography of the vault, built only from vetted RustCrypto primitives.
//!
//! Key hierarchy:
//! ```text
//! root key (file 0600 or MAMORI_ROOT_KEY; never in the database)
//!   └─ wraps, per tenant and version: data key  (AES-256-GCM-SIV, field encryption)
//!                                     index key (HMAC-SHA256, blind-index tokens)
//!   └─ derives (HKDF-SHA256):            household key (HMAC-SHA256, tokens of staff
//!                                        family names and addresses, rule 14)
//!                                        session key (AES-256-GCM-SIV, console sessions)
//! ```
//! Export packages are encrypted to the recipient's own age X25519 key (`package`).
//! Every field ciphertext carries its key version and is bound by its associated
//! data to tenant, record id, field and key version (security invariant 6), so a
//! ciphertext copied to another place fails to decrypt.
//!
//! Architecture invariant: this crate never sees a database handle. It takes
//! bytes and returns bytes; keys are zeroized when dropped.

mod aead;
pub mod keys;
pub mod package;
pub mod session;
pub mod token;

pub use aead::{FieldCipher, FieldContext};
pub use keys::{HouseholdKey, IndexKey, KeyVersion, RootKey, TenantKeySet, WrappedKey};
pub use package::{PackageIdentity, PackageRecipient, PackageWriter};

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
    #[error("operating-system random source failed")]
    Random,
    #[error("not an age X25519 recipient key (age1…)")]
    RecipientKey,
    #[error("not an age X25519 identity (AGE-SECRET-KEY-1…)")]
    IdentityFormat,
    #[error("the package cannot be opened with this identity, or it was altered")]
    PackageOpen,
}
