//! Access review campaigns and their items. A decision and the removal it
//! orders are one transaction: a revocation recorded is a revocation done.

use rusqlite::{Transaction, params};

use super::{SqliteVault, full_access::move_full_access_in};
use mamori_store::rows::{self, ALL_SEGMENTS, CAMPAIGN_COLS, REVIEW_ITEM_COLS};
use mamori_store::{
    CampaignRow, Removal, RequestState, Result, ReviewDecision, ReviewItemFilter, ReviewItemRow,
    ReviewStore, UsageRow,
};

impl ReviewStore for SqliteVault {
    fn open_campaign(
        &self,
        c: &CampaignRow,
        items: &[ReviewItemRow],
        predecessor: Option<&str>,
    ) -> Result<bool> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        if let Some(p) = predecessor {
            let n = tx.execute(
                "UPDATE review_campaigns SET successor = ?2 WHERE id = ?1 AND successor IS NULL",
                params![p, c.id],
            )?;
            if n != 1 {
                return Ok(false);
            }
        }
        tx.execute(
            &format!(
                "INSERT INTO review_campaigns ({CAMPAIGN_COLS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
            ),
            params![
                c.id,
                c.title,
                c.scope,
                c.fallback,
                c.opened_by,
                c.opened_at,
                c.deadline,
                c.notice_days,
                c.on_no_answer,
                c.every_months,
                c.evidence_days,
                c.noticed_at,
                c.closed_at,
                c.closed_by,
                c.successor
            ],
        )?;
        let mut st = tx.prepare_cached(
            "INSERT INTO review_items (id, campaign, kind, login, tenant, target, reviewer, grantor, evidence)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for i in items {
            st.execute(params![
                i.id, i.campaign, i.kind, i.login, i.tenant, i.target, i.reviewer, i.grantor,
                i.evidence
            ])?;
        }
        drop(st);
        tx.commit()?;
        Ok(true)
    }

    fn campaign(&self, id: &str) -> Result<Option<CampaignRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {CAMPAIGN_COLS} FROM review_campaigns WHERE id = ?1"
        ))?;
        st.query_and_then([id], |r| rows::campaign(r))?
            .next()
            .transpose()
    }

    fn campaigns(&self, open_only: bool) -> Result<Vec<CampaignRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {CAMPAIGN_COLS} FROM review_campaigns
             WHERE (?1 = 0 OR closed_at IS NULL) ORDER BY opened_at DESC, id"
        ))?;
        st.query_and_then([i64::from(open_only)], |r| rows::campaign(r))?
            .collect()
    }

    fn review_item(&self, id: &str) -> Result<Option<ReviewItemRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {REVIEW_ITEM_COLS} FROM review_items WHERE id = ?1"
        ))?;
        st.query_and_then([id], |r| rows::review_item(r))?
            .next()
            .transpose()
    }

    fn review_items(&self, f: &ReviewItemFilter) -> Result<Vec<ReviewItemRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {REVIEW_ITEM_COLS} FROM review_items
             WHERE (?1 IS NULL OR campaign = ?1) AND (?2 IS NULL OR reviewer = ?2)
               AND (?3 = 0 OR outcome IS NULL)
             ORDER BY campaign, login, kind, tenant, target LIMIT ?4"
        ))?;
        let limit = i64::try_from(f.limit).unwrap_or(i64::MAX);
        st.query_and_then(
            params![f.campaign, f.reviewer, i64::from(f.open_only), limit],
            |r| rows::review_item(r),
        )?
        .collect()
    }

    fn mark_shown(&self, campaign: &str, reviewer: &str, at: i64) -> Result<()> {
        self.writer.lock().execute(
            "UPDATE review_items SET shown_at = ?3
             WHERE campaign = ?1 AND reviewer = ?2 AND shown_at IS NULL AND outcome IS NULL",
            params![campaign, reviewer, at],
        )?;
        Ok(())
    }

    fn decide_review(
        &self,
        item: &str,
        d: &ReviewDecision,
        removal: Option<&Removal>,
    ) -> Result<bool> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        let n = tx.execute(
            "UPDATE review_items SET outcome = ?2, decided_by = ?3, decided_at = ?4, note = ?5
             WHERE id = ?1 AND outcome IS NULL
               AND campaign IN (SELECT id FROM review_campaigns WHERE closed_at IS NULL)",
            params![item, d.outcome, d.by, d.at, d.note],
        )?;
        if n != 1 {
            return Ok(false);
        }
        if let Some(r) = removal {
            remove(&tx, r)?;
        }
        tx.commit()?;
        Ok(true)
    }

    fn set_review_applied(&self, item: &str, applied: &str) -> Result<()> {
        self.writer.lock().execute(
            "UPDATE review_items SET applied = ?2 WHERE id = ?1",
            params![item, applied],
        )?;
        Ok(())
    }

    fn mark_noticed(&self, campaign: &str, at: i64) -> Result<()> {
        self.writer.lock().execute(
            "UPDATE review_campaigns SET noticed_at = ?2 WHERE id = ?1",
            params![campaign, at],
        )?;
        Ok(())
    }

    fn close_campaign(&self, campaign: &str, by: &str, at: i64) -> Result<bool> {
        let n = self.writer.lock().execute(
            "UPDATE review_campaigns SET closed_at = ?3, closed_by = ?2
             WHERE id = ?1 AND closed_at IS NULL",
            params![campaign, by, at],
        )?;
        Ok(n == 1)
    }

    fn usage_days(&self, from: i64, to: i64) -> Result<Vec<i64>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT day FROM usage_days WHERE day >= ?1 AND day <= ?2 ORDER BY day",
        )?;
        let days = st
            .query_map(params![from, to], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        Ok(days)
    }

    fn put_usage_day(&self, day: i64, rows: &[UsageRow]) -> Result<()> {
        let mut w = self.writer.lock();
        let tx = w.transaction()?;
        let n = tx.execute(
            "INSERT INTO usage_days (day, done_at) VALUES (?1, strftime('%s', 'now'))
             ON CONFLICT (day) DO NOTHING",
            [day],
        )?;
        if n == 1 {
            let mut st = tx.prepare_cached(
                "INSERT INTO usage (day, login, tenant, segment, reads, last_at, records)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for r in rows {
                let reads = i64::try_from(r.reads).unwrap_or(i64::MAX);
                st.execute(params![
                    day, r.login, r.tenant, r.segment, reads, r.last_at, r.records
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn each_usage(
        &self,
        from: i64,
        to: i64,
        each: &mut dyn FnMut(UsageRow) -> Result<()>,
    ) -> Result<()> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT day, login, tenant, segment, reads, last_at, records FROM usage
             WHERE day >= ?1 AND day <= ?2 ORDER BY login, tenant, segment, day",
        )?;
        let mut rows = st.query(params![from, to])?;
        while let Some(r) = rows.next()? {
            let reads: i64 = r.get(4)?;
            each(UsageRow {
                day: r.get(0)?,
                login: r.get(1)?,
                tenant: r.get(2)?,
                segment: r.get(3)?,
                reads: u64::try_from(reads).unwrap_or_default(),
                last_at: r.get(5)?,
                records: r.get(6)?,
            })?;
        }
        Ok(())
    }
}

/// Applies a revocation inside the decision's transaction. What is gone
/// already (removed meanwhile by someone else) is not an error: the check
/// afterwards finds it absent either way.
fn remove(tx: &Transaction<'_>, r: &Removal) -> Result<()> {
    match r {
        Removal::Assignment(a) => {
            tx.execute(
                "DELETE FROM assignments WHERE login = ?1 AND tenant = ?2 AND segment = ?3",
                params![
                    a.login,
                    a.tenant,
                    a.segment.as_deref().unwrap_or(ALL_SEGMENTS)
                ],
            )?;
        }
        Removal::FullAccess { id, step } => {
            // A revocation checks no cap; a nomination revoked meanwhile
            // (`StateChanged`) is gone already.
            move_full_access_in(
                tx,
                id.as_bytes(),
                RequestState::Approved,
                RequestState::Revoked,
                step,
                u32::MAX,
            )?;
        }
        Removal::Account { login, at } => {
            tx.execute(
                "UPDATE users SET leaves_at = ?2 WHERE login = ?1",
                params![login, at],
            )?;
            tx.execute(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE login = ?1 AND revoked_at IS NULL",
                params![login, at],
            )?;
        }
    }
    Ok(())
}
