//! The test harness shared by the vault's integration tests: a real data
//! directory with a manual clock (expiry is checked at the second it happens,
//! not by sleeping), a tenant of ten synthetic customers, and people.

#![allow(dead_code)]

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, Duration};
use mamori_app::datadir;
use mamori_core::{Role, clock::ManualClock, schema::CONTACT_CENTRE_SCHEMA};
use mamori_vault::{
    Caller, Rules, SearchBy, Vault, VaultError, access::Access, admin::NewUser, ingest::ImportRow,
};

pub const CLAUSES: [&str; 5] = [
    "confidentiality",
    "subcontracting",
    "liability",
    "return_erasure",
    "audit_rights",
];

pub struct Env {
    pub dir: tempfile::TempDir,
    pub vault: Arc<Vault>,
    pub clock: ManualClock,
    pub officer: String,
    pub tokens: BTreeMap<String, String>,
}

pub fn phone(i: usize) -> String {
    format!("090-0000-{i:04}")
}

impl Env {
    pub fn new(adjust: impl FnOnce(&mut Rules)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        datadir::init(dir.path()).unwrap();
        let start = DateTime::parse_from_rfc3339("2026-04-01T10:00:00+09:00").unwrap();
        let clock = ManualClock::at(start.to_utc());
        let c = clock.clone();
        let mut rules = Rules::default();
        adjust(&mut rules);
        let vault = datadir::open_with(dir.path(), |v| v.with_clock(Arc::new(c)).with_rules(rules))
            .unwrap()
            .vault;
        vault
            .create_tenant("cli:test", "acme", "アクメ", CONTACT_CENTRE_SCHEMA)
            .unwrap();
        // Customers 0-1 in the tenant's own segment, 2-9 in the partner segment.
        let rows = (0..10)
            .map(|i| ImportRow {
                line: i as u64 + 2,
                segment: Some(if i < 2 { "own" } else { "collab" }.into()),
                fields: BTreeMap::from([
                    ("customer_no".into(), format!("C-{i}")),
                    ("name".into(), format!("試験 太郎{i}")),
                    ("phone".into(), phone(i)),
                    ("address".into(), "東京都千代田区千代田1-1".into()),
                ]),
            })
            .collect();
        vault.import_batch("cli:test", "acme", None, rows).unwrap();
        let officer = vault
            .create_user(
                "cli:test",
                &NewUser {
                    login: "so",
                    role: Role::SecurityOfficer,
                    department: None,
                    vendor: None,
                    manager: None,
                },
            )
            .unwrap()
            .to_string();
        let mut env = Self {
            dir,
            vault,
            clock,
            officer,
            tokens: BTreeMap::new(),
        };
        env.tokens.insert("so".into(), env.officer.clone());
        env
    }

    pub fn who(&self, login: &str) -> Caller {
        self.from(login, "test")
    }

    pub fn officer(&self) -> Caller {
        self.who("so")
    }

    /// Creates, assigns and (for data roles) trains a person.
    pub fn person(
        &mut self,
        login: &str,
        role: Role,
        scopes: &[(&str, Option<&str>)],
        manager: Option<&str>,
        vendor: Option<&str>,
    ) {
        let token = self
            .vault
            .create_user(
                "cli:test",
                &NewUser {
                    login,
                    role,
                    department: Some("お客さまセンター"),
                    vendor,
                    manager,
                },
            )
            .unwrap();
        self.tokens.insert(login.into(), token.to_string());
        for (t, s) in scopes {
            self.assign(login, t, *s);
        }
        if matches!(role, Role::Operator | Role::Backyard | Role::VendorUser) {
            let so = self.officer();
            self.vault
                .record_training(&so, login, "privacy-basics", 90, None)
                .unwrap();
            if role == Role::Backyard {
                self.vault.record_compliance(&so, login, None).unwrap();
            }
        }
    }

    /// Assigns a segment, or nominates for the whole tenant and has the
    /// security office approve it (standing full access, A5).
    pub fn assign(&self, login: &str, tenant: &str, segment: Option<&str>) {
        self.vault
            .assign("cli:test", login, tenant, segment)
            .unwrap();
        if segment.is_none() {
            self.vault
                .approve_full_access(&self.officer(), tenant, login, None)
                .unwrap();
        }
    }

    pub fn search(
        &self,
        login: &str,
        i: usize,
    ) -> Result<mamori_vault::Released<mamori_vault::access::SearchResult>, VaultError> {
        self.search_as(&self.who(login), i)
    }

