//! Access review campaigns in a real vault: items with their reviewer and
//! the vault's evidence, decisions once and by the chosen reviewer only,
//! revocations applied and checked, the deadline's default — and the last
//! security officer kept and escalated rather than locked out.

mod common;

use common::Env;
use mamori_core::Role;
use mamori_store::AuditQuery;
use mamori_vault::{
    ErrorCode, VaultError,
    review_evidence::{Kind, Scope},
    reviews::{CampaignSpec, ItemView, Verdict},
};

const DAY: i64 = 86_400;

/// so (security officer), sv (supervisor with standing full access,
/// approved by so), sv2 (supervisor managed by so), op1 (own segment) and
/// op2 (own and collab), both managed by sv. op1 reads one customer.
fn team() -> Env {
    let mut env = Env::new(|_| {});
    env.person("sv", Role::Supervisor, &[("acme", None)], None, None);
    env.person("sv2", Role::Supervisor, &[], Some("so"), None);
    env.person(
        "op1",
        Role::Operator,
        &[("acme", Some("own"))],
        Some("sv"),
        None,
    );
    env.person(
        "op2",
        Role::Operator,
        &[("acme", Some("own")), ("acme", Some("collab"))],
        Some("sv"),
        None,
    );
    env.advance(60);
    env.search("op1", 0).unwrap();
    env.advance(DAY);
    env
}

fn every_kind() -> Scope {
    Scope {
        kinds: vec![Kind::Segment, Kind::FullAccess, Kind::Role],
        ..Scope::default()
    }
}

fn spec(env: &Env, fallback: Option<&str>) -> CampaignSpec {
    let mut s = CampaignSpec::quarterly(
        "2026年度 第1四半期 権限点検",
        every_kind(),
        now(env) + 14 * DAY,
    );
    s.fallback = fallback.map(str::to_owned);
    s
}

fn now(env: &Env) -> i64 {
    env.vault.now()
}

fn item<'a>(items: &'a [ItemView], login: &str, target: &str) -> &'a ItemView {
    items
        .iter()
        .find(|i| i.login == login && i.target.starts_with(target))
        .unwrap_or_else(|| panic!("an item for {login} {target}"))
}

/// Every item, as an auditor sees them (the security officer does not see
/// the item about their own role). The auditor joins after the campaign
/// opened, so is not in it.
fn all_items(env: &mut Env) -> Vec<ItemView> {
    if !env.tokens.contains_key("au") {
        env.person("au", Role::Auditor, &[], None, None);
    }
    env.vault
        .review_items(&env.who("au"), None, true, false)
        .unwrap()
}

/// `caller` decides item `id`.
fn decide(
    env: &Env,
    caller: &mamori_vault::Caller,
    id: &str,
    verdict: Verdict,
    reason: &str,
) -> Result<ItemView, VaultError> {
    env.vault.decide_item(caller, id, verdict, reason)
}

fn code(e: VaultError) -> ErrorCode {
    e.error_code()
}

