//! SQLite: users, their credentials, assignments, managers, suspensions and
//! households; their identities at identity providers and sign-ins under way.

use rusqlite::{OptionalExtension, params};

use super::SqliteVault;
use mamori_store::rows::{self, ALL_SEGMENTS, USER_COLS};
use mamori_store::{
    Assignment, Credential, Deprovisioned, HistoryRow, IdentityStore, Result, SignInRow,
    StoreError, UserRow, UserStore,
};

impl UserStore for SqliteVault {
    fn create_user(&self, u: &UserRow) -> Result<()> {
        self.writer
            .lock()
            .execute(
                "INSERT INTO users (login, role, department, vendor, created_at, manager, leaves_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![u.login, u.role, u.department, u.vendor, u.created_at, u.manager, u.leaves_at],
            )
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("user '{}'", u.login)),
                other => other,
            })?;
        Ok(())
    }

    fn user(&self, login: &str) -> Result<Option<UserRow>> {
        let c = self.readers.get()?;
        let mut st =
            c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE login = ?1"))?;
        st.query_and_then([login], |r| rows::user(r))?
            .next()
            .transpose()
    }

    fn users(&self) -> Result<Vec<UserRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!("SELECT {USER_COLS} FROM users ORDER BY login"))?;
        let rows = st
            .query_and_then([], |r| rows::user(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn add_credential(&self, login: &str, hash: &[u8; 32], c: &Credential, at: i64) -> Result<()> {
        self.writer.lock().execute(
            "INSERT INTO api_tokens (hash, login, created_at, kind, expires_at, tenants, auth)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                &hash[..],
                login,
                at,
                c.kind.as_str(),
                c.expires_at,
                rows::credential_tenants(c),
                c.auth
            ],
        )?;
        Ok(())
    }

    fn user_by_token(&self, hash: &[u8; 32]) -> Result<Option<(UserRow, Credential, u64)>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT u.login, u.role, u.department, u.vendor, u.created_at, u.manager,
                    u.leaves_at, u.suspended_at, u.facts_rev,
                    t.kind, t.expires_at, t.tenants, t.auth,
                    (SELECT rev FROM governance_rev WHERE id = 1)
             FROM api_tokens t JOIN users u ON u.login = t.login
             WHERE t.hash = ?1 AND t.revoked_at IS NULL",
        )?;
        st.query_and_then([&hash[..]], |r| {
            Ok::<_, StoreError>((
                rows::user(r)?,
                rows::credential(r, 9)?,
                rows::Cols::u64(r, 13)?,
            ))
        })?
        .next()
        .transpose()
    }

    fn revoke_credential(&self, hash: &[u8; 32], at: i64) -> Result<bool> {
        Ok(self.writer.lock().execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE hash = ?1 AND revoked_at IS NULL",
            params![&hash[..], at],
        )? > 0)
    }

    fn revoke_tokens(&self, login: &str, at: i64) -> Result<usize> {
        Ok(self.writer.lock().execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE login = ?1 AND revoked_at IS NULL",
            params![login, at],
        )?)
    }

    fn deprovision(&self, login: &str, at: i64, step: &HistoryRow) -> Result<Deprovisioned> {
        self.deprovision_person(login, at, step)
    }

    fn assign(&self, a: &Assignment) -> Result<()> {
        self.writer.lock().execute(
            "INSERT OR IGNORE INTO assignments (login, tenant, segment) VALUES (?1, ?2, ?3)",
            params![
                a.login,
                a.tenant,
                a.segment.as_deref().unwrap_or(ALL_SEGMENTS)
            ],
        )?;
        Ok(())
    }

    fn unassign(&self, a: &Assignment) -> Result<bool> {
        let n = self.writer.lock().execute(
            "DELETE FROM assignments WHERE login = ?1 AND tenant = ?2 AND segment = ?3",
            params![
                a.login,
                a.tenant,
                a.segment.as_deref().unwrap_or(ALL_SEGMENTS)
            ],
        )?;
        Ok(n == 1)
    }

    fn assignments(&self, login: &str) -> Result<Vec<Assignment>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached("SELECT login, tenant, segment FROM assignments WHERE login = ?1 ORDER BY tenant, segment")?;
        let rows = st
            .query_and_then([login], |r| rows::assignment(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn tenant_assignments(&self, tenant: &str) -> Result<Vec<Assignment>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT login, tenant, segment FROM assignments WHERE tenant = ?1 ORDER BY login, segment",
        )?;
        let rows = st
            .query_and_then([tenant], |r| rows::assignment(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn set_manager(&self, login: &str, manager: Option<&str>) -> Result<()> {
        let n = self.writer.lock().execute(
            "UPDATE users SET manager = ?2 WHERE login = ?1",
            params![login, manager],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user '{login}'")));
        }
        Ok(())
    }

    fn set_leaves_at(&self, login: &str, leaves_at: Option<i64>) -> Result<()> {
        self.update_user(login, "leaves_at", leaves_at)
    }

    fn set_suspended(&self, login: &str, at: Option<i64>) -> Result<()> {
        self.update_user(login, "suspended_at", at)
    }

    fn set_household(&self, login: &str, tokens: Option<&[u8]>, at: i64) -> Result<()> {
        let w = self.writer.lock();
        let n = match tokens {
            Some(t) => w.execute(
                "INSERT INTO households (login, tokens, updated_at)
                 SELECT login, ?2, ?3 FROM users WHERE login = ?1
                 ON CONFLICT (login) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at",
                params![login, t, at],
            )?,
            None => {
                w.execute("DELETE FROM households WHERE login = ?1", [login])?;
                w.query_row("SELECT count(*) FROM users WHERE login = ?1", [login], |r| {
                    r.get::<_, usize>(0)
                })?
            }
        };
        if n == 0 {
            return Err(StoreError::NotFound(format!("user '{login}'")));
        }
        Ok(())
    }

    fn household(&self, login: &str) -> Result<Option<Vec<u8>>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached("SELECT tokens FROM households WHERE login = ?1")?;
        Ok(st.query_row([login], |r| r.get(0)).optional()?)
    }
}

impl SqliteVault {
    fn update_user(&self, login: &str, column: &'static str, value: Option<i64>) -> Result<()> {
        let n = self.writer.lock().execute(
            &format!("UPDATE users SET {column} = ?2 WHERE login = ?1"),
            params![login, value],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user '{login}'")));
        }
        Ok(())
    }
}

impl IdentityStore for SqliteVault {
    fn link_identity(&self, issuer: &str, subject: &str, login: &str, at: i64) -> Result<()> {
        self.writer
            .lock()
            .execute(
                "INSERT INTO identities (issuer, subject, login, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![issuer, subject, login, at],
            )
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict("identity already linked".into()),
                other => other,
            })?;
        Ok(())
    }

    fn unlink_identity(&self, issuer: &str, subject: &str) -> Result<bool> {
        Ok(self.writer.lock().execute(
            "DELETE FROM identities WHERE issuer = ?1 AND subject = ?2",
            params![issuer, subject],
        )? > 0)
    }

    fn identity(&self, issuer: &str, subject: &str) -> Result<Option<String>> {
        let c = self.readers.get()?;
        let mut st =
            c.prepare_cached("SELECT login FROM identities WHERE issuer = ?1 AND subject = ?2")?;
        st.query_and_then(params![issuer, subject], |r| rows::Cols::text(r, 0))?
            .next()
            .transpose()
    }

    fn identities(&self, login: &str) -> Result<Vec<(String, String)>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT issuer, subject FROM identities WHERE login = ?1 ORDER BY issuer, subject",
        )?;
        st.query_and_then([login], |r| {
            Ok::<_, StoreError>((rows::Cols::text(r, 0)?, rows::Cols::text(r, 1)?))
        })?
        .collect()
    }

    fn put_sign_in(
        &self,
        state: &[u8; 32],
        row: &SignInRow,
        stale_before: i64,
        most: u64,
    ) -> Result<bool> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        tx.execute("DELETE FROM sign_ins WHERE created_at < ?1", [stale_before])?;
        let under_way: i64 = tx.query_row("SELECT count(*) FROM sign_ins", [], |r| r.get(0))?;
        if u64::try_from(under_way).unwrap_or(0) >= most {
            tx.commit()?;
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO sign_ins (state, provider, sealed, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![&state[..], row.provider, row.sealed, row.created_at],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn take_sign_in(&self, state: &[u8; 32]) -> Result<Option<SignInRow>> {
        let w = self.writer.lock();
        let mut st = w.prepare_cached(
            "DELETE FROM sign_ins WHERE state = ?1 RETURNING provider, sealed, created_at",
        )?;
        st.query_and_then([&state[..]], |r| {
            Ok::<_, StoreError>(SignInRow {
                provider: rows::Cols::text(r, 0)?,
                sealed: rows::Cols::blob(r, 1)?,
                created_at: rows::Cols::int(r, 2)?,
            })
        })?
        .next()
        .transpose()
    }
}
