//! Office files: Office Open XML (xlsx, docx, pptx) and OpenDocument (ods,
//! odt, odp) — zips of XML, opened through the archive module's limits (a
//! zip bomb dressed as a spreadsheet gets no further than any other), only
//! the parts that hold text inflated, and their text handed to the detectors
//! by row (a spreadsheet row, a table row of a document or slide) or by
//! paragraph.
//!
//! A spreadsheet's cells go to the cell detector, so a phone number or
//! postal code whose leading 0 Excel dropped (stored as the number
//! 9012345678) is repaired as it is in a CSV file. Legacy binary files (xls,
//! doc, ppt) and password-protected Office files are compound files, not
//! zips: `legacy.rs` reads those.

use quick_xml::{Reader, escape::resolve_predefined_entity, events::Event};

use crate::{
    archive::{self, ArchiveLimits, Entry, Why},
    detect::Sink,
    extract::{Format, Groups, Read},
    legacy,
};

/// Which Office file a zip is, by the parts it holds (`names`, its entry
/// names) and, for OpenDocument, its `mimetype` entry.
fn format_of(names: &[String], mimetype: Option<&[u8]>) -> Option<Format> {
    let has = |p: &str| names.iter().any(|n| n == p);
    if has("[Content_Types].xml") {
        return if has("xl/workbook.xml") {
            Some(Format::Xlsx)
        } else if has("word/document.xml") {
            Some(Format::Docx)
        } else if has("ppt/presentation.xml") {
            Some(Format::Pptx)
        } else {
            None
        };
    }
    let m = mimetype?.trim_ascii();
    let od = m.strip_prefix(b"application/vnd.oasis.opendocument.")?;
    // Templates (…spreadsheet-template) read like the documents.
    if od.starts_with(b"spreadsheet") {
        Some(Format::Ods)
    } else if od.starts_with(b"text") {
        Some(Format::Odt)
    } else if od.starts_with(b"presentation") {
        Some(Format::Odp)
    } else {
        None
    }
}

/// Whether an entry of an Office file holds text this reader reads.
fn wants(format: Format, name: &str) -> bool {
    let xml = name.ends_with(".xml");
    match format {
        Format::Xlsx => {
            name == "xl/sharedStrings.xml"
                || name == "xl/styles.xml"
                || (xml && name.starts_with("xl/worksheets/sheet"))
        }
        Format::Docx => {
            xml && (name == "word/document.xml"
                || name.starts_with("word/header")
                || name.starts_with("word/footer")
                || name == "word/footnotes.xml"
                || name == "word/endnotes.xml"
                || name == "word/comments.xml")
        }
        Format::Pptx => {
            xml && (name.starts_with("ppt/slides/slide")
                || name.starts_with("ppt/notesSlides/notesSlide"))
        }
        Format::Ods | Format::Odt | Format::Odp => name == "content.xml",
        _ => false,
    }
}

/// The Office format of a zip, if it is an Office file.
pub fn kind(bytes: &[u8]) -> Option<Format> {
    let (names, mimetype) = archive::names_and_mimetype(bytes)?;
    format_of(&names, mimetype.as_deref())
}

