//! Compound files (OLE2): the binary Office formats of 1997–2003 that still
//! fill shared drives — Excel's xls, Word's doc, PowerPoint's ppt — and
//! Outlook's msg (read by `mail.rs`), told apart by the streams they hold.
//! An Office file protected by a password is a compound file too (its
//! `EncryptionInfo` stream), as is a legacy file with its own password
//! (Excel's FILEPASS record, Word's fEncrypted bit, PowerPoint's encrypted
//! summary): those are reported as encrypted, never guessed at.
//!
//! Workbooks are read by calamine; documents and presentations by their
//! text streams here (a Word document's piece table, a presentation's text
//! atoms), which is all a search for personal data needs of them.

use std::io::{Cursor, Read as _};

use calamine::{Data, Reader as _, Xls, XlsError};
use chrono::{Days, NaiveDate};

use crate::{
    archive::Why,
    detect::Sink,
    extract::{Format, Groups, Read},
};

/// OLE2's signature.
const SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// What a compound file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compound {
    /// A file this scanner reads as `Format`.
    Read(Format),
    /// A password-protected Office file: may hold anything.
    Encrypted,
    /// A compound file of another kind (a thumbnail cache, a Visio drawing).
    Other,
    /// The signature, then no readable compound file.
    Damaged,
}

type Ole<'b> = cfb::CompoundFile<Cursor<&'b [u8]>>;

/// Whether `bytes` are a compound file, and which.
pub fn compound(bytes: &[u8]) -> Option<Compound> {
    if !bytes.starts_with(&SIGNATURE) {
        return None;
    }
    let Ok(ole) = cfb::CompoundFile::open(Cursor::new(bytes)) else {
        return Some(Compound::Damaged);
    };
    let has = |name: &str| ole.is_stream(name) || ole.is_storage(name);
    Some(if has("/EncryptionInfo") || has("/EncryptedPackage") {
        Compound::Encrypted
    } else if has("/Workbook") || has("/Book") {
        Compound::Read(Format::Xls)
    } else if has("/WordDocument") {
        Compound::Read(Format::Doc)
    } else if has("/PowerPoint Document") {
        Compound::Read(Format::Ppt)
    } else if has("/__properties_version1.0") {
        Compound::Read(Format::Msg)
    } else {
        Compound::Other
    })
}

/// Reads a legacy workbook, document or presentation into `sink`.
pub fn read(
    format: Format,
    bytes: &[u8],
    max_cell_chars: usize,
    sink: &mut impl Sink,
) -> Result<Read, Why> {
    let mut groups = Groups::new(sink, max_cell_chars);
    match format {
        Format::Xls => workbook(bytes, &mut groups)?,
        Format::Doc => groups.lines(&document(&mut open(bytes)?)?),
        Format::Ppt => presentation(&mut open(bytes)?, &mut groups)?,
        _ => return Err(Why::Damaged),
    }
    Ok(groups.out)
}

fn open(bytes: &[u8]) -> Result<Ole<'_>, Why> {
    cfb::CompoundFile::open(Cursor::new(bytes)).map_err(|_| Why::Damaged)
}

/// A stream's bytes, whole.
pub(crate) fn stream(ole: &mut Ole<'_>, path: &str) -> Result<Vec<u8>, Why> {
    let mut s = ole.open_stream(path).map_err(|_| Why::Damaged)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).map_err(|_| Why::Damaged)?;
    Ok(out)
}

