//! `mamori demo`: a vault to try in under a minute. Two client organisations
//! with synthetic customers, one person per role, and the calls that show what
//! mamori does: purpose-bound, masked, audited access, and refusals.

use std::{collections::BTreeMap, path::Path, sync::Arc};

use anyhow::Result;
use mamori_app::datadir;
use mamori_core::{Role, schema::CONTACT_CENTRE_SCHEMA};
use mamori_vault::{Caller, Vault, admin::NewUser, full_access::Assigned, ingest::ImportRow};
use serde::Serialize;

use crate::{cli_actor, output::Out};

const TENANTS: [(&str, &str, u64); 2] = [
    ("sakura-tel", "さくらテレコム株式会社", 11),
    ("aozora-city", "あおぞら市 市民窓口センター", 22),
];

/// The customer the printed calls look up; the same in every demo.
const DEMO_CUSTOMER: [(&str, &str); 10] = [
    ("customer_no", "DEMO-0001"),
    ("name", "山田 太郎"),
    ("name_kana", "ヤマダ タロウ"),
    ("birth_date", "1985-04-01"),
    ("gender", "男性"),
    ("postal_code", "100-0001"),
    ("address", "東京都千代田区千代田1丁目1番1号"),
    ("phone", "03-1234-5678"),
    ("mobile", "090-1234-5678"),
    ("email", "taro.yamada@example.jp"),
];

/// The demo's access request: one segment, four fields, one case, five customers, two hours.
const ACCESS_REQUEST: &str = r#"{"tenant":"sakura-tel","segment":"collab","fields":["customer_no","name","phone","mobile"],"purpose":"inquiry","case_id":"INC-4411","justification":"コラボ事業者のお客さまから料金プラン変更の問い合わせ","record_budget":5,"hours":2}"#;

#[derive(Serialize)]
struct DemoUser {
    login: String,
    role: Role,
    token: String,
    assigned: String,
}

pub fn run(dir: &Path, records: u64, listen: &str, no_serve: bool, out: Out) -> Result<()> {
    if !dir.join(mamori_app::config::CONFIG_FILE).exists() {
        datadir::init(dir)?;
    }
    let opened = datadir::open(dir)?;
    let vault = opened.vault.clone();
    let actor = cli_actor();
    for (id, name, seed) in TENANTS {
        if vault.store().tenant(id)?.is_none() {
            vault.create_tenant(&actor, id, name, CONTACT_CENTRE_SCHEMA)?;
            load_customers(&vault, &actor, id, seed, records, out)?;
            // Decoys, like any customer to the people who look them up.
            vault.plant_honey(&actor, id, 20, rand::random())?;
        }
    }
    let users = demo_users(&vault, &actor)?;
    let addr = listen.to_owned();
    let print = move |bound: std::net::SocketAddr| print_story(&users, &bound.to_string(), out);
    if no_serve {
        print(addr.parse()?);
        return Ok(());
    }
    let mut opened = opened;
    datadir::start_detection(dir, &mut opened)?;
    drop(vault);
    crate::serve_vault(opened, &addr, print)
}

fn load_customers(
    vault: &Vault,
    actor: &str,
    tenant: &str,
    seed: u64,
    n: u64,
    out: Out,
) -> Result<()> {
    let bar = out.progress(n, tenant);
    let mut people = mamori_synth::Generator::new(seed);
    let mut batch = Vec::with_capacity(2000);
    for (line, i) in (2..).zip(0..n) {
        let p = people.person();
        let fields: BTreeMap<String, String> = mamori_synth::HEADER_FIELDS
            .iter()
            .zip(p.columns())
            .filter(|(f, _)| **f != "segment")
            .map(|(f, v)| (f.to_string(), v.to_string()))
            .collect();
        batch.push(ImportRow {
            line,
            segment: Some(p.segment.clone()),
            fields,
        });
        if batch.len() == 2000 || i + 1 == n {
            vault.import_batch(actor, tenant, None, std::mem::take(&mut batch))?;
            bar.set_position(i + 1);
        }
    }
    let demo: BTreeMap<String, String> = DEMO_CUSTOMER
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    vault.import_batch(
        actor,
        tenant,
        Some("own"),
        vec![ImportRow {
            line: 0,
            segment: None,
            fields: demo,
        }],
    )?;
    bar.finish_and_clear();
    Ok(())
}

/// (login, role, department, vendor, manager, tenant/segment assignments)
type DemoPerson = (
    &'static str,
    Role,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    &'static [(&'static str, Option<&'static str>)],
);

