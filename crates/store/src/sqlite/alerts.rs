//! Detection tables of `vault.db`: alerts and their handling, the outbox of
//! notifications, honey records and the engine's snapshot. Also the
//! people's leaving date and suspension, which detection reads and acts on.

use rusqlite::{OptionalExtension, Row, params, params_from_iter, types::Value};

use super::{SqliteVault, governance::bad_enum};
use crate::{
    AlertChange, AlertFilter, AlertRow, AlertState, AlertStore, DeliveryRow, DetectSnapshot,
    HoneyRow, Result, ShiftRow,
};

/// Sixth migration of `vault.db`: shift calendars. Changes bump the
/// governance revision, so a running detector picks them up at once.
pub(super) const SHIFTS_MIGRATION: &str = r#"
CREATE TABLE shift_calendar (
    login TEXT NOT NULL REFERENCES users(login),
    day TEXT NOT NULL,
    start_min INTEGER NOT NULL CHECK (start_min >= 0 AND start_min < 1440),
    end_min INTEGER NOT NULL CHECK (end_min >= start_min AND end_min <= 2880),
    PRIMARY KEY (login, day, start_min)
);
CREATE INDEX shift_calendar_day ON shift_calendar(day);
CREATE TABLE user_shifts (
    login TEXT PRIMARY KEY REFERENCES users(login),
    shift TEXT NOT NULL
);
CREATE TRIGGER rev_shift_cal_i AFTER INSERT ON shift_calendar BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_shift_cal_d AFTER DELETE ON shift_calendar BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_user_shift_i AFTER INSERT ON user_shifts BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_user_shift_u AFTER UPDATE ON user_shifts BEGIN UPDATE governance_rev SET rev = rev + 1; END;
CREATE TRIGGER rev_user_shift_d AFTER DELETE ON user_shifts BEGIN UPDATE governance_rev SET rev = rev + 1; END;
"#;

/// Fifth migration of `vault.db`.
pub(super) const MIGRATION: &str = r#"
ALTER TABLE users ADD COLUMN leaves_at INTEGER;
ALTER TABLE users ADD COLUMN suspended_at INTEGER;
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    variant TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    login TEXT NOT NULL,
    tenant TEXT,
    at INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    value REAL NOT NULL,
    threshold REAL NOT NULL,
    indicator TEXT,
    evidence_log TEXT NOT NULL,
    evidence_seq INTEGER NOT NULL,
    risk REAL NOT NULL,
    raised_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved', 'false_positive')),
    assignee TEXT,
    note BLOB,
    updated_by TEXT,
    updated_at INTEGER NOT NULL
);
CREATE INDEX alerts_raised ON alerts(raised_at);
CREATE INDEX alerts_login ON alerts(login, raised_at);
-- The outbox: a row per alert and channel until delivered.
CREATE TABLE alert_deliveries (
    id INTEGER PRIMARY KEY,
    alert TEXT NOT NULL REFERENCES alerts(id),
    channel TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX alert_deliveries_due ON alert_deliveries(next_at);
CREATE TABLE honey_records (
    tenant TEXT NOT NULL REFERENCES tenants(id),
    record BLOB NOT NULL,
    planted_by TEXT NOT NULL,
    planted_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, record)
);
CREATE TABLE detect_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cursors TEXT NOT NULL,
    state BLOB NOT NULL,
    saved_at INTEGER NOT NULL
);
"#;

const COLS: &str = "id, rule, variant, severity, login, tenant, at, window_start, value, threshold, indicator, evidence_log, evidence_seq, risk, raised_at, state, assignee, note, updated_by, updated_at";

