//! The relying party against a real OpenID Provider (panva's oidc-provider,
//! started by the test on loopback and stopped by PID): a sign-in that
//! works, and each way a sign-in or a token can be wrong, refused.

#[path = "common/op.rs"]
mod op;

use mamori_identity::{Error, Fresh, Provider, ProviderConfig, Refusal};
use serde_json::json;

const SECRET: &str = "client-secret-for-tests-only-0123456789";
const REDIRECT: &str = "http://127.0.0.1:9/console/oidc/callback";

fn fixture() -> serde_json::Value {
    json!({
        "clients": [{"client_id": "mamori", "client_secret": SECRET, "redirect_uris": [REDIRECT]}],
        "accounts": {
            "u-sato": {"preferred_username": "sato", "name": "佐藤 花子", "groups": ["g-operators"], "mfa": true},
            "u-ito": {"preferred_username": "ito", "groups": ["g-supervisors"], "mfa": false}
        }
    })
}

fn provider(op: &op::TestOp, refresh_s: u64) -> Provider {
    let config: ProviderConfig = toml_like(json!({
        "name": "test", "issuer": op.issuer, "client_id": "mamori",
        "client_secret_env": "UNUSED", "redirect_uri": REDIRECT,
        "scopes": ["openid", "profile", "groups"], "jwks_refresh_min_s": refresh_s,
    }));
    Provider::new(
        config,
        Some(SECRET.to_owned().into()),
        std::path::Path::new("."),
    )
    .unwrap()
}