#[test]
fn every_entitlement_becomes_an_item_with_its_reviewer_and_evidence() {
    let mut env = team();
    // Today, op1 reads the same customer again and another: the closed day
    // comes from its summary, today from the log, customers counted once.
    env.search("op1", 0).unwrap();
    env.search("op1", 1).unwrap();
    let c = env
        .vault
        .open_campaign(&env.officer(), &spec(&env, Some("sv2")))
        .unwrap();
    assert_eq!(
        c.items, 7,
        "three segments, one full access, three privileged roles"
    );
    let items = all_items(&mut env);
    let reviewer = |login: &str, target: &str| item(&items, login, target).reviewer.clone();
    assert_eq!(reviewer("op1", "own"), "sv", "the manager");
    assert_eq!(reviewer("op2", "collab"), "sv");
    // sv has no manager: the fallback.
    assert_eq!(reviewer("sv", "supervisor"), "sv2");
    assert_eq!(item(&items, "sv", "").kind, Kind::FullAccess);
    assert_eq!(item(&items, "sv", "").grantor.as_deref(), Some("so"));
    // sv2 is managed by so; so by nobody, so the fallback.
    assert_eq!(reviewer("sv2", "supervisor"), "so");
    assert_eq!(reviewer("so", "security_officer"), "sv2");

    let used = &item(&items, "op1", "own").evidence;
    assert_eq!((used.reads, used.customers, used.days), (3, 2, 90));
    assert!(used.last_use.is_some() && used.recommendation.is_none());
    assert!(used.training_current);
    assert_eq!(
        (used.peers_holding, used.department_size),
        (1, 4),
        "op2 holds own too"
    );
    let unused = &item(&items, "op2", "collab").evidence;
    assert_eq!((unused.reads, unused.customers), (0, 0));
    assert_eq!(unused.recommendation.as_deref(), Some("revoke"));

    // The opening is recorded with a digest of the evidence it showed.
    let opened = events(&env, "review.open");
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0]["detail"]["items"], 7);
    assert_eq!(
        opened[0]["detail"]["evidence_sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
}

#[test]
fn a_campaign_nobody_answers_revokes_at_the_deadline_but_keeps_the_last_security_officer() {
    let mut env = team();
    let c = env
        .vault
        .open_campaign(&env.officer(), &spec(&env, Some("sv2")))
        .unwrap();
    // A week before the deadline, each reviewer with open items is told once.
    env.advance(8 * DAY);
    let t = env.vault.review_tick("cli:cron").unwrap();
    assert_eq!(t.notices, 3, "sv, sv2 and so review something");
    assert_eq!(env.vault.review_tick("cli:cron").unwrap().notices, 0);
    assert_eq!(events(&env, "review.notice").len(), 3);

    let share = |rows: &[mamori_vault::report::EntitlementRow]| {
        rows.iter()
            .find(|r| {
                r.tenant == "acme" && r.segment == "own" && r.department == "お客さまセンター"
            })
            .map(|r| (r.can_see, r.people))
            .unwrap()
    };
    let before = env
        .vault
        .entitlements(&env.officer(), Some("acme"))
        .unwrap();
    assert_eq!(
        share(&before),
        (2, 4),
        "op1 and op2 of the department's four"
    );
    env.advance(7 * DAY);
    let t = env.vault.review_tick("cli:cron").unwrap();
    assert_eq!(t.closed, std::slice::from_ref(&c.id));
    let items = all_items(&mut env);
    let applied = |login: &str, target: &str| item(&items, login, target).applied.clone().unwrap();
    for (login, target) in [
        ("op1", "own"),
        ("op2", "own"),
        ("op2", "collab"),
        ("sv", "supervisor"),
    ] {
        assert_eq!(applied(login, target), "revoked", "{login} {target}");
    }
    assert_eq!(applied("sv", ""), "revoked", "standing full access");
    // The only security officer is not locked out: escalated, still in force.
    assert_eq!(applied("so", "security_officer"), "escalated");
    assert!(
        env.vault
            .authenticate(Some(&env.tokens["so"]), None)
            .is_ok()
    );

    // Applied for real: the gate no longer lets op1 read, sv's account is gone.
    assert!(env.search("op1", 0).is_err());
    assert!(
        env.vault
            .authenticate(Some(&env.tokens["sv"]), None)
            .is_err()
    );
    let (_, assignments) = env
        .vault
        .users()
        .unwrap()
        .into_iter()
        .find(|(u, _)| u.login == "op2")
        .unwrap();
    assert!(assignments.is_empty());

    // Each default recorded as the system's, the escalation for detection.
    let decided = events(&env, "review.decide");
    assert_eq!(decided.len(), 7);
    assert!(
        decided
            .iter()
            .all(|e| e["actor"] == "system" && e["detail"]["default"] == true)
    );
    let escalated: Vec<_> = decided
        .iter()
        .filter(|e| e["detail"]["outcome"] == "escalated")
        .collect();
    assert_eq!(escalated.len(), 1);
    assert_eq!(escalated[0]["detail"]["person"], "so");
    // Reasons for a tenant's entitlement are sealed, never in clear.
    let segment = decided
        .iter()
        .find(|e| e["detail"]["kind"] == "segment")
        .unwrap();
    assert_eq!(segment["tenant"], "acme");
    assert!(!segment.to_string().contains("no decision by the deadline"));

    // The close recorded who could see what once the review took effect:
    // the quarterly trend.
    let trend = env.vault.entitlement_trend(&env.officer()).unwrap();
    assert_eq!(trend.len(), 1);
    assert_eq!(trend[0].campaign, c.id);
    assert_eq!(share(&trend[0].rows), (0, 4));
    let refused = env.vault.entitlement_trend(&env.who("op1")).unwrap_err();
    assert_eq!(code(refused), ErrorCode::Forbidden);

    // Nothing more to do; closed campaigns take no decision.
    let again = env.vault.review_tick("cli:cron").unwrap();
    assert!(again.closed.is_empty() && again.opened.is_empty());
    let sv2_item = item(&items, "sv2", "supervisor").id.clone();
    let e = decide(
        &env,
        &env.officer(),
        &sv2_item,
        Verdict::Keep,
        "引き続き必要な権限である",
    )
    .unwrap_err();
    assert_eq!(code(e), ErrorCode::ReviewDecided);
}

#[test]
fn a_recurring_campaign_opens_its_successor_when_due() {
    let env = team();
    let first = env
        .vault
        .open_campaign(&env.officer(), &spec(&env, Some("sv2")))
        .unwrap();
    // Everything kept by its reviewer: nobody loses anything.
    for (who, n) in [("sv", 3), ("sv2", 3), ("so", 1)] {
        let mine = env
            .vault
            .review_items(&env.who(who), None, false, true)
            .unwrap();
        assert_eq!(mine.len(), n, "{who}");
        for i in mine {
            decide(
                &env,
                &env.who(who),
                &i.id,
                Verdict::Keep,
                "業務上必要であることを確認した",
            )
            .unwrap();
        }
    }
    env.advance(15 * DAY);
    assert_eq!(
        env.vault.review_tick("cli:cron").unwrap().closed,
        std::slice::from_ref(&first.id)
    );
    env.advance(60 * DAY);
    assert!(
        env.vault.review_tick("cli:cron").unwrap().opened.is_empty(),
        "not due yet"
    );
    env.advance(20 * DAY);
    let t = env.vault.review_tick("cli:cron").unwrap();
    assert_eq!(t.opened.len(), 1);
    assert!(
        env.vault.review_tick("cli:cron").unwrap().opened.is_empty(),
        "once"
    );
    let campaigns = env.vault.campaigns(&env.officer(), false).unwrap();
    let before = campaigns.iter().find(|c| c.id == first.id).unwrap();
    assert_eq!(before.successor.as_deref(), Some(t.opened[0].as_str()));
    let next = campaigns.iter().find(|c| c.id == t.opened[0]).unwrap();
    assert_eq!((next.items, next.decided, next.every_months), (7, 0, 3));
    // op1 read nothing in the 90 days before the successor opened.
    let items = env
        .vault
        .review_items(&env.officer(), Some(&next.id), true, false)
        .unwrap();
    assert_eq!(item(&items, "op1", "own").evidence.reads, 0);
}

#[test]
fn only_the_chosen_reviewer_decides_once_with_a_reason_and_revocations_take_effect() {
    let mut env = team();
    let c = env
        .vault
        .open_campaign(&env.officer(), &spec(&env, Some("sv2")))
        .unwrap();
    let items = all_items(&mut env);
    let collab = item(&items, "op2", "collab").id.clone();
    let own = item(&items, "op1", "own").id.clone();
    // The reviewee sees nothing of their own review; others not chosen may
    // not decide (the security office sees everything, decides nothing here).
    assert_eq!(
        code(
            decide(
                &env,
                &env.who("op2"),
                &collab,
                Verdict::Keep,
                "必要な業務がある"
            )
            .unwrap_err()
        ),
        ErrorCode::NotFound
    );
    assert!(
        env.vault
            .review_items(&env.who("op2"), None, true, false)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        code(
            decide(
                &env,
                &env.officer(),
                &collab,
                Verdict::Revoke,
                "利用実績がないため"
            )
            .unwrap_err()
        ),
        ErrorCode::Forbidden
    );
    assert_eq!(
        code(
            decide(
                &env,
                &env.who("sv"),
                "0123456789abcdef0123456789abcdef",
                Verdict::Keep,
                "必要な業務がある"
            )
            .unwrap_err()
        ),
        ErrorCode::NotFound
    );
    // A reason is required.
    assert_eq!(
        code(decide(&env, &env.who("sv"), &collab, Verdict::Revoke, " ").unwrap_err()),
        ErrorCode::CommentMissing
    );

    // sv looks at the list, then decides: 30 s, then 5 s.
    env.vault
        .review_items(&env.who("sv"), Some(&c.id), false, true)
        .unwrap();
    env.advance(30);
    let kept = decide(
        &env,
        &env.who("sv"),
        &own,
        Verdict::Keep,
        "日常の問い合わせ対応で利用している",
    )
    .unwrap();
    assert_eq!(kept.applied.as_deref(), Some("kept"));
    env.advance(5);
    let revoked = decide(
        &env,
        &env.who("sv"),
        &collab,
        Verdict::Revoke,
        "提携先顧客の対応は担当外",
    )
    .unwrap();
    assert_eq!(revoked.applied.as_deref(), Some("revoked"));
    assert_eq!(
        code(
            decide(
                &env,
                &env.who("sv"),
                &collab,
                Verdict::Keep,
                "やはり必要だった"
            )
            .unwrap_err()
        ),
        ErrorCode::ReviewDecided
    );
    let (_, left) = env
        .vault
        .users()
        .unwrap()
        .into_iter()
        .find(|(u, _)| u.login == "op2")
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].segment.as_deref(), Some("own"));

    // The last security officer cannot be revoked by hand either.
    let so = item(&items, "so", "security_officer").id.clone();
    assert_eq!(
        code(
            decide(
                &env,
                &env.who("sv2"),
                &so,
                Verdict::Revoke,
                "異動のため不要"
            )
            .unwrap_err()
        ),
        ErrorCode::LastSecurityOfficer
    );

    // Rubber-stamping made visible: per reviewer, share kept and seconds.
    let stats = env.vault.campaign_stats(&env.officer(), &c.id).unwrap();
    let sv = stats.reviewers.iter().find(|r| r.reviewer == "sv").unwrap();
    assert_eq!((sv.items, sv.decided, sv.kept, sv.revoked), (3, 2, 1, 1));
    assert_eq!(sv.keep_rate_percent, 50.0);
    assert_eq!(
        sv.median_seconds,
        Some(30),
        "30 s and 5 s: the upper median"
    );
    assert_eq!(stats.applied["revoked"], 1);
    assert_eq!(
        code(env.vault.campaign_stats(&env.who("sv"), &c.id).unwrap_err()),
        ErrorCode::Forbidden
    );
}

