//! The `pkcs11` provider: the root key is an AES-256 key inside a PKCS#11
//! token — a hardware security module, a cloud HSM's client library, or
//! SoftHSM — created there as sensitive and never extractable, so it never
//! leaves the token. Keys are wrapped with AES-GCM inside the token (a
//! random 96-bit IV, a 128-bit tag, the associated data naming tenant, use
//! and version); the token logs what it does if it is made to.
//!
//! Stored form: `3 ‖ IV (12) ‖ ciphertext (32) ‖ tag (16)`.
//!
//! The module is loaded at run time from the configured path; the user PIN
//! comes from the security office at start (`MAMORI_PKCS11_PIN` or a file
//! such as a systemd credential), never from `mamori.toml`.

use std::path::PathBuf;

use cryptoki::{
    context::{CInitializeArgs, CInitializeFlags, Function, Pkcs11},
    error::{Error as P11Error, RvError},
    mechanism::{Mechanism, aead::GcmParams},
    object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle},
    session::{Session, UserType},
    slot::Slot,
    types::AuthPin,
};
use mamori_crypto::{CryptoError, KeyProvider, ProviderKind, WrappedKey, provider::check_kind};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const IV: usize = 12;
const TAG: usize = 16;
const WRAPPED_LEN: usize = 1 + IV + 32 + TAG;

/// `[keys.pkcs11]` in `mamori.toml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pkcs11Config {
    /// The token vendor's PKCS#11 module (for SoftHSM 2 on Debian:
    /// `/usr/lib/softhsm/libsofthsm2.so`).
    pub module: String,
    /// The token's label.
    pub token_label: String,
    /// The label of the AES-256 key on the token (`mamori key pkcs11-create`
    /// makes one).
    pub key_label: String,
    /// A file holding the user PIN (e.g. `$CREDENTIALS_DIRECTORY/pkcs11-pin`
    /// under systemd), read at start; MAMORI_PKCS11_PIN takes precedence.
    /// Absolute, or relative to the data directory.
    pub pin_file: String,
}

impl Default for Pkcs11Config {
    fn default() -> Self {
        Self {
            module: "/usr/lib/softhsm/libsofthsm2.so".into(),
            token_label: "mamori".into(),
            key_label: "mamori-root".into(),
            pin_file: String::new(),
        }
    }
}

/// A logged-in session on the token and the root key's handle in it.
struct Open {
    session: Session,
    key: ObjectHandle,
}

pub struct Pkcs11Provider {
    context: Pkcs11,
    slot: Slot,
    pin: AuthPin,
    config: Pkcs11Config,
    /// One session, used by one caller at a time (a PKCS#11 session is not
    /// to be shared between threads); reopened once when the token lost it.
    open: Mutex<Option<Open>>,
}

fn failed(what: &str, e: P11Error) -> CryptoError {
    CryptoError::Provider(match e {
        P11Error::Pkcs11(rv, function) => format!("{what}: {function:?} answered {rv:?}"),
        other => format!("{what}: {other}"),
    })
}

impl Pkcs11Provider {
    /// Loads the module, finds the token and logs in, then checks the key:
    /// an AES-256 key that is sensitive and never extractable, or none.
    pub fn open(config: &Pkcs11Config, pin: Zeroizing<String>) -> Result<Self, CryptoError> {
        let provider = Self::open_without_key(config, pin)?;
        *provider.open.lock() = Some(provider.login()?);
        Ok(provider)
    }

    /// Creates the root key on the token: AES-256, generated inside it,
    /// sensitive, not extractable, for encryption and decryption only.
    /// Refuses when a key of that label is there already.
    pub fn create_key(config: &Pkcs11Config, pin: Zeroizing<String>) -> Result<(), CryptoError> {
        let provider = Self::open_without_key(config, pin)?;
        let session = provider
            .context
            .open_rw_session(provider.slot)
            .map_err(|e| failed("cannot open a session", e))?;
        log_in(&session, &provider.pin)?;
        if !find_keys(&session, &config.key_label)?.is_empty() {
            return Err(CryptoError::Provider(format!(
                "the token already holds a key labelled '{}'",
                config.key_label
            )));
        }
        session
            .generate_key(
                &Mechanism::AesKeyGen,
                &[
                    Attribute::Class(ObjectClass::SECRET_KEY),
                    Attribute::KeyType(KeyType::AES),
                    Attribute::ValueLen(32.into()),
                    Attribute::Label(config.key_label.as_bytes().to_vec()),
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::Encrypt(true),
                    Attribute::Decrypt(true),
                    Attribute::Wrap(false),
                    Attribute::Unwrap(false),
                    Attribute::Sign(false),
                    Attribute::Derive(false),
                ],
            )
            .map_err(|e| failed("cannot generate the key", e))?;
        Ok(())
    }

