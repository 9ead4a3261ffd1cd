//! PDF text layers: each page's text, decoded through the fonts' encodings
//! and ToUnicode CMaps (Japanese PDFs set their text in CID fonts, and a
//! ToUnicode map is what turns glyph numbers back into characters). A
//! scanned page has no text layer and yields nothing: the file is read, and
//! says so only by its count of groups. A PDF that opens only with a
//! password is reported as encrypted; one that opens with the empty user
//! password (restrictions on printing or copying only) is read.

use std::collections::BTreeMap;

use lopdf::{Document, Encoding, LoadOptions, Object, ObjectId, content::Content};

use crate::{
    archive::Why,
    detect::Sink,
    extract::{Groups, Read},
};

/// Whether `bytes` start like a PDF (the header may follow a little junk).
pub fn is_pdf(bytes: &[u8]) -> bool {
    memchr::memmem::find(&bytes[..bytes.len().min(1024)], b"%PDF-").is_some()
}

/// Reads every page's text into `sink`; `max_page_bytes` bounds what one
/// page's content streams may inflate to (a deflate bomb in a page).
pub fn read(
    bytes: &[u8],
    max_page_bytes: usize,
    max_cell_chars: usize,
    sink: &mut impl Sink,
) -> Result<Read, Why> {
    let mut groups = Groups::new(sink, max_cell_chars);
    let options = LoadOptions {
        max_decompressed_size: Some(max_page_bytes),
        ..LoadOptions::with_password("")
    };
    let doc = match Document::load_mem_with_options(bytes, options) {
        Ok(doc) => doc,
        Err(_) if memchr::memmem::find(bytes, b"/Encrypt").is_some() => {
            return Err(Why::Encrypted);
        }
        Err(_) => return Err(Why::Damaged),
    };
    for page in doc.get_pages().into_values() {
        match page_text(&doc, page, max_page_bytes) {
            Ok(text) => groups.lines(&text),
            Err(_) => groups.out.damaged_parts += 1,
        }
    }
    Ok(groups.out)
}

/// A page's text, a line for each baseline. A line set in two fonts (kana
/// in a CJK font, digits and addresses in a Latin one, as word processors
/// do) is one line here, so a name and a phone number printed side by side
/// stay one group; a move to another baseline (Td, TD, Tm, T*, ' and ")
/// starts a new line, a move along the same one a space.
fn page_text(doc: &Document, page: ObjectId, max_bytes: usize) -> lopdf::Result<String> {
    let fonts: BTreeMap<Vec<u8>, Encoding<'_>> = doc
        .get_page_fonts(page)?
        .into_iter()
        .filter_map(|(name, font)| {
            font.get_font_encoding_with_limit(doc, max_bytes)
                .ok()
                .map(|e| (name, e))
        })
        .collect();
    let content = Content::decode(&doc.get_page_content_with_limit(page, max_bytes)?)?;
    let mut text = String::new();
    let mut font = None;
    // The baseline of the text matrix, and of the last text shown.
    let (mut y, mut shown_y) = (0f32, None::<f32>);
    let mut moved = false;
    let num = |ops: &[Object], i: usize| ops.get(i).and_then(|o| o.as_float().ok()).unwrap_or(0.0);
    for op in &content.operations {
        let ops = op.operands.as_slice();
        let show: &[Object] = match op.operator.as_str() {
            "BT" => {
                y = 0.0;
                continue;
            }
            "Td" | "TD" => {
                y += num(ops, 1);
                moved = true;
                continue;
            }
            "Tm" => {
                y = num(ops, 5);
                moved = true;
                continue;
            }
            "T*" => {
                // The leading is not tracked: any value is another line.
                y -= 1.0;
                continue;
            }
            "Tf" => {
                font = ops
                    .first()
                    .and_then(|o| o.as_name().ok())
                    .and_then(|n| fonts.get(n));
                continue;
            }
            "'" => {
                y -= 1.0;
                ops
            }
            "\"" => {
                y -= 1.0;
                ops.get(2).map(std::slice::from_ref).unwrap_or_default()
            }
            "Tj" | "TJ" => ops,
            _ => continue,
        };
        let Some(encoding) = font else { continue };
        match shown_y {
            Some(last) if (last - y).abs() > 0.5 => text.push('\n'),
            Some(_) if moved => text.push(' '),
            _ => {}
        }
        shown_y = Some(y);
        moved = false;
        strings(show, encoding, &mut text);
    }
    Ok(text)
}

