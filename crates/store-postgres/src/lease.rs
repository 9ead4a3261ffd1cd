//! Leases on PostgreSQL: a session advisory lock on a connection of the
//! lease's own, so the database releases it when the holder's session ends
//! (a killed node's lease passes to another within the server's notice of
//! the dead connection).

use postgres::Client;

use super::PgStore;
use mamori_store::{Lease, LeaseStore, Result};

struct SessionLease(Client);

impl Lease for SessionLease {
    fn held(&mut self) -> bool {
        // The session holds the lock as long as it lives.
        !self.0.is_closed() && self.0.simple_query("SELECT 1").is_ok()
    }
}

impl LeaseStore for PgStore {
    fn try_lead(&self, job: &str) -> Result<Option<Box<dyn Lease>>> {
        let spare = self.lease_spare.lock().take().filter(|c| !c.is_closed());
        let mut c = match spare {
            Some(c) => c,
            None => self.pool.connect()?.client,
        };
        let got: bool = c
            .query_one(
                "SELECT pg_try_advisory_lock(hashtextextended('mamori.lead/' || current_schema() || '/' || $1, 0))",
                &[&job],
            )?
            .get(0);
        if got {
            return Ok(Some(Box::new(SessionLease(c))));
        }
        *self.lease_spare.lock() = Some(c);
        Ok(None)
    }
}
