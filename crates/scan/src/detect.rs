//! Detectors: candidates of personal data in a line of text or a cell, each
//! checked and made canonical by the vault's own normaliser
//! (`mamori_core::normalize`), so that a candidate's form is exactly what the
//! blind indexes hold.
//!
//! A line is first brought to NFKC (full-width digits and letters to ASCII,
//! half-width katakana to full-width), so the patterns are written once; the
//! dashes people type between digits are in the patterns themselves. Numbers
//! are found as runs of digits and separators and then classified: a run that
//! is a valid My Number (check digit) or card number (Luhn) is that, a run
//! that normalises as a Japanese phone number is a phone, `〒` or the 3-4
//! shape makes a postal code. Names are runs of katakana in two parts;
//! addresses start at a prefecture's name.

use std::{borrow::Cow, collections::HashSet, sync::LazyLock};

use mamori_core::{FieldType, MaskKind, case_id::luhn, jp::PREFECTURES, mask, normalize};
use regex::Regex;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// What a candidate is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Phone,
    Email,
    MyNumber,
    Card,
    PostalCode,
    BirthDate,
    Address,
    KanaName,
    /// A name in kanji, in a table column headed as one (氏名, お名前 …):
    /// counted among a file's items, never matched (a name alone is shared
    /// by many people, and free text holds no sure sign of one).
    Name,
    /// A cell of a table shaped like a customer number (letters, digits and
    /// hyphens with at least one digit): matched only against a tenant's
    /// key field, and only ever as a second field of a row.
    Identifier,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Phone,
        Kind::Email,
        Kind::MyNumber,
        Kind::Card,
        Kind::PostalCode,
        Kind::BirthDate,
        Kind::Address,
        Kind::KanaName,
        Kind::Name,
        Kind::Identifier,
    ];

    /// The field type a vault matches this kind against, if any: card
    /// numbers are never stored in a searchable field.
    pub fn field_type(self) -> Option<FieldType> {
        Some(match self {
            Kind::Phone => FieldType::Phone,
            Kind::Email => FieldType::Email,
            Kind::MyNumber => FieldType::MyNumber,
            Kind::PostalCode => FieldType::PostalCode,
            Kind::BirthDate => FieldType::Date,
            Kind::Address => FieldType::Address,
            Kind::KanaName => FieldType::Kana,
            Kind::Identifier => FieldType::Text,
            Kind::Card | Kind::Name => return None,
        })
    }

    /// 要配慮 or a risk of financial harm when leaked (report categories ① ②).
    pub fn is_high_risk(self) -> bool {
        matches!(self, Kind::MyNumber | Kind::Card)
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            Kind::Phone => "電話番号",
            Kind::Email => "メールアドレス",
            Kind::MyNumber => "個人番号（マイナンバー）",
            Kind::Card => "クレジットカード番号",
            Kind::PostalCode => "郵便番号",
            Kind::BirthDate => "生年月日",
            Kind::Address => "住所",
            Kind::KanaName => "氏名（カナ）",
            Kind::Name => "氏名",
            Kind::Identifier => "顧客番号らしき値",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Kind::Phone => "phone number",
            Kind::Email => "e-mail address",
            Kind::MyNumber => "My Number",
            Kind::Card => "card number",
            Kind::PostalCode => "postal code",
            Kind::BirthDate => "date of birth",
            Kind::Address => "address",
            Kind::KanaName => "name in kana",
            Kind::Name => "name",
            Kind::Identifier => "customer-number-like value",
        }
    }

    /// How an example of this kind is shown: never in full.
    pub fn mask(self, value: &str) -> String {
        let (kind, ty) = match self {
            Kind::Phone | Kind::MyNumber | Kind::Card | Kind::Identifier => {
                (MaskKind::Last4, FieldType::Text)
            }
            Kind::Email => (MaskKind::Domain, FieldType::Email),
            Kind::PostalCode => (MaskKind::Last4, FieldType::Text),
            Kind::BirthDate => (MaskKind::Year, FieldType::Date),
            Kind::Address => (MaskKind::Prefecture, FieldType::Address),
            Kind::KanaName | Kind::Name => (MaskKind::Initial, FieldType::Text),
        };
        mask::apply(kind, ty, value)
    }
}

/// One value found: its kind, its canonical form, and the group it was found
/// in (a line of text, a row of a table) — two values of one group that
/// point to the same customer confirm each other.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub kind: Kind,
    pub value: Zeroizing<String>,
    pub group: u64,
}

/// Where candidates go.
pub trait Sink {
    fn found(&mut self, kind: Kind, canonical: String, group: u64);
}

