//! Every string of the console in Japanese (the default) and English, from
//! `i18n/ja.toml` and `i18n/en.toml` compiled into the binary. A key missing
//! in one language is a test failure, never a blank on screen.

use std::{collections::BTreeMap, sync::LazyLock};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    /// From the `lang` cookie; Japanese unless it says `en`.
    pub fn from_cookie(value: Option<&str>) -> Lang {
        match value {
            Some("en") => Lang::En,
            _ => Lang::Ja,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }
}

fn load(text: &str) -> BTreeMap<String, String> {
    toml::from_str(text).expect("the console's message files are valid TOML of strings")
}

static JA: LazyLock<BTreeMap<String, String>> =
    LazyLock::new(|| load(include_str!("../i18n/ja.toml")));
static EN: LazyLock<BTreeMap<String, String>> =
    LazyLock::new(|| load(include_str!("../i18n/en.toml")));

/// The messages of one language, as templates use them: `t.get("key")`.
#[derive(Clone, Copy)]
pub struct Tr(pub Lang);

impl Tr {
    pub fn get(&self, key: &str) -> &'static str {
        let table = match self.0 {
            Lang::Ja => &*JA,
            Lang::En => &*EN,
        };
        table.get(key).map_or("??", String::as_str)
    }

    /// A value the vault names by id (a severity, a state), said for
    /// people: the message `<kind>.<id>`, or the id itself if there is none.
    pub fn word(&self, kind: &str, id: &str) -> String {
        let table = match self.0 {
            Lang::Ja => &*JA,
            Lang::En => &*EN,
        };
        table
            .get(&format!("{kind}.{id}"))
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }

    /// What an act did, said for people (`done.<action>`).
    pub fn done(&self, action: &str) -> String {
        self.word("done", action)
    }

    pub fn lang(&self) -> &'static str {
        self.0.code()
    }

    /// A date in Japan: in Japanese the Japanese calendar (和暦) with the
    /// Western year after it, as paperwork here writes it, e.g.
    /// `令和8年12月7日 (2026)`; in English ISO 8601.
    pub fn date(&self, at: i64) -> String {
        let Some(d) = mamori_core::jst::date(at) else {
            return String::new();
        };
        match (self.0, mamori_core::jst::wareki(d)) {
            (Lang::Ja, Some(w)) => format!("{w} ({})", d.format("%Y")),
            _ => d.format("%Y-%m-%d").to_string(),
        }
    }

    /// An RFC 3339 time as the vault gives it, shown like [`Tr::time`]
    /// (the text itself if it does not parse).
    pub fn at(&self, rfc3339: &str) -> String {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .map_or_else(|_| rfc3339.to_owned(), |d| self.time(d.timestamp()))
    }

    /// A time in Japan to the minute: `2026-12-07 14:03` (JST).
    pub fn time(&self, at: i64) -> String {
        chrono::DateTime::from_timestamp(at, 0)
            .map(|t| {
                t.with_timezone(&mamori_core::jst::zone())
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_every_key_and_every_key_used_exists() {
        let ja: Vec<&String> = JA.keys().collect();
        let en: Vec<&String> = EN.keys().collect();
        assert_eq!(ja, en, "ja.toml and en.toml hold the same keys");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            seen += 1;
            for part in text.split("t.get(\"").skip(1) {
                let key = &part[..part.find('"').unwrap()];
                assert!(JA.contains_key(key), "{name} uses a missing key {key}");
            }
        }
        assert!(seen >= 10, "the templates were found");
        for v in JA.values().chain(EN.values()) {
            assert!(!v.trim().is_empty());
        }
    }

    #[test]
    fn values_named_by_id_are_said_for_people_or_left_as_they_are() {
        assert_eq!(Tr(Lang::Ja).word("state", "open"), "未対応");
        assert_eq!(Tr(Lang::En).word("severity", "critical"), "critical");
        assert_eq!(Tr(Lang::Ja).done("approve"), "承認しました");
        assert_eq!(Tr(Lang::Ja).word("state", "unheard_of"), "unheard_of");
    }

    #[test]
    fn dates_in_japanese_use_the_japanese_calendar() {
        // 2026-12-07T10:30:00+09:00
        let at = 1_796_607_000;
        assert_eq!(Tr(Lang::Ja).date(at), "令和8年12月7日 (2026)");
        assert_eq!(Tr(Lang::En).date(at), "2026-12-07");
        assert_eq!(Tr(Lang::En).time(at), "2026-12-07 10:30");
    }
}
