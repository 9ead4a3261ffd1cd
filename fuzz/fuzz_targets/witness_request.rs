//! A witness's add-checkpoint request body (`old N`, proof lines, a note),
//! parsed and then offered to a real witness on a temporary directory.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mamori_audit::{
    checkpoint::Cosigner,
    witness::{AddCheckpoint, Witness},
};

static WITNESS: LazyLock<(tempfile::TempDir, Witness)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let log = mamori_fuzz::seed_key();
    let cosigner = Cosigner::from_seed("witness-fuzz", &[9; 32]).unwrap();
    let w = Witness::open(dir.path(), vec![log], Some(cosigner)).unwrap();
    (dir, w)
});

fuzz_target!(|text: &str| {
    if let Ok(req) = AddCheckpoint::parse(text) {
        let _ = WITNESS.1.add_checkpoint(&req, 1_800_000_000);
    }
});
