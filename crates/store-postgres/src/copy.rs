//! Copying a vault from the embedded SQLite files into PostgreSQL as it is
//! stored — ciphertexts, blind-index tokens, wrapped keys, the audit log
//! with its tree nodes, checkpoints, cosignatures and archive records —
//! without decrypting anything. Each table goes over with binary COPY
//! (internal row numbers kept, so index entries still point at their
//! records and the log keeps its storage order), then is read back and
//! compared with the source by a digest of every value, in order.

use std::path::Path;

use postgres::{
    binary_copy::{BinaryCopyInWriter, BinaryCopyOutIter},
    fallible_iterator::FallibleIterator,
    types::{FromSql, IsNull, ToSql, Type, to_sql_checked},
};
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};

use mamori_store::{Result, StoreError};

use crate::PgStore;

/// Which SQLite file a table lives in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum File {
    Vault,
    Audit,
}

/// One table: the columns as SQLite and PostgreSQL name them (same order),
/// the order both are read in, and the identity column whose sequence must
/// continue after the copied rows.
struct Table {
    name: &'static str,
    file: File,
    src: &'static str,
    dst: &'static str,
    src_order: &'static str,
    dst_order: &'static str,
    identity: Option<&'static str>,
}

const fn same(
    name: &'static str,
    file: File,
    cols: &'static str,
    order: &'static str,
    identity: Option<&'static str>,
) -> Table {
    Table {
        name,
        file,
        src: cols,
        dst: cols,
        src_order: order,
        dst_order: order,
        identity,
    }
}

