//! Normalisation of Japanese input before it is indexed or validated.
//!
//! People type the same phone number as `090-1234-5678`, `０９０ー１２３４ー５６７８`,
//! `+81 90 1234 5678` or `(090)1234-5678`; the same kana name in hiragana,
//! full-width or half-width katakana, with or without a space or a middle dot.
//! A blind index only matches byte-identical input, so every searchable value
//! goes through exactly one function here first. Errors name the problem, never
//! the value (security invariant 2: no personal data in error bodies or logs).

use unicode_normalization::UnicodeNormalization;

use crate::schema::FieldType;

/// Why a value was rejected. Deliberately carries no part of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    #[error("empty value")]
    Empty,
    #[error("value too long (more than {0} characters)")]
    TooLong(usize),
    #[error("not a Japanese phone number (10 or 11 digits starting with 0, or +81)")]
    Phone,
    #[error("not an e-mail address")]
    Email,
    #[error("not kana (hiragana or katakana only)")]
    Kana,
    #[error("not a postal code (7 digits, e.g. 100-0001)")]
    PostalCode,
    #[error("not a date (e.g. 1985-04-01, 1985/4/1, 昭和60年4月1日)")]
    Date,
    #[error("not a number")]
    Number,
    #[error("not a My Number (12 digits with a valid check digit)")]
    MyNumber,
    #[error("contains control characters")]
    Control,
}

/// Longest value accepted in any field, in characters. Guards the import path
/// against multi-megabyte cells.
pub const MAX_FIELD_CHARS: usize = 1000;

/// The canonical form used for the blind index and for validation.
pub fn normalize(ty: FieldType, raw: &str) -> Result<String, NormalizeError> {
    // No more bytes than the limit: no more characters either (no count).
    if raw.len() > MAX_FIELD_CHARS && raw.chars().count() > MAX_FIELD_CHARS {
        return Err(NormalizeError::TooLong(MAX_FIELD_CHARS));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(NormalizeError::Control);
    }
    let v = match ty {
        FieldType::Text | FieldType::Address => text(raw),
        FieldType::Kana => kana(raw)?,
        FieldType::Phone => phone(raw)?,
        FieldType::Email => email(raw)?,
        FieldType::PostalCode => postal_code(raw)?,
        FieldType::Date => date(raw)?,
        FieldType::Number => number(raw)?,
        FieldType::MyNumber => my_number(raw)?,
    };
    if v.is_empty() {
        Err(NormalizeError::Empty)
    } else {
        Ok(v)
    }
}

/// The form that is stored (encrypted) and shown. Structured types are stored
/// canonically (a phone number as digits); free text and addresses keep what
/// the person wrote, only trimmed, so that characters such as 髙 or ① survive.
pub fn canonical(ty: FieldType, raw: &str) -> Result<String, NormalizeError> {
    let n = normalize(ty, raw)?;
    Ok(match ty {
        FieldType::Text | FieldType::Address => raw.trim().to_owned(),
        _ => n,
    })
}

/// NFKC (full-width digits and letters to ASCII, half-width katakana to
/// full-width), without work for text that is NFKC already.
pub fn nfkc(s: &str) -> String {
    // Most values are NFKC already (ASCII, plain kanji); ASCII is told by a
    // vectorised byte test, the rest by the quick check, both without
    // decomposing and recomposing every character.
    if s.is_ascii()
        || unicode_normalization::is_nfkc_quick(s.chars())
            == unicode_normalization::IsNormalized::Yes
    {
        return s.to_owned();
    }
    s.nfkc().collect()
}

/// The dashes and long-vowel marks people type between digits.
pub fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '‐'
            | '‑'
            | '‒'
            | '–'
            | '—'
            | '―'
            | '−'
            | 'ー'
            | '－'
            | 'ｰ'
            | '⁃'
            | '﹣'
            | '─'
            | '━'
    )
}

/// NFKC, trimmed, internal whitespace runs collapsed to one ASCII space.
fn text(raw: &str) -> String {
    nfkc(raw).split_whitespace().collect::<Vec<_>>().join(" ")
}

fn phone(raw: &str) -> Result<String, NormalizeError> {
    let s = nfkc(raw);
    let mut digits = String::with_capacity(16);
    let mut plus = false;
    for c in s.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if digits.is_empty() && !plus => plus = true,
            c if c.is_whitespace() || is_dash(c) => {}
            '(' | ')' | '[' | ']' | '.' | '/' | '〔' | '〕' => {}
            _ => return Err(NormalizeError::Phone),
        }
    }
    // Country code: "+81 90…", "+81 (0)90…", "8190…", "0081 90…".
    let national = if let Some(rest) = digits.strip_prefix("0081") {
        Some(rest)
    } else if plus {
        Some(digits.strip_prefix("81").ok_or(NormalizeError::Phone)?)
    } else if digits.starts_with("81") && (11..=12).contains(&digits.len()) {
        Some(&digits[2..])
    } else {
        None
    };
    let out = match national {
        Some(rest) => {
            let rest = rest.strip_prefix('0').unwrap_or(rest);
            format!("0{rest}")
        }
        None => digits,
    };
    if (10..=11).contains(&out.len()) && out.starts_with('0') && !out.starts_with("00") {
        Ok(out)
    } else {
        Err(NormalizeError::Phone)
    }
}

