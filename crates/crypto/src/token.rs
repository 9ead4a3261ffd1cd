//! API bearer tokens: random, shown once, stored only as a SHA-256 hash.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::CryptoError;

/// Every token starts with this, so leaked tokens are easy to find by scanners.
pub const PREFIX: &str = "mamori_";

/// A new token (256 random bits) and its hash for storage.
pub fn generate() -> Result<(Zeroizing<String>, [u8; 32]), CryptoError> {
    let mut raw = Zeroizing::new([0u8; 32]);
    getrandom::fill(raw.as_mut()).map_err(|_| CryptoError::Random)?;
    let token = Zeroizing::new(format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw[..])
    ));
    let h = hash(&token);
    Ok((token, h))
}

/// The stored form. Tokens have 256 bits of entropy, so a fast hash is enough.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Constant-time comparison of a presented token with a stored hash.
pub fn matches(token: &str, stored: &[u8]) -> bool {
    hash(token).ct_eq(stored).into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_verify_against_their_hash_only() {
        let (t, h) = super::generate().unwrap();
        assert!(t.starts_with(super::PREFIX));
        assert!(super::matches(&t, &h));
        assert!(!super::matches("mamori_wrong", &h));
        assert!(!super::matches(&t, &h[..31]));
    }
}
