//! The `pkcs11` provider against a real SoftHSM 2 token (Debian's
//! `softhsm2`; `.ci/run` installs it, and these tests fail without it).
//!
//! A process initialises a PKCS#11 module once, reading SOFTHSM2_CONF then;
//! so every test here shares one SoftHSM folder, made — with all its
//! tokens — before any test touches the module, each test on tokens or
//! key labels of its own.

use std::sync::{Mutex, MutexGuard, OnceLock};

use cryptoki::{
    context::{CInitializeArgs, CInitializeFlags, Pkcs11},
    mechanism::Mechanism,
    object::{Attribute, KeyType, ObjectClass},
    session::UserType,
    types::AuthPin,
};
use mamori_crypto::{CryptoError, KeyProvider, ProviderKind, RootKey, TenantKeySet};
use mamori_keys::{
    Pkcs11Config, Pkcs11Provider, contract,
    softhsm::{MODULE, SoftHsm},
};
use zeroize::Zeroizing;

const PIN: &str = "4321";

struct Hsm {
    _dir: tempfile::TempDir,
}

/// The shared SoftHSM, one test at a time: SoftHSM's sessions of one
/// process, opened by tests on several threads at once, were seen to
/// answer SessionReadOnly to a read-write session.
fn hsm() -> MutexGuard<'static, ()> {
    static HSM: OnceLock<Hsm> = OnceLock::new();
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    HSM.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let soft = SoftHsm::create(dir.path()).unwrap();
        for label in ["main", "extractable"] {
            soft.init_token(label, PIN).unwrap();
        }
        // SAFETY: set once, inside this OnceLock, before any test of this
        // binary loads the module (every test calls hsm() first); nothing
        // else in these tests reads the environment.
        unsafe { std::env::set_var("SOFTHSM2_CONF", &soft.conf) };
        Hsm { _dir: dir }
    });
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn config(token: &str, key: &str) -> Pkcs11Config {
    Pkcs11Config {
        module: MODULE.into(),
        token_label: token.into(),
        key_label: key.into(),
        pin_file: String::new(),
    }
}

fn pin(p: &str) -> Zeroizing<String> {
    Zeroizing::new(p.to_owned())
}

fn provider_error(r: Result<Pkcs11Provider, CryptoError>) -> String {
    match r {
        Err(CryptoError::Provider(m)) => m,
        Err(other) => panic!("expected a provider error, got {other:?}"),
        Ok(_) => panic!("expected a provider error, got a provider"),
    }
}

#[test]
fn tenant_keys_wrapped_in_the_token_unwrap_only_there_and_only_for_their_tenant() {
    let _hsm = hsm();
    let cfg = config("main", "wrap-test");
    Pkcs11Provider::create_key(&cfg, pin(PIN)).unwrap();
    let p = Pkcs11Provider::open(&cfg, pin(PIN)).unwrap();
    assert_eq!(p.kind(), ProviderKind::Pkcs11);
    assert_eq!(p.describe(), "PKCS#11 token 'main', key 'wrap-test'");

    let (wd, wi) = contract::check(&p, |w| w[20] ^= 1);
    assert_eq!(wd.0.len(), 61);
    // Two wrappings of one key differ (a fresh IV each time).
    assert_ne!(
        p.wrap(b"aad", &[7; 32]).unwrap(),
        p.wrap(b"aad", &[7; 32]).unwrap()
    );
    // What it wrapped is named to the file provider as the token's.
    let file = RootKey::generate().unwrap();
    assert_eq!(
        TenantKeySet::unwrap(&file, "acme", 1, &wd, &wi).err(),
        Some(CryptoError::WrongProvider {
            wrapped_by: "pkcs11",
            configured: "file"
        })
    );

    // Another key of the same token does not open them.
    let other = config("main", "wrap-test-other");
    Pkcs11Provider::create_key(&other, pin(PIN)).unwrap();
    let other = Pkcs11Provider::open(&other, pin(PIN)).unwrap();
    assert_eq!(
        TenantKeySet::unwrap(&other, "acme", 1, &wd, &wi).err(),
        Some(CryptoError::Decrypt)
    );
}

#[test]
fn the_created_key_never_leaves_the_token() {
    let _hsm = hsm();
    let cfg = config("main", "sealed-test");
    Pkcs11Provider::create_key(&cfg, pin(PIN)).unwrap();
    let again = provider_error(
        Pkcs11Provider::create_key(&cfg, pin(PIN)).map(|_| unreachable!("created twice")),
    );
    assert!(
        again.contains("already holds a key labelled 'sealed-test'"),
        "{again}"
    );

    let (session, _) = session("main");
    let key = session
        .find_objects(&[Attribute::Label(b"sealed-test".to_vec())])
        .unwrap()[0];
    let attrs = session
        .get_attributes(
            key,
            &[
                cryptoki::object::AttributeType::Extractable,
                cryptoki::object::AttributeType::Sensitive,
                cryptoki::object::AttributeType::Token,
            ],
        )
        .unwrap();
    for a in &attrs {
        match a {
            Attribute::Extractable(b) => assert!(!b),
            Attribute::Sensitive(b) | Attribute::Token(b) => assert!(b),
            other => panic!("{other:?}"),
        }
    }
    // Its value cannot be read.
    let value = session
        .get_attributes(key, &[cryptoki::object::AttributeType::Value])
        .unwrap();
    assert!(
        !value.iter().any(|a| matches!(a, Attribute::Value(_))),
        "the token gave out the key's value"
    );
}

#[test]
fn a_key_that_can_be_extracted_is_refused_as_the_root_key() {
    let _hsm = hsm();
    let (session, _) = session("extractable");
    session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::ValueLen(32.into()),
                Attribute::Label(b"readable".to_vec()),
                Attribute::Token(true),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
            ],
        )
        .unwrap();
    let m = provider_error(Pkcs11Provider::open(
        &config("extractable", "readable"),
        pin(PIN),
    ));
    assert!(m.contains("can be extracted"), "{m}");
}

#[test]
fn a_missing_token_key_or_module_and_a_wrong_pin_are_named() {
    let _hsm = hsm();
    let m = provider_error(Pkcs11Provider::open(&config("nowhere", "k"), pin(PIN)));
    assert_eq!(m, "no PKCS#11 token labelled 'nowhere' is present");
    let m = provider_error(Pkcs11Provider::open(
        &config("main", "no-such-key"),
        pin(PIN),
    ));
    assert!(m.contains("holds no AES key labelled 'no-such-key'"), "{m}");
    let cfg = config("main", "pin-test");
    Pkcs11Provider::create_key(&cfg, pin(PIN)).unwrap();
    let m = provider_error(Pkcs11Provider::open(&cfg, pin("0000")));
    assert_eq!(m, "the token refused the PIN");
    assert!(!m.contains("0000"));
    let mut cfg = config("main", "k");
    cfg.module = "/nonexistent/libpkcs11.so".into();
    let m = provider_error(Pkcs11Provider::open(&cfg, pin(PIN)));
    assert!(
        m.starts_with("cannot load the PKCS#11 module /nonexistent/libpkcs11.so"),
        "{m}"
    );
}

/// A logged-in read-write session on a token, straight through cryptoki.
fn session(token: &str) -> (cryptoki::session::Session, Pkcs11) {
    let ctx = Pkcs11::new(MODULE).unwrap();
    let _ = ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label().trim_end() == token)
        .unwrap();
    let session = ctx.open_rw_session(slot).unwrap();
    let _ = session.login(UserType::User, Some(&AuthPin::from(PIN)));
    (session, ctx)
}
