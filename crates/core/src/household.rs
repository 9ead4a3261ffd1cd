//! What a household is recognised by — a family name and a home address —
//! each reduced to one canonical form, so that 山田　太郎 and 山田太郎,
//! ﾔﾏﾀﾞ and やまだ, 1丁目2番3号 and １－２－３ compare equal.
//!
//! Detection of self and relative lookups (rule 14) compares a customer's
//! family name and address with a staff member's own. Both sides go through
//! the functions here before they are turned into keyed tokens.

use crate::normalize::{NormalizeError, is_dash, kana, nfkc};
use crate::schema::Identity;

/// Longest family name considered when a full name has no space: four kanji
/// (勅使河原) or six kana (ミナミヤマダ).
const MAX_KANJI: usize = 4;
const MAX_KANA: usize = 6;

/// A staff member's family name in canonical form (kanji as written, or kana
/// when `is_kana`).
pub fn family_name(raw: &str, is_kana: bool) -> Result<String, NormalizeError> {
    let v = if is_kana {
        kana(raw)?
    } else {
        nfkc(raw).split_whitespace().collect::<String>()
    };
    if v.is_empty() {
        Err(NormalizeError::Empty)
    } else {
        Ok(v)
    }
}

/// The family names a customer's full name may begin with. Written family
/// name first: with a space, the first word; without one, every prefix of
/// plausible length (the address has to match too, so a short prefix alone
/// never decides).
pub fn family_names(full: &str, identity: Identity) -> Vec<String> {
    let is_kana = identity == Identity::NameKana;
    let s = nfkc(full);
    let mut words = s.split_whitespace();
    let Some(first) = words.next() else {
        return Vec::new();
    };
    if words.next().is_some() {
        return family_name(first, is_kana).into_iter().collect();
    }
    let Ok(whole) = family_name(first, is_kana) else {
        return Vec::new();
    };
    let (min, max) = if is_kana {
        (2, MAX_KANA)
    } else {
        (1, MAX_KANJI)
    };
    let chars: Vec<char> = whole.chars().collect();
    // A prefix must leave something for the given name.
    (min..=max.min(chars.len().saturating_sub(1)))
        .map(|n| chars[..n].iter().collect())
        .collect()
}

/// An address in canonical form: NFKC, no spaces, every dash one '-', and
/// 丁目 / 番 / 番地 / 号 after a number written as the dashes they mean.
pub fn address(raw: &str) -> Option<String> {
    let s = nfkc(raw);
    let chars: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let after_digit = out.chars().last().is_some_and(|p| p.is_ascii_digit());
        let rest = &chars[i..];
        let unit =
            |w: &str| after_digit && rest.iter().take(w.chars().count()).copied().eq(w.chars());
        if unit("丁目") || unit("番地") {
            out.push('-');
            i += 2;
        } else if unit("番") {
            out.push('-');
            i += 1;
        } else if unit("号") {
            i += 1;
        } else if is_dash(c) || c == 'ー' && after_digit {
            out.push('-');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_names_from_full_names() {
        assert_eq!(family_names("山田 太郎", Identity::Name), ["山田"]);
        assert_eq!(family_names("山田　太郎", Identity::Name), ["山田"]);
        assert_eq!(
            family_names("山田太郎", Identity::Name),
            ["山", "山田", "山田太"]
        );
        assert_eq!(family_names("ﾔﾏﾀﾞ ﾀﾛｳ", Identity::NameKana), ["ヤマダ"]);
        assert_eq!(
            family_names("やまだ たろう", Identity::NameKana),
            ["ヤマダ"]
        );
        assert!(family_names("", Identity::Name).is_empty());
        assert!(family_names("Yamada Taro", Identity::NameKana).is_empty());
    }

    #[test]
    fn staff_family_names() {
        assert_eq!(family_name(" 山田 ", false).unwrap(), "山田");
        assert_eq!(family_name("やまだ", true).unwrap(), "ヤマダ");
        assert!(family_name("  ", false).is_err());
        assert!(family_name("Yamada", true).is_err());
    }

    #[test]
    fn addresses_in_their_many_notations_compare_equal() {
        let a = address("東京都千代田区千代田1丁目2番3号").unwrap();
        assert_eq!(a, "東京都千代田区千代田1-2-3");
        assert_eq!(address("東京都千代田区千代田１－２－３").unwrap(), a);
        assert_eq!(address("東京都 千代田区 千代田 1ー2ー3").unwrap(), a);
        assert_eq!(address("東京都千代田区千代田1-2番地3").unwrap(), a);
        // Names of places keep their characters.
        assert_eq!(
            address("東京都千代田区一番町5").unwrap(),
            "東京都千代田区一番町5"
        );
        assert_ne!(address("東京都千代田区千代田1-2-4").unwrap(), a);
        assert_eq!(address(" "), None);
    }
}
