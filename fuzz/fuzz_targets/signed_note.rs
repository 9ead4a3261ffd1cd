//! Signed notes, checkpoints, cosignatures and key strings (C2SP), as an
//! auditor or a witness receives them: errors, never panics; and a note
//! that opens has text and a checkpoint body that parse consistently.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mamori_audit::checkpoint::{Checkpoint, CosignatureVerifier, Cosigner, Signer, Verifier};

static LOG: LazyLock<Verifier> = LazyLock::new(mamori_fuzz::seed_key);
static WITNESS: LazyLock<CosignatureVerifier> = LazyLock::new(|| {
    Cosigner::from_seed("witness-fuzz", &[9; 32])
        .unwrap()
        .verifier()
});

fuzz_target!(|text: &str| {
    let _ = Checkpoint::parse_body(text);
    if let Ok(opened) = LOG.open_text(text) {
        assert!(text.starts_with(opened));
        let _ = Checkpoint::parse_body(opened);
    }
    let _ = LOG.open(text);
    let _ = WITNESS.cosigned(text);
    let _ = Verifier::parse(text);
    let _ = CosignatureVerifier::parse(text);
    let _ = Signer::parse(text);
    let _ = Cosigner::parse(text);
});
