//! PostgreSQL: users, their credentials, assignments, managers, suspensions
//! and households; their identities at identity providers and sign-ins under way.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::watch::Watch;
use super::{PgStore, Pool, map};
use mamori_store::{
    Assignment, Credential, Deprovisioned, HistoryRow, IdentityStore, Result, SignInRow,
    StoreError, UserRow, UserStore,
    rows::{self, ALL_SEGMENTS, USER_COLS},
};

impl UserStore for PgStore {
    fn create_user(&self, u: &UserRow) -> Result<()> {
        self.conn()?
            .execute(
                "INSERT INTO users (login, role, department, vendor, created_at, manager, leaves_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &u.login,
                    &u.role,
                    &u.department,
                    &u.vendor,
                    &u.created_at,
                    &u.manager,
                    &u.leaves_at,
                ],
            )
            .map_err(|e| match e {
                StoreError::Conflict(_) => StoreError::Conflict(format!("user '{}'", u.login)),
                other => other,
            })?;
        Ok(())
    }

    fn user(&self, login: &str) -> Result<Option<UserRow>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {USER_COLS} FROM users WHERE login = $1"),
                &[&login],
            )?
            .map(|r| rows::user(&r))
            .transpose()
    }

    fn users(&self) -> Result<Vec<UserRow>> {
        let found = self.conn()?.query(
            &format!("SELECT {USER_COLS} FROM users ORDER BY login"),
            &[],
        )?;
        map(found, rows::user)
    }

    fn add_credential(&self, login: &str, hash: &[u8; 32], c: &Credential, at: i64) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO api_tokens (hash, login, created_at, kind, expires_at, tenants, auth)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &&hash[..],
                &login,
                &at,
                &c.kind.as_str(),
                &c.expires_at,
                &rows::credential_tenants(c),
                &c.auth,
            ],
        )?;
        Ok(())
    }

    fn user_by_token(&self, hash: &[u8; 32]) -> Result<Option<(UserRow, Credential, u64)>> {
        if let Some(known) = self.tokens.get(hash) {
            return Ok(Some(known));
        }
        let found = self.conn()?.query_opt(
            "SELECT u.login, u.role, u.department, u.vendor, u.created_at, u.manager,
                    u.leaves_at, u.suspended_at, u.facts_rev,
                    t.kind, t.expires_at, t.tenants, t.auth,
                    (SELECT rev FROM governance_rev WHERE id = 1)
             FROM api_tokens t JOIN users u ON u.login = t.login
             WHERE t.hash = $1 AND t.revoked_at IS NULL",
            &[&&hash[..]],
        )?;
        let found: Option<(UserRow, Credential, u64)> = found
            .map(|r| {
                Ok::<_, StoreError>((
                    rows::user(&r)?,
                    rows::credential(&r, 9)?,
                    rows::Cols::u64(&r, 13)?,
                ))
            })
            .transpose()?;
        if let Some(found) = &found {
            self.tokens.put(hash, found);
        }
        Ok(found)
    }

    fn revoke_credential(&self, hash: &[u8; 32], at: i64) -> Result<bool> {
        let n = self.conn()?.execute(
            "UPDATE api_tokens SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL",
            &[&&hash[..], &at],
        )?;
        self.tokens.forget();
        Ok(n > 0)
    }

    fn revoke_tokens(&self, login: &str, at: i64) -> Result<usize> {
        let n = self.conn()?.execute(
            "UPDATE api_tokens SET revoked_at = $2 WHERE login = $1 AND revoked_at IS NULL",
            &[&login, &at],
        )?;
        self.tokens.forget();
        Ok(n as usize)
    }

    fn deprovision(&self, login: &str, at: i64, step: &HistoryRow) -> Result<Deprovisioned> {
        self.deprovision_person(login, at, step)
    }

    fn assign(&self, a: &Assignment) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO assignments (login, tenant, segment) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[
                &a.login,
                &a.tenant,
                &a.segment.as_deref().unwrap_or(ALL_SEGMENTS),
            ],
        )?;
        Ok(())
    }

    fn unassign(&self, a: &Assignment) -> Result<bool> {
        let n = self.conn()?.execute(
            "DELETE FROM assignments WHERE login = $1 AND tenant = $2 AND segment = $3",
            &[
                &a.login,
                &a.tenant,
                &a.segment.as_deref().unwrap_or(ALL_SEGMENTS),
            ],
        )?;
        Ok(n == 1)
    }

    fn assignments(&self, login: &str) -> Result<Vec<Assignment>> {
        let found = self.conn()?.query(
            "SELECT login, tenant, segment FROM assignments WHERE login = $1 ORDER BY tenant, segment",
            &[&login],
        )?;
        map(found, rows::assignment)
    }

    fn tenant_assignments(&self, tenant: &str) -> Result<Vec<Assignment>> {
        let found = self.conn()?.query(
            "SELECT login, tenant, segment FROM assignments WHERE tenant = $1 ORDER BY login, segment",
            &[&tenant],
        )?;
        map(found, rows::assignment)
    }

    fn set_manager(&self, login: &str, manager: Option<&str>) -> Result<()> {
        let n = self.conn()?.execute(
            "UPDATE users SET manager = $2 WHERE login = $1",
            &[&login, &manager],
        )?;
        found_user(n, login)
    }

    fn set_leaves_at(&self, login: &str, leaves_at: Option<i64>) -> Result<()> {
        let n = self.conn()?.execute(
            "UPDATE users SET leaves_at = $2 WHERE login = $1",
            &[&login, &leaves_at],
        )?;
        found_user(n, login)
    }

    fn set_suspended(&self, login: &str, at: Option<i64>) -> Result<()> {
        let n = self.conn()?.execute(
            "UPDATE users SET suspended_at = $2 WHERE login = $1",
            &[&login, &at],
        )?;
        self.tokens.forget();
        found_user(n, login)
    }

    fn set_household(&self, login: &str, tokens: Option<&[u8]>, at: i64) -> Result<()> {
        let mut c = self.conn()?;
        let n = match tokens {
            Some(t) => c.execute(
                "INSERT INTO households (login, tokens, updated_at)
                 SELECT login, $2, $3 FROM users WHERE login = $1
                 ON CONFLICT (login) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at",
                &[&login, &t, &at],
            )?,
            None => {
                c.execute("DELETE FROM households WHERE login = $1", &[&login])?;
                let known = c.query_opt("SELECT 1 FROM users WHERE login = $1", &[&login])?;
                u64::from(known.is_some())
            }
        };
        found_user(n, login)
    }

    fn household(&self, login: &str) -> Result<Option<Vec<u8>>> {
        let row = self
            .conn()?
            .query_opt("SELECT tokens FROM households WHERE login = $1", &[&login])?;
        Ok(row.map(|r| r.get(0)))
    }
}

