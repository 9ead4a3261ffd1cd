//! The deployment's own secrets — the household key (tokens of staff
//! family names and addresses, detection rule 14), the console-session key
//! and the sign-in key — each a random 32-byte secret kept in the store
//! wrapped by the root key's provider, so that every node of a deployment
//! holds the same ones and an HSM's root key never has to leave it (they
//! were once derived from the raw root-key bytes, which an HSM never gives).
//!
//! A data directory made before they were stored keeps its household
//! tokens: its secrets are seeded once with the old derivation
//! ([`DeploymentSecret::legacy`]), then wrapped and stored like any other.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{
    CryptoError, RootKey, WrappedKey,
    keys::{TOKEN_LEN, random_bytes, truncated_mac},
    provider::KeyProvider,
    session::SessionKey,
};

/// One secret of the deployment, by its stored name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeploymentSecret {
    Household,
    ConsoleSession,
    SignIn,
}

impl DeploymentSecret {
    pub const ALL: [DeploymentSecret; 3] = [
        DeploymentSecret::Household,
        DeploymentSecret::ConsoleSession,
        DeploymentSecret::SignIn,
    ];

    /// Its name in the store.
    pub fn name(self) -> &'static str {
        match self {
            DeploymentSecret::Household => "household",
            DeploymentSecret::ConsoleSession => "console-session",
            DeploymentSecret::SignIn => "sign-in",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// What its wrapping is bound to: a wrapped secret stored under another
    /// name, or a tenant key, does not unwrap as this one.
    pub fn aad(self) -> Vec<u8> {
        let mut aad = b"mamori/deployment-key/v1\0".to_vec();
        aad.extend_from_slice(self.name().as_bytes());
        aad
    }

    /// A fresh random secret and its wrapping by `provider`.
    pub fn generate(
        self,
        provider: &dyn KeyProvider,
    ) -> Result<(Zeroizing<[u8; 32]>, WrappedKey), CryptoError> {
        let secret = random_bytes::<32>()?;
        let wrapped = provider.wrap(&self.aad(), &secret)?;
        Ok((secret, wrapped))
    }

    /// The value this secret had when it was derived from the root key's
    /// bytes (HKDF-SHA256, the label as info): only to carry an existing
    /// data directory's household tokens over.
    pub fn legacy(self, root: &RootKey) -> Zeroizing<[u8; 32]> {
        let label: &[u8] = match self {
            DeploymentSecret::Household => b"mamori/household-key/v1",
            DeploymentSecret::ConsoleSession => b"mamori/console-session-key/v1",
            DeploymentSecret::SignIn => b"mamori/sign-in-key/v1",
        };
        let mut okm = Zeroizing::new([0u8; 32]);
        hkdf::Hkdf::<Sha256>::new(None, root.expose_bytes())
            .expand(label, okm.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        okm
    }
}

/// The deployment's secrets, unwrapped.
pub struct DeploymentKeys {
    pub household: HouseholdKey,
    console_session: Zeroizing<[u8; 32]>,
    sign_in: Zeroizing<[u8; 32]>,
}

impl DeploymentKeys {
    /// From each secret's value.
    pub fn new(
        household: &[u8; 32],
        console_session: Zeroizing<[u8; 32]>,
        sign_in: Zeroizing<[u8; 32]>,
    ) -> Self {
        Self {
            household: HouseholdKey::new(household),
            console_session,
            sign_in,
        }
    }

    /// The key console sessions are sealed with.
    pub fn console_session(&self) -> SessionKey {
        SessionKey::console(&self.console_session)
    }

    /// The key sign-ins waiting for an identity provider are sealed with.
    pub fn sign_in(&self) -> SessionKey {
        SessionKey::sign_in(&self.sign_in)
    }
}

/// Keyed tokens of staff households (family names, home addresses) for
/// self- and relative-lookup detection; households are kept only as these
/// tokens, never as text.
#[derive(Clone)]
pub struct HouseholdKey {
    mac: Hmac<Sha256>,
}

impl HouseholdKey {
    pub fn new(secret: &[u8; 32]) -> Self {
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
        Self { mac }
    }

    /// Token of a canonical value of one part (`family_name`, `address`).
    pub fn token(&self, part: &str, canonical: &str) -> [u8; TOKEN_LEN] {
        truncated_mac(
            &self.mac,
            b"mamori/household/v1\0",
            &[part.as_bytes(), canonical.as_bytes()],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::KeyProvider;

    #[test]
    fn secrets_are_bound_to_their_name() {
        let root = RootKey::generate().unwrap();
        let (secret, wrapped) = DeploymentSecret::Household.generate(&root).unwrap();
        let again = root
            .unwrap(&DeploymentSecret::Household.aad(), &wrapped)
            .unwrap();
        assert_eq!(*secret, *again);
        assert_eq!(
            root.unwrap(&DeploymentSecret::SignIn.aad(), &wrapped).err(),
            Some(CryptoError::Decrypt)
        );
        let (other, _) = DeploymentSecret::Household.generate(&root).unwrap();
        assert_ne!(*secret, *other, "random, not derived");
    }

    #[test]
    fn household_tokens_depend_on_the_secret_and_the_part() {
        let k = HouseholdKey::new(&[1; 32]);
        assert_eq!(
            k.token("address", "x"),
            HouseholdKey::new(&[1; 32]).token("address", "x")
        );
        assert_ne!(k.token("address", "x"), k.token("family_name", "x"));
        assert_ne!(
            k.token("address", "x"),
            HouseholdKey::new(&[2; 32]).token("address", "x")
        );
    }

    #[test]
    fn the_legacy_household_tokens_never_change() {
        // Tokens stored before the secrets were: HKDF of the root key, then
        // this exact HMAC layout.
        let root = RootKey::from_bytes(&[9u8; 32]).unwrap();
        let mut okm = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(None, &[9u8; 32])
            .expand(b"mamori/household-key/v1", &mut okm)
            .unwrap();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&okm).unwrap();
        mac.update(b"mamori/household/v1\0address\0x");
        let expected = mac.finalize().into_bytes()[..TOKEN_LEN].to_vec();
        let legacy = DeploymentSecret::Household.legacy(&root);
        assert_eq!(
            HouseholdKey::new(&legacy).token("address", "x").to_vec(),
            expected
        );
    }
}
