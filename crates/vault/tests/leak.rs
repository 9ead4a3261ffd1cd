//! Leak response: values found outside the vault matched against every
//! tenant's customers — counts per tenant, confirmed by two values of one row,
//! only for the security office, every call audited.

mod common;

use std::collections::BTreeMap;

use common::{Env, phone};
use mamori_core::{FieldType, Role, normalize::normalize, schema::CONTACT_CENTRE_SCHEMA};
use mamori_vault::{
    VaultError,
    ingest::ImportRow,
    leak::matching::{Found, TenantMatch},
};
use zeroize::Zeroizing;

fn found(ty: FieldType, raw: &str, group: u64) -> Found {
    Found {
        ty,
        value: Zeroizing::new(normalize(ty, raw).unwrap()),
        group,
    }
}

/// acme (ten customers, from the harness) and beta (three of its own).
fn two_tenants() -> Env {
    let mut env = Env::new(|_| {});
    env.vault
        .create_tenant("cli:test", "beta", "ベータ", CONTACT_CENTRE_SCHEMA)
        .unwrap();
    let rows = (0..3)
        .map(|i| ImportRow {
            line: i as u64 + 2,
            segment: None,
            fields: BTreeMap::from([
                ("customer_no".into(), format!("B-{i}")),
                ("name".into(), format!("別所 花子{i}")),
                ("phone".into(), format!("080-1111-{i:04}")),
                ("email".into(), format!("hanako{i}@example.jp")),
            ]),
        })
        .collect();
    env.vault
        .import_batch("cli:test", "beta", None, rows)
        .unwrap();
    env.person("op", Role::Operator, &[("acme", Some("own"))], None, None);
    env
}

fn values() -> Vec<Found> {
    vec![
        // Row 1: customer 3's phone and customer number — confirmed.
        found(FieldType::Phone, &phone(3), 1),
        found(FieldType::Text, "C-3", 1),
        // Row 2: customer 4's phone alone — possible.
        found(FieldType::Phone, &phone(4), 2),
        // Row 3: two phones of two different customers — possible, each.
        found(FieldType::Phone, &phone(5), 3),
        found(FieldType::Phone, &phone(6), 3),
        // Row 4: nobody's.
        found(FieldType::Phone, "090-9999-9999", 4),
        found(FieldType::Email, "nobody@example.jp", 4),
        // Row 5: beta's customer by phone and e-mail — confirmed there.
        found(FieldType::Phone, "080-1111-0002", 5),
        found(FieldType::Email, "hanako2@example.jp", 5),
        // Row 6: customer 3 again, by phone only: still one person.
        found(FieldType::Phone, &phone(3), 6),
        // A card number: never matched (no searchable field has that type).
    ]
}

#[test]
fn found_values_are_counted_per_tenant_and_confirmed_by_two_of_a_row() {
    let env = two_tenants();
    let report = env
        .vault
        .match_found(&env.officer(), &[7; 32], &values())
        .unwrap();
    assert_eq!(report.values, 10);
    assert_eq!(report.file_sha256, hex::encode([7; 32]));
    assert_eq!(
        report.tenants,
        [
            TenantMatch {
                tenant: "acme".into(),
                values_matched: 6,
                people_possible: 4,
                people_confirmed: 1,
            },
            TenantMatch {
                tenant: "beta".into(),
                values_matched: 2,
                people_possible: 1,
                people_confirmed: 1,
            },
        ]
    );

    // Audited: the system log has the file and the counts, each tenant's log
    // the customers found (opaque ids), and no value anywhere.
    let store = env.vault.audit().store();
    let events = |tenant: Option<&str>| {
        store
            .query(&mamori_store::AuditQuery {
                tenant: tenant.map(str::to_owned),
                action: Some("scan.match".into()),
                limit: 100,
                ..Default::default()
            })
            .unwrap()
    };
    let acme = events(Some("acme"));
    assert_eq!(acme.len(), 1);
    let e: serde_json::Value = serde_json::from_slice(&acme[0].body).unwrap();
    assert_eq!(e["records"].as_array().unwrap().len(), 4);
    assert_eq!(e["detail"]["people_confirmed"], 1);
    assert_eq!(e["detail"]["file_sha256"], hex::encode([7; 32]));
    let all = events(None);
    assert_eq!(all.len(), 3, "system, acme and beta");
    for row in &all {
        let body = String::from_utf8_lossy(&row.body);
        for planted in ["09000000003", "C-3", "hanako2", "08011110002"] {
            assert!(!body.contains(planted), "a value reached the audit log");
        }
    }
}

#[test]
fn only_the_security_office_matches_and_a_refusal_is_recorded() {
    let env = two_tenants();
    let err = env
        .vault
        .match_found(&env.who("op"), &[7; 32], &values())
        .unwrap_err();
    assert!(matches!(err, VaultError::Forbidden { .. }), "{err:?}");
    let refused = env
        .vault
        .audit()
        .store()
        .query(&mamori_store::AuditQuery {
            action: Some("scan.match".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].decision, "deny");
}

#[test]
fn customers_written_under_an_older_key_are_still_found() {
    let env = two_tenants();
    env.vault.rotate_key("cli:test", "acme").unwrap();
    let report = env
        .vault
        .match_found(&env.officer(), &[1; 32], &values()[..2])
        .unwrap();
    assert_eq!(report.tenants[0].people_confirmed, 1);
}

#[test]
fn nothing_found_is_an_empty_answer() {
    let env = two_tenants();
    let report = env
        .vault
        .match_found(&env.officer(), &[2; 32], &[])
        .unwrap();
    assert!(report.tenants.is_empty());
}
