//! A witness: the keeper of each log's latest checkpoint somewhere the
//! log's own administrator cannot rewrite (C2SP tlog-witness).
//!
//! A log's database can be restored from an old backup or have its tail
//! cut off together with the checkpoints that covered it; everything left
//! would still verify. What catches it is a checkpoint held elsewhere. The
//! log submits each new checkpoint with a consistency proof from the last
//! one the witness accepted; the witness checks the log's signature and the
//! proof, records the new checkpoint, and — if it has a key — cosigns it.
//! It never accepts a smaller size (409) or a proof that does not verify
//! (422), so a log that rolled back can no longer get its checkpoints
//! witnessed, and `mamori audit verify --witness` compares the database
//! with what the witness holds.
//!
//! The same state, in a directory, serves two setups: `mamori witness
//! serve` on another machine (HTTP), and for a single machine a directory on
//! separate, ideally write-once (WORM) storage that the log appends to
//! directly. Each log's history is one append-only file, one line per
//! accepted checkpoint, so an append-only mount (`chattr +a`, object lock)
//! suits it; the last complete line is the witness's current view.
//!
//! Deviation from the protocol, on purpose: a mamori vault signs one log per
//! tenant with one key, and tenants come and go. A witness therefore trusts
//! a log key for every origin under its name (`<key name>/…`) rather than
//! for one fixed origin.

use std::{
    fs::{File, OpenOptions},
    io::{Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

use base64::{Engine, engine::general_purpose::STANDARD as B64};

use crate::{
    checkpoint::{Checkpoint, Cosigner, Verifier},
    merkle::{self, Hash},
};

/// The protocol's limit on consistency proof lines.
const MAX_PROOF: usize = 63;
/// How much of a history file's end is read to find its last line (a line
/// is a few hundred bytes).
const TAIL: u64 = 64 * 1024;

/// Why a checkpoint was not accepted, with the HTTP status the protocol
/// gives each reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("this witness does not follow the log '{0}'")]
    UnknownLog(String),
    #[error("no valid signature by a key this witness trusts for '{0}'")]
    Forbidden(String),
    /// The old size is not the witness's latest size, or the root at that
    /// size differs: the log rolled back or forked, or the client is behind.
    #[error("the witness holds size {size} for this log")]
    Conflict { size: u64 },
    #[error("the consistency proof does not verify: {0}")]
    BadProof(String),
    #[error("the witness cannot be reached or cannot store: {0}")]
    Unavailable(String),
}

impl WitnessError {
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Forbidden(_) => 403,
            Self::UnknownLog(_) => 404,
            Self::Conflict { .. } => 409,
            Self::BadProof(_) => 422,
            Self::Unavailable(_) => 503,
        }
    }
}

fn io(e: std::io::Error) -> WitnessError {
    WitnessError::Unavailable(e.to_string())
}

/// An add-checkpoint request: the size the client believes the witness
/// holds, the consistency proof from there, and the new signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old: u64,
    pub proof: Vec<Hash>,
    pub note: String,
}

impl AddCheckpoint {
    /// The request body: `old N`, one base64 hash per line, an empty line,
    /// the signed note.
    pub fn body(&self) -> String {
        let mut b = format!("old {}\n", self.old);
        for h in &self.proof {
            b.push_str(&B64.encode(h));
            b.push('\n');
        }
        b.push('\n');
        b.push_str(&self.note);
        b
    }

    pub fn parse(body: &str) -> Result<Self, WitnessError> {
        let bad = |m: &str| WitnessError::BadRequest(m.to_owned());
        let (first, mut rest) = body.split_once('\n').ok_or(bad("no old size line"))?;
        let old = first
            .strip_prefix("old ")
            .filter(|n| is_decimal(n))
            .and_then(|n| n.parse().ok())
            .ok_or(bad("the first line must be `old <size>`"))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest
                .split_once('\n')
                .ok_or(bad("no empty line before the checkpoint"))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF {
                return Err(bad("more than 63 consistency proof lines"));
            }
            let hash = B64
                .decode(line)
                .ok()
                .and_then(|h| Hash::try_from(h).ok())
                .ok_or(bad("a proof line is not a base64 SHA-256 hash"))?;
            proof.push(hash);
        }
        Ok(Self {
            old,
            proof,
            note: rest.to_owned(),
        })
    }
}

