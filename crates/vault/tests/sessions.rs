//! Credentials: API tokens with an expiry and a tenant scope, console
//! sessions that are not API tokens (nor the reverse), sessions that end
//! with their time, their sign-out or the person's credentials, and
//! people linked to identities at identity providers.

mod common;

use chrono::Duration;
use common::Env;
use mamori_core::Role;
use mamori_vault::{VaultError, admin::TokenTerms};

fn env() -> Env {
    let mut env = Env::new(|_| {});
    env.person("op", Role::Operator, &[("acme", Some("own"))], None, None);
    env
}

#[test]
fn a_token_expires_at_its_time_and_its_scope_keeps_it_to_its_tenants() {
    let env = env();
    let now = env.vault.now();
    let t = env
        .vault
        .issue_token_with(
            "cli:test",
            "op",
            &TokenTerms {
                expires_at: Some(now + 3600),
                tenants: None,
            },
        )
        .unwrap();
    let caller = env.vault.authenticate(Some(&t), None).unwrap();
    assert!(env.search_as(&caller, 0).is_ok());
    env.clock.advance(Duration::seconds(3600));
    assert!(matches!(
        env.vault.authenticate(Some(&t), None),
        Err(VaultError::Unauthenticated)
    ));

    // A token for another tenant: acme answers as to anyone not assigned.
    env.vault
        .create_tenant(
            "cli:test",
            "beta",
            "ベータ",
            mamori_core::schema::CONTACT_CENTRE_SCHEMA,
        )
        .unwrap();
    let beta_only = env
        .vault
        .issue_token_with(
            "cli:test",
            "op",
            &TokenTerms {
                expires_at: None,
                tenants: Some(vec!["beta".into()]),
            },
        )
        .unwrap();
    let caller = env.vault.authenticate(Some(&beta_only), None).unwrap();
    assert!(caller.principal.assignments.is_empty());
    let refused = env.search_as(&caller, 0).unwrap_err();
    assert_eq!(refused.status(), 403);

    // Bad terms: a past expiry, an empty or unknown scope.
    for terms in [
        TokenTerms {
            expires_at: Some(now - 1),
            tenants: None,
        },
        TokenTerms {
            expires_at: None,
            tenants: Some(vec![]),
        },
        TokenTerms {
            expires_at: None,
            tenants: Some(vec!["nowhere".into()]),
        },
    ] {
        assert!(
            env.vault
                .issue_token_with("cli:test", "op", &terms)
                .is_err()
        );
    }
}

#[test]
fn a_session_is_not_an_api_token_and_ends_by_time_sign_out_or_revocation() {
    let env = env();
    let token = env.tokens["op"].clone();
    assert!(
        env.vault.authenticate_session(&token, None).is_err(),
        "an API token is not a session"
    );
    let s = env.vault.open_session_with_token(&token, None).unwrap();
    assert_eq!(s.login, "op");
    let caller = env.vault.authenticate_session(&s.secret, None).unwrap();
    assert_eq!(caller.signed_in.as_ref().unwrap().method, "token");
    assert!(env.search_as(&caller, 0).is_ok());
    assert!(
        env.vault.authenticate(Some(&s.secret), None).is_err(),
        "a session is not an API token"
    );
    // Signed out: gone.
    env.vault.close_session(&s.secret, None).unwrap();
    assert!(env.vault.authenticate_session(&s.secret, None).is_err());
    // Eight hours at most.
    let s = env.vault.open_session_with_token(&token, None).unwrap();
    env.clock.advance(Duration::hours(8));
    assert!(env.vault.authenticate_session(&s.secret, None).is_err());
    // Revoking the person's credentials ends their sessions too.
    let s = env.vault.open_session_with_token(&token, None).unwrap();
    env.vault.revoke_tokens("cli:test", "op").unwrap();
    assert!(env.vault.authenticate_session(&s.secret, None).is_err());
    assert!(env.vault.open_session_with_token(&token, None).is_err());
}

#[test]
fn a_session_from_a_token_keeps_its_scope_and_ends_with_it() {
    let env = env();
    let now = env.vault.now();
    let t = env
        .vault
        .issue_token_with(
            "cli:test",
            "op",
            &TokenTerms {
                expires_at: Some(now + 600),
                tenants: Some(vec!["acme".into()]),
            },
        )
        .unwrap();
    let s = env.vault.open_session_with_token(&t, None).unwrap();
    assert_eq!(s.expires_at, now + 600);
    let caller = env.vault.authenticate_session(&s.secret, None).unwrap();
    assert_eq!(caller.scope.as_deref(), Some(&["acme".to_owned()][..]));
}

#[test]
fn identities_are_linked_only_to_configured_providers() {
    let env = env();
    let e = env
        .vault
        .link_identity("cli:test", "op", "entra", "tid/oid")
        .unwrap_err();
    assert_eq!(e.status(), 400, "no provider of that name is configured");
    assert!(env.vault.identity_providers().is_empty());
}