/// Reads an Office file's text into `sink`. `spent` is the archive budget
/// shared with any enclosing archive.
pub fn read(
    format: Format,
    bytes: &[u8],
    limits: &ArchiveLimits,
    max_cell_chars: usize,
    spent: &mut u64,
    sink: &mut impl Sink,
) -> Result<Read, Why> {
    let mut parts = Vec::new();
    let mut refused = None;
    archive::entries_where(
        bytes,
        limits,
        spent,
        |name| wants(format, name),
        |e| match e {
            Entry::File { name, bytes } => parts.push((name, bytes)),
            Entry::Uninspectable { why, .. } => refused = Some(why),
        },
    )?;
    // A part beyond the limits or encrypted makes the file uninspectable as
    // a whole: what it hides is unknown.
    if let Some(why) = refused {
        return Err(why);
    }
    let mut text = Groups::new(sink, max_cell_chars);
    match format {
        Format::Xlsx => {
            // Shared strings first: the sheets' cells point into them.
            let strings = parts
                .iter()
                .find(|(n, _)| n == "xl/sharedStrings.xml")
                .map(|(_, b)| shared_strings(b, &mut text))
                .unwrap_or_default();
            let dates = parts
                .iter()
                .find(|(n, _)| n == "xl/styles.xml")
                .map(|(_, b)| date_styles(b))
                .unwrap_or_default();
            sort_numbered(&mut parts);
            for (name, xml) in &parts {
                if name.starts_with("xl/worksheets/") {
                    sheet(xml, &strings, &dates, &mut text);
                }
            }
        }
        _ => {
            sort_numbered(&mut parts);
            let odf = matches!(format, Format::Ods | Format::Odt | Format::Odp);
            for (_, xml) in &parts {
                paragraphs(xml, odf, &mut text);
            }
        }
    }
    Ok(text.out)
}

/// Parts in their natural order (sheet2 before sheet10), so that groups are
/// numbered as a person reads the file.
fn sort_numbered(parts: &mut [(String, Vec<u8>)]) {
    let key = |n: &str| {
        let digits: String = n.chars().filter(char::is_ascii_digit).collect();
        (
            n.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c.is_alphabetic())
                .to_owned(),
            digits.parse::<u64>().unwrap_or(0),
        )
    };
    parts.sort_by_key(|(n, _)| key(n));
}

/// Appends a text or entity event's characters to `buf`.
fn push_text(ev: &Event<'_>, buf: &mut String) {
    match ev {
        Event::Text(t) => buf.push_str(&t.xml10_content()),
        Event::CData(t) => buf.push_str(&t.clone().into_inner()),
        Event::GeneralRef(r) => match r.resolve_char_ref() {
            Ok(Some(c)) => buf.push(c),
            _ => {
                if let Some(s) = resolve_predefined_entity(&r.xml10_content()) {
                    buf.push_str(s);
                }
            }
        },
        _ => {}
    }
}

/// An XML part as text; a part that is not UTF-8 is read lossily (Office
/// writes UTF-8; anything else is damaged or hostile).
fn reader(xml: &[u8]) -> Reader<&[u8]> {
    let mut r = Reader::from_reader(xml);
    r.config_mut().check_end_names = false;
    r
}

/// `xl/sharedStrings.xml`: the strings cells refer to by index. A string is
/// the text of its `<t>` elements (rich text has several runs).
fn shared_strings<S: Sink>(xml: &[u8], text: &mut Groups<'_, S>) -> Vec<String> {
    let mut r = reader(xml);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_t = false;
    let mut in_phonetic = false;
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                "si" => cur.clear(),
                "t" => in_t = true,
                // Furigana runs (rPh) repeat the name in kana: not the cell's text.
                "rPh" => in_phonetic = true,
                _ => {}
            },
            Ok(Event::End(e)) => match e.local_name().as_ref() {
                "si" => out.push(std::mem::take(&mut cur)),
                "t" => in_t = false,
                "rPh" => in_phonetic = false,
                _ => {}
            },
            Ok(ev @ (Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)))
                if in_t && !in_phonetic =>
            {
                push_text(&ev, &mut cur)
            }
            Ok(Event::Eof) => break,
            Err(_) => {
                text.out.damaged_parts += 1;
                break;
            }
            _ => {}
        }
    }
    out
}

