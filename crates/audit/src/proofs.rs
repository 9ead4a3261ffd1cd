//! A stored log's Merkle tree, and proofs from it: inclusion of one event
//! and consistency between two sizes, each O(log n) reads whatever the
//! log's size. Used by the appender, the API, the auditor's sample, the
//! archive and the witness client alike.
//!
//! Only subtrees of 2^STORED_FROM leaves and up are stored; smaller ones
//! are recomputed from at most 2^(STORED_FROM-1) leaf hashes read in one
//! range query. Storing every level cost one extra B-tree row per event
//! in each append transaction (BENCHMARKS.md); this stores one per 8.

use mamori_store::{AuditStore, StoreError};

use crate::merkle::{self, Frontier, Hash, ProofError};

/// The lowest level of stored subtrees.
pub const STORED_FROM: u32 = 4;

/// The perfect subtree `(level, index)` of `log`: stored, or recomputed
/// from its leaves. None if the log does not reach that far.
pub fn node(
    store: &dyn AuditStore,
    log: &str,
    level: u32,
    index: u64,
) -> Result<Option<Hash>, StoreError> {
    if level == 0 || level >= STORED_FROM {
        return store.tree_node(log, level, index);
    }
    let count = 1u64 << level;
    let leaves = store.leaves(log, index << level, count)?;
    Ok((leaves.len() as u64 == count).then(|| merkle::root(&leaves)))
}

fn missing(log: &str, level: u32, index: u64) -> StoreError {
    StoreError::NotFound(format!("audit tree node {level}/{index} of {log}"))
}

/// The tree of the first `size` events of `log`, from its perfect subtrees.
pub fn frontier(store: &dyn AuditStore, log: &str, size: u64) -> Result<Frontier, StoreError> {
    let mut nodes = Vec::with_capacity(size.count_ones() as usize);
    let mut start = 0u64;
    for level in (0..64u32).rev() {
        if size >> level & 1 == 1 {
            let index = start >> level;
            nodes.push(node(store, log, level, index)?.ok_or_else(|| missing(log, level, index))?);
            start += 1 << level;
        }
    }
    Frontier::from_parts(size, nodes).ok_or_else(|| missing(log, 0, size))
}

/// A stored checkpoint with the witnesses' cosignatures kept beside it:
/// one signed note that whoever trusts the log key or a witness can check.
pub fn cosigned(
    store: &dyn AuditStore,
    cp: &mamori_store::CheckpointRow,
) -> Result<String, StoreError> {
    let mut note = cp.note.clone();
    for line in store.cosignatures(&cp.log, cp.size)? {
        note.push_str(&line);
    }
    Ok(note)
}

/// MTH of events `[start, end)` of `log`, from the stored tree nodes.
pub fn subtree<'a>(
    store: &'a dyn AuditStore,
    log: &'a str,
) -> impl FnMut(u64, u64) -> Result<Hash, StoreError> + 'a {
    move |start, end| {
        merkle::range_hash(start, end, &mut |level, index| {
            node(store, log, level, index)?.ok_or_else(|| missing(log, level, index))
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
