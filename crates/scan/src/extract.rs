//! Text out of files: each format's groups (lines of text, rows of a table)
//! handed to the detectors. Nothing extracted is written anywhere — a cache
//! of extracted text (as ripgrep-all keeps) would be a copy of the very data
//! being looked for.

use crate::{
    decode,
    detect::{self, Sink},
};

/// How a file is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Lines of text.
    Text,
    /// A table: comma-separated values.
    Csv,
    /// A table: tab-separated values.
    Tsv,
    /// Office Open XML and OpenDocument files (`office.rs`).
    Xlsx,
    Docx,
    Pptx,
    Ods,
    Odt,
    Odp,
    /// Office 97–2003 binary files (`legacy.rs`).
    Xls,
    Doc,
    Ppt,
    /// PDF text layers (`pdf.rs`).
    Pdf,
    /// E-mail: an Internet message, an Outlook message (`mail.rs`).
    Eml,
    Msg,
    /// A zip archive: its entries are files of their own (`archive.rs`).
    Zip,
}

impl Format {
    /// Lines of text or a table: a format whose bytes are its text.
    pub fn is_text(self) -> bool {
        matches!(self, Format::Text | Format::Csv | Format::Tsv)
    }

    /// The format a file's name and first bytes say it is, among the formats
    /// told by name and content rather than by signature (text, tables,
    /// saved mail by its extension); `None` for what this scanner does not
    /// read (binary files). `walk::sniff` asks this after the signatures
    /// and the shape of a mail's headers.
    pub fn of(name: &str, head: &[u8]) -> Option<Format> {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            "eml" => Some(Format::Eml),
            _ if looks_like_text(head) => Some(Format::Text),
            _ => None,
        }
    }
}

/// No zero bytes other than UTF-16's: binary formats have them early. UTF-16
/// is believed only when it decodes cleanly into text without control
/// characters.
fn looks_like_text(head: &[u8]) -> bool {
    let sample = &head[..head.len().min(8192) & !1];
    if !head[..head.len().min(8192)].contains(&0) {
        return true;
    }
    let d = decode::decode(sample);
    d.encoding.starts_with("UTF-16")
        && !d.malformed
        && !d
            .text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0C'))
}

/// What reading a file's text came to, besides its candidates.
#[derive(Debug, Default)]
pub struct Read {
    pub encoding: Option<&'static str>,
    /// Cells, lines or paragraphs longer than the limit, inspected only up
    /// to it.
    pub oversized_cells: u64,
    /// Groups (lines, rows, paragraphs) read.
    pub groups: u64,
    /// Parts that could not be read (damaged XML, a broken stream or page);
    /// what came before stands.
    pub damaged_parts: u64,
}

/// Where a structured format's text goes: rows and paragraphs numbered as
/// groups (two fields of one group may confirm one customer), cells and
/// lines capped at the cell limit. Every reader but plain text and CSV
/// writes through this.
pub(crate) struct Groups<'a, S: Sink> {
    sink: &'a mut S,
    max: usize,
    pub(crate) out: Read,
    group: u64,
    buf: String,
    /// The current table's columns of names in kanji, from its header row.
    names: Option<Vec<usize>>,
}

impl<'a, S: Sink> Groups<'a, S> {
    pub(crate) fn new(sink: &'a mut S, max_cell_chars: usize) -> Self {
        Groups {
            sink,
            max: max_cell_chars,
            out: Read::default(),
            group: 0,
            buf: String::new(),
            names: None,
        }
    }

    /// A new table (a sheet) starts: its own header row says where names are.
    pub(crate) fn table(&mut self) {
        self.names = None;
    }

    /// A row's cells, as one group (the cell detector repairs numbers whose
    /// leading 0 a spreadsheet dropped).
    /// A header row of names (氏名 …) marks its columns: their cells in the
    /// rows below are names in kanji.
    pub(crate) fn row<C: AsRef<str>>(&mut self, cells: &[C]) {
        if let Some(cols) = detect::name_columns(cells.iter().map(AsRef::as_ref)) {
            self.names = Some(cols);
        } else if let Some(cols) = &self.names {
            for c in cols.iter().filter_map(|&i| cells.get(i)) {
                let c = cap(c.as_ref(), self.max, &mut self.out.oversized_cells);
                detect::name_cell(c, self.group, self.sink);
            }
        }
        let cut = &mut self.out.oversized_cells;
        let cells = cells.iter().map(|c| cap(c.as_ref(), self.max, cut));
        detect::row(cells, self.group, self.sink, &mut self.buf);
        self.next_group();
    }

    /// A paragraph (its lines), as one group.
    pub(crate) fn paragraph(&mut self, p: &str) {
        for l in p.split('\n') {
            let l = cap(l, self.max, &mut self.out.oversized_cells);
            detect::line(l, self.group, self.sink);
        }
        self.next_group();
    }

    /// Running text: each non-blank line a group of its own.
    pub(crate) fn lines(&mut self, text: &str) {
        for l in text.lines().filter(|l| !l.trim().is_empty()) {
            self.paragraph(l);
        }
    }

    fn next_group(&mut self) {
        self.group += 1;
        self.out.groups += 1;
    }
}

