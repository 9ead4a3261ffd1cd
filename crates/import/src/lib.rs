//! Streaming CSV import.
//!
//! Two passes over the file, both in constant memory: the first checks the
//! file as a whole (encoding, column counts, cell sizes, header) so that a
//! malformed file is refused before anything is written; the second maps,
//! validates and imports the rows in atomic batches, committed in groups.
//! Rejected rows are reported by line and reason only, never by value.
//! Because records are keyed by customer number, re-running an interrupted
//! import completes it without duplicates.

use std::{
    collections::BTreeMap,
    fs::File,
    io::{BufReader, Read},
    path::Path,
};

use encoding_rs::{Encoding, SHIFT_JIS, UTF_8};
use encoding_rs_io::DecodeReaderBytesBuilder;
use mamori_core::Schema;
use mamori_vault::{
    Vault, VaultError,
    ingest::{BatchOutcome, CommitGroups, ImportRow, PreparedBatch, Rejection},
};
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

/// Longest cell accepted, in bytes of UTF-8.
pub const MAX_CELL_BYTES: usize = 64 * 1024;
/// Rejections listed in the summary; the count covers all of them.
const MAX_LISTED_REJECTIONS: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodingChoice {
    /// UTF-8 or Shift_JIS, decided from the file's first 64 KiB.
    Auto,
    Utf8,
    ShiftJis,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub tenant: String,
    pub segment: Option<String>,
    pub encoding: EncodingChoice,
    /// Extra header → field mappings (from `--map FILE`).
    pub map: BTreeMap<String, String>,
    pub batch_size: usize,
    /// Records per commit group (see [`mamori_vault::ingest::GROUP_MAX_TIME`]).
    pub group_records: usize,
}

#[derive(Debug, Default, Serialize)]
pub struct ImportSummary {
    pub encoding: String,
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub rejected: u64,
    pub rejections: Vec<Rejection>,
    pub batches: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    /// The file as a whole is unusable; nothing was imported.
    #[error("line {line}: {message} (nothing was imported)")]
    Malformed { line: u64, message: String },
    #[error("{0}")]
    Header(String),
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// Reads a `--map` file: a TOML table of `"header" = "field"`.
pub fn load_map(path: &Path) -> Result<BTreeMap<String, String>, ImportError> {
    let src = std::fs::read_to_string(path).map_err(|e| ImportError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    toml::from_str(&src)
        .map_err(|e| ImportError::Header(format!("{}: {}", path.display(), e.message())))
}

/// Chooses the encoding from the first 64 KiB: a BOM means UTF-8; otherwise
/// UTF-8 when most non-ASCII bytes form valid UTF-8 sequences (Shift_JIS text
/// almost never does), and Shift_JIS (CP932), as legacy exports are, when not.
/// A UTF-8 file with a few broken bytes is thus still read as UTF-8, and the
/// broken bytes are reported by line instead of the whole file turning into mojibake.
fn detect(path: &Path, choice: EncodingChoice) -> Result<&'static Encoding, ImportError> {
    match choice {
        EncodingChoice::Utf8 => return Ok(UTF_8),
        EncodingChoice::ShiftJis => return Ok(SHIFT_JIS),
        EncodingChoice::Auto => {}
    }
    let mut head = Vec::with_capacity(64 * 1024);
    open(path)?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(|e| io_err(path, e))?;
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Ok(UTF_8);
    }
    let (valid, invalid) = utf8_byte_counts(&head);
    Ok(if valid >= invalid { UTF_8 } else { SHIFT_JIS })
}

/// Non-ASCII bytes inside valid UTF-8 sequences, and bytes outside them.
fn utf8_byte_counts(mut bytes: &[u8]) -> (usize, usize) {
    let (mut valid, mut invalid) = (0, 0);
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => return (valid + s.bytes().filter(|b| !b.is_ascii()).count(), invalid),
            Err(e) => {
                let (ok, rest) = bytes.split_at(e.valid_up_to());
                valid += ok.iter().filter(|b| !b.is_ascii()).count();
                // A sequence cut off by the end of the window is not an error.
                let Some(bad) = e.error_len() else {
                    return (valid, invalid);
                };
                invalid += bad;
                bytes = &rest[bad..];
            }
        }
    }
}

