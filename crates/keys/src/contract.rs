//! What every root-key provider owes the vault, as one check that each
//! provider's tests run against the real thing (a SoftHSM token, an
//! OpenBao engine, moto's KMS): its kind's byte first, a tenant's keys
//! round-tripped, each wrapping bound to its tenant, key version and use,
//! an altered wrapping refused, a key another kind of provider wrapped
//! named as such rather than taken for corruption.

use mamori_crypto::{CryptoError, KeyProvider, RootKey, TenantKeySet, WrappedKey};

/// Runs the contract on `p`; `alter` changes one byte of a wrapping the
/// way that provider's format allows (a byte of a binary ciphertext, a
/// character of a textual one). Returns a tenant `acme`'s wrapped data and
/// index keys (version 1), for the provider's own further checks.
pub fn check(p: &dyn KeyProvider, alter: fn(&mut Vec<u8>)) -> (WrappedKey, WrappedKey) {
    let (keys, wd, wi) = TenantKeySet::generate(p, "acme", 1).unwrap();
    assert_eq!(wd.0[0], p.kind().format(), "the kind's byte first");
    let again = TenantKeySet::unwrap(p, "acme", 1, &wd, &wi).unwrap();
    assert_eq!(
        keys.index.token("phone", "09012345678"),
        again.index.token("phone", "09012345678")
    );
    // Bound to tenant, version and use.
    assert_eq!(
        TenantKeySet::unwrap(p, "beta", 1, &wd, &wi).err(),
        Some(CryptoError::Decrypt)
    );
    assert!(TenantKeySet::unwrap(p, "acme", 2, &wd, &wi).is_err());
    assert!(TenantKeySet::unwrap(p, "acme", 1, &wi, &wd).is_err());
    let mut altered = wd.clone();
    alter(&mut altered.0);
    assert_eq!(
        TenantKeySet::unwrap(p, "acme", 1, &altered, &wi).err(),
        Some(CryptoError::Decrypt)
    );
    // A key the file provider wrapped is named as such.
    let file = RootKey::generate().unwrap();
    let (_, fd, fi) = TenantKeySet::generate(&file, "acme", 1).unwrap();
    assert_eq!(
        TenantKeySet::unwrap(p, "acme", 1, &fd, &fi).err(),
        Some(CryptoError::WrongProvider {
            wrapped_by: "file",
            configured: p.kind().name()
        })
    );
    (wd, wi)
}