fn toml_like(v: serde_json::Value) -> ProviderConfig {
    serde_json::from_value(v).unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn a_sign_in_through_the_provider_and_every_way_it_can_go_wrong() {
    if !op::ready() {
        return;
    }
    let op = op::TestOp::start(&fixture(), 0);
    let p = provider(&op, 60);

    // The happy path: code, state and the response's issuer come back; the
    // code exchanged with the verifier gives the person and how they signed in.
    let b = p.begin(&Fresh::default()).unwrap();
    assert!(b.url.contains("code_challenge_method=S256"));
    let back = op.sign_in(&b.url, "u-sato");
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(op::param(&back, "state").as_deref(), Some(b.state.as_str()));
    p.check_response_issuer(op::param(&back, "iss").as_deref())
        .unwrap();
    assert!(matches!(
        p.check_response_issuer(Some("http://127.0.0.1:1")),
        Err(Error::Refused(Refusal::ResponseIssuer))
    ));
    assert!(
        p.check_response_issuer(None).is_err(),
        "this provider always sends iss"
    );
    let code = op::param(&back, "code").unwrap();
    let v = p.finish(&code, &b.verifier, &b.nonce, None, now()).unwrap();
    assert_eq!(v.subject, "u-sato");
    assert_eq!(v.groups, ["g-operators"]);
    assert_eq!(v.amr, ["pwd"]);
    assert!(v.auth_time.is_some());

    // The same code again: the provider refuses it.
    let replay = p.finish(&code, &b.verifier, &b.nonce, None, now());
    assert!(
        matches!(&replay, Err(Error::Provider(e)) if e == "invalid_grant"),
        "{replay:?}"
    );

    // Another sign-in's verifier: the provider refuses the code (PKCE).
    let b2 = p.begin(&Fresh::default()).unwrap();
    let code2 = op::param(&op.sign_in(&b2.url, "u-sato"), "code").unwrap();
    let wrong = p.finish(&code2, &b.verifier, &b2.nonce, None, now());
    assert!(matches!(&wrong, Err(Error::Provider(e)) if e == "invalid_grant"));

    // Another sign-in's nonce: refused by the relying party.
    let b3 = p.begin(&Fresh::default()).unwrap();
    let code3 = op::param(&op.sign_in(&b3.url, "u-sato"), "code").unwrap();
    let wrong = p.finish(&code3, &b3.verifier, &b2.nonce, None, now());
    assert!(matches!(wrong, Err(Error::Refused(Refusal::Nonce))));

    // A fresh authentication with MFA asked for: prompt=login, max_age=0
    // and acr_values reach the provider, and auth_time is checked.
    let fresh = Fresh {
        reauthenticate: true,
        acr_values: vec!["urn:mamori:mfa".into()],
        claims: None,
    };
    let b4 = p.begin(&fresh).unwrap();
    assert!(b4.url.contains("prompt=login") && b4.url.contains("max_age=0"));
    let code4 = op::param(&op.sign_in(&b4.url, "u-sato"), "code").unwrap();
    let v4 = p
        .finish(&code4, &b4.verifier, &b4.nonce, b4.max_age, now())
        .unwrap();
    assert_eq!(v4.acr.as_deref(), Some("urn:mamori:mfa"));
    assert_eq!(v4.amr, ["pwd", "otp"]);
    // An account without MFA cannot give it.
    let b5 = p.begin(&fresh).unwrap();
    let code5 = op::param(&op.sign_in(&b5.url, "u-ito"), "code").unwrap();
    let v5 = p
        .finish(&code5, &b5.verifier, &b5.nonce, b5.max_age, now())
        .unwrap();
    assert_eq!(v5.acr.as_deref(), Some("urn:mamori:pwd"));
}

fn claims(op: &op::TestOp, nonce: &str) -> serde_json::Value {
    let t = now();
    json!({"iss": op.issuer, "sub": "u-sato", "aud": "mamori", "iat": t, "exp": t + 300,
           "nonce": nonce, "auth_time": t})
}

#[test]
fn forged_and_defective_id_tokens_are_refused() {
    if !op::ready() {
        return;
    }
    let op = op::TestOp::start(&fixture(), 0);
    let p = provider(&op, 3600);
    let good = claims(&op, "n");
    // Every allowed algorithm, as the provider's own JOSE library signs it.
    for alg in ["RS256", "PS256", "ES256", "EdDSA"] {
        let t = op.mint(&good, alg, None);
        let v = p.verify(&t, "n", None, now());
        assert_eq!(v.unwrap().subject, "u-sato", "{alg}");
    }
    let refused = |t: &str, r: Refusal| {
        let got = p.verify(t, "n", None, now());
        assert!(
            matches!(&got, Err(Error::Refused(x)) if *x == r),
            "{r:?}: {got:?}"
        );
    };
    refused(&op.mint(&good, "none", None), Refusal::AlgorithmNotAllowed);
    refused(
        &op.mint(&good, "HS256-public", None),
        Refusal::AlgorithmNotAllowed,
    );
    refused(&op.mint(&good, "foreign", None), Refusal::UnknownKey);
    // A foreign key's signature under the id of a published key.
    let jwks: serde_json::Value = reqwest::blocking::get(format!("{}/jwks", op.issuer))
        .unwrap()
        .json()
        .unwrap();
    let rs_kid = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["alg"] == "RS256")
        .unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    refused(
        &op.mint(&good, "foreign", Some(&rs_kid)),
        Refusal::BadSignature,
    );
    // The RS256 key named by an ES256 token: not a key for it.
    let es_as_rs = op.mint(&good, "ES256", Some(&rs_kid));
    refused(&es_as_rs, Refusal::UnknownKey);
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 3600);
    refused(&op.mint(&expired, "RS256", None), Refusal::Expired);
    let mut other_aud = good.clone();
    other_aud["aud"] = json!("another-app");
    refused(&op.mint(&other_aud, "RS256", None), Refusal::Audience);
    let mut other_iss = good.clone();
    other_iss["iss"] = json!("http://127.0.0.1:1");
    refused(&op.mint(&other_iss, "RS256", None), Refusal::Issuer);
    refused(&op.mint(&claims(&op, "m"), "RS256", None), Refusal::Nonce);
}

#[test]
fn a_rotated_key_is_fetched_once_and_a_flood_of_unknown_ids_is_not() {
    if !op::ready() {
        return;
    }
    let first = op::TestOp::start(&fixture(), 0);
    let port = first.port;
    let issuer = first.issuer.clone();
    // Fetching again at most every second; and a provider that may not.
    let p = provider(&first, 1);
    let slow = provider(&first, 3600);
    for pr in [&p, &slow] {
        let t = first.mint(&claims(&first, "n"), "RS256", None);
        pr.verify(&t, "n", None, now()).unwrap();
    }
    drop(first);
    // The provider restarts on the same address with new keys.
    let second = op::TestOp::start(&fixture(), port);
    assert_eq!(second.issuer, issuer);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let t = second.mint(&claims(&second, "n"), "RS256", None);
    assert_eq!(
        p.verify(&t, "n", None, now()).unwrap().subject,
        "u-sato",
        "the new key is fetched on its first use"
    );
    assert!(
        matches!(
            slow.verify(&t, "n", None, now()),
            Err(Error::Refused(Refusal::UnknownKey))
        ),
        "not fetched again within jwks_refresh_min_s"
    );
}
