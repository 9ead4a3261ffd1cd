//! Tenants, keys, records and the blind index. Batches go to the server as
//! arrays (`unnest`), a few statements per batch rather than one per row.

use std::collections::HashMap;

use super::{Begun, PgStore, Queries, map};
use mamori_store::pending::{Entry, PendingEntries};
use mamori_store::{
    BulkWrite, CaseRow, DeploymentKeyRow, KeyRow, RecordId, RecordRow, RecordScan, RecordWrite,
    Result, StoreError, TenantRow, Token, VaultStore, WriteKind,
    rows::{self, KEY_COLS, RECORD_COLS, TENANT_COLS, decode_tokens, encode_tokens},
};

const INSERT_KEY: &str = "INSERT INTO tenant_keys (tenant, version, wrapped_data, wrapped_index, created_at) VALUES ($1, $2, $3, $4, $5)";

/// The numbers of the tenant's search keys, creating those `rows` need that
/// do not exist yet (inside the batch's transaction: a rolled-back batch
/// leaves no number behind; two processes adding the same key both end up
/// with the one number).
fn search_key_numbers(
    tx: &mut impl Queries,
    tenant: &str,
    rows: &[RecordWrite],
) -> Result<HashMap<String, i32>> {
    let mut wanted: Vec<&str> = rows
        .iter()
        .flat_map(|w| w.tokens.iter().map(|(k, _)| k.as_str()))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    if !wanted.is_empty() {
        tx.execute(
            "INSERT INTO search_keys (tenant, skey) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
            &[&tenant, &wanted],
        )?;
    }
    let found = tx.query(
        "SELECT skey, ix FROM search_keys WHERE tenant = $1",
        &[&tenant],
    )?;
    Ok(found.iter().map(|r| (r.get(0), r.get(1))).collect())
}

fn number(ix: &HashMap<String, i32>, skey: &str) -> Result<i32> {
    ix.get(skey)
        .copied()
        .ok_or_else(|| StoreError::Db(format!("search key '{skey}' has no number")))
}

/// Stale blind-index entries of replaced or deleted records, removed in one
/// statement, sorted (so the delete walks the index forwards).
#[derive(Default)]
struct Entries {
    rows: Vec<Entry<i32>>,
}

impl Entries {
    fn add(
        &mut self,
        ix: &HashMap<String, i32>,
        tokens: &[(String, Token)],
        rid: i64,
    ) -> Result<()> {
        entries_of(ix, tokens, rid, &mut self.rows)
    }

    fn delete(self, tx: &mut impl Queries) -> Result<()> {
        let (ixs, tokens, rids) = self.columns();
        tx.execute(
            "DELETE FROM blind_index b USING unnest($1::int[], $2::bytea[], $3::bigint[]) AS u(ix, token, rid)
             WHERE b.ix = u.ix AND b.token = u.token AND b.rid = u.rid",
            &[&ixs, &tokens, &rids],
        )?;
        Ok(())
    }

    fn columns(mut self) -> (Vec<i32>, Vec<Vec<u8>>, Vec<i64>) {
        self.rows.sort_unstable();
        columns(&self.rows)
    }
}

/// Entries as three parallel arrays, for `unnest`.
fn columns(entries: &[Entry<i32>]) -> (Vec<i32>, Vec<Vec<u8>>, Vec<i64>) {
    let ixs = entries.iter().map(|e| e.0).collect();
    let tokens = entries.iter().map(|e| e.1.to_vec()).collect();
    let rids = entries.iter().map(|e| e.2).collect();
    (ixs, tokens, rids)
}

/// Entries per `INSERT` when a commit group's entries go in: bounds the
/// statement's size in memory on both sides.
const INSERT_CHUNK: usize = 50_000;

/// Inserts a commit group's blind-index entries, in key order. A plain
/// insert, not `ON CONFLICT DO NOTHING`, which probes the index once more per
/// entry (a seventh of the server's time in an import): the merge yields each
/// entry once, and every row id is either new or was cleared of its entries
/// in this transaction with its record row locked.
fn insert_entries(c: &mut impl Queries, pending: PendingEntries<i32>) -> Result<()> {
    let mut merged = pending.into_sorted().peekable();
    while merged.peek().is_some() {
        let chunk: Vec<Entry<i32>> = merged.by_ref().take(INSERT_CHUNK).collect();
        let (ixs, tokens, rids) = columns(&chunk);
        c.execute(
            "INSERT INTO blind_index (ix, token, rid) SELECT * FROM unnest($1::int[], $2::bytea[], $3::bigint[])",
            &[&ixs, &tokens, &rids],
        )?;
    }
    Ok(())
}

