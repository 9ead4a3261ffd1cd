//! Retention for good without an ever-growing hot database: sealed ranges
//! of a log move into gzip files that prove themselves.
//!
//! A range always ends at a signed checkpoint, and the file carries that
//! checkpoint, the one where the range starts (the previous archive's end)
//! and the perfect subtrees of the tree before it. So one file alone is
//! checked against the audit key: its prefix hashes lead to the start
//! checkpoint's root, its events chain and lead to the end checkpoint's
//! root. In the hot database each archived event leaves its 32-byte hash
//! behind as a level-0 tree node, so inclusion and consistency proofs of
//! later events keep working, and `verify` either walks the archive files
//! (`--archive DIR`) or starts from those hashes, checked against the
//! signed checkpoint where the archive ends.
//!
//! File: `<log, escaped>/<start>-<end>.jsonl.gz`, gzip of a JSON header line
//! followed by each event's canonical bytes, one per line.

use std::{
    fs::File,
    io::{BufRead, BufReader, BufWriter, Read, Write},
    path::{Path, PathBuf},
};

use flate2::{Compression, read::GzDecoder, write::GzEncoder};
use mamori_store::{ArchiveRow, AuditRow, AuditStore, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    SealedEvent,
    checkpoint::Verifier,
    merkle::{Frontier, Hash, leaf_hash},
};

const FORMAT: &str = "mamori-audit-archive/1";
const PAGE: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{file}: {why}")]
    Bad { file: String, why: String },
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    log: String,
    start: u64,
    end: u64,
    /// Hex hash of event `start - 1` (zeros for the first).
    prev: String,
    /// Hex perfect subtrees of the tree of `start - 1` events, largest first.
    start_frontier: Vec<String>,
    /// The signed checkpoint of `start - 1` events (none when start is 1).
    start_checkpoint: Option<String>,
    /// The signed checkpoint of `end` events.
    end_checkpoint: String,
}