fn is_decimal(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

/// What a witness holds for one log: its latest accepted checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witnessed {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// POSIX seconds when the witness accepted it.
    pub time: u64,
    /// The log's signed note, with the witness's cosignature if it has a key.
    pub note: String,
}

impl Witnessed {
    fn line(&self) -> String {
        format!(
            "{} {} {} {}\n",
            self.size,
            B64.encode(self.root),
            self.time,
            B64.encode(&self.note)
        )
    }

    fn parse_line(origin: &str, line: &str) -> Option<Self> {
        let mut f = line.split(' ');
        let size = f.next().filter(|s| is_decimal(s))?.parse().ok()?;
        let root = Hash::try_from(B64.decode(f.next()?).ok()?).ok()?;
        let time = f.next()?.parse().ok()?;
        let note = String::from_utf8(B64.decode(f.next()?).ok()?).ok()?;
        f.next().is_none().then(|| Self {
            origin: origin.to_owned(),
            size,
            root,
            time,
            note,
        })
    }
}

/// A witness over a state directory.
pub struct Witness {
    dir: PathBuf,
    logs: Vec<Verifier>,
    cosigner: Option<Cosigner>,
}

impl Witness {
    /// A witness keeping its state in `dir` (created if missing), following
    /// the logs signed by `logs`, cosigning with `cosigner` if given.
    pub fn open(
        dir: &Path,
        logs: Vec<Verifier>,
        cosigner: Option<Cosigner>,
    ) -> Result<Self, WitnessError> {
        std::fs::create_dir_all(dir).map_err(io)?;
        Ok(Self {
            dir: dir.to_owned(),
            logs,
            cosigner,
        })
    }

    pub fn cosigner(&self) -> Option<&Cosigner> {
        self.cosigner.as_ref()
    }

    fn key_for(&self, origin: &str) -> Vec<&Verifier> {
        self.logs
            .iter()
            .filter(|k| {
                origin
                    .strip_prefix(k.name())
                    .is_some_and(|rest| rest.starts_with('/'))
            })
            .collect()
    }

    /// Checks and records a checkpoint; returns the cosignature lines (none
    /// when the witness has no key). `now` is POSIX seconds.
    pub fn add_checkpoint(&self, req: &AddCheckpoint, now: u64) -> Result<String, WitnessError> {
        let cp = self.authentic(&req.note)?;
        if req.old > cp.size {
            return Err(WitnessError::BadRequest(format!(
                "old size {} is larger than the checkpoint's {}",
                req.old, cp.size
            )));
        }
        let (mut file, latest) = self.history(&cp.origin)?;
        // The file stays locked until this function returns: checking the
        // old size and recording the new checkpoint are one step (otherwise
        // two racing requests could roll the witness back).
        let (held, held_root) = latest
            .as_ref()
            .map_or((0, merkle::empty_root()), |w| (w.size, w.root));
        if req.old != held {
            return Err(WitnessError::Conflict { size: held });
        }
        if req.old == 0 && !req.proof.is_empty() {
            return Err(WitnessError::BadProof(
                "the proof must be empty from size 0".into(),
            ));
        }
        if req.old == cp.size && held_root != cp.root {
            return Err(WitnessError::Conflict { size: held });
        }
        if req.old > 0 {
            merkle::verify_consistency(req.old, cp.size, &held_root, &cp.root, &req.proof)
                .map_err(|e| WitnessError::BadProof(e.to_string()))?;
        }
        let cosignature = self
            .cosigner
            .as_ref()
            .map(|c| c.cosign(&cp.body(), now))
            .unwrap_or_default();
        if latest.as_ref().is_none_or(|w| w.size < cp.size) {
            let record = Witnessed {
                origin: cp.origin.clone(),
                size: cp.size,
                root: cp.root,
                time: now,
                note: format!("{}{cosignature}", req.note),
            };
            append_line(&mut file, &record.line())?;
        }
        Ok(cosignature)
    }

