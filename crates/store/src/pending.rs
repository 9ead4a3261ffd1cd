//! Blind-index entries of a commit group, waiting for its commit.
//!
//! The index's keys are random (HMAC outputs), so a batch of 10,000 records
//! (60,000 entries) touches most of the index's leaf pages once a tenant has a
//! million records; inserted with their batch, ten batches touch every page ten
//! times. Held until the group commits and then inserted in one ordered pass,
//! they touch each page about once per group. Nothing reads them earlier:
//! searches see only committed rows, and a group finds its own records by key
//! token, in the records table.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::Token;

/// (search key number, token, row id)
pub type Entry<K> = (K, Token, i64);

/// One sorted run per batch, each exactly its size, merged at the commit so
/// that no copy of them all is ever made.
pub struct PendingEntries<K> {
    runs: Vec<Vec<Entry<K>>>,
    /// Records written by more than one batch of the group: the run of their
    /// last write, whose entries alone are current.
    last_write: HashMap<i64, usize>,
}

impl<K> Default for PendingEntries<K> {
    fn default() -> Self {
        Self {
            runs: Vec::new(),
            last_write: HashMap::new(),
        }
    }
}

impl<K: Ord + Copy> PendingEntries<K> {
    /// Adds a written batch's entries. `rewritten` are the row ids it
    /// replaced: entries an earlier batch of the group left for them are stale.
    /// Call only once the batch is written for good (a batch undone must
    /// leave no mark).
    pub fn add_run(&mut self, mut run: Vec<Entry<K>>, rewritten: &[i64]) {
        for rid in rewritten {
            self.last_write.insert(*rid, self.runs.len());
        }
        run.sort_unstable();
        self.runs.push(run);
    }

    /// Whether no batch has been added yet.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The current entries in key order, each once.
    pub fn into_sorted(self) -> Merged<K> {
        let mut runs: Vec<_> = self.runs.into_iter().map(Vec::into_iter).collect();
        let next = runs
            .iter_mut()
            .enumerate()
            .filter_map(|(i, r)| Some(Reverse((r.next()?, i))))
            .collect();
        Merged {
            runs,
            next,
            last_write: self.last_write,
            last: None,
        }
    }
}

/// A k-way merge of the runs, dropping stale and repeated entries.
pub struct Merged<K> {
    runs: Vec<std::vec::IntoIter<Entry<K>>>,
    next: BinaryHeap<Reverse<(Entry<K>, usize)>>,
    last_write: HashMap<i64, usize>,
    last: Option<Entry<K>>,
}

impl<K: Ord + Copy> Iterator for Merged<K> {
    type Item = Entry<K>;

    fn next(&mut self) -> Option<Entry<K>> {
        while let Some(Reverse((entry, run))) = self.next.pop() {
            if let Some(e) = self.runs[run].next() {
                self.next.push(Reverse((e, run)));
            }
            let current = self.last_write.get(&entry.2).is_none_or(|l| *l == run);
            if current && self.last != Some(entry) {
                self.last = Some(entry);
                return Some(entry);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(ix: i64, t: u8, rid: i64) -> Entry<i64> {
        (ix, [t; 16], rid)
    }

    #[test]
    fn merges_in_order_keeping_each_records_last_write_once() {
        let mut p = PendingEntries::default();
        p.add_run(vec![e(2, 9, 1), e(1, 5, 1), e(1, 7, 2), e(1, 7, 2)], &[]);
        // record 1 rewritten: its first run's entries are stale
        p.add_run(vec![e(1, 6, 1), e(3, 1, 3)], &[1]);
        p.add_run(vec![e(1, 4, 4), e(1, 7, 2)], &[]);
        let got: Vec<_> = p.into_sorted().collect();
        assert_eq!(
            got,
            [e(1, 4, 4), e(1, 6, 1), e(1, 7, 2), e(3, 1, 3)],
            "sorted, record 1 only by its last write, (1, 7, 2) once"
        );
        assert_eq!(PendingEntries::<i64>::default().into_sorted().count(), 0);
    }
}