/// The index entries of a batch's rows, for [`PendingEntries`].
fn entries_of(
    ix: &HashMap<String, i32>,
    tokens: &[(String, Token)],
    rid: i64,
    run: &mut Vec<Entry<i32>>,
) -> Result<()> {
    for (k, t) in tokens {
        run.push((number(ix, k)?, *t, rid));
    }
    Ok(())
}

/// Removes the blind-index entries of replaced rows and rewrites the rows;
/// their new entries go to `run`, their row ids to `rewritten`.
fn replace_rows(
    tx: &mut impl Queries,
    tenant: &str,
    ix: &HashMap<String, i32>,
    rows: &[&RecordWrite],
    run: &mut Vec<Entry<i32>>,
    rewritten: &mut Vec<i64>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<&[u8]> = rows.iter().map(|w| &w.record.id.as_bytes()[..]).collect();
    let old = tx.query(
        "SELECT id, rid, index_tokens, key_version, updated_at FROM records WHERE tenant = $1 AND id = ANY($2) ORDER BY rid FOR UPDATE",
        &[&tenant, &ids],
    )?;
    if old.len() != rows.len() {
        return Err(StoreError::NotFound("record to replace".into()));
    }
    // Each row as it is now, locked: row id, index entries, key version,
    // updated_at.
    let now: HashMap<Vec<u8>, (i64, Vec<u8>, i64, i64)> = old
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3), r.get(4))))
        .collect();
    let mut stale = Entries::default();
    let mut cols = Columns::default();
    let mut rids = Vec::with_capacity(rows.len());
    for w in rows {
        let Some((rid, encoded, version, updated)) = now.get(&w.record.id.as_bytes()[..]) else {
            return Err(StoreError::NotFound("record to replace".into()));
        };
        // A rewrap's row rewritten since it was read stays as it is.
        if let WriteKind::Reseal(read) = w.kind
            && (i64::from(read), w.record.updated_at) != (*version, *updated)
        {
            continue;
        }
        stale.add(ix, &decode_tokens(encoded)?, *rid)?;
        rids.push(*rid);
        cols.push(w);
        entries_of(ix, &w.tokens, *rid, run)?;
        rewritten.push(*rid);
    }
    if rids.is_empty() {
        // Every row was a rewrap's, rewritten since: nothing to write.
        return Ok(());
    }
    stale.delete(tx)?;
    tx.execute(
        "UPDATE records r SET segment = u.segment, key_version = u.key_version, key_token = u.key_token,
             sealed = u.sealed, index_tokens = u.index_tokens, updated_at = u.updated_at
         FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bytea[], $6::bytea[], $7::bytea[], $8::bigint[])
             AS u(rid, segment, key_version, key_token, sealed, index_tokens, updated_at)
         WHERE r.rid = u.rid AND r.tenant = $1",
        &[
            &tenant,
            &rids,
            &cols.segment,
            &cols.key_version,
            &cols.key_token,
            &cols.sealed,
            &cols.index_tokens,
            &cols.updated_at,
        ],
    )?;
    Ok(())
}

/// Row values as parallel arrays.
#[derive(Default)]
struct Columns<'a> {
    id: Vec<&'a [u8]>,
    segment: Vec<&'a str>,
    key_version: Vec<i64>,
    key_token: Vec<&'a [u8]>,
    sealed: Vec<&'a [u8]>,
    index_tokens: Vec<Vec<u8>>,
    updated_at: Vec<i64>,
}

impl<'a> Columns<'a> {
    fn push(&mut self, w: &'a RecordWrite) {
        self.id.push(w.record.id.as_bytes());
        self.segment.push(&w.record.segment);
        self.key_version.push(i64::from(w.record.key_version));
        self.key_token.push(&w.key_token);
        self.sealed.push(&w.record.sealed);
        self.index_tokens.push(encode_tokens(&w.tokens));
        self.updated_at.push(w.record.updated_at);
    }
}