/// `xl/styles.xml`: which cell styles (`<cellXfs>`, by index) show a number
/// as a date — a built-in date format or a custom one whose code has a
/// year, month or day outside quotes and brackets. A birth date typed into
/// Excel is a serial number in such a cell.
fn date_styles(xml: &[u8]) -> Vec<bool> {
    let mut r = reader(xml);
    let mut custom_dates = Vec::new();
    let mut out = Vec::new();
    let mut in_cell_xfs = false;
    let attr = |e: &quick_xml::events::BytesStart<'_>, name: &str| -> Option<String> {
        let a = e.try_get_attribute(name).ok().flatten()?;
        let v = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .ok()?;
        Some(v.into_owned())
    };
    loop {
        match r.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => match e.local_name().as_ref() {
                "numFmt" => {
                    if let (Some(id), Some(code)) = (attr(&e, "numFmtId"), attr(&e, "formatCode"))
                        && is_date_code(&code)
                    {
                        custom_dates.extend(id.parse::<u32>());
                    }
                }
                "cellXfs" => in_cell_xfs = true,
                "xf" if in_cell_xfs => {
                    let id = attr(&e, "numFmtId").and_then(|v| v.parse::<u32>().ok());
                    out.push(id.is_some_and(|id| {
                        // Built-in date formats, the Japanese ones (27–36, 50–58) included.
                        matches!(id, 14..=17 | 22 | 27..=36 | 50..=58) || custom_dates.contains(&id)
                    }));
                }
                _ => {}
            },
            Ok(Event::End(e)) if e.local_name().as_ref() == "cellXfs" => in_cell_xfs = false,
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

/// Whether a number format shows a date: y, m (not after h: minutes), d
/// or the era of 和暦 (g, e) outside quoted text and `[...]` sections.
fn is_date_code(code: &str) -> bool {
    let mut quoted = false;
    let mut bracket = false;
    for c in code.chars() {
        match c {
            '"' => quoted = !quoted,
            '[' if !quoted => bracket = true,
            ']' if !quoted => bracket = false,
            'y' | 'Y' | 'd' | 'D' | 'e' | 'g' | 'G' if !quoted && !bracket => return true,
            _ => {}
        }
    }
    false
}

/// A worksheet: each `<row>` a group, each `<c>` a cell — a shared string
/// (`t="s"`), an inline string, a formula's text, or a number as Excel
/// stores it (a date as the date its style shows).
fn sheet<S: Sink>(xml: &[u8], strings: &[String], dates: &[bool], text: &mut Groups<'_, S>) {
    text.table();
    let mut r = reader(xml);
    let mut kind = CellType::Number;
    let mut value = String::new();
    let mut cells: Vec<String> = Vec::new();
    let mut in_value = false;
    let mut date = None;
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                "c" => {
                    value.clear();
                    // Empty cells are left out of the XML: pad to the cell's
                    // column (its reference, B7), so a header's columns hold.
                    let col = e
                        .try_get_attribute("r")
                        .ok()
                        .flatten()
                        .map_or(cells.len(), |a| column(&a.value));
                    while cells.len() < col.min(16_384) {
                        cells.push(String::new());
                    }
                    kind = match e.try_get_attribute("t").ok().flatten() {
                        Some(a) => CellType::of(&a.value),
                        None => CellType::Number,
                    };
                    let style = e.try_get_attribute("s").ok().flatten();
                    let date = style
                        .and_then(|a| a.value.trim().parse::<usize>().ok())
                        .and_then(|i| dates.get(i).copied())
                        .unwrap_or(false);
                    if date && matches!(kind, CellType::Number) {
                        kind = CellType::Date;
                    }
                }
                // `<v>` holds the value; `<is><t>` an inline string.
                "v" | "t" => in_value = true,
                _ => {}
            },
            Ok(Event::End(e)) => match e.local_name().as_ref() {
                "v" | "t" => in_value = false,
                "c" => {
                    let cell = match kind {
                        CellType::Shared => value
                            .trim()
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| strings.get(i))
                            .map(String::as_str)
                            .unwrap_or(""),
                        // A number as Excel stores it: 9012345678 for a mobile
                        // whose leading 0 was dropped (the cell detector repairs it).
                        CellType::Number => value.trim(),
                        CellType::Text => value.as_str(),
                        CellType::Date => {
                            // The workbook's 1904 flag is not read: Mac Excel 2008
                            // and older wrote it; their dates come out 4 years early.
                            let day = value.trim().parse::<f64>().ok();
                            date = day.and_then(|d| legacy::serial_date(d, false));
                            ""
                        }
                        CellType::Other => "",
                    };
                    match date.take() {
                        Some(d) => cells.push(d.format("%Y-%m-%d").to_string()),
                        None => cells.push(cell.to_owned()),
                    }
                    value.clear();
                }
                "row" => {
                    if cells.iter().any(|c| !c.is_empty()) {
                        text.row(&cells);
                    }
                    cells.clear();
                }
                _ => {}
            },
            Ok(ev @ (Event::Text(_) | Event::CData(_) | Event::GeneralRef(_))) if in_value => {
                push_text(&ev, &mut value)
            }
            Ok(Event::Eof) => break,
            Err(_) => {
                text.out.damaged_parts += 1;
                break;
            }
            _ => {}
        }
    }
    // Cells outside a row (a damaged part) still count.
    if !cells.is_empty() {
        text.row(&cells);
    }
}

