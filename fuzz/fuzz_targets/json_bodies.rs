//! Every JSON request body of the HTTP API, parsed as the server parses it:
//! a rejection never repeats what was sent (the seeds carry the marker
//! `ZZSECRET` in values and keys; a detail containing it is a finding).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    for detail in mamori_server::fuzz_bodies(bytes) {
        assert!(!detail.contains("ZZSECRET"), "echoed: {detail}");
        assert!(detail.len() < 512, "a detail grows with the input");
    }
});
