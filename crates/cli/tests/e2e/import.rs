//! Import: encodings, malformed files, rejected rows, and an import killed midway.

use std::time::{Duration, Instant};

use crate::common::TestVault;

fn setup() -> (TestVault, tempfile::TempDir) {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    (v, tempfile::tempdir().unwrap())
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn shift_jis_with_cp932_characters_half_width_kana_crlf_and_quoted_newlines() {
    let (v, src) = setup();
    let text = "お客さま番号,氏名,フリガナ,住所,携帯電話番号,区分\r\n\
                S-1,髙橋 ①子,ﾀｶﾊｼ ｲﾁｺ,\"東京都港区芝公園４丁目２－８\r\n（東京タワー～前）\",０９０－２２２２－３３３３,own\r\n\
                S-2,山田 太郎,ﾔﾏﾀﾞ ﾀﾛｳ,大阪府大阪市北区,080-4444-5555,collab\r\n";
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable);
    assert!(
        bytes.windows(2).any(|w| w == [0x87, 0x40]),
        "① is the NEC special character 0x8740"
    );
    let file = write(&src, "sjis.csv", &bytes);
    let out = v.ok(&["import", "--tenant", "acme", &file]);
    assert_eq!(
        (
            out["encoding"].as_str(),
            out["inserted"].as_u64(),
            out["rejected"].as_u64()
        ),
        (Some("shift-jis"), Some(2), Some(0))
    );
    let token = v.user("by", "backyard", &["acme"]);
    let s = v.serve();
    let r = s.search(&token, "acme", Some("billing"), "phone", "09022223333");
    let rec = &r.body["records"][0];
    assert_eq!(rec["fields"]["name"], "髙橋 ①子");
    assert_eq!(rec["fields"]["name_kana"], "タカハシイチコ");
    assert_eq!(
        rec["fields"]["address"],
        "東京都港区芝公園４丁目２－８\r\n（東京タワー～前）"
    );
    let r = s.search(
        &token,
        "acme",
        Some("billing"),
        "name_kana",
        "やまだ たろう",
    );
    assert_eq!(r.body["records"][0]["segment"], "collab");
}

