//! Leak response: values found outside the vault matched against every
//! tenant's customers — counts per tenant, confirmed by two values of one row,
//! only for the security office and scanner credentials, within a daily
//! budget of customers per credential, every call audited.

mod common;

use std::collections::BTreeMap;

use common::{Env, phone};
use mamori_core::{FieldType, Role, normalize::normalize, schema::CONTACT_CENTRE_SCHEMA};
use mamori_vault::{
    VaultError,
    ingest::ImportRow,
    leak::matching::{Found, MatchReport, TenantMatch, parts},
    leak::notice::LeakedFile,
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
    with_tenant(&env, "beta", "ベータ", CONTACT_CENTRE_SCHEMA, |i| {
        BTreeMap::from([
            ("customer_no".into(), format!("B-{i}")),
            ("name".into(), format!("別所 花子{i}")),
            ("phone".into(), format!("080-1111-{i:04}")),
            ("email".into(), format!("hanako{i}@example.jp")),
        ])
    });
    env.person("op", Role::Operator, &[("acme", Some("own"))], None, None);
    env.person("pc-0001", Role::Scanner, &[], None, None);
    env
}

/// (tenant, values matched, possible, confirmed) of each tenant named.
fn counts(r: &MatchReport) -> Vec<(String, u64, u64, u64)> {
    r.tenants
        .iter()
        .map(|t: &TenantMatch| {
            assert_eq!(t.people.len() as u64, t.people_possible);
            let confirmed = t.people.iter().filter(|n| n.confirmed).count() as u64;
            assert_eq!(confirmed, t.people_confirmed);
            (
                t.tenant.clone(),
                t.values_matched,
                t.people_possible,
                t.people_confirmed,
            )
        })
        .collect()
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
        counts(&report),
        [("acme".into(), 6, 4, 1), ("beta".into(), 2, 1, 1)]
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
fn only_the_security_office_and_scanners_match_and_a_refusal_is_recorded() {
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
    // A scanner credential is answered like the security office.
    let r = env
        .vault
        .match_found(&env.who("pc-0001"), &[7; 32], &values())
        .unwrap();
    assert_eq!(counts(&r)[0], ("acme".into(), 6, 4, 1));
    // …and may do nothing else: not even search.
    let err = env.search("pc-0001", 3).unwrap_err();
    assert!(matches!(err, VaultError::Forbidden { .. }), "{err:?}");
}

#[test]
fn a_file_sent_in_parts_is_counted_as_the_whole_file() {
    let env = two_tenants();
    let all = values();
    let whole = env
        .vault
        .match_found(&env.officer(), &[3; 32], &all)
        .unwrap();
    // Parts of at most three values, rows kept whole: customer 3 is named in
    // row 1 and again in row 6, in another part.
    let cut = parts(&all, 3);
    assert_eq!(
        cut.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [3, 2, 2, 3]
    );
    for p in &cut {
        let groups: std::collections::BTreeSet<u64> = p.iter().map(|f| f.group).collect();
        for g in groups {
            assert!(
                cut.iter()
                    .filter(|q| q.iter().any(|f| f.group == g))
                    .count()
                    == 1,
                "row {g} was cut apart"
            );
        }
    }
    let mut merged = MatchReport::new(&[3; 32]);
    for p in cut {
        merged.merge(env.vault.match_found(&env.officer(), &[3; 32], p).unwrap());
    }
    assert_eq!(counts(&merged), counts(&whole));
    assert_eq!(merged.values, whole.values);
    // Summing the parts instead would have counted customer 3 twice.
    assert_eq!(counts(&merged)[0].2, 4);

    // The same customer has another pseudonym in another file.
    let other = env
        .vault
        .match_found(&env.officer(), &[4; 32], &all)
        .unwrap();
    let names = |r: &MatchReport| -> Vec<String> {
        r.tenants[0]
            .people
            .iter()
            .map(|n| n.pseudonym.clone())
            .collect()
    };
    assert_eq!(names(&whole).len(), 4);
    assert!(names(&whole).iter().all(|n| n.len() == 32));
    assert!(
        names(&whole).iter().all(|n| !names(&other).contains(n)),
        "pseudonyms link a customer across files"
    );
}

#[test]
fn a_single_row_longer_than_a_part_is_split_and_nothing_is_lost() {
    let row: Vec<Found> = (0..7)
        .map(|i| found(FieldType::Phone, &phone(i), 9))
        .collect();
    let cut = parts(&row, 3);
    assert_eq!(cut.iter().map(|p| p.len()).collect::<Vec<_>>(), [3, 3, 1]);
    assert!(parts(&[], 3).is_empty());
}

#[test]
fn a_scanner_is_told_of_no_more_customers_a_day_than_its_budget() {
    let mut env = Env::new(|r| {
        r.scan.customers_per_day.insert("scanner".into(), 3);
    });
    env.person("pc-0001", Role::Scanner, &[], None, None);
    let pc = env.who("pc-0001");
    let phones = |ids: &[usize]| -> Vec<Found> {
        ids.iter()
            .enumerate()
            .map(|(row, &i)| found(FieldType::Phone, &phone(i), row as u64))
            .collect()
    };
    // Five customers in one file: over the budget, refused whole, no counts.
    let err = env
        .vault
        .match_found(&pc, &[1; 32], &phones(&[0, 1, 2, 3, 4]))
        .unwrap_err();
    assert_eq!(err.code(), "scan_budget_exhausted", "{err:?}");
    assert!(matches!(err, VaultError::Limited { .. }));
    // Nothing was charged: two customers, then the same two and one more.
    env.vault
        .match_found(&pc, &[2; 32], &phones(&[0, 1]))
        .unwrap();
    env.vault
        .match_found(&pc, &[3; 32], &phones(&[0, 1, 2]))
        .unwrap();
    // Values that name nobody cost nothing.
    let none = vec![found(FieldType::Phone, "090-9999-0000", 0)];
    env.vault.match_found(&pc, &[4; 32], &none).unwrap();
    let err = env
        .vault
        .match_found(&pc, &[5; 32], &phones(&[3]))
        .unwrap_err();
    assert_eq!(err.code(), "scan_budget_exhausted");
    // The security office's own budget is another (and far larger) one.
    env.vault
        .match_found(&env.officer(), &[5; 32], &phones(&[3, 4]))
        .unwrap();
    // The refusals are recorded, with the flag the oracle rule reads.
    let denied: Vec<serde_json::Value> = env
        .vault
        .audit()
        .store()
        .query(&mamori_store::AuditQuery {
            actor: Some("user:pc-0001".into()),
            action: Some("scan.match".into()),
            limit: 100,
            ..Default::default()
        })
        .unwrap()
        .iter()
        .filter(|r| r.decision == "deny")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(denied.len(), 2);
    assert!(denied.iter().all(|e| e["detail"]["flag"] == "budget"));
    assert!(
        denied
            .iter()
            .all(|e| e["reason"] == "scan_budget_exhausted")
    );

    // The next Japan day the budget is whole again.
    env.advance(86_400);
    env.vault
        .match_found(&pc, &[6; 32], &phones(&[3, 4, 5]))
        .unwrap();
    // A restart forgets nothing: the audit log says whom it was told of today.
    let tokens = env.tokens.clone();
    let Env {
        dir, vault, clock, ..
    } = env;
    drop(vault);
    let vault = mamori_app::datadir::open_with(dir.path(), |v| {
        let mut rules = mamori_vault::rules::Rules::default();
        rules.scan.customers_per_day.insert("scanner".into(), 3);
        v.with_clock(std::sync::Arc::new(clock.clone()))
            .with_rules(rules)
    })
    .unwrap()
    .vault;
    let pc = vault
        .authenticate(Some(&tokens["pc-0001"]), Some("test".into()))
        .unwrap();
    vault.match_found(&pc, &[8; 32], &phones(&[5, 4])).unwrap();
    let err = vault.match_found(&pc, &[7; 32], &phones(&[6])).unwrap_err();
    assert_eq!(err.code(), "scan_budget_exhausted");
}

#[test]
fn values_are_normalised_by_the_vault_and_malformed_ones_refused() {
    assert_eq!(
        Found::new(FieldType::Phone, "０９０（００００）０００３", 1)
            .map(|f| f.value.to_string())
            .as_deref(),
        Some("09000000003")
    );
    assert!(Found::new(FieldType::Phone, "not a phone", 1).is_none());
    assert!(Found::new(FieldType::MyNumber, "123456789012", 1).is_none());
}

#[test]
fn more_values_than_a_call_takes_are_refused_and_recorded() {
    let env = Env::new(|r| r.scan.values_per_call = 2);
    let err = env
        .vault
        .match_found(&env.officer(), &[1; 32], &values_of_acme(3))
        .unwrap_err();
    assert_eq!(err.code(), "scan_too_many_values");
    let rows = env
        .vault
        .audit()
        .store()
        .query(&mamori_store::AuditQuery {
            action: Some("scan.match".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].decision, "invalid");
}

fn values_of_acme(n: usize) -> Vec<Found> {
    (0..n)
        .map(|i| found(FieldType::Phone, &phone(i), i as u64))
        .collect()
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

#[test]
fn values_many_people_share_only_confirm_a_customer_named_otherwise() {
    let env = two_tenants();
    // gamma's three customers share one kana name.
    env.vault
        .create_tenant("cli:test", "gamma", "ガンマ", CONTACT_CENTRE_SCHEMA)
        .unwrap();
    let rows = (0..3)
        .map(|i| ImportRow {
            line: i as u64 + 2,
            segment: None,
            fields: BTreeMap::from([
                ("customer_no".into(), format!("G-{i}")),
                ("name".into(), format!("山田 太郎{i}")),
                ("name_kana".into(), "ヤマダ タロウ".into()),
                ("phone".into(), format!("080-2222-{i:04}")),
            ]),
        })
        .collect();
    env.vault
        .import_batch("cli:test", "gamma", None, rows)
        .unwrap();
    let only_shared = vec![found(FieldType::Kana, "ヤマダ タロウ", 1)];
    let r = env
        .vault
        .match_found(&env.officer(), &[5; 32], &only_shared)
        .unwrap();
    assert!(
        r.tenants.is_empty(),
        "a shared name alone names no one: {r:?}"
    );
    // With a phone in the same row, it confirms that one customer; in
    // another row it adds nothing.
    let rows = vec![
        found(FieldType::Phone, "080-2222-0001", 1),
        found(FieldType::Kana, "ヤマダ タロウ", 1),
        found(FieldType::Phone, "080-2222-0002", 2),
        found(FieldType::Kana, "ヤマダ タロウ", 3),
    ];
    let r = env
        .vault
        .match_found(&env.officer(), &[6; 32], &rows)
        .unwrap();
    assert_eq!(counts(&r), [("gamma".into(), 3, 2, 1)]);
}

/// gamma: a telecom carrier's tenant whose list of affected people goes to
/// its own key; three customers.
fn with_gamma(env: &Env, recipient: &str) {
    let schema = format!(
        "{CONTACT_CENTRE_SCHEMA}\n[breach]\nreport_to = \"soumu\"\nnotify_recipient = \"{recipient}\"\n"
    );
    with_tenant(env, "gamma", "ガンマ通信", &schema, |i| {
        BTreeMap::from([
            ("customer_no".into(), format!("G-{i}")),
            ("name".into(), format!("蒲生 次郎{i}")),
            ("phone".into(), format!("070-2222-{i:04}")),
        ])
    });
}

/// A tenant of this schema with three customers, `fields(i)` each.
fn with_tenant(
    env: &Env,
    tenant: &str,
    name: &str,
    schema: &str,
    fields: impl Fn(usize) -> BTreeMap<String, String>,
) {
    env.vault
        .create_tenant("cli:test", tenant, name, schema)
        .unwrap();
    let rows = (0..3)
        .map(|i| ImportRow {
            line: i as u64 + 2,
            segment: None,
            fields: fields(i),
        })
        .collect();
    env.vault
        .import_batch("cli:test", tenant, None, rows)
        .unwrap();
}

#[test]
fn a_tenants_notification_package_has_its_drafts_and_a_list_only_it_can_open() {
    let env = two_tenants();
    let identity = mamori_crypto::PackageIdentity::generate();
    with_gamma(&env, &identity.recipient().encoded());
    let values = [
        found(FieldType::Phone, "070-2222-0000", 1),
        found(FieldType::Text, "G-0", 1),
        found(FieldType::Phone, "070-2222-0001", 2),
        found(FieldType::Phone, &phone(3), 3),
    ];
    let items = BTreeMap::from([
        (mamori_scan::Kind::Phone, 3),
        (mamori_scan::Kind::Identifier, 1),
    ]);
    let so = env.officer();
    let leaked: LeakedFile = env
        .vault
        .leaked_values(&so, [5; 32], &values, items)
        .unwrap();
    let known = env.vault.now() - 86_400;

    // Only the security office; the refusal is recorded.
    for who in ["op", "pc-0001"] {
        let err = env
            .vault
            .breach_notice(&env.who(who), &leaked, "gamma", None)
            .unwrap_err();
        assert!(
            matches!(err, VaultError::Forbidden { .. }),
            "{who}: {err:?}"
        );
    }
    let err = env
        .vault
        .breach_notice(&so, &leaked, "gamma", Some(env.vault.now() + 60))
        .unwrap_err();
    assert_eq!(err.code(), "time_invalid");

    let n = env
        .vault
        .breach_notice(&so, &leaked, "gamma", Some(known))
        .unwrap();
    assert_eq!(
        (n.breach.people_confirmed, n.breach.people_possible),
        (1, 2)
    );
    assert_eq!(n.final_due, mamori_core::jst::rfc3339(known + 30 * 86_400));
    assert_eq!(
        n.preliminary_due[0],
        mamori_core::jst::rfc3339(known + 3 * 86_400)
    );
    assert!(n.preliminary.contains("総務省"), "{}", n.preliminary);
    assert!(n.preliminary.contains("最大 2 人（うち確認済み 1 人）"));
    assert!(n.preliminary.contains("【要記入】"));
    assert!(n.final_report.contains("（確報）"));
    assert!(n.final_report.contains("電気通信事業法"));
    for draft in [&n.preliminary, &n.final_report] {
        for value in ["G-0", "G-1", "07022220000", "蒲生"] {
            assert!(!draft.contains(value), "{value} in a draft");
        }
    }

    // The list: customer numbers, confirmed first; only the tenant's key opens it.
    let list = n.list.as_ref().unwrap();
    assert_eq!((list.people, list.confirmed), (2, 1));
    assert!(!list.bytes.windows(3).any(|w| w == b"G-0"));
    let csv = String::from_utf8(identity.open(&list.bytes).unwrap().to_vec()).unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].starts_with("G-0,確認済み"), "{csv}");
    assert!(lines[2].starts_with("G-1,可能性"), "{csv}");
    let other = mamori_crypto::PackageIdentity::generate();
    assert!(other.open(&list.bytes).is_err());

    // A tenant without a recipient key gets drafts and no list.
    let acme = env.vault.breach_notice(&so, &leaked, "acme", None).unwrap();
    assert!(acme.list.is_none());
    assert!(acme.preliminary.contains("notify_recipient"));
    assert!(acme.preliminary.contains("個人情報保護委員会"));

    // Recorded in the tenant's log by opaque id, with the list's hash.
    let events = env
        .vault
        .audit()
        .store()
        .query(&mamori_store::AuditQuery {
            tenant: Some("gamma".into()),
            action: Some("breach.notify".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(events.len(), 1);
    let e: serde_json::Value = serde_json::from_slice(&events[0].body).unwrap();
    assert_eq!(e["records"].as_array().unwrap().len(), 2);
    assert_eq!(e["detail"]["list_sha256"], list.sha256.as_str());
    assert_eq!(e["detail"]["report_to"], "soumu");
    let body = String::from_utf8_lossy(&events[0].body);
    assert!(
        !body.contains("G-0") && !body.contains("07022220000"),
        "{body}"
    );
}

#[test]
fn a_schema_names_a_real_recipient_key_or_none() {
    let env = Env::new(|_| {});
    for bad in ["age1short", "AGE-SECRET-KEY-1QQQ", "ssh-ed25519 AAAA"] {
        let schema = format!("{CONTACT_CENTRE_SCHEMA}\n[breach]\nnotify_recipient = \"{bad}\"\n");
        let err = env
            .vault
            .create_tenant("cli:test", "delta", "デルタ", &schema)
            .unwrap_err();
        assert_eq!(err.code(), "schema_invalid", "{bad}");
    }
    let schema = format!("{CONTACT_CENTRE_SCHEMA}\n[breach]\nreport_to = \"fax\"\n");
    assert!(
        env.vault
            .create_tenant("cli:test", "delta", "デルタ", &schema)
            .is_err()
    );
}