fn alert_from_row(r: &Row<'_>) -> rusqlite::Result<AlertRow> {
    let state: String = r.get(15)?;
    Ok(AlertRow {
        id: r.get(0)?,
        rule: r.get(1)?,
        variant: r.get(2)?,
        severity: r.get(3)?,
        login: r.get(4)?,
        tenant: r.get(5)?,
        at: r.get(6)?,
        window: r.get(7)?,
        value: r.get(8)?,
        threshold: r.get(9)?,
        indicator: r.get(10)?,
        evidence_log: r.get(11)?,
        evidence_seq: r.get(12)?,
        risk: r.get(13)?,
        raised_at: r.get(14)?,
        state: AlertState::parse(&state).ok_or_else(|| bad_enum(15))?,
        assignee: r.get(16)?,
        note: r.get(17)?,
        updated_by: r.get(18)?,
        updated_at: r.get(19)?,
    })
}

fn delivery_from_row(r: &Row<'_>) -> rusqlite::Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: r.get(0)?,
        alert: r.get(1)?,
        channel: r.get(2)?,
        attempts: r.get(3)?,
        next_at: r.get(4)?,
        last_error: r.get(5)?,
    })
}

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
        let mut st = c.prepare_cached(
            "SELECT login, day, start_min, end_min FROM shift_calendar WHERE day >= ?1
             ORDER BY login, day, start_min",
        )?;
        let rows = st
            .query_map([since], |r| {
                Ok(ShiftRow {
                    login: r.get(0)?,
                    day: r.get(1)?,
                    start_min: r.get(2)?,
                    end_min: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
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
                "INSERT OR IGNORE INTO alerts ({COLS}) VALUES
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
        let mut st = c.prepare_cached(&format!("SELECT {COLS} FROM alerts WHERE id = ?1"))?;
        Ok(st.query_row([id], alert_from_row).optional()?)
    }

    fn alerts(&self, f: &AlertFilter) -> Result<Vec<AlertRow>> {
        let mut sql = format!("SELECT {COLS} FROM alerts WHERE 1 = 1");
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
            .query_map(params_from_iter(args), alert_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
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
            .query_map(params![channel, now, limit as i64], delivery_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
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
                params![r.tenant, &r.record[..], r.planted_by, r.planted_at],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn honey(&self) -> Result<Vec<HoneyRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT tenant, record, planted_by, planted_at FROM honey_records ORDER BY tenant, planted_at",
        )?;
        let rows = st
            .query_map([], |r| {
                let record: Vec<u8> = r.get(1)?;
                Ok(HoneyRow {
                    tenant: r.get(0)?,
                    record: record.try_into().map_err(|_| bad_enum(1))?,
                    planted_by: r.get(2)?,
                    planted_at: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserStore;

    fn vault() -> (tempfile::TempDir, SqliteVault) {
        let dir = tempfile::tempdir().unwrap();
        let v = SqliteVault::open(&dir.path().join("vault.db")).unwrap();
        (dir, v)
    }

    fn alert(id: &str, login: &str, raised_at: i64) -> AlertRow {
        AlertRow {
            id: id.into(),
            rule: "honey".into(),
            variant: String::new(),
            severity: "critical".into(),
            login: login.into(),
            tenant: Some("acme".into()),
            at: raised_at,
            window: raised_at - raised_at % 3600,
            value: 1.0,
            threshold: 0.0,
            indicator: None,
            evidence_log: "tenant/acme".into(),
            evidence_seq: 7,
            risk: 75.0,
            raised_at,
            state: AlertState::Open,
            assignee: None,
            note: None,
            updated_by: None,
            updated_at: raised_at,
        }
    }

    #[test]
    fn an_alert_is_stored_and_queued_once() {
        let (_d, v) = vault();
        let chans = vec!["webhook".to_owned(), "mail".to_owned()];
        assert!(
            v.insert_alert(&alert("a1", "op1", 100), &chans, 100)
                .unwrap()
        );
        // Replay: same id, nothing changes and nothing is queued again.
        let mut again = alert("a1", "op1", 200);
        again.severity = "low".into();
        assert!(!v.insert_alert(&again, &chans, 200).unwrap());
        assert_eq!(v.alert("a1").unwrap().unwrap().severity, "critical");
        assert_eq!(
            v.pending_deliveries().unwrap(),
            vec![("mail".to_owned(), 1), ("webhook".to_owned(), 1)]
        );
        let hook = v.due_deliveries("webhook", 100, 10).unwrap();
        let mail = v.due_deliveries("mail", 100, 10).unwrap();
        assert_eq!((hook.len(), mail.len()), (1, 1));
        assert!(v.due_deliveries("webhook", 99, 10).unwrap().is_empty());
        v.delivery_result(hook[0].id, false, 160, Some("connection refused"))
            .unwrap();
        v.delivery_result(mail[0].id, true, 0, None).unwrap();
        assert!(v.due_deliveries("mail", 1_000, 10).unwrap().is_empty());
        assert!(v.due_deliveries("webhook", 159, 10).unwrap().is_empty());
        let left = v.due_deliveries("webhook", 1_000, 10).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].attempts, 1);
        assert_eq!(left[0].next_at, 160);
        assert_eq!(left[0].last_error.as_deref(), Some("connection refused"));
    }

    #[test]
    fn transitions_are_compare_and_set() {
        let (_d, v) = vault();
        v.insert_alert(&alert("a1", "op1", 100), &[], 100).unwrap();
        let ack = AlertChange {
            state: AlertState::Acknowledged,
            assignee: Some(Some("sup1".into())),
            note: None,
            by: "sup1".into(),
            at: 110,
        };
        assert!(v.update_alert("a1", &[AlertState::Open], &ack).unwrap());
        assert!(!v.update_alert("a1", &[AlertState::Open], &ack).unwrap());
        let resolve = AlertChange {
            state: AlertState::Resolved,
            assignee: None,
            note: Some(vec![1, 2, 3]),
            by: "sup1".into(),
            at: 120,
        };
        let open_or_ack = [AlertState::Open, AlertState::Acknowledged];
        assert!(v.update_alert("a1", &open_or_ack, &resolve).unwrap());
        assert!(!v.update_alert("a1", &open_or_ack, &resolve).unwrap());
        let a = v.alert("a1").unwrap().unwrap();
        assert_eq!(a.state, AlertState::Resolved);
        assert_eq!(a.assignee.as_deref(), Some("sup1"));
        assert_eq!(a.note, Some(vec![1, 2, 3]));
        assert_eq!((a.updated_by.as_deref(), a.updated_at), (Some("sup1"), 120));
        assert!(!v.update_alert("nope", &open_or_ack, &resolve).unwrap());
    }

    #[test]
    fn filters() {
        let (_d, v) = vault();
        for (i, login) in ["op1", "op2", "op3"].iter().enumerate() {
            v.insert_alert(&alert(&format!("a{i}"), login, 100 + i as i64), &[], 0)
                .unwrap();
        }
        let ids = |f: AlertFilter| -> Vec<String> {
            v.alerts(&AlertFilter { limit: 100, ..f })
                .unwrap()
                .into_iter()
                .map(|a| a.id)
                .collect()
        };
        assert_eq!(ids(AlertFilter::default()), ["a2", "a1", "a0"]);
        let team = Some(vec!["op1".to_owned(), "op3".to_owned()]);
        assert_eq!(
            ids(AlertFilter {
                logins: team,
                ..Default::default()
            }),
            ["a2", "a0"]
        );
        assert_eq!(
            ids(AlertFilter {
                since: Some(101),
                ..Default::default()
            }),
            ["a2", "a1"]
        );
        assert_eq!(
            ids(AlertFilter {
                login: Some("op2".into()),
                ..Default::default()
            }),
            ["a1"]
        );
        assert!(
            ids(AlertFilter {
                state: Some(AlertState::Resolved),
                ..Default::default()
            })
            .is_empty()
        );
        assert!(
            ids(AlertFilter {
                tenant: Some("other".into()),
                ..Default::default()
            })
            .is_empty()
        );
    }

    #[test]
    fn snapshot_honey_and_people() {
        let (_d, v) = vault();
        assert!(v.detect_snapshot().unwrap().is_none());
        let s = DetectSnapshot {
            cursors: "{}".into(),
            state: vec![9; 10],
            saved_at: 5,
        };
        v.save_detect_snapshot(&s).unwrap();
        let s2 = DetectSnapshot { saved_at: 6, ..s };
        v.save_detect_snapshot(&s2).unwrap();
        assert_eq!(v.detect_snapshot().unwrap(), Some(s2));

        assert!(v.honey().unwrap().is_empty());
        v.writer
            .lock()
            .execute_batch(
                "INSERT INTO tenants (id, name, schema, status, current_key_version, created_at)
                 VALUES ('acme', 'アクメ', '', 'active', 1, 0)",
            )
            .unwrap();
        let h = HoneyRow {
            tenant: "acme".into(),
            record: [7; 16],
            planted_by: "cli:sec".into(),
            planted_at: 3,
        };
        v.add_honey(std::slice::from_ref(&h)).unwrap();
        assert_eq!(v.honey().unwrap(), vec![h.clone()]);
        // Planting the same decoy twice is refused, and nothing of the batch is kept.
        let other = HoneyRow {
            record: [8; 16],
            ..h.clone()
        };
        assert!(v.add_honey(&[other, h]).is_err());
        assert_eq!(v.honey().unwrap().len(), 1);

        let user = crate::UserRow {
            login: "op1".into(),
            role: "operator".into(),
            department: None,
            vendor: None,
            manager: None,
            created_at: 0,
            leaves_at: Some(99),
            suspended_at: None,
        };
        v.create_user(&user).unwrap();
        v.set_suspended("op1", Some(50)).unwrap();
        let u = v.user("op1").unwrap().unwrap();
        assert_eq!((u.leaves_at, u.suspended_at), (Some(99), Some(50)));
        v.set_suspended("op1", None).unwrap();
        v.set_leaves_at("op1", None).unwrap();
        let u = v.user("op1").unwrap().unwrap();
        assert_eq!((u.leaves_at, u.suspended_at), (None, None));
        assert!(v.set_suspended("ghost", Some(1)).is_err());

        // Shift calendars: an import replaces the days it names, and nothing else.
        let day = |d: &str, s: u32, e: u32| ShiftRow {
            login: "op1".into(),
            day: d.into(),
            start_min: s,
            end_min: e,
        };
        let rev = crate::GovernanceStore::governance_rev(&v).unwrap();
        v.import_shifts(&[day("2026-12-01", 540, 1080), day("2026-12-02", 1320, 1800)])
            .unwrap();
        v.import_shifts(&[day("2026-12-02", 0, 0)]).unwrap();
        assert_eq!(
            v.shifts("2026-12-01").unwrap(),
            vec![day("2026-12-01", 540, 1080), day("2026-12-02", 0, 0)]
        );
        assert_eq!(v.shifts("2026-12-02").unwrap().len(), 1);
        assert!(v.import_shifts(&[day("2026-12-03", 900, 600)]).is_err());
        assert!(
            v.import_shifts(&[ShiftRow {
                login: "ghost".into(),
                ..day("2026-12-04", 0, 60)
            }])
            .is_err()
        );
        v.set_user_shift("op1", Some("night")).unwrap();
        v.set_user_shift("op1", Some("early")).unwrap();
        assert_eq!(
            v.user_shifts().unwrap(),
            vec![("op1".into(), "early".into())]
        );
        v.set_user_shift("op1", None).unwrap();
        assert!(v.user_shifts().unwrap().is_empty());
        assert!(crate::GovernanceStore::governance_rev(&v).unwrap() > rev);
    }
}
