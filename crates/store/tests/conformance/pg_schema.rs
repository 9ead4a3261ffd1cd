//! PostgreSQL only: how the schema is created and checked.

use mamori_store::StoreError;
use mamori_store_postgres::{PgOptions, PgStore};

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

/// A connection string for `role` on the test database.
fn as_role(url: &str, role: &str) -> String {
    let c: postgres::Config = url.parse().unwrap();
    let host = match &c.get_hosts()[0] {
        postgres::config::Host::Tcp(h) => h.clone(),
        postgres::config::Host::Unix(p) => p.display().to_string(),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432);
    let db = c.get_dbname().unwrap_or("postgres");
    format!("host={host} port={port} dbname={db} user={role}")
}

/// Roles made for one test, dropped with everything granted to them.
struct Roles<'a>(&'a str, Vec<String>);

impl Drop for Roles<'_> {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(self.0, postgres::NoTls) {
            for r in &self.1 {
                let _ = c.batch_execute(&format!("DROP OWNED BY {r}; DROP ROLE IF EXISTS {r}"));
            }
        }
    }
}

/// The application's role writes the vault and appends to the audit log
/// but cannot change or remove an audit row (archiving goes through the
/// owner's function); an auditor's role reads the log and nothing else.
#[test]
fn the_application_role_cannot_change_the_audit_log() {
    use mamori_store::{ArchiveRow, AuditBatch, AuditRow, AuditStore, UserRow, UserStore};
    let Some(s) = schema() else { return };
    let owner = PgStore::open(&s.url, opts(&s)).unwrap();
    let tag = s.name.trim_start_matches("test_").to_owned();
    let (app, auditor) = (format!("app_{tag}"), format!("aud_{tag}"));
    let _roles = Roles(&s.url, vec![app.clone(), auditor.clone()]);
    let mut c = postgres::Client::connect(&s.url, postgres::NoTls).unwrap();
    c.batch_execute(&format!(
        "CREATE ROLE {app} LOGIN; CREATE ROLE {auditor} LOGIN"
    ))
    .unwrap();
    owner.grant_roles(&app, Some(&auditor)).unwrap();
    assert!(owner.grant_roles("Bad;Role", None).is_err());

    let store = PgStore::open(&as_role(&s.url, &app), opts(&s)).expect("opens without DDL");
    store
        .create_user(&UserRow {
            login: "op1".into(),
            role: "operator".into(),
            department: None,
            vendor: None,
            manager: None,
            created_at: 0,
            leaves_at: None,
            suspended_at: None,
            facts_rev: 0,
        })
        .unwrap();
    let log = "system".to_owned();
    let event = |seq: u64| AuditRow {
        rowid: 0,
        log: log.clone(),
        seq,
        ts: seq as i64,
        actor: "user:op1".into(),
        action: "user.create".into(),
        tenant: None,
        decision: "allow".into(),
        body: b"{}".to_vec(),
        hash: [seq as u8; 32],
    };
    store
        .append(std::slice::from_ref(&log), &mut |_| AuditBatch {
            events: (1..=5).map(event).collect(),
            ..Default::default()
        })
        .unwrap();
    let mut as_app = postgres::Client::connect(&as_role(&s.url, &app), postgres::NoTls).unwrap();
    for sql in [
        "UPDATE audit_events SET actor = 'user:x'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "TRUNCATE audit_checkpoints",
        "DROP TRIGGER audit_events_append_only ON audit_events",
        "SELECT set_config('mamori.archiving', 'on', false); DELETE FROM audit_events",
    ] {
        let r = as_app.batch_execute(&format!("SET search_path TO {}; {sql}", s.name));
        assert!(
            r.is_err(),
            "{sql} must be refused to the application's role"
        );
    }
    // Archiving, through the owner's function, works for the application.
    store
        .archive(&ArchiveRow {
            log: log.clone(),
            start: 1,
            end: 2,
            file: "system-1-2.gz".into(),
            sha256: [0; 32],
            note: "n".into(),
            archived_at: 1,
        })
        .unwrap();
    assert_eq!(store.scan(&log, 0, 10).unwrap().len(), 3);

    let reader = PgStore::open_existing(&as_role(&s.url, &auditor), opts(&s)).unwrap();
    assert_eq!(reader.scan(&log, 0, 10).unwrap().len(), 3);
    assert!(
        reader.users().is_err(),
        "the auditor reads the log, not the vault"
    );
    let mut as_auditor =
        postgres::Client::connect(&as_role(&s.url, &auditor), postgres::NoTls).unwrap();
    let r = as_auditor.batch_execute(&format!(
        "SET search_path TO {}; SELECT mamori_archive_events('system', 3, 3, 'f', '\\x00', 'n', 1)",
        s.name
    ));
    assert!(r.is_err(), "archiving is not the auditor's");
}

/// With a CA file the store speaks verified TLS, and nothing else: a server
/// whose certificate that CA did not sign is refused, and a URL asking for
/// TLS without a CA to check it is refused. (Needs a server with ssl = on,
/// as Debian's is with its snakeoil certificate; otherwise it says so.)
#[test]
fn tls_to_postgres_is_verified_or_refused() {
    let Some(s) = schema() else { return };
    let mut admin = postgres::Client::connect(&s.url, postgres::NoTls).unwrap();
    let ssl: String = admin.query_one("SHOW ssl", &[]).unwrap().get(0);
    if ssl != "on" {
        eprintln!("note: this PostgreSQL server has ssl = off; TLS not exercised");
        return;
    }
    let cert: String = admin.query_one("SHOW ssl_cert_file", &[]).unwrap().get(0);
    let cfg: postgres::Config = s.url.parse().unwrap();
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    let user = cfg.get_user().unwrap_or("postgres");
    let db = cfg.get_dbname().unwrap_or("postgres");
    let app = format!("tls_{}", s.name);
    let url = format!("host=localhost port={port} user={user} dbname={db} application_name={app}");
    let with_ca = |ca: &str| PgOptions {
        ca_file: Some(ca.into()),
        ..opts(&s)
    };
    let store = PgStore::open(&url, with_ca(&cert)).expect("TLS with the server's CA");
    assert!(store.holds_data().is_ok());
    let encrypted: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = $1 AND s.ssl",
            &[&app],
        )
        .unwrap()
        .get(0);
    assert!(encrypted >= 1, "the store's connections use TLS");
    drop(store);

    // A CA that did not sign the server's certificate: refused.
    let other = std::env::temp_dir().join(format!("{}-other-ca.pem", s.name));
    std::fs::write(&other, OTHER_CA).unwrap();
    let refused = PgStore::open(&url, with_ca(other.to_str().unwrap()));
    let _ = std::fs::remove_file(&other);
    assert!(refused.is_err(), "an unverified server is refused");
    // TLS asked for, with nothing to verify it against: refused, not trusted blindly.
    let require = format!("{url} sslmode=require");
    assert!(PgStore::open(&require, opts(&s)).is_err());
}

/// A self-signed CA certificate that signed nothing this test meets.
const OTHER_CA: &str = include_str!("other-ca.pem");
