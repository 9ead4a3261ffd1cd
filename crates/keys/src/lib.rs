//! Root-key providers that keep the root key where the server's own
//! administrators cannot read it: `pkcs11` (an HSM, or SoftHSM), `transit`
//! (a HashiCorp Vault or OpenBao Transit engine) and, with the cargo
//! feature `kms`, `kms` (AWS KMS) — each a [`mamori_crypto::KeyProvider`],
//! as the `file` provider (the root key in a file,
//! `mamori_crypto::RootKey`) is. `softhsm`, `openbao` and `moto` start the
//! real things the tests (and people trying the providers) use, and
//! `contract` is what each provider's tests check of it.

pub mod contract;
#[cfg(feature = "kms")]
pub mod kms;
pub mod kms_config;
pub mod moto;
pub mod openbao;
pub mod pkcs11;
pub mod softhsm;
pub mod transit;

#[cfg(feature = "kms")]
pub use kms::KmsProvider;
pub use kms_config::{KmsConfig, KmsCredentials};
pub use pkcs11::{Pkcs11Config, Pkcs11Provider};
pub use transit::{TransitConfig, TransitProvider};