fn email(raw: &str) -> Result<String, NormalizeError> {
    let s = nfkc(raw).trim().to_lowercase();
    let (local, domain) = s.split_once('@').ok_or(NormalizeError::Email)?;
    let valid = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace);
    if valid {
        Ok(s)
    } else {
        Err(NormalizeError::Email)
    }
}

/// Hiragana and katakana folded to full-width katakana; spaces and middle dots removed.
pub(crate) fn kana(raw: &str) -> Result<String, NormalizeError> {
    // NFKC turns half-width katakana (ﾔﾏﾀﾞ) into full-width (ヤマダ), composing voiced marks.
    let s = nfkc(raw);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            c if c.is_whitespace() || c == '・' || c == '･' || c == '=' || c == '＝' => {}
            // Hiragana ぁ..ゖ and the iteration marks ゝゞ map to katakana by a fixed offset.
            '\u{3041}'..='\u{3096}' | '\u{309D}'..='\u{309E}' => {
                out.push(char::from_u32(c as u32 + 0x60).ok_or(NormalizeError::Kana)?)
            }
            '\u{30A1}'..='\u{30FA}' | 'ー' | 'ヽ' | 'ヾ' => out.push(c),
            c if is_dash(c) => out.push('ー'),
            _ => return Err(NormalizeError::Kana),
        }
    }
    Ok(out)
}

fn postal_code(raw: &str) -> Result<String, NormalizeError> {
    let s = nfkc(raw);
    let digits: String = s
        .chars()
        .filter(|c| !(c.is_whitespace() || is_dash(*c) || *c == '〒'))
        .collect();
    if digits.len() == 7 && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(NormalizeError::PostalCode)
    }
}

fn number(raw: &str) -> Result<String, NormalizeError> {
    let s: String = nfkc(raw)
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    let body = s.strip_prefix('-').unwrap_or(&s);
    let mut parts = body.splitn(2, '.');
    let int_ok = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let frac_ok = parts
        .next()
        .is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if int_ok && frac_ok {
        Ok(s)
    } else {
        Err(NormalizeError::Number)
    }
}

fn my_number(raw: &str) -> Result<String, NormalizeError> {
    let s: String = nfkc(raw)
        .chars()
        .filter(|c| !(c.is_whitespace() || is_dash(*c)))
        .collect();
    if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NormalizeError::MyNumber);
    }
    let d: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
    if my_number_check_digit(&d[..11]) == d[11] {
        Ok(s)
    } else {
        Err(NormalizeError::MyNumber)
    }
}

/// Check digit of the individual number (個人番号), per the ministerial ordinance:
/// weights 2..7 cycling from the digit next to the check digit.
pub fn my_number_check_digit(first11: &[u32]) -> u32 {
    let sum: u32 = first11
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let n = i as u32 + 1;
            let q = if n <= 6 { n + 1 } else { n - 5 };
            d * q
        })
        .sum();
    let r = sum % 11;
    if r <= 1 { 0 } else { 11 - r }
}

fn date(raw: &str) -> Result<String, NormalizeError> {
    let s = nfkc(raw).trim().to_owned();
    let (year, rest) = split_era_year(&s)?;
    let nums: Vec<&str> = rest
        .split(|c: char| matches!(c, '-' | '/' | '.' | '年' | '月' | '日') || is_dash(c))
        .filter(|p| !p.is_empty())
        .collect();
    let (y, m, d) = match (year, nums.as_slice()) {
        (Some(y), [m, d]) => (y, parse_u32(m)?, parse_u32(d)?),
        // Eight ASCII digits (19850401): checked as digits before slicing,
        // since eight bytes of other text need not split at byte 4 or 6.
        (None, [compact]) if compact.len() == 8 && compact.bytes().all(|b| b.is_ascii_digit()) => (
            parse_u32(&compact[..4])?,
            parse_u32(&compact[4..6])?,
            parse_u32(&compact[6..])?,
        ),
        (None, [y, m, d]) if y.len() == 4 => (parse_u32(y)?, parse_u32(m)?, parse_u32(d)?),
        _ => return Err(NormalizeError::Date),
    };
    // Four-digit years only: the canonical form must read back as itself
    // (found by fuzz/normalize: 昭和111110-11/11 became "+113035-11-11").
    if !(1000..=9999).contains(&y) {
        return Err(NormalizeError::Date);
    }
    let date = chrono::NaiveDate::from_ymd_opt(y as i32, m, d).ok_or(NormalizeError::Date)?;
    Ok(date.format("%Y-%m-%d").to_string())
}