static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    // A digit, then digits and the separators people put between them, then
    // a digit; a leading + or ( for +81 and (03) forms.
    Regex::new(r"[+(]?[0-9][0-9()\s.\-‐‑‒–—―−ー－ｰ]{5,24}[0-9]").expect("pattern")
});
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+").expect("pattern")
});
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?:(?:明治|大正|昭和|平成|令和|[MTSHR])\s?(?:[0-9]{1,2}|元)[年./\-][0-9]{1,2}[月./\-][0-9]{1,2}日?)",
        r"|(?:(?:19|20)[0-9]{2}[年/.\-][0-9]{1,2}[月/.\-][0-9]{1,2}日?)"
    ))
    .expect("pattern")
});
static KANA_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[ァ-ヺ][ァ-ヺー]{0,9}[ 　・][ァ-ヺ][ァ-ヺー]{0,9}").expect("pattern")
});
static PREFECTURE_NAMES: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| PREFECTURES.into_iter().collect());

/// Longest address taken after a prefecture's name, in characters.
const ADDRESS_CHARS: usize = 40;

/// The text the patterns read: NFKC, but only where it changes what they
/// can see. Everything the patterns look for that NFKC rewrites — full-width
/// digits, letters and signs, half-width katakana — lies in U+FF00–U+FFEF
/// (UTF-8 `EF BC`..`EF BF`); a line without such a character is read as it
/// is, without a copy. Values found are normalised in full either way.
fn folded(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let wide = memchr::memchr_iter(0xEF, b).any(|i| matches!(b.get(i + 1), Some(0xBC..=0xBF)));
    if wide {
        Cow::Owned(normalize::nfkc(text))
    } else {
        Cow::Borrowed(text)
    }
}

/// What a (folded) line may hold, from a few vectorised byte searches: each
/// detector runs only where its pattern could match at all.
struct Shape {
    digit: bool,
    at: bool,
    katakana: bool,
    prefecture: bool,
}

/// The last character of every prefecture's name (都, 道, 府, 県) in UTF-8.
static PREFECTURE_ENDS: LazyLock<[memchr::memmem::Finder<'static>; 4]> = LazyLock::new(|| {
    ["都", "道", "府", "県"].map(|c| memchr::memmem::Finder::new(c.as_bytes()).into_owned())
});

impl Shape {
    fn of(text: &str) -> Shape {
        let b = text.as_bytes();
        Shape {
            digit: b.iter().any(u8::is_ascii_digit),
            at: memchr::memchr(b'@', b).is_some(),
            // Katakana ァ-ヺ and ー are U+30A1–U+30FC: `E3 82 A1`..`E3 83 BC`.
            katakana: memchr::memchr_iter(0xE3, b)
                .any(|i| matches!(b.get(i + 1), Some(0x82 | 0x83))),
            prefecture: PREFECTURE_ENDS.iter().any(|f| f.find(b).is_some()),
        }
    }
}

/// Finds candidates in a line of free text.
pub fn line(text: &str, group: u64, sink: &mut impl Sink) {
    let text = folded(text);
    let shape = Shape::of(&text);
    if shape.digit {
        numbers(&text, group, sink);
        for m in DATE.find_iter(&text) {
            if let Ok(v) = normalize::normalize(FieldType::Date, m.as_str()) {
                sink.found(Kind::BirthDate, v, group);
            }
        }
    }
    if shape.at {
        for m in EMAIL.find_iter(&text) {
            if let Ok(v) = normalize::normalize(FieldType::Email, m.as_str()) {
                sink.found(Kind::Email, v, group);
            }
        }
    }
    if shape.katakana {
        for m in KANA_NAME.find_iter(&text) {
            if let Ok(v) = normalize::normalize(FieldType::Kana, m.as_str()) {
                sink.found(Kind::KanaName, v, group);
            }
        }
    }
    if shape.prefecture {
        addresses(&text, group, sink);
    }
}

/// Letters, digits and hyphens, 4 to 32 of them, starting with a letter or
/// digit and holding both: a customer number (C0100000001), not a word or a
/// plain number.
fn identifier_shaped(s: &str) -> bool {
    let b = s.as_bytes();
    (4..=32).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b.iter().any(u8::is_ascii_digit)
        && b.iter().any(u8::is_ascii_alphabetic)
}