/// Every sheet's rows, cells as a spreadsheet shows them: numbers without
/// a spurious `.0` (so a mobile stored as 9012345678 is repaired like a CSV
/// cell) and dates as dates (a birth date typed into Excel is a serial
/// number underneath).
fn workbook<S: Sink>(bytes: &[u8], groups: &mut Groups<'_, S>) -> Result<(), Why> {
    let mut book = Xls::new(Cursor::new(bytes)).map_err(|e| match e {
        XlsError::Password => Why::Encrypted,
        _ => Why::Damaged,
    })?;
    let epoch_1904 = book.has_1904_epoch();
    for (_, sheet) in book.worksheets() {
        groups.table();
        for row in sheet.rows() {
            // Empty cells keep their place: a header says which column is what.
            let cells: Vec<String> = row
                .iter()
                .map(|c| cell(c, epoch_1904).unwrap_or_default())
                .collect();
            if cells.iter().any(|c| !c.is_empty()) {
                groups.row(&cells);
            }
        }
    }
    Ok(())
}

fn cell(c: &Data, epoch_1904: bool) -> Option<String> {
    match c {
        Data::String(s) | Data::DateTimeIso(s) => Some(s.clone()),
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{}", *f as i64)),
        Data::Float(f) => Some(f.to_string()),
        Data::DateTime(d) if d.is_datetime() => {
            serial_date(d.as_f64(), epoch_1904).map(|d| d.format("%Y-%m-%d").to_string())
        }
        _ => None,
    }
}

/// The calendar date of an Excel serial number. The 1900 system counts the
/// 29th of February 1900 that never was (Lotus 1-2-3's bug, kept for
/// compatibility), so serials from 61 on are a day ahead.
pub fn serial_date(serial: f64, epoch_1904: bool) -> Option<NaiveDate> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let days = serial.trunc() as u64;
    let (base, days) = match (epoch_1904, days) {
        (true, d) => (NaiveDate::from_ymd_opt(1904, 1, 1)?, d),
        (false, 60) => return None,
        (false, d) if d < 60 => (NaiveDate::from_ymd_opt(1899, 12, 31)?, d),
        (false, d) => (NaiveDate::from_ymd_opt(1899, 12, 30)?, d),
    };
    base.checked_add_days(Days::new(days))
}

/// A Word 97–2003 document's text, from its piece table ([MS-DOC] 2.8.35):
/// the FIB says which table stream holds the CLX; each piece of the CLX is a
/// run of the document's characters, stored as UTF-16 or, "compressed", as
/// one byte each (cp1252). Paragraph, cell and row marks become line
/// breaks and tabs; field marks become spaces.
fn document(ole: &mut Ole<'_>) -> Result<String, Why> {
    let word = stream(ole, "/WordDocument")?;
    let u16_at = |at: usize| {
        word.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        word.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if u16_at(0) != Some(0xA5EC) {
        return Err(Why::Damaged);
    }
    // Word 6 and 95 (nFib 101–105) keep their text another way.
    if u16_at(2).is_some_and(|n| n < 0x00C1) {
        return Err(Why::OldVersion);
    }
    let flags = u16_at(0x0A).ok_or(Why::Damaged)?;
    if flags & 0x0100 != 0 {
        return Err(Why::Encrypted);
    }
    let table = if flags & 0x0200 != 0 {
        "/1Table"
    } else {
        "/0Table"
    };
    // FibBase (32 bytes), then three length-prefixed arrays: 16-bit words,
    // 32-bit words, then (fc, lcb) pairs of which the CLX is the 34th.
    let csw = usize::from(u16_at(32).ok_or(Why::Damaged)?);
    let lw_at = 34 + csw * 2;
    let cslw = usize::from(u16_at(lw_at).ok_or(Why::Damaged)?);
    let pairs_at = lw_at + 2 + cslw * 4 + 2;
    let fc_clx = u32_at(pairs_at + 33 * 8).ok_or(Why::Damaged)? as usize;
    let lcb_clx = u32_at(pairs_at + 33 * 8 + 4).ok_or(Why::Damaged)? as usize;
    let table = stream(ole, table)?;
    let clx = table
        .get(fc_clx..fc_clx.saturating_add(lcb_clx))
        .ok_or(Why::Damaged)?;
    let mut text = String::new();
    for (start, end, fc) in pieces(clx)? {
        let n = end.saturating_sub(start) as usize;
        if fc & 0x4000_0000 != 0 {
            let at = ((fc & 0x3FFF_FFFF) / 2) as usize;
            let bytes = word.get(at..at + n).ok_or(Why::Damaged)?;
            text.push_str(
                &encoding_rs::WINDOWS_1252
                    .decode_without_bom_handling(bytes)
                    .0,
            );
        } else {
            let at = fc as usize;
            let bytes = word.get(at..at + 2 * n).ok_or(Why::Damaged)?;
            let units = bytes
                .chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]));
            text.extend(char::decode_utf16(units).map(|c| c.unwrap_or('\u{FFFD}')));
        }
    }
    Ok(word_marks(&text))
}

