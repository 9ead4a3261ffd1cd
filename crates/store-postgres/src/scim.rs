//! PostgreSQL: SCIM provisioning — the resources an identity provider
//! manages, Groups' members, the provider's tokens, and the profile it sets.

use postgres::types::ToSql;

use super::{PgStore, Tx, map};
use mamori_store::rows::{self, SCIM_COLS};
use mamori_store::{
    MemberChange, Profile, Result, ScimKind, ScimQuery, ScimRow, ScimStore, ScimTokenRow,
    StoreError, UserRow,
};

fn conflict(e: StoreError) -> StoreError {
    match e {
        StoreError::Conflict(_) => StoreError::Conflict("userName or login already taken".into()),
        other => other,
    }
}

/// Adds and removes members, one statement each (a Group's change touches
/// only the members it names, however many the Group has).
fn change_members(tx: &mut Tx<'_>, group: &str, change: &MemberChange) -> Result<()> {
    if !change.remove.is_empty() {
        tx.execute(
            "DELETE FROM scim_members WHERE group_id = $1 AND user_id = ANY($2)",
            &[&group, &change.remove],
        )?;
    }
    if !change.add.is_empty() {
        tx.execute(
            "INSERT INTO scim_members (group_id, user_id)
             SELECT $1, id FROM scim_resources
             WHERE id = ANY($2) AND kind = 'User' AND deleted_at IS NULL
             ON CONFLICT DO NOTHING",
            &[&group, &change.add],
        )?;
    }
    Ok(())
}

