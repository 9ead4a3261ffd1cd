//! Security invariant 1 and 2: after importing and searching 10,000 customers,
//! no file the system wrote and nothing the server logged holds any of their
//! names, phone numbers, e-mail addresses or addresses.

use crate::common::TestVault;
use aho_corasick::AhoCorasick;
use mamori_core::{FieldType, normalize::normalize};

#[test]
fn no_plaintext_anywhere_under_the_data_directory_or_in_logs() {
    let mut v = TestVault::new();
    // This test reads 400 customers in a few seconds on purpose; lift the
    // limits that would (rightly) stop an operator doing that.
    v.env.extend([
        ("MAMORI_LIMITS_REQUESTS_PER_MINUTE".into(), "100000".into()),
        (
            "MAMORI_LIMITS_DAILY_RECORDS_OPERATOR".into(),
            "100000".into(),
        ),
    ]);
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    // The source file lives outside the data directory, like an export brought in for import.
    let src = tempfile::tempdir().unwrap();
    let csv = crate::common::csv_of(src.path(), "people.csv", 42, 10_000);
    let summary = v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    assert_eq!(summary["inserted"], 10_000);
    let token = v.user("op", "operator", &["acme"]);
    // A budget that large requires the annual compliance confirmation too.
    v.ok_as(&v.officer(), &["people", "compliance", "op"]);
    let s = v.serve();

    let people: Vec<_> = mamori_synth::Generator::new(42).take(10_000).collect();
    for p in people.iter().step_by(50) {
        let r = s.search(&token, "acme", Some("identity_check"), "phone", &p.mobile);
        assert_eq!(r.status, 200);
        assert_eq!(r.body["records"].as_array().unwrap().len(), 1);
        let r = s.search(&token, "acme", Some("inquiry"), "email", &p.email);
        assert_eq!(r.status, 200);
    }
    // Also the refusals and malformed values, which must not be echoed into logs.
    let _ = s.search(&token, "acme", None, "phone", &people[0].mobile);
    let _ = s.search(
        &token,
        "acme",
        Some("inquiry"),
        "phone",
        &format!("{}x", people[1].name),
    );
    let server_log = s.stop();

    let mut needles: Vec<String> = Vec::new();
    for p in &people {
        needles.push(p.name.clone());
        needles.push(p.name.replace(' ', ""));
        needles.push(p.email.clone());
        needles.push(p.address.clone());
        needles.push(p.mobile.clone());
        needles.push(normalize(FieldType::Phone, &p.mobile).unwrap());
        needles.push(normalize(FieldType::Phone, &p.phone).unwrap());
        needles.push(normalize(FieldType::Kana, &p.name_kana).unwrap());
    }
    needles.sort();
    needles.dedup();
    let ac = AhoCorasick::new(&needles).unwrap();

    let files = v.data_files();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.contains(&"vault.db".to_owned()) && names.contains(&"audit.db".to_owned()),
        "{names:?}"
    );
    let mut scanned = 0usize;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        scanned += bytes.len();
        // A phone number's digits can occur by chance inside the hex of a
        // hash or record id (about once in a few hundred runs): a match
        // wholly inside a run of 32+ hex digits is not personal data.
        if let Some(m) = ac
            .find_iter(&bytes)
            .find(|m| !inside_hex(&bytes, m.start(), m.end()))
        {
            panic!(
                "{} holds plaintext personal data at byte {}: pattern #{} in {:?}",
                f.display(),
                m.start(),
                m.pattern().as_usize(),
                String::from_utf8_lossy(
                    &bytes[m.start().saturating_sub(80)..(m.end() + 80).min(bytes.len())]
                ),
            );
        }
    }
    assert!(scanned > 1_000_000, "scanned only {scanned} bytes");
    if let Some(m) = ac.find(&server_log) {
        panic!("the server log holds personal data at byte {}", m.start());
    }
    // The check itself can fail: the source CSV is full of hits.
    assert!(ac.find(&std::fs::read(&csv).unwrap()).is_some());
}

/// Whether `bytes[start..end]` lies inside a run of at least 32 lowercase
/// hex digits (a hash or an id), where digit needles can match by chance.
fn inside_hex(bytes: &[u8], start: usize, end: usize) -> bool {
    let hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    if !bytes[start..end].iter().all(hex) {
        return false;
    }
    let left = bytes[..start].iter().rev().take_while(|b| hex(b)).count();
    let right = bytes[end..].iter().take_while(|b| hex(b)).count();
    left + (end - start) + right >= 32
}
