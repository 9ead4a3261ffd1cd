//! Alerts, the notification outbox, honey records, shift calendars and the
//! detection engine's snapshot.

use super::{PgStore, big, map};
use mamori_store::{
    AlertChange, AlertFilter, AlertRow, AlertState, AlertStore, DeliveryRow, DetectSnapshot,
    HoneyRow, Result, ShiftRow,
    rows::{self, ALERT_COLS, DELIVERY_COLS, HONEY_COLS, SHIFT_COLS},
};

impl AlertStore for PgStore {
    fn insert_alert(&self, a: &AlertRow, channels: &[String], now: i64) -> Result<bool> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        let n = tx.execute(
            &format!(
                "INSERT INTO alerts ({ALERT_COLS}) VALUES
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
                 ON CONFLICT (id) DO NOTHING"
            ),
            &[
                &a.id,
                &a.rule,
                &a.variant,
                &a.severity,
                &a.login,
                &a.tenant,
                &a.at,
                &a.window,
                &a.value,
                &a.threshold,
                &a.indicator,
                &a.evidence_log,
                &big(a.evidence_seq)?,
                &a.risk,
                &a.raised_at,
                &a.state.as_str(),
                &a.assignee,
                &a.note,
                &a.updated_by,
                &a.updated_at,
            ],
        )?;
        if n == 1 && !channels.is_empty() {
            tx.execute(
                "INSERT INTO alert_deliveries (alert, channel, next_at) SELECT $1, unnest($2::text[]), $3",
                &[&a.id, &channels, &now],
            )?;
        }
        tx.commit()?;
        Ok(n == 1)
    }

    fn alert(&self, id: &str) -> Result<Option<AlertRow>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {ALERT_COLS} FROM alerts WHERE id = $1"),
                &[&id],
            )?
            .map(|r| rows::alert(&r))
            .transpose()
    }

    fn alerts(&self, f: &AlertFilter) -> Result<Vec<AlertRow>> {
        let found = self.conn()?.query(
            &format!(
                "SELECT {ALERT_COLS} FROM alerts
                 WHERE ($1::text IS NULL OR state = $1)
                   AND ($2::text IS NULL OR login = $2)
                   AND ($3::text IS NULL OR tenant = $3)
                   AND ($4::text IS NULL OR rule = $4)
                   AND ($5::bigint IS NULL OR raised_at >= $5)
                   AND ($6::text[] IS NULL OR login = ANY($6))
                 ORDER BY raised_at DESC, id LIMIT $7"
            ),
            &[
                &f.state.map(AlertState::as_str),
                &f.login,
                &f.tenant,
                &f.rule,
                &f.since,
                &f.logins,
                &(f.limit.clamp(1, 10_000) as i64),
            ],
        )?;
        map(found, rows::alert)
    }

    fn update_alert(&self, id: &str, from: &[AlertState], ch: &AlertChange) -> Result<bool> {
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let (set_assignee, assignee) = match &ch.assignee {
            Some(a) => (true, a.clone()),
            None => (false, None),
        };
        let n = self.conn()?.execute(
            "UPDATE alerts SET state = $3,
                 assignee = CASE WHEN $4 THEN $5 ELSE assignee END,
                 note = COALESCE($6, note),
                 updated_by = $7, updated_at = $8
             WHERE id = $1 AND state = ANY($2)",
            &[
                &id,
                &from,
                &ch.state.as_str(),
                &set_assignee,
                &assignee,
                &ch.note,
                &ch.by,
                &ch.at,
            ],
        )?;
        Ok(n == 1)
    }

    fn due_deliveries(&self, channel: &str, now: i64, limit: usize) -> Result<Vec<DeliveryRow>> {
        let found = self.conn()?.query(
            &format!(
                "SELECT {DELIVERY_COLS} FROM alert_deliveries
                 WHERE channel = $1 AND next_at <= $2 ORDER BY next_at, id LIMIT $3"
            ),
            &[&channel, &now, &(limit as i64)],
        )?;
        map(found, rows::delivery)
    }

    fn delivery_result(
        &self,
        id: i64,
        delivered: bool,
        next_at: i64,
        error: Option<&str>,
    ) -> Result<()> {
        let mut c = self.conn()?;
        if delivered {
            c.execute("DELETE FROM alert_deliveries WHERE id = $1", &[&id])?;
        } else {
            c.execute(
                "UPDATE alert_deliveries SET attempts = attempts + 1, next_at = $2, last_error = $3
                 WHERE id = $1",
                &[&id, &next_at, &error],
            )?;
        }
        Ok(())
    }

    fn pending_deliveries(&self) -> Result<Vec<(String, u64)>> {
        let found = self.conn()?.query(
            "SELECT channel, COUNT(*) FROM alert_deliveries GROUP BY channel ORDER BY channel",
            &[],
        )?;
        found
            .iter()
            .map(|r| Ok((r.get(0), rows::Cols::u64(r, 1)?)))
            .collect()
    }

    fn detect_snapshot(&self) -> Result<Option<DetectSnapshot>> {
        let found = self.conn()?.query_opt(
            "SELECT cursors, state, saved_at FROM detect_state WHERE id = 1",
            &[],
        )?;
        Ok(found.map(|r| DetectSnapshot {
            cursors: r.get(0),
            state: r.get(1),
            saved_at: r.get(2),
        }))
    }

    fn save_detect_snapshot(&self, s: &DetectSnapshot) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO detect_state (id, cursors, state, saved_at) VALUES (1, $1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET cursors = $1, state = $2, saved_at = $3",
            &[&s.cursors, &s.state, &s.saved_at],
        )?;
        Ok(())
    }

    fn add_honey(&self, rows: &[HoneyRow]) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        for r in rows {
            tx.execute(
                &format!("INSERT INTO honey_records ({HONEY_COLS}) VALUES ($1, $2, $3, $4)"),
                &[
                    &r.tenant,
                    &&r.record.as_bytes()[..],
                    &r.planted_by,
                    &r.planted_at,
                ],
            )?;
        }
        tx.commit()
    }

    fn honey(&self) -> Result<Vec<HoneyRow>> {
        let found = self.conn()?.query(
            &format!("SELECT {HONEY_COLS} FROM honey_records ORDER BY tenant, planted_at"),
            &[],
        )?;
        map(found, rows::honey)
    }

    fn import_shifts(&self, rows: &[ShiftRow]) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.tx()?;
        for r in rows {
            tx.execute(
                "DELETE FROM shift_calendar WHERE login = $1 AND day = $2",
                &[&r.login, &r.day],
            )?;
        }
        for r in rows {
            tx.execute(
                &format!(
                    "INSERT INTO shift_calendar ({SHIFT_COLS}) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (login, day, start_min) DO UPDATE SET end_min = $4"
                ),
                &[
                    &r.login,
                    &r.day,
                    &i64::from(r.start_min),
                    &i64::from(r.end_min),
                ],
            )?;
        }
        tx.commit()
    }

    fn shifts(&self, since: &str) -> Result<Vec<ShiftRow>> {
        let found = self.conn()?.query(
            &format!(
                "SELECT {SHIFT_COLS} FROM shift_calendar WHERE day >= $1 ORDER BY login, day, start_min"
            ),
            &[&since],
        )?;
        map(found, rows::shift)
    }

    fn set_user_shift(&self, login: &str, shift: Option<&str>) -> Result<()> {
        let mut c = self.conn()?;
        match shift {
            Some(s) => c.execute(
                "INSERT INTO user_shifts (login, shift) VALUES ($1, $2)
                 ON CONFLICT (login) DO UPDATE SET shift = $2",
                &[&login, &s],
            )?,
            None => c.execute("DELETE FROM user_shifts WHERE login = $1", &[&login])?,
        };
        Ok(())
    }

    fn user_shifts(&self) -> Result<Vec<(String, String)>> {
        let found = self
            .conn()?
            .query("SELECT login, shift FROM user_shifts ORDER BY login", &[])?;
        Ok(found.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
