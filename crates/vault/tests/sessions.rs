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

#[test]
fn once_a_person_is_deprovisioned_nothing_of_theirs_works_and_the_log_says_what_ended() {
    use std::sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
    };
    let mut env = Env::new(|r| r.limits.requests_per_minute = u32::MAX);
    env.person("op", Role::Operator, &[("acme", Some("own"))], None, None);
    let token = env.tokens["op"].clone();
    let session = env.vault.open_session_with_token(&token, None).unwrap();
    let op = env.who("op");
    let request = env
        .vault
        .request_access(
            &op,
            &mamori_vault::grants::NewRequest {
                tenant: "acme".into(),
                segment: Some("collab".into()),
                fields: vec!["customer_no".into(), "name".into()],
                purpose: "inquiry".into(),
                case_id: "CASE-7".into(),
                justification: "お客さまからの問い合わせで契約内容を確認する必要があるため".into(),
                record_budget: 2,
                starts_at: None,
                hours: Some(1),
            },
        )
        .unwrap()
        .id;

    // Readers with the person's token and session, all the while.
    let returned = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let (served_before, served_after, refused_after) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let readers: Vec<_> = (0..4)
        .map(|n| {
            let (vault, returned, stop) = (env.vault.clone(), returned.clone(), stop.clone());
            let (before, after, refused) = (
                served_before.clone(),
                served_after.clone(),
                refused_after.clone(),
            );
            let (token, secret) = (token.clone(), session.secret.to_string());
            std::thread::spawn(move || {
                while !stop.load(SeqCst) {
                    let began_after = returned.load(SeqCst);
                    let caller = if n % 2 == 0 {
                        vault.authenticate(Some(&token), None)
                    } else {
                        vault.authenticate_session(&secret, None)
                    };
                    let served = caller.and_then(|c| {
                        vault.search(
                            &c,
                            "acme",
                            mamori_vault::access::Access {
                                purpose: Some("inquiry"),
                                case_id: Some("CASE-1"),
                            },
                            &mamori_vault::SearchBy {
                                key: "phone".into(),
                                value: common::phone(n % 2),
                            },
                        )
                    });
                    match (began_after, served.is_ok()) {
                        (false, true) => before.fetch_add(1, SeqCst),
                        (true, true) => after.fetch_add(1, SeqCst),
                        (true, false) => refused.fetch_add(1, SeqCst),
                        (false, false) => 0,
                    };
                }
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let done = env.vault.deprovision("cli:test", "op", "test").unwrap();
    returned.store(true, SeqCst);
    std::thread::sleep(std::time::Duration::from_millis(300));
    stop.store(true, SeqCst);
    for r in readers {
        r.join().unwrap();
    }
    eprintln!(
        "served before: {}, refused after: {}, served after: {}",
        served_before.load(SeqCst),
        refused_after.load(SeqCst),
        served_after.load(SeqCst)
    );
    assert!(
        served_before.load(SeqCst) > 0,
        "the readers were served before"
    );
    assert_eq!(
        served_after.load(SeqCst),
        0,
        "a request begun after it returned was served"
    );
    assert!(refused_after.load(SeqCst) > 0);

    assert!(done.suspended);
    assert_eq!(done.credentials, 2, "the token and the session");
    assert_eq!(
        done.requests
            .iter()
            .map(|g| g.to_string())
            .collect::<Vec<_>>(),
        std::slice::from_ref(&request)
    );
    assert!(env.vault.authenticate(Some(&token), None).is_err());
    assert!(
        env.vault
            .authenticate_session(&session.secret, None)
            .is_err()
    );
    let events: Vec<serde_json::Value> = env
        .vault
        .audit()
        .store()
        .query(&mamori_store::AuditQuery {
            action: Some("user.deprovisioned".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap()
        .iter()
        .map(|row| serde_json::from_slice(&row.body).unwrap())
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail"]["login"], "op");
    assert_eq!(events[0]["detail"]["requests"][0], request.as_str());
    // A second time: recorded, nothing left to end; an unknown login: not found.
    let again = env.vault.deprovision("cli:test", "op", "test").unwrap();
    assert!(!again.suspended && again.credentials == 0 && again.requests.is_empty());
    assert!(matches!(
        env.vault.deprovision("cli:test", "nobody", "test"),
        Err(VaultError::NotFound { .. })
    ));
}
