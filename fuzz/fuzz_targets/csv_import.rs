//! A customer CSV file as `mamori import` reads it first: encoding detected
//! (UTF-8 / Shift_JIS), the header mapped to the contact-centre schema, every
//! row checked. Errors by line, never panics.
#![no_main]

use std::{collections::BTreeMap, io::Write, sync::LazyLock};

use libfuzzer_sys::fuzz_target;
use mamori_core::Schema;
use mamori_import::{EncodingChoice, inspect};

static SCHEMA: LazyLock<Schema> = LazyLock::new(Schema::contact_centre);

fuzz_target!(|bytes: &[u8]| {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bytes).unwrap();
    for choice in [EncodingChoice::Auto, EncodingChoice::ShiftJis] {
        if let Ok(seen) = inspect(file.path(), choice, &SCHEMA, &BTreeMap::new()) {
            assert!(seen.rows <= bytes.len() as u64);
        }
    }
});