/// The pieces of a CLX: (first character, end character, file offset) of
/// each. Property modifiers (Prc, 0x01) come first and are skipped.
fn pieces(mut clx: &[u8]) -> Result<Vec<(u32, u32, u32)>, Why> {
    loop {
        match clx.first() {
            Some(0x01) => {
                let cb = clx.get(1..3).ok_or(Why::Damaged)?;
                let cb = usize::from(u16::from_le_bytes([cb[0], cb[1]]));
                clx = clx.get(3 + cb..).ok_or(Why::Damaged)?;
            }
            Some(0x02) => break,
            _ => return Err(Why::Damaged),
        }
    }
    let lcb = clx.get(1..5).ok_or(Why::Damaged)?;
    let lcb = u32::from_le_bytes([lcb[0], lcb[1], lcb[2], lcb[3]]) as usize;
    let plc = clx.get(5..5 + lcb).ok_or(Why::Damaged)?;
    // n + 1 character positions (4 bytes each), then n 8-byte descriptors.
    if lcb < 4 || !(lcb - 4).is_multiple_of(12) {
        return Err(Why::Damaged);
    }
    let n = (lcb - 4) / 12;
    let u32_at = |at: usize| u32::from_le_bytes([plc[at], plc[at + 1], plc[at + 2], plc[at + 3]]);
    Ok((0..n)
        .map(|i| {
            let pcd = 4 * (n + 1) + 8 * i;
            (u32_at(4 * i), u32_at(4 * i + 4), u32_at(pcd + 2))
        })
        .collect())
}

/// Word's marks as plain text: a paragraph mark (CR) or a manual line
/// break (VT) ends a line; a cell mark (BEL) is a tab, and two in a row
/// (the last cell's, then the row's own) end the row; field begin,
/// separator and end marks are spaces (a field's code can hold a mailto:).
fn word_marks(text: &str) -> String {
    text.replace("\u{7}\u{7}", "\n")
        .chars()
        .map(|c| match c {
            '\r' | '\u{B}' | '\u{C}' => '\n',
            '\u{7}' => '\t',
            '\u{13}' | '\u{14}' | '\u{15}' | '\u{1}' | '\u{8}' => ' ',
            c => c,
        })
        .collect()
}

