//! Sealed console sessions: a session's state encrypted and authenticated
//! into the cookie that carries it (AES-256-GCM-SIV, a random nonce per
//! seal), under a key derived from the root key with HKDF-SHA256 — every
//! node of a deployment opens every other node's sessions, and no session
//! key is stored. A cookie altered, truncated or sealed under another key
//! does not open.

use crate::RootKey;
use aes_gcm_siv::{
    Aes256GcmSiv, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use rand::RngCore;
use zeroize::Zeroizing;

const NONCE: usize = 12;
/// Binds a sealed session to its use: a field ciphertext never opens as one.
const AAD: &[u8] = b"mamori/console-session/v1";

pub struct SessionKey {
    cipher: Aes256GcmSiv,
}

impl SessionKey {
    pub fn derive(root: &RootKey) -> Self {
        let okm = crate::keys::derived(root, b"mamori/console-session-key/v1");
        Self {
            cipher: Aes256GcmSiv::new((&*okm).into()),
        }
    }

    /// Nonce ‖ ciphertext of `state`.
    pub fn seal(&self, state: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: state,
                    aad: AAD,
                },
            )
            .expect("AES-GCM-SIV encryption of a bounded session cannot fail");
        let mut out = Vec::with_capacity(NONCE + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// The state sealed in `sealed`, or None when it was altered or is not ours.
    pub fn open(&self, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE + 16 {
            return None;
        }
        let (nonce, ct) = sealed.split_at(NONCE);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: AAD })
            .ok()
            .map(Zeroizing::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_opens_only_unaltered_and_under_its_own_key() {
        let root = RootKey::from_bytes(&[7; 32]).unwrap();
        let key = SessionKey::derive(&root);
        let sealed = key.seal(b"{\"login\":\"op\"}");
        assert_eq!(key.open(&sealed).unwrap().as_slice(), b"{\"login\":\"op\"}");
        assert_ne!(
            sealed,
            key.seal(b"{\"login\":\"op\"}"),
            "a fresh nonce each time"
        );
        let mut altered = sealed.clone();
        altered[NONCE + 1] ^= 1;
        assert!(key.open(&altered).is_none());
        assert!(key.open(&sealed[..NONCE + 8]).is_none());
        let other = SessionKey::derive(&RootKey::from_bytes(&[8; 32]).unwrap());
        assert!(other.open(&sealed).is_none());
    }
}
