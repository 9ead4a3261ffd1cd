//! The `kms` provider against moto's AWS server (from PyPI, pinned by hash
//! in `.ci/moto.txt`; its Python named by MAMORI_TEST_MOTO, which
//! `.ci/run` sets), started on a loopback port by each test and stopped by
//! its PID, checking every request's SigV4 signature and the IAM policy
//! of the user that signs it.

use std::sync::Arc;

use mamori_crypto::{CryptoError, KeyProvider, ProviderKind, TenantKeySet};
use mamori_keys::{KmsCredentials, KmsProvider, contract, kms::CredentialsLoader, moto::Moto};
use parking_lot::Mutex;
use zeroize::Zeroizing;

/// A moto server, or None with a SKIPPED banner where no Python with moto
/// is named (CI names one and fails on any SKIPPED).
fn moto() -> Option<Moto> {
    let Ok(python) = std::env::var("MAMORI_TEST_MOTO") else {
        eprintln!(
            "\n********\n* SKIPPED: the AWS KMS provider tests (need MAMORI_TEST_MOTO, a Python with \
             moto; .ci/run installs it). CI always runs them.\n********"
        );
        return None;
    };
    Some(Moto::start(std::path::Path::new(&python)))
}

fn fixed(c: &KmsCredentials) -> CredentialsLoader {
    let c = c.clone();
    Box::new(move || Ok(c.clone()))
}

fn provider_error(r: Result<KmsProvider, CryptoError>) -> String {
    match r {
        Err(CryptoError::Provider(m)) => m,
        Err(other) => panic!("expected a provider error, got {other:?}"),
        Ok(_) => panic!("expected a provider error, got a provider"),
    }
}

#[test]
fn tenant_keys_wrapped_by_kms_open_only_for_their_tenant_and_under_their_key() {
    let Some(moto) = moto() else { return };
    let key = moto.key();
    let user = moto.user_for("mamori");
    let p = KmsProvider::open(&moto.config(&key), None, fixed(&user)).unwrap();
    assert_eq!(p.kind(), ProviderKind::Kms);
    assert!(p.describe().contains(&key));

    let (wd, wi) = contract::check(&p, |w| {
        let n = w.len();
        w[n - 3] ^= 1;
    });
    // Another key (with a user allowed it) does not open them.
    let other = moto.key();
    let other_user = moto.user_for("other");
    let q = KmsProvider::open(&moto.config(&other), None, fixed(&other_user)).unwrap();
    assert!(TenantKeySet::unwrap(&q, "acme", 1, &wd, &wi).is_err());
}

#[test]
fn wrong_credentials_a_key_not_allowed_and_the_wrong_kind_of_key_are_refused_without_secrets() {
    let Some(moto) = moto() else { return };
    let key = moto.key();
    let user = moto.user_for("mamori");
    // A wrong secret: the signature does not verify.
    let wrong = KmsCredentials {
        secret_access_key: Zeroizing::new("not-the-secret".into()),
        ..user.clone()
    };
    let m = provider_error(KmsProvider::open(&moto.config(&key), None, fixed(&wrong)));
    assert!(m.contains("refused"), "{m}");
    assert!(!m.contains("not-the-secret") && !m.contains(user.secret_access_key.as_str()));
    // A user whose policy does not allow decrypting: wraps, never unwraps.
    let half = moto.user_allowed("half", &["kms:Encrypt", "kms:DescribeKey"]);
    let p = KmsProvider::open(&moto.config(&key), None, fixed(&half)).unwrap();
    let (_, wd, wi) = TenantKeySet::generate(&p, "acme", 1).unwrap();
    match TenantKeySet::unwrap(&p, "acme", 1, &wd, &wi) {
        Err(CryptoError::Provider(m)) => assert!(m.contains("HTTP 403"), "{m}"),
        other => panic!("expected a refusal, got {:?}", other.err()),
    }
    // A signing key, and a disabled key.
    let signing = moto.key_of("SIGN_VERIFY", "ECC_NIST_P256");
    let admin_like = moto.user_for("signer");
    let m = provider_error(KmsProvider::open(
        &moto.config(&signing),
        None,
        fixed(&admin_like),
    ));
    assert!(m.contains("not a symmetric encryption key"), "{m}");
    moto.disable(&key);
    let m = provider_error(KmsProvider::open(&moto.config(&key), None, fixed(&user)));
    assert!(m.contains("not enabled"), "{m}");
    // Plain HTTP only to this machine.
    let mut cfg = moto.config(&key);
    cfg.endpoint = "http://kms.example:4566".into();
    let m = provider_error(KmsProvider::open(&cfg, None, fixed(&user)));
    assert!(m.contains("https://"), "{m}");
}

#[test]
fn credentials_refused_later_are_loaded_again_once() {
    let Some(moto) = moto() else { return };
    let key = moto.key();
    let first = moto.user_for("first");
    let second = moto.user_for("second");
    // The loader hands out what its file holds now (a helper rotates it).
    let current = Arc::new(Mutex::new(first.clone()));
    let loads = Arc::new(Mutex::new(0));
    let (c, l) = (current.clone(), loads.clone());
    let loader: CredentialsLoader = Box::new(move || {
        *l.lock() += 1;
        Ok(c.lock().clone())
    });
    let p = KmsProvider::open(&moto.config(&key), None, loader).unwrap();
    let (_, wd, wi) = TenantKeySet::generate(&p, "acme", 1).unwrap();
    assert!(TenantKeySet::unwrap(&p, "acme", 1, &wd, &wi).is_ok());
    assert_eq!(
        *loads.lock(),
        1,
        "no reload while the held credentials work"
    );
    // The helper rotates the access key: the held one is deleted, the file
    // holds the new one; the next call is refused once, then repeated.
    *current.lock() = second;
    moto.revoke("first", &first);
    assert!(TenantKeySet::unwrap(&p, "acme", 1, &wd, &wi).is_ok());
    assert_eq!(*loads.lock(), 2, "loaded again once"); // (A key disabled later is refused by KMS itself, DisabledException;
    // moto decrypts with it still, so that is checked at start only.)
}