/// What a checked archive file holds.
#[derive(Clone, Debug, Serialize)]
pub struct Checked {
    pub log: String,
    pub start: u64,
    pub end: u64,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ArchiveError + '_ {
    move |e| ArchiveError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The perfect subtrees covering the first `size` leaves, largest first.
fn frontier(store: &dyn AuditStore, log: &str, size: u64) -> Result<Vec<Hash>, ArchiveError> {
    Ok(crate::proofs::frontier(store, log, size)?.nodes().to_vec())
}

/// The next range of `log` worth archiving: from the end of the last
/// archive to the largest signed checkpoint whose last event is older than
/// `before` (µs), keeping at least one event hot. None if there is none.
fn next_range(
    store: &dyn AuditStore,
    log: &str,
    before: i64,
) -> Result<Option<(u64, mamori_store::CheckpointRow)>, ArchiveError> {
    let start = store.archives(log)?.last().map_or(1, |a| a.end + 1);
    let mut best = None;
    let mut after = start - 1;
    'pages: loop {
        let page = store.checkpoints(log, after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.size;
        for cp in page {
            let old_enough = store.event(log, cp.size)?.is_some_and(|e| e.ts < before);
            if !old_enough {
                break 'pages;
            }
            if store.event(log, cp.size + 1)?.is_some() {
                best = Some(cp);
            }
        }
    }
    Ok(best.map(|cp| (start, cp)))
}

/// Archives the next sealed range of `log` older than `before` (µs) into
/// `dir`, checks the written file, then removes the range from the hot
/// log. None when nothing is old enough.
pub fn archive_log(
    store: &dyn AuditStore,
    key: &Verifier,
    log: &str,
    before: i64,
    dir: &Path,
    now: i64,
) -> Result<Option<ArchiveRow>, ArchiveError> {
    let Some((start, end_cp)) = next_range(store, log, before)? else {
        return Ok(None);
    };
    let end = end_cp.size;
    let prior = store.archives(log)?;
    let header = Header {
        format: FORMAT.into(),
        log: log.to_owned(),
        start,
        end,
        prev: hex::encode(if start > 1 {
            store.tree_node(log, 0, start - 2)?.unwrap_or_default()
        } else {
            [0u8; 32]
        }),
        start_frontier: frontier(store, log, start - 1)?
            .iter()
            .map(hex::encode)
            .collect(),
        start_checkpoint: prior.last().map(|a| a.note.clone()),
        end_checkpoint: end_cp.note.clone(),
    };
    let sub = dir.join(crate::witness::path_component(log));
    std::fs::create_dir_all(&sub).map_err(io(&sub))?;
    let name = format!(
        "{}/{start:012}-{end:012}.jsonl.gz",
        crate::witness::path_component(log)
    );
    let path = dir.join(&name);
    let tmp = path.with_extension("tmp");
    write_file(store, log, &header, &tmp)?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    File::open(&sub)
        .and_then(|d| d.sync_all())
        .map_err(io(&sub))?;
    check_file(&path, key)?;
    let row = ArchiveRow {
        log: log.to_owned(),
        start,
        end,
        file: name,
        sha256: file_sha256(&path)?,
        note: end_cp.note,
        archived_at: now,
    };
    store.archive(&row)?;
    Ok(Some(row))
}

fn write_file(
    store: &dyn AuditStore,
    log: &str,
    header: &Header,
    path: &Path,
) -> Result<(), ArchiveError> {
    let f = File::create(path).map_err(io(path))?;
    let mut gz = GzEncoder::new(BufWriter::new(f), Compression::default());
    let bad = |why: String| ArchiveError::Bad {
        file: path.display().to_string(),
        why,
    };
    serde_json::to_writer(&mut gz, header).map_err(|e| bad(e.to_string()))?;
    gz.write_all(b"\n").map_err(io(path))?;
    let mut expected = header.start;
    let mut after = 0i64;
    'pages: loop {
        let page = store.scan(log, after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.rowid;
        for row in &page {
            if row.seq > header.end {
                break 'pages;
            }
            if row.seq != expected || leaf_hash(&row.body) != row.hash {
                return Err(bad(format!(
                    "event {expected} of {log} is missing or altered; run `mamori audit verify` before archiving"
                )));
            }
            gz.write_all(&row.body).map_err(io(path))?;
            gz.write_all(b"\n").map_err(io(path))?;
            expected += 1;
        }
    }
    if expected != header.end + 1 {
        return Err(bad(format!(
            "events {expected}..={} of {log} are missing",
            header.end
        )));
    }
    let w = gz.finish().map_err(io(path))?;
    let f = w.into_inner().map_err(|e| io(path)(e.into_error()))?;
    f.sync_all().map_err(io(path))
}

fn file_sha256(path: &Path) -> Result<[u8; 32], ArchiveError> {
    let mut f = File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

/// Reads an archive: its header and each event's bytes.
fn open_file(
    path: &Path,
) -> Result<(Header, impl Iterator<Item = std::io::Result<Vec<u8>>>), ArchiveError> {
    let f = File::open(path).map_err(io(path))?;
    let mut r = BufReader::new(GzDecoder::new(BufReader::new(f)));
    let mut first = String::new();
    r.read_line(&mut first).map_err(io(path))?;
    let header: Header = serde_json::from_str(&first).map_err(|e| ArchiveError::Bad {
        file: path.display().to_string(),
        why: format!("not a mamori audit archive: {e}"),
    })?;
    if header.format != FORMAT {
        return Err(ArchiveError::Bad {
            file: path.display().to_string(),
            why: format!("unknown format {}", header.format),
        });
    }
    let lines = r.split(b'\n');
    Ok((header, lines))
}

/// Checks one archive file on its own with the audit key: the prefix leads
/// to the start checkpoint, the events chain and lead to the end one.
pub fn check_file(path: &Path, key: &Verifier) -> Result<Checked, ArchiveError> {
    let file = path.display().to_string();
    let bad = |why: String| ArchiveError::Bad {
        file: file.clone(),
        why,
    };
    let (h, lines) = open_file(path)?;
    let origin = format!("{}/{}", key.name(), h.log);
    let signed = |note: &str, size: u64| -> Result<Hash, ArchiveError> {
        let cp = key
            .open(note)
            .map_err(|e| bad(format!("checkpoint of size {size}: {e}")))?;
        if cp.origin != origin || cp.size != size {
            return Err(bad(format!(
                "checkpoint is for {} at {}, not {origin} at {size}",
                cp.origin, cp.size
            )));
        }
        Ok(cp.root)
    };
    let nodes = h
        .start_frontier
        .iter()
        .map(|n| hex::decode(n).ok().and_then(|v| Hash::try_from(v).ok()))
        .collect::<Option<Vec<Hash>>>()
        .ok_or_else(|| bad("malformed start frontier".into()))?;
    let mut tree = Frontier::from_parts(h.start - 1, nodes)
        .ok_or_else(|| bad("start frontier does not fit the start".into()))?;
    if h.start > 1 {
        let note = h
            .start_checkpoint
            .as_deref()
            .ok_or_else(|| bad("no start checkpoint".into()))?;
        if signed(note, h.start - 1)? != tree.root() {
            return Err(bad(
                "the prefix does not lead to the start checkpoint".into()
            ));
        }
    }
    let mut prev = h.prev.clone();
    let mut seq = h.start;
    for line in lines {
        let body = line.map_err(io(path))?;
        let ev: SealedEvent = serde_json::from_slice(&body)
            .map_err(|_| bad(format!("event {seq} is not a valid event")))?;
        if ev.log != h.log || ev.seq != seq || ev.prev != prev {
            return Err(bad(format!(
                "event {seq} is out of place or the chain is broken"
            )));
        }
        let hash = leaf_hash(&body);
        prev = hex::encode(hash);
        tree.push(hash);
        seq += 1;
    }
    if seq != h.end + 1 {
        return Err(bad(format!(
            "holds events {}..{} of {}..={}",
            h.start,
            seq - 1,
            h.start,
            h.end
        )));
    }
    if signed(&h.end_checkpoint, h.end)? != tree.root() {
        return Err(bad(
            "the events do not lead to the end checkpoint: an event was changed".into(),
        ));
    }
    Ok(Checked {
        log: h.log,
        start: h.start,
        end: h.end,
    })
}

/// The events of an archive file as rows, one at a time, for `verify`'s
/// walk (an archive may hold millions: nothing is held in memory).
pub(crate) fn rows(
    path: &Path,
) -> Result<impl Iterator<Item = Result<AuditRow, ArchiveError>> + '_, ArchiveError> {
    let (_, lines) = open_file(path)?;
    Ok(lines.map(move |line| {
        let body = line.map_err(io(path))?;
        let ev: SealedEvent = serde_json::from_slice(&body).map_err(|_| ArchiveError::Bad {
            file: path.display().to_string(),
            why: "an event is not valid".into(),
        })?;
        Ok(AuditRow {
            rowid: 0,
            log: ev.log.clone(),
            seq: ev.seq,
            ts: ev.timestamp().map_or(0, |t| t.timestamp_micros()),
            actor: ev.event.actor.clone(),
            action: ev.event.action.clone(),
            tenant: ev.event.tenant.clone(),
            decision: ev.event.decision.as_str().to_owned(),
            hash: leaf_hash(&body),
            body,
        })
    }))
}

/// The archive file of `row` in `dir`, if it is the one recorded.
pub(crate) fn recorded_file(dir: &Path, row: &ArchiveRow) -> Result<PathBuf, String> {
    let path = dir.join(&row.file);
    match file_sha256(&path) {
        Ok(h) if h == row.sha256 => Ok(path),
        Ok(_) => Err(format!(
            "archive file {} is not the one recorded when events {}..={} were archived",
            path.display(),
            row.start,
            row.end
        )),
        Err(e) => Err(e.to_string()),
    }
}