/// The security officer comes first: they register the vendor and record
/// everyone's training before anyone reads customer data.
const PEOPLE: [DemoPerson; 8] = [
    (
        "so-tanaka",
        Role::SecurityOfficer,
        Some("情報セキュリティ室"),
        None,
        None,
        &[],
    ),
    (
        "sv-takahashi",
        Role::Supervisor,
        Some("お客さまセンター"),
        None,
        Some("so-tanaka"),
        &[("sakura-tel", None)],
    ),
    (
        "op-sato",
        Role::Operator,
        Some("お客さまセンター"),
        None,
        Some("sv-takahashi"),
        &[("sakura-tel", Some("own")), ("aozora-city", None)],
    ),
    (
        "by-suzuki",
        Role::Backyard,
        Some("料金センター"),
        None,
        Some("sv-takahashi"),
        &[("sakura-tel", None)],
    ),
    ("au-ito", Role::Auditor, Some("内部監査室"), None, None, &[]),
    (
        "sa-watanabe",
        Role::Sysadmin,
        Some("システム運用"),
        None,
        None,
        &[("sakura-tel", None)],
    ),
    (
        "vd-yamamoto",
        Role::VendorUser,
        None,
        Some("hikari-bpo"),
        Some("sv-takahashi"),
        &[("sakura-tel", Some("collab"))],
    ),
    // A PC-inspection machine's credential: matches what it finds, reads nothing.
    (
        "pc-tokyo-0001",
        Role::Scanner,
        Some("情報セキュリティ室"),
        None,
        None,
        &[],
    ),
];

/// The demo's contractor, with a contract in force and every clause.
fn demo_vendor(vault: &Vault, officer: &Caller) -> Result<()> {
    if vault.store().vendor("hikari-bpo")?.is_some() {
        return Ok(());
    }
    let now = vault.now();
    let clauses: Vec<String> = mamori_core::governance::CLAUSES
        .iter()
        .map(|(id, _, _)| (*id).to_owned())
        .collect();
    vault.put_vendor(
        officer,
        "hikari-bpo",
        "ひかりBPOサービス株式会社",
        now - 86_400,
        now + 365 * 86_400,
        &clauses,
    )?;
    Ok(())
}

/// Everyone who reads data has passed the course; the back office, whose
/// daily budget is above the threshold, has also signed the confirmation.
fn demo_training(vault: &Vault, officer: &Caller, login: &str, role: Role) -> Result<()> {
    if !matches!(role, Role::Operator | Role::Backyard | Role::VendorUser) {
        return Ok(());
    }
    for course in &vault.rules().people.required_courses {
        vault.record_training(officer, login, course, 92, None)?;
    }
    if role == Role::Backyard {
        vault.record_compliance(officer, login, None)?;
    }
    Ok(())
}

/// One person per role, with a fresh token each run (tokens are stored only as hashes).
fn demo_users(vault: &Arc<Vault>, actor: &str) -> Result<Vec<DemoUser>> {
    let mut out = Vec::new();
    let mut officer: Option<Caller> = None;
    for (login, role, dept, vendor, manager, scopes) in PEOPLE {
        let token = if vault.store().user(login)?.is_some() {
            vault.issue_token(actor, login)?
        } else {
            if let Some(o) = &officer
                && role == Role::VendorUser
            {
                demo_vendor(vault, o)?;
            }
            let t = vault.create_user(
                actor,
                &NewUser {
                    login,
                    role,
                    department: dept,
                    vendor,
                    manager,
                },
            )?;
            for (tenant, seg) in scopes {
                let assigned = vault.assign(actor, login, tenant, *seg)?;
                // Standing full access is the security office's decision (A5).
                if let (Assigned::FullAccess(_), Some(o)) = (assigned, &officer) {
                    vault.approve_full_access(o, tenant, login, Some("デモ: 業務上必要"))?;
                }
            }
            if let Some(o) = &officer {
                demo_training(vault, o, login, role)?;
            }
            t
        };
        if role == Role::SecurityOfficer {
            officer = Some(vault.authenticate(Some(token.as_str()), Some("demo".into()))?);
        }
        let assigned = scopes
            .iter()
            .map(|(t, s)| format!("{t}/{}", s.unwrap_or("*")))
            .collect::<Vec<_>>()
            .join(" ");
        out.push(DemoUser {
            login: login.into(),
            role,
            token: token.to_string(),
            assigned,
        });
    }
    Ok(out)
}