/// In foreign-key order. `governance_rev` is set at the end (copying the
/// other tables bumps it), and budgets and usage summaries are not copied:
/// SQLite keeps budgets in memory, and the vault rebuilds both from the
/// audit log; nor are sign-ins under way (minutes old; the person signs in again).
const TABLES: &[Table] = &[
    same(
        "tenants",
        File::Vault,
        "id, name, schema, status, current_key_version, created_at, shredded_at, full_access_cap",
        "id",
        None,
    ),
    same(
        "tenant_keys",
        File::Vault,
        "tenant, version, wrapped_data, wrapped_index, created_at",
        "tenant, version",
        None,
    ),
    same(
        "deployment_keys",
        File::Vault,
        "name, wrapped, created_at",
        "name",
        None,
    ),
    same(
        "users",
        File::Vault,
        "login, role, department, vendor, created_at, manager, leaves_at, suspended_at",
        "login",
        None,
    ),
    same(
        "households",
        File::Vault,
        "login, tokens, updated_at",
        "login",
        None,
    ),
    same(
        "api_tokens",
        File::Vault,
        "hash, login, created_at, revoked_at, kind, expires_at, tenants, auth",
        "hash",
        None,
    ),
    same(
        "identities",
        File::Vault,
        "issuer, subject, login, created_at",
        "issuer, subject",
        None,
    ),
    same(
        "scim_resources",
        File::Vault,
        "id, kind, login, name_key, external_id, doc, version, created_at, updated_at, deleted_at",
        "id",
        None,
    ),
    same(
        "scim_members",
        File::Vault,
        "group_id, user_id",
        "group_id, user_id",
        None,
    ),
    same(
        "scim_tokens",
        File::Vault,
        "hash, label, created_at, revoked_at",
        "hash",
        None,
    ),
    same(
        "assignments",
        File::Vault,
        "login, tenant, segment",
        "login, tenant, segment",
        None,
    ),
    same(
        "search_keys",
        File::Vault,
        "ix, tenant, skey",
        "ix",
        Some("ix"),
    ),
    same(
        "records",
        File::Vault,
        "rid, tenant, id, segment, key_version, key_token, sealed, index_tokens, updated_at",
        "rid",
        Some("rid"),
    ),
    same(
        "blind_index",
        File::Vault,
        "ix, token, rid",
        "ix, token, rid",
        None,
    ),
    same(
        "cases",
        File::Vault,
        "tenant, case_id, tokens, updated_at",
        "tenant, case_id",
        None,
    ),
    same(
        "vendors",
        File::Vault,
        "id, name, contract_start, contract_end, clauses, updated_by, updated_at",
        "id",
        None,
    ),
    same(
        "training",
        File::Vault,
        "login, course, completed_at, score, expires_at, recorded_by",
        "login, course, completed_at",
        None,
    ),
    same(
        "compliance",
        File::Vault,
        "login, confirmed_at, expires_at, recorded_by",
        "login, confirmed_at",
        None,
    ),
    same(
        "access_requests",
        File::Vault,
        "id, tenant, requester, segment, fields, purpose, case_id, justification, key_version, record_budget, starts_at, ends_at, state, origin, created_at, decided_by, decided_at, revoked_by, revoked_at",
        "id",
        None,
    ),
    same(
        "access_request_history",
        File::Vault,
        "request, step, at, actor, action, comment",
        "request, step",
        None,
    ),
    Table {
        name: "full_access",
        file: File::Vault,
        src: "id, tenant, login, state, nominated_by, nominated_at, decided_by, decided_at, revoked_by, revoked_at",
        dst: "id, tenant, login, state, nominated_by, nominated_at, decided_by, decided_at, revoked_by, revoked_at",
        src_order: "rowid",
        dst_order: "seq",
        identity: None,
    },
    same(
        "full_access_history",
        File::Vault,
        "nomination, step, at, actor, action, comment",
        "nomination, step",
        None,
    ),
    same(
        "exports",
        File::Vault,
        "id, tenant, requester, segment, fields, purpose, case_id, sealed, key_version, recipient_key, rows_at_request, approvals_required, state, created_at, approve_by, package_rows, package_canaries, package_bytes, package_sha256, package_at, download_until, closed_by, closed_at",
        "id",
        None,
    ),
    Table {
        name: "export_approvals",
        file: File::Vault,
        src: "export, approver, role, at, comment",
        dst: "export, approver, role, at, comment",
        src_order: "rowid",
        dst_order: "seq",
        identity: None,
    },
    same(
        "export_history",
        File::Vault,
        "export, step, at, actor, action, comment",
        "export, step",
        None,
    ),
    same(
        "export_packages",
        File::Vault,
        "export, bytes",
        "export",
        None,
    ),
    same(
        "alerts",
        File::Vault,
        "id, rule, variant, severity, login, tenant, at, window_start, value, threshold, indicator, evidence_log, evidence_seq, risk, raised_at, state, assignee, note, updated_by, updated_at",
        "id",
        None,
    ),
    same(
        "alert_deliveries",
        File::Vault,
        "id, alert, channel, attempts, next_at, last_error",
        "id",
        Some("id"),
    ),
    same(
        "honey_records",
        File::Vault,
        "tenant, record, planted_by, planted_at",
        "tenant, record",
        None,
    ),
    same(
        "detect_state",
        File::Vault,
        "id, cursors, state, saved_at",
        "id",
        None,
    ),
    same(
        "shift_calendar",
        File::Vault,
        "login, day, start_min, end_min",
        "login, day, start_min",
        None,
    ),
    same("user_shifts", File::Vault, "login, shift", "login", None),
    same(
        "scan_hunts",
        File::Vault,
        "id, case_id, started_by, started_at, until, full_scan, machines, quarantine_to",
        "id",
        None,
    ),
    Table {
        name: "scan_reports",
        file: File::Vault,
        src: "login, scan, received_at, hunt, full_scan, verdict, files_seen, with_findings, naming_customers, uninspected",
        dst: "login, scan, received_at, hunt, full_scan, verdict, files_seen, with_findings, naming_customers, uninspected",
        src_order: "rowid",
        dst_order: "seq",
        identity: None,
    },
    same(
        "reconciliations",
        File::Vault,
        "id, period_from, period_to, run_by, run_at, report",
        "id",
        None,
    ),
    same(
        "discrepancies",
        File::Vault,
        "id, class, person, day, kind, count, run, outcome, disposed_by, disposed_at, note",
        "id",
        None,
    ),
    same(
        "review_campaigns",
        File::Vault,
        mamori_store::rows::CAMPAIGN_COLS,
        "id",
        None,
    ),
    same(
        "review_items",
        File::Vault,
        mamori_store::rows::REVIEW_ITEM_COLS,
        "id",
        None,
    ),
    Table {
        name: "audit_events",
        file: File::Audit,
        src: "rowid, log, seq, ts, actor, action, tenant, decision, body, hash",
        dst: "pos, log, seq, ts, actor, action, tenant, decision, body, hash",
        src_order: "rowid",
        dst_order: "pos",
        identity: Some("pos"),
    },
    same(
        "audit_nodes",
        File::Audit,
        "log, level, idx, hash",
        "log, level, idx",
        None,
    ),
    same(
        "audit_checkpoints",
        File::Audit,
        "log, size, ts, note",
        "log, size",
        None,
    ),
    same(
        "audit_archives",
        File::Audit,
        "log, start, \"end\", file, sha256, note, archived_at",
        "log, start",
        None,
    ),
    same(
        "audit_cosignatures",
        File::Audit,
        "log, size, witness, line",
        "log, size, witness",
        None,
    ),
];

