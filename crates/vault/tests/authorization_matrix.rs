//! The authorisation matrix: role × action (search, read, access request,
//! export request) × segment × purpose × grant state
//! × people state, each cell asked of the real vault (real gate, real grants,
//! real budgets, a manual clock) and compared with the expected table kept as
//! data in `tests/data/authorization_matrix.tsv`. Every unexpected allow and
//! every unexpected deny is reported, not just the first.

mod common;

use std::collections::BTreeMap;

use common::{CLAUSES, Env, phone};
use mamori_core::Role;
use mamori_vault::{
    Caller, SearchBy, VaultError, access::Access, admin::NewUser, exports::NewExport,
    grants::NewRequest,
};

const TABLE: &str = include_str!("data/authorization_matrix.tsv");
/// The customers asked for: #0 is in `own`, #2 in `collab` (#3 is what an
/// over-budget grant was spent on).
const OWN: usize = 0;
const COLLAB: usize = 2;
const SPENT: usize = 3;
const DAY: i64 = 86_400;
/// A recipient key for export requests (the package is never built here).
const RECIPIENT: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

struct Cell {
    role: String,
    people: String,
    grant: String,
    action: String,
    segment: String,
    purpose: String,
    expected: String,
}

fn table() -> Vec<Cell> {
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("role\t") && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 7, "malformed table line: {l}");
            Cell {
                role: c[0].into(),
                people: c[1].into(),
                grant: c[2].into(),
                action: c[3].into(),
                segment: c[4].into(),
                purpose: c[5].into(),
                expected: c[6].into(),
            }
        })
        .collect()
}

fn grant_request() -> NewRequest {
    NewRequest {
        tenant: "acme".into(),
        segment: Some("collab".into()),
        fields: vec!["customer_no".into(), "name".into(), "phone".into()],
        purpose: "inquiry".into(),
        case_id: "CASE-1".into(),
        justification: "提携先のお客さまからの問い合わせに回答するため契約内容を確認する".into(),
        record_budget: 1,
        starts_at: None,
        hours: Some(72),
    }
}

/// Creates the person of one row of the matrix, in its people and grant state.
/// Training of `training_lapsed` people and the contract of `vendor_expired`
/// ones end one hour from now; grants of `expired` last one hour.
fn person(env: &mut Env, role: Role, people: &str, grant: &str) -> String {
    let login = format!("{}-{people}-{grant}", role.as_str()).replace('_', "-");
    let so = env.officer();
    let now = env.vault.now();
    let vendor = (role == Role::VendorUser).then(|| {
        if people == "vendor_expired" {
            "ending-bpo"
        } else {
            "steady-bpo"
        }
    });
    let token = env
        .vault
        .create_user(
            "cli:test",
            &NewUser {
                login: &login,
                role,
                department: None,
                vendor,
                manager: Some("sv"),
            },
        )
        .unwrap()
        .to_string();
    env.tokens.insert(login.clone(), token);
    env.vault
        .assign("cli:test", &login, "acme", Some("own"))
        .unwrap();
    let completed = if people == "training_lapsed" {
        now - 365 * DAY + 3600
    } else {
        now
    };
    env.vault
        .record_training(&so, &login, "privacy-basics", 90, Some(completed))
        .unwrap();
    env.vault.record_compliance(&so, &login, None).unwrap();
    if grant == "none" {
        return login;
    }
    let me = env.who(&login);
    let mut req = grant_request();
    if grant == "expired" {
        req.hours = Some(1);
    }
    let r = env.vault.request_access(&me, &req).unwrap();
    if grant == "pending" {
        return login;
    }
    let sv = env.who("sv");
    env.vault.approve_request(&sv, &r.id, None).unwrap();
    match grant {
        "revoked" => {
            env.vault
                .revoke_request(&sv, &r.id, "対応が完了したため")
                .unwrap();
        }
        "over_budget" => {
            // Spend the grant's one record on another partner customer
            // (as the person now: their facts include the approved grant).
            let me = env.who(&login);
            let spent = env
                .vault
                .search(&me, "acme", access("inquiry"), &by_phone(SPENT));
            assert_eq!(spent.unwrap().records.len(), 1, "{login} spends its budget");
        }
        _ => {}
    }
    login
}

fn access(purpose: &str) -> Access<'_> {
    Access {
        purpose: Some(purpose),
        case_id: Some("CASE-1"),
    }
}

fn by_phone(i: usize) -> SearchBy {
    SearchBy {
        key: "phone".into(),
        value: phone(i),
    }
}

/// Asks the vault for one cell: `allow` when the customer is shown, otherwise
/// `deny` (with why, for the report).
fn ask(env: &Env, caller: &Caller, cell: &Cell, ids: &BTreeMap<usize, String>) -> (String, String) {
    let i = if cell.segment == "own" { OWN } else { COLLAB };
    let result: Result<bool, VaultError> = match cell.action.as_str() {
        "record.search" => env
            .vault
            .search(caller, "acme", access(&cell.purpose), &by_phone(i))
            .map(|r| !r.records.is_empty()),
        "record.read" => env
            .vault
            .get(caller, "acme", &ids[&i], access(&cell.purpose))
            .map(|_| true),
        "access.request" => {
            let mut req = grant_request();
            req.segment = Some(cell.segment.clone());
            req.purpose = cell.purpose.clone();
            req.fields = vec!["customer_no".into(), "name".into()];
            env.vault.request_access(caller, &req).map(|_| true)
        }
        "export.request" => env
            .vault
            .request_export(
                caller,
                &NewExport {
                    tenant: "acme".into(),
                    segment: Some(cell.segment.clone()),
                    fields: vec!["customer_no".into(), "name".into()],
                    purpose: cell.purpose.clone(),
                    case_id: "CASE-1".into(),
                    reason: "提携先へのお知らせ送付のため宛名データを印刷会社へ渡す".into(),
                    recipient_name: "さくら印刷株式会社".into(),
                    recipient_key: RECIPIENT.into(),
                },
            )
            .map(|_| true),
        other => panic!("unknown action {other}"),
    };
    match result {
        Ok(true) => ("allow".into(), "shown".into()),
        Ok(false) => ("deny".into(), "withheld".into()),
        Err(e) => ("deny".into(), e.code().into()),
    }
}

