//! An audit archive file (gzip of signed ranges) checked on its own with the
//! log's public key, as `mamori audit check-archive` does: errors, never
//! panics, whatever the bytes.
#![no_main]

use std::{io::Write, sync::LazyLock};

use libfuzzer_sys::fuzz_target;
use mamori_audit::{archive, checkpoint::Verifier};

static KEY: LazyLock<Verifier> = LazyLock::new(mamori_fuzz::seed_key);

fuzz_target!(|bytes: &[u8]| {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bytes).unwrap();
    let _ = archive::check_file(file.path(), &KEY);
});
