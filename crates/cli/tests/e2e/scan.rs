//! `mamori scan`: real customers of two tenants hidden among people who are
//! nobody's customers, in files of every encoding and shape a PC holds —
//! exact counts per tenant, nothing of what was found left in plaintext, and
//! only the security office may match.

use std::path::Path;

use mamori_core::{FieldType, normalize::normalize};
use mamori_synth::{Generator, Person};
use serde_json::Value;

use crate::common::{TestVault, csv_of};

fn canonical_mobile(p: &Person) -> String {
    normalize(FieldType::Phone, &p.mobile).unwrap()
}

fn canonical_phone(p: &Person) -> String {
    normalize(FieldType::Phone, &p.phone).unwrap()
}

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap(),
            '-' => '－',
            c => c,
        })
        .collect()
}

fn dashed(digits: &str) -> String {
    format!("{}-{}-{}", &digits[..3], &digits[3..7], &digits[7..])
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// acme holds seed 1's first 40 people, beta seed 2's first 30; seed 9's are
/// nobody's customers.
fn vault() -> (
    TestVault,
    tempfile::TempDir,
    Vec<Person>,
    Vec<Person>,
    Vec<Person>,
) {
    let v = TestVault::new();
    let src = tempfile::tempdir().unwrap();
    for (tenant, seed, n) in [("acme", 1, 40), ("beta", 2, 30)] {
        v.ok(&["tenant", "create", tenant, "--name", tenant]);
        let file = csv_of(src.path(), &format!("{tenant}.csv"), seed, n);
        v.ok(&["import", "--tenant", tenant, file.to_str().unwrap()]);
    }
    let people = |seed, n| Generator::new(seed).take(n).collect::<Vec<_>>();
    (v, src, people(1, 40), people(2, 30), people(9, 20))
}

/// The JSON documents `mamori --json scan` printed, one per file and the totals.
fn documents(stdout: &[u8]) -> Vec<Value> {
    serde_json::Deserializer::from_slice(stdout)
        .into_iter::<Value>()
        .map(Result::unwrap)
        .collect()
}

fn file<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["path"].as_str().is_some_and(|p| p.ends_with(name)))
        .unwrap_or_else(|| panic!("{name} is not in the report: {docs:#?}"))
}

