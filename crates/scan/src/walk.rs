//! Walking the paths given: every regular file under them, each read and
//! inspected on its own, an unreadable one reported rather than stopping the
//! run. Symbolic links are not followed (a link out of the tree would scan
//! what was not asked for, and a loop would never end).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{Findings, Limits, extract};

/// Why a file was not inspected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Outcome {
    Inspected,
    /// Larger than `Limits::max_file_bytes`.
    TooLarge,
    /// A format this scanner does not read (a binary file).
    NotRead,
    /// The file could not be opened or read (permissions, vanished).
    Unreadable,
}

/// One file's result.
pub struct FileReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: Option<[u8; 32]>,
    pub format: Option<extract::Format>,
    pub encoding: Option<&'static str>,
    pub outcome: Outcome,
    pub oversized_cells: u64,
    pub groups: u64,
    pub findings: Findings,
}

/// Scans every file under `paths`, calling `each` with each file's report
/// (so a caller can match and forget one file's candidates before the next
/// is read: memory stays that of one file).
pub fn scan_paths(paths: &[PathBuf], limits: &Limits, mut each: impl FnMut(FileReport)) {
    for root in paths {
        for entry in walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
        {
            match entry {
                Ok(e) if e.file_type().is_file() => each(scan_file(e.path(), limits)),
                Ok(_) => {}
                Err(e) => each(unreadable(
                    e.path().map_or_else(|| root.clone(), Path::to_path_buf),
                    limits,
                )),
            }
        }
    }
}

/// Scans one file.
pub fn scan_file(path: &Path, limits: &Limits) -> FileReport {
    let size = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(_) => return unreadable(path.to_path_buf(), limits),
    };
    if size > limits.max_file_bytes {
        return FileReport {
            outcome: Outcome::TooLarge,
            bytes: size,
            ..unreadable(path.to_path_buf(), limits)
        };
    }
    let Ok(bytes) = std::fs::read(path) else {
        return unreadable(path.to_path_buf(), limits);
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    scan_bytes(path.to_path_buf(), &name, &bytes, limits)
}

/// Scans a file's bytes, named `name` (its extension says its format).
pub fn scan_bytes(path: PathBuf, name: &str, bytes: &[u8], limits: &Limits) -> FileReport {
    let mut report = FileReport {
        path,
        bytes: bytes.len() as u64,
        sha256: Some(crate::sha256(bytes)),
        format: extract::Format::of(name, bytes),
        encoding: None,
        outcome: Outcome::Inspected,
        oversized_cells: 0,
        groups: 0,
        findings: Findings::new(limits),
    };
    let Some(format) = report.format else {
        report.outcome = Outcome::NotRead;
        return report;
    };
    let read = extract::read(format, bytes, limits.max_cell_chars, &mut report.findings);
    report.encoding = read.encoding;
    report.oversized_cells = read.oversized_cells;
    report.groups = read.groups;
    report
}

fn unreadable(path: PathBuf, limits: &Limits) -> FileReport {
    FileReport {
        path,
        bytes: 0,
        sha256: None,
        format: None,
        encoding: None,
        outcome: Outcome::Unreadable,
        oversized_cells: 0,
        groups: 0,
        findings: Findings::new(limits),
    }
}