impl ScimStore for PgStore {
    fn add_scim_token(&self, hash: &[u8; 32], label: &str, at: i64) -> Result<()> {
        self.conn()?
            .execute(
                "INSERT INTO scim_tokens (hash, label, created_at) VALUES ($1, $2, $3)",
                &[&&hash[..], &label, &at],
            )
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    StoreError::Conflict("a live token has that label".into())
                }
                other => other,
            })?;
        Ok(())
    }

    fn scim_token(&self, hash: &[u8; 32]) -> Result<Option<String>> {
        self.conn()?
            .query_opt(
                "SELECT label FROM scim_tokens WHERE hash = $1 AND revoked_at IS NULL",
                &[&&hash[..]],
            )?
            .map(|r| rows::Cols::text(&r, 0))
            .transpose()
    }

    fn scim_tokens(&self) -> Result<Vec<ScimTokenRow>> {
        let found = self.conn()?.query(
            "SELECT label, created_at, revoked_at FROM scim_tokens ORDER BY created_at, label",
            &[],
        )?;
        map(found, |r| {
            Ok(ScimTokenRow {
                label: rows::Cols::text(r, 0)?,
                created_at: rows::Cols::int(r, 1)?,
                revoked_at: rows::Cols::opt_int(r, 2)?,
            })
        })
    }

    fn revoke_scim_token(&self, label: &str, at: i64) -> Result<bool> {
        Ok(self.conn()?.execute(
            "UPDATE scim_tokens SET revoked_at = $2 WHERE label = $1 AND revoked_at IS NULL",
            &[&label, &at],
        )? > 0)
    }

    fn insert_scim(
        &self,
        row: &ScimRow,
        person: Option<&UserRow>,
        members: &[String],
    ) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        if let Some(u) = person {
            tx.execute(
                "INSERT INTO users (login, role, department, vendor, created_at, manager, leaves_at, suspended_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &u.login,
                    &u.role,
                    &u.department,
                    &u.vendor,
                    &u.created_at,
                    &u.manager,
                    &u.leaves_at,
                    &u.suspended_at,
                ],
            )
            .map_err(conflict)?;
        }
        tx.execute(
            "INSERT INTO scim_resources (id, kind, login, name_key, external_id, doc, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &row.id,
                &row.kind.as_str(),
                &row.login,
                &row.name_key,
                &row.external_id,
                &row.doc,
                &(row.version as i64),
                &row.created_at,
                &row.updated_at,
            ],
        )
        .map_err(conflict)?;
        if row.kind == ScimKind::Group {
            let all = MemberChange {
                add: members.to_vec(),
                remove: Vec::new(),
            };
            change_members(&mut tx, &row.id, &all)?;
        }
        tx.commit()
    }

    fn scim(&self, kind: ScimKind, id: &str) -> Result<Option<ScimRow>> {
        self.conn()?
            .query_opt(
                &format!(
                    "SELECT {SCIM_COLS} FROM scim_resources WHERE id = $1 AND kind = $2 AND deleted_at IS NULL"
                ),
                &[&id, &kind.as_str()],
            )?
            .map(|r| rows::scim(&r))
            .transpose()
    }

    fn scim_find(&self, kind: ScimKind, q: &ScimQuery) -> Result<(usize, Vec<ScimRow>)> {
        let kind = kind.as_str();
        let mut cond = String::from("kind = $1 AND deleted_at IS NULL");
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&kind];
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
                    column.replace('?', &format!("${}", args.len()))
                ));
            }
        }
        let mut c = self.conn()?;
        let total = c
            .query_opt(
                &format!("SELECT count(*) FROM scim_resources WHERE {cond}"),
                &args,
            )?
            .map(|r| rows::Cols::int(&r, 0))
            .transpose()?
            .unwrap_or(0);
        let (limit, offset) = (q.limit as i64, q.offset as i64);
        let n = args.len();
        args.push(&limit);
        args.push(&offset);
        let found = c.query(
            &format!(
                "SELECT {SCIM_COLS} FROM scim_resources WHERE {cond} ORDER BY created_at, id LIMIT ${} OFFSET ${}",
                n + 1,
                n + 2
            ),
            &args,
        )?;
        Ok((usize::try_from(total).unwrap_or(0), map(found, rows::scim)?))
    }

    fn update_scim(&self, row: &ScimRow, version: u64, members: &MemberChange) -> Result<bool> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        let n = tx
            .execute(
                "UPDATE scim_resources SET name_key = $3, external_id = $4, doc = $5,
                     version = version + 1, updated_at = $6
                 WHERE id = $1 AND kind = $2 AND version = $7 AND deleted_at IS NULL",
                &[
                    &row.id,
                    &row.kind.as_str(),
                    &row.name_key,
                    &row.external_id,
                    &row.doc,
                    &row.updated_at,
                    &(version as i64),
                ],
            )
            .map_err(conflict)?;
        if n == 0 {
            return Ok(false);
        }
        if row.kind == ScimKind::Group && !members.is_empty() {
            change_members(&mut tx, &row.id, members)?;
        }
        tx.commit()?;
        Ok(true)
    }

    fn delete_scim(&self, kind: ScimKind, id: &str, at: i64) -> Result<bool> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        let live = tx.query(
            "SELECT id FROM scim_resources WHERE id = $1 AND kind = $2 AND deleted_at IS NULL FOR UPDATE",
            &[&id, &kind.as_str()],
        )?;
        if live.is_empty() {
            return Ok(false);
        }
        match kind {
            ScimKind::User => {
                tx.execute("DELETE FROM scim_members WHERE user_id = $1", &[&id])?;
                tx.execute(
                    "UPDATE scim_resources SET deleted_at = $2, version = version + 1 WHERE id = $1",
                    &[&id, &at],
                )?;
            }
            ScimKind::Group => {
                tx.execute("DELETE FROM scim_members WHERE group_id = $1", &[&id])?;
                tx.execute("DELETE FROM scim_resources WHERE id = $1", &[&id])?;
            }
        }
        tx.commit()?;
        Ok(true)
    }

    fn scim_members(&self, group: &str) -> Result<Vec<String>> {
        let found = self.conn()?.query(
            "SELECT user_id FROM scim_members WHERE group_id = $1 ORDER BY user_id",
            &[&group],
        )?;
        map(found, |r| rows::Cols::text(r, 0))
    }

    fn scim_live_users(&self, ids: &[String]) -> Result<Vec<String>> {
        let found = self.conn()?.query(
            "SELECT id FROM scim_resources
             WHERE id = ANY($1) AND kind = 'User' AND deleted_at IS NULL ORDER BY id",
            &[&ids],
        )?;
        map(found, |r| rows::Cols::text(r, 0))
    }

    fn set_profile(&self, login: &str, p: &Profile) -> Result<()> {
        let n = self.conn()?.execute(
            "UPDATE users SET role = $2, department = $3, vendor = $4, manager = $5 WHERE login = $1",
            &[&login, &p.role, &p.department, &p.vendor, &p.manager],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user '{login}'")));
        }
        // A role may have been taken away: this node's next request must
        // not wait for the notification.
        self.tokens.forget();
        Ok(())
    }
}
