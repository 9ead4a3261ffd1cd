//! The normaliser behind every blind index, and the case-id check: never a
//! panic, and normalising is idempotent (a value found once is found again
//! by its own normal form — else the index would miss it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_core::{FieldType, case_id, normalize};

const TYPES: [FieldType; 9] = [
    FieldType::Text,
    FieldType::Kana,
    FieldType::Phone,
    FieldType::Email,
    FieldType::PostalCode,
    FieldType::Address,
    FieldType::Date,
    FieldType::Number,
    FieldType::MyNumber,
];

fuzz_target!(|text: &str| {
    for ty in TYPES {
        if let Ok(n) = normalize::normalize(ty, text) {
            assert_eq!(
                normalize::normalize(ty, &n).as_deref(),
                Ok(n.as_str()),
                "{ty:?} is not idempotent"
            );
        }
        let _ = normalize::canonical(ty, text);
    }
    if case_id::check(text).is_ok() {
        assert!(text.is_ascii() && !text.is_empty() && text.len() <= case_id::MAX_LEN);
    }
});
