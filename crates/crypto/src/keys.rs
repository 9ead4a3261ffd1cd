//! The file provider's root key, and the per-tenant key sets every provider
//! wraps.

use aes_gcm_siv::{
    Aes256GcmSiv, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::{
    CryptoError,
    aead::FieldCipher,
    provider::{KeyProvider, ProviderKind, check_kind},
};

pub type KeyVersion = u32;

/// The file provider's format: AES-256-GCM-SIV, 96-bit random nonce.
const WRAP_NONCE: usize = 12;

pub(crate) fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>, CryptoError> {
    let mut b = Zeroizing::new([0u8; N]);
    getrandom::fill(b.as_mut()).map_err(|_| CryptoError::Random)?;
    Ok(b)
}

/// The `file` provider: a root key in the data directory's key file or in
/// MAMORI_ROOT_KEY, outside the database (invariant 7) but readable by
/// whoever administers the machine.
pub struct RootKey(Zeroizing<[u8; 32]>);

impl RootKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(random_bytes::<32>()?))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::RootKeyLength)?;
        Ok(Self(Zeroizing::new(arr)))
    }

    /// From the base64 form used by `MAMORI_ROOT_KEY`.
    pub fn from_base64(s: &str) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .map_err(|_| CryptoError::RootKeyEncoding)?,
        );
        Self::from_bytes(&bytes)
    }

    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn cipher(&self) -> Aes256GcmSiv {
        Aes256GcmSiv::new((&*self.0).into())
    }
}

impl KeyProvider for RootKey {
    fn kind(&self) -> ProviderKind {
        ProviderKind::File
    }

    fn describe(&self) -> String {
        "the root key file".into()
    }

    fn file_key(&self) -> Option<&RootKey> {
        Some(self)
    }

    fn wrap(&self, aad: &[u8], key: &[u8; 32]) -> Result<WrappedKey, CryptoError> {
        let nonce = random_bytes::<WRAP_NONCE>()?;
        let ct = self
            .cipher()
            .encrypt(Nonce::from_slice(nonce.as_ref()), Payload { msg: key, aad })
            .map_err(|_| CryptoError::Format)?;
        let mut out = Vec::with_capacity(1 + WRAP_NONCE + ct.len());
        out.push(ProviderKind::File.format());
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&ct);
        Ok(WrappedKey(out))
    }

    fn unwrap(&self, aad: &[u8], wrapped: &WrappedKey) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        check_kind(ProviderKind::File, wrapped)?;
        let w = &wrapped.0;
        if w.len() != 1 + WRAP_NONCE + 32 + 16 {
            return Err(CryptoError::Format);
        }
        let pt = Zeroizing::new(
            self.cipher()
                .decrypt(
                    Nonce::from_slice(&w[1..1 + WRAP_NONCE]),
                    Payload {
                        msg: &w[1 + WRAP_NONCE..],
                        aad,
                    },
                )
                .map_err(|_| CryptoError::Decrypt)?,
        );
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&pt);
        Ok(key)
    }
}

/// A key as stored in the database: only ever wrapped by the root key's
/// provider, whose kind its first byte names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey(pub Vec<u8>);

