//! Proofs from a stored log: inclusion of one event and consistency between
//! two sizes, computed from the perfect subtrees the appender stored, so
//! each costs O(log n) reads whatever the log's size. Used by the API, the
//! auditor's sample and the witness client alike.

use mamori_store::{AuditStore, StoreError};

use crate::merkle::{self, Hash, ProofError};

/// MTH of events `[start, end)` of `log`, from the stored tree nodes.
pub fn subtree<'a>(
    store: &'a dyn AuditStore,
    log: &'a str,
) -> impl FnMut(u64, u64) -> Result<Hash, StoreError> + 'a {
    move |start, end| {
        merkle::range_hash(start, end, &mut |level, index| {
            store.tree_node(log, level, index)?.ok_or_else(|| {
                StoreError::NotFound(format!("audit tree node {level}/{index} of {log}"))
            })
        })
    }
}

/// The inclusion proof of event `seq` (1-based) in the tree of `size`.
pub fn inclusion(
    store: &dyn AuditStore,
    log: &str,
    seq: u64,
    size: u64,
) -> Result<Result<Vec<Hash>, ProofError>, StoreError> {
    if seq == 0 {
        return Ok(Err(ProofError::OutOfRange { index: 0, size }));
    }
    merkle::inclusion_proof(seq - 1, size, &mut subtree(store, log))
}

/// The consistency proof from the tree of size `first` to that of `second`.
pub fn consistency(
    store: &dyn AuditStore,
    log: &str,
    first: u64,
    second: u64,
) -> Result<Result<Vec<Hash>, ProofError>, StoreError> {
    merkle::consistency_proof(first, second, &mut subtree(store, log))
}
