//! SQLite: the vault database (`vault.db`): tenants, keys, records and their blind-index tokens.

use std::collections::HashMap;

use parking_lot::MutexGuard;
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteVault;
use mamori_store::pending::{Entry, PendingEntries};
use mamori_store::rows::{self, KEY_COLS, RECORD_COLS, TENANT_COLS};
use mamori_store::{
    BulkWrite, CaseRow, DeploymentKeyRow, KeyRow, RecordId, RecordRow, RecordScan, RecordWrite,
    Result, StoreError, TenantRow, Token, VaultStore, WriteKind,
    rows::{decode_tokens, encode_tokens},
};

pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/vault/0001_initial.sql"),
    include_str!("../migrations/vault/0002_governance.sql"),
    include_str!("../migrations/vault/0003_exports.sql"),
    include_str!("../migrations/vault/0004_full_access.sql"),
    include_str!("../migrations/vault/0005_alerts.sql"),
    include_str!("../migrations/vault/0006_shifts.sql"),
    include_str!("../migrations/vault/0007_households.sql"),
    include_str!("../migrations/vault/0008_cases.sql"),
    include_str!("../migrations/vault/0009_person_revisions.sql"),
    include_str!("../migrations/vault/0010_agents.sql"),
    include_str!("../migrations/vault/0011_record_ids.sql"),
    include_str!("../migrations/vault/0012_reconciliations.sql"),
    include_str!("../migrations/vault/0013_reviews.sql"),
    include_str!("../migrations/vault/0014_identity.sql"),
    include_str!("../migrations/vault/0015_deployment_keys.sql"),
    include_str!("../migrations/vault/0016_scim.sql"),
];

/// The numbers of a tenant's search keys, read inside a write transaction.
struct SearchKeys(HashMap<String, i64>);