fn wrap_aad(tenant: &str, kind: &str, version: KeyVersion) -> Vec<u8> {
    let mut aad = b"mamori/tenant-key/v1\0".to_vec();
    aad.extend_from_slice(tenant.as_bytes());
    aad.push(0);
    aad.extend_from_slice(kind.as_bytes());
    aad.push(0);
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

/// One version of a tenant's keys: a data key for fields and an index key for
/// blind-index tokens. Rotation creates a new version; old versions stay until
/// `key rewrap` has moved every record, and vanish when the tenant is shredded.
pub struct TenantKeySet {
    pub version: KeyVersion,
    pub data: FieldCipher,
    pub index: IndexKey,
}

impl TenantKeySet {
    /// Fresh random keys, returned with their wrapped forms for storage.
    pub fn generate(
        root: &dyn KeyProvider,
        tenant: &str,
        version: KeyVersion,
    ) -> Result<(Self, WrappedKey, WrappedKey), CryptoError> {
        let data = random_bytes::<32>()?;
        let index = random_bytes::<32>()?;
        let wd = root.wrap(&wrap_aad(tenant, "data", version), &data)?;
        let wi = root.wrap(&wrap_aad(tenant, "index", version), &index)?;
        Ok((Self::from_raw(tenant, version, &data, &index), wd, wi))
    }

    pub fn unwrap(
        root: &dyn KeyProvider,
        tenant: &str,
        version: KeyVersion,
        data: &WrappedKey,
        index: &WrappedKey,
    ) -> Result<Self, CryptoError> {
        let d = root.unwrap(&wrap_aad(tenant, "data", version), data)?;
        let i = root.unwrap(&wrap_aad(tenant, "index", version), index)?;
        Ok(Self::from_raw(tenant, version, &d, &i))
    }

    /// The same two keys, unwrapped by `from` and wrapped by `to` (`key
    /// migrate`); the keys never change, so no record needs re-encrypting.
    pub fn rewrap(
        from: &dyn KeyProvider,
        to: &dyn KeyProvider,
        tenant: &str,
        version: KeyVersion,
        data: &WrappedKey,
        index: &WrappedKey,
    ) -> Result<(WrappedKey, WrappedKey), CryptoError> {
        let rewrap = |kind: &str, wrapped: &WrappedKey| {
            let aad = wrap_aad(tenant, kind, version);
            to.wrap(&aad, &*from.unwrap(&aad, wrapped)?)
        };
        Ok((rewrap("data", data)?, rewrap("index", index)?))
    }

    fn from_raw(tenant: &str, version: KeyVersion, data: &[u8; 32], index: &[u8; 32]) -> Self {
        Self {
            version,
            data: FieldCipher::new(tenant, version, data),
            index: IndexKey::new(tenant, index),
        }
    }
}

/// Computes blind-index tokens: a keyed HMAC over the normalised value, so equal
/// values can be found without decrypting and without the key nothing can be
/// guessed from a token (unlike a plain hash of a phone number).
#[derive(Clone)]
pub struct IndexKey {
    // Pre-keyed state; cloned per token so the key schedule runs once.
    mac: Hmac<Sha256>,
    tenant: String,
}

/// Length of a stored token: 128 bits keeps collisions negligible at any scale.
pub const TOKEN_LEN: usize = 16;

impl IndexKey {
    fn new(tenant: &str, key: &[u8; 32]) -> Self {
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
        Self {
            mac,
            tenant: tenant.to_owned(),
        }
    }

    /// Token of an already normalised value under a search key (e.g. "phone").
    pub fn token(&self, search_key: &str, normalized: &str) -> [u8; TOKEN_LEN] {
        truncated_mac(
            &self.mac,
            b"mamori/bidx/v1\0",
            &[
                self.tenant.as_bytes(),
                search_key.as_bytes(),
                normalized.as_bytes(),
            ],
        )
    }
}

impl IndexKey {
    /// A customer's pseudonym within one scope (a scanned file's SHA-256):
    /// the same record gives the same pseudonym in that scope and unrelated
    /// ones in any other, so parts of one file can be counted together while
    /// nothing links a customer across files or back to a record id.
    pub fn pseudonym(&self, scope: &[u8], record: &[u8]) -> [u8; TOKEN_LEN] {
        truncated_mac(
            &self.mac,
            b"mamori/pseudonym/v1\0",
            &[self.tenant.as_bytes(), scope, record],
        )
    }
}

/// HMAC over a domain label and NUL-separated parts, cut to `TOKEN_LEN`.
pub(crate) fn truncated_mac(key: &Hmac<Sha256>, domain: &[u8], parts: &[&[u8]]) -> [u8; TOKEN_LEN] {
    let mut mac = key.clone();
    mac.update(domain);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            mac.update(b"\0");
        }
        mac.update(part);
    }
    let mut full = mac.finalize().into_bytes();
    let mut out = [0u8; TOKEN_LEN];
    out.copy_from_slice(&full[..TOKEN_LEN]);
    full.zeroize();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_hold_within_a_scope_and_differ_across_scopes_and_tenants() {
        let a = IndexKey::new("acme", &[1; 32]);
        let b = IndexKey::new("beta", &[1; 32]);
        let record = [9u8; 16];
        let p = a.pseudonym(&[1; 32], &record);
        assert_eq!(p, a.pseudonym(&[1; 32], &record));
        assert_ne!(p, a.pseudonym(&[2; 32], &record));
        assert_ne!(p, a.pseudonym(&[1; 32], &[8; 16]));
        assert_ne!(p, b.pseudonym(&[1; 32], &record));
        // Another domain than the blind index's: no pseudonym is a token.
        assert_ne!(p, a.token("phone", "x"));
    }

    #[test]
    fn wrapped_keys_are_bound_to_tenant_and_version() {
        let root = RootKey::generate().unwrap();
        let (_, wd, wi) = TenantKeySet::generate(&root, "acme", 1).unwrap();
        assert!(TenantKeySet::unwrap(&root, "acme", 1, &wd, &wi).is_ok());
        assert!(TenantKeySet::unwrap(&root, "other", 1, &wd, &wi).is_err());
        assert!(TenantKeySet::unwrap(&root, "acme", 2, &wd, &wi).is_err());
        // data and index wrappings are not interchangeable
        assert!(TenantKeySet::unwrap(&root, "acme", 1, &wi, &wd).is_err());
        let other_root = RootKey::generate().unwrap();
        assert_eq!(
            TenantKeySet::unwrap(&other_root, "acme", 1, &wd, &wi).err(),
            Some(CryptoError::Decrypt)
        );
    }

    #[test]
    fn the_token_layouts_never_change() {
        // Stored blind indexes depend on these exact bytes.
        let expected = |key: &[u8], msg: &[&[u8]]| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
            for m in msg {
                mac.update(m);
            }
            mac.finalize().into_bytes()[..TOKEN_LEN].to_vec()
        };
        let index = IndexKey::new("acme", &[7u8; 32]);
        assert_eq!(
            index.token("phone", "09012345678").to_vec(),
            expected(
                &[7; 32],
                &[b"mamori/bidx/v1", b"\0acme\0phone\0", b"09012345678"]
            )
        );
    }

    #[test]
    fn tokens_are_keyed_and_namespaced() {
        let root = RootKey::generate().unwrap();
        let (a, ..) = TenantKeySet::generate(&root, "acme", 1).unwrap();
        let (b, ..) = TenantKeySet::generate(&root, "acme", 2).unwrap();
        let t = a.index.token("phone", "09012345678");
        assert_eq!(t, a.index.token("phone", "09012345678"));
        assert_ne!(t, a.index.token("email", "09012345678"));
        assert_ne!(t, b.index.token("phone", "09012345678"));
    }

    #[test]
    fn root_key_parsing() {
        assert_eq!(
            RootKey::from_base64("not base64!").err(),
            Some(CryptoError::RootKeyEncoding)
        );
        assert_eq!(
            RootKey::from_base64("AAAA").err(),
            Some(CryptoError::RootKeyLength)
        );
        let k = RootKey::from_base64(&base64::engine::general_purpose::STANDARD.encode([7u8; 32]))
            .unwrap();
        assert_eq!(k.expose_bytes(), &[7u8; 32]);
    }
}
