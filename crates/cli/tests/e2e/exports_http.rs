//! A bulk export through the real server and the real CLI: the recipient
//! makes a key pair, the back office asks over HTTP, a supervisor and the
//! security office approve from the command line, the requester downloads
//! the package once over HTTP, the recipient decrypts it, and the security
//! office traces the decrypted file back to the export.

use crate::common::TestVault;
use serde_json::json;

#[test]
fn export_request_approve_download_decrypt_and_trace() {
    let v = TestVault::new();
    v.ok(&["tenant", "create", "acme", "--name", "アクメ"]);
    let csv = crate::common::csv_of(v.dir.path(), "p.csv", 9, 300);
    v.ok(&["import", "--tenant", "acme", csv.to_str().unwrap()]);
    let sv = v.user("sv", "supervisor", &[]);
    let by = v.user_with("by", "backyard", &["acme/collab"], &["--manager", "sv"]);
    let so = v.officer();
    let people: Vec<_> = mamori_synth::Generator::new(9).take(300).collect();
    let collab: Vec<_> = people.iter().filter(|p| p.segment == "collab").collect();

    // The recipient's key pair; the private key file is theirs (0600).
    let key_file = v.dir.path().join("recipient.key");
    let k = v.ok(&["export", "keygen", "--out", key_file.to_str().unwrap()]);
    let recipient = k["recipient_key"].as_str().unwrap().to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = v.run(&["export", "keygen", "--out", key_file.to_str().unwrap()]);
    assert!(
        !again.status.success(),
        "an existing key is never overwritten"
    );

    let s = v.serve();
    let ask = json!({
        "tenant": "acme", "segment": "collab", "fields": ["customer_no", "name", "postal_code", "address", "phone"],
        "purpose": "billing", "case_id": "CHG-2026-0412",
        "reason": "提携先の料金改定のお知らせを郵送するため印刷会社へ宛名データを渡す",
        "recipient_name": "さくら印刷株式会社", "recipient_key": recipient
    });
    let r = s.send("POST", "/v1/exports", &sv, Some(ask.clone()));
    assert_eq!(r.status, 403, "supervisors do not export: {:?}", r.body);
    let r = s.send("POST", "/v1/exports", &by, Some(ask));
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["rows_at_request"], collab.len());
    let id = r.body["id"].as_str().unwrap().to_owned();

    let r = s.send(
        "POST",
        &format!("/v1/exports/{id}/approve"),
        &by,
        Some(json!({})),
    );
    assert_eq!(r.status, 403, "no self-approval");
    let pending = v.ok_as(&sv, &["export", "list", "--pending"]);
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    let one = v.ok_as(
        &sv,
        &["export", "approve", &id, "--comment", "宛先確認済み"],
    );
    assert_eq!(one["status"], "pending");
    let two = v.ok_as(&so, &["export", "approve", &id]);
    assert_eq!(two["status"], "ready", "{two}");

    let dl = |token: &str| {
        s.http
            .post(format!("{}/v1/exports/{id}/download", s.base))
            .bearer_auth(token)
            .send()
            .unwrap()
    };
    assert_eq!(dl(&sv).status().as_u16(), 403);
    let r = dl(&by);
    assert_eq!(r.status().as_u16(), 200);
    let sha = r.headers()["x-mamori-sha256"].to_str().unwrap().to_owned();
    assert_eq!(sha, two["package"]["sha256"].as_str().unwrap());
    let bytes = r.bytes().unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1"));
    let again = dl(&by);
    assert_eq!(again.status().as_u16(), 409, "one download only");

    // The recipient decrypts with the CLI (or any age tool).
    let pkg = v.dir.path().join("export.csv.age");
    std::fs::write(&pkg, &bytes).unwrap();
    let out = v.decrypt(&pkg, &key_file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for p in &collab {
        assert!(text.contains(&p.name), "{} missing", p.customer_no);
    }
    assert!(text.lines().count() >= collab.len() + 1 + 2);
    let wrong = v.dir.path().join("wrong.key");
    v.ok(&["export", "keygen", "--out", wrong.to_str().unwrap()]);
    let out = v.decrypt(&pkg, &wrong);
    assert!(!out.status.success(), "another key cannot open it");

    // A leak of the decrypted file, converted to Shift_JIS on the way: traced.
    let leak = v.dir.path().join("leak.csv");
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(text.trim_start_matches('\u{feff}'));
    std::fs::write(&leak, &sjis).unwrap();
    let bad = v.run_as(&by, &["export", "trace", leak.to_str().unwrap()]);
    assert!(!bad.status.success(), "tracing is oversight work");
    let report = v.ok_as(&so, &["export", "trace", leak.to_str().unwrap()]);
    assert_eq!(report["matches"][0]["export"], id.as_str(), "{report}");
    assert_eq!(report["matches"][0]["verdict"], "match");
    let marks = report["matches"][0]["marks_seen"].as_u64().unwrap();
    assert!(
        marks as usize >= collab.len(),
        "phones and postal codes carry marks"
    );
    assert_eq!(report["matches"][0]["marks_matching"], marks);
    // Breach analysis of the same file says so too, beside whose customers
    // it holds and the export whose package carried them.
    let analysis = v.ok_as(&so, &["breach", "analyze", leak.to_str().unwrap()]);
    assert_eq!(
        analysis["watermarks"][0]["export"],
        id.as_str(),
        "{analysis}"
    );
    assert_eq!(analysis["watermarks"][0]["verdict"], "match");
    assert_eq!(analysis["watermarks_checked"], true);
    assert_eq!(analysis["tenants"][0]["exports"][0]["who"], id.as_str());
    assert_eq!(
        analysis["tenants"][0]["people_confirmed"].as_u64(),
        Some(collab.len() as u64)
    );

    let shown = v.ok_as(&so, &["export", "show", &id]);
    assert_eq!(shown["status"], "downloaded");
    let audit = s.audit(&so, "action=export.package");
    assert_eq!(audit.len(), 1);
    assert_eq!(
        audit[0]["records"].as_array().unwrap().len(),
        collab.len(),
        "every exported customer is in the log"
    );
    s.stop();
}