fn io_err(path: &Path, e: std::io::Error) -> ImportError {
    ImportError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn open(path: &Path) -> Result<File, ImportError> {
    File::open(path).map_err(|e| io_err(path, e))
}

fn reader(path: &Path, enc: &'static Encoding) -> Result<csv::Reader<impl Read>, ImportError> {
    // In Shift_JIS mode encoding_rs decodes the CP932 extensions (①, ～, 髙, ﾊﾝｶｸ)
    // as the WHATWG standard does; a UTF-8 BOM is stripped.
    let decoded = DecodeReaderBytesBuilder::new()
        .encoding(Some(enc))
        .bom_override(true)
        .build(BufReader::with_capacity(1 << 16, open(path)?));
    Ok(csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(decoded))
}

fn header_key(s: &str) -> String {
    s.nfkc()
        .collect::<String>()
        .trim()
        .to_lowercase()
        .replace([' ', '　', '_', '-', '（', '）', '(', ')'], "")
}

/// Header aliases seen in Japanese legacy exports, by field.
const ALIASES: &[(&str, &[&str])] = &[
    (
        "customer_no",
        &[
            "お客さま番号",
            "お客様番号",
            "顧客番号",
            "顧客id",
            "会員番号",
            "customerno",
            "customernumber",
        ],
    ),
    ("name", &["氏名", "名前", "お名前", "顧客名", "漢字氏名"]),
    (
        "name_kana",
        &[
            "氏名カナ",
            "フリガナ",
            "ふりがな",
            "カナ氏名",
            "カナ",
            "namekana",
            "kana",
        ],
    ),
    (
        "birth_date",
        &["生年月日", "誕生日", "birthdate", "birthday"],
    ),
    ("gender", &["性別", "sex"]),
    (
        "postal_code",
        &["郵便番号", "〒", "postalcode", "zip", "zipcode"],
    ),
    ("address", &["住所", "ご住所"]),
    (
        "phone",
        &["電話番号", "電話", "固定電話", "自宅電話", "tel"],
    ),
    ("mobile", &["携帯電話番号", "携帯番号", "携帯電話", "携帯"]),
    ("email", &["メールアドレス", "メール", "e-mail", "mail"]),
    ("plan", &["契約プラン", "プラン", "料金プラン"]),
    ("segment", &["セグメント", "区分", "顧客区分"]),
];

/// Where each column goes: a schema field, `segment`, or nowhere (None).
fn map_header(
    header: &csv::StringRecord,
    schema: &Schema,
    extra: &BTreeMap<String, String>,
) -> Result<Vec<Option<String>>, ImportError> {
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for (i, h) in header.iter().enumerate() {
        let key = header_key(h);
        let explicit = extra
            .iter()
            .find(|(k, _)| header_key(k) == key)
            .map(|(_, v)| v.clone());
        let target = explicit.or_else(|| {
            if key == "segment"
                || ALIASES
                    .iter()
                    .any(|(f, a)| *f == "segment" && a.iter().any(|x| header_key(x) == key))
            {
                return Some("segment".to_owned());
            }
            schema
                .fields
                .iter()
                .find(|f| {
                    header_key(&f.name) == key
                        || header_key(&f.label_ja) == key
                        || header_key(&f.label_en) == key
                        || ALIASES
                            .iter()
                            .any(|(n, a)| *n == f.name && a.iter().any(|x| header_key(x) == key))
                })
                .map(|f| f.name.clone())
        });
        match target {
            Some(t) if t == "-" => out.push(None),
            Some(t) if t == "segment" || schema.field(&t).is_some() => out.push(Some(t)),
            Some(t) => {
                return Err(ImportError::Header(format!(
                    "column {} maps to '{t}', which the schema does not have",
                    i + 1
                )));
            }
            None => {
                unknown.push(format!("{} ('{}')", i + 1, h.trim()));
                out.push(None);
            }
        }
    }
    if !unknown.is_empty() {
        return Err(ImportError::Header(format!(
            "line 1: columns {} match no field; map them with --map FILE (\"header\" = \"field\", or \"-\" to skip)",
            unknown.join(", ")
        )));
    }
    for (i, t) in out.iter().enumerate() {
        if t.is_some() && out[..i].contains(t) {
            return Err(ImportError::Header(format!(
                "line 1: column {} maps to '{}' like an earlier column",
                i + 1,
                t.as_deref().unwrap_or("")
            )));
        }
    }
    if !out
        .iter()
        .any(|t| t.as_deref() == Some(mamori_core::schema::KEY_FIELD))
    {
        return Err(ImportError::Header(
            "line 1: no column holds the customer number (customer_no / お客さま番号)".into(),
        ));
    }
    Ok(out)
}

/// First pass: the whole file must be well-formed before anything is written.
/// Returns the header mapping and the number of data rows.
fn check(
    path: &Path,
    enc: &'static Encoding,
    schema: &Schema,
    extra: &BTreeMap<String, String>,
) -> Result<(Vec<Option<String>>, u64), ImportError> {
    let mut rdr = reader(path, enc)?;
    let mut rec = csv::StringRecord::new();
    let mut mapping = None;
    let mut rows = 0u64;
    loop {
        let more = rdr.read_record(&mut rec).map_err(|e| malformed(&e, enc))?;
        if !more {
            break;
        }
        let line = rec.position().map_or(0, |p| p.line());
        if let Some((col, _)) = rec.iter().enumerate().find(|(_, c)| c.contains('\u{FFFD}')) {
            return Err(ImportError::Malformed {
                line,
                message: format!(
                    "column {}: bytes that are not valid {}",
                    col + 1,
                    enc.name()
                ),
            });
        }
        if let Some((col, _)) = rec
            .iter()
            .enumerate()
            .find(|(_, c)| c.len() > MAX_CELL_BYTES)
        {
            return Err(ImportError::Malformed {
                line,
                message: format!(
                    "column {}: cell longer than {} KiB",
                    col + 1,
                    MAX_CELL_BYTES / 1024
                ),
            });
        }
        match &mapping {
            None => mapping = Some(map_header(&rec, schema, extra)?),
            Some(m) => {
                if rec.len() != m.len() && !(rec.len() == 1 && rec[0].is_empty()) {
                    return Err(ImportError::Malformed {
                        line,
                        message: format!("{} columns where the header has {}", rec.len(), m.len()),
                    });
                }
                rows += 1;
            }
        }
    }
    let mapping = mapping.ok_or(ImportError::Malformed {
        line: 1,
        message: "the file is empty: no header row".into(),
    })?;
    Ok((mapping, rows))
}

fn malformed(e: &csv::Error, enc: &'static Encoding) -> ImportError {
    let line = e.position().map_or(0, |p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => format!("bytes that are not valid {}", enc.name()),
        _ => "the CSV structure is broken (unbalanced quotes?)".to_owned(),
    };
    ImportError::Malformed { line, message }
}

/// What the first pass found in a file: its encoding, the header mapped to
/// fields (None: a column no field takes) and the number of data rows.
#[derive(Debug)]
pub struct Inspected {
    pub encoding: &'static Encoding,
    pub mapping: Vec<Option<String>>,
    pub rows: u64,
}

/// The first pass alone: detects the encoding and checks that the whole file
/// is well-formed for `schema`, writing nothing. `import_file` starts with it.
pub fn inspect(
    path: &Path,
    choice: EncodingChoice,
    schema: &Schema,
    map: &BTreeMap<String, String>,
) -> Result<Inspected, ImportError> {
    let encoding = detect(path, choice)?;
    let (mapping, rows) = check(path, encoding, schema, map)?;
    Ok(Inspected {
        encoding,
        mapping,
        rows,
    })
}

/// Imports a CSV file into a tenant. `progress` is called after each batch.
pub fn import_file(
    vault: &Vault,
    actor: &str,
    path: &Path,
    opts: &ImportOptions,
    mut progress: impl FnMut(Progress),
) -> Result<ImportSummary, ImportError> {
    let tenant = vault.tenant_summary(&opts.tenant)?;
    let schema = vault.tenant_schema(&tenant.id)?;
    if let Some(seg) = &opts.segment
        && schema.segment(seg).is_none()
    {
        return Err(VaultError::bad(
            mamori_vault::ErrorCode::SegmentUnknown,
            format!(
                "unknown segment '{seg}'; tenant has: {}",
                tenant.segments.join(", ")
            ),
        )
        .into());
    }
    let Inspected {
        encoding: enc,
        mapping,
        rows: total,
    } = inspect(path, opts.encoding, &schema, &opts.map)?;
    let mut summary = ImportSummary {
        encoding: enc.name().to_lowercase().replace('_', "-"),
        ..Default::default()
    };
    progress(Progress { done: 0, total });
    // Two stages on two threads: this one commits batch N while the reader
    // parses and encrypts batch N+1. The channel holds one batch, so memory
    // stays bounded by about three batches whatever the file size.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Prepared, ImportError>>(1);
    std::thread::scope(|s| {
        let mapping = &mapping;
        s.spawn(move || {
            let sent = read_batches(path, enc, mapping, opts.batch_size.max(1), |rows| {
                let n = rows.len() as u64;
                let prepared = vault
                    .prepare_import(&opts.tenant, opts.segment.as_deref(), rows)
                    .map(|batch| Prepared { rows: n, batch })
                    .map_err(ImportError::from);
                let ok = prepared.is_ok();
                tx.send(prepared).is_ok() && ok
            });
            if let Err(e) = sent {
                let _ = tx.send(Err(e));
            }
        });
        let mut groups = CommitGroups::new(opts.group_records);
        for prepared in rx {
            let Prepared { rows, batch } = prepared?;
            let session = groups.current(|| vault.import_session(&opts.tenant))?;
            let out = session.write(actor, batch)?;
            if let Some(full) = groups.wrote(rows) {
                full.commit()?;
            }
            summary.add(rows, out);
            progress(Progress {
                done: summary.rows,
                total,
            });
        }
        if let Some(last) = groups.take() {
            last.commit()?;
        }
        Ok::<_, ImportError>(())
    })?;
    Ok(summary)
}

struct Prepared {
    rows: u64,
    batch: PreparedBatch,
}

/// Reads the data rows in batches of `size` and hands each to `each`, which
/// returns false to stop early (an error, or the consumer has gone).
fn read_batches(
    path: &Path,
    enc: &'static Encoding,
    mapping: &[Option<String>],
    size: usize,
    mut each: impl FnMut(Vec<ImportRow>) -> bool,
) -> Result<(), ImportError> {
    let mut rdr = reader(path, enc)?;
    let mut rec = csv::StringRecord::new();
    let mut batch = Vec::with_capacity(size);
    let mut header_seen = false;
    while rdr.read_record(&mut rec).map_err(|e| malformed(&e, enc))? {
        if !header_seen {
            header_seen = true;
            continue;
        }
        if rec.len() == 1 && rec[0].is_empty() {
            continue;
        }
        batch.push(row_of(&rec, mapping));
        if batch.len() >= size && !each(std::mem::replace(&mut batch, Vec::with_capacity(size))) {
            return Ok(());
        }
    }
    if !batch.is_empty() {
        each(batch);
    }
    Ok(())
}

fn row_of(rec: &csv::StringRecord, mapping: &[Option<String>]) -> ImportRow {
    let mut row = ImportRow {
        line: rec.position().map_or(0, |p| p.line()),
        segment: None,
        fields: BTreeMap::new(),
    };
    for (cell, target) in rec.iter().zip(mapping) {
        match target.as_deref() {
            Some("segment") if !cell.trim().is_empty() => {
                row.segment = Some(cell.trim().to_owned())
            }
            Some("segment") | None => {}
            Some(field) => {
                row.fields.insert(field.to_owned(), cell.to_owned());
            }
        }
    }
    row
}

impl ImportSummary {
    fn add(&mut self, rows: u64, out: BatchOutcome) {
        self.rows += rows;
        self.batches += 1;
        self.inserted += out.inserted;
        self.updated += out.updated;
        self.rejected += out.rejected.len() as u64;
        let room = MAX_LISTED_REJECTIONS.saturating_sub(self.rejections.len());
        self.rejections.extend(out.rejected.into_iter().take(room));
    }
}

#[cfg(test)]
mod tests {
    use super::utf8_byte_counts;

    #[test]
    fn encoding_evidence() {
        let utf8 = "お客さま番号,氏名".as_bytes();
        let (v, i) = utf8_byte_counts(utf8);
        assert!(v > 0 && i == 0);
        let sjis = encoding_rs::SHIFT_JIS.encode("お客さま番号,氏名,ﾊﾝｶｸ").0;
        let (v, i) = utf8_byte_counts(&sjis);
        assert!(i > v, "{v} {i}");
        let mut broken = utf8.to_vec();
        broken.extend_from_slice(b"\xff\xfe");
        let (v, i) = utf8_byte_counts(&broken);
        assert!(v > i);
        // cut in the middle of a character at the end of the window
        let (v, i) = utf8_byte_counts(&utf8[..utf8.len() - 1]);
        assert!(v > 0 && i == 0);
    }
}