fn parse_u32(s: &str) -> Result<u32, NormalizeError> {
    s.parse().map_err(|_| NormalizeError::Date)
}

/// Japanese era dates (和暦): 昭和60年4月1日, S60.4.1, 平成2/3/4, 令和元年5月1日.
/// Returns the Gregorian year and the remaining text when an era prefix is present.
fn split_era_year(s: &str) -> Result<(Option<u32>, &str), NormalizeError> {
    const ERAS: [(&str, &str, u32); 5] = [
        ("明治", "M", 1867),
        ("大正", "T", 1911),
        ("昭和", "S", 1925),
        ("平成", "H", 1988),
        ("令和", "R", 2018),
    ];
    for (kanji, letter, base) in ERAS {
        let rest = s
            .strip_prefix(kanji)
            .or_else(|| s.strip_prefix(letter))
            .or_else(|| s.strip_prefix(&letter.to_lowercase()));
        if let Some(rest) = rest {
            let rest = rest.trim_start();
            let (num, tail) = if let Some(t) = rest.strip_prefix('元') {
                (1, t)
            } else {
                let end = rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len());
                (parse_u32(&rest[..end])?, &rest[end..])
            };
            if num == 0 {
                return Err(NormalizeError::Date);
            }
            return Ok((Some(base + num), tail));
        }
    }
    Ok((None, s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use FieldType::*;

    /// (type, input, expected canonical form or None for rejection).
    /// Real-world variants as callers, agents and legacy CSV exports produce them.
    const TABLE: &[(FieldType, &str, Option<&str>)] = &[
        // Phones: hyphens, dashes, widths, brackets, spaces, country code.
        (Phone, "090-1234-5678", Some("09012345678")),
        (Phone, "09012345678", Some("09012345678")),
        (Phone, "０９０ー１２３４ー５６７８", Some("09012345678")),
        (Phone, "０９０－１２３４－５６７８", Some("09012345678")),
        (Phone, "090‐1234‐5678", Some("09012345678")),
        (Phone, "090−1234−5678", Some("09012345678")),
        (Phone, "090–1234–5678", Some("09012345678")),
        (Phone, "090—1234—5678", Some("09012345678")),
        (Phone, "090ｰ1234ｰ5678", Some("09012345678")),
        (Phone, "090 1234 5678", Some("09012345678")),
        (Phone, "090　1234　5678", Some("09012345678")),
        (Phone, "(090)1234-5678", Some("09012345678")),
        (Phone, "（０９０）１２３４－５６７８", Some("09012345678")),
        (Phone, "+81-90-1234-5678", Some("09012345678")),
        (Phone, "+81 90 1234 5678", Some("09012345678")),
        (Phone, "+81 (0)90-1234-5678", Some("09012345678")),
        (Phone, "＋８１９０１２３４５６７８", Some("09012345678")),
        (Phone, "819012345678", Some("09012345678")),
        (Phone, "0081-90-1234-5678", Some("09012345678")),
        (Phone, "03-1234-5678", Some("0312345678")),
        (Phone, "03(1234)5678", Some("0312345678")),
        (Phone, "0120-123-456", Some("0120123456")),
        (Phone, "070.1234.5678", Some("07012345678")),
        (Phone, "080 1234-5678 ", Some("08012345678")),
        (Phone, "1234-5678", None),
        (Phone, "090-1234-56789", None),
        (Phone, "090-ABCD-5678", None),
        (Phone, "", None),
        (Phone, "+1 415 555 0100", None),
        // E-mail.
        (
            Email,
            "Taro.Yamada@Example.JP",
            Some("taro.yamada@example.jp"),
        ),
        (
            Email,
            "  hanako@example.co.jp ",
            Some("hanako@example.co.jp"),
        ),
        (
            Email,
            "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ",
            Some("taro@example.jp"),
        ),
        (
            Email,
            "TARO+tag@mail.example.ne.jp",
            Some("taro+tag@mail.example.ne.jp"),
        ),
        (Email, "no-at-sign.example.jp", None),
        (Email, "taro@localhost", None),
        (Email, "taro @example.jp", None),
        (Email, "a@b@example.jp", None),
        // Kana: hiragana folded, half-width katakana widened, spaces and dots dropped.
        (Kana, "ヤマダ タロウ", Some("ヤマダタロウ")),
        (Kana, "やまだ たろう", Some("ヤマダタロウ")),
        (Kana, "ﾔﾏﾀﾞ ﾀﾛｳ", Some("ヤマダタロウ")),
        (Kana, "ﾔﾏﾀﾞﾀﾛｳ", Some("ヤマダタロウ")),
        (Kana, "ヤマダ　タロウ", Some("ヤマダタロウ")),
        (Kana, "ヤマダ・タロウ", Some("ヤマダタロウ")),
        (Kana, "ﾔﾏﾀﾞ･ﾀﾛｳ", Some("ヤマダタロウ")),
        (Kana, "スズキ イチロー", Some("スズキイチロー")),
        (Kana, "すずき いちろー", Some("スズキイチロー")),
        (Kana, "ｽｽﾞｷ ｲﾁﾛｰ", Some("スズキイチロー")),
        (Kana, "ガッコウ", Some("ガッコウ")),
        (Kana, "ｶﾞｯｺｳ", Some("ガッコウ")),
        (Kana, "ヴァイオリン", Some("ヴァイオリン")),
        (Kana, "ゔぁいおりん", Some("ヴァイオリン")),
        (Kana, "さとう はなこ", Some("サトウハナコ")),
        (Kana, "ＹＡＭＡＤＡ", None),
        (Kana, "山田太郎", None),
        // Postal codes.
        (PostalCode, "100-0001", Some("1000001")),
        (PostalCode, "〒100-0001", Some("1000001")),
        (PostalCode, "１００－０００１", Some("1000001")),
        (PostalCode, "1000001", Some("1000001")),
        (PostalCode, "〒１００ー０００１", Some("1000001")),
        (PostalCode, "100-001", None),
        // Customer numbers and free text: trimmed and width-folded.
        (Text, "  C0001234 ", Some("C0001234")),
        (Text, "Ｃ０００１２３４", Some("C0001234")),
        (Text, "山田　太郎", Some("山田 太郎")),
        (Text, "髙橋  一郎", Some("髙橋 一郎")),
        (Text, "   ", None),
        // Dates, Gregorian and Japanese era.
        (Date, "1985-04-01", Some("1985-04-01")),
        (Date, "1985/4/1", Some("1985-04-01")),
        (Date, "１９８５／０４／０１", Some("1985-04-01")),
        (Date, "1985年4月1日", Some("1985-04-01")),
        (Date, "19850401", Some("1985-04-01")),
        // Found by fuzz/normalize: eight bytes that are not eight digits
        // (a slice inside '匒' used to panic).
        (Date, "令匒41", None),
        (Date, "1985年41", None),
        (Date, "ab匒cde", None),
        // Also found by fuzzing: a year whose canonical form does not read back.
        (Date, "昭和111110-11/11", None),
        (Date, "0999-01-01", None),
        (Date, "昭和60年4月1日", Some("1985-04-01")),
        (Date, "S60.4.1", Some("1985-04-01")),
        (Date, "平成2年3月4日", Some("1990-03-04")),
        (Date, "H2/3/4", Some("1990-03-04")),
        (Date, "令和元年5月1日", Some("2019-05-01")),
        (Date, "1985-02-30", None),
        (Date, "04/01/1985", None),
        // Numbers and My Number.
        (Number, "1,234", Some("1234")),
        (Number, "１２３４", Some("1234")),
        (Number, "12.5", Some("12.5")),
        (Number, "12a", None),
        (MyNumber, "123456789018", Some("123456789018")),
        (MyNumber, "1234-5678-9018", Some("123456789018")),
        (MyNumber, "１２３４５６７８９０１８", Some("123456789018")),
        (MyNumber, "123456789012", None),
        (MyNumber, "12345678901", None),
    ];

    #[test]
    fn normalisation_table() {
        assert!(TABLE.len() >= 60, "keep at least 60 variants");
        let mut failures = Vec::new();
        for (ty, input, expected) in TABLE {
            let got = normalize(*ty, input).ok();
            if got.as_deref() != *expected {
                failures.push(format!(
                    "{ty:?} {input:?}: expected {expected:?}, got {got:?}"
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn control_characters_and_huge_values_are_rejected() {
        assert_eq!(normalize(Text, "a\u{0}b"), Err(NormalizeError::Control));
        let huge = "あ".repeat(MAX_FIELD_CHARS + 1);
        assert_eq!(
            normalize(Address, &huge),
            Err(NormalizeError::TooLong(MAX_FIELD_CHARS))
        );
    }

    #[test]
    fn canonical_keeps_free_text_as_written() {
        assert_eq!(
            canonical(Address, " 東京都千代田区①丁目 ").unwrap(),
            "東京都千代田区①丁目"
        );
        assert_eq!(
            canonical(Phone, "０９０ー１２３４ー５６７８").unwrap(),
            "09012345678"
        );
    }

    #[test]
    fn errors_never_echo_the_value() {
        let err = normalize(Phone, "secret-value-090")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
    }
}
