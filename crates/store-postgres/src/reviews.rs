//! Access review campaigns and their items. A decision and the removal it
//! orders are one transaction: a revocation recorded is a revocation done.

use super::{PgStore, Tx, big, governance::move_full_access_in, map};
use mamori_store::rows::{self, ALL_SEGMENTS, CAMPAIGN_COLS, REVIEW_ITEM_COLS};
use mamori_store::{
    CampaignRow, Removal, RequestState, Result, ReviewDecision, ReviewItemFilter, ReviewItemRow,
    ReviewStore, UsageRow,
};

impl ReviewStore for PgStore {
    fn open_campaign(
        &self,
        c: &CampaignRow,
        items: &[ReviewItemRow],
        predecessor: Option<&str>,
    ) -> Result<bool> {
        let mut conn = self.conn()?;
        let mut tx = conn.tx()?;
        if let Some(p) = predecessor {
            let n = tx.execute(
                "UPDATE review_campaigns SET successor = $2 WHERE id = $1 AND successor IS NULL",
                &[&p, &c.id],
            )?;
            if n != 1 {
                return Ok(false);
            }
        }
        let (notice, every, evidence) = (
            i64::from(c.notice_days),
            i64::from(c.every_months),
            i64::from(c.evidence_days),
        );
        tx.execute(
            &format!(
                "INSERT INTO review_campaigns ({CAMPAIGN_COLS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
            ),
            &[
                &c.id,
                &c.title,
                &c.scope,
                &c.fallback,
                &c.opened_by,
                &c.opened_at,
                &c.deadline,
                &notice,
                &c.on_no_answer,
                &every,
                &evidence,
                &c.noticed_at,
                &c.closed_at,
                &c.closed_by,
                &c.successor,
            ],
        )?;
        for i in items {
            tx.execute(
                "INSERT INTO review_items (id, campaign, kind, login, tenant, target, reviewer, grantor, evidence)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &i.id,
                    &i.campaign,
                    &i.kind,
                    &i.login,
                    &i.tenant,
                    &i.target,
                    &i.reviewer,
                    &i.grantor,
                    &i.evidence,
                ],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    fn campaign(&self, id: &str) -> Result<Option<CampaignRow>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {CAMPAIGN_COLS} FROM review_campaigns WHERE id = $1"),
                &[&id],
            )?
            .map(|r| rows::campaign(&r))
            .transpose()
    }

    fn campaigns(&self, open_only: bool) -> Result<Vec<CampaignRow>> {
        let found = self.conn()?.query(
            &format!(
                "SELECT {CAMPAIGN_COLS} FROM review_campaigns
                 WHERE (NOT $1 OR closed_at IS NULL) ORDER BY opened_at DESC, id"
            ),
            &[&open_only],
        )?;
        map(found, rows::campaign)
    }

    fn review_item(&self, id: &str) -> Result<Option<ReviewItemRow>> {
        self.conn()?
            .query_opt(
                &format!("SELECT {REVIEW_ITEM_COLS} FROM review_items WHERE id = $1"),
                &[&id],
            )?
            .map(|r| rows::review_item(&r))
            .transpose()
    }

    fn review_items(&self, f: &ReviewItemFilter) -> Result<Vec<ReviewItemRow>> {
        let limit = i64::try_from(f.limit).unwrap_or(i64::MAX);
        let found = self.conn()?.query(
            &format!(
                "SELECT {REVIEW_ITEM_COLS} FROM review_items
                 WHERE ($1::text IS NULL OR campaign = $1) AND ($2::text IS NULL OR reviewer = $2)
                   AND (NOT $3 OR outcome IS NULL)
                 ORDER BY campaign, login, kind, tenant, target LIMIT $4"
            ),
            &[&f.campaign, &f.reviewer, &f.open_only, &limit],
        )?;
        map(found, rows::review_item)
    }

    fn mark_shown(&self, campaign: &str, reviewer: &str, at: i64) -> Result<()> {
        self.conn()?.execute(
            "UPDATE review_items SET shown_at = $3
             WHERE campaign = $1 AND reviewer = $2 AND shown_at IS NULL AND outcome IS NULL",
            &[&campaign, &reviewer, &at],
        )?;
        Ok(())
    }