/// Finds candidates in a row of a table: what only a cell can say (below)
/// for each cell, and what a line holds for the text of the other cells —
/// read once, joined by commas, which no pattern crosses (one pass over a row
/// instead of one per cell: most of a scan's time was the passes' set-up).
/// `buf` is scratch space kept across rows.
pub fn row<'c>(
    cells: impl IntoIterator<Item = &'c str>,
    group: u64,
    sink: &mut impl Sink,
    buf: &mut String,
) {
    buf.clear();
    for c in cells {
        // A cell that was a customer number or a repaired number is done.
        if cell_only(c, group, sink) {
            continue;
        }
        if !buf.is_empty() {
            buf.push(',');
        }
        buf.push_str(c);
    }
    if !buf.is_empty() {
        line(buf, group, sink);
    }
}

/// Headers of a column of names in kanji, as Japanese lists title them
/// (NFKC, spaces removed); a header naming a reading (カナ, フリガナ) is not one.
const NAME_HEADERS: [&str; 12] = [
    "氏名",
    "名前",
    "お名前",
    "顧客名",
    "お客様名",
    "お客さま名",
    "契約者名",
    "契約者氏名",
    "利用者名",
    "名義",
    "名義人",
    "氏名(漢字)",
];

/// The columns of a table's header row that hold names in kanji, if the
/// row is such a header.
pub fn name_columns<'c>(cells: impl IntoIterator<Item = &'c str>) -> Option<Vec<usize>> {
    let cols: Vec<usize> = cells
        .into_iter()
        .enumerate()
        // Every header ends in 名 or 義 (or holds 名): most cells are out
        // before any folding (this runs on every row of every table).
        .filter(|(_, c)| c.len() <= 64 && (c.contains('名') || c.contains('義')))
        .filter(|(_, c)| {
            let h: String = normalize::nfkc(c.trim())
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            NAME_HEADERS.contains(&h.as_str())
        })
        .map(|(i, _)| i)
        .collect();
    (!cols.is_empty()).then_some(cols)
}

/// A cell of a name column that holds a name in kanji: 2 to 20 characters,
/// at least one kanji, no digit and no `@` — canonical with one space
/// between its parts.
pub fn name_cell(cell: &str, group: u64, sink: &mut impl Sink) {
    let n = normalize::nfkc(cell.trim());
    let kanji = n
        .chars()
        .any(|c| matches!(c, '\u{4E00}'..='\u{9FFF}' | '々'));
    let chars = n.chars().count();
    if !kanji || !(2..=20).contains(&chars) || n.chars().any(|c| c.is_ascii_digit() || c == '@') {
        return;
    }
    let canonical = n.split_whitespace().collect::<Vec<_>>().join(" ");
    sink.found(Kind::Name, canonical, group);
}

/// Finds candidates in a single cell: what a line holds, and what only a
/// cell can say.
pub fn cell(text: &str, group: u64, sink: &mut impl Sink) {
    if !cell_only(text, group, sink) {
        line(text, group, sink);
    }
}

