//! Sealed state: a console session encrypted and authenticated into the
//! cookie that carries it, and a sign-in's nonce and PKCE verifier while the
//! identity provider has the browser (AES-256-GCM-SIV, a random nonce per
//! seal), under the deployment's secrets (`deployment`) — every node of a
//! deployment opens every other node's. A seal altered, truncated, sealed
//! under another key or for the other use does not open.

use aes_gcm_siv::{
    Aes256GcmSiv, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use rand::RngCore;
use zeroize::Zeroizing;

const NONCE: usize = 12;
pub struct SessionKey {
    cipher: Aes256GcmSiv,
    /// Binds a seal to its use: a field ciphertext or a sign-in never
    /// opens as a session.
    aad: &'static [u8],
}

impl SessionKey {
    /// The console's sessions.
    pub(crate) fn console(secret: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256GcmSiv::new(secret.into()),
            aad: b"mamori/console-session/v1",
        }
    }

    /// Sign-ins waiting for the identity provider.
    pub(crate) fn sign_in(secret: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256GcmSiv::new(secret.into()),
            aad: b"mamori/sign-in/v1",
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
                    aad: self.aad,
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
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: self.aad,
                },
            )
            .ok()
            .map(Zeroizing::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_opens_only_unaltered_and_under_its_own_key() {
        let key = SessionKey::console(&[7; 32]);
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
        let other = SessionKey::console(&[8; 32]);
        assert!(other.open(&sealed).is_none());
        let sign_in = SessionKey::sign_in(&[7; 32]);
        assert!(sign_in.open(&sealed).is_none());
        assert!(key.open(&sign_in.seal(b"x")).is_none());
    }
}