fn insert_rows(
    tx: &mut impl Queries,
    tenant: &str,
    ix: &HashMap<String, i32>,
    rows: &[&RecordWrite],
    run: &mut Vec<Entry<i32>>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut cols = Columns::default();
    for w in rows {
        cols.push(w);
    }
    let made = tx.query(
        "INSERT INTO records (tenant, id, segment, key_version, key_token, sealed, index_tokens, updated_at)
         SELECT $1, * FROM unnest($2::bytea[], $3::text[], $4::bigint[], $5::bytea[], $6::bytea[], $7::bytea[], $8::bigint[])
         RETURNING id, rid",
        &[
            &tenant,
            &cols.id,
            &cols.segment,
            &cols.key_version,
            &cols.key_token,
            &cols.sealed,
            &cols.index_tokens,
            &cols.updated_at,
        ],
    )?;
    let rid_of: HashMap<Vec<u8>, i64> = made.iter().map(|r| (r.get(0), r.get(1))).collect();
    for w in rows {
        let rid = *rid_of
            .get(&w.record.id.as_bytes()[..])
            .ok_or_else(|| StoreError::Db("inserted record has no row id".into()))?;
        entries_of(ix, &w.tokens, rid, run)?;
    }
    Ok(())
}

/// The ids of the records whose key token is one of `tokens`.
fn find_keys(
    c: &mut impl Queries,
    tenant: &str,
    tokens: &[Token],
) -> Result<HashMap<Token, RecordId>> {
    let wanted: Vec<&[u8]> = tokens.iter().map(|t| &t[..]).collect();
    let found = c.query(
        "SELECT key_token, id FROM records WHERE tenant = $1 AND key_token = ANY($2)",
        &[&tenant, &wanted],
    )?;
    found
        .iter()
        .map(|r| {
            let token: Token = rows::Cols::id(r, 0)?;
            Ok((token, rows::Cols::id(r, 1)?))
        })
        .collect()
}

/// Writes one batch's records in the open transaction of `c`; returns its
/// blind-index entries and the row ids it rewrote, for [`PendingEntries`].
fn write_batch(
    c: &mut impl Queries,
    tenant: &str,
    rows: &[RecordWrite],
) -> Result<(Vec<Entry<i32>>, Vec<i64>)> {
    let ix = search_key_numbers(c, tenant, rows)?;
    let mut order: Vec<&RecordWrite> = rows.iter().collect();
    order.sort_unstable_by_key(|w| w.record.id);
    let (new, replace): (Vec<&RecordWrite>, Vec<&RecordWrite>) =
        order.into_iter().partition(|w| w.kind == WriteKind::New);
    let mut run = Vec::with_capacity(rows.iter().map(|w| w.tokens.len()).sum());
    let mut rewritten = Vec::new();
    replace_rows(c, tenant, &ix, &replace, &mut run, &mut rewritten)?;
    insert_rows(c, tenant, &ix, &new, &mut run)?;
    Ok((run, rewritten))
}

/// A commit group on PostgreSQL: one transaction on one pooled connection,
/// each batch in a savepoint (cheap here: no page images are copied), the
/// blind-index entries inserted in key order at the commit
/// ([`PendingEntries`]). Rolled back if dropped uncommitted.
struct Bulk<'a> {
    conn: Begun<'a>,
    tenant: String,
    pending: PendingEntries<i32>,
}

impl BulkWrite for Bulk<'_> {
    fn find_keys(&mut self, tokens: &[Token]) -> Result<HashMap<Token, RecordId>> {
        find_keys(&mut *self.conn, &self.tenant, tokens)
    }

    fn write(&mut self, rows: &[RecordWrite]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        // Before the group's first batch there is nothing to keep: a failure
        // rolls the transaction back and starts another, and a single write
        // (`write_records`) pays no savepoint round trips.
        let first = self.pending.is_empty();
        if !first {
            self.conn.batch("SAVEPOINT batch")?;
        }
        match write_batch(&mut *self.conn, &self.tenant, rows) {
            Ok((run, rewritten)) => {
                if !first {
                    self.conn.batch("RELEASE SAVEPOINT batch")?;
                }
                self.pending.add_run(run, &rewritten);
                Ok(())
            }
            Err(e) => {
                // If even this fails, the transaction stays aborted and every
                // later statement of the group says so.
                let undo = if first {
                    "ROLLBACK; BEGIN; SET LOCAL plan_cache_mode = auto"
                } else {
                    "ROLLBACK TO SAVEPOINT batch"
                };
                let _ = self.conn.batch(undo);
                Err(e)
            }
        }
    }

    fn commit(self: Box<Self>) -> Result<()> {
        let Bulk {
            mut conn, pending, ..
        } = *self;
        insert_entries(&mut *conn, pending)?;
        conn.commit()
    }
}