    /// The module loaded and the token found; no session yet.
    fn open_without_key(
        config: &Pkcs11Config,
        pin: Zeroizing<String>,
    ) -> Result<Self, CryptoError> {
        let module = PathBuf::from(&config.module);
        let context = Pkcs11::new(&module).map_err(|e| {
            CryptoError::Provider(format!(
                "cannot load the PKCS#11 module {}: {e}",
                module.display()
            ))
        })?;
        // A module is initialised once per process; a second provider (the
        // other end of `key migrate`) shares it.
        match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(P11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(failed("cannot initialise the PKCS#11 module", e)),
        }
        let slot = find_token(&context, &config.token_label)?;
        Ok(Self {
            context,
            slot,
            pin: AuthPin::from(pin.as_str()),
            config: config.clone(),
            open: Mutex::new(None),
        })
    }

    /// A new logged-in session and the checked key handle.
    fn login(&self) -> Result<Open, CryptoError> {
        let session = self
            .context
            .open_ro_session(self.slot)
            .map_err(|e| failed("cannot open a session", e))?;
        log_in(&session, &self.pin)?;
        let key = match find_keys(&session, &self.config.key_label)?.as_slice() {
            [one] => *one,
            [] => {
                return Err(CryptoError::Provider(format!(
                    "token '{}' holds no AES key labelled '{}' (mamori key pkcs11-create makes one)",
                    self.config.token_label, self.config.key_label
                )));
            }
            _ => {
                return Err(CryptoError::Provider(format!(
                    "token '{}' holds several keys labelled '{}'; labels must be unique",
                    self.config.token_label, self.config.key_label
                )));
            }
        };
        check_key(&session, key, &self.config.key_label)?;
        Ok(Open { session, key })
    }

    /// Runs `op` on the session; when the token lost it (removed and put
    /// back, restarted), logs in again once and retries.
    fn with_session<T>(&self, op: impl Fn(&Open) -> Result<T, P11Error>) -> Result<T, CryptoError> {
        let mut open = self.open.lock();
        if open.is_none() {
            *open = Some(self.login()?);
        }
        let first = op(open.as_ref().expect("logged in above"));
        match first {
            Err(P11Error::Pkcs11(rv, _)) if session_lost(rv) => {
                *open = None;
                let fresh = self.login()?;
                let again = op(&fresh);
                *open = Some(fresh);
                again.map_err(|e| self.op_error(e))
            }
            other => other.map_err(|e| self.op_error(e)),
        }
    }

    fn op_error(&self, e: P11Error) -> CryptoError {
        match e {
            P11Error::Pkcs11(RvError::EncryptedDataInvalid | RvError::EncryptedDataLenRange, _) => {
                CryptoError::Decrypt
            }
            // SoftHSM answers a failed tag check with a general error.
            P11Error::Pkcs11(RvError::GeneralError, Function::Decrypt) => CryptoError::Decrypt,
            other => failed(&format!("token '{}'", self.config.token_label), other),
        }
    }
}

fn session_lost(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::SessionHandleInvalid
            | RvError::SessionClosed
            | RvError::DeviceRemoved
            | RvError::TokenNotPresent
            | RvError::UserNotLoggedIn
    )
}

fn find_token(context: &Pkcs11, label: &str) -> Result<Slot, CryptoError> {
    let slots = context
        .get_slots_with_token()
        .map_err(|e| failed("cannot list the PKCS#11 slots", e))?;
    for slot in slots {
        let info = context
            .get_token_info(slot)
            .map_err(|e| failed("cannot read a token's information", e))?;
        if info.label().trim_end() == label {
            return Ok(slot);
        }
    }
    Err(CryptoError::Provider(format!(
        "no PKCS#11 token labelled '{label}' is present"
    )))
}

