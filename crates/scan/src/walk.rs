//! Walking the paths given: every regular file under them, each read and
//! inspected on its own — a zip archive's entries too, each reported as
//! `archive.zip!/entry` — an unreadable one reported rather than stopping the
//! run. Symbolic links are not followed (a link out of the tree would scan
//! what was not asked for, and a loop would never end).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{
    Findings, Limits,
    archive::{self, Entry, Why},
    extract, office,
};

/// Why a file was not inspected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Outcome {
    Inspected,
    /// Larger than `Limits::max_file_bytes`.
    TooLarge,
    /// A format this scanner does not read (a binary file).
    NotRead,
    /// The file could not be opened or read (permissions, vanished).
    Unreadable,
    /// An archive's entry protected by a password: it may hold anything.
    Encrypted,
    /// An archive nested deeper than the limit.
    TooDeep,
    /// An archive that could not be read, or an Office file whose XML broke
    /// off (what came before the damage was read).
    Damaged,
    /// A legacy binary Office file (xls, doc, ppt): not read.
    LegacyOffice,
}

impl Outcome {
    /// Whether the file may hold personal data nobody looked at: it was
    /// meant to be read and could not be (not a binary file of a format
    /// the scanner does not read).
    pub fn uninspected(&self) -> bool {
        !matches!(self, Outcome::Inspected | Outcome::NotRead)
    }
}

