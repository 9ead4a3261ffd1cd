//! `mamori scan`: real customers of two tenants hidden among people who are
//! nobody's customers, in files of every encoding and shape a PC holds —
//! exact counts per tenant, nothing of what was found left in plaintext, and
//! only the security office may match; a scanning machine matches through
//! the server with a credential of its own, within its daily budget.

use std::path::Path;

use mamori_core::{FieldType, normalize::normalize};
use mamori_synth::{Generator, Person};
use serde_json::Value;

use crate::common::{TestVault, csv_of, first_alert};

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

/// No file of the data directory holds any of `values` in clear.
fn not_in_data_dir(v: &TestVault, values: &[String]) {
    for entry in v.data_files() {
        let bytes = std::fs::read(&entry).unwrap();
        for m in values {
            assert!(
                !bytes.windows(m.len()).any(|w| w == m.as_bytes()),
                "{m} is in {}",
                entry.display()
            );
        }
    }
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
    vault_with(Vec::new())
}

/// `vault` with these environment variables for every command.
fn vault_with(
    env: Vec<(String, String)>,
) -> (
    TestVault,
    tempfile::TempDir,
    Vec<Person>,
    Vec<Person>,
    Vec<Person>,
) {
    let v = TestVault::new_with(env);
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
    for m in &planted {
        assert!(!printed.contains(m.as_str()), "{m} was printed");
    }
    not_in_data_dir(&v, &planted);
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

/// A CSV of `people`: customer number, mobile and e-mail per row.
fn rows(people: &[&Person]) -> String {
    let mut csv = String::from("お客さま番号,携帯,メール\n");
    for p in people {
        csv.push_str(&format!(
            "{},{},{}\n",
            p.customer_no,
            canonical_mobile(p),
            p.email
        ));
    }
    csv
}

#[test]
fn a_scanning_machine_matches_through_the_server_within_its_budget() {
    let (v, _src, acme, beta, nobody) = vault_with(vec![(
        "MAMORI_SCAN_CUSTOMERS_PER_DAY_SCANNER".into(),
        "6".into(),
    )]);
    let pc = v.user("pc-0001", "scanner", &[]);
    let op = v.user("op", "operator", &["acme/own"]);
    let so = v.officer();
    let s = v.serve();

    // The machine's own scan: three of acme's and two of beta's customers
    // (three values per row: confirmed) among four nobodies.
    let corpus = tempfile::tempdir().unwrap();
    let first: Vec<&Person> = acme[..3]
        .iter()
        .chain(&beta[..2])
        .chain(&nobody[..4])
        .collect();
    write(corpus.path(), "顧客.csv", rows(&first).as_bytes());
    let scan = |files: &Path| {
        let out = v.run_as(&pc, &["scan", "--server", &s.base, files.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        documents(&out.stdout)
    };
    let docs = scan(corpus.path());
    assert_eq!(
        tenants(file(&docs, "顧客.csv")),
        [("acme".into(), 3, 3), ("beta".into(), 2, 2)]
    );

    // Over the budget (six a day): four more of acme's customers would make
    // nine. The file is reported as not matched; the run goes on.
    let more = tempfile::tempdir().unwrap();
    let second: Vec<&Person> = acme[10..14].iter().collect();
    write(more.path(), "追加.csv", rows(&second).as_bytes());
    let docs = scan(more.path());
    let f = file(&docs, "追加.csv");
    assert_eq!(f["not_matched"], "scan_budget_exhausted");
    assert!(f["tenants"].as_array().unwrap().is_empty());
    assert_eq!(docs.last().unwrap()["not_matched"], 1);

    // …which the security office hears of at once (rule scan_oracle).
    let alert = first_alert(&s, &so, "scan_oracle");
    assert_eq!(alert["login"], "pc-0001");
    assert_eq!(alert["variant"], "budget");
    assert_eq!(alert["severity"], "high");

    // The endpoint itself: a person who is no scanner is refused; so are a
    // malformed hash and a value that is not of its kind, without echoing it.
    let body = |sha: &str, kind: &str, value: &str| serde_json::json!({"file_sha256": sha, "values": [{"kind": kind, "value": value, "group": 0}]});
    let sha = "ab".repeat(32);
    let m = canonical_mobile(&acme[20]);
    let r = s.send("POST", "/v1/scan/match", &op, Some(body(&sha, "phone", &m)));
    assert_eq!(r.status, 403, "{:?}", r.body);
    let r = s.send("POST", "/v1/scan/match", "", Some(body(&sha, "phone", &m)));
    assert_eq!(r.status, 401, "{:?}", r.body);
    let r = s.send(
        "POST",
        "/v1/scan/match",
        &pc,
        Some(body("beef", "phone", &m)),
    );
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("body_invalid"))
    );
    let bogus = "0９0-氏名-原田勇気";
    let r = s.send(
        "POST",
        "/v1/scan/match",
        &pc,
        Some(body(&sha, "phone", bogus)),
    );
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("scan_value_invalid"))
    );
    assert!(!r.body.to_string().contains("原田"), "{:?}", r.body);
    let r = s.send("POST", "/v1/scan/match", &pc, Some(body(&sha, "card", &m)));
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert!(!r.body.to_string().contains(&m), "{:?}", r.body);
    // The security office's own budget is untouched by the scanner's.
    let r = s.send("POST", "/v1/scan/match", &so, Some(body(&sha, "phone", &m)));
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["tenants"][0]["people_possible"], 1);

    // Plain http goes only to this machine.
    let out = v.run_as(
        &pc,
        &[
            "scan",
            "--server",
            "http://192.0.2.1:8080",
            corpus.path().to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("https"));

    // Nothing found reached the server's log or the data directory.
    let log = s.stop();
    let planted: Vec<String> = first
        .iter()
        .chain(&second)
        .map(|p| canonical_mobile(p))
        .collect();
    for m in &planted {
        assert!(!log.contains(m.as_str()), "{m} is in the server log");
    }
    not_in_data_dir(&v, &planted);
}