fn found_user(updated: u64, login: &str) -> Result<()> {
    if updated == 0 {
        return Err(StoreError::NotFound(format!("user '{login}'")));
    }
    Ok(())
}

/// Tokens already resolved, each with the governance revision it was read
/// at. An entry answers only while the watch confirms that very revision,
/// and every change to users, tokens or anything else governing access
/// bumps it (watch.rs says how quickly another node's change is seen).
pub(crate) struct TokenCache {
    /// The pool the watch connects with, until it is started: on the second
    /// lookup, since a process that authenticates once (a CLI command)
    /// gains nothing from a cache and a listening connection.
    pool: Mutex<Option<Pool>>,
    watch: OnceLock<Watch>,
    lookups: AtomicU64,
    entries: Mutex<HashMap<[u8; 32], (UserRow, Credential, u64)>>,
}

/// Most tokens remembered; the cache starts afresh when full.
const TOKENS_KEPT: usize = 10_000;

impl TokenCache {
    pub(crate) fn new(pool: Pool) -> Self {
        Self {
            pool: Mutex::new(Some(pool)),
            watch: OnceLock::new(),
            lookups: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The owner of the token with this hash, if remembered at the current
    /// revision.
    fn get(&self, hash: &[u8; 32]) -> Option<(UserRow, Credential, u64)> {
        let rev = self.current()?;
        let entries = self.entries.lock();
        let (user, credential, at) = entries.get(hash)?;
        (*at == rev).then(|| (user.clone(), credential.clone(), rev))
    }

    fn current(&self) -> Option<u64> {
        if let Some(watch) = self.watch.get() {
            return watch.current();
        }
        if self.lookups.fetch_add(1, Ordering::Relaxed) >= 1
            && let Some(pool) = self.pool.lock().take()
        {
            match Watch::start(pool) {
                Ok(watch) => {
                    let _ = self.watch.set(watch);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "tokens will be read from the database each time")
                }
            }
        }
        None
    }

    fn put(&self, hash: &[u8; 32], found: &(UserRow, Credential, u64)) {
        let mut entries = self.entries.lock();
        if entries.len() >= TOKENS_KEPT {
            entries.clear();
        }
        entries.insert(*hash, found.clone());
    }

    /// Forgets everything: this process has just taken someone's access
    /// away, and its next request must not wait for the notification.
    pub(crate) fn forget(&self) {
        if let Some(watch) = self.watch.get() {
            watch.forget();
        }
        self.entries.lock().clear();
    }
}

impl IdentityStore for PgStore {
    fn link_identity(&self, issuer: &str, subject: &str, login: &str, at: i64) -> Result<()> {
        self.conn()?
            .execute(
                "INSERT INTO identities (issuer, subject, login, created_at) VALUES ($1, $2, $3, $4)",
                &[&issuer, &subject, &login, &at],
            )
            .map_err(|e| match e {
                StoreError::Conflict(_) => StoreError::Conflict("identity already linked".into()),
                other => other,
            })?;
        Ok(())
    }

