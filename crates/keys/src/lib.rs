//! Root-key providers that keep the root key where the server's own
//! administrators cannot read it: `pkcs11` (an HSM, or SoftHSM) and
//! `transit` (a HashiCorp Vault or OpenBao Transit engine) — each a
//! [`mamori_crypto::KeyProvider`], as the `file` provider (the root key in
//! a file, `mamori_crypto::RootKey`) is.

pub mod openbao;
pub mod pkcs11;
pub mod softhsm;
pub mod transit;

pub use pkcs11::{Pkcs11Config, Pkcs11Provider};
pub use transit::{TransitConfig, TransitProvider};
