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

    pub fn lang(&self) -> &'static str {
        self.0.code()
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
        for (name, text) in [
            ("base", include_str!("../templates/base.html")),
            ("login", include_str!("../templates/login.html")),
            ("home", include_str!("../templates/home.html")),
            ("lookup", include_str!("../templates/lookup.html")),
            ("error", include_str!("../templates/error.html")),
            ("request", include_str!("../templates/request.html")),
            ("inbox", include_str!("../templates/inbox.html")),
            ("alerts", include_str!("../templates/alerts.html")),
            ("alert", include_str!("../templates/alert.html")),
            ("audit", include_str!("../templates/audit.html")),
            ("proof", include_str!("../templates/proof.html")),
        ] {
            for part in text.split("t.get(\"").skip(1) {
                let key = &part[..part.find('"').unwrap()];
                assert!(JA.contains_key(key), "{name}.html uses a missing key {key}");
            }
        }
        for v in JA.values().chain(EN.values()) {
            assert!(!v.trim().is_empty());
        }
    }
}
