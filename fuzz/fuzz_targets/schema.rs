//! A tenant's schema (TOML written by an administrator): errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(schema) = mamori_core::Schema::parse(text) {
        // A schema that parses answers every question asked of it.
        let _ = schema.search_keys();
        let _ = schema.default_segment();
        for p in &schema.purposes {
            for role in mamori_core::Role::ALL {
                let _ = p.view_for(role);
            }
        }
    }
});
