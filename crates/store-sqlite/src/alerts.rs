//! Detection tables of `vault.db`: alerts and their handling, the outbox of
//! notifications, honey records and the engine's snapshot. Also the
//! people's leaving date and suspension, which detection reads and acts on.

use rusqlite::{OptionalExtension, params, params_from_iter, types::Value};

use super::SqliteVault;
use mamori_store::rows::{self, ALERT_COLS, HONEY_COLS, SHIFT_COLS};
use mamori_store::{
    AlertChange, AlertFilter, AlertRow, AlertState, AlertStore, DeliveryRow, DetectSnapshot,
    HoneyRow, Result, ShiftRow,
};

impl AlertStore for SqliteVault {
    fn import_shifts(&self, rows: &[ShiftRow]) -> Result<()> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        for r in rows {
            tx.execute(
                "DELETE FROM shift_calendar WHERE login = ?1 AND day = ?2",
                params![r.login, r.day],
            )?;
        }
        for r in rows {
            tx.execute(
                "INSERT OR REPLACE INTO shift_calendar (login, day, start_min, end_min) VALUES (?1, ?2, ?3, ?4)",
                params![r.login, r.day, r.start_min, r.end_min],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn shifts(&self, since: &str) -> Result<Vec<ShiftRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {SHIFT_COLS} FROM shift_calendar WHERE day >= ?1 ORDER BY login, day, start_min"
        ))?;
        let rows = st
            .query_and_then([since], |r| rows::shift(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn set_user_shift(&self, login: &str, shift: Option<&str>) -> Result<()> {
        let w = self.writer.lock();
        match shift {
            Some(s) => w.execute(
                "INSERT INTO user_shifts (login, shift) VALUES (?1, ?2)
                 ON CONFLICT (login) DO UPDATE SET shift = ?2",
                params![login, s],
            )?,
            None => w.execute("DELETE FROM user_shifts WHERE login = ?1", [login])?,
        };
        Ok(())
    }

    fn user_shifts(&self) -> Result<Vec<(String, String)>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached("SELECT login, shift FROM user_shifts ORDER BY login")?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn insert_alert(&self, a: &AlertRow, channels: &[String], now: i64) -> Result<bool> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        let n = tx.execute(
            &format!(
                "INSERT OR IGNORE INTO alerts ({ALERT_COLS}) VALUES
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
            ),
            params![
                a.id,
                a.rule,
                a.variant,
                a.severity,
                a.login,
                a.tenant,
                a.at,
                a.window,
                a.value,
                a.threshold,
                a.indicator,
                a.evidence_log,
                a.evidence_seq,
                a.risk,
                a.raised_at,
                a.state.as_str(),
                a.assignee,
                a.note,
                a.updated_by,
                a.updated_at,
            ],
        )?;
        if n == 1 {
            for c in channels {
                tx.execute(
                    "INSERT INTO alert_deliveries (alert, channel, next_at) VALUES (?1, ?2, ?3)",
                    params![a.id, c, now],
                )?;
            }
        }
        tx.commit()?;
        Ok(n == 1)
    }

    fn alert(&self, id: &str) -> Result<Option<AlertRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!("SELECT {ALERT_COLS} FROM alerts WHERE id = ?1"))?;
        st.query_and_then([id], |r| rows::alert(r))?
            .next()
            .transpose()
    }

    fn alerts(&self, f: &AlertFilter) -> Result<Vec<AlertRow>> {
        let mut sql = format!("SELECT {ALERT_COLS} FROM alerts WHERE 1 = 1");
        let mut args: Vec<Value> = Vec::new();
        let mut eq = |col: &str, v: Option<String>| {
            if let Some(v) = v {
                args.push(Value::Text(v));
                sql.push_str(&format!(" AND {col} = ?{}", args.len()));
            }
        };
        eq("state", f.state.map(|s| s.as_str().to_owned()));
        eq("login", f.login.clone());
        eq("tenant", f.tenant.clone());
        eq("rule", f.rule.clone());
        if let Some(since) = f.since {
            args.push(Value::Integer(since));
            sql.push_str(&format!(" AND raised_at >= ?{}", args.len()));
        }
        if let Some(logins) = &f.logins {
            args.push(Value::Text(
                serde_json::to_string(logins).unwrap_or_else(|_| "[]".into()),
            ));
            sql.push_str(&format!(
                " AND login IN (SELECT value FROM json_each(?{}))",
                args.len()
            ));
        }
        args.push(Value::Integer(f.limit.clamp(1, 10_000) as i64));
        sql.push_str(&format!(
            " ORDER BY raised_at DESC, id LIMIT ?{}",
            args.len()
        ));
        let c = self.readers.get()?;
        let mut st = c.prepare(&sql)?;
        let rows = st
            .query_and_then(params_from_iter(args), |r| rows::alert(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn update_alert(&self, id: &str, from: &[AlertState], ch: &AlertChange) -> Result<bool> {
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let (set_assignee, assignee) = match &ch.assignee {
            Some(a) => (true, a.clone()),
            None => (false, None),
        };
        let n = self.writer.lock().execute(
            "UPDATE alerts SET state = ?3,
                 assignee = CASE WHEN ?4 THEN ?5 ELSE assignee END,
                 note = COALESCE(?6, note),
                 updated_by = ?7, updated_at = ?8
             WHERE id = ?1 AND state IN (SELECT value FROM json_each(?2))",
            params![
                id,
                serde_json::to_string(&from).unwrap_or_else(|_| "[]".into()),
                ch.state.as_str(),
                set_assignee,
                assignee,
                ch.note,
                ch.by,
                ch.at,
            ],
        )?;
        Ok(n == 1)
    }

    fn due_deliveries(&self, channel: &str, now: i64, limit: usize) -> Result<Vec<DeliveryRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT id, alert, channel, attempts, next_at, last_error FROM alert_deliveries
             WHERE channel = ?1 AND next_at <= ?2 ORDER BY next_at, id LIMIT ?3",
        )?;
        let rows = st
            .query_and_then(params![channel, now, limit as i64], |r| rows::delivery(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn delivery_result(
        &self,
        id: i64,
        delivered: bool,
        next_at: i64,
        error: Option<&str>,
    ) -> Result<()> {
        let w = self.writer.lock();
        if delivered {
            w.execute("DELETE FROM alert_deliveries WHERE id = ?1", [id])?;
        } else {
            w.execute(
                "UPDATE alert_deliveries SET attempts = attempts + 1, next_at = ?2, last_error = ?3
                 WHERE id = ?1",
                params![id, next_at, error],
            )?;
        }
        Ok(())
    }

    fn pending_deliveries(&self) -> Result<Vec<(String, u64)>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT channel, COUNT(*) FROM alert_deliveries GROUP BY channel ORDER BY channel",
        )?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn detect_snapshot(&self) -> Result<Option<DetectSnapshot>> {
        let c = self.readers.get()?;
        let mut st =
            c.prepare_cached("SELECT cursors, state, saved_at FROM detect_state WHERE id = 1")?;
        Ok(st
            .query_row([], |r| {
                Ok(DetectSnapshot {
                    cursors: r.get(0)?,
                    state: r.get(1)?,
                    saved_at: r.get(2)?,
                })
            })
            .optional()?)
    }

    fn save_detect_snapshot(&self, s: &DetectSnapshot) -> Result<()> {
        self.writer.lock().execute(
            "INSERT INTO detect_state (id, cursors, state, saved_at) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET cursors = ?1, state = ?2, saved_at = ?3",
            params![s.cursors, s.state, s.saved_at],
        )?;
        Ok(())
    }

    fn add_honey(&self, rows: &[HoneyRow]) -> Result<()> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        for r in rows {
            tx.execute(
                "INSERT INTO honey_records (tenant, record, planted_by, planted_at) VALUES (?1, ?2, ?3, ?4)",
                params![r.tenant, &r.record.as_bytes()[..], r.planted_by, r.planted_at],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn honey(&self) -> Result<Vec<HoneyRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {HONEY_COLS} FROM honey_records ORDER BY tenant, planted_at"
        ))?;
        let rows = st
            .query_and_then([], |r| rows::honey(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok(rows)
    }
}