impl SearchKeys {
    fn load(tx: &Connection, tenant: &str) -> Result<Self> {
        let mut st = tx.prepare_cached("SELECT skey, ix FROM search_keys WHERE tenant = ?1")?;
        let map = st
            .query_map([tenant], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<HashMap<String, i64>>>()?;
        Ok(Self(map))
    }

    fn number(&self, skey: &str) -> Result<i64> {
        self.0
            .get(skey)
            .copied()
            .ok_or_else(|| StoreError::Db(format!("search key '{skey}' has no number")))
    }
}

/// Numbers every search key the rows use, creating missing ones in the same
/// transaction (so a rolled-back batch leaves no number behind).
fn search_key_numbers(tx: &Connection, tenant: &str, rows: &[&RecordWrite]) -> Result<SearchKeys> {
    let mut keys = SearchKeys::load(tx, tenant)?;
    for w in rows {
        for (k, _) in &w.tokens {
            if !keys.0.contains_key(k) {
                tx.execute(
                    "INSERT INTO search_keys (tenant, skey) VALUES (?1, ?2)",
                    params![tenant, k],
                )?;
                keys.0.insert(k.clone(), tx.last_insert_rowid());
            }
        }
    }
    Ok(keys)
}

/// Removes a record's blind-index entries, listed in its `index_tokens`.
fn delete_entries(tx: &Connection, ix: &SearchKeys, rid: i64, encoded: &[u8]) -> Result<()> {
    let mut del =
        tx.prepare_cached("DELETE FROM blind_index WHERE ix = ?1 AND token = ?2 AND rid = ?3")?;
    for (k, t) in decode_tokens(encoded)? {
        del.execute(params![ix.number(&k)?, &t[..], rid])?;
    }
    Ok(())
}

/// What each row of a checked batch does, in the order of `order`.
enum Target {
    /// A new row.
    Insert,
    /// Rewrites the row with this row id and these index entries.
    Rewrite(i64, Vec<u8>),
    /// Nothing: a rewrap's row rewritten since it was read.
    Skip,
}

/// Checks a batch against the rows present, writing nothing: a new row's
/// customer number must be free (`Conflict`), a replaced row must exist
/// (`NotFound`). Refusing a batch before it writes lets a commit group carry
/// on without a savepoint, which would copy every index page the batch
/// touches into an in-memory sub-journal (hundreds of MB at scale).
fn check_batch(tx: &Connection, tenant: &str, order: &[&RecordWrite]) -> Result<Vec<Target>> {
    let mut taken =
        tx.prepare_cached("SELECT 1 FROM records WHERE tenant = ?1 AND key_token = ?2")?;
    let mut old = tx.prepare_cached(
        "SELECT rid, index_tokens, key_version, updated_at FROM records WHERE tenant = ?1 AND id = ?2",
    )?;
    let mut out = Vec::with_capacity(order.len());
    for w in order {
        if w.kind == WriteKind::New {
            if taken.exists(params![tenant, &w.key_token[..]])? {
                return Err(StoreError::Conflict("customer number".into()));
            }
            out.push(Target::Insert);
            continue;
        }
        let (rid, tokens, version, updated): (i64, Vec<u8>, u32, i64) = old
            .query_row(params![tenant, &w.record.id.as_bytes()[..]], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .optional()?
            .ok_or_else(|| StoreError::NotFound("record to replace".into()))?;
        out.push(match w.kind {
            WriteKind::Reseal(read) if (read, w.record.updated_at) != (version, updated) => {
                Target::Skip
            }
            _ => Target::Rewrite(rid, tokens),
        });
    }
    Ok(out)
}

/// Writes a checked batch's records inside the open transaction of `tx`.
/// Returns its blind-index entries and the row ids it rewrote, for
/// [`PendingEntries`].
fn apply_batch(
    tx: &Connection,
    tenant: &str,
    order: &[&RecordWrite],
    targets: Vec<Target>,
) -> Result<(Vec<Entry<i64>>, Vec<i64>)> {
    let ix = search_key_numbers(tx, tenant, order)?;
    let mut run = Vec::with_capacity(order.iter().map(|w| w.tokens.len()).sum());
    let mut rewritten = Vec::new();
    {
        // Both take the same parameters; ?9 is the row id, NULL for a new
        // row (SQLite then assigns the next one).
        let mut insert = tx.prepare_cached(
            "INSERT INTO records (rid, tenant, id, segment, key_version, key_token, sealed, index_tokens, updated_at)
             VALUES (?9, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut update = tx.prepare_cached(
            "UPDATE records SET segment = ?3, key_version = ?4, key_token = ?5, sealed = ?6, index_tokens = ?7, updated_at = ?8
             WHERE rid = ?9 AND tenant = ?1 AND id = ?2",
        )?;
        for (w, target) in order.iter().zip(targets) {
            let r = &w.record;
            let old_rid = match target {
                Target::Skip => continue,
                Target::Insert => None,
                Target::Rewrite(rid, tokens) => {
                    delete_entries(tx, &ix, rid, &tokens)?;
                    rewritten.push(rid);
                    Some(rid)
                }
            };
            let args = params![
                tenant,
                &r.id.as_bytes()[..],
                r.segment,
                r.key_version,
                &w.key_token[..],
                r.sealed,
                encode_tokens(&w.tokens),
                r.updated_at,
                old_rid
            ];
            let rid = match old_rid {
                None => {
                    insert.execute(args)?;
                    tx.last_insert_rowid()
                }
                Some(rid) => {
                    update.execute(args)?;
                    rid
                }
            };
            for (k, t) in &w.tokens {
                run.push((ix.number(k)?, *t, rid));
            }
        }
    }
    Ok((run, rewritten))
}

/// Inserts a commit group's blind-index entries, in key order.
fn insert_entries(tx: &Connection, pending: PendingEntries<i64>) -> Result<()> {
    let mut add = tx
        .prepare_cached("INSERT OR IGNORE INTO blind_index (ix, token, rid) VALUES (?1, ?2, ?3)")?;
    for (ix, token, rid) in pending.into_sorted() {
        add.execute(params![ix, &token[..], rid])?;
    }
    Ok(())
}

/// The ids of the records whose key token is one of `tokens`.
fn find_keys(c: &Connection, tenant: &str, tokens: &[Token]) -> Result<HashMap<Token, RecordId>> {
    let mut st = c.prepare_cached("SELECT id FROM records WHERE tenant = ?1 AND key_token = ?2")?;
    let mut out = HashMap::new();
    for t in tokens {
        if let Some(id) = st
            .query_row(params![tenant, &t[..]], |r| r.get::<_, [u8; 16]>(0))
            .optional()?
        {
            out.insert(*t, RecordId::from(id));
        }
    }
    Ok(out)
}

/// A commit group on the writer connection: one `BEGIN IMMEDIATE` ...
/// `COMMIT`. A batch is checked before it writes anything (see
/// [`check_batch`]); one that fails while writing rolls back the group. The
/// blind-index entries wait for the commit ([`PendingEntries`]).
struct Bulk<'a> {
    conn: MutexGuard<'a, Connection>,
    tenant: String,
    /// The group was rolled back after a batch failed while writing (a full
    /// disk, an I/O error); nothing more may be written in it.
    broken: bool,
    pending: PendingEntries<i64>,
}

impl Bulk<'_> {
    fn usable(&self) -> Result<()> {
        if self.broken || self.conn.is_autocommit() {
            return Err(StoreError::Db(
                "the commit group was rolled back after an earlier error".into(),
            ));
        }
        Ok(())
    }
}

impl BulkWrite for Bulk<'_> {
    fn find_keys(&mut self, tokens: &[Token]) -> Result<HashMap<Token, RecordId>> {
        self.usable()?;
        find_keys(&self.conn, &self.tenant, tokens)
    }

    fn write(&mut self, rows: &[RecordWrite]) -> Result<()> {
        self.usable()?;
        // Rows in id order and index entries in key order: each B-tree is then
        // walked forwards once per batch instead of hit at random per row.
        let mut order: Vec<&RecordWrite> = rows.iter().collect();
        order.sort_unstable_by_key(|w| w.record.id);
        let targets = check_batch(&self.conn, &self.tenant, &order)?;
        match apply_batch(&self.conn, &self.tenant, &order, targets) {
            Ok((run, rewritten)) => {
                self.pending.add_run(run, &rewritten);
                Ok(())
            }
            Err(e) => {
                // Half a batch must never become durable, and without a
                // savepoint it cannot be undone alone: the whole group goes.
                self.broken = true;
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(StoreError::Db(format!(
                    "a batch failed while writing and its commit group was rolled back: {e}"
                )))
            }
        }
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.usable()?;
        insert_entries(&self.conn, std::mem::take(&mut self.pending))?;
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }
}

impl Drop for Bulk<'_> {
    fn drop(&mut self) {
        if !self.conn.is_autocommit() {
            // Nothing to report to: the caller is already unwinding an error.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl VaultStore for SqliteVault {
    fn create_tenant(&self, t: &TenantRow, k: &KeyRow) -> Result<()> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        tx.execute(
            "INSERT INTO tenants (id, name, schema, status, current_key_version, created_at) VALUES (?1, ?2, ?3, 'active', ?4, ?5)",
            params![t.id, t.name, t.schema, t.current_key_version, t.created_at],
        )
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!("tenant '{}'", t.id)),
            other => other,
        })?;
        tx.execute(
            "INSERT INTO tenant_keys (tenant, version, wrapped_data, wrapped_index, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![k.tenant, k.version, k.wrapped_data, k.wrapped_index, k.created_at],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn tenant(&self, id: &str) -> Result<Option<TenantRow>> {
        let c = self.readers.get()?;
        let mut st =
            c.prepare_cached(&format!("SELECT {TENANT_COLS} FROM tenants WHERE id = ?1"))?;
        st.query_and_then([id], |r| rows::tenant(r))?
            .next()
            .transpose()
    }

    fn tenants(&self) -> Result<Vec<TenantRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!("SELECT {TENANT_COLS} FROM tenants ORDER BY id"))?;
        let rows = st
            .query_and_then([], |r| rows::tenant(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn keys(&self, tenant: &str) -> Result<Vec<KeyRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {KEY_COLS} FROM tenant_keys WHERE tenant = ?1 ORDER BY version"
        ))?;
        let rows = st
            .query_and_then([tenant], |r| rows::key(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn add_key(&self, k: &KeyRow) -> Result<()> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        tx.execute(
            "INSERT INTO tenant_keys (tenant, version, wrapped_data, wrapped_index, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![k.tenant, k.version, k.wrapped_data, k.wrapped_index, k.created_at],
        )?;
        let n = tx.execute(
            "UPDATE tenants SET current_key_version = ?2 WHERE id = ?1 AND status = 'active' AND current_key_version < ?2",
            params![k.tenant, k.version],
        )?;
        if n != 1 {
            return Err(StoreError::Conflict(format!(
                "key version {} of tenant '{}'",
                k.version, k.tenant
            )));
        }
        tx.commit()?;
        Ok(())
    }

    fn shred_tenant(&self, tenant: &str, at: i64) -> Result<()> {
        {
            let mut w = self.writer.lock();
            let tx = w.transaction()?;
            let n = tx.execute(
                "UPDATE tenants SET status = 'shredded', shredded_at = ?2 WHERE id = ?1 AND status = 'active'",
                params![tenant, at],
            )?;
            if n != 1 {
                return Err(StoreError::NotFound(format!("active tenant '{tenant}'")));
            }
            tx.execute("DELETE FROM tenant_keys WHERE tenant = ?1", [tenant])?;
            // Tokens are keyed by the destroyed index key and useless now; drop them.
            tx.execute(
                "DELETE FROM blind_index WHERE ix IN (SELECT ix FROM search_keys WHERE tenant = ?1)",
                [tenant],
            )?;
            tx.execute("DELETE FROM cases WHERE tenant = ?1", [tenant])?;
            tx.commit()?;
        }
        self.checkpoint()
    }

    fn deployment_keys(&self) -> Result<Vec<DeploymentKeyRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT name, wrapped, created_at FROM deployment_keys ORDER BY name",
        )?;
        let rows = st
            .query_and_then([], |r| rows::deployment_key(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn add_deployment_key(&self, k: &DeploymentKeyRow) -> Result<bool> {
        let w = self.writer.lock();
        let n = w.execute(
            "INSERT INTO deployment_keys (name, wrapped, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
            params![k.name, k.wrapped, k.created_at],
        )?;
        Ok(n == 1)
    }

    fn rewrap_keys(&self, keys: &[KeyRow], deployment: &[DeploymentKeyRow]) -> Result<()> {
        {
            let mut w = self.writer.lock();
            let tx = w.transaction()?;
            let changed = || StoreError::Conflict("the stored keys changed meanwhile".into());
            for k in keys {
                let n = tx.execute(
                    "UPDATE tenant_keys SET wrapped_data = ?3, wrapped_index = ?4 WHERE tenant = ?1 AND version = ?2",
                    params![k.tenant, k.version, k.wrapped_data, k.wrapped_index],
                )?;
                if n != 1 {
                    return Err(changed());
                }
            }
            for d in deployment {
                let n = tx.execute(
                    "UPDATE deployment_keys SET wrapped = ?2 WHERE name = ?1",
                    params![d.name, d.wrapped],
                )?;
                if n != 1 {
                    return Err(changed());
                }
            }
            let count = |table: &str| -> Result<usize> {
                let n: i64 =
                    tx.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
                Ok(n as usize)
            };
            if count("tenant_keys")? != keys.len() || count("deployment_keys")? != deployment.len()
            {
                return Err(changed());
            }
            tx.commit()?;
        }
        // The old wrappings leave the WAL (secure_delete clears their pages).
        self.checkpoint()
    }

    fn find(&self, tenant: &str, search_key: &str, tokens: &[Token]) -> Result<Vec<RecordRow>> {
        let c = self.readers.get()?;
        // The join on records re-checks the tenant: an entry can only ever
        // name a record of the tenant its search key belongs to.
        let mut st = c.prepare_cached(
            "SELECT r.id, r.segment, r.key_version, r.sealed, r.updated_at FROM search_keys s
             JOIN blind_index b ON b.ix = s.ix
             JOIN records r ON r.rid = b.rid
             WHERE s.tenant = ?1 AND s.skey = ?2 AND b.token = ?3 AND r.tenant = ?1
             LIMIT 1000",
        )?;
        let mut out: Vec<RecordRow> = Vec::new();
        for t in tokens {
            for row in
                st.query_and_then(params![tenant, search_key, &t[..]], |r| rows::record(r))?
            {
                let row = row?;
                if !out.iter().any(|o| o.id == row.id) {
                    out.push(row);
                }
            }
        }
        Ok(out)
    }

    fn match_tokens(
        &self,
        tenant: &str,
        search_key: &str,
        tokens: &[Token],
    ) -> Result<Vec<(Token, RecordId)>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            // The narrow index, not the table: only the id is wanted
            // (0011_record_ids.sql).
            "SELECT r.id FROM search_keys s
             JOIN blind_index b ON b.ix = s.ix
             JOIN records r INDEXED BY records_rid_id ON r.rid = b.rid
             WHERE s.tenant = ?1 AND s.skey = ?2 AND b.token = ?3 AND r.tenant = ?1",
        )?;
        // One read transaction for the batch: each statement on its own
        // took and released the shared lock (two fcntl calls and a
        // transaction's bookkeeping a lookup — a fifth of a breach analysis).
        let tx = rusqlite::Transaction::new_unchecked(&c, rusqlite::TransactionBehavior::Deferred)?;
        let mut out = Vec::new();
        for t in tokens {
            for id in st.query_map(params![tenant, search_key, &t[..]], |r| {
                r.get::<_, [u8; 16]>(0)
            })? {
                out.push((*t, RecordId::from(id?)));
            }
        }
        drop(st);
        tx.commit()?;
        Ok(out)
    }

    fn find_keys(&self, tenant: &str, tokens: &[Token]) -> Result<HashMap<Token, RecordId>> {
        let c = self.readers.get()?;
        find_keys(&c, tenant, tokens)
    }

    fn record(&self, tenant: &str, id: &RecordId) -> Result<Option<RecordRow>> {
        let id = id.as_bytes();
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {RECORD_COLS} FROM records WHERE tenant = ?1 AND id = ?2"
        ))?;
        st.query_and_then(params![tenant, &id[..]], |r| rows::record(r))?
            .next()
            .transpose()
    }

    fn bulk(&self, tenant: &str) -> Result<Box<dyn BulkWrite + '_>> {
        let conn = self.writer.lock();
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(Box::new(Bulk {
            conn,
            tenant: tenant.to_owned(),
            broken: false,
            pending: PendingEntries::default(),
        }))
    }

    fn delete_record(&self, tenant: &str, id: &RecordId) -> Result<bool> {
        let id = id.as_bytes();
        let mut w = self.writer.lock();
        let tx = w.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let old: Option<(i64, Vec<u8>)> = tx
            .query_row(
                "SELECT rid, index_tokens FROM records WHERE tenant = ?1 AND id = ?2",
                params![tenant, &id[..]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((rid, tokens)) = old else {
            return Ok(false);
        };
        let ix = SearchKeys::load(&tx, tenant)?;
        delete_entries(&tx, &ix, rid, &tokens)?;
        tx.execute("DELETE FROM records WHERE rid = ?1", [rid])?;
        tx.commit()?;
        Ok(true)
    }

    fn scan_records(&self, tenant: &str, scan: &RecordScan) -> Result<Vec<RecordRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {RECORD_COLS} FROM records
             WHERE tenant = ?1 AND id > ?2
               AND (?3 IS NULL OR segment = ?3)
               AND (?4 IS NULL OR key_version < ?4)
             ORDER BY id LIMIT ?5"
        ))?;
        let rows = st
            .query_and_then(
                params![
                    tenant,
                    &scan.after.as_bytes()[..],
                    scan.segment,
                    scan.older_than_version,
                    scan.limit.max(1) as i64
                ],
                |r| rows::record(r),
            )?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn count_records(&self, tenant: &str, segment: Option<&str>) -> Result<u64> {
        let c = self.readers.get()?;
        Ok(c.query_row(
            "SELECT count(*) FROM records WHERE tenant = ?1 AND (?2 IS NULL OR segment = ?2)",
            params![tenant, segment],
            |r| r.get(0),
        )?)
    }

    fn put_cases(&self, tenant: &str, cases: &[CaseRow]) -> Result<()> {
        let mut w = self.writer.lock();
        let tx = w.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            // Replacing is delete + insert, so the insert trigger bumps the revision.
            let mut st = tx.prepare_cached(
                "INSERT OR REPLACE INTO cases (tenant, case_id, tokens, updated_at) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for c in cases {
                st.execute(params![tenant, c.case_id, c.tokens, c.updated_at])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn case(&self, tenant: &str, case_id: &str) -> Result<Option<CaseRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT case_id, tokens, updated_at FROM cases WHERE tenant = ?1 AND case_id = ?2",
        )?;
        st.query_and_then(params![tenant, case_id], |r| rows::case(r))?
            .next()
            .transpose()
    }

    fn has_cases(&self, tenant: &str) -> Result<bool> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached("SELECT EXISTS (SELECT 1 FROM cases WHERE tenant = ?1)")?;
        Ok(st.query_row([tenant], |r| r.get(0))?)
    }
}
