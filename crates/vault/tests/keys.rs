//! Key rotation and rewrap on a real data directory: every record moves to the
//! new key version page by page (pages large enough to be sealed on several
//! threads), in commit groups; when a record cannot be opened the rewrap fails
//! with an error instead of hanging, the open group is rolled back and what
//! was committed before stays.

mod common;

use std::collections::BTreeMap;

use common::{Env, phone};
use mamori_core::Role;
use mamori_store::RecordScan;
use mamori_vault::ingest::ImportRow;

/// Customers beyond the harness's ten, on the own segment, phones 10..n.
fn more_customers(env: &Env, n: usize) {
    let rows = (10..n)
        .map(|i| ImportRow {
            line: i as u64 + 2,
            segment: Some("own".into()),
            fields: BTreeMap::from([
                ("customer_no".into(), format!("C-{i}")),
                ("name".into(), format!("試験 次郎{i}")),
                ("phone".into(), phone(i)),
            ]),
        })
        .collect();
    env.vault
        .import_batch("cli:test", "acme", None, rows)
        .unwrap();
}

/// Records of `acme` still under a key version older than `version`.
fn older_than(env: &Env, version: u32) -> usize {
    env.vault
        .store()
        .scan_records(
            "acme",
            &RecordScan {
                segment: None,
                older_than_version: Some(version),
                after: mamori_core::RecordId::from_bytes([0; 16]),
                limit: usize::MAX >> 1,
            },
        )
        .unwrap()
        .len()
}

const CUSTOMERS: usize = 1_500;

#[test]
fn rewrap_moves_every_record_page_by_page() {
    let mut env = Env::new(|_| {});
    more_customers(&env, CUSTOMERS);
    env.person("op", Role::Operator, &[("acme", Some("own"))], None, None);
    let v = env.vault.rotate_key("cli:test", "acme").unwrap();
    assert_eq!(older_than(&env, v), CUSTOMERS);

    let mut seen = Vec::new();
    let n = env
        .vault
        .rewrap("cli:test", "acme", 600, 1000, |p| seen.push(p.rewrapped))
        .unwrap();
    assert_eq!(n as usize, CUSTOMERS);
    assert_eq!(seen, vec![600, 1200, 1500], "progress after every page");
    assert_eq!(older_than(&env, v), 0);
    // Still found by the blind index (rebuilt under the new index key) and
    // opened with the new data key.
    for i in [0, 11, 777, CUSTOMERS - 1] {
        let found = env.search("op", i).unwrap();
        assert_eq!(found.records.len(), 1, "customer {i}");
    }
    assert_eq!(
        env.vault
            .rewrap("cli:test", "acme", 600, 1000, |_| {})
            .unwrap(),
        0,
        "nothing left to move"
    );
}

#[test]
fn a_record_that_cannot_be_opened_stops_the_rewrap_and_keeps_what_moved() {
    let env = Env::new(|_| {});
    more_customers(&env, CUSTOMERS);
    let v = env.vault.rotate_key("cli:test", "acme").unwrap();
    // The record last in id order, so that earlier pages are moved first.
    let db = rusqlite::Connection::open(env.dir.path().join("vault.db")).unwrap();
    db.execute(
        "UPDATE records SET sealed = zeroblob(length(sealed))
         WHERE rid = (SELECT rid FROM records WHERE tenant = 'acme' ORDER BY id DESC LIMIT 1)",
        [],
    )
    .unwrap();
    drop(db);

    let broken = |err: mamori_vault::VaultError| {
        let msg = err.to_string();
        assert!(msg.contains("corrupt") || msg.contains("decrypt"), "{msg}");
    };

    // Pages 1 and 2 written into a commit group that page 3 never lets
    // commit: rolled back, nothing half-done.
    broken(
        env.vault
            .rewrap("cli:test", "acme", 500, 1_000_000, |_| {})
            .unwrap_err(),
    );
    assert_eq!(
        older_than(&env, v),
        CUSTOMERS,
        "an uncommitted group is undone"
    );

    // A group per page: what was committed before the broken page stays.
    let mut moved = 0;
    broken(
        env.vault
            .rewrap("cli:test", "acme", 500, 500, |p| moved = p.rewrapped)
            .unwrap_err(),
    );
    assert_eq!(moved, 1000, "the pages before the broken one were written");
    assert_eq!(older_than(&env, v), CUSTOMERS - 1000, "and stay written");
}

/// The household secret as stored, unwrapped with the data directory's root key.
fn stored_household_secret(dir: &std::path::Path, vault: &mamori_vault::Vault) -> [u8; 32] {
    use mamori_crypto::{DeploymentSecret, KeyProvider, RootKey, WrappedKey};
    let root = RootKey::from_bytes(&std::fs::read(dir.join("root.key")).unwrap()).unwrap();
    let row = vault
        .store()
        .deployment_keys()
        .unwrap()
        .into_iter()
        .find(|r| r.name == "household")
        .unwrap();
    *root
        .unwrap(&DeploymentSecret::Household.aad(), &WrappedKey(row.wrapped))
        .unwrap()
}

#[test]
fn the_deployments_secrets_are_random_stored_once_and_kept_across_restarts() {
    use mamori_crypto::{DeploymentSecret, RootKey};
    let env = Env::new(|_| {});
    let names: Vec<String> = env
        .vault
        .store()
        .deployment_keys()
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["console-session", "household", "sign-in"]);
    let first = stored_household_secret(env.dir.path(), &env.vault);
    let root =
        RootKey::from_bytes(&std::fs::read(env.dir.path().join("root.key")).unwrap()).unwrap();
    assert_ne!(
        first,
        *DeploymentSecret::Household.legacy(&root),
        "a new vault's household key is not derived from the root key"
    );
    let again = mamori_app::datadir::open(env.dir.path()).unwrap().vault;
    assert_eq!(stored_household_secret(env.dir.path(), &again), first);
    assert_eq!(again.store().deployment_keys().unwrap().len(), 3);
}

#[test]
fn a_data_directory_from_before_the_stored_secrets_keeps_its_household_tokens() {
    use mamori_crypto::{DeploymentSecret, HouseholdKey, RootKey};
    use mamori_vault::household::{Household, HouseholdInput};
    let mut env = Env::new(|_| {});
    env.person("op", Role::Operator, &[("acme", Some("own"))], None, None);
    // As an older version left it: the household tokens under the key it
    // derived from the root key, and no secrets stored.
    let root =
        RootKey::from_bytes(&std::fs::read(env.dir.path().join("root.key")).unwrap()).unwrap();
    let legacy = DeploymentSecret::Household.legacy(&root);
    let tokens = Household::from_input(
        &HouseholdKey::new(&legacy),
        &HouseholdInput {
            family_name: Some("試験".into()),
            family_name_kana: None,
            address: "東京都千代田区千代田1-1".into(),
        },
    )
    .unwrap()
    .encode();
    env.vault
        .store()
        .set_household("op", Some(&tokens), 1_775_000_000)
        .unwrap();
    let db = rusqlite::Connection::open(env.dir.path().join("vault.db")).unwrap();
    db.execute("DELETE FROM deployment_keys", []).unwrap();

    let reopened = mamori_app::datadir::open(env.dir.path()).unwrap().vault;
    assert_eq!(
        stored_household_secret(env.dir.path(), &reopened),
        *legacy,
        "carried over, so the stored tokens still match"
    );
}
