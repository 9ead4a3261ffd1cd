//! SQLite: users, their tokens, assignments, managers, suspensions and households.

use rusqlite::{OptionalExtension, params};

use super::SqliteVault;
use mamori_store::rows::{self, ALL_SEGMENTS, USER_COLS};
use mamori_store::{Assignment, Result, StoreError, UserRow, UserStore};

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

    fn add_token(&self, login: &str, hash: &[u8; 32], at: i64) -> Result<()> {
        self.writer.lock().execute(
            "INSERT INTO api_tokens (hash, login, created_at) VALUES (?1, ?2, ?3)",
            params![&hash[..], login, at],
        )?;
        Ok(())
    }

    fn user_by_token(&self, hash: &[u8; 32]) -> Result<Option<(UserRow, u64)>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT u.login, u.role, u.department, u.vendor, u.created_at, u.manager,
                    u.leaves_at, u.suspended_at, u.facts_rev,
                    (SELECT rev FROM governance_rev WHERE id = 1)
             FROM api_tokens t JOIN users u ON u.login = t.login
             WHERE t.hash = ?1 AND t.revoked_at IS NULL",
        )?;
        st.query_and_then([&hash[..]], |r| {
            Ok::<_, StoreError>((rows::user(r)?, rows::Cols::u64(r, 9)?))
        })?
        .next()
        .transpose()
    }

    fn revoke_tokens(&self, login: &str, at: i64) -> Result<usize> {
        Ok(self.writer.lock().execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE login = ?1 AND revoked_at IS NULL",
            params![login, at],
        )?)
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