    /// `login`'s token presented from `client` (the address the vault records).
    pub fn from(&self, login: &str, client: &str) -> Caller {
        self.vault
            .authenticate(Some(&self.tokens[login]), Some(client.into()))
            .unwrap()
    }

    /// A search by customer `i`'s phone under purpose `inquiry`, case CASE-1.
    pub fn search_as(
        &self,
        caller: &Caller,
        i: usize,
    ) -> Result<mamori_vault::Released<mamori_vault::access::SearchResult>, VaultError> {
        self.vault.search(
            caller,
            "acme",
            Access {
                purpose: Some("inquiry"),
                case_id: Some("CASE-1"),
            },
            &SearchBy {
                key: "phone".into(),
                value: phone(i),
            },
        )
    }

    /// How many matches acme's last search withheld (in segments the
    /// searcher may not see): counted in its audit event, never shown.
    pub fn withheld(&self) -> u64 {
        let rows = self
            .vault
            .audit()
            .store()
            .query(&mamori_store::AuditQuery {
                tenant: Some("acme".into()),
                action: Some("record.search".into()),
                limit: 100_000,
                ..Default::default()
            })
            .unwrap();
        let last = rows.last().expect("a search event");
        let e: serde_json::Value = serde_json::from_slice(&last.body).unwrap();
        e["detail"]["withheld"]
            .as_u64()
            .expect("withheld is recorded")
    }

    pub fn advance(&self, secs: i64) {
        self.clock.advance(Duration::seconds(secs));
    }

    /// A standard team: operator `op` (own segment) managed by supervisor `sv`.
    pub fn team() -> Self {
        let mut env = Self::new(|_| {});
        env.person("sv", Role::Supervisor, &[("acme", None)], None, None);
        env.person(
            "op",
            Role::Operator,
            &[("acme", Some("own"))],
            Some("sv"),
            None,
        );
        env
    }
}

/// A morning in the secure area on 2026-04-01, as a reconciliation reads it:
/// op1 and op2 enter, log on at PC-1 and PC-2, log off and leave; their
/// badges, accounts, PCs and pre-applications.
pub mod secure_area {
    use mamori_vault::reconciliation::ReconcileFiles;

    pub const PEOPLE: &str = "login,badge,pc_account\nop1,B1,CORP\\op1\nop2,B2,CORP\\op2\n";
    pub const HOSTS: &str = "host,address\nPC-1,10.1.0.1\nPC-2,10.1.0.2\n";
    pub const ROOMS: &str = "日時,カード番号,区分\n\
2026/04/01 09:55:00,B1,入室\n2026/04/01 09:58:00,B2,入室\n\
2026/04/01 12:00:00,B1,退室\n2026/04/01 12:01:00,B2,退室\n";
    pub const LOGONS: &str = "TimeCreated,Id,MachineName,TargetUserName,TargetDomainName,TargetLogonId,LogonType\n\
2026/04/01 10:00:00,4624,PC-1,op1,CORP,0x10,2\n\
2026/04/01 10:01:00,4624,PC-2,op2,CORP,0x20,2\n\
2026/04/01 11:50:00,4647,PC-1,op1,CORP,0x10,\n\
2026/04/01 11:51:00,4647,PC-2,op2,CORP,0x20,\n";
    pub const APPLICATIONS: &str = "login,date\nop1,2026-04-01\nop2,2026-04-01\n";

    /// All of the above as a reconciliation's files.
    pub fn files() -> ReconcileFiles<'static> {
        ReconcileFiles {
            mapping: None,
            people: PEOPLE.as_bytes(),
            rooms: ROOMS.as_bytes(),
            logons: LOGONS.as_bytes(),
            hosts: Some(HOSTS.as_bytes()),
            applications: Some(APPLICATIONS.as_bytes()),
        }
    }
}

impl Env {
    /// Vendor `bpo` (every clause, a year's contract) and its person `vd`
    /// in acme's collab segment, managed by `sv`, who reads four customers
    /// a minute apart; then a day passes.
    pub fn vendor_bpo_reading(&mut self) {
        let now = self.vault.now();
        self.vault
            .put_vendor(
                &self.officer(),
                "bpo",
                "BPO株式会社",
                now - 86_400,
                now + 365 * 86_400,
                &CLAUSES.map(String::from),
            )
            .unwrap();
        self.person(
            "vd",
            Role::VendorUser,
            &[("acme", Some("collab"))],
            Some("sv"),
            Some("bpo"),
        );
        for i in 2..6 {
            self.search("vd", i).unwrap();
            self.advance(60);
        }
    }
}