#[test]
fn every_cell_of_the_authorisation_matrix_matches_the_table() {
    let mut env = Env::new(|_| {});
    let so = env.officer();
    let now = env.vault.now();
    let clauses: Vec<String> = CLAUSES.iter().map(|c| c.to_string()).collect();
    env.vault
        .put_vendor(
            &so,
            "steady-bpo",
            "長期BPO",
            now - DAY,
            now + 400 * DAY,
            &clauses,
        )
        .unwrap();
    env.vault
        .put_vendor(
            &so,
            "ending-bpo",
            "終了BPO",
            now - DAY,
            now + 3600,
            &clauses,
        )
        .unwrap();
    env.person("sv", Role::Supervisor, &[], None, None);
    // Opaque record ids of the customers asked for, found by someone who may see both.
    env.person("probe", Role::Backyard, &[("acme", None)], None, None);
    let probe = env.who("probe");
    let mut ids = BTreeMap::new();
    for i in [OWN, COLLAB] {
        let r = env
            .vault
            .search(&probe, "acme", access("inquiry"), &by_phone(i))
            .unwrap();
        ids.insert(i, r.records[0].id.clone());
    }

    let cells = table();
    let mut logins = BTreeMap::new();
    for c in &cells {
        let key = (c.role.clone(), c.people.clone(), c.grant.clone());
        if let std::collections::btree_map::Entry::Vacant(slot) = logins.entry(key) {
            let role: Role = c.role.parse().unwrap();
            slot.insert(person(&mut env, role, &c.people, &c.grant));
        }
    }
    // Two hours on: lapsing training and contracts have lapsed, one-hour grants ended.
    env.advance(2 * 3600);

    let mut unexpected = Vec::new();
    let mut allowed = 0;
    for c in &cells {
        let login = &logins[&(c.role.clone(), c.people.clone(), c.grant.clone())];
        let caller = env.who(login);
        let (got, why) = ask(&env, &caller, c, &ids);
        if got == "allow" {
            allowed += 1;
        }
        if got != c.expected {
            unexpected.push(format!(
                "{} {} {} {} {} {}: expected {}, got {got} ({why})",
                c.role, c.people, c.grant, c.action, c.segment, c.purpose, c.expected
            ));
        }
    }
    assert!(
        unexpected.is_empty(),
        "{} of {} cells differ from the table:\n{}",
        unexpected.len(),
        cells.len(),
        unexpected.join("\n")
    );
    // The table is not trivially all-deny (a broken gate would pass it).
    assert!(allowed >= 100, "{allowed}");
    assert_eq!(cells.len(), 832);
}

const AUDIT_TABLE: &str = include_str!("data/audit_read_matrix.tsv");

/// One read of the audit log, as the table names it: `allow` when the gate
/// let it through (a later "not found" still counts as allowed), else `deny`.
fn read_audit(env: &Env, reader: &str, read: &str) -> &'static str {
    let caller = env.who(reader);
    let result = if let Some(log) = read.strip_prefix("checkpoint:") {
        env.vault.audit_checkpoint(&caller, log).map(|_| ())
    } else {
        let mut q = mamori_store::AuditQuery {
            limit: 10,
            ..Default::default()
        };
        match read.strip_prefix("events").unwrap_or(read) {
            "" => {}
            f => match f.trim_start_matches(':').split_once('=') {
                Some(("tenant", t)) => q.tenant = Some(t.into()),
                Some(("actor", a)) => q.actor = Some(format!("user:{a}")),
                _ => panic!("unknown read {read}"),
            },
        }
        env.vault.audit_events(&caller, q).map(|_| ())
    };
    match result {
        Err(VaultError::Forbidden { .. }) => "deny",
        _ => "allow",
    }
}

#[test]
fn audit_reading_is_scoped_by_the_policies_as_the_table_says() {
    let mut env = Env::team();
    env.vault
        .create_tenant(
            "cli:test",
            "beta",
            "ベータ",
            mamori_core::schema::CONTACT_CENTRE_SCHEMA,
        )
        .unwrap();
    env.person(
        "stranger",
        Role::Operator,
        &[("acme", Some("own"))],
        None,
        None,
    );
    env.person("au", Role::Auditor, &[], None, None);
    env.person("sa", Role::Sysadmin, &[], None, None);
    env.person("pc", Role::Scanner, &[], None, None);
    // Something in every log, signed, so that checkpoints exist.
    env.search("op", 0).unwrap();
    env.vault.audit().flush().unwrap();
    let mut unexpected = Vec::new();
    let mut rows = 0;
    for line in AUDIT_TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("reader\t") && !l.trim().is_empty())
    {
        let c: Vec<&str> = line.split('\t').collect();
        assert_eq!(c.len(), 3, "malformed table line: {line}");
        let got = read_audit(&env, c[0], c[1]);
        if got != c[2] {
            unexpected.push(format!("{} {}: expected {}, got {got}", c[0], c[1], c[2]));
        }
        rows += 1;
    }
    assert!(
        unexpected.is_empty(),
        "{} of {rows} reads differ from the table:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    assert_eq!(rows, 26);
}
