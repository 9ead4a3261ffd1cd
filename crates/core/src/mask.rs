//! Masking: how much of a value a person sees. The vault applies it server-side
//! (the unmasked value never leaves the process); the file scanner shows its
//! examples through it.

use crate::{FieldType, MaskKind, jp};

const STAR: char = '＊';

/// The value as a person with this mask may see it.
pub fn apply(kind: MaskKind, ty: FieldType, value: &str) -> String {
    match kind {
        MaskKind::Full => value.to_owned(),
        MaskKind::Redact => "＊＊＊".to_owned(),
        MaskKind::Prefecture => match jp::prefecture_of(value) {
            Some(p) => format!("{p}＊＊＊"),
            None => "＊＊＊".to_owned(),
        },
        MaskKind::Last4 => {
            let chars: Vec<char> = value.chars().filter(|c| !c.is_whitespace()).collect();
            if chars.len() <= 4 {
                return "＊＊＊".to_owned();
            }
            let hidden = chars.len() - 4;
            std::iter::repeat_n(STAR, hidden)
                .chain(chars[hidden..].iter().copied())
                .collect()
        }
        MaskKind::Initial => {
            let mut it = value.chars();
            match it.next() {
                Some(first) => std::iter::once(first)
                    .chain(it.filter(|c| !c.is_whitespace()).map(|_| STAR))
                    .collect(),
                None => String::new(),
            }
        }
        MaskKind::Year => match ty {
            FieldType::Date if value.len() >= 4 => format!("{}-＊＊-＊＊", &value[..4]),
            _ => "＊＊＊".to_owned(),
        },
        MaskKind::Domain => match value.split_once('@') {
            Some((_, domain)) => format!("＊＊＊@{domain}"),
            None => "＊＊＊".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FieldType as T;
    use MaskKind as M;

    #[test]
    fn masks() {
        assert_eq!(
            apply(M::Prefecture, T::Address, "東京都千代田区千代田1-1"),
            "東京都＊＊＊"
        );
        assert_eq!(
            apply(M::Prefecture, T::Address, "北海道札幌市中央区北1条西2丁目"),
            "北海道＊＊＊"
        );
        assert_eq!(
            apply(M::Prefecture, T::Address, "千代田区千代田1-1"),
            "＊＊＊"
        );
        assert_eq!(
            apply(M::Last4, T::Phone, "09012345678"),
            "＊＊＊＊＊＊＊5678"
        );
        assert_eq!(apply(M::Last4, T::Phone, "123"), "＊＊＊");
        assert_eq!(apply(M::Initial, T::Text, "山田 太郎"), "山＊＊＊");
        assert_eq!(apply(M::Year, T::Date, "1985-04-01"), "1985-＊＊-＊＊");
        assert_eq!(
            apply(M::Domain, T::Email, "taro@example.jp"),
            "＊＊＊@example.jp"
        );
        assert_eq!(apply(M::Redact, T::Text, "男性"), "＊＊＊");
        assert_eq!(apply(M::Full, T::Text, "男性"), "男性");
    }
}