/// A show operator's strings; a wide gap inside a TJ array is a space.
fn strings(ops: &[Object], encoding: &Encoding<'_>, text: &mut String) {
    for o in ops {
        match o {
            Object::String(bytes, _) => {
                if let Ok(s) = Document::decode_text(encoding, bytes) {
                    text.push_str(&s);
                }
            }
            Object::Array(items) => strings(items, encoding, text),
            Object::Integer(i) if *i < -100 => text.push(' '),
            Object::Real(r) if *r < -100.0 => text.push(' '),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use lopdf::{Stream, content::Operation, dictionary};

    use super::*;
    use crate::detect::{Found, Kind};

    /// A one-page PDF setting `codes` (two bytes each) in a Type0 font whose
    /// ToUnicode CMap maps code n to `chars[n]` — as a Japanese PDF made by
    /// Word or LibreOffice does, with glyph numbers that mean nothing alone.
    fn cid_pdf(chars: &[char], text: &str) -> Vec<u8> {
        let mut doc = Document::with_version("1.5");
        let mut cmap = String::from(
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
             /CMapName /Test def /CMapType 2 def\n\
             1 begincodespacerange <0000> <FFFF> endcodespacerange\n",
        );
        cmap.push_str(&format!("{} beginbfchar\n", chars.len()));
        for (i, c) in chars.iter().enumerate() {
            cmap.push_str(&format!("<{:04X}> <{:04X}>\n", i + 1, *c as u32));
        }
        cmap.push_str("endbfchar endcmap CMapName currentdict /CMap defineresource pop end end");
        let to_unicode = doc.add_object(Stream::new(dictionary! {}, cmap.into_bytes()));
        let cid_font = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "CIDFontType2", "BaseFont" => "Test",
            "CIDSystemInfo" => dictionary! { "Registry" => Object::string_literal("Adobe"),
                "Ordering" => Object::string_literal("Identity"), "Supplement" => 0 },
        });
        let font = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "Test",
            "Encoding" => "Identity-H", "DescendantFonts" => vec![cid_font.into()],
            "ToUnicode" => to_unicode,
        });
        let codes: Vec<u8> = text
            .chars()
            .map(|c| chars.iter().position(|&k| k == c).unwrap() as u16 + 1)
            .flat_map(u16::to_be_bytes)
            .collect();
        let content = Content {
            operations: vec![
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F1".into(), 12.into()]),
                Operation::new("Td", vec![72.into(), 720.into()]),
                Operation::new(
                    "Tj",
                    vec![Object::String(codes, lopdf::StringFormat::Hexadecimal)],
                ),
                Operation::new("ET", vec![]),
            ],
        };
        let pages = doc.new_object_id();
        let contents = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages, "Contents" => contents,
            "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        });
        doc.objects.insert(
            pages,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
            }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages });
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        out
    }

    #[test]
    fn text_set_in_a_cid_font_is_read_through_its_tounicode_map() {
        let text = "ヤマダ タロウ ０９０－１２３４－５６７８";
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort();
        chars.dedup();
        let pdf = cid_pdf(&chars, text);
        assert!(is_pdf(&pdf));
        assert!(
            memchr::memmem::find(&pdf, "０９０".as_bytes()).is_none(),
            "the text is not in the file as characters"
        );
        let mut f = Found::default();
        let r = read(&pdf, 64 << 20, 32_767, &mut f).unwrap();
        assert_eq!(r.damaged_parts, 0);
        assert_eq!(
            f.0,
            [
                (Kind::Phone, "09012345678".into(), 0),
                (Kind::KanaName, "ヤマダタロウ".into(), 0),
            ]
        );
    }

    #[test]
    fn damaged_and_encrypted_pdfs_say_so() {
        let mut f = Found::default();
        assert_eq!(
            read(b"%PDF-1.7\nnot a pdf", 1 << 20, 100, &mut f).unwrap_err(),
            Why::Damaged
        );
        assert_eq!(
            read(
                b"%PDF-1.7\ntrailer << /Encrypt 5 0 R >>",
                1 << 20,
                100,
                &mut f
            )
            .unwrap_err(),
            Why::Encrypted
        );
        assert!(!is_pdf(b"plain text"));
    }
}