    fn unlink_identity(&self, issuer: &str, subject: &str) -> Result<bool> {
        let n = self.conn()?.execute(
            "DELETE FROM identities WHERE issuer = $1 AND subject = $2",
            &[&issuer, &subject],
        )?;
        Ok(n > 0)
    }

    fn identity(&self, issuer: &str, subject: &str) -> Result<Option<String>> {
        self.conn()?
            .query_opt(
                "SELECT login FROM identities WHERE issuer = $1 AND subject = $2",
                &[&issuer, &subject],
            )?
            .map(|r| rows::Cols::text(&r, 0))
            .transpose()
    }

    fn identities(&self, login: &str) -> Result<Vec<(String, String)>> {
        let found = self.conn()?.query(
            "SELECT issuer, subject FROM identities WHERE login = $1 ORDER BY issuer, subject",
            &[&login],
        )?;
        map(found, |r| {
            Ok((rows::Cols::text(r, 0)?, rows::Cols::text(r, 1)?))
        })
    }

    fn put_sign_in(
        &self,
        state: &[u8; 32],
        row: &SignInRow,
        stale_before: i64,
        most: u64,
    ) -> Result<bool> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        tx.execute(
            "DELETE FROM sign_ins WHERE created_at < $1",
            &[&stale_before],
        )?;
        // A soft bound: nodes counting at once may each add one more.
        let under_way = tx
            .query("SELECT count(*) FROM sign_ins", &[])?
            .first()
            .map(|r| rows::Cols::int(r, 0))
            .transpose()?
            .unwrap_or(0);
        if u64::try_from(under_way).unwrap_or(0) >= most {
            tx.commit()?;
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO sign_ins (state, provider, sealed, created_at) VALUES ($1, $2, $3, $4)",
            &[&&state[..], &row.provider, &row.sealed, &row.created_at],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn take_sign_in(&self, state: &[u8; 32]) -> Result<Option<SignInRow>> {
        self.conn()?
            .query_opt(
                "DELETE FROM sign_ins WHERE state = $1 RETURNING provider, sealed, created_at",
                &[&&state[..]],
            )?
            .map(|r| {
                Ok(SignInRow {
                    provider: rows::Cols::text(&r, 0)?,
                    sealed: rows::Cols::blob(&r, 1)?,
                    created_at: rows::Cols::int(&r, 2)?,
                })
            })
            .transpose()
    }
}