    /// The checkpoint of a note signed by a key this witness trusts for its origin.
    fn authentic(&self, note: &str) -> Result<Checkpoint, WitnessError> {
        let text = note
            .split_once("\n\n")
            .map(|(t, _)| format!("{t}\n"))
            .ok_or_else(|| WitnessError::BadRequest("the checkpoint has no signatures".into()))?;
        let claimed =
            Checkpoint::parse_body(&text).map_err(|e| WitnessError::BadRequest(e.to_string()))?;
        let keys = self.key_for(&claimed.origin);
        if keys.is_empty() {
            return Err(WitnessError::UnknownLog(claimed.origin));
        }
        keys.iter()
            .find_map(|k| k.open(note).ok())
            .filter(|cp| *cp == claimed)
            .ok_or(WitnessError::Forbidden(claimed.origin))
    }

    /// The history file of `origin`, locked, and its last complete record.
    fn history(&self, origin: &str) -> Result<(File, Option<Witnessed>), WitnessError> {
        let path = self.dir.join(file_name(origin));
        let fresh = !path.exists();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io)?;
        file.lock().map_err(io)?;
        if fresh {
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(io)?;
        }
        let latest = last_record(&file, origin)?;
        Ok((file, latest))
    }

    /// What the witness holds for `origin`.
    pub fn latest(&self, origin: &str) -> Result<Option<Witnessed>, WitnessError> {
        let path = self.dir.join(file_name(origin));
        match File::open(&path) {
            Ok(f) => {
                f.lock_shared().map_err(io)?;
                last_record(&f, origin)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    /// What the witness holds for every origin under `prefix`.
    pub fn all(&self, prefix: &str) -> Result<Vec<Witnessed>, WitnessError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io)? {
            let name = entry.map_err(io)?.file_name();
            let Some(origin) = name.to_str().and_then(origin_of) else {
                continue;
            };
            if origin.starts_with(prefix)
                && let Some(w) = self.latest(&origin)?
            {
                out.push(w);
            }
        }
        out.sort_by(|a, b| a.origin.cmp(&b.origin));
        Ok(out)
    }
}

/// Appends one record durably. A line torn by a crash is left as it is
/// (the file is append-only) and closed with a newline first.
fn append_line(file: &mut File, line: &str) -> Result<(), WitnessError> {
    let len = file.metadata().map_err(io)?.len();
    let mut text = String::new();
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1)).map_err(io)?;
        file.read_exact(&mut last).map_err(io)?;
        if last[0] != b'\n' {
            text.push('\n');
        }
    }
    text.push_str(line);
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_data().map_err(io)
}

/// The last complete, well-formed record of a history file.
fn last_record(mut file: &File, origin: &str) -> Result<Option<Witnessed>, WitnessError> {
    let len = file.metadata().map_err(io)?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL)))
        .map_err(io)?;
    let mut tail = String::new();
    file.take(TAIL)
        .read_to_string(&mut tail)
        .map_err(|e| WitnessError::Unavailable(format!("witness history: {e}")))?;
    // Only newline-terminated lines count: a crash may have torn the last.
    let complete = match tail.rfind('\n') {
        Some(i) => &tail[..i],
        None => return Ok(None),
    };
    Ok(complete
        .rsplit('\n')
        .find_map(|l| Witnessed::parse_line(origin, l)))
}

