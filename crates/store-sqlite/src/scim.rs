//! SQLite: SCIM provisioning — the resources an identity provider manages,
//! Groups' members, the provider's tokens, and the profile it sets.

use rusqlite::{OptionalExtension, Transaction, params, params_from_iter};

use super::SqliteVault;
use mamori_store::rows::{self, SCIM_COLS};
use mamori_store::{
    MemberChange, Profile, Result, ScimKind, ScimQuery, ScimRow, ScimStore, ScimTokenRow,
    StoreError, UserRow,
};

/// A name taken by a live User, or a login taken, told apart from other conflicts.
fn conflict(e: rusqlite::Error) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict("userName or login already taken".into()),
        other => other,
    }
}

/// Adds and removes members, one statement each (a Group's change touches
/// only the members it names, however many the Group has).
fn change_members(tx: &Transaction<'_>, group: &str, change: &MemberChange) -> Result<()> {
    let mut gone =
        tx.prepare_cached("DELETE FROM scim_members WHERE group_id = ?1 AND user_id = ?2")?;
    for m in &change.remove {
        gone.execute(params![group, m])?;
    }
    let mut add = tx.prepare_cached(
        "INSERT OR IGNORE INTO scim_members (group_id, user_id)
         SELECT ?1, id FROM scim_resources WHERE id = ?2 AND kind = 'User' AND deleted_at IS NULL",
    )?;
    for m in &change.add {
        add.execute(params![group, m])?;
    }
    Ok(())
}