#[test]
fn utf8_with_bom_and_explicit_encodings() {
    let (v, src) = setup();
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes
        .extend_from_slice("氏名,電話番号,お客様番号\r\n佐藤 花子,03-1111-2222,U-1\r\n".as_bytes());
    let file = write(&src, "bom.csv", &bytes);
    let out = v.ok(&["import", "--tenant", "acme", &file]);
    assert_eq!(
        (out["encoding"].as_str(), out["inserted"].as_u64()),
        (Some("utf-8"), Some(1))
    );
    // Forcing the wrong encoding is caught as invalid bytes, not imported as mojibake.
    let sjis = encoding_rs::SHIFT_JIS
        .encode("お客さま番号,氏名\r\nX-1,斎藤 一\r\n")
        .0
        .into_owned();
    let file = write(&src, "sjis.csv", &sjis);
    let out = v.run(&["import", "--tenant", "acme", "--encoding", "utf-8", &file]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(v.records("acme"), 1);
}

#[test]
fn malformed_files_are_refused_whole() {
    let (v, src) = setup();
    let good = "お客さま番号,氏名,電話番号\n";
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "columns.csv",
            format!("{good}A-1,山田,03-1111-2222\nA-2,田中\nA-3,鈴木,03-3333-4444\n").into_bytes(),
            "line 3",
        ),
        ("empty.csv", Vec::new(), "empty"),
        (
            "header.csv",
            "お客さま番号,靴のサイズ\nA-1,27\n".to_string().into_bytes(),
            "--map",
        ),
        (
            "nokey.csv",
            "氏名,電話番号\n山田,03-1111-2222\n"
                .to_string()
                .into_bytes(),
            "customer number",
        ),
        (
            "quote.csv",
            format!("{good}A-1,\"山田,03-1111-2222\n").into_bytes(),
            "line",
        ),
    ];
    let mut invalid = format!("{good}A-1,山田,03-1111-2222\n").into_bytes();
    invalid.extend_from_slice(b"A-2,\xff\xfe,03-1111-2222\n");
    cases.push(("bytes.csv", invalid, "line 3"));
    let mut huge = format!("{good}A-1,山田,03-1111-2222\nA-2,").into_bytes();
    huge.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    huge.extend_from_slice(b",03-1111-2222\n");
    cases.push(("huge.csv", huge, "line 3"));
    for (name, bytes, expect) in cases {
        let file = write(&src, name, &bytes);
        let out = v.run(&["import", "--tenant", "acme", &file]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} was accepted");
        assert!(err.contains(expect), "{name}: {err}");
        assert!(
            !err.contains("山田") && !err.contains("xxxx"),
            "{name}: error echoes a value: {err}"
        );
        assert_eq!(v.records("acme"), 0, "{name} imported something");
    }
    let missing = v.run(&["import", "--tenant", "acme", "/nonexistent.csv"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent.csv"));
    let no_tenant = v.run(&[
        "import",
        "--tenant",
        "nosuch",
        &write(&src, "ok.csv", good.as_bytes()),
    ]);
    assert!(!no_tenant.status.success());
    // A --map file maps an unknown header or skips it.
    std::fs::write(src.path().join("map.toml"), "\"靴のサイズ\" = \"-\"\n").unwrap();
    let file = write(
        &src,
        "header2.csv",
        "お客さま番号,靴のサイズ\nA-1,27\n".as_bytes(),
    );
    let out = v.ok(&[
        "import",
        "--tenant",
        "acme",
        "--map",
        src.path().join("map.toml").to_str().unwrap(),
        &file,
    ]);
    assert_eq!(out["inserted"], 1);
}

#[test]
fn invalid_rows_are_rejected_by_line_and_reason_only() {
    let (v, src) = setup();
    let text = "お客さま番号,氏名,電話番号,メールアドレス,区分\n\
                R-1,山田 太郎,03-1111-2222,taro@example.jp,own\n\
                R-2,田中 花子,12-34,hanako@example.jp,own\n\
                R-3,鈴木 一郎,03-3333-4444,not-an-email,own\n\
                R-4,佐藤 次郎,03-5555-6666,jiro@example.jp,vip\n\
                ,高橋 三郎,03-7777-8888,,own\n\
                R-1,山田 太郎,03-1111-9999,taro@example.jp,own\n";
    let file = write(&src, "rows.csv", text.as_bytes());
    let out = v.run(&["--json", "import", "--tenant", "acme", &file]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (summary["inserted"].as_u64(), summary["rejected"].as_u64()),
        (Some(1), Some(4))
    );
    let lines: Vec<u64> = summary["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![3, 4, 5, 6]);
    let codes: Vec<&str> = summary["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec![
            "field_invalid",
            "field_invalid",
            "segment_unknown",
            "field_missing"
        ]
    );
    for value in ["12-34", "not-an-email", "田中", "高橋"] {
        assert!(!stdout.contains(value), "summary echoes {value}");
    }
    assert_eq!(
        v.records("acme"),
        1,
        "R-1 twice in one file is one customer"
    );
}

#[test]
fn an_import_killed_midway_completes_on_rerun_without_duplicates() {
    let (mut v, src) = setup();
    const N: u64 = 30_000;
    let csv = crate::common::csv_of(src.path(), "big.csv", 9, N);
    v.env
        .push(("MAMORI_IMPORT_BATCH_SIZE".into(), "500".into()));
    // Commit groups of four batches: the kill lands between or inside one.
    v.env
        .push(("MAMORI_IMPORT_GROUP_RECORDS".into(), "2000".into()));
    let mut child = v
        .cmd(&[
            "--json",
            "import",
            "--tenant",
            "acme",
            csv.to_str().unwrap(),
        ])
        .stdout(crate::common::stdio_null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        let n = v.records("acme");
        if n > 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "import never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the import finished before it could be killed; make it bigger"
    );
    let partial = v.records("acme");
    assert!(partial > 0 && partial < N, "partial = {partial}");
    assert_eq!(partial % 500, 0, "batches are atomic");
    let out = v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    assert_eq!(out["updated"].as_u64().unwrap(), partial);
    assert_eq!(out["inserted"].as_u64().unwrap(), N - partial);
    assert_eq!(v.records("acme"), N);
    let verify = v.run(&["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

/// With batches of two rows in one commit group, batch N+1 is prepared from
/// what is committed, without the group's own writes, so a customer repeated
/// in later batches is first taken for new, hits the key-token constraint,
/// and is sealed again as an update against what the group sees.
#[test]
fn a_customer_repeated_across_pipelined_batches_is_one_record_with_the_last_values() {
    let (mut v, src) = setup();
    v.env.push(("MAMORI_IMPORT_BATCH_SIZE".into(), "2".into()));
    let mut text = String::from("お客さま番号,氏名,携帯電話番号,区分\n");
    for round in 0..5 {
        text.push_str(&format!("P-1,山田 太郎,090-0000-000{round},own\n"));
        text.push_str(&format!(
            "P-{},別人 {round},080-1111-222{round},own\n",
            round + 2
        ));
    }
    let file = write(&src, "repeat.csv", text.as_bytes());
    let out = v.ok(&["import", "--tenant", "acme", &file]);
    assert_eq!(out["rows"], 10);
    assert_eq!(out["batches"], 5);
    assert_eq!(
        out["inserted"].as_u64().unwrap() + out["updated"].as_u64().unwrap(),
        10
    );
    assert_eq!(out["inserted"], 6, "P-1 once, P-2..P-6 once each");
    assert_eq!(v.records("acme"), 6);
    let op = v.user("op", "operator", &["acme"]);
    let server = v.serve();
    let last = server.search(&op, "acme", Some("inquiry"), "phone", "09000000004");
    assert_eq!(last.status, 200, "{:?}", last.body);
    assert_eq!(last.body["records"].as_array().unwrap().len(), 1);
    let first = server.search(&op, "acme", Some("inquiry"), "phone", "09000000000");
    assert_eq!(
        first.body["records"].as_array().unwrap().len(),
        0,
        "the replaced phone is no longer in the blind index"
    );
    server.stop();
    assert!(v.run(&["audit", "verify"]).status.success());
}