/// A log or origin name as one path component: every byte outside
/// `[A-Za-z0-9._-]` percent-escaped (`tenant/acme` → `tenant%2Facme`).
pub(crate) fn path_component(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A history file's name: the escaped origin and `.log`.
fn file_name(origin: &str) -> String {
    path_component(origin) + ".log"
}

/// Now, in POSIX seconds (what cosignatures are stamped with).
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn origin_of(file: &str) -> Option<String> {
    let escaped = file.strip_suffix(".log")?;
    let bytes = escaped.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = escaped.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Signer;

    /// A log of `n` leaves, its signer, and its checkpoints at any size.
    struct Log {
        signer: Signer,
        leaves: Vec<Hash>,
    }

    impl Log {
        fn new(seed: u8, n: usize) -> Self {
            Self {
                signer: Signer::from_seed("mamori-test", &[seed; 32]).unwrap(),
                leaves: (0..n)
                    .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
                    .collect(),
            }
        }

        fn note(&self, size: usize) -> String {
            self.signer
                .sign(&Checkpoint {
                    origin: "mamori-test/tenant/acme".into(),
                    size: size as u64,
                    root: merkle::root(&self.leaves[..size]),
                })
                .unwrap()
        }

        fn request(&self, old: usize, size: usize) -> AddCheckpoint {
            let proof = merkle::consistency_proof(old as u64, size as u64, &mut |a, b| {
                Ok::<_, ()>(merkle::root(&self.leaves[a as usize..b as usize]))
            })
            .unwrap()
            .unwrap();
            AddCheckpoint {
                old: old as u64,
                proof,
                note: self.note(size),
            }
        }
    }

    fn witness(dir: &Path, log: &Log) -> Witness {
        Witness::open(
            dir,
            vec![log.signer.verifier()],
            Some(Cosigner::from_seed("witness.test/w1", &[3; 32]).unwrap()),
        )
        .unwrap()
    }

    #[test]
    fn the_request_body_round_trips_and_malformed_bodies_are_refused() {
        let log = Log::new(1, 20);
        let req = log.request(7, 20);
        assert!(!req.proof.is_empty());
        assert_eq!(AddCheckpoint::parse(&req.body()).unwrap(), req);
        let good = req.body();
        for bad in [
            String::new(),
            good.replacen("old 7", "old 07", 1),
            good.replacen("old 7", "old -7", 1),
            good.replacen("old 7", "size 7", 1),
            good.replacen('\n', "\nnot base64!\n", 1),
            "old 7\n".to_owned(),
            format!("old 0\n{}\n{}", "AAAA\n".repeat(64), log.note(20)),
        ] {
            assert!(
                matches!(AddCheckpoint::parse(&bad), Err(WitnessError::BadRequest(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn grows_with_good_proofs_and_refuses_rollback_forks_and_bad_proofs() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::new(1, 40);
        let w = witness(dir.path(), &log);
        let cosigner = w.cosigner().unwrap().verifier();

        // First contact from zero, then growth with proofs.
        let sig = w.add_checkpoint(&log.request(0, 5), 100).unwrap();
        assert_eq!(
            cosigner.cosigned(&format!("{}{sig}", log.note(5))).unwrap(),
            100
        );
        w.add_checkpoint(&log.request(5, 17), 101).unwrap();
        // The same checkpoint again is fine (a retry), and changes nothing.
        w.add_checkpoint(&log.request(17, 17), 102).unwrap();
        assert_eq!(
            w.latest("mamori-test/tenant/acme").unwrap().unwrap().time,
            101
        );

        // A client that thinks the witness is elsewhere learns its size.
        assert_eq!(
            w.add_checkpoint(&log.request(5, 30), 103),
            Err(WitnessError::Conflict { size: 17 })
        );
        // Rollback: the log restored to size 10 says the witness was at 10.
        assert_eq!(
            w.add_checkpoint(&log.request(10, 10), 103),
            Err(WitnessError::Conflict { size: 17 })
        );
        // A fork: another history of the same size.
        let fork = Log::new(1, 40);
        let mut forked = Log {
            leaves: fork.leaves.iter().rev().copied().collect(),
            ..fork
        };
        assert_eq!(
            w.add_checkpoint(&forked.request(17, 17), 103),
            Err(WitnessError::Conflict { size: 17 })
        );
        // A fork that grew: its proof from 17 does not lead to the witness's root.
        forked.leaves.truncate(30);
        assert!(matches!(
            w.add_checkpoint(&forked.request(17, 30), 103),
            Err(WitnessError::BadProof(_))
        ));
        // A good proof with one hash altered.
        let mut req = log.request(17, 30);
        req.proof[0][0] ^= 1;
        assert!(matches!(
            w.add_checkpoint(&req, 103),
            Err(WitnessError::BadProof(_))
        ));
        // Old size above the checkpoint's.
        assert!(matches!(
            w.add_checkpoint(&log.request(17, 17).with_old(18), 103),
            Err(WitnessError::BadRequest(_))
        ));
        // Nothing refused changed the witness.
        let held = w.latest("mamori-test/tenant/acme").unwrap().unwrap();
        assert_eq!(
            (held.size, held.root),
            (17, merkle::root(&log.leaves[..17]))
        );
        w.add_checkpoint(&log.request(17, 40), 104).unwrap();
        assert_eq!(
            w.latest("mamori-test/tenant/acme").unwrap().unwrap().size,
            40
        );
    }

    impl AddCheckpoint {
        fn with_old(mut self, old: u64) -> Self {
            self.old = old;
            self
        }
    }

    #[test]
    fn only_trusted_keys_for_their_own_origins() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::new(1, 8);
        let w = witness(dir.path(), &log);
        // Another key with the same name: forbidden.
        let forger = Log::new(2, 8);
        assert!(matches!(
            w.add_checkpoint(&forger.request(0, 8), 1),
            Err(WitnessError::Forbidden(_))
        ));
        // An origin under no trusted key's name: unknown.
        let other = Signer::from_seed("someone-else", &[1; 32]).unwrap();
        let note = other
            .sign(&Checkpoint {
                origin: "someone-else/system".into(),
                size: 8,
                root: merkle::root(&log.leaves),
            })
            .unwrap();
        let req = AddCheckpoint {
            old: 0,
            proof: vec![],
            note,
        };
        assert!(matches!(
            w.add_checkpoint(&req, 1),
            Err(WitnessError::UnknownLog(_))
        ));
        // A name that only starts like the trusted one is not under it.
        let lookalike = log
            .signer
            .sign(&Checkpoint {
                origin: "mamori-testing/system".into(),
                size: 8,
                root: merkle::root(&log.leaves),
            })
            .unwrap();
        let req = AddCheckpoint {
            old: 0,
            proof: vec![],
            note: lookalike,
        };
        assert!(matches!(
            w.add_checkpoint(&req, 1),
            Err(WitnessError::UnknownLog(_))
        ));
        // A non-empty proof from zero.
        let mut req = log.request(0, 8);
        req.proof.push([0; 32]);
        assert!(matches!(
            w.add_checkpoint(&req, 1),
            Err(WitnessError::BadProof(_))
        ));
    }

    #[test]
    fn the_state_survives_reopening_and_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::new(1, 12);
        witness(dir.path(), &log)
            .add_checkpoint(&log.request(0, 6), 1)
            .unwrap();
        // A crash tore the next record half-way.
        let path = dir.path().join(file_name("mamori-test/tenant/acme"));
        assert!(path.ends_with("mamori-test%2Ftenant%2Facme.log"));
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"12 garbage-without-newline").unwrap();
        let w = witness(dir.path(), &log);
        assert_eq!(
            w.latest("mamori-test/tenant/acme").unwrap().unwrap().size,
            6
        );
        w.add_checkpoint(&log.request(6, 12), 2).unwrap();
        let all = w.all("mamori-test/").unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(
            (all[0].size, all[0].origin.as_str()),
            (12, "mamori-test/tenant/acme")
        );
        assert!(log.signer.verifier().open(&all[0].note).is_ok());
        assert!(w.all("other/").unwrap().is_empty());
    }
}
