//! Damaged and hostile files: every reader is handed truncated and
//! bit-flipped copies of real files (the LibreOffice-made corpus) and must
//! answer with a report — read, damaged, encrypted or not read — never a
//! panic that ends the scan, never a hang.

use std::path::Path;

use mamori_scan::{FileReport, Limits, Outcome, scan_buffer};

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/corpus")
            .join(name),
    )
    .unwrap()
}

fn scan(name: &str, bytes: &[u8]) -> Vec<FileReport> {
    let mut out = Vec::new();
    scan_buffer(name.into(), name, bytes, &Limits::default(), &mut |r| {
        out.push(r)
    });
    out
}

/// xorshift64: the same mutations on every run.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn truncated_and_corrupted_files_are_reported_never_fatal() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for name in ["顧客台帳.xls", "打合せメモ.doc", "提案資料.ppt", "名簿.pdf"] {
        let whole = corpus(name);
        let intact = scan(name, &whole);
        assert_eq!(intact[0].outcome, Outcome::Inspected, "{name}");
        assert!(intact[0].findings.total() > 0, "{name}");
        let mut outcomes = std::collections::BTreeSet::new();
        for i in 1..=16 {
            let cut = &whole[..whole.len() * i / 17];
            let r = scan(name, cut);
            assert_eq!(r.len(), 1, "{name} cut at {}", cut.len());
            outcomes.insert(format!("{:?}", r[0].outcome));
        }
        for _ in 0..48 {
            let mut bytes = whole.clone();
            for _ in 0..8 {
                let at = (next(&mut state) % bytes.len() as u64) as usize;
                bytes[at] = next(&mut state) as u8;
            }
            let r = scan(name, &bytes);
            assert!(!r.is_empty(), "{name}");
        }
        assert!(
            outcomes.contains("Damaged"),
            "a truncated {name} is said to be damaged: {outcomes:?}"
        );
    }
}
