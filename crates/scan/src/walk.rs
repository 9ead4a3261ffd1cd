//! Walking the paths given: every regular file under them, each read and
//! inspected on its own — a zip archive's entries too, each reported as
//! `archive.zip!/entry` — an unreadable one reported rather than stopping the
//! run. Symbolic links are not followed (a link out of the tree would scan
//! what was not asked for, and a loop would never end).

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::{
    Findings, Limits, Stream, Streamed,
    archive::{self, Entry, Why},
    extract::{self, Format},
    legacy::{self, Compound},
    mail, office, pdf,
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
    /// A binary Office file older than Office 97 (Word 6/95): not read.
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
            Why::OldVersion => Outcome::LegacyOffice,
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

/// As `scan_paths`, each file's candidates handed to `to` in parts of about
/// `part` as they are found (whole lines or rows each), then its report
/// with the rest: a consumer on another thread matches one part while the
/// next is read, and a file of millions of rows is never held whole.
pub fn scan_paths_streamed(
    paths: &[PathBuf],
    limits: &Limits,
    part: usize,
    to: std::sync::mpsc::SyncSender<Streamed>,
) {
    let limits = streaming(limits, part, &to);
    // A consumer gone (it failed) wants no more files read.
    let gone = std::cell::Cell::new(false);
    scan_paths_where(
        paths,
        &limits,
        |_, _| !gone.get(),
        |r| gone.set(gone.get() || to.send(Streamed::File(Box::new(finished(r)))).is_err()),
    );
}

/// `scan_buffer`, streamed as `scan_paths_streamed` is.
pub fn scan_buffer_streamed(
    path: PathBuf,
    name: &str,
    bytes: &[u8],
    limits: &Limits,
    part: usize,
    to: std::sync::mpsc::SyncSender<Streamed>,
) {
    let limits = streaming(limits, part, &to);
    scan_buffer(path, name, bytes, &limits, &mut |r| {
        let _ = to.send(Streamed::File(Box::new(finished(r))));
    });
}

/// A report as it is handed over: without its copy of the stream's sender
/// (a report held by the consumer would otherwise keep the stream open).
fn finished(mut r: FileReport) -> FileReport {
    r.findings.stream = None;
    r
}

fn streaming(limits: &Limits, part: usize, to: &std::sync::mpsc::SyncSender<Streamed>) -> Limits {
    Limits {
        max_candidates: part.max(1),
        stream: Some(Stream { to: to.clone() }),
        ..limits.clone()
    }
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
/// archive depth `depth`; then each file it holds (a zip's entries, a
/// message's attachments), as files of their own.
fn visit(
    path: PathBuf,
    name: &str,
    bytes: &[u8],
    depth: u32,
    spent: &mut u64,
    limits: &Limits,
    each: &mut impl FnMut(FileReport),
) {
    let (report, inner) = inspect(path.clone(), name, bytes, depth, spent, limits);
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

/// Which format `bytes` are: signatures first (zip and the Office files
/// inside one, compound files, PDF), then name and content. An encrypted or
/// damaged compound file is an answer of its own.
pub fn sniff(name: &str, bytes: &[u8]) -> Result<Option<Format>, Why> {
    if archive::is_zip(bytes) {
        return Ok(Some(office::kind(bytes).unwrap_or(Format::Zip)));
    }
    // A compound file is never text, whatever its name says and whatever
    // bytes follow its signature.
    match legacy::compound(bytes) {
        Some(Compound::Read(format)) => return Ok(Some(format)),
        Some(Compound::Encrypted) => return Err(Why::Encrypted),
        Some(Compound::Damaged) => return Err(Why::Damaged),
        Some(Compound::Other) => return Ok(None),
        None => {}
    }
    if pdf::is_pdf(bytes) {
        return Ok(Some(Format::Pdf));
    }
    // A mail saved without its extension is still a mail, not text.
    match Format::of(name, bytes) {
        Some(Format::Text) if mail::looks_like_eml(bytes) => Ok(Some(Format::Eml)),
        format => Ok(format),
    }
}

/// One file's report, and the files it holds for `visit` to inspect next.
fn inspect(
    path: PathBuf,
    name: &str,
    bytes: &[u8],
    depth: u32,
    spent: &mut u64,
    limits: &Limits,
) -> (FileReport, Vec<Entry>) {
    let mut report = FileReport {
        bytes: bytes.len() as u64,
        sha256: Some(crate::sha256(bytes)),
        ..FileReport::empty(path, Outcome::Inspected, limits)
    };
    let format = match sniff(name, bytes) {
        Ok(Some(format)) => format,
        Ok(None) => {
            report.outcome = Outcome::NotRead;
            return (report, Vec::new());
        }
        Err(why) => {
            report.outcome = why.into();
            return (report, Vec::new());
        }
    };
    report.format = Some(format);
    let max = limits.max_cell_chars;
    let sink = &mut report.findings;
    let mut inner = Vec::new();
    // Readers parse files from anywhere with third-party parsers (calamine,
    // lopdf, mail-parser, cfb); a panic inside one on a hostile file makes
    // that file damaged, not the scan over.
    let read = catch_unwind(AssertUnwindSafe(|| match format {
        // Too deep to open: nothing of it is inflated.
        Format::Zip if depth >= limits.archive.max_depth => Err(Why::TooDeep),
        Format::Zip => {
            let listed = archive::entries(bytes, &limits.archive, spent, |e| inner.push(e));
            // What was listed before the damage is still inspected.
            listed.map(|()| extract::Read::default())
        }
        Format::Xlsx | Format::Docx | Format::Pptx | Format::Ods | Format::Odt | Format::Odp => {
            office::read(format, bytes, &limits.archive, max, spent, sink)
        }
        Format::Xls | Format::Doc | Format::Ppt => legacy::read(format, bytes, max, sink),
        Format::Pdf => pdf::read(bytes, page_budget(limits, *spent), max, sink),
        Format::Eml => mail::read_eml(bytes, max, sink).map(|(r, a)| {
            inner = a;
            r
        }),
        Format::Msg => mail::read_msg(bytes, max, sink).map(|(r, a)| {
            inner = a;
            r
        }),
        Format::Text | Format::Csv | Format::Tsv => Ok(extract::read(format, bytes, max, sink)),
    }))
    .unwrap_or(Err(Why::Damaged));
    match read {
        Ok(r) => {
            report.encoding = r.encoding;
            report.groups = r.groups;
            report.oversized_cells = r.oversized_cells;
            if r.damaged_parts > 0 {
                report.outcome = Outcome::Damaged;
            }
        }
        Err(why) => report.outcome = why.into(),
    }
    // A message's attachments count as nesting, as a zip's entries do.
    if depth >= limits.archive.max_depth {
        for e in &mut inner {
            if let Entry::File { name, .. } = e {
                let name = std::mem::take(name);
                *e = Entry::Uninspectable {
                    name,
                    why: Why::TooDeep,
                };
            }
        }
    }
    (report, inner)
}

/// What one PDF page's content may inflate to: what is left of the
/// archive budget (a PDF in a zip shares it), at least 64 MiB.
fn page_budget(limits: &Limits, spent: u64) -> usize {
    let left = limits.archive.max_total_bytes.saturating_sub(spent);
    usize::try_from(left.max(64 << 20)).unwrap_or(usize::MAX)
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

    fn reports(name: &str, bytes: &[u8]) -> Vec<FileReport> {
        let mut out = Vec::new();
        scan_buffer(name.into(), name, bytes, &Limits::default(), &mut |r| {
            out.push(r)
        });
        out
    }

    #[test]
    fn a_compound_file_is_never_read_as_text() {
        // The signature, then bytes that would pass for text (no zero byte).
        let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        bytes.extend_from_slice("090-1234-5678 ".repeat(40).as_bytes());
        for name in ["old.xls", "memo.txt", "list.csv"] {
            let r = &reports(name, &bytes)[0];
            assert_eq!(r.outcome, Outcome::Damaged, "{name}");
            assert_eq!(r.findings.total(), 0, "{name}");
        }
        let r = &reports("x.bin", &[0, 1, 2, 0xFF, 0])[0];
        assert_eq!(r.outcome, Outcome::NotRead);
    }

    #[test]
    fn a_streamed_file_comes_in_parts_of_whole_rows_then_its_report() {
        let csv: String = (0..10)
            .map(|i| format!("090-1234-{:04},user{i}@example.jp\n", 1000 + i))
            .collect();
        let (to, from) = std::sync::mpsc::sync_channel(4);
        let limits = Limits::default();
        std::thread::scope(|s| {
            s.spawn(|| {
                scan_buffer_streamed("a.csv".into(), "a.csv", csv.as_bytes(), &limits, 3, to)
            });
            let mut parts = Vec::new();
            let mut report = None;
            for m in from {
                match m {
                    Streamed::Part(p) => parts.push(p),
                    Streamed::File(r) => report = Some(r),
                }
            }
            let mut report = report.expect("the report comes last");
            parts.push(std::mem::take(&mut report.findings.candidates));
            let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
            assert_eq!(sizes, [4, 4, 4, 4, 4], "two rows (four values) a part");
            for p in &parts {
                let rows: std::collections::BTreeSet<u64> = p.iter().map(|c| c.group).collect();
                assert_eq!(rows.len() * 2, p.len(), "no row cut apart");
            }
            assert_eq!(report.findings.total(), 20, "counts are of the whole file");
            assert!(!report.findings.truncated);
        });
    }

    #[test]
    fn attachments_are_files_of_their_own_until_too_deep() {
        let mail = |inner: &str, name: &str| {
            format!(
                "From: a@example.jp\r\nMIME-Version: 1.0\r\n\
                 Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
                 Content-Type: text/plain\r\n\r\nbody\r\n--b\r\n\
                 Content-Type: message/rfc822\r\n\
                 Content-Disposition: attachment; filename={name}\r\n\r\n{inner}\r\n--b--\r\n"
            )
        };
        let mut m = "From: b@example.jp\r\nMIME-Version: 1.0\r\n\r\n090-1234-5678\r\n".to_owned();
        for depth in 0..6 {
            m = mail(&m, &format!("m{depth}.eml"));
        }
        let all = reports("top.eml", m.as_bytes());
        let paths: Vec<String> = all.iter().map(|r| r.path.display().to_string()).collect();
        assert_eq!(paths.len(), 7, "{paths:?}");
        assert!(all[..6].iter().all(|r| r.format == Some(Format::Eml)));
        assert_eq!(all[6].outcome, Outcome::TooDeep, "{paths:?}");
        assert_eq!(all[6].findings.total(), 0);
    }
}