/// One stored value, typed as the PostgreSQL column holds it.
#[derive(Debug, PartialEq)]
enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Val {
    /// A SQLite value as the PostgreSQL column `ty` takes it.
    fn from_sqlite(v: ValueRef<'_>, ty: &Type, col: &str) -> Result<Self> {
        // The value itself stays out of the message: it may be a token or a ciphertext.
        let bad = || {
            StoreError::Db(format!(
                "column {col}: cannot copy {:?} into {ty}",
                v.data_type()
            ))
        };
        Ok(match (v, ty) {
            (ValueRef::Null, _) => Val::Null,
            (ValueRef::Integer(i), t) if *t == Type::INT8 || *t == Type::INT4 => Val::Int(i),
            (ValueRef::Integer(i), t) if *t == Type::FLOAT8 => Val::Real(i as f64),
            (ValueRef::Real(f), t) if *t == Type::FLOAT8 => Val::Real(f),
            (ValueRef::Text(s), t) if *t == Type::TEXT => {
                Val::Text(String::from_utf8(s.to_vec()).map_err(|_| bad())?)
            }
            (ValueRef::Blob(b), t) if *t == Type::BYTEA => Val::Bytes(b.to_vec()),
            // SQLite's dynamic typing: a blob column may hold text.
            (ValueRef::Text(b), t) if *t == Type::BYTEA => Val::Bytes(b.to_vec()),
            _ => return Err(bad()),
        })
    }

    /// Feeds the value, tagged and length-prefixed, into a digest.
    fn digest(&self, h: &mut Sha256) {
        match self {
            Val::Null => h.update([0]),
            Val::Int(i) => {
                h.update([1]);
                h.update(i.to_be_bytes());
            }
            Val::Real(f) => {
                h.update([2]);
                h.update(f.to_bits().to_be_bytes());
            }
            Val::Text(s) => {
                h.update([3]);
                h.update((s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            }
            Val::Bytes(b) => {
                h.update([4]);
                h.update((b.len() as u64).to_be_bytes());
                h.update(b);
            }
        }
    }
}

fn handled(ty: &Type) -> bool {
    [
        Type::INT4,
        Type::INT8,
        Type::FLOAT8,
        Type::TEXT,
        Type::BYTEA,
    ]
    .contains(ty)
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, BoxError> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Val::Int(i) => i.to_sql(ty, out),
            Val::Real(f) => f.to_sql(ty, out),
            Val::Text(s) => s.to_sql(ty, out),
            Val::Bytes(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        handled(ty)
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Val {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> std::result::Result<Self, BoxError> {
        Ok(match *ty {
            Type::INT4 => Val::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT8 => Val::Int(i64::from_sql(ty, raw)?),
            Type::FLOAT8 => Val::Real(f64::from_sql(ty, raw)?),
            Type::TEXT => Val::Text(String::from_sql(ty, raw)?),
            _ => Val::Bytes(Vec::<u8>::from_sql(ty, raw)?),
        })
    }

    fn from_sql_null(_: &Type) -> std::result::Result<Self, BoxError> {
        Ok(Val::Null)
    }

    fn accepts(ty: &Type) -> bool {
        handled(ty)
    }
}

/// What was copied: rows and the digest both sides agree on, per table.
#[derive(Debug, serde::Serialize)]
pub struct TableCopied {
    pub table: &'static str,
    pub rows: u64,
    pub sha256: String,
}

/// Copies the vault in `vault_db` and `audit_db` into `target`, whose schema
/// must hold no vault yet, and checks every table of the copy against its
/// source. `progress(table, rows so far)` is called as rows go over.
pub fn sqlite_to_postgres(
    vault_db: &Path,
    audit_db: &Path,
    target: &PgStore,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<Vec<TableCopied>> {
    if target.holds_data()? {
        return Err(StoreError::Conflict(format!(
            "PostgreSQL schema '{}' already holds a vault; copy into an empty one",
            target.schema()
        )));
    }
    let open = |p: &Path| {
        rusqlite::Connection::open_with_flags(p, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(StoreError::from)
    };
    let (vault, audit) = (open(vault_db)?, open(audit_db)?);
    // One read transaction per file: a consistent snapshot even if a server
    // still runs on it (stop it first to copy its latest writes).
    vault.execute_batch("BEGIN")?;
    audit.execute_batch("BEGIN")?;
    let mut c = target.conn()?;
    let mut report = Vec::with_capacity(TABLES.len());
    for t in TABLES {
        let src = if t.file == File::Vault {
            &vault
        } else {
            &audit
        };
        let types = c.column_types(&format!("SELECT {} FROM {}", t.dst, t.name))?;
        let (rows, sha) = copy_table(src, &mut c, t, &types, progress)?;
        let (back, back_sha) = read_back(&mut c, t, &types)?;
        if (back, &back_sha) != (rows, &sha) {
            return Err(StoreError::Db(format!(
                "table {}: the copy differs from the source ({rows} rows {sha}, read back {back} rows {back_sha})",
                t.name
            )));
        }
        if let Some(col) = t.identity {
            c.batch(&format!(
                "SELECT setval(pg_get_serial_sequence('{0}', '{col}'), GREATEST((SELECT max({col}) FROM {0}), 1))",
                t.name
            ))?;
        }
        report.push(TableCopied {
            table: t.name,
            rows,
            sha256: sha,
        });
    }
    let rev: i64 = vault.query_row("SELECT rev FROM governance_rev WHERE id = 1", [], |r| {
        r.get(0)
    })?;
    c.execute("UPDATE governance_rev SET rev = $1 WHERE id = 1", &[&rev])?;
    Ok(report)
}

/// Streams one table from SQLite into PostgreSQL; returns rows and digest.
fn copy_table(
    src: &rusqlite::Connection,
    c: &mut crate::Conn,
    t: &Table,
    types: &[Type],
    progress: &mut dyn FnMut(&str, u64),
) -> Result<(u64, String)> {
    let names: Vec<&str> = t.dst.split(',').map(str::trim).collect();
    let mut st = src.prepare(&format!(
        "SELECT {} FROM {} ORDER BY {}",
        t.src, t.name, t.src_order
    ))?;
    let mut rows = st.query([])?;
    let sink = c.copy_in(&format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary)",
        t.name, t.dst
    ))?;
    let mut writer = BinaryCopyInWriter::new(sink, types);
    let mut h = Sha256::new();
    let mut n = 0u64;
    let mut vals: Vec<Val> = Vec::with_capacity(types.len());
    while let Some(row) = rows.next()? {
        vals.clear();
        for (i, ty) in types.iter().enumerate() {
            let v = Val::from_sqlite(row.get_ref(i)?, ty, names[i])?;
            v.digest(&mut h);
            vals.push(v);
        }
        let refs: Vec<&(dyn ToSql + Sync)> =
            vals.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        writer.write(&refs)?;
        n += 1;
        if n.is_multiple_of(10_000) {
            progress(t.name, n);
        }
    }
    writer.finish()?;
    progress(t.name, n);
    Ok((n, hex::encode(h.finalize())))
}

/// Reads a copied table back in order; returns rows and digest.
fn read_back(c: &mut crate::Conn, t: &Table, types: &[Type]) -> Result<(u64, String)> {
    let reader = c.copy_out(&format!(
        "COPY (SELECT {} FROM {} ORDER BY {}) TO STDOUT (FORMAT binary)",
        t.dst, t.name, t.dst_order
    ))?;
    let mut rows = BinaryCopyOutIter::new(reader, types);
    let mut h = Sha256::new();
    let mut n = 0u64;
    while let Some(row) = rows.next()? {
        for i in 0..types.len() {
            row.try_get::<Val>(i)?.digest(&mut h);
        }
        n += 1;
    }
    Ok((n, hex::encode(h.finalize())))
}