/// (tenant, confirmed, possible) as the report gives them.
fn tenants(doc: &Value) -> Vec<(String, u64, u64)> {
    doc["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tenant"].as_str().unwrap().to_owned(),
                t["people_confirmed"].as_u64().unwrap(),
                t["people_possible"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn customers_are_found_in_every_encoding_and_shape_and_counted_per_tenant() {
    let (v, _src, acme, beta, nobody) = vault();
    let corpus = tempfile::tempdir().unwrap();
    let dir = corpus.path();

    // 1. A CP932 CSV saved from Excel: the mobile's leading 0 dropped, the
    //    customer number beside it; ten of acme's customers and five nobodies.
    let mut csv = String::from("お客さま番号,氏名,携帯\r\n");
    for p in acme[..10].iter().chain(&nobody[..5]) {
        let m = canonical_mobile(p);
        csv.push_str(&format!("{},{},{}\r\n", p.customer_no, p.name, &m[1..]));
    }
    write(dir, "顧客一覧.csv", &encoding_rs::SHIFT_JIS.encode(&csv).0);

    // 2. A UTF-16 memo (no BOM): five of beta's customers, each line with the
    //    mobile in full-width digits and the landline; three nobodies.
    let mut memo = String::new();
    for p in beta[..5].iter().chain(&nobody[5..8]) {
        memo.push_str(&format!(
            "{} 様 携帯 {} 自宅 {}\r\n",
            p.name,
            full_width(&dashed(&canonical_mobile(p))),
            canonical_phone(p)
        ));
    }
    let utf16: Vec<u8> = memo.encode_utf16().flat_map(u16::to_le_bytes).collect();
    write(dir, "memo.txt", &utf16);

    // 3. EUC-JP notes: four of acme's customers by mobile alone (possible,
    //    not confirmed).
    let notes: String = acme[20..24]
        .iter()
        .map(|p| format!("折り返し {} へ\n", dashed(&canonical_mobile(p))))
        .collect();
    write(dir, "notes.txt", &encoding_rs::EUC_JP.encode(&notes).0);

    // 4. One row of 30,000 cells, two of which are one of beta's customers.
    let mut cells = vec!["-".to_owned(); 30_000];
    cells[12_345] = beta[20].customer_no.clone();
    cells[29_999] = canonical_mobile(&beta[20]);
    write(dir, "wide.tsv", cells.join("\t").as_bytes());

    // 5. A zip made on Windows: a CP932 entry name, three of acme's
    //    customers inside; a password-protected entry beside it.
    {
        use std::io::Write;
        use zip::{unstable::write::FileOptionsExt, write::SimpleFileOptions};
        let rows: String = acme[30..33]
            .iter()
            .map(|p| format!("{},{}\r\n", p.customer_no, canonical_mobile(p)))
            .collect();
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("abcdef.csv", SimpleFileOptions::default())
            .unwrap();
        w.write_all(rows.as_bytes()).unwrap();
        let locked = SimpleFileOptions::default()
            .with_deprecated_encryption(b"ppap")
            .unwrap();
        w.start_file("locked.csv", locked).unwrap();
        w.write_all(rows.as_bytes()).unwrap();
        let mut z = w.finish().unwrap().into_inner();
        // The CP932 name, patched over a placeholder of the same length.
        let cp932 = encoding_rs::SHIFT_JIS.encode("名簿01.csv").0.into_owned();
        let placeholder = b"abcdef.csv";
        assert_eq!(cp932.len(), placeholder.len());
        let mut i = 0;
        while let Some(at) = z[i..]
            .windows(placeholder.len())
            .position(|w| w == placeholder)
        {
            z[i + at..i + at + cp932.len()].copy_from_slice(&cp932);
            i += at + cp932.len();
        }
        write(dir, "送付.zip", &z);
    }

    // 6. Nothing personal; 7. a binary file.
    write(
        dir,
        "readme.txt",
        "会議は14時から。議題は3件。\n".as_bytes(),
    );
    write(
        dir,
        "image.bin",
        &[0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 0x0D, 0xFF, 0],
    );

    let officer = v.officer();
    let out = v.run_as(&officer, &["scan", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = documents(&out.stdout);

    let f = file(&docs, "顧客一覧.csv");
    assert_eq!(f["encoding"], "Shift_JIS");
    assert_eq!(f["found"]["counts"]["phone"], 15, "dropped zeros repaired");
    assert_eq!(tenants(f), [("acme".to_owned(), 10, 10)]);
    assert_eq!(f["tenants"][0]["values_matched"], 20);
    let example = f["found"]["examples"]["phone"].as_str().unwrap();
    assert!(example.starts_with('＊'), "examples are masked: {example}");

    let f = file(&docs, "memo.txt");
    assert_eq!(f["encoding"], "UTF-16LE");
    assert_eq!(tenants(f), [("beta".to_owned(), 5, 5)]);

    let f = file(&docs, "notes.txt");
    assert_eq!(f["encoding"], "EUC-JP");
    assert_eq!(tenants(f), [("acme".to_owned(), 0, 4)]);

    let f = file(&docs, "wide.tsv");
    assert_eq!(tenants(f), [("beta".to_owned(), 1, 1)]);

    let f = file(&docs, "送付.zip!/名簿01.csv");
    assert_eq!(tenants(f), [("acme".to_owned(), 3, 3)]);
    assert_eq!(
        file(&docs, "送付.zip!/locked.csv")["outcome"]["reason"],
        "encrypted"
    );

    assert_eq!(file(&docs, "image.bin")["outcome"]["reason"], "not_read");
    assert!(
        !docs.iter().any(|d| d["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("readme.txt"))),
        "a file without findings is listed only with --all"
    );
    let totals = docs.last().unwrap();
    // Seven files and the zip's two entries.
    assert_eq!(
        (
            totals["files"].as_u64(),
            totals["naming_customers"].as_u64()
        ),
        (Some(9), Some(5))
    );

    // Nothing found is kept in plaintext: not in the data directory (the
    // audit log records hashes and counts), not in what the run printed
    // beyond masked examples.
    let planted: Vec<String> = acme[..10]
        .iter()
        .chain(&beta[..5])
        .map(canonical_mobile)
        .collect();
    let printed = String::from_utf8_lossy(&out.stdout);
    for entry in v.data_files() {
        let bytes = std::fs::read(&entry).unwrap();
        for m in &planted {
            assert!(
                !bytes.windows(m.len()).any(|w| w == m.as_bytes()),
                "{m} is in {}",
                entry.display()
            );
            assert!(!printed.contains(m.as_str()), "{m} was printed");
        }
    }
}

#[test]
fn only_the_security_office_matches() {
    let (v, _src, acme, _, _) = vault();
    let corpus = tempfile::tempdir().unwrap();
    write(
        corpus.path(),
        "a.txt",
        format!("{}\n", canonical_mobile(&acme[0])).as_bytes(),
    );
    let op = v.user("op", "operator", &["acme/own"]);
    let out = v.run_as(&op, &["scan", corpus.path().to_str().unwrap()]);
    assert!(!out.status.success());
    // With --json the error is a JSON document on stdout.
    let err = String::from_utf8_lossy(&out.stdout);
    assert!(err.contains("security office"), "{err}");
    assert!(!err.contains(&canonical_mobile(&acme[0])), "{err}");
}
