//! Text in whatever encoding the file was written in, detected per file.
//!
//! Japanese PCs hold UTF-8 next to Shift_JIS (CP932) CSVs exported from Excel,
//! EUC-JP from old Unix systems and UTF-16 from Windows tools, often in one
//! folder; a scanner that assumes one encoding per run misses the rest
//! (ripgrep's maintainer on mixed directories: "You can't"). Each file is
//! decided on its own: a byte-order mark; UTF-16 without one by where its zero
//! bytes fall; valid UTF-8; otherwise Shift_JIS (the WHATWG decoder, which
//! covers the CP932 extensions) or EUC-JP, whichever decodes without errors —
//! and when both or neither do, whichever reads as more Japanese text.

use std::borrow::Cow;

use encoding_rs::{EUC_JP, Encoding, SHIFT_JIS, UTF_8, UTF_16BE, UTF_16LE};

/// A file's text and the encoding it was read in.
pub struct Decoded<'a> {
    /// The text: borrowed when the bytes were UTF-8 already (no copy).
    pub text: Cow<'a, str>,
    pub encoding: &'static str,
    /// Bytes that did not decode (replaced by U+FFFD).
    pub malformed: bool,
}

/// Decodes `bytes` in the encoding detected for them.
pub fn decode(bytes: &[u8]) -> Decoded<'_> {
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        return with(enc, &bytes[bom..]);
    }
    if let Some(enc) = utf16_without_bom(bytes) {
        return with(enc, bytes);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Decoded {
            text: Cow::Borrowed(s),
            encoding: UTF_8.name(),
            malformed: false,
        };
    }
    let sjis = with(SHIFT_JIS, bytes);
    let euc = with(EUC_JP, bytes);
    match (sjis.malformed, euc.malformed) {
        (false, true) => sjis,
        (true, false) => euc,
        _ if japanese_share(&euc.text) > japanese_share(&sjis.text) => euc,
        _ => sjis,
    }
}

fn with<'a>(enc: &'static Encoding, bytes: &'a [u8]) -> Decoded<'a> {
    let (text, malformed) = enc.decode_without_bom_handling(bytes);
    Decoded {
        text,
        encoding: enc.name(),
        malformed,
    }
}

/// UTF-16 without a byte-order mark: ASCII and most punctuation put a zero in
/// every other byte, which no 8-bit Japanese encoding does.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    let sample = &bytes[..bytes.len().min(4096) & !1];
    if sample.len() < 4 {
        return None;
    }
    let pairs = sample.len() / 2;
    let zero_at = |odd: usize| {
        sample
            .chunks_exact(2)
            .filter(|p| p[odd] == 0 && p[1 - odd] != 0)
            .count()
    };
    let (even, odd) = (zero_at(0), zero_at(1));
    // At least a third of the units look like ASCII in one byte order and
    // almost none in the other.
    if odd * 3 >= pairs && even * 20 < pairs {
        Some(UTF_16LE)
    } else if even * 3 >= pairs && odd * 20 < pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// The share of characters that are kana, kanji or Japanese punctuation: a
/// wrong guess between Shift_JIS and EUC-JP decodes into unrelated kanji
/// and half-width katakana mixed with replacement characters.
fn japanese_share(s: &str) -> f64 {
    let (mut jp, mut all) = (0usize, 0usize);
    for c in s.chars().filter(|c| !c.is_ascii()) {
        all += 1;
        if matches!(c, '\u{3000}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}' | '\u{FF01}'..='\u{FF5E}')
        {
            jp += 1;
        }
    }
    if all == 0 {
        0.0
    } else {
        jp as f64 / all as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "氏名,電話\n山田 太郎,090-1234-5678\nｶﾅ ﾃｽﾄ,03-1234-5678\n";

    fn encode(enc: &'static Encoding, s: &str) -> Vec<u8> {
        enc.encode(s).0.into_owned()
    }

    #[test]
    fn each_encoding_is_recognised_on_its_own() {
        for (bytes, name) in [
            (TEXT.as_bytes().to_vec(), "UTF-8"),
            (encode(SHIFT_JIS, TEXT), "Shift_JIS"),
            (encode(EUC_JP, TEXT), "EUC-JP"),
            (
                [b"\xEF\xBB\xBF".as_slice(), TEXT.as_bytes()].concat(),
                "UTF-8",
            ),
        ] {
            let d = decode(&bytes);
            assert_eq!((d.encoding, &*d.text, d.malformed), (name, TEXT, false));
        }
        let le: Vec<u8> = TEXT.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = TEXT.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for (bytes, name) in [(le.clone(), "UTF-16LE"), (be.clone(), "UTF-16BE")] {
            let d = decode(&bytes);
            assert_eq!((d.encoding, &*d.text), (name, TEXT), "without a BOM");
        }
        let with_bom = [b"\xFF\xFE".as_slice(), &le].concat();
        assert_eq!(decode(&with_bom).text, TEXT);
    }

    #[test]
    fn cp932_extensions_decode() {
        // ① and 髙 are CP932 extensions (NEC and IBM rows).
        let s = "①髙橋\n";
        let bytes = encode(SHIFT_JIS, s);
        let d = decode(&bytes);
        assert_eq!((&*d.text, d.malformed), (s, false));
    }

    #[test]
    fn bytes_of_no_encoding_are_marked_malformed() {
        let d = decode(&[0x82, 0xFF, 0xFE, 0x81, 0x00, 0x9F, 0xFD]);
        assert!(d.malformed);
    }
}