/// What only a cell can say — a number whose leading 0 a spreadsheet dropped
/// (a 9- or 10-digit phone, a 6-digit postal code), and a customer-number-
/// like value; whether the cell was one of those.
fn cell_only(text: &str, group: u64, sink: &mut impl Sink) -> bool {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return true;
    }
    let n = folded(trimmed);
    // A customer number holds letters and digits (C0100000001): it is that,
    // not a phone number hidden in it.
    if identifier_shaped(&n) {
        sink.found(Kind::Identifier, n.into_owned(), group);
        return true;
    }
    if n.bytes().all(|b| b.is_ascii_digit()) {
        let repaired = format!("0{n}");
        match n.len() {
            9 | 10 if !n.starts_with('0') => {
                if let Ok(v) = normalize::normalize(FieldType::Phone, &repaired) {
                    sink.found(Kind::Phone, v, group);
                    return true;
                }
            }
            6 => {
                if let Ok(v) = normalize::normalize(FieldType::PostalCode, &repaired) {
                    sink.found(Kind::PostalCode, v, group);
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

fn numbers(text: &str, group: u64, sink: &mut impl Sink) {
    for m in NUMBER.find_iter(text) {
        // Digits inside a word (an order number C0100000001, a serial
        // AB1234567890) are part of that word, not a number of their own.
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        if before.is_some_and(|c| c.is_ascii_alphanumeric())
            || after.is_some_and(|c| c.is_ascii_alphanumeric())
        {
            continue;
        }
        if classify(m.as_str(), text[..m.start()].ends_with('〒'), group, sink) {
            continue;
        }
        // Two numbers separated by a space in free text ("03 1234 5678
        // 090 …") run together: try each space-separated part.
        for part in m.as_str().split_whitespace() {
            classify(part, false, group, sink);
        }
    }
}

/// Classifies one run of digits; whether it was something.
fn classify(run: &str, after_postal_mark: bool, group: u64, sink: &mut impl Sink) -> bool {
    let digits: String = run.chars().filter(char::is_ascii_digit).collect();
    if digits.len() == 12
        && let Ok(v) = normalize::normalize(FieldType::MyNumber, &digits)
    {
        sink.found(Kind::MyNumber, v, group);
        return true;
    }
    if (13..=19).contains(&digits.len()) && luhn(&digits) {
        sink.found(Kind::Card, digits, group);
        return true;
    }
    if digits.len() == 7
        && (after_postal_mark || postal_shape(run))
        && let Ok(v) = normalize::normalize(FieldType::PostalCode, &digits)
    {
        sink.found(Kind::PostalCode, v, group);
        return true;
    }
    if let Ok(v) = normalize::normalize(FieldType::Phone, run.trim()) {
        sink.found(Kind::Phone, v, group);
        return true;
    }
    false
}

/// `123-4567`: three digits, a dash, four digits.
fn postal_shape(run: &str) -> bool {
    let parts: Vec<&str> = run.trim().split(normalize::is_dash).collect();
    matches!(parts.as_slice(), [a, b] if a.len() == 3 && b.len() == 4)
}

/// Where prefectures' names are in `text`: (start, length in bytes), in
/// order. Every name ends in 都, 道, 府 or 県; those four are found by
/// vectorised search and only the two or three characters before each are
/// compared with the names (an automaton over every character of every line
/// cost a seventh of a scan).
fn prefectures(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    for f in PREFECTURE_ENDS.iter() {
        for end in f.find_iter(b) {
            let end = end + 3;
            // 3 characters (千葉県) or 4 (神奈川県), 3 bytes each.
            for len in [9, 12] {
                let name = end.checked_sub(len).and_then(|s| text.get(s..end));
                if name.is_some_and(|n| PREFECTURE_NAMES.contains(n)) {
                    out.push((end - len, len));
                    break;
                }
            }
        }
    }
    out.sort_unstable();
    out
}

fn addresses(text: &str, group: u64, sink: &mut impl Sink) {
    for (start, len) in prefectures(text) {
        let rest = &text[start..];
        let end = rest
            .char_indices()
            .take(ADDRESS_CHARS)
            .find(|(_, c)| matches!(c, ',' | '\t' | '、' | '"' | '」' | '\n'))
            .map_or_else(
                || {
                    rest.char_indices()
                        .nth(ADDRESS_CHARS)
                        .map_or(rest.len(), |(i, _)| i)
                },
                |(i, _)| i,
            );
        let addr = &rest[..end];
        // A prefecture's name alone, or followed by too little to be an
        // address ("東京都庁"), is not one.
        if addr.chars().count() >= len / 3 + 4
            && let Ok(v) = normalize::normalize(FieldType::Address, addr)
        {
            sink.found(Kind::Address, v, group);
        }
    }
}

/// A sink that keeps what it is given, for tests.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Found(pub Vec<(Kind, String, u64)>);

#[cfg(test)]
impl Sink for Found {
    fn found(&mut self, kind: Kind, canonical: String, group: u64) {
        self.0.push((kind, canonical, group));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefecture_ends_in_a_character_the_prefilter_looks_for() {
        for p in PREFECTURES {
            assert!(
                ["都", "道", "府", "県"].iter().any(|e| p.ends_with(e)),
                "{p}"
            );
            assert!(Shape::of(&format!("住所 {p}中央1-1")).prefecture, "{p}");
        }
        let s = Shape::of("ﾔﾏﾀﾞ");
        assert!(
            !s.katakana,
            "half-width kana is seen after folding, not before"
        );
        assert!(Shape::of(&folded("ﾔﾏﾀﾞ ﾀﾛｳ")).katakana);
        assert!(Shape::of(&folded("０９０")).digit);
        assert!(matches!(folded("plain 090"), Cow::Borrowed(_)));
    }

    /// What `detector` finds in `s`, the group checked on the way.
    fn run(detector: fn(&str, u64, &mut Found), s: &str) -> Vec<(Kind, String)> {
        let mut f = Found::default();
        detector(s, 7, &mut f);
        f.0.into_iter()
            .map(|(k, v, g)| {
                assert_eq!(g, 7);
                (k, v)
            })
            .collect()
    }

    fn in_line(s: &str) -> Vec<(Kind, String)> {
        run(line, s)
    }

    fn in_cell(s: &str) -> Vec<(Kind, String)> {
        run(cell, s)
    }

    fn one(kind: Kind, v: &str) -> Vec<(Kind, String)> {
        vec![(kind, v.to_owned())]
    }

    #[test]
    fn phones_in_every_form() {
        for s in [
            "TEL 090-1234-5678 まで",
            "携帯：０９０ー１２３４ー５６７８",
            "+81 90 1234 5678",
            "(090)1234-5678",
            "０９０‐１２３４‐５６７８",
            "09012345678",
        ] {
            assert_eq!(in_line(s), one(Kind::Phone, "09012345678"), "{s}");
        }
        assert_eq!(in_line("03-1234-5678"), one(Kind::Phone, "0312345678"));
        // Two numbers in a row, separated by spaces.
        assert_eq!(
            in_line("03 1234 5678 / 090 1111 2222"),
            vec![
                (Kind::Phone, "0312345678".to_owned()),
                (Kind::Phone, "09011112222".to_owned())
            ]
        );
        assert!(in_line("注文番号 1234-5678").is_empty());
    }

    #[test]
    fn numbers_with_check_digits() {
        // 1234 5678 9018: the My Number check digit of 12345678901 is 8.
        assert_eq!(
            in_line("個人番号 1234 5678 9018"),
            one(Kind::MyNumber, "123456789018")
        );
        assert!(
            in_line("個人番号 1234 5678 9012").is_empty(),
            "wrong check digit"
        );
        assert_eq!(
            in_line("カード 4111-1111-1111-1111 有効期限"),
            one(Kind::Card, "4111111111111111")
        );
        assert!(in_line("4111-1111-1111-1112").is_empty(), "fails Luhn");
    }

    #[test]
    fn postal_codes_dates_emails() {
        assert_eq!(in_line("〒100-0001"), one(Kind::PostalCode, "1000001"));
        assert_eq!(in_line("〒1000001"), one(Kind::PostalCode, "1000001"));
        assert_eq!(
            in_line("１００－０００１"),
            one(Kind::PostalCode, "1000001")
        );
        assert_eq!(
            in_line("生年月日 昭和60年4月1日"),
            one(Kind::BirthDate, "1985-04-01")
        );
        assert_eq!(in_line("1985/4/1生"), one(Kind::BirthDate, "1985-04-01"));
        assert_eq!(
            in_line("Ｓ６０．４．１"),
            one(Kind::BirthDate, "1985-04-01")
        );
        assert_eq!(
            in_line("連絡先：Ｔａｒｏ．Ｙａｍａｄａ＠Ｅｘａｍｐｌｅ．ｊｐ"),
            one(Kind::Email, "taro.yamada@example.jp")
        );
    }

    #[test]
    fn names_and_addresses() {
        assert_eq!(
            in_line("ヤマダ タロウ 様"),
            one(Kind::KanaName, "ヤマダタロウ")
        );
        assert_eq!(in_line("ﾔﾏﾀﾞ ﾀﾛｳ"), one(Kind::KanaName, "ヤマダタロウ"));
        assert_eq!(
            in_line("住所 東京都千代田区千代田1-1、電話なし"),
            one(Kind::Address, "東京都千代田区千代田1-1")
        );
        assert!(in_line("東京都庁").is_empty());
    }

    #[test]
    fn cells_repair_dropped_zeros_and_know_identifiers() {
        assert_eq!(in_cell("9012345678"), one(Kind::Phone, "09012345678"));
        assert_eq!(in_cell("312345678"), one(Kind::Phone, "0312345678"));
        assert_eq!(in_cell("600001"), one(Kind::PostalCode, "0600001"));
        assert_eq!(in_cell("C-000123"), one(Kind::Identifier, "C-000123"));
        assert_eq!(in_cell("Ｃ０００１２３"), one(Kind::Identifier, "C000123"));
        assert_eq!(in_cell("C0100000001"), one(Kind::Identifier, "C0100000001"));
        assert!(
            in_line("注文 C0100000001 受付").is_empty(),
            "digits inside a word"
        );
        assert!(in_cell("東京").is_empty());
        assert!(in_cell("ABCDEF").is_empty(), "an identifier has a digit");
        assert_eq!(in_cell("090-1234-5678"), one(Kind::Phone, "09012345678"));
    }

    #[test]
    fn examples_are_masked() {
        assert_eq!(Kind::Phone.mask("09012345678"), "＊＊＊＊＊＊＊5678");
        assert_eq!(Kind::Email.mask("taro@example.jp"), "＊＊＊@example.jp");
        assert_eq!(
            Kind::Address.mask("東京都千代田区千代田1-1"),
            "東京都＊＊＊"
        );
        assert_eq!(Kind::KanaName.mask("ヤマダタロウ"), "ヤ＊＊＊＊＊");
        assert_eq!(Kind::BirthDate.mask("1985-04-01"), "1985-＊＊-＊＊");
    }
}