fn print_story(users: &[DemoUser], addr: &str, out: Out) {
    if out.json {
        println!("{}", serde_json::json!({"listen": addr, "users": users}));
        return;
    }
    let tok = |login: &str| {
        users
            .iter()
            .find(|u| u.login == login)
            .map(|u| u.token.clone())
            .unwrap_or_default()
    };
    let base = format!("http://{addr}");
    println!("\nmamori demo is ready on {base}\n\nDemo users (tokens are new on every start):");
    for u in users {
        println!(
            "  {:<13} {:<17} {:<40} {}",
            u.login,
            u.role.as_str(),
            if u.assigned.is_empty() {
                "-"
            } else {
                &u.assigned
            },
            u.token
        );
    }
    let search = |token: &str, body: &str| {
        format!(
            "curl -s -X POST {base}/v1/tenants/sakura-tel/records/search -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' -d '{body}'"
        )
    };
    println!(
        "\n1. An operator finds a caller by the number as spoken (全角・長音記号のまま), for a purpose; the address shows only the prefecture:\n   {}\n",
        search(
            &tok("op-sato"),
            r#"{"purpose":"inquiry","case_id":"CALL-20261122-001","by":{"phone":"０９０ー１２３４ー５６７８"}}"#
        )
    );
    println!(
        "2. The same call without a purpose is refused (400 purpose_missing):\n   {}\n",
        search(
            &tok("op-sato"),
            r#"{"by":{"phone":"０９０ー１２３４ー５６７８"}}"#
        )
    );
    println!(
        "3. The system administrator is refused personal data altogether (403, separation of duties):\n   {}\n",
        search(
            &tok("sa-watanabe"),
            r#"{"purpose":"inquiry","by":{"phone":"09012345678"}}"#
        )
    );
    println!(
        "4. Back-office staff see more for billing (full address and e-mail):\n   {}\n",
        search(
            &tok("by-suzuki"),
            r#"{"purpose":"billing","case_id":"BILL-7781","by":{"name_kana":"やまだ たろう"}}"#
        )
    );
    println!(
        "5. Every one of those calls is in the audit log (supervisors, security officers, auditors):\n   curl -s '{base}/v1/audit/events?tenant=sakura-tel&limit=20' -H 'Authorization: Bearer {}'\n",
        tok("au-ito")
    );
    println!(
        "6. The operator may not see the partner's customers (collab): they ask for access for one case, and their supervisor approves:\n   curl -s -X POST {base}/v1/access/requests -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' -d '{}'\n   curl -s -X POST {base}/v1/access/requests/<id>/approve -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' -d '{{\"comment\":\"承認します\"}}'\n",
        tok("op-sato"),
        ACCESS_REQUEST,
        tok("sv-takahashi")
    );
    println!(
        "7. A bulk export to a print vendor needs a supervisor AND the security office; only the vendor's key opens it (in another terminal):\n   mamori export keygen --out print-vendor.key          # prints the vendor's public key age1…\n   MAMORI_TOKEN={} mamori --data-dir <this data dir> export request --tenant sakura-tel --segment collab --fields customer_no,name,postal_code,address --purpose billing --case CHG-2026-0412 --reason '料金改定のお知らせを郵送するため印刷会社へ宛名データを渡す' --recipient-name 'さくら印刷株式会社' --recipient-key age1…\n   MAMORI_TOKEN={} mamori --data-dir <this data dir> export approve <id>\n   MAMORI_TOKEN={} mamori --data-dir <this data dir> export approve <id>\n   MAMORI_TOKEN={} mamori --data-dir <this data dir> export download <id> --out letters.csv.age\n   mamori export decrypt letters.csv.age --identity print-vendor.key | head\n",
        tok("by-suzuki"),
        tok("sv-takahashi"),
        tok("so-tanaka"),
        tok("by-suzuki")
    );
    println!(
        "8. Detection watches every call: twenty searches without a case id in a few minutes look like enumeration, and the security office (and the operator's supervisor) see a high alert within a second. Each tenant also holds 20 decoy customers; reading one raises a critical alert:\n   for i in $(seq -w 1 20); do curl -s -o /dev/null -X POST {base}/v1/tenants/sakura-tel/records/search -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' -d \"{{\\\"purpose\\\":\\\"inquiry\\\",\\\"by\\\":{{\\\"phone\\\":\\\"03123400$i\\\"}}}}\"; done\n   sleep 1; curl -s '{base}/v1/alerts' -H 'Authorization: Bearer {}'\n",
        tok("op-sato"),
        tok("so-tanaka")
    );
    println!(
        "9. A PC-inspection machine asks whose customers the personal data it found in a folder are (it holds no key; the server answers counts per tenant, within the machine's daily budget); as an agent it reports every scan, and the security office sees which PCs reported what and which went silent:\n   mamori --token {} scan --server {base} <a folder>\n   mamori --token {} agent run --once --server {base} --state pc-agent-state <a folder>\n   curl -s '{base}/v1/scan/machines' -H 'Authorization: Bearer {}'\n",
        tok("pc-tokyo-0001"),
        tok("pc-tokyo-0001"),
        tok("so-tanaka")
    );
    println!(
        "10. The web console (Japanese; English from the header): open {base}/console/ in a browser and sign in with the operator's token above; look a customer up with purpose inquiry and a case id.\n"
    );
    println!(
        "11. And the log verifies (in another terminal):\n   mamori --data-dir <this data dir> audit verify\n\nPress Ctrl-C to stop."
    );
}
