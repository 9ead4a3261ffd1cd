//! The detection rules file (`detect.toml`): errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = mamori_detect::rules::Rules::from_toml(text);
});
