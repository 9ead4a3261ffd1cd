//! Root-key providers that keep the root key where the server's own
//! administrators cannot read it: `pkcs11` (an HSM, or SoftHSM) — each a
//! [`mamori_crypto::KeyProvider`], as the `file` provider (the root key in
//! a file, `mamori_crypto::RootKey`) is.

pub mod pkcs11;
pub mod softhsm;

pub use pkcs11::{Pkcs11Config, Pkcs11Provider};