/// A PowerPoint 97–2003 presentation's text: the "PowerPoint Document"
/// stream is a tree of records ([MS-PPT] 2.3.1); text boxes, notes and
/// outlines keep their characters in TextCharsAtom (UTF-16) and
/// TextBytesAtom (the low bytes of UTF-16) records. Each text atom's lines
/// are groups.
fn presentation<S: Sink>(ole: &mut Ole<'_>, groups: &mut Groups<'_, S>) -> Result<(), Why> {
    if ole.is_stream("/EncryptedSummary") {
        return Err(Why::Encrypted);
    }
    let doc = stream(ole, "/PowerPoint Document")?;
    let mut at = 0usize;
    while let Some(h) = doc.get(at..at + 8) {
        let ver = h[0] & 0x0F;
        let kind = u16::from_le_bytes([h[2], h[3]]);
        let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
        at += 8;
        // A container's records follow its header: walk into it.
        if ver == 0x0F {
            continue;
        }
        let Some(body) = doc.get(at..at.saturating_add(len)) else {
            groups.out.damaged_parts += 1;
            break;
        };
        match kind {
            0x0FA0 => {
                let units = body
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]));
                let s: String = char::decode_utf16(units)
                    .map(|c| c.unwrap_or('\u{FFFD}'))
                    .collect();
                groups.lines(&s.replace(['\r', '\u{B}'], "\n"));
            }
            0x0FA8 => {
                let s: String = body.iter().map(|&b| char::from(b)).collect();
                groups.lines(&s.replace(['\r', '\u{B}'], "\n"));
            }
            _ => {}
        }
        at += len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_serials_are_the_dates_excel_shows() {
        let d = |s, e| serial_date(s, e).map(|d| d.to_string());
        assert_eq!(d(1.0, false).as_deref(), Some("1900-01-01"));
        assert_eq!(d(59.0, false).as_deref(), Some("1900-02-28"));
        assert_eq!(d(60.0, false), None, "the day that never was");
        assert_eq!(d(61.0, false).as_deref(), Some("1900-03-01"));
        assert_eq!(d(29221.0, false).as_deref(), Some("1980-01-01"));
        assert_eq!(d(31422.75, false).as_deref(), Some("1986-01-10"));
        assert_eq!(d(27759.0, true).as_deref(), Some("1980-01-01"));
        assert_eq!(d(0.5, false), None);
        assert_eq!(d(f64::NAN, false), None);
    }

    #[test]
    fn word_marks_become_lines_and_cells() {
        assert_eq!(
            word_marks(
                "氏名\r山田\u{7}090\u{7}\u{7}佐藤\u{7}03\u{7}\u{7}\u{13}HYPERLINK\u{14}x\u{15}"
            ),
            "氏名\n山田\t090\n佐藤\t03\n HYPERLINK x "
        );
    }

    #[test]
    fn a_piece_table_is_read_and_a_broken_one_refused() {
        // One Prc of 2 bytes, then a table of two pieces.
        let mut clx = vec![0x01, 2, 0, 0xAA, 0xBB, 0x02];
        let plc: Vec<u8> = [0u32, 5, 9]
            .iter()
            .flat_map(|c| c.to_le_bytes())
            .chain(
                [0u8, 0]
                    .into_iter()
                    .chain(0x400u32.to_le_bytes())
                    .chain([0, 0]),
            )
            .chain(
                [0u8, 0]
                    .into_iter()
                    .chain(0x4000_0800u32.to_le_bytes())
                    .chain([0, 0]),
            )
            .collect();
        clx.extend((plc.len() as u32).to_le_bytes());
        clx.extend(&plc);
        assert_eq!(pieces(&clx), Ok(vec![(0, 5, 0x400), (5, 9, 0x4000_0800)]));
        assert_eq!(pieces(&clx[..clx.len() - 1]), Err(Why::Damaged));
        assert_eq!(pieces(&[0x07]), Err(Why::Damaged));
    }

    #[test]
    fn compound_files_are_told_apart_by_their_streams() {
        let mut signature_only = SIGNATURE.to_vec();
        signature_only.extend_from_slice(&[0; 512]);
        assert_eq!(compound(&signature_only), Some(Compound::Damaged));
        assert_eq!(compound(b"PK\x03\x04"), None);
        for (stream, expected) in [
            ("Workbook", Compound::Read(Format::Xls)),
            ("WordDocument", Compound::Read(Format::Doc)),
            ("PowerPoint Document", Compound::Read(Format::Ppt)),
            ("__properties_version1.0", Compound::Read(Format::Msg)),
            ("EncryptionInfo", Compound::Encrypted),
            ("Thumbs", Compound::Other),
        ] {
            let mut ole = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
            ole.create_stream(format!("/{stream}")).unwrap();
            let bytes = ole.into_inner().into_inner();
            assert_eq!(compound(&bytes), Some(expected), "{stream}");
        }
    }
}
