//! The egress register: destinations requested with a purpose, approved by
//! the security office (never by whoever asked) for a limited time, lapsing
//! unless re-approved, revoked at once, and published as an allow-list of
//! what is in force — each step an audit event.

mod common;

use common::Env;
use mamori_core::Role;
use mamori_vault::{
    ErrorCode,
    egress::{EgressState, ListFormat},
};
use sha2::{Digest, Sha256};

const DAY: i64 = 86_400;

#[test]
fn a_destination_is_published_only_while_approved_and_in_force() {
    let mut env = Env::team();
    env.person("ad", Role::Sysadmin, &[], None, None);
    let (ad, so) = (env.who("ad"), env.officer());
    let code = |e: mamori_vault::VaultError| e.error_code();
    let asked = env
        .vault
        .egress_request(
            &ad,
            ".Example.co.jp",
            443,
            "委託元の申込受付システムへの送信",
            30,
        )
        .unwrap();
    assert_eq!(
        (asked.state, asked.destination.as_str()),
        (EgressState::Pending, ".example.co.jp")
    );
    let other = env
        .vault
        .egress_request(&ad, "192.0.2.0/24", 8443, "バックアップ転送先", 30)
        .unwrap();

    // Bad input is refused without repeating it; operators may not ask.
    let e = env
        .vault
        .egress_request(&ad, "http://evil.example/", 443, "転送のため", 30)
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::DestinationInvalid);
    let e = env
        .vault
        .egress_request(&ad, "a.example.jp", 0, "転送のため", 30)
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::DestinationInvalid);
    let e = env
        .vault
        .egress_request(&env.who("op"), "a.example.jp", 443, "転送のため", 30)
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::Forbidden);

    // Approved by the security office only, never one's own request.
    assert_eq!(
        code(env.vault.egress_approve(&ad, &asked.id).unwrap_err()),
        ErrorCode::Forbidden
    );
    let own = env
        .vault
        .egress_request(&so, "siem.example.jp", 6514, "SIEM への監査ログ転送", 30)
        .unwrap();
    assert_eq!(
        code(env.vault.egress_approve(&so, &own.id).unwrap_err()),
        ErrorCode::Forbidden
    );
    let approved = env.vault.egress_approve(&so, &asked.id).unwrap();
    assert_eq!(approved.state, EgressState::Approved);
    assert_eq!(approved.approved_by.as_deref(), Some("so"));
    env.vault.egress_approve(&so, &other.id).unwrap();

    // Published: what is in force, nothing pending.
    let squid = env
        .vault
        .egress_publish(&so, ListFormat::Squid, "")
        .unwrap();
    assert!(
        squid.contains("acl mamori_dstdomain_443 dstdomain .example.co.jp\n"),
        "{squid}"
    );
    assert!(squid.contains("http_access allow mamori_dstdomain_443 mamori_port_443\n"));
    assert!(squid.contains("acl mamori_dst_8443 dst 192.0.2.0/24\n"));
    assert!(
        !squid.contains("siem.example.jp"),
        "pending is not published"
    );
    let pac = env
        .vault
        .egress_publish(&so, ListFormat::Pac, "proxy.corp.example:3128")
        .unwrap();
    assert!(pac.contains("\".example.co.jp\"") && pac.contains("PROXY proxy.corp.example:3128"));
    assert_eq!(
        code(
            env.vault
                .egress_publish(&so, ListFormat::Pac, "nope")
                .unwrap_err()
        ),
        ErrorCode::DestinationInvalid
    );
    assert_eq!(
        code(
            env.vault
                .egress_publish(&ad, ListFormat::Squid, "")
                .unwrap_err()
        ),
        ErrorCode::Forbidden
    );
    // Each publication is recorded with the SHA-256 of exactly that list.
    let rows = env
        .vault
        .audit()
        .store()
        .query(&mamori_store::AuditQuery {
            action: Some("egress.publish".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    let first: serde_json::Value = serde_json::from_slice(&rows[0].body).unwrap();
    assert_eq!(
        first["detail"]["sha256"],
        hex::encode(Sha256::digest(squid.as_bytes()))
    );

    // An approval lapses unless reviewed (re-approved) in time.
    env.advance(31 * DAY);
    let lapsed = env.vault.egress_register(&ad).unwrap();
    assert!(
        lapsed
            .iter()
            .filter(|e| e.id != own.id)
            .all(|e| e.state == EgressState::Lapsed)
    );
    assert!(
        !env.vault
            .egress_publish(&so, ListFormat::Squid, "")
            .unwrap()
            .contains("example.co.jp")
    );
    assert_eq!(
        env.vault.egress_approve(&so, &asked.id).unwrap().state,
        EgressState::Approved
    );

    // Revoked at once, and not approvable again.
    let revoked = env
        .vault
        .egress_revoke(&so, &asked.id, "委託契約の終了")
        .unwrap();
    assert_eq!(revoked.state, EgressState::Revoked);
    assert!(
        !env.vault
            .egress_publish(&so, ListFormat::Squid, "")
            .unwrap()
            .contains("example.co.jp")
    );
    assert_eq!(
        code(env.vault.egress_approve(&so, &asked.id).unwrap_err()),
        ErrorCode::EgressRevoked
    );
    assert_eq!(
        code(
            env.vault
                .egress_approve(&so, "00000000000000000000000000000000")
                .unwrap_err()
        ),
        ErrorCode::NotFound
    );
}