    fn decide_review(
        &self,
        item: &str,
        d: &ReviewDecision,
        removal: Option<&Removal>,
    ) -> Result<bool> {
        let mut conn = self.conn()?;
        let mut tx = conn.tx()?;
        let n = tx.execute(
            "UPDATE review_items SET outcome = $2, decided_by = $3, decided_at = $4, note = $5
             WHERE id = $1 AND outcome IS NULL
               AND campaign IN (SELECT id FROM review_campaigns WHERE closed_at IS NULL)",
            &[&item, &d.outcome, &d.by, &d.at, &d.note],
        )?;
        if n != 1 {
            return Ok(false);
        }
        if let Some(r) = removal {
            remove(&mut tx, r)?;
        }
        tx.commit()?;
        if matches!(removal, Some(Removal::Account { .. })) {
            self.tokens.forget();
        }
        Ok(true)
    }

    fn set_review_applied(&self, item: &str, applied: &str) -> Result<()> {
        self.conn()?.execute(
            "UPDATE review_items SET applied = $2 WHERE id = $1",
            &[&item, &applied],
        )?;
        Ok(())
    }

    fn mark_noticed(&self, campaign: &str, at: i64) -> Result<()> {
        self.conn()?.execute(
            "UPDATE review_campaigns SET noticed_at = $2 WHERE id = $1",
            &[&campaign, &at],
        )?;
        Ok(())
    }

    fn close_campaign(&self, campaign: &str, by: &str, at: i64) -> Result<bool> {
        let n = self.conn()?.execute(
            "UPDATE review_campaigns SET closed_at = $3, closed_by = $2
             WHERE id = $1 AND closed_at IS NULL",
            &[&campaign, &by, &at],
        )?;
        Ok(n == 1)
    }

    fn usage_days(&self, from: i64, to: i64) -> Result<Vec<i64>> {
        let found = self.conn()?.query(
            "SELECT day FROM usage_days WHERE day >= $1 AND day <= $2 ORDER BY day",
            &[&from, &to],
        )?;
        Ok(found.iter().map(|r| r.get(0)).collect())
    }

    fn put_usage_day(&self, day: i64, rows: &[UsageRow]) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.tx()?;
        let n = tx.execute(
            "INSERT INTO usage_days (day, done_at) VALUES ($1, EXTRACT(EPOCH FROM now())::bigint)
             ON CONFLICT (day) DO NOTHING",
            &[&day],
        )?;
        if n == 1 {
            for r in rows {
                tx.execute(
                    "INSERT INTO usage (day, login, tenant, segment, reads, last_at, records)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[
                        &day,
                        &r.login,
                        &r.tenant,
                        &r.segment,
                        &big(r.reads)?,
                        &r.last_at,
                        &r.records,
                    ],
                )?;
            }
        }
        tx.commit()
    }

    fn each_usage(
        &self,
        from: i64,
        to: i64,
        each: &mut dyn FnMut(UsageRow) -> Result<()>,
    ) -> Result<()> {
        let found = self.conn()?.query(
            "SELECT day, login, tenant, segment, reads, last_at, records FROM usage
             WHERE day >= $1 AND day <= $2 ORDER BY login, tenant, segment, day",
            &[&from, &to],
        )?;
        for r in found {
            let reads: i64 = r.get(4);
            each(UsageRow {
                day: r.get(0),
                login: r.get(1),
                tenant: r.get(2),
                segment: r.get(3),
                reads: u64::try_from(reads).unwrap_or_default(),
                last_at: r.get(5),
                records: r.get(6),
            })?;
        }
        Ok(())
    }
}

/// Applies a revocation inside the decision's transaction; what is gone
/// already is not an error (the check afterwards finds it absent either way).
fn remove(tx: &mut Tx<'_>, r: &Removal) -> Result<()> {
    match r {
        Removal::Assignment(a) => {
            tx.execute(
                "DELETE FROM assignments WHERE login = $1 AND tenant = $2 AND segment = $3",
                &[
                    &a.login,
                    &a.tenant,
                    &a.segment.as_deref().unwrap_or(ALL_SEGMENTS),
                ],
            )?;
        }
        Removal::FullAccess { id, step } => {
            // A revocation checks no cap; one revoked meanwhile is gone already.
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
                "UPDATE users SET leaves_at = $2 WHERE login = $1",
                &[&login, &at],
            )?;
            tx.execute(
                "UPDATE api_tokens SET revoked_at = $2 WHERE login = $1 AND revoked_at IS NULL",
                &[&login, &at],
            )?;
        }
    }
    Ok(())
}
