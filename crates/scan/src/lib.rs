//! Finding personal data in files — on a PC, a file server, or in a file that
//! leaked — without a key, a blind index or any master data.
//!
//! The scanner finds *candidates* by pattern and makes each canonical with
//! the vault's own normaliser; whether a candidate is anyone's customer is
//! decided by the vault, which alone holds the keys (two-tier matching, as
//! Symantec's DLP does it: the endpoint never holds the fingerprints of the
//! customer base, which for enumerable values like phone numbers would be
//! the customer base itself). So this crate depends on `mamori-core` only and
//! can run on a contractor's PC.
//!
//! Architecture invariant: no network, no key, and nothing found is written
//! anywhere — candidates live in memory (zeroized when dropped) until they
//! are matched, and reports carry counts and masked examples only.

pub mod archive;
pub mod decode;
pub mod detect;
pub mod extract;
pub mod legacy;
pub mod mail;
pub mod office;
pub mod pdf;
pub mod walk;

use std::{
    collections::{BTreeMap, HashSet},
    hash::{BuildHasher, RandomState},
};

use serde::Serialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub use detect::{Candidate, Kind};
pub use extract::Format;
pub use walk::{
    FileReport, Outcome, scan_buffer, scan_buffer_streamed, scan_paths, scan_paths_streamed,
    scan_paths_where,
};

/// Bounds on what one file may cost, and where its candidates go.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Files larger than this are reported as not inspected.
    pub max_file_bytes: u64,
    /// Characters of one cell or line inspected (Excel's own cap is 32,767).
    pub max_cell_chars: usize,
    /// Candidates kept per file for matching (0 when only counting); counts
    /// go on past it.
    pub max_candidates: usize,
    /// Depth, entries and expansion of archives.
    pub archive: archive::ArchiveLimits,
    /// Hand candidates over in parts as they are found instead of holding
    /// them (`walk::scan_paths_streamed`); `max_candidates` then bounds a
    /// part, not the file.
    pub stream: Option<Stream>,
}

/// What a streamed scan hands over, in order: a file's candidates in parts
/// (each part whole lines or rows), then the file's report with the rest.
pub enum Streamed {
    Part(Vec<Candidate>),
    File(Box<FileReport>),
}

/// Where a streamed scan's parts go.
#[derive(Clone, Debug)]
pub struct Stream {
    pub to: std::sync::mpsc::SyncSender<Streamed>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 512 << 20,
            max_cell_chars: 32_767,
            max_candidates: 2_000_000,
            archive: archive::ArchiveLimits::default(),
            stream: None,
        }
    }
}

/// What one file holds: counts per kind, a masked example of each, and the
/// candidates themselves for matching.
#[derive(Default)]
pub struct Findings {
    pub counts: BTreeMap<Kind, u64>,
    /// One example per kind, masked (never a value in full).
    pub examples: BTreeMap<Kind, String>,
    pub candidates: Vec<Candidate>,
    /// More candidates were found than `Limits::max_candidates` keeps.
    pub truncated: bool,
    /// Keyed hashes of (kind, value) seen in the current group: a value
    /// twice in one line or row is dropped without keeping a second copy of
    /// it. Groups come in order, so only the current one is remembered (a
    /// set of the whole file grew with it and cost more than the finding).
    seen: HashSet<u64>,
    group: Option<u64>,
    hasher: RandomState,
    max: usize,
    stream: Option<Stream>,
}

impl Findings {
    pub fn new(limits: &Limits) -> Self {
        Findings {
            max: limits.max_candidates,
            stream: limits.stream.clone(),
            ..Findings::default()
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Counts and examples only, for a report.
    pub fn summary(&self) -> Summary {
        Summary {
            counts: self.counts.clone(),
            examples: self.examples.clone(),
        }
    }
}

impl detect::Sink for Findings {
    fn found(&mut self, kind: Kind, canonical: String, group: u64) {
        let value = Zeroizing::new(canonical);
        if self.group != Some(group) {
            self.group = Some(group);
            self.seen.clear();
            // A full part goes before a new line or row starts, so no part
            // cuts one apart. A consumer gone (it failed) takes no more.
            if let Some(s) = &self.stream
                && self.candidates.len() >= self.max
            {
                let part = std::mem::take(&mut self.candidates);
                let _ = s.to.send(Streamed::Part(part));
            }
        }
        // The same value twice in one line or row says nothing more.
        if !self
            .seen
            .insert(self.hasher.hash_one((kind, value.as_str())))
        {
            return;
        }
        *self.counts.entry(kind).or_default() += 1;
        self.examples
            .entry(kind)
            .or_insert_with(|| kind.mask(&value));
        if self.candidates.len() < self.max || (self.stream.is_some() && self.max > 0) {
            self.candidates.push(Candidate { kind, value, group });
        } else if self.max > 0 {
            self.truncated = true;
        }
    }
}

/// Counts and masked examples per kind.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub counts: BTreeMap<Kind, u64>,
    pub examples: BTreeMap<Kind, String>,
}

/// SHA-256 of a file's bytes: how a report names a file without its content.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}
