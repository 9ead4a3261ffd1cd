//! Where the root key lives: one trait, [`KeyProvider`], that wraps and
//! unwraps the keys below it (each tenant's data and index keys, the
//! deployment's own secrets), whatever holds the root key — a file here
//! (`RootKey`), or an HSM or KMS that never lets it out (crate mamori-keys).
//!
//! Every wrapped key begins with one byte naming the kind of provider that
//! wrapped it, so a vault started with the wrong provider says so instead
//! of failing to decrypt, and `key migrate` knows what it moves from.

use zeroize::Zeroizing;

use crate::{CryptoError, WrappedKey};

/// The kinds of provider, as `[keys] provider` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// The root key in a file of the data directory or in MAMORI_ROOT_KEY.
    File,
    /// An AES key inside a PKCS#11 token (an HSM, SoftHSM), never extractable.
    Pkcs11,
    /// A key of a HashiCorp Vault or OpenBao Transit engine.
    Transit,
    /// A symmetric key of AWS KMS (built with the `kms` feature).
    Kms,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 4] = [
        ProviderKind::File,
        ProviderKind::Pkcs11,
        ProviderKind::Transit,
        ProviderKind::Kms,
    ];

    /// The name in the configuration and in messages.
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::File => "file",
            ProviderKind::Pkcs11 => "pkcs11",
            ProviderKind::Transit => "transit",
            ProviderKind::Kms => "kms",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The first byte of every key this kind wraps. Format 1 (a file key
    /// under AES-GCM) was never written by a released version; 2 is the
    /// file provider's AES-256-GCM-SIV.
    pub fn format(self) -> u8 {
        match self {
            ProviderKind::File => 2,
            ProviderKind::Pkcs11 => 3,
            ProviderKind::Transit => 4,
            ProviderKind::Kms => 5,
        }
    }

    /// Which kind wrapped `wrapped`, if any known one did.
    pub fn of(wrapped: &WrappedKey) -> Option<Self> {
        let first = *wrapped.0.first()?;
        Self::ALL.into_iter().find(|k| k.format() == first)
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Holds the root key and wraps 32-byte keys under it.
///
/// `aad` — associated data naming what the key is for (tenant, use,
/// version) — is never empty, so a wrapped key moved to another tenant or
/// use does not unwrap. Implementations authenticate it (AES-GCM or
/// AES-GCM-SIV) and put their [`ProviderKind::format`] byte first.
pub trait KeyProvider: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// What it is, for messages and the audit log, without any secret:
    /// "PKCS#11 token 'mamori', key 'mamori-root'".
    fn describe(&self) -> String;

    fn wrap(&self, aad: &[u8], key: &[u8; 32]) -> Result<WrappedKey, CryptoError>;

    fn unwrap(&self, aad: &[u8], wrapped: &WrappedKey) -> Result<Zeroizing<[u8; 32]>, CryptoError>;

    /// The root key's bytes, when this provider has them (only `file`):
    /// to carry over what older versions derived from them.
    fn file_key(&self) -> Option<&crate::RootKey> {
        None
    }
}

/// Refuses a wrapped key another kind of provider made, naming both; the
/// providers call it before unwrapping.
pub fn check_kind(expected: ProviderKind, wrapped: &WrappedKey) -> Result<(), CryptoError> {
    match ProviderKind::of(wrapped) {
        Some(k) if k == expected => Ok(()),
        Some(k) => Err(CryptoError::WrongProvider {
            wrapped_by: k.name(),
            configured: expected.name(),
        }),
        None => Err(CryptoError::Format),
    }
}
