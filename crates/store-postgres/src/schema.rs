//! The PostgreSQL schema and its migrations. The same tables as the SQLite
//! files (one schema holds both the vault's and the audit log's), with
//! PostgreSQL's types: BYTEA for ids, tokens and ciphertexts, BIGINT for
//! numbers and times. Text columns use the "C" collation: names sort by
//! their bytes, as in SQLite, whatever the database's locale.
//!
//! `{schema}` in a migration is replaced by the configured schema name
//! (a checked plain identifier).

use super::Conn;
use mamori_store::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_shared_budgets.sql"),
    include_str!("../migrations/0003_charge_budgets.sql"),
    include_str!("../migrations/0004_audit_query_indexes.sql"),
    include_str!("../migrations/0005_households.sql"),
    include_str!("../migrations/0006_cases.sql"),
    include_str!("../migrations/0007_announced_revisions.sql"),
    include_str!("../migrations/0008_leaner_charges.sql"),
    include_str!("../migrations/0009_batched_charges.sql"),
    include_str!("../migrations/0010_tenant_as_log.sql"),
    include_str!("../migrations/0011_actor_time.sql"),
    include_str!("../migrations/0012_person_revisions.sql"),
    include_str!("../migrations/0013_agents.sql"),
    include_str!("../migrations/0014_reconciliations.sql"),
    include_str!("../migrations/0015_reviews.sql"),
    include_str!("../migrations/0016_identity.sql"),
    include_str!("../migrations/0017_deployment_keys.sql"),
    include_str!("../migrations/0018_scim.sql"),
    include_str!("../migrations/0019_token_inserts.sql"),
];

/// Serialises migrations of one schema across processes.
const MIGRATION_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtextextended('mamori.migrate/' || $1, 0))";

/// Creates the schema if needed and applies the migrations not yet applied.
/// A schema already up to date is only read: the application's role, which
/// may not create or alter anything, opens it like the owner.
pub(super) fn migrate(c: &mut Conn, schema: &str) -> Result<()> {
    let mut tx = c.tx()?;
    tx.execute(MIGRATION_LOCK, &[&schema])?;
    let known = MIGRATIONS.len() as i64;
    let current = if has_version_table(&mut tx, schema)? {
        version(&mut tx)?
    } else {
        tx.batch(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))?;
        tx.batch("CREATE TABLE schema_version (version BIGINT NOT NULL)")?;
        0
    };
    if current > known {
        return Err(newer(current));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.batch(&sql.replace("{schema}", schema))?;
        tx.execute("DELETE FROM schema_version", &[])?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&(i as i64 + 1)],
        )?;
    }
    tx.commit()
}

fn has_version_table(tx: &mut super::Tx<'_>, schema: &str) -> Result<bool> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'schema_version'",
            &[&schema],
        )?
        .is_some())
}

/// Refuses a schema that is missing or of another version than this binary's.
pub(super) fn check_version(c: &mut Conn, schema: &str) -> Result<()> {
    let mut tx = c.tx()?;
    if !has_version_table(&mut tx, schema)? {
        return Err(StoreError::Schema(format!(
            "PostgreSQL schema '{schema}' holds no mamori vault"
        )));
    }
    let current = version(&mut tx)?;
    if current != MIGRATIONS.len() as i64 {
        return Err(StoreError::Schema(format!(
            "PostgreSQL schema '{schema}' is at version {current}, this binary reads version {}",
            MIGRATIONS.len()
        )));
    }
    Ok(())
}

fn version(tx: &mut super::Tx<'_>) -> Result<i64> {
    Ok(tx
        .query_opt("SELECT version FROM schema_version", &[])?
        .map(|r| r.get(0))
        .unwrap_or(0))
}

fn newer(current: i64) -> StoreError {
    StoreError::Schema(format!(
        "database schema version {current} is newer than this binary ({})",
        MIGRATIONS.len()
    ))
}

/// The audit tables: insert and read only, for every role but the owner.
pub(super) const AUDIT_TABLES: &[&str] = &[
    "audit_events",
    "audit_nodes",
    "audit_checkpoints",
    "audit_archives",
    "audit_cosignatures",
];

/// Privileges for the roles a deployment runs with (docs/deploy.md): the
/// application's role may read and write the vault's tables but only insert
/// into and read the audit tables (no UPDATE, DELETE or TRUNCATE; archiving
/// only through `mamori_archive_events`); an auditor's role may only read the
/// audit tables. Run by the schema's owner.
pub(super) fn grant_roles(
    c: &mut Conn,
    schema: &str,
    app: &str,
    auditor: Option<&str>,
) -> Result<()> {
    for role in std::iter::once(app).chain(auditor) {
        super::check_schema_name(role).map_err(|_| {
            StoreError::Db(format!(
                "role name '{role}': use lower-case letters, digits and _"
            ))
        })?;
    }
    let audit = AUDIT_TABLES.join(", ");
    let mut sql = format!(
        "GRANT USAGE ON SCHEMA {schema} TO {app};
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {app};
         REVOKE UPDATE, DELETE, TRUNCATE ON {audit} FROM {app};
         REVOKE UPDATE, DELETE ON schema_version FROM {app};
         GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {app};
         GRANT EXECUTE ON FUNCTION mamori_archive_events(TEXT, BIGINT, BIGINT, TEXT, BYTEA, TEXT, BIGINT) TO {app};"
    );
    if let Some(auditor) = auditor {
        sql.push_str(&format!(
            "GRANT USAGE ON SCHEMA {schema} TO {auditor};
             GRANT SELECT ON {audit}, schema_version TO {auditor};"
        ));
    }
    let mut tx = c.tx()?;
    tx.batch(&sql)?;
    tx.commit()
}
