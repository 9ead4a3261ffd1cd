//! The security office's dashboard and what an approver sees of a
//! requester: the figures counted as the records say (what is past its
//! deadline is not "waiting"; "soon" is soon), and nothing for those who
//! may not have them.

mod common;

use common::Env;
use mamori_core::Role;
use mamori_vault::grants::NewRequest;

const DAY: i64 = 86_400;

fn request() -> NewRequest {
    NewRequest {
        tenant: "acme".into(),
        segment: Some("collab".into()),
        fields: vec!["name".into(), "phone".into()],
        purpose: "inquiry".into(),
        case_id: "CASE-7".into(),
        justification: "提携先のお客さまからの解約のお問い合わせ対応のため".into(),
        record_budget: 3,
        starts_at: None,
        hours: Some(4),
    }
}

#[test]
fn the_dashboard_counts_what_waits_and_what_ends_soon() {
    let mut env = Env::team();
    env.person("au", Role::Auditor, &[], None, None);
    let so = env.officer();
    let now = env.vault.now();
    let clauses: Vec<String> = common::CLAUSES.iter().map(|c| (*c).to_owned()).collect();
    env.vault
        .put_vendor(
            &so,
            "soon-bpo",
            "まもなく終了BPO",
            now - DAY,
            now + 20 * DAY,
            &clauses,
        )
        .unwrap();
    env.vault
        .put_vendor(
            &so,
            "later-bpo",
            "継続BPO",
            now - DAY,
            now + 200 * DAY,
            &clauses,
        )
        .unwrap();
    env.vault
        .request_access(&env.who("op"), &request())
        .unwrap();

    let d = env.vault.dashboard(&so).unwrap();
    assert_eq!(d.requests_pending, 1);
    assert_eq!(d.exports_pending, 0);
    let vendors: Vec<&str> = d.contracts.iter().map(|c| c.vendor.as_str()).collect();
    assert_eq!(
        vendors,
        ["soon-bpo"],
        "only the contract ending within 60 days"
    );
    // sv holds acme whole, under the default cap.
    let acme = d.full_access.iter().find(|f| f.tenant == "acme").unwrap();
    assert_eq!(acme.holders, 1);
    assert!(acme.cap >= 1);
    // op passed today (a year's validity): not due; sv and the office never did.
    let due: Vec<(&str, bool)> = d
        .training
        .iter()
        .map(|t| (t.login.as_str(), t.lapsed))
        .collect();
    assert!(!due.iter().any(|(l, _)| *l == "op"), "{due:?}");
    assert!(
        due.contains(&("sv", true)) && due.contains(&("so", true)),
        "{due:?}"
    );
    assert_eq!(d.alerts_per_day.len(), 14);

    // 340 days on: op's pass ends within 30 days; the request's window and
    // the vendor's contract are long over (an ended contract without staff
    // is not listed).
    env.advance(340 * DAY);
    let d = env.vault.dashboard(&so).unwrap();
    let op = d.training.iter().find(|t| t.login == "op").expect("op due");
    assert!(!op.lapsed && op.expires_at.is_some());
    assert_eq!(
        d.requests_pending, 0,
        "a request whose window ended waits for nobody"
    );
    assert!(d.contracts.is_empty(), "{:?}", d.contracts);

    // Auditors read it; supervisors and operators are refused.
    assert!(env.vault.dashboard(&env.who("au")).is_ok());
    for login in ["sv", "op"] {
        let err = env.vault.dashboard(&env.who(login)).unwrap_err();
        assert_eq!(err.code(), "forbidden", "{login}");
    }
}

#[test]
fn an_approver_sees_the_requesters_week_and_nobody_else_does() {
    let mut env = Env::team();
    env.person(
        "sv2",
        Role::Supervisor,
        &[("acme", Some("own"))],
        None,
        None,
    );
    // op reads two customers of the own segment today.
    for i in [0, 1] {
        env.search("op", i).unwrap();
    }
    env.vault
        .request_access(&env.who("op"), &request())
        .unwrap();
    let pairs = vec![("op".to_owned(), "acme".to_owned())];

    let seen = env.vault.requester_context(&env.who("sv"), &pairs).unwrap();
    assert_eq!(seen.len(), 1);
    let c = &seen[0];
    assert_eq!((c.reads, c.customers), (2, 2));
    assert!(c.last_read.is_some());
    assert!(c.training_current);
    assert_eq!(c.open_alerts, 0);
    assert_eq!(c.days, 7);
    // The security office too.
    let seen = env.vault.requester_context(&env.officer(), &pairs).unwrap();
    assert_eq!(seen.len(), 1);
    // Another team's supervisor, the requester themself, an unknown person:
    // nothing, and no error that would tell them apart.
    for who in ["sv2", "op"] {
        let seen = env.vault.requester_context(&env.who(who), &pairs).unwrap();
        assert!(seen.is_empty(), "{who}");
    }
    let ghost = vec![("nobody".to_owned(), "acme".to_owned())];
    assert!(
        env.vault
            .requester_context(&env.who("sv"), &ghost)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_systems_health_shows_each_log_against_its_signed_checkpoint() {
    let mut env = Env::team();
    env.person("admin", Role::Sysadmin, &[], None, None);
    env.search("op", 0).unwrap();
    env.vault.audit().flush().unwrap();
    let s = env.vault.system_status(&env.who("admin")).unwrap();
    assert!(s.store_ok && s.audit_ok);
    assert_eq!(s.tenants.get("active"), Some(&1));
    let acme = s
        .logs
        .iter()
        .find(|l| l.log == "tenant/acme")
        .expect("acme's log");
    assert!(acme.events > 0);
    assert_eq!(acme.signed, acme.events, "flushed: every event signed");
    assert!(!acme.stale);
    // 20 minutes on, a read: the signer keeps up (a checkpoint of the new
    // size, signed now), so the log is not flagged.
    let before = acme.events;
    env.advance(20 * 60);
    env.search("op", 1).unwrap();
    let s = env.vault.system_status(&env.officer()).unwrap();
    let acme = s.logs.iter().find(|l| l.log == "tenant/acme").unwrap();
    assert!(acme.events > before);
    assert_eq!(acme.signed_at, Some(env.vault.now()), "{acme:?}");
    assert!(!acme.stale, "{acme:?}");
    // Auditors read it; operators and supervisors are refused.
    env.person("au", Role::Auditor, &[], None, None);
    assert!(env.vault.system_status(&env.who("au")).is_ok());
    for login in ["op", "sv"] {
        let err = env.vault.system_status(&env.who(login)).unwrap_err();
        assert_eq!(err.code(), "forbidden", "{login}");
    }
}

#[test]
fn vendors_are_listed_for_the_security_office_and_auditors_only() {
    let mut env = Env::team();
    env.person("au", Role::Auditor, &[], None, None);
    env.person("admin", Role::Sysadmin, &[], None, None);
    let so = env.officer();
    let now = env.vault.now();
    let clauses: Vec<String> = common::CLAUSES.iter().map(|c| (*c).to_owned()).collect();
    env.vault
        .put_vendor(
            &so,
            "bpo",
            "テストBPO",
            now - DAY,
            now + 300 * DAY,
            &clauses,
        )
        .unwrap();
    for who in ["so", "au"] {
        let list = env.vault.vendor_list(&env.who(who)).unwrap();
        assert_eq!(list.len(), 1, "{who}");
        assert!(list[0].in_force);
    }
    for who in ["op", "sv", "admin"] {
        let err = env.vault.vendor_list(&env.who(who)).unwrap_err();
        assert_eq!(err.code(), "forbidden", "{who}");
    }
}
