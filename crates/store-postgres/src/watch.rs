//! The governance revision, pushed rather than asked for.
//!
//! Every bump of the revision (users, tokens, assignments, grants, …: the
//! triggers of `schema.rs`) announces itself with `NOTIFY mamori_governance`
//! as it commits. A server keeps one connection of its own LISTENing, so it
//! learns of another node's change — a revoked token, a suspension — within
//! the time a notification takes to arrive, and until then can answer "who
//! owns this token?" from memory instead of asking the database on every
//! request (a third of a lookup's transactions, BENCHMARKS.md).
//!
//! Memory is trusted only while the connection is known to be alive: it
//! reads the revision at least every [`HEARTBEAT`], and a revision not
//! confirmed within [`STALE_AFTER`] is not used (requests ask the database,
//! as without the watch). A lost connection can therefore delay what a
//! server sees by at most that, never indefinitely.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use postgres::fallible_iterator::FallibleIterator;

use super::Pool;

/// The channel every schema's revision bumps notify; the payload names the schema.
pub(crate) const CHANNEL: &str = "mamori_governance";
/// How often the watch reads the revision when nothing is announced.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// How old a confirmed revision may be and still be used.
const STALE_AFTER: Duration = Duration::from_secs(3);
/// How long to wait before connecting again after losing the connection.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// The revision as the watch last confirmed it.
pub(crate) struct Watch {
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    /// The revision and when it was read; None while not connected.
    known: Mutex<Option<(u64, Instant)>>,
    /// Bumped by [`Watch::forget`]: a revision read before it is stale.
    generation: AtomicU64,
    stop: AtomicBool,
}

impl Watch {
    /// Starts watching on a connection of `pool` (its own: LISTEN holds it).
    pub(crate) fn start(pool: Pool) -> mamori_store::Result<Self> {
        let state = Arc::new(State::default());
        let worker = Arc::clone(&state);
        std::thread::Builder::new()
            .name("pg-governance-watch".into())
            .spawn(move || run(&pool, &worker))
            .map_err(|e| {
                mamori_store::StoreError::Db(format!("cannot start the watch thread: {e}"))
            })?;
        Ok(Self { state })
    }

    /// The current revision, if confirmed recently enough to be trusted.
    pub(crate) fn current(&self) -> Option<u64> {
        let known = *self.state.known.lock();
        known
            .filter(|(_, at)| at.elapsed() < STALE_AFTER)
            .map(|(rev, _)| rev)
    }

    /// Forgets the revision until the watch reads it again: called after
    /// this process itself took someone's access away, so that its very
    /// next request does not wait on the notification.
    pub(crate) fn forget(&self) {
        let mut known = self.state.known.lock();
        self.state.generation.fetch_add(1, Ordering::AcqRel);
        *known = None;
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // The thread notices within a heartbeat and closes its connection.
        self.state.stop.store(true, Ordering::Release);
    }
}

/// Connects, listens and confirms the revision until told to stop.
fn run(pool: &Pool, state: &State) {
    while !state.stop.load(Ordering::Acquire) {
        if let Err(e) = watch(pool, state) {
            tracing::warn!(error = %e, "governance watch lost its connection; reconnecting");
        }
        *state.known.lock() = None;
        std::thread::sleep(RECONNECT_AFTER);
    }
}

fn watch(pool: &Pool, state: &State) -> mamori_store::Result<()> {
    let mut conn = pool.connect()?;
    let schema = pool.opts.schema.clone();
    conn.client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    while !state.stop.load(Ordering::Acquire) {
        let generation = state.generation.load(Ordering::Acquire);
        let row = conn
            .client
            .query_one("SELECT rev FROM governance_rev WHERE id = 1", &[])?;
        let rev = u64::try_from(row.get::<_, i64>(0)).unwrap_or_default();
        {
            let mut known = state.known.lock();
            // A forget() since the read means the read may predate a change.
            if state.generation.load(Ordering::Acquire) == generation {
                *known = Some((rev, Instant::now()));
            }
        }
        // Until a bump of this schema is announced, or the next heartbeat.
        let deadline = Instant::now() + HEARTBEAT;
        let mut notes = conn.client.notifications();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match notes.timeout_iter(left).next()? {
                Some(n) if n.payload() == schema => break,
                Some(_) => continue,
                None => break,
            }
        }
    }
    Ok(())
}
