//! A surprise audit of a vendor: the vendor's facts, a sample of its
//! people's reads re-drawn identically from the recorded seed, each read
//! explained once by the person who made it, overdue ones counted.

mod common;

use common::Env;
use mamori_vault::ErrorCode;

const DAY: i64 = 86_400;

fn vendor_team() -> Env {
    let mut env = Env::team();
    env.vendor_bpo_reading();
    // Not the vendor's: never in its population.
    env.search("op", 0).unwrap();
    env.advance(DAY);
    env
}

#[test]
fn a_seeded_sample_is_explained_by_whoever_made_each_read() {
    let env = vendor_team();
    let now = env.vault.now();
    let period = (now - 2 * DAY, now);
    let so = env.officer();
    let audit = |seed| {
        env.vault
            .audit_vendor(&so, "bpo", period, 2, seed, now + 7 * DAY)
            .unwrap()
    };
    let a = audit(Some(7));
    assert_eq!((a.population, a.sample.len(), a.seed), (4, 2, 7));
    assert!(a.sample.iter().all(|s| s.read.login == "vd"));
    assert!(a.facts.contract_in_force && a.facts.clauses_missing.is_empty());
    assert_eq!(a.facts.people, 1);
    // The same seed draws the same reads from the same log.
    let again = audit(Some(7));
    let reads = |x: &mamori_vault::vendor_audit::VendorAudit| {
        x.sample
            .iter()
            .map(|s| (s.read.log.clone(), s.read.seq))
            .collect::<Vec<_>>()
    };
    assert_eq!(reads(&a), reads(&again));
    assert_ne!(a.id, again.id);

    // vd is asked about their reads in both audits, and explains one.
    let mine = env.vault.my_audit_items(&env.who("vd")).unwrap();
    assert_eq!(mine.len(), 4);
    let first = &a.sample[0].read;
    let why = "提携先の解約手続きで本人確認を行った";
    env.vault
        .explain_read(&env.who("vd"), &a.id, (&first.log, first.seq), why)
        .unwrap();
    let code = |e: mamori_vault::VaultError| e.error_code();
    let twice = env
        .vault
        .explain_read(&env.who("vd"), &a.id, (&first.log, first.seq), why)
        .unwrap_err();
    assert_eq!(code(twice), ErrorCode::AlreadyExplained);
    // Someone else's read, or one not sampled, looks like nothing at all.
    let other = env
        .vault
        .explain_read(&env.who("op"), &a.id, (&first.log, first.seq), why)
        .unwrap_err();
    assert_eq!(code(other), ErrorCode::NotFound);
    let unknown = env
        .vault
        .explain_read(&env.who("vd"), &a.id, (&first.log, 999_999), why)
        .unwrap_err();
    assert_eq!(code(unknown), ErrorCode::NotFound);

    // The security office reads the explanation; after the deadline the
    // unexplained one is overdue.
    let view = env.vault.vendor_audit(&so, &a.id).unwrap();
    assert_eq!(view.sample[0].explanation.as_deref(), Some(why));
    assert!(view.sample[1].explained_at.is_none());
    assert_eq!(view.overdue, 0);
    env.advance(8 * DAY);
    assert_eq!(env.vault.vendor_audit(&so, &a.id).unwrap().overdue, 1);
    assert!(env.vault.my_audit_items(&env.who("vd")).unwrap().is_empty());
    let late = env
        .vault
        .explain_read(
            &env.who("vd"),
            &a.id,
            (&a.sample[1].read.log, a.sample[1].read.seq),
            why,
        )
        .unwrap_err();
    assert_eq!(code(late), ErrorCode::AlreadyExplained);
}

#[test]
fn only_the_security_office_audits_a_registered_vendor() {
    let env = vendor_team();
    let now = env.vault.now();
    let code = |e: mamori_vault::VaultError| e.error_code();
    let period = (now - DAY, now);
    let e = env
        .vault
        .audit_vendor(&env.who("sv"), "bpo", period, 2, None, now + DAY)
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::Forbidden);
    let so = env.officer();
    let e = env
        .vault
        .audit_vendor(&so, "nosuch", period, 2, None, now + DAY)
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::NotFound);
    for (size, deadline) in [(0, now + DAY), (501, now + DAY), (2, now - 1)] {
        let e = env
            .vault
            .audit_vendor(&so, "bpo", period, size, None, deadline)
            .unwrap_err();
        assert_eq!(code(e), ErrorCode::RequestInvalid);
    }
    let e = env
        .vault
        .vendor_audit(&env.who("vd"), "00000000000000000000000000000000")
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::Forbidden);
}

#[test]
fn a_vendors_answers_are_checked_against_the_records() {
    let env = vendor_team();
    let code = |e: mamori_vault::VaultError| e.error_code();
    let answers = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(q, a)| (q.to_string(), a.to_string()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let so = env.officer();
    assert_eq!(
        code(env.vault.questionnaire(&so, "bpo").unwrap_err()),
        ErrorCode::NotFound
    );
    let honest_but_three = answers(&[
        ("staff_count", "3"),
        ("all_trained", "yes"),
        ("all_pledged", "yes"),
        ("audit_rights", "yes"),
        ("subcontracting", "yes"),
        ("no_open_incidents", "yes"),
    ]);
    // Only the vendor's own people answer, and every question properly.
    let e = env
        .vault
        .answer_questionnaire(&env.who("op"), &honest_but_three)
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::Forbidden);
    let mut bad = honest_but_three.clone();
    bad.insert("all_trained".into(), "maybe".into());
    let e = env
        .vault
        .answer_questionnaire(&env.who("vd"), &bad)
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::RequestInvalid);
    bad.remove("all_trained");
    let e = env
        .vault
        .answer_questionnaire(&env.who("vd"), &bad)
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::RequestInvalid);
    env.vault
        .answer_questionnaire(&env.who("vd"), &honest_but_three)
        .unwrap();

    let q = env.vault.questionnaire(&so, "bpo").unwrap();
    assert_eq!(q.answered_by, "vd");
    let get = |id: &str| q.answers.iter().find(|a| a.question == id).unwrap();
    // The vault knows one person of the vendor, not three.
    let staff = get("staff_count");
    assert_eq!((staff.fact.as_str(), staff.consistent), ("1", false));
    assert!(get("all_trained").consistent && get("audit_rights").consistent);
    assert!(get("subcontracting").consistent && get("no_open_incidents").consistent);
    assert_eq!(
        q.inconsistent,
        q.answers.iter().filter(|a| !a.consistent).count() as u64
    );
    assert!(q.inconsistent >= 1);
    let e = env.vault.questionnaire(&env.who("vd"), "bpo").unwrap_err();
    assert_eq!(code(e), ErrorCode::Forbidden);
    let e = env.vault.questionnaire(&so, "nosuch").unwrap_err();
    assert_eq!(code(e), ErrorCode::NotFound);
}