impl ScimStore for SqliteVault {
    fn add_scim_token(&self, hash: &[u8; 32], label: &str, at: i64) -> Result<()> {
        self.writer
            .lock()
            .execute(
                "INSERT INTO scim_tokens (hash, label, created_at) VALUES (?1, ?2, ?3)",
                params![&hash[..], label, at],
            )
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict("a live token has that label".into())
                }
                other => other,
            })?;
        Ok(())
    }

    fn scim_token(&self, hash: &[u8; 32]) -> Result<Option<String>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT label FROM scim_tokens WHERE hash = ?1 AND revoked_at IS NULL",
        )?;
        st.query_and_then([&hash[..]], |r| rows::Cols::text(r, 0))?
            .next()
            .transpose()
    }

    fn scim_tokens(&self) -> Result<Vec<ScimTokenRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT label, created_at, revoked_at FROM scim_tokens ORDER BY created_at, label",
        )?;
        st.query_and_then([], |r| {
            Ok::<_, StoreError>(ScimTokenRow {
                label: rows::Cols::text(r, 0)?,
                created_at: rows::Cols::int(r, 1)?,
                revoked_at: rows::Cols::opt_int(r, 2)?,
            })
        })?
        .collect()
    }

    fn revoke_scim_token(&self, label: &str, at: i64) -> Result<bool> {
        Ok(self.writer.lock().execute(
            "UPDATE scim_tokens SET revoked_at = ?2 WHERE label = ?1 AND revoked_at IS NULL",
            params![label, at],
        )? > 0)
    }

    fn insert_scim(
        &self,
        row: &ScimRow,
        person: Option<&UserRow>,
        members: &[String],
    ) -> Result<()> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        if let Some(u) = person {
            tx.execute(
                "INSERT INTO users (login, role, department, vendor, created_at, manager, leaves_at, suspended_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![u.login, u.role, u.department, u.vendor, u.created_at, u.manager, u.leaves_at, u.suspended_at],
            )
            .map_err(conflict)?;
        }
        tx.execute(
            "INSERT INTO scim_resources (id, kind, login, name_key, external_id, doc, version, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                row.id,
                row.kind.as_str(),
                row.login,
                row.name_key,
                row.external_id,
                row.doc,
                row.version as i64,
                row.created_at,
                row.updated_at
            ],
        )
        .map_err(conflict)?;
        if row.kind == ScimKind::Group {
            let all = MemberChange {
                add: members.to_vec(),
                remove: Vec::new(),
            };
            change_members(&tx, &row.id, &all)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn scim(&self, kind: ScimKind, id: &str) -> Result<Option<ScimRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {SCIM_COLS} FROM scim_resources WHERE id = ?1 AND kind = ?2 AND deleted_at IS NULL"
        ))?;
        st.query_and_then(params![id, kind.as_str()], |r| rows::scim(r))?
            .next()
            .transpose()
    }

    fn scim_find(&self, kind: ScimKind, q: &ScimQuery) -> Result<(usize, Vec<ScimRow>)> {
        let mut cond = String::from("kind = ?1 AND deleted_at IS NULL");
        let mut args: Vec<&str> = vec![kind.as_str()];
        for (column, v) in [
            ("id = ?", &q.id),
            ("name_key = ?", &q.name_key),
            ("external_id = ?", &q.external_id),
            (
                "id IN (SELECT group_id FROM scim_members WHERE user_id = ?)",
                &q.member,
            ),
        ] {
            if let Some(v) = v {
                args.push(v);
                cond.push_str(&format!(
                    " AND {}",
                    column.replace('?', &format!("?{}", args.len()))
                ));
            }
        }
        let c = self.readers.get()?;
        let total: i64 = c.query_row(
            &format!("SELECT count(*) FROM scim_resources WHERE {cond}"),
            params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        let mut st = c.prepare(&format!(
            "SELECT {SCIM_COLS} FROM scim_resources WHERE {cond} ORDER BY created_at, id LIMIT {} OFFSET {}",
            q.limit, q.offset
        ))?;
        let found = st
            .query_and_then(params_from_iter(args.iter()), |r| rows::scim(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok((usize::try_from(total).unwrap_or(0), found))
    }

    fn update_scim(&self, row: &ScimRow, version: u64, members: &MemberChange) -> Result<bool> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        let n = tx
            .execute(
                "UPDATE scim_resources SET name_key = ?3, external_id = ?4, doc = ?5,
                     version = version + 1, updated_at = ?6
                 WHERE id = ?1 AND kind = ?2 AND version = ?7 AND deleted_at IS NULL",
                params![
                    row.id,
                    row.kind.as_str(),
                    row.name_key,
                    row.external_id,
                    row.doc,
                    row.updated_at,
                    version as i64
                ],
            )
            .map_err(conflict)?;
        if n == 0 {
            return Ok(false);
        }
        if row.kind == ScimKind::Group && !members.is_empty() {
            change_members(&tx, &row.id, members)?;
        }
        tx.commit()?;
        Ok(true)
    }

    fn delete_scim(&self, kind: ScimKind, id: &str, at: i64) -> Result<bool> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        let live: Option<String> = tx
            .query_row(
                "SELECT id FROM scim_resources WHERE id = ?1 AND kind = ?2 AND deleted_at IS NULL",
                params![id, kind.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        if live.is_none() {
            return Ok(false);
        }
        match kind {
            ScimKind::User => {
                tx.execute("DELETE FROM scim_members WHERE user_id = ?1", [id])?;
                tx.execute(
                    "UPDATE scim_resources SET deleted_at = ?2, version = version + 1 WHERE id = ?1",
                    params![id, at],
                )?;
            }
            ScimKind::Group => {
                tx.execute("DELETE FROM scim_members WHERE group_id = ?1", [id])?;
                tx.execute("DELETE FROM scim_resources WHERE id = ?1", [id])?;
            }
        }
        tx.commit()?;
        Ok(true)
    }

    fn scim_members(&self, group: &str) -> Result<Vec<String>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT user_id FROM scim_members WHERE group_id = ?1 ORDER BY user_id",
        )?;
        st.query_and_then([group], |r| rows::Cols::text(r, 0))?
            .collect()
    }

    fn scim_live_users(&self, ids: &[String]) -> Result<Vec<String>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT id FROM scim_resources WHERE id = ?1 AND kind = 'User' AND deleted_at IS NULL",
        )?;
        let mut out = Vec::new();
        for id in ids {
            if st.query_row([id], |_| Ok(())).optional()?.is_some() {
                out.push(id.clone());
            }
        }
        Ok(out)
    }

    fn set_profile(&self, login: &str, p: &Profile) -> Result<()> {
        let n = self.writer.lock().execute(
            "UPDATE users SET role = ?2, department = ?3, vendor = ?4, manager = ?5 WHERE login = ?1",
            params![login, p.role, p.department, p.vendor, p.manager],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user '{login}'")));
        }
        Ok(())
    }
}