impl VaultStore for PgStore {
    fn create_tenant(&self, t: &TenantRow, k: &KeyRow) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        tx.execute(
            "INSERT INTO tenants (id, name, schema, status, current_key_version, created_at) VALUES ($1, $2, $3, 'active', $4, $5)",
            &[&t.id, &t.name, &t.schema, &i64::from(t.current_key_version), &t.created_at],
        )
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict(format!("tenant '{}'", t.id)),
            other => other,
        })?;
        tx.execute(
            INSERT_KEY,
            &[
                &k.tenant,
                &i64::from(k.version),
                &k.wrapped_data,
                &k.wrapped_index,
                &k.created_at,
            ],
        )?;
        tx.commit()
    }

    fn tenant(&self, id: &str) -> Result<Option<TenantRow>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {TENANT_COLS} FROM tenants WHERE id = $1"),
                &[&id],
            )?
            .map(|r| rows::tenant(&r))
            .transpose()
    }

    fn tenants(&self) -> Result<Vec<TenantRow>> {
        let found = self.conn()?.query(
            &format!("SELECT {TENANT_COLS} FROM tenants ORDER BY id"),
            &[],
        )?;
        map(found, rows::tenant)
    }

    fn keys(&self, tenant: &str) -> Result<Vec<KeyRow>> {
        let found = self.conn()?.query(
            &format!("SELECT {KEY_COLS} FROM tenant_keys WHERE tenant = $1 ORDER BY version"),
            &[&tenant],
        )?;
        map(found, rows::key)
    }

    fn add_key(&self, k: &KeyRow) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        let version = i64::from(k.version);
        // The tenant row first: two rotations at once queue here, and the
        // second finds its version no longer above the current one.
        let n = tx.execute(
            "UPDATE tenants SET current_key_version = $2 WHERE id = $1 AND status = 'active' AND current_key_version < $2",
            &[&k.tenant, &version],
        )?;
        if n != 1 {
            return Err(StoreError::Conflict(format!(
                "key version {} of tenant '{}'",
                k.version, k.tenant
            )));
        }
        tx.execute(
            INSERT_KEY,
            &[
                &k.tenant,
                &version,
                &k.wrapped_data,
                &k.wrapped_index,
                &k.created_at,
            ],
        )?;
        tx.commit()
    }

    fn shred_tenant(&self, tenant: &str, at: i64) -> Result<()> {
        let mut c = self.conn()?;
        {
            let mut tx = c.tx()?;
            let n = tx.execute(
                "UPDATE tenants SET status = 'shredded', shredded_at = $2 WHERE id = $1 AND status = 'active'",
                &[&tenant, &at],
            )?;
            if n != 1 {
                return Err(StoreError::NotFound(format!("active tenant '{tenant}'")));
            }
            tx.execute("DELETE FROM tenant_keys WHERE tenant = $1", &[&tenant])?;
            // Tokens are keyed by the destroyed index key and useless now.
            tx.execute(
                "DELETE FROM blind_index WHERE ix IN (SELECT ix FROM search_keys WHERE tenant = $1)",
                &[&tenant],
            )?;
            tx.execute("DELETE FROM cases WHERE tenant = $1", &[&tenant])?;
            tx.commit()?;
        }
        // Rewrites the key table so that the deleted rows leave its data
        // files (WAL and backups keep them until they expire: docs/deploy.md).
        c.batch("VACUUM FULL tenant_keys")?;
        Ok(())
    }

    fn deployment_keys(&self) -> Result<Vec<DeploymentKeyRow>> {
        let found = self.conn()?.query(
            "SELECT name, wrapped, created_at FROM deployment_keys ORDER BY name",
            &[],
        )?;
        map(found, rows::deployment_key)
    }

    fn add_deployment_key(&self, k: &DeploymentKeyRow) -> Result<bool> {
        let n = self.conn()?.execute(
            "INSERT INTO deployment_keys (name, wrapped, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            &[&k.name, &k.wrapped, &k.created_at],
        )?;
        Ok(n == 1)
    }

    fn rewrap_keys(&self, keys: &[KeyRow], deployment: &[DeploymentKeyRow]) -> Result<()> {
        let mut c = self.conn()?;
        {
            let mut tx = c.tx()?;
            // No rotation, shred or new secret slips in between the
            // updates and the counts below.
            tx.batch("LOCK TABLE tenant_keys, deployment_keys IN EXCLUSIVE MODE")?;
            let changed = || StoreError::Conflict("the stored keys changed meanwhile".into());
            for k in keys {
                let n = tx.execute(
                    "UPDATE tenant_keys SET wrapped_data = $3, wrapped_index = $4 WHERE tenant = $1 AND version = $2",
                    &[&k.tenant, &i64::from(k.version), &k.wrapped_data, &k.wrapped_index],
                )?;
                if n != 1 {
                    return Err(changed());
                }
            }
            for d in deployment {
                let n = tx.execute(
                    "UPDATE deployment_keys SET wrapped = $2 WHERE name = $1",
                    &[&d.name, &d.wrapped],
                )?;
                if n != 1 {
                    return Err(changed());
                }
            }
            let counted = tx.query(
                "SELECT (SELECT count(*) FROM tenant_keys), (SELECT count(*) FROM deployment_keys)",
                &[],
            )?;
            let (t, d): (i64, i64) = (counted[0].get(0), counted[0].get(1));
            if t as usize != keys.len() || d as usize != deployment.len() {
                return Err(changed());
            }
            tx.commit()?;
        }
        // The old wrappings leave the tables' data files (docs/deploy.md).
        c.batch("VACUUM FULL tenant_keys")?;
        c.batch("VACUUM FULL deployment_keys")?;
        Ok(())
    }

    fn find(&self, tenant: &str, search_key: &str, tokens: &[Token]) -> Result<Vec<RecordRow>> {
        let tokens: Vec<&[u8]> = tokens.iter().map(|t| &t[..]).collect();
        // The join on records re-checks the tenant: an entry can only ever
        // name a record of the tenant its search key belongs to.
        let found = self.conn()?.query(
            "SELECT r.id, r.segment, r.key_version, r.sealed, r.updated_at FROM search_keys s
             JOIN blind_index b ON b.ix = s.ix
             JOIN records r ON r.rid = b.rid
             WHERE s.tenant = $1 AND s.skey = $2 AND b.token = ANY($3) AND r.tenant = $1
             LIMIT 1000",
            &[&tenant, &search_key, &tokens],
        )?;
        let mut out: Vec<RecordRow> = Vec::with_capacity(found.len());
        for r in &found {
            let row = rows::record(r)?;
            if !out.iter().any(|o| o.id == row.id) {
                out.push(row);
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
        let tokens: Vec<&[u8]> = tokens.iter().map(|t| &t[..]).collect();
        let found = self.conn()?.query(
            "SELECT b.token, r.id FROM search_keys s
             JOIN blind_index b ON b.ix = s.ix
             JOIN records r ON r.rid = b.rid
             WHERE s.tenant = $1 AND s.skey = $2 AND b.token = ANY($3) AND r.tenant = $1",
            &[&tenant, &search_key, &tokens],
        )?;
        found
            .iter()
            .map(|r| Ok((rows::Cols::id::<Token>(r, 0)?, rows::Cols::id(r, 1)?)))
            .collect()
    }

    fn find_keys(&self, tenant: &str, tokens: &[Token]) -> Result<HashMap<Token, RecordId>> {
        find_keys(&mut *self.conn()?, tenant, tokens)
    }

    fn record(&self, tenant: &str, id: &RecordId) -> Result<Option<RecordRow>> {
        let id = id.as_bytes();
        self.conn()?
            .query_opt(
                &format!("SELECT {RECORD_COLS} FROM records WHERE tenant = $1 AND id = $2"),
                &[&tenant, &&id[..]],
            )?
            .map(|r| rows::record(&r))
            .transpose()
    }

    fn bulk(&self, tenant: &str) -> Result<Box<dyn BulkWrite + '_>> {
        // The server's own choice of plans for a group's statements (not
        // the connection's generic ones): each runs on arrays of thousands
        // of rows, where planning for the values costs nothing by
        // comparison, and the import ran ~4 % slower on generic plans.
        let conn = Begun::new(self.conn()?, "BEGIN; SET LOCAL plan_cache_mode = auto")?;
        Ok(Box::new(Bulk {
            conn,
            tenant: tenant.to_owned(),
            pending: PendingEntries::default(),
        }))
    }

    fn delete_record(&self, tenant: &str, id: &RecordId) -> Result<bool> {
        let id = id.as_bytes();
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        let Some(old) = tx.query_opt(
            "DELETE FROM records WHERE tenant = $1 AND id = $2 RETURNING rid, index_tokens",
            &[&tenant, &&id[..]],
        )?
        else {
            return Ok(false);
        };
        let (rid, encoded): (i64, Vec<u8>) = (old.get(0), old.get(1));
        let ix = search_key_numbers(&mut tx, tenant, &[])?;
        let mut stale = Entries::default();
        stale.add(&ix, &decode_tokens(&encoded)?, rid)?;
        stale.delete(&mut tx)?;
        tx.commit()?;
        Ok(true)
    }

    fn scan_records(&self, tenant: &str, scan: &RecordScan) -> Result<Vec<RecordRow>> {
        let older = scan.older_than_version.map(i64::from);
        let found = self.conn()?.query(
            &format!(
                "SELECT {RECORD_COLS} FROM records
             WHERE tenant = $1 AND id > $2
               AND ($3::text IS NULL OR segment = $3)
               AND ($4::bigint IS NULL OR key_version < $4)
             ORDER BY id LIMIT $5"
            ),
            &[
                &tenant,
                &&scan.after.as_bytes()[..],
                &scan.segment,
                &older,
                &(scan.limit.max(1) as i64),
            ],
        )?;
        map(found, rows::record)
    }

    fn count_records(&self, tenant: &str, segment: Option<&str>) -> Result<u64> {
        let n: i64 = self
            .conn()?
            .query_opt(
                "SELECT count(*) FROM records WHERE tenant = $1 AND ($2::text IS NULL OR segment = $2)",
                &[&tenant, &segment],
            )?
            .map(|r| r.get(0))
            .unwrap_or(0);
        Ok(n as u64)
    }

    fn put_cases(&self, tenant: &str, cases: &[CaseRow]) -> Result<()> {
        let ids: Vec<&str> = cases.iter().map(|c| c.case_id.as_str()).collect();
        let tokens: Vec<&[u8]> = cases.iter().map(|c| c.tokens.as_slice()).collect();
        let at: Vec<i64> = cases.iter().map(|c| c.updated_at).collect();
        // One statement: a feed of many cases is one round trip and one revision.
        self.conn()?.execute(
            "INSERT INTO cases (tenant, case_id, tokens, updated_at)
             SELECT $1, * FROM unnest($2::text[], $3::bytea[], $4::bigint[])
             ON CONFLICT (tenant, case_id) DO UPDATE
                SET tokens = excluded.tokens, updated_at = excluded.updated_at",
            &[&tenant, &ids, &tokens, &at],
        )?;
        Ok(())
    }

    fn case(&self, tenant: &str, case_id: &str) -> Result<Option<CaseRow>> {
        self.conn()?
            .query_opt(
                "SELECT case_id, tokens, updated_at FROM cases WHERE tenant = $1 AND case_id = $2",
                &[&tenant, &case_id],
            )?
            .as_ref()
            .map(rows::case)
            .transpose()
    }

    fn has_cases(&self, tenant: &str) -> Result<bool> {
        let row = self.conn()?.query_opt(
            "SELECT EXISTS (SELECT 1 FROM cases WHERE tenant = $1)",
            &[&tenant],
        )?;
        Ok(row.is_some_and(|r| r.get(0)))
    }
}