impl From<Why> for Outcome {
    fn from(why: Why) -> Self {
        match why {
            Why::Encrypted => Outcome::Encrypted,
            Why::TooLarge => Outcome::TooLarge,
            Why::TooDeep => Outcome::TooDeep,
            Why::Damaged => Outcome::Damaged,
        }
    }
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
pub fn scan_paths(paths: &[PathBuf], limits: &Limits, each: impl FnMut(FileReport)) {
    scan_paths_where(paths, limits, |_, _| true, each);
}

/// As `scan_paths`, reading only the files for which `read(path, metadata)`
/// says so (an agent skips files unchanged since its last scan; it is
/// asked for every regular file walked, in order).
pub fn scan_paths_where(
    paths: &[PathBuf],
    limits: &Limits,
    mut read: impl FnMut(&Path, &std::fs::Metadata) -> bool,
    mut each: impl FnMut(FileReport),
) {
    for root in paths {
        for entry in walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
        {
            match entry {
                Ok(e) if e.file_type().is_file() => {
                    let wanted = match e.metadata() {
                        Ok(m) => read(e.path(), &m),
                        // Vanished or unreadable: scanning reports why.
                        Err(_) => true,
                    };
                    if wanted {
                        scan_file(e.path(), limits, &mut each);
                    }
                }
                Ok(_) => {}
                Err(e) => each(FileReport::empty(
                    e.path().map_or_else(|| root.clone(), Path::to_path_buf),
                    Outcome::Unreadable,
                    limits,
                )),
            }
        }
    }
}

/// Scans one file (and, for an archive, each of its entries).
pub fn scan_file(path: &Path, limits: &Limits, each: &mut impl FnMut(FileReport)) {
    let size = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(_) => return each(FileReport::empty(path.into(), Outcome::Unreadable, limits)),
    };
    if size > limits.max_file_bytes {
        return each(FileReport {
            bytes: size,
            ..FileReport::empty(path.into(), Outcome::TooLarge, limits)
        });
    }
    let Ok(bytes) = std::fs::read(path) else {
        return each(FileReport::empty(path.into(), Outcome::Unreadable, limits));
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let mut spent = 0;
    visit(
        path.to_path_buf(),
        &name,
        &bytes,
        0,
        &mut spent,
        limits,
        each,
    );
}

/// Scans bytes already in memory (an uploaded file), named `name`, and a
/// zip's entries each on its own, as `scan_file` does a file on disk.
pub fn scan_buffer(
    path: PathBuf,
    name: &str,
    bytes: &[u8],
    limits: &Limits,
    each: &mut impl FnMut(FileReport),
) {
    let mut spent = 0;
    visit(path, name, bytes, 0, &mut spent, limits, each);
}

/// Scans a file's bytes, named `name` (its extension says its format), at
/// archive depth `depth`.
fn visit(
    path: PathBuf,
    name: &str,
    bytes: &[u8],
    depth: u32,
    spent: &mut u64,
    limits: &Limits,
    each: &mut impl FnMut(FileReport),
) {
    if !archive::is_zip(bytes) {
        return each(scan_bytes(path, name, bytes, limits));
    }
    let mut report = FileReport {
        bytes: bytes.len() as u64,
        sha256: Some(crate::sha256(bytes)),
        ..FileReport::empty(path.clone(), Outcome::Inspected, limits)
    };
    if let Some(format) = office::kind(bytes) {
        report.format = Some(format);
        let read = office::read(
            format,
            bytes,
            &limits.archive,
            limits.max_cell_chars,
            spent,
            &mut report.findings,
        );
        match read {
            Ok(r) => {
                report.groups = r.groups;
                report.oversized_cells = r.oversized_cells;
                if r.damaged_parts > 0 {
                    report.outcome = Outcome::Damaged;
                }
            }
            Err(why) => report.outcome = why.into(),
        }
        return each(report);
    }
    if depth >= limits.archive.max_depth {
        report.outcome = Outcome::TooDeep;
        return each(report);
    }
    let mut inner = Vec::new();
    let listed = archive::entries(bytes, &limits.archive, spent, |e| inner.push(e));
    if let Err(why) = listed {
        report.outcome = why.into();
    }
    each(report);
    for entry in inner {
        match entry {
            Entry::File { name, bytes } => {
                let leaf = name.rsplit('/').next().unwrap_or(&name).to_owned();
                let path = PathBuf::from(format!("{}!/{name}", path.display()));
                visit(path, &leaf, &bytes, depth + 1, spent, limits, each);
            }
            Entry::Uninspectable { name, why } => each(FileReport::empty(
                PathBuf::from(format!("{}!/{name}", path.display())),
                why.into(),
                limits,
            )),
        }
    }
}

/// Scans a file's bytes as text or a table (not an archive).
pub fn scan_bytes(path: PathBuf, name: &str, bytes: &[u8], limits: &Limits) -> FileReport {
    let mut report = FileReport {
        bytes: bytes.len() as u64,
        sha256: Some(crate::sha256(bytes)),
        ..FileReport::empty(path, Outcome::Inspected, limits)
    };
    // A compound file (legacy or password-protected Office) is never text,
    // whatever its name says and whatever bytes follow its signature.
    match office::compound(bytes) {
        Some(office::Compound::Encrypted) => report.outcome = Outcome::Encrypted,
        Some(office::Compound::Legacy) => report.outcome = Outcome::LegacyOffice,
        None => report.format = extract::Format::of(name, bytes),
    }
    let Some(format) = report.format else {
        if report.outcome == Outcome::Inspected {
            report.outcome = Outcome::NotRead;
        }
        return report;
    };
    let read = extract::read(format, bytes, limits.max_cell_chars, &mut report.findings);
    report.encoding = read.encoding;
    report.oversized_cells = read.oversized_cells;
    report.groups = read.groups;
    report
}

impl FileReport {
    /// A report of a file with nothing read from it (yet): its path and why.
    fn empty(path: PathBuf, outcome: Outcome, limits: &Limits) -> FileReport {
        FileReport {
            path,
            bytes: 0,
            sha256: None,
            format: None,
            encoding: None,
            outcome,
            oversized_cells: 0,
            groups: 0,
            findings: Findings::new(limits),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compound_file_is_never_read_as_text() {
        // The signature, then bytes that would pass for text (no zero byte).
        let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        bytes.extend_from_slice("090-1234-5678 ".repeat(40).as_bytes());
        for name in ["old.xls", "memo.txt", "list.csv"] {
            let r = scan_bytes(name.into(), name, &bytes, &Limits::default());
            assert_eq!(r.outcome, Outcome::LegacyOffice, "{name}");
            assert_eq!(r.findings.total(), 0, "{name}");
        }
        let r = scan_bytes(
            "x.bin".into(),
            "x.bin",
            &[0, 1, 2, 0xFF, 0],
            &Limits::default(),
        );
        assert_eq!(r.outcome, Outcome::NotRead);
    }
}