/// A zip of (name, content) entries, as Office writes its files.
fn zip_of<B: AsRef<[u8]>>(files: &[(&str, B)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(body.as_ref()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const CONTENT_TYPES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>";

/// A workbook of `people`: name (shared string), mobile as Excel stores a
/// number typed without its leading 0, e-mail (inline string).
fn xlsx(people: &[&Person]) -> Vec<u8> {
    let mut strings =
        String::from("<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">");
    let mut rows = String::new();
    for (i, p) in people.iter().enumerate() {
        strings.push_str(&format!("<si><t>{}</t></si>", p.name));
        let m = canonical_mobile(p);
        rows.push_str(&format!(
            "<row r=\"{r}\"><c r=\"A{r}\" t=\"s\"><v>{i}</v></c><c r=\"B{r}\"><v>{}</v></c><c r=\"C{r}\" t=\"inlineStr\"><is><t>{}</t></is></c></row>",
            &m[1..],
            p.email,
            r = i + 1
        ));
    }
    strings.push_str("</sst>");
    zip_of(&[
        ("[Content_Types].xml", CONTENT_TYPES.into()),
        ("xl/workbook.xml", "<workbook/>".into()),
        ("xl/sharedStrings.xml", strings),
        (
            "xl/worksheets/sheet1.xml",
            format!(
                "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>{rows}</sheetData></worksheet>"
            ),
        ),
    ])
}

#[test]
fn office_files_are_read_and_counted_per_tenant() {
    let (v, _src, acme, beta, nobody) = vault();
    let corpus = tempfile::tempdir().unwrap();
    let dir = corpus.path();

    // A workbook: eight of acme's customers and three nobodies, each row a
    // name, a mobile whose leading 0 Excel dropped and an e-mail.
    let book: Vec<&Person> = acme[..8].iter().chain(&nobody[..3]).collect();
    write(dir, "顧客管理.xlsx", &xlsx(&book));

    // A letter: a table of beta's customers (customer number and mobile in
    // two cells of a row) and a paragraph naming one more by mobile alone,
    // written with full-width digits.
    let mut table = String::new();
    for p in &beta[..4] {
        table.push_str(&format!(
            "<w:tr><w:tc><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:tc></w:tr>",
            p.customer_no,
            dashed(&canonical_mobile(p))
        ));
    }
    let doc = format!(
        "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:tbl>{table}</w:tbl><w:p><w:r><w:t>折り返し先 {}</w:t></w:r></w:p></w:body></w:document>",
        full_width(&dashed(&canonical_mobile(&beta[10])))
    );
    write(
        dir,
        "お詫び状.docx",
        &zip_of(&[
            ("[Content_Types].xml", CONTENT_TYPES.into()),
            ("word/document.xml", doc),
        ]),
    );

    // Slides with two of acme's mobiles in the speaker notes.
    let notes = format!(
        "<p:notes xmlns:a=\"a\" xmlns:p=\"p\"><a:p><a:r><a:t>{} と {} に確認</a:t></a:r></a:p></p:notes>",
        canonical_mobile(&acme[20]),
        canonical_mobile(&acme[21])
    );
    write(
        dir,
        "報告.pptx",
        &zip_of(&[
            ("[Content_Types].xml", CONTENT_TYPES.into()),
            ("ppt/presentation.xml", "<p/>".into()),
            ("ppt/slides/slide1.xml", "<p:sld xmlns:p=\"p\"/>".into()),
            ("ppt/notesSlides/notesSlide1.xml", notes),
        ]),
    );

    // A workbook inside a zip; a password-protected workbook (a compound
    // file with an EncryptionInfo stream).
    let inner: Vec<&Person> = acme[30..32].iter().collect();
    write(
        dir,
        "月次.zip",
        &zip_of(&[("2026年11月/請求.xlsx", xlsx(&inner))]),
    );
    write(
        dir,
        "顧客_PW付.xlsx",
        &compound(&[
            ("/EncryptionInfo", b"\x04\x00\x04\x00"),
            ("/EncryptedPackage", b""),
        ]),
    );

    let officer = v.officer();
    let out = v.run_as(&officer, &["scan", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = documents(&out.stdout);

    let f = file(&docs, "顧客管理.xlsx");
    assert_eq!(f["format"], "xlsx");
    assert_eq!(f["found"]["counts"]["phone"], 11, "dropped zeros repaired");
    assert_eq!(f["found"]["counts"]["email"], 11);
    assert_eq!(tenants(f), [("acme".to_owned(), 8, 8)]);

    let f = file(&docs, "お詫び状.docx");
    assert_eq!(f["format"], "docx");
    assert_eq!(tenants(f), [("beta".to_owned(), 4, 5)]);

    let f = file(&docs, "報告.pptx");
    assert_eq!(tenants(f), [("acme".to_owned(), 0, 2)]);

    let f = file(&docs, "月次.zip!/2026年11月/請求.xlsx");
    assert_eq!(tenants(f), [("acme".to_owned(), 2, 2)]);

    assert_eq!(
        file(&docs, "顧客_PW付.xlsx")["outcome"]["reason"],
        "encrypted"
    );
}

#[test]
fn a_leaked_file_made_from_an_operators_reads_names_that_operator_first() {
    let (v, _src, acme, _, nobody) = vault();
    let op = v.user("op", "operator", &["acme"]);
    let op2 = v.user("op2", "operator", &["acme"]);
    let so = v.officer();
    let s = v.serve();
    // op looks up six customers, op2 two of them.
    for p in &acme[..6] {
        let r = s.search(&op, "acme", Some("inquiry"), "phone", &canonical_mobile(p));
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    for p in &acme[..2] {
        s.search(&op2, "acme", Some("inquiry"), "phone", &canonical_mobile(p));
    }
    drop(s);
    // The leak: op's six, with their e-mails, among two nobodies, as Excel
    // saves a CSV (CP932).
    let corpus = tempfile::tempdir().unwrap();
    let people: Vec<&Person> = acme[..6].iter().chain(&nobody[..2]).collect();
    write(
        corpus.path(),
        "流出.csv",
        &encoding_rs::SHIFT_JIS.encode(&rows(&people)).0,
    );
    let out = v.run_as(&so, &["breach", "analyze", corpus.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let docs = documents(&out.stdout);
    let acme_part = &file(&docs, "流出.csv")["tenants"][0];
    assert_eq!(acme_part["tenant"], "acme");
    assert_eq!(acme_part["people_confirmed"], 6);
    let readers = acme_part["readers"].as_array().unwrap();
    assert_eq!(readers[0]["who"], "user:op");
    assert_eq!(readers[0]["customers"], 6);
    assert_eq!(readers[1]["who"], "user:op2");
    assert_eq!(readers[1]["customers"], 2);
    let cats: Vec<(&str, &str)> = acme_part["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["verdict"].as_str().unwrap()))
        .collect();
    assert!(cats.contains(&("③", "may_apply")), "{cats:?}");
    assert!(cats.contains(&("④", "for_a_person")), "{cats:?}");
    // An operator may not analyse; nothing of the file reached the data directory.
    let out = v.run_as(&op, &["breach", "analyze", corpus.path().to_str().unwrap()]);
    assert!(!out.status.success());
    let planted: Vec<String> = people.iter().map(|p| canonical_mobile(p)).collect();
    not_in_data_dir(&v, &planted);
}

#[test]
fn a_found_file_is_quarantined_restored_and_deleted_only_as_allowed() {
    let (v, _src, acme, _, _) = vault();
    let so = v.officer();
    let pc = v.user("pc-0002", "scanner", &[]);
    let op = v.user("op", "operator", &["acme/own"]);
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("office.key");
    let k = v.ok(&["export", "keygen", "--out", key_file.to_str().unwrap()]);
    let recipient = k["recipient_key"].as_str().unwrap().to_owned();

    let corpus = tempfile::tempdir().unwrap();
    let people: Vec<&Person> = acme[..3].iter().collect();
    let original = rows(&people);
    let path = corpus.path().join("持ち出し.csv");
    std::fs::write(&path, &original).unwrap();
    let sealed = corpus.path().join("持ち出し.csv.mamori-quarantine.age");
    let p = path.to_str().unwrap();
    let q = sealed.to_str().unwrap();

    // An operator may not put it away; the scanner that found it may.
    let out = v.run_as(&op, &["quarantine", "put", p, "--recipient", &recipient]);
    assert!(!out.status.success());
    assert!(path.exists(), "a refused act leaves the file as it was");
    v.ok_as(&pc, &["quarantine", "put", p, "--recipient", &recipient]);
    assert!(!path.exists() && sealed.exists());
    let bytes = std::fs::read(&sealed).unwrap();
    for m in people.iter().map(|p| canonical_mobile(p)) {
        assert!(
            !bytes.windows(m.len()).any(|w| w == m.as_bytes()),
            "the quarantined file holds {m} in clear"
        );
    }

    // The scanner may not restore or delete; the security office restores.
    let key = key_file.to_str().unwrap();
    let out = v.run_as(&pc, &["quarantine", "restore", q, "--identity", key]);
    assert!(!out.status.success());
    v.ok_as(&so, &["quarantine", "restore", q, "--identity", key]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    assert!(!sealed.exists());

    // Put away again, and deleted for good only with --yes.
    v.ok_as(&so, &["quarantine", "put", p, "--recipient", &recipient]);
    let out = v.run_as(&so, &["quarantine", "delete", q]);
    assert!(!out.status.success() && sealed.exists());
    let out = v.run_as(&pc, &["quarantine", "delete", q, "--yes"]);
    assert!(!out.status.success() && sealed.exists());
    v.ok_as(&so, &["quarantine", "delete", q, "--yes"]);
    assert!(!sealed.exists());

    // Every act is in the system log with the file's hash, none with its name.
    let s = v.serve();
    let events = s.audit(&so, "action=file.quarantine");
    let allowed: Vec<&Value> = events.iter().filter(|e| e["decision"] == "allow").collect();
    assert_eq!(allowed.len(), 2, "{events:?}");
    assert!(
        allowed
            .iter()
            .all(|e| e["detail"]["file_sha256"].as_str().map(str::len) == Some(64))
    );
    assert_eq!(s.audit(&so, "action=file.restore").len(), 2);
    assert_eq!(s.audit(&so, "action=file.delete").len(), 2);
    for e in events {
        assert!(
            !e.to_string().contains("持ち出し"),
            "a file name in the audit log"
        );
    }
}

/// `mamori --json agent run --once` as `token`: its printed documents.
fn agent_once(v: &TestVault, token: &str, server: &str, state: &Path, files: &Path) -> Vec<Value> {
    let out = v.run_as(
        token,
        &[
            "agent",
            "run",
            "--once",
            "--server",
            server,
            "--state",
            state.to_str().unwrap(),
            files.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    documents(&out.stdout)
}

#[test]
fn a_pc_agent_reports_every_scan_answers_hunts_and_keeps_no_value() {
    let (v, _src, acme, beta, nobody) = vault();
    let pc = v.user("pc-0001", "scanner", &[]);
    v.user("pc-0002", "scanner", &[]);
    let op = v.user("op", "operator", &["acme/own"]);
    let so = v.officer();
    let s = v.serve();
    let corpus = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let people: Vec<&Person> = acme[..3]
        .iter()
        .chain(&beta[..2])
        .chain(&nobody[..4])
        .collect();
    write(corpus.path(), "顧客一覧.csv", rows(&people).as_bytes());
    write(
        corpus.path(),
        "memo.txt",
        "会議は15時から。資料は共有フォルダへ。".as_bytes(),
    );

    // First contact: everything is read; the file's customers per tenant.
    let docs = agent_once(&v, &pc, &s.base, state.path(), corpus.path());
    assert_eq!(
        docs.len(),
        2,
        "the file with findings and the scan's summary: {docs:?}"
    );
    assert_eq!(
        (docs[1]["files_seen"].as_u64(), docs[1]["full"].as_bool()),
        (Some(2), Some(true))
    );
    assert!(docs[0]["path"].as_str().unwrap().ends_with("顧客一覧.csv"));
    let reports = |n: usize| {
        let all = s.audit(&so, "action=scan.report");
        let done: Vec<Value> = all
            .into_iter()
            .filter(|e| e["decision"] == "allow")
            .collect();
        assert_eq!(done.len(), n, "{done:?}");
        done[n - 1]["detail"].clone()
    };
    let first = reports(1);
    assert_eq!(first["verdict"], "findings");
    assert_eq!(
        (first["files_seen"].as_u64(), first["files_read"].as_u64()),
        (Some(2), Some(2))
    );
    let tenants: Vec<(String, u64)> = first["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tenant"].as_str().unwrap().to_owned(),
                t["confirmed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(tenants, [("acme".into(), 3), ("beta".into(), 2)]);

    // …which the security office hears of at once (rule pc_findings).
    let alert = first_alert(&s, &so, "pc_findings");
    assert_eq!(
        (alert["login"].as_str(), alert["severity"].as_str()),
        (Some("pc-0001"), Some("high"))
    );

    // Second contact, nothing changed: nothing read, the same findings.
    agent_once(&v, &pc, &s.base, state.path(), corpus.path());
    let second = reports(2);
    assert_eq!(second["files_read"], 0);
    assert_eq!(second["verdict"], "findings");
    assert_eq!(second["files"][0]["unchanged"], true);

    // The security office hunts on this machine; it is picked up at the
    // next contact and read in full.
    let hunt = v.ok_as(
        &so,
        &[
            "agent",
            "hunt",
            "--case-id",
            "INC-2026-0042",
            "--full",
            "--machine",
            "pc-0001",
        ],
    );
    let id = hunt["id"].as_str().unwrap().to_owned();
    let pending = s.send("GET", "/v1/scan/hunts/pending", &pc, None);
    assert_eq!(pending.body[0]["id"], id.as_str());
    assert_eq!(
        s.send(
            "GET",
            "/v1/scan/hunts/pending",
            &v.user("pc-0003", "scanner", &[]),
            None
        )
        .body,
        serde_json::json!([])
    );
    agent_once(&v, &pc, &s.base, state.path(), corpus.path());
    let third = reports(3);
    assert_eq!(third["hunt"], id.as_str());
    assert_eq!(
        (third["full"].as_bool(), third["files_read"].as_u64()),
        (Some(true), Some(2))
    );
    assert_eq!(
        s.send("GET", "/v1/scan/hunts/pending", &pc, None).body,
        serde_json::json!([])
    );

    // The machines as the security office sees them: one reporting with
    // findings, two that never reported.
    let m = s.send("GET", "/v1/scan/machines?silent_days=1", &so, None);
    assert_eq!(m.status, 200, "{:?}", m.body);
    let view: Vec<(String, bool, String)> = m
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["login"].as_str().unwrap().to_owned(),
                m["silent"].as_bool().unwrap(),
                m["last_verdict"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        view,
        [
            ("pc-0001".into(), false, "findings".into()),
            ("pc-0002".into(), true, "-".into()),
            ("pc-0003".into(), true, "-".into()),
        ]
    );
    let listed = v.ok_as(&so, &["agent", "machines", "--silent-days", "1"]);
    assert_eq!(listed.as_array().unwrap().len(), 3);

    // Who may do what: an operator neither reports nor lists; a scanner
    // does not hunt.
    let out = v.run_as(
        &op,
        &[
            "agent",
            "run",
            "--once",
            "--server",
            &s.base,
            "--state",
            state.path().to_str().unwrap(),
            corpus.path().to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("403"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(s.send("GET", "/v1/scan/machines", &op, None).status, 403);
    assert_eq!(s.send("GET", "/v1/scan/machines", &pc, None).status, 403);
    let out = v.run_as(&pc, &["agent", "hunt", "--case-id", "INC-1"]);
    assert!(!out.status.success());
    let r = s.send(
        "POST",
        "/v1/scan/hunts",
        &so,
        Some(serde_json::json!({"case_id": "09012345678"})),
    );
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("case_id_invalid"))
    );

    // A server that does not answer: the run fails and says so; the state
    // it had stands.
    let before = std::fs::read(state.path().join("agent-state.json")).unwrap();
    let out = v.run_as(
        &pc,
        &[
            "agent",
            "run",
            "--once",
            "--server",
            &format!("http://127.0.0.1:{}", crate::common::free_port()),
            "--state",
            state.path().to_str().unwrap(),
            corpus.path().to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert_eq!(
        std::fs::read(state.path().join("agent-state.json")).unwrap(),
        before
    );

    // Nothing found, and no file name, is kept by the agent or recorded in
    // the audit log.
    let mut planted: Vec<String> = people.iter().map(|p| canonical_mobile(p)).collect();
    planted.extend(people.iter().map(|p| p.email.clone()));
    planted.extend(people.iter().map(|p| p.customer_no.clone()));
    planted.push("顧客一覧".into());
    let mut dirs = vec![state.path().to_path_buf()];
    let mut files = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            files += 1;
            let bytes = std::fs::read(&path).unwrap();
            for m in &planted {
                assert!(
                    !bytes.windows(m.len()).any(|w| w == m.as_bytes()),
                    "{m} is in {}",
                    path.display()
                );
            }
        }
    }
    assert!(files >= 2, "the state and the lock");
    for e in s.audit(&so, "action=scan.report") {
        let text = e.to_string();
        assert!(!planted.iter().any(|m| text.contains(m.as_str())), "{text}");
    }

    // A hunt that has machines put away what they find: the list is
    // encrypted in place to the security office's key and the act recorded;
    // the security office brings it back.
    let key_file = v.dir.path().join("office.key");
    let k = v.ok(&["export", "keygen", "--out", key_file.to_str().unwrap()]);
    let office = k["recipient_key"].as_str().unwrap().to_owned();
    let original = std::fs::read(corpus.path().join("顧客一覧.csv")).unwrap();
    let hunt = v.ok_as(
        &so,
        &[
            "agent",
            "hunt",
            "--case-id",
            "INC-2026-0043",
            "--machine",
            "pc-0001",
            "--quarantine-to",
            &office,
        ],
    );
    let docs = agent_once(&v, &pc, &s.base, state.path(), corpus.path());
    let sealed = corpus.path().join("顧客一覧.csv.mamori-quarantine.age");
    assert!(sealed.exists(), "{docs:?}");
    assert!(!corpus.path().join("顧客一覧.csv").exists());
    assert!(
        corpus.path().join("memo.txt").exists(),
        "a file naming no one stays"
    );
    let put: Vec<Value> = s
        .audit(&so, "action=file.quarantine")
        .into_iter()
        .filter(|e| e["decision"] == "allow")
        .collect();
    assert_eq!(put.len(), 1, "{put:?}");
    assert_eq!(put[0]["detail"]["hunt"], hunt["id"]);
    assert_eq!(reports(4)["hunt"], hunt["id"]);
    v.ok_as(
        &so,
        &[
            "quarantine",
            "restore",
            sealed.to_str().unwrap(),
            "--identity",
            key_file.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read(corpus.path().join("顧客一覧.csv")).unwrap(),
        original
    );
}

#[test]
fn a_breach_notification_package_is_drafted_per_tenant_with_an_encrypted_list() {
    let v = TestVault::new();
    let src = tempfile::tempdir().unwrap();
    let key_file = v.dir.path().join("tenant.key");
    let k = v.ok(&["export", "keygen", "--out", key_file.to_str().unwrap()]);
    let recipient = k["recipient_key"].as_str().unwrap().to_owned();
    let out = v.run(&["tenant", "default-schema"]);
    let schema = format!(
        "{}\n[breach]\nreport_to = \"soumu\"\nnotify_recipient = \"{recipient}\"\n",
        String::from_utf8_lossy(&out.stdout)
    );
    let schema_file = src.path().join("schema.toml");
    std::fs::write(&schema_file, schema).unwrap();
    v.ok(&[
        "tenant",
        "create",
        "acme",
        "--name",
        "アクメ通信",
        "--schema",
        schema_file.to_str().unwrap(),
    ]);
    let file = csv_of(src.path(), "acme.csv", 1, 40);
    v.ok(&["import", "--tenant", "acme", file.to_str().unwrap()]);
    let acme: Vec<Person> = Generator::new(1).take(40).collect();
    let nobody: Vec<Person> = Generator::new(9).take(5).collect();
    let so = v.officer();

    // A leak: five customers in full rows, two more by phone alone, and nobodies.
    let mut text = String::from("顧客番号,携帯,メール\n");
    for p in &acme[..5] {
        text.push_str(&format!(
            "{},{},{}\n",
            p.customer_no,
            canonical_mobile(p),
            p.email
        ));
    }
    for p in &acme[5..7] {
        text.push_str(&format!(",{},\n", canonical_mobile(p)));
    }
    for p in &nobody {
        text.push_str(&format!(
            "{},{},{}\n",
            p.customer_no,
            canonical_mobile(p),
            p.email
        ));
    }
    let leak = src.path().join("流出.csv");
    std::fs::write(&leak, &text).unwrap();
    let pkg = v.dir.path().join("通知");
    // `breach notify FILE --tenant acme --out DIR` as `token`.
    let notify = |token: &str, file: &Path, out: &Path| {
        v.run_as(
            token,
            &[
                "breach",
                "notify",
                file.to_str().unwrap(),
                "--tenant",
                "acme",
                "--out",
                out.to_str().unwrap(),
            ],
        )
    };
    let n = v.ok_as(
        &so,
        &[
            "breach",
            "notify",
            leak.to_str().unwrap(),
            "--tenant",
            "acme",
            "--known-at",
            "2026-11-30T09:00:00+09:00",
            "--out",
            pkg.to_str().unwrap(),
        ],
    );
    assert_eq!(n["breach"]["people_confirmed"], 5);
    assert_eq!(n["breach"]["people_possible"], 7);
    assert_eq!(n["final_due"], "2026-12-30T09:00:00+09:00");
    assert_eq!(n["report_to"], "soumu");
    let draft = std::fs::read_to_string(pkg.join("acme-速報.md")).unwrap();
    assert!(draft.contains("最大 7 人（うち確認済み 5 人）"), "{draft}");
    assert!(draft.contains("2026-12-03T09:00:00+09:00"), "{draft}");
    assert!(
        std::fs::read_to_string(pkg.join("acme-確報.md"))
            .unwrap()
            .contains("確報")
    );

    // The list opens with the tenant's key only, and names the seven.
    let list = pkg.join("acme-本人通知.csv.age");
    let out = v.decrypt(&list, &key_file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plain = String::from_utf8_lossy(&out.stdout).to_string();
    for p in &acme[..7] {
        assert!(plain.contains(&p.customer_no), "{plain}");
    }
    for p in &nobody {
        assert!(!plain.contains(&p.customer_no), "{plain}");
    }

    // Nothing of the people in clear in the package, and a second package
    // does not overwrite the first.
    let mut planted: Vec<String> = acme[..7].iter().map(canonical_mobile).collect();
    planted.extend(acme[..7].iter().map(|p| p.customer_no.clone()));
    planted.extend(acme[..5].iter().map(|p| p.email.clone()));
    for entry in std::fs::read_dir(&pkg).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for m in &planted {
            assert!(
                !bytes.windows(m.len()).any(|w| w == m.as_bytes()),
                "{m} in the package"
            );
        }
    }
    let again = notify(&so, &leak, &pkg);
    assert!(!again.status.success());
    // Only the security office.
    let op = v.user("op", "operator", &["acme/own"]);
    let other = v.dir.path().join("other");
    let refused = notify(&op, &leak, &other);
    assert!(!refused.status.success());
    assert!(!other.exists());
    // A file naming none of the tenant's customers: no one to notify, no package.
    let clean = src.path().join("無関係.csv");
    let rows: String = nobody
        .iter()
        .map(|p| format!("{},{}\n", p.customer_no, p.email))
        .collect();
    std::fs::write(&clean, rows).unwrap();
    let none = notify(&so, &clean, &other);
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stdout).contains("no one to notify"));
    assert!(!other.exists());

    // The same over the API: the file is the body.
    let s = v.serve();
    let upload = |path: &str, token: &str, body: &[u8]| {
        let r = s
            .http
            .post(format!("{}{path}", s.base))
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .body(body.to_vec())
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json::<Value>().unwrap_or_default())
    };
    let bytes = std::fs::read(&leak).unwrap();
    let (status, analysis) = upload(
        "/v1/breach/analyze?name=%E6%B5%81%E5%87%BA.csv",
        &so,
        &bytes,
    );
    assert_eq!(status, 200, "{analysis}");
    assert_eq!(analysis[0]["tenants"][0]["people_confirmed"], 5);
    assert_eq!(analysis[0]["tenants"][0]["categories"][3]["id"], "④");
    let (status, notice) = upload(
        "/v1/breach/notify?tenant=acme&name=leak.csv&known_at=2026-11-30T09:00:00%2B09:00",
        &so,
        &bytes,
    );
    assert_eq!(status, 200, "{notice}");
    assert_eq!(notice["final_due"], "2026-12-30T09:00:00+09:00");
    assert!(
        notice["preliminary"]
            .as_str()
            .unwrap()
            .contains("最大 7 人")
    );
    use base64::Engine;
    let list = base64::engine::general_purpose::STANDARD
        .decode(notice["list_age_base64"].as_str().unwrap())
        .unwrap();
    let listed = pkg.join("api.csv.age");
    std::fs::write(&listed, list).unwrap();
    let out = v.decrypt(&listed, &key_file);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&acme[6].customer_no));
    // Refused: another role, an empty body, a path for a name, a bad time.
    assert_eq!(upload("/v1/breach/analyze", &op, &bytes).0, 403);
    assert_eq!(upload("/v1/breach/notify?tenant=acme", &op, &bytes).0, 403);
    assert_eq!(upload("/v1/breach/analyze", &so, b"").0, 400);
    assert_eq!(
        upload("/v1/breach/analyze?name=..%2Fx.csv", &so, &bytes).0,
        400
    );
    let (status, p) = upload(
        "/v1/breach/notify?tenant=acme&known_at=yesterday",
        &so,
        &bytes,
    );
    assert_eq!((status, p["code"].as_str()), (400, Some("time_invalid")));
    assert!(!p.to_string().contains("yesterday"));
}

/// A compound file (OLE2) of these streams, as Office and Outlook write them.
fn compound(streams: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut ole = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
    for (path, bytes) in streams {
        if let Some((dir, _)) = path.rsplit_once('/').filter(|(d, _)| !d.is_empty())
            && !ole.is_storage(dir)
        {
            ole.create_storage_all(dir).unwrap();
        }
        ole.create_stream(path).unwrap().write_all(bytes).unwrap();
    }
    ole.into_inner().into_inner()
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// A person as a line of a letter or a slide: kana, a phone, the address.
fn line_of(p: &Person, phone: &str) -> String {
    format!("{}　{phone}　{}", p.name_kana, p.email)
}

/// The files of `crates/scan/tests/corpus`, made by LibreOffice from the same
/// synthetic people (`make.py` says who is in which), and e-mail made here:
/// every format the scanner reads beyond text, tables and OOXML, each
/// counted per tenant exactly.
#[test]
fn legacy_office_pdf_and_mail_are_read_and_counted_per_tenant() {
    let (v, _src, acme, beta, nobody) = vault();
    let corpus = tempfile::tempdir().unwrap();
    let dir = corpus.path();
    let made = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scan/tests/corpus");
    for name in ["顧客台帳.xls", "打合せメモ.doc", "提案資料.ppt", "名簿.pdf"] {
        std::fs::copy(made.join(name), dir.join(name)).unwrap();
    }

    // A mail: the body in ISO-2022-JP (full-width digits), a Shift_JIS
    // list attached in base64, a name in an encoded word.
    let body: String = acme[10..13]
        .iter()
        .map(|p| line_of(p, &full_width(&p.mobile)) + "\r\n")
        .chain(
            nobody[12..14]
                .iter()
                .map(|p| line_of(p, &p.mobile) + "\r\n"),
        )
        .collect();
    let attached: String = beta[11..14]
        .iter()
        .map(|p| format!("{},{},{}\r\n", p.name, p.phone, p.email))
        .collect();
    let b64 = |b: &[u8]| base64_encode(b);
    let eml = format!(
        "Return-Path: <sender@example.jp>\r\nFrom: =?UTF-8?B?{}?= <sender@example.jp>\r\n\
         To: partner@example.com\r\nSubject: =?UTF-8?B?{}?=\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"=_b\"\r\n\r\n--=_b\r\n\
         Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\
         {}\r\n--=_b\r\nContent-Type: text/csv; charset=Shift_JIS\r\n\
         Content-Disposition: attachment; filename=\"list.csv\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--=_b--\r\n",
        b64("営業部".as_bytes()),
        b64("顧客リスト送付".as_bytes()),
        iso2022jp(&body),
        b64(&encoding_rs::SHIFT_JIS.encode(&attached).0),
    );
    write(dir, "送付.eml", eml.as_bytes());

    // An Outlook message: a body, a recipient who is a customer, and a
    // workbook attached.
    let recipient = &beta[14];
    let msg_body: String = acme[13..15]
        .iter()
        .map(|p| line_of(p, &p.phone) + "\r\n")
        .collect();
    let book: Vec<&Person> = acme[15..17].iter().collect();
    let xlsx = xlsx(&book);
    write(
        dir,
        "転送.msg",
        &compound(&[
            ("/__properties_version1.0", &[0; 32]),
            ("/__substg1.0_0037001F", &utf16("FW: 名簿")),
            ("/__substg1.0_1000001F", &utf16(&msg_body)),
            (
                "/__recip_version1.0_#00000000/__substg1.0_3001001F",
                &utf16(&recipient.name_kana),
            ),
            (
                "/__recip_version1.0_#00000000/__substg1.0_39FE001F",
                &utf16(&recipient.email),
            ),
            (
                "/__recip_version1.0_#00000000/__substg1.0_3A08001F",
                &utf16(&recipient.phone),
            ),
            (
                "/__attach_version1.0_#00000000/__substg1.0_3707001F",
                &utf16("顧客.xlsx"),
            ),
            ("/__attach_version1.0_#00000000/__substg1.0_37010102", &xlsx),
        ]),
    );
    // A compound file of no kind this scanner reads (a thumbnail cache):
    // not read, and not "uninspected" either.
    write(dir, "Thumbs.db", &compound(&[("/Catalog", b"\x10\x00")]));

    let officer = v.officer();
    let out = v.run_as(&officer, &["scan", "--all", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = documents(&out.stdout);
    let t = |name: &str| tenants(file(&docs, name));
    let one = |tenant: &str, n: u64| vec![(tenant.to_owned(), n, n)];

    let f = file(&docs, "顧客台帳.xls");
    assert_eq!(f["format"], "xls");
    // Mobiles stored as numbers (the 0 dropped) and birth dates as serials.
    assert_eq!(f["found"]["counts"]["phone"], 10);
    assert_eq!(f["found"]["counts"]["birth_date"], 10);
    // Names in kanji under the 氏名 header: items of the file, not matched.
    assert_eq!(f["found"]["counts"]["name"], 10);
    assert_eq!(t("顧客台帳.xls"), one("acme", 6));
    assert_eq!(file(&docs, "打合せメモ.doc")["format"], "doc");
    assert_eq!(t("打合せメモ.doc"), one("beta", 5));
    assert_eq!(file(&docs, "提案資料.ppt")["format"], "ppt");
    assert_eq!(t("提案資料.ppt"), one("acme", 4));
    assert_eq!(file(&docs, "名簿.pdf")["format"], "pdf");
    assert_eq!(t("名簿.pdf"), one("beta", 6));
    assert_eq!(file(&docs, "送付.eml")["format"], "eml");
    assert_eq!(t("送付.eml"), one("acme", 3));
    assert_eq!(t("送付.eml!/list.csv"), one("beta", 3));
    assert_eq!(file(&docs, "転送.msg")["format"], "msg");
    assert_eq!(
        t("転送.msg"),
        [("acme".to_owned(), 2, 2), ("beta".to_owned(), 1, 1)]
    );
    assert_eq!(t("転送.msg!/顧客.xlsx"), one("acme", 2));
    assert_eq!(file(&docs, "Thumbs.db")["outcome"]["reason"], "not_read");

    let planted: Vec<String> = acme[..17]
        .iter()
        .chain(&beta[..15])
        .map(canonical_phone)
        .collect();
    let printed = String::from_utf8_lossy(&out.stdout);
    for m in &planted {
        assert!(!printed.contains(m.as_str()), "{m} was printed");
    }
    not_in_data_dir(&v, &planted);
}

/// Text as a Japanese mailer sends it: ISO-2022-JP, JIS X 0208 runs between
/// escape sequences (encoding_rs encodes it).
fn iso2022jp(s: &str) -> String {
    let (bytes, _, _) = encoding_rs::ISO_2022_JP.encode(s);
    String::from_utf8(bytes.into_owned()).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Rule 18 through the running server: a PC agent that stops reporting is
/// raised on the clock (here a threshold of a few seconds), with its last
/// report as the evidence; reporting again and going quiet again raises again.
#[test]
fn a_pc_agent_that_goes_silent_is_raised() {
    let (v, _src, ..) = vault();
    std::fs::write(
        v.data().join("detect.toml"),
        "[machine_silent]\ndays = 0.00004\n",
    )
    .unwrap();
    let pc = v.user("pc-0101", "scanner", &[]);
    let so = v.officer();
    let s = v.serve();
    let files = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    write(files.path(), "memo.txt", "会議は15時から。".as_bytes());
    agent_once(&v, &pc, &s.base, state.path(), files.path());
    let report = s.audit(&so, "action=scan.report");
    let report = report.iter().find(|e| e["decision"] == "allow").unwrap();

    let alert = first_alert(&s, &so, "machine_silent");
    assert_eq!(alert["login"], "pc-0101");
    assert_eq!(alert["severity"], "medium");
    assert_eq!(alert["evidence_seq"], report["seq"], "{alert}");
    // One alert for one silence, however long it lasts.
    std::thread::sleep(std::time::Duration::from_secs(5));
    let listed = |s: &crate::common::Server| {
        let r = s.send("GET", "/v1/alerts?rule=machine_silent", &so, None);
        r.body.as_array().unwrap().len()
    };
    assert_eq!(listed(&s), 1);
    // Back, then quiet again: news again.
    agent_once(&v, &pc, &s.base, state.path(), files.path());
    let start = std::time::Instant::now();
    while listed(&s) < 2 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "no second alert"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