fn log_in(session: &Session, pin: &AuthPin) -> Result<(), CryptoError> {
    match session.login(UserType::User, Some(pin)) {
        Ok(()) | Err(P11Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(P11Error::Pkcs11(RvError::PinIncorrect, _)) => {
            Err(CryptoError::Provider("the token refused the PIN".into()))
        }
        Err(e) => Err(failed("cannot log in to the token", e)),
    }
}

fn find_keys(session: &Session, label: &str) -> Result<Vec<ObjectHandle>, CryptoError> {
    session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(|e| failed("cannot search the token", e))
}

/// Refuses a key the root key must not be: another type or size, one that
/// can be read out of the token, or one that cannot both encrypt and decrypt.
fn check_key(session: &Session, key: ObjectHandle, label: &str) -> Result<(), CryptoError> {
    let attrs = session
        .get_attributes(
            key,
            &[
                AttributeType::KeyType,
                AttributeType::ValueLen,
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::Encrypt,
                AttributeType::Decrypt,
            ],
        )
        .map_err(|e| failed("cannot read the key's attributes", e))?;
    let mut aes256 = (false, false);
    let (mut sensitive, mut extractable, mut usable) = (false, true, (false, false));
    for a in attrs {
        match a {
            Attribute::KeyType(t) => aes256.0 = t == KeyType::AES,
            Attribute::ValueLen(n) => aes256.1 = u64::from(n) == 32,
            Attribute::Sensitive(b) => sensitive = b,
            Attribute::Extractable(b) => extractable = b,
            Attribute::Encrypt(b) => usable.0 = b,
            Attribute::Decrypt(b) => usable.1 = b,
            _ => {}
        }
    }
    let refuse = |why: &str| {
        Err(CryptoError::Provider(format!(
            "the token's key '{label}' {why}; refusing to use it as the root key"
        )))
    };
    if aes256 != (true, true) {
        return refuse("is not an AES-256 key");
    }
    if !sensitive || extractable {
        return refuse("can be extracted from the token");
    }
    if usable != (true, true) {
        return refuse("cannot both encrypt and decrypt");
    }
    Ok(())
}

impl KeyProvider for Pkcs11Provider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Pkcs11
    }

    fn describe(&self) -> String {
        format!(
            "PKCS#11 token '{}', key '{}'",
            self.config.token_label, self.config.key_label
        )
    }

    fn wrap(&self, aad: &[u8], key: &[u8; 32]) -> Result<WrappedKey, CryptoError> {
        let mut iv = [0u8; IV];
        getrandom::fill(&mut iv).map_err(|_| CryptoError::Random)?;
        let sealed = self.with_session(|open| {
            let mut iv = iv;
            let params = GcmParams::new(&mut iv, aad, ((TAG * 8) as u64).into())?;
            open.session
                .encrypt(&Mechanism::AesGcm(params), open.key, key)
        })?;
        if sealed.len() != 32 + TAG {
            return Err(CryptoError::Provider(format!(
                "token '{}' returned {} bytes for a 32-byte key",
                self.config.token_label,
                sealed.len()
            )));
        }
        let mut out = Vec::with_capacity(WRAPPED_LEN);
        out.push(ProviderKind::Pkcs11.format());
        out.extend_from_slice(&iv);
        out.extend_from_slice(&sealed);
        Ok(WrappedKey(out))
    }

    fn unwrap(&self, aad: &[u8], wrapped: &WrappedKey) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        check_kind(ProviderKind::Pkcs11, wrapped)?;
        let w = &wrapped.0;
        if w.len() != WRAPPED_LEN {
            return Err(CryptoError::Format);
        }
        let plain = Zeroizing::new(self.with_session(|open| {
            let mut iv = [0u8; IV];
            iv.copy_from_slice(&w[1..1 + IV]);
            let params = GcmParams::new(&mut iv, aad, ((TAG * 8) as u64).into())?;
            open.session
                .decrypt(&Mechanism::AesGcm(params), open.key, &w[1 + IV..])
        })?);
        let key: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Decrypt)?;
        Ok(Zeroizing::new(key))
    }
}