/// The column of a cell reference (`B7` → 1, `AA3` → 26).
fn column(reference: &str) -> usize {
    reference
        .bytes()
        .take_while(u8::is_ascii_alphabetic)
        .fold(0usize, |n, b| {
            n.saturating_mul(26)
                .saturating_add(usize::from(b.to_ascii_uppercase() - b'A') + 1)
        })
        .saturating_sub(1)
}

#[derive(Clone, Copy)]
enum CellType {
    Shared,
    Number,
    /// A number in a cell styled as a date: a serial day number.
    Date,
    /// An inline string or a formula's string result.
    Text,
    /// Booleans and errors.
    Other,
}

impl CellType {
    fn of(t: &str) -> CellType {
        match t {
            "s" => CellType::Shared,
            "n" => CellType::Number,
            "str" | "inlineStr" => CellType::Text,
            _ => CellType::Other,
        }
    }
}

/// Paragraph-shaped XML (Word, PowerPoint, OpenDocument): each paragraph a
/// group of its own, except inside a table row, where the row's cells are
/// one group (a customer's name and phone in two cells of one row confirm
/// each other). OOXML keeps text in `<w:t>`/`<a:t>`; OpenDocument in the
/// paragraph itself (`text:p`, `text:h`, with `text:s` and `text:tab` for
/// spaces and tabs).
fn paragraphs<S: Sink>(xml: &[u8], odf: bool, text: &mut Groups<'_, S>) {
    let row_tag = if odf { "table-row" } else { "tr" };
    let mut r = reader(xml);
    let mut para = String::new();
    let mut row: Option<Vec<String>> = None;
    let mut in_t = false;
    let mut depth_p = 0u32;
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) => {
                let name = e.local_name();
                let name = name.as_ref();
                if name == row_tag {
                    row = Some(Vec::new());
                } else if name == "p" || (odf && name == "h") {
                    depth_p += 1;
                } else if !odf && name == "t" {
                    in_t = true;
                }
            }
            Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                "tab" => para.push('\t'),
                "br" | "line-break" => para.push('\n'),
                "s" if odf => para.push(' '),
                _ => {}
            },
            Ok(Event::End(e)) => {
                let name = e.local_name();
                let name = name.as_ref();
                if name == row_tag {
                    if let Some(cells) = row.take() {
                        text.row(&cells);
                    }
                } else if name == "p" || (odf && name == "h") {
                    depth_p = depth_p.saturating_sub(1);
                    if depth_p == 0 {
                        let p = std::mem::take(&mut para);
                        match row.as_mut() {
                            Some(cells) => cells.push(p),
                            None if !p.trim().is_empty() => text.paragraph(&p),
                            None => {}
                        }
                    }
                } else if !odf && name == "t" {
                    in_t = false;
                }
            }
            Ok(ev @ (Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)))
                if (odf && depth_p > 0) || in_t =>
            {
                push_text(&ev, &mut para)
            }
            Ok(Event::Eof) => break,
            Err(_) => {
                text.out.damaged_parts += 1;
                break;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use zip::write::SimpleFileOptions;

    use super::*;
    use crate::detect::{Found, Kind};

    fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, body) in files {
            w.start_file(*name, SimpleFileOptions::default()).unwrap();
            w.write_all(body.as_bytes()).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn found(bytes: &[u8]) -> (Format, Vec<(Kind, String, u64)>) {
        let format = kind(bytes).expect("an office file");
        let mut f = Found::default();
        let mut spent = 0;
        read(
            format,
            bytes,
            &ArchiveLimits::default(),
            32_767,
            &mut spent,
            &mut f,
        )
        .unwrap();
        (format, f.0)
    }

    const TYPES: &str = "<?xml version=\"1.0\"?><Types/>";

    /// A workbook of one sheet, its shared strings and, if given, styles.
    fn workbook(strings: &str, sheet: &str, styles: Option<&str>) -> Vec<u8> {
        let mut parts = vec![
            ("[Content_Types].xml", TYPES),
            ("xl/workbook.xml", "<workbook/>"),
            ("xl/sharedStrings.xml", strings),
            ("xl/worksheets/sheet1.xml", sheet),
        ];
        parts.extend(styles.map(|s| ("xl/styles.xml", s)));
        zip_of(&parts)
    }
    /// Cell styles: 1 a built-in date, 2 a 和暦 date of its own, 3 a number.
    const STYLES: &str = r#"<styleSheet><numFmts count="2">
        <numFmt numFmtId="176" formatCode="[$-411]ggge&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/>
        <numFmt numFmtId="177" formatCode="&quot;No.&quot;0"/></numFmts>
        <cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="176"/><xf numFmtId="177"/></cellXfs>
        </styleSheet>"#;

    #[test]
    fn a_workbook_gives_its_cells_by_row_with_dropped_zeros_repaired() {
        let strings = r#"<sst><si><t>山田 太郎</t></si><si><r><t>taro@</t></r><r><t>example.jp</t></r></si><si><t>ヤマダ タロウ</t><rPh><t>ヤマダ</t></rPh></si><si><t>C0100000001</t></si></sst>"#;
        let sheet = r#"<worksheet><sheetData>
            <row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>9012345678</v></c><c r="C1" t="s"><v>1</v></c><c r="D1" s="1"><v>31107</v></c></row>
            <row r="2"><c t="s"><v>2</v></c><c t="inlineStr"><is><t>03-1111-2222</t></is></c><c t="s"><v>3</v></c><c t="b"><v>1</v></c><c s="2"><v>21916.5</v></c><c s="3"><v>29221</v></c></row>
            </sheetData></worksheet>"#;
        let (office, f) = found(&workbook(strings, sheet, Some(STYLES)));
        assert_eq!(office, Format::Xlsx);
        assert_eq!(
            f,
            [
                // Dates styled as dates; the "No." number stays a number.
                (Kind::Phone, "09012345678".into(), 0),
                (Kind::BirthDate, "1985-03-01".into(), 0),
                (Kind::Email, "taro@example.jp".into(), 0),
                (Kind::Identifier, "C0100000001".into(), 1),
                (Kind::Phone, "0311112222".into(), 1),
                (Kind::BirthDate, "1960-01-01".into(), 1),
                (Kind::KanaName, "ヤマダタロウ".into(), 1),
            ]
        );
    }

    #[test]
    fn a_sheets_name_column_holds_even_when_cells_before_it_are_empty() {
        let strings =
            r#"<sst><si><t>氏名</t></si><si><t>山田 太郎</t></si><si><t>鈴木 一郎</t></si></sst>"#;
        // Row 2 leaves A empty (not in the XML); row 3 has it.
        let sheet = r#"<worksheet><sheetData>
            <row r="1"><c r="B1" t="s"><v>0</v></c></row>
            <row r="2"><c r="B2" t="s"><v>1</v></c></row>
            <row r="3"><c r="A3"><v>3</v></c><c r="B3" t="s"><v>2</v></c></row>
            </sheetData></worksheet>"#;
        let (_, f) = found(&workbook(strings, sheet, None));
        let names: Vec<&str> = f
            .iter()
            .filter(|(k, ..)| *k == Kind::Name)
            .map(|(_, v, _)| v.as_str())
            .collect();
        assert_eq!(names, ["山田 太郎", "鈴木 一郎"]);
        assert_eq!((column("A1"), column("B7"), column("AA3")), (0, 1, 26));
    }

    #[test]
    fn date_formats_are_told_from_number_formats() {
        for code in [
            "yyyy/m/d",
            "[$-411]ggge\"年\"m\"月\"d\"日\"",
            "m/d/yy;@",
            "DD.MM.YYYY",
        ] {
            assert!(is_date_code(code), "{code}");
        }
        for code in ["0", "\"No.\"0", "#,##0", "[Red]0.00", "h:mm:ss", "@"] {
            assert!(!is_date_code(code), "{code}");
        }
    }

    #[test]
    fn a_document_gives_paragraphs_and_table_rows() {
        let doc = r#"<w:document xmlns:w="w"><w:body>
            <w:p><w:r><w:t>ご連絡先：</w:t></w:r><w:r><w:t>090-1234-</w:t></w:r><w:r><w:t>5678</w:t></w:r></w:p>
            <w:tbl><w:tr><w:tc><w:p><w:r><w:t>C0100000002</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>hanako@example.jp</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
            <w:p><w:r><w:t>東京都千代田区千代田1-1 &amp; 〒100-0001</w:t></w:r></w:p>
            </w:body></w:document>"#;
        let d = zip_of(&[("[Content_Types].xml", TYPES), ("word/document.xml", doc)]);
        let (office, f) = found(&d);
        assert_eq!(office, Format::Docx);
        assert_eq!(
            f,
            [
                (Kind::Phone, "09012345678".into(), 0),
                (Kind::Identifier, "C0100000002".into(), 1),
                (Kind::Email, "hanako@example.jp".into(), 1),
                (Kind::PostalCode, "1000001".into(), 2),
                (
                    Kind::Address,
                    "東京都千代田区千代田1-1 & 〒100-0001".into(),
                    2
                ),
            ]
        );
    }

    #[test]
    fn slides_and_opendocument_are_read_too() {
        let slide = r#"<p:sld xmlns:a="a" xmlns:p="p"><a:p><a:r><a:t>折り返し 03-5555-0001</a:t></a:r></a:p></p:sld>"#;
        let p = zip_of(&[
            ("[Content_Types].xml", TYPES),
            ("ppt/presentation.xml", "<p/>"),
            ("ppt/slides/slide1.xml", slide),
        ]);
        assert_eq!(
            found(&p),
            (Format::Pptx, vec![(Kind::Phone, "0355550001".into(), 0)])
        );
        let content = r#"<office:document-content xmlns:office="o" xmlns:table="t" xmlns:text="x"><office:body><office:spreadsheet><table:table>
            <table:table-row><table:table-cell office:value-type="float" office:value="9012345678"><text:p>9012345678</text:p></table:table-cell><table:table-cell><text:p>yamada<text:s/>@example.jp</text:p></table:table-cell></table:table-row>
            </table:table></office:spreadsheet></office:body></office:document-content>"#;
        let o = zip_of(&[
            ("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
            ("content.xml", content),
        ]);
        let (office, f) = found(&o);
        assert_eq!(office, Format::Ods);
        assert_eq!(f[0], (Kind::Phone, "09012345678".into(), 0));
    }

    #[test]
    fn broken_xml_keeps_what_came_before_and_says_so() {
        let d = zip_of(&[
            ("[Content_Types].xml", TYPES),
            (
                "word/document.xml",
                "<w:document><w:p><w:t>090-1234-5678</w:t></w:p><w:p><w:t>x</w:t></w:q><<<",
            ),
        ]);
        let office = kind(&d).unwrap();
        let mut f = Found::default();
        let mut spent = 0;
        let r = read(
            office,
            &d,
            &ArchiveLimits::default(),
            100,
            &mut spent,
            &mut f,
        )
        .unwrap();
        assert_eq!(f.0.len(), 1);
        assert_eq!(r.damaged_parts, 1);
    }
}
