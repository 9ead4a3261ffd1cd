//! The stores under test: a fresh SQLite pair in a temporary directory, or a
//! fresh schema in the PostgreSQL database named by `MAMORI_TEST_PG_URL`
//! (dropped afterwards).

use std::{
    io::Write,
    path::PathBuf,
    sync::{
        Arc, Once,
        atomic::{AtomicU32, Ordering},
    },
};

use mamori_store::{AuditStore, HistoryRow, KeyRow, TenantRow, TenantStatus, UserRow};
use mamori_store_postgres::{PgOptions, PgStore};
use mamori_store_sqlite::{SqliteAudit, SqliteVault};

pub const PG_URL_ENV: &str = "MAMORI_TEST_PG_URL";

/// Every store trait a backend implements (the vault's `Backend`).
pub trait All: mamori_store::Backend {}
impl<T: mamori_store::Backend> All for T {}

enum Where {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres(PgSchema),
}

/// One backend's stores, as a process opens them.
pub struct Stores {
    pub db: Arc<dyn All>,
    pub audit: Arc<dyn AuditStore>,
    at: Where,
}

impl Stores {
    /// The same database opened again, as a second process would.
    pub fn another_process(&self) -> (Arc<dyn All>, Arc<dyn AuditStore>) {
        match &self.at {
            Where::Sqlite { path, .. } => (
                Arc::new(SqliteVault::open(&path.join("vault.db")).unwrap()),
                Arc::new(SqliteAudit::open(&path.join("audit.db"), 10_000).unwrap()),
            ),
            Where::Postgres(s) => {
                let store = Arc::new(s.open());
                (store.clone(), store)
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.at, Where::Postgres(_))
    }

    /// A statement run directly on the database, bypassing the stores (as
    /// an administrator with a SQL client would).
    pub fn raw_sql(&self, sql: &str) -> Result<(), String> {
        match &self.at {
            Where::Sqlite { path, .. } => {
                let file = if sql.contains("audit_") {
                    "audit.db"
                } else {
                    "vault.db"
                };
                let c = rusqlite::Connection::open(path.join(file)).map_err(|e| e.to_string())?;
                c.execute_batch(sql).map_err(|e| e.to_string())
            }
            Where::Postgres(s) => {
                let mut c = postgres::Client::connect(&s.url, postgres::NoTls).unwrap();
                c.batch_execute(&format!("SET search_path TO {}; {sql}", s.name))
                    .map_err(|e| e.to_string())
            }
        }
    }
}

pub fn sqlite() -> Stores {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    Stores {
        db: Arc::new(SqliteVault::open(&path.join("vault.db")).unwrap()),
        audit: Arc::new(SqliteAudit::open(&path.join("audit.db"), 10_000).unwrap()),
        at: Where::Sqlite { _dir: dir, path },
    }
}

static SKIPPED: Once = Once::new();

/// A fresh schema on the test database, or None (said loudly, once) when
/// no PostgreSQL is configured.
pub fn postgres() -> Option<Stores> {
    let Ok(url) = std::env::var(PG_URL_ENV) else {
        SKIPPED.call_once(|| {
            // Straight to stderr: the test harness captures only print macros.
            let _ = writeln!(
                std::io::stderr(),
                "\n********\n* SKIPPED: the PostgreSQL conformance tests ({PG_URL_ENV} is not set;\n* e.g. {PG_URL_ENV}=postgres://postgres@127.0.0.1:5432/test). CI always sets it.\n********"
            );
        });
        return None;
    };
    let schema = PgSchema::new(url);
    let store = Arc::new(schema.open());
    Some(Stores {
        db: store.clone(),
        audit: store,
        at: Where::Postgres(schema),
    })
}

/// A schema of its own for one test, dropped when the test ends.
pub struct PgSchema {
    pub url: String,
    pub name: String,
}

impl PgSchema {
    pub fn new(url: String) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "test_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        Self { url, name }
    }

    pub fn open(&self) -> PgStore {
        PgStore::open(
            &self.url,
            PgOptions {
                schema: self.name.clone(),
                pool_size: 8,
                ..Default::default()
            },
        )
        .unwrap()
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.url, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

// ---- rows used by many tests ----

pub fn tenant(db: &dyn All, id: &str) {
    db.create_tenant(
        &TenantRow {
            id: id.into(),
            name: format!("{id} 株式会社"),
            schema: "# schema".into(),
            status: TenantStatus::Active,
            current_key_version: 1,
            created_at: 1_700_000_000,
            shredded_at: None,
            full_access_cap: None,
        },
        &key(id, 1),
    )
    .unwrap();
}

pub fn key(tenant: &str, version: u32) -> KeyRow {
    KeyRow {
        tenant: tenant.into(),
        version,
        wrapped_data: vec![version as u8; 60],
        wrapped_index: vec![version as u8 + 100; 60],
        created_at: 1_700_000_000 + i64::from(version),
    }
}

pub fn user(db: &dyn All, login: &str, role: &str) {
    db.create_user(&UserRow {
        login: login.into(),
        role: role.into(),
        department: Some("第一営業部".into()),
        vendor: None,
        manager: None,
        created_at: 1_700_000_000,
        leaves_at: None,
        suspended_at: None,
        facts_rev: 0,
    })
    .unwrap();
}

pub fn step(actor: &str, action: &str, at: i64) -> HistoryRow {
    HistoryRow {
        at,
        actor: actor.into(),
        action: action.into(),
        comment: Some(vec![1, 2, 3]),
    }
}

/// An API token's terms: no expiry, no tenant scope.
pub fn api_token() -> mamori_store::Credential {
    mamori_store::Credential {
        kind: mamori_store::CredentialKind::Api,
        expires_at: None,
        tenants: None,
        auth: None,
    }
}