#[test]
fn a_campaign_is_opened_by_the_security_office_with_a_valid_scope_and_independent_reviewers() {
    let env = team();
    let e = env
        .vault
        .open_campaign(&env.who("sv"), &spec(&env, Some("sv2")))
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::Forbidden);
    let mut s = spec(&env, Some("sv2"));
    s.deadline = now(&env) - 1;
    assert_eq!(
        code(env.vault.open_campaign(&env.officer(), &s).unwrap_err()),
        ErrorCode::CampaignInvalid
    );
    let mut s = spec(&env, Some("sv2"));
    s.scope.tenant = Some("nosuch".into());
    assert_eq!(
        code(env.vault.open_campaign(&env.officer(), &s).unwrap_err()),
        ErrorCode::CampaignInvalid
    );
    let mut s = spec(&env, Some("sv2"));
    s.scope = Scope {
        tenant: Some("acme".into()),
        segment: Some("nosuch".into()),
        ..Scope::default()
    };
    assert_eq!(
        code(env.vault.open_campaign(&env.officer(), &s).unwrap_err()),
        ErrorCode::CampaignInvalid
    );
    // An operator cannot be a fallback reviewer.
    assert_eq!(
        code(
            env.vault
                .open_campaign(&env.officer(), &spec(&env, Some("op1")))
                .unwrap_err()
        ),
        ErrorCode::CampaignInvalid
    );
    // Without a fallback, sv's full access (approved by so, no manager) and
    // so's own role have nobody independent to review them.
    let e = env
        .vault
        .open_campaign(&env.officer(), &spec(&env, None))
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::ReviewerMissing);
    // sv managed by so, who approved sv's full access: still nobody for that item.
    env.vault.set_manager("cli:test", "sv", Some("so")).unwrap();
    let mut s = spec(&env, None);
    s.scope.kinds = vec![Kind::FullAccess];
    assert_eq!(
        code(env.vault.open_campaign(&env.officer(), &s).unwrap_err()),
        ErrorCode::ReviewerMissing
    );
    // Nothing was kept of the refused campaigns.
    assert!(
        env.vault
            .campaigns(&env.officer(), false)
            .unwrap()
            .is_empty()
    );
    // A scope narrowed to one segment covers just that.
    let mut s = spec(&env, Some("sv2"));
    s.scope = Scope {
        tenant: Some("acme".into()),
        segment: Some("collab".into()),
        ..Scope::default()
    };
    assert_eq!(
        env.vault.open_campaign(&env.officer(), &s).unwrap().items,
        1
    );
}

