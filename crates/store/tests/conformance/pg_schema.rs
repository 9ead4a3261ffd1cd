//! PostgreSQL only: how the schema is created and checked.

use mamori_store::{
    StoreError,
    postgres::{PgOptions, PgStore},
};

use crate::fixtures::{PG_URL_ENV, PgSchema};

fn schema() -> Option<PgSchema> {
    std::env::var(PG_URL_ENV).ok().map(PgSchema::new)
}

fn opts(s: &PgSchema) -> PgOptions {
    PgOptions {
        schema: s.name.clone(),
        pool_size: 2,
        ..Default::default()
    }
}

#[test]
fn nodes_starting_together_migrate_once() {
    let Some(s) = schema() else { return };
    let s = std::sync::Arc::new(s);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || PgStore::open(&s.url, opts(&s)).map(|_| ()))
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    PgStore::open_existing(&s.url, opts(&s)).unwrap();
}

#[test]
fn a_missing_or_newer_schema_is_refused() {
    let Some(s) = schema() else { return };
    assert!(matches!(
        PgStore::open_existing(&s.url, opts(&s)),
        Err(StoreError::Schema(_))
    ));
    drop(PgStore::open(&s.url, opts(&s)).unwrap());
    let mut c = postgres::Client::connect(&s.url, postgres::NoTls).unwrap();
    c.batch_execute(&format!(
        "UPDATE {}.schema_version SET version = 99",
        s.name
    ))
    .unwrap();
    for opened in [
        PgStore::open(&s.url, opts(&s)),
        PgStore::open_existing(&s.url, opts(&s)),
    ] {
        match opened {
            Err(StoreError::Schema(m)) => assert!(m.contains("99"), "{m}"),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("a newer schema was opened"),
        }
    }
}

#[test]
fn schema_names_are_plain_identifiers() {
    let Some(s) = schema() else { return };
    for bad in ["Public", "a;drop", "", "x y", "1abc"] {
        let o = PgOptions {
            schema: bad.into(),
            ..Default::default()
        };
        assert!(PgStore::open(&s.url, o).is_err(), "{bad:?}");
    }
}