/// Reads `bytes` as `format`, handing every group to `sink`.
pub fn read(format: Format, bytes: &[u8], max_cell_chars: usize, sink: &mut impl Sink) -> Read {
    let decoded = decode::decode(bytes);
    let mut out = Read {
        encoding: Some(decoded.encoding),
        ..Read::default()
    };
    match format {
        Format::Text => {
            for (i, line) in decoded.text.lines().enumerate() {
                let line = cap(line, max_cell_chars, &mut out.oversized_cells);
                detect::line(line, i as u64, sink);
                out.groups += 1;
            }
        }
        Format::Csv | Format::Tsv => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(if format == Format::Tsv { b'\t' } else { b',' })
                .from_reader(decoded.text.as_bytes());
            let mut record = csv::StringRecord::new();
            let mut groups = Groups::new(sink, max_cell_chars);
            // A malformed quote ends the table where it is; what was read
            // stands (a damaged file is still a file with data in it).
            while let Ok(true) = reader.read_record(&mut record) {
                let cells: Vec<&str> = record.iter().collect();
                groups.row(&cells);
            }
            out.groups = groups.out.groups;
            out.oversized_cells = groups.out.oversized_cells;
        }
        // Read by their own modules; never handed here.
        _ => {}
    }
    out
}

/// A text or table file's text, decoded as the scanner read it; `None` for
/// other formats. Breach analysis reads an export's watermark from it.
pub fn text_of(format: Option<Format>, bytes: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    format
        .is_some_and(Format::is_text)
        .then(|| decode::decode(bytes).text)
}

/// The first `max` characters of `s`, counting a cut.
pub(crate) fn cap<'a>(s: &'a str, max: usize, cut: &mut u64) -> &'a str {
    // No more bytes than the limit: no more characters either.
    if s.len() <= max {
        return s;
    }
    match s.char_indices().nth(max) {
        Some((i, _)) => {
            *cut += 1;
            &s[..i]
        }
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Found, Kind};

    #[test]
    fn a_cp932_csv_with_dropped_zeros_is_read_by_row() {
        let csv = "氏名,カナ,電話,メール\n山田 太郎,ヤマダ タロウ,9012345678,taro@example.jp\n\"佐藤, 花子\",ｻﾄｳ ﾊﾅｺ,\"03-1111-2222\",\n";
        let bytes = encoding_rs::SHIFT_JIS.encode(csv).0.into_owned();
        let mut f = Found::default();
        let r = read(Format::Csv, &bytes, 32_767, &mut f);
        assert_eq!((r.encoding, r.groups), (Some("Shift_JIS"), 3));
        assert_eq!(
            f.0,
            [
                // Names under the 氏名 header, repaired cells, then what the
                // row's text holds.
                (Kind::Name, "山田 太郎".to_owned(), 1),
                (Kind::Phone, "09012345678".to_owned(), 1),
                (Kind::Email, "taro@example.jp".to_owned(), 1),
                (Kind::KanaName, "ヤマダタロウ".to_owned(), 1),
                (Kind::Name, "佐藤, 花子".to_owned(), 2),
                (Kind::Phone, "0311112222".to_owned(), 2),
                (Kind::KanaName, "サトウハナコ".to_owned(), 2),
            ]
        );
    }

    #[test]
    fn names_in_kanji_are_found_under_a_name_header_only() {
        let csv = "No,お名前,フリガナ,電話\n1,山田　太郎,ヤマダ タロウ,\n2,佐藤花子,,\n3,090-1234-5678,,\n";
        let mut f = Found::default();
        read(Format::Csv, csv.as_bytes(), 100, &mut f);
        let names: Vec<(String, u64)> =
            f.0.iter()
                .filter(|(k, ..)| *k == Kind::Name)
                .map(|(_, v, g)| (v.clone(), *g))
                .collect();
        assert_eq!(names, [("山田 太郎".into(), 1), ("佐藤花子".into(), 2)]);
        // The reading column is kana, found as such; a phone in the name
        // column is no name.
        assert!(f.0.contains(&(Kind::KanaName, "ヤマダタロウ".into(), 1)));
        // Without a header, a kanji cell says nothing.
        let mut f = Found::default();
        read(Format::Csv, "1,山田　太郎\n".as_bytes(), 100, &mut f);
        assert!(f.0.iter().all(|(k, ..)| *k != Kind::Name));
    }

    #[test]
    fn huge_cells_are_inspected_only_up_to_the_limit() {
        let cell = "あ".repeat(100) + "090-1234-5678";
        let mut f = Found::default();
        let r = read(Format::Tsv, format!("{cell}\tx\n").as_bytes(), 50, &mut f);
        assert_eq!(r.oversized_cells, 1);
        assert!(f.0.is_empty(), "the phone was past the limit");
        let r = read(Format::Tsv, format!("{cell}\tx\n").as_bytes(), 200, &mut f);
        assert_eq!((r.oversized_cells, f.0.len()), (0, 1));
    }

    #[test]
    fn formats_by_name_and_content() {
        assert_eq!(Format::of("顧客.CSV", b"a,b"), Some(Format::Csv));
        assert_eq!(
            Format::of("memo.txt", "メモ".as_bytes()),
            Some(Format::Text)
        );
        assert_eq!(Format::of("noext", b"plain"), Some(Format::Text));
        assert_eq!(Format::of("x.bin", b"\x00\x01\x02\xFF\x00"), None);
        let utf16: Vec<u8> = "氏名,電話\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(Format::of("x.txt", &utf16), Some(Format::Text));
    }
}