#[test]
fn a_shredded_tenants_items_still_close_and_keep_no_reason_in_clear() {
    let env = team();
    let c = env
        .vault
        .open_campaign(&env.officer(), &spec(&env, Some("sv2")))
        .unwrap();
    env.vault.shred("cli:test", "acme").unwrap();
    env.advance(15 * DAY);
    let t = env.vault.review_tick("cli:cron").unwrap();
    assert_eq!(t.closed, std::slice::from_ref(&c.id), "{:?}", t.failed);
    let decided = events(&env, "review.decide");
    let tenant_items: Vec<_> = decided.iter().filter(|e| e["tenant"] == "acme").collect();
    assert_eq!(tenant_items.len(), 4, "three segments and the full access");
    assert!(
        tenant_items
            .iter()
            .all(|e| e["detail"]["note"] == "not kept: tenant shredded")
    );
    let (_, left) = env
        .vault
        .users()
        .unwrap()
        .into_iter()
        .find(|(u, _)| u.login == "op2")
        .unwrap();
    assert!(left.is_empty());
}

/// A role's revocation ends the account through its leaving date, which
/// authentication enforces: a token still live is refused once it passes.
#[test]
fn a_person_past_their_leaving_date_is_refused_at_authentication() {
    let env = team();
    let now = now(&env);
    env.vault
        .set_leaving_date("cli:test", "op1", Some(now + DAY))
        .unwrap();
    assert!(
        env.vault
            .authenticate(Some(&env.tokens["op1"]), None)
            .is_ok()
    );
    env.advance(DAY);
    let e = env
        .vault
        .authenticate(Some(&env.tokens["op1"]), None)
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::Forbidden);
    let refused = events(&env, "auth.token");
    assert_eq!(refused.last().unwrap()["reason"], "user_left");
}

/// The audit events of `action`, as JSON, oldest first.
fn events(env: &Env, action: &str) -> Vec<serde_json::Value> {
    env.vault
        .audit()
        .store()
        .query(&AuditQuery {
            action: Some(action.into()),
            limit: 10_000,
            ..AuditQuery::default()
        })
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap())
        .collect()
}
