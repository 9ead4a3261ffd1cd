//! Credentials' terms, people's identities at identity providers, and
//! sign-ins under way.

use mamori_store::{
    Credential, CredentialKind, MemberChange, Profile, ScimKind, ScimQuery, ScimRow, SignInRow,
    StoreError, UserRow,
};

use crate::fixtures::{Stores, api_token, user};

pub fn credentials_keep_their_terms_and_are_revoked_one_by_one(s: &Stores) {
    let db = &*s.db;
    user(db, "op1", "operator");
    // A credential issued changes nothing a node remembers (tokens are kept
    // only once found): the governance revision stays, so a sign-in does
    // not send every node back to the database for every token.
    let rev = db.governance_rev().unwrap();
    db.add_credential("op1", &[1; 32], &api_token(), 1).unwrap();
    assert_eq!(db.governance_rev().unwrap(), rev);
    let session = Credential {
        kind: CredentialKind::Session,
        expires_at: Some(28_800),
        tenants: Some(vec!["acme".into(), "beta".into()]),
        auth: Some(r#"{"method":"oidc","acr":"urn:mfa"}"#.into()),
    };
    db.add_credential("op1", &[2; 32], &session, 2).unwrap();
    let (u, c, _) = db.user_by_token(&[1; 32]).unwrap().unwrap();
    assert_eq!((u.login.as_str(), c), ("op1", api_token()));
    let (_, c, _) = db.user_by_token(&[2; 32]).unwrap().unwrap();
    assert_eq!(c, session);
    // The same hash twice is refused.
    assert!(db.add_credential("op1", &[2; 32], &api_token(), 3).is_err());
    // Signing out revokes that session only, once.
    assert!(db.revoke_credential(&[2; 32], 4).unwrap());
    assert!(!db.revoke_credential(&[2; 32], 5).unwrap());
    assert!(!db.revoke_credential(&[9; 32], 5).unwrap());
    assert!(db.user_by_token(&[2; 32]).unwrap().is_none());
    assert!(db.user_by_token(&[1; 32]).unwrap().is_some());
    // Revoking a person's credentials takes sessions too.
    db.add_credential("op1", &[3; 32], &session, 6).unwrap();
    assert_eq!(db.revoke_tokens("op1", 7).unwrap(), 2);
    assert!(db.user_by_token(&[3; 32]).unwrap().is_none());
}

pub fn an_identity_is_one_persons_and_a_sign_in_is_taken_once(s: &Stores) {
    let db = &*s.db;
    user(db, "op1", "operator");
    user(db, "op2", "operator");
    let iss = "https://login.example/t/v2.0";
    db.link_identity(iss, "tid/oid-1", "op1", 1).unwrap();
    db.link_identity(iss, "tid/oid-2", "op1", 1).unwrap();
    db.link_identity("https://other.example", "tid/oid-1", "op2", 1)
        .unwrap();
    assert!(matches!(
        db.link_identity(iss, "tid/oid-1", "op2", 2),
        Err(StoreError::Conflict(_))
    ));
    assert!(
        db.link_identity(iss, "tid/oid-9", "nobody", 2).is_err(),
        "only existing people"
    );
    assert_eq!(
        db.identity(iss, "tid/oid-1").unwrap().as_deref(),
        Some("op1")
    );
    assert_eq!(db.identity(iss, "TID/OID-1").unwrap(), None, "exact match");
    assert_eq!(
        db.identities("op1").unwrap(),
        [
            (iss.to_owned(), "tid/oid-1".to_owned()),
            (iss.to_owned(), "tid/oid-2".to_owned())
        ]
    );
    assert!(db.unlink_identity(iss, "tid/oid-1").unwrap());
    assert!(!db.unlink_identity(iss, "tid/oid-1").unwrap());
    assert_eq!(db.identity(iss, "tid/oid-1").unwrap(), None);

    let row = |at| SignInRow {
        provider: "entra".into(),
        sealed: vec![1, 2, 3],
        created_at: at,
    };
    assert!(db.put_sign_in(&[1; 32], &row(100), 0, 10).unwrap());
    assert!(db.put_sign_in(&[2; 32], &row(200), 0, 10).unwrap());
    // At most `most` under way: the third is not kept.
    assert!(!db.put_sign_in(&[4; 32], &row(200), 0, 2).unwrap());
    assert_eq!(db.take_sign_in(&[4; 32]).unwrap(), None);
    assert_eq!(db.take_sign_in(&[1; 32]).unwrap(), Some(row(100)));
    assert_eq!(db.take_sign_in(&[1; 32]).unwrap(), None, "taken once");
    // A new sign-in forgets those begun before the cut (and they no longer count).
    assert!(db.put_sign_in(&[3; 32], &row(900), 300, 1).unwrap());
    assert_eq!(db.take_sign_in(&[2; 32]).unwrap(), None);
    assert_eq!(db.take_sign_in(&[3; 32]).unwrap(), Some(row(900)));
}

fn scim_row(
    kind: ScimKind,
    id: &str,
    login: Option<&str>,
    name: &str,
    ext: Option<&str>,
) -> ScimRow {
    ScimRow {
        kind,
        id: id.into(),
        login: login.map(str::to_owned),
        name_key: name.into(),
        external_id: ext.map(str::to_owned),
        doc: format!(r#"{{"n":"{name}"}}"#),
        version: 1,
        created_at: 10,
        updated_at: 10,
    }
}

fn person(login: &str) -> UserRow {
    UserRow {
        login: login.into(),
        role: "operator".into(),
        department: None,
        vendor: None,
        manager: None,
        created_at: 10,
        leaves_at: None,
        suspended_at: None,
        facts_rev: 0,
    }
}

pub fn scim_users_provision_people_and_groups_keep_live_members(s: &Stores) {
    let db = &*s.db;
    let u1 = scim_row(
        ScimKind::User,
        "u1",
        Some("sato"),
        "sato@example.jp",
        Some("oid-1"),
    );
    db.insert_scim(&u1, Some(&person("sato")), &[]).unwrap();
    assert_eq!(db.user("sato").unwrap().unwrap().role, "operator");
    // A live User's name is one person's; so is a login.
    let dup = scim_row(ScimKind::User, "u2", Some("sato2"), "sato@example.jp", None);
    assert!(matches!(
        db.insert_scim(&dup, Some(&person("sato2")), &[]),
        Err(StoreError::Conflict(_))
    ));
    assert!(
        db.user("sato2").unwrap().is_none(),
        "nothing of a refused insert stays"
    );
    let u2 = scim_row(
        ScimKind::User,
        "u2",
        Some("suzuki"),
        "suzuki@example.jp",
        Some("oid-2"),
    );
    db.insert_scim(&u2, Some(&person("suzuki")), &[]).unwrap();
    let g = scim_row(
        ScimKind::Group,
        "g1",
        None,
        "mamori-operators",
        Some("grp-1"),
    );
    db.insert_scim(&g, None, &["u1".into(), "u2".into(), "nobody".into()])
        .unwrap();
    assert_eq!(
        db.scim_members("g1").unwrap(),
        vec!["u1", "u2"],
        "only live Users"
    );

    // Found by name, external id, id and membership; paged.
    let q = |f: fn(&mut ScimQuery)| {
        let mut q = ScimQuery {
            limit: 10,
            ..ScimQuery::default()
        };
        f(&mut q);
        q
    };
    let (n, found) = db
        .scim_find(
            ScimKind::User,
            &q(|q| q.name_key = Some("suzuki@example.jp".into())),
        )
        .unwrap();
    assert_eq!(
        (n, found[0].id.as_str(), found[0].login.as_deref()),
        (1, "u2", Some("suzuki"))
    );
    let (n, _) = db
        .scim_find(ScimKind::User, &q(|q| q.external_id = Some("oid-1".into())))
        .unwrap();
    assert_eq!(n, 1);
    let (n, found) = db
        .scim_find(
            ScimKind::Group,
            &q(|q| {
                q.id = Some("g1".into());
                q.member = Some("u2".into());
            }),
        )
        .unwrap();
    assert_eq!((n, found.len()), (1, 1));
    let (n, found) = db
        .scim_find(
            ScimKind::User,
            &q(|q| {
                q.offset = 1;
                q.limit = 1;
            }),
        )
        .unwrap();
    assert_eq!((n, found.len(), found[0].id.as_str()), (2, 1, "u2"));
    let (n, found) = db
        .scim_find(
            ScimKind::Group,
            &q(|q| q.name_key = Some("sato@example.jp".into())),
        )
        .unwrap();
    assert_eq!((n, found.len()), (0, 0), "kinds apart");

    // Updates are compare-and-set; members added and removed one by one.
    let mut g2 = g.clone();
    g2.doc = "{}".into();
    let change = |add: &[&str], remove: &[&str]| MemberChange {
        add: add.iter().map(|s| s.to_string()).collect(),
        remove: remove.iter().map(|s| s.to_string()).collect(),
    };
    assert!(
        db.update_scim(&g2, 1, &change(&["u1", "nobody"], &["u2"]))
            .unwrap()
    );
    assert!(
        !db.update_scim(&g2, 1, &change(&[], &[])).unwrap(),
        "moved on"
    );
    assert_eq!(db.scim(ScimKind::Group, "g1").unwrap().unwrap().version, 2);
    assert_eq!(
        db.scim_members("g1").unwrap(),
        vec!["u1"],
        "only live Users; u1 once"
    );
    assert!(db.update_scim(&g2, 2, &change(&["u2"], &[])).unwrap());
    assert_eq!(db.scim_members("g1").unwrap(), vec!["u1", "u2"]);
    assert!(db.update_scim(&g2, 3, &change(&[], &["u2"])).unwrap());
    assert_eq!(db.scim_members("g1").unwrap(), vec!["u1"]);
    let mut renamed = u2.clone();
    renamed.name_key = "sato@example.jp".into();
    assert!(matches!(
        db.update_scim(&renamed, 1, &change(&[], &[])),
        Err(StoreError::Conflict(_))
    ));

    // A deleted User is a tombstone: gone from lists and groups, its person kept.
    assert!(db.delete_scim(ScimKind::User, "u1", 20).unwrap());
    assert!(!db.delete_scim(ScimKind::User, "u1", 21).unwrap());
    assert!(db.scim(ScimKind::User, "u1").unwrap().is_none());
    assert!(db.scim_members("g1").unwrap().is_empty());
    assert!(db.user("sato").unwrap().is_some());
    assert_eq!(
        db.scim_live_users(&["u1".into(), "u2".into()]).unwrap(),
        vec!["u2"]
    );
    // Its name is free again, but not its login.
    let again = scim_row(ScimKind::User, "u3", Some("sato"), "sato@example.jp", None);
    assert!(db.insert_scim(&again, Some(&person("sato")), &[]).is_err());
    let again = scim_row(
        ScimKind::User,
        "u3",
        Some("sato-2"),
        "sato@example.jp",
        None,
    );
    db.insert_scim(&again, Some(&person("sato-2")), &[])
        .unwrap();
    assert!(db.delete_scim(ScimKind::Group, "g1", 22).unwrap());
    assert!(db.scim(ScimKind::Group, "g1").unwrap().is_none());

    // The profile provisioning sets.
    let p = Profile {
        role: "supervisor".into(),
        department: Some("東京第一".into()),
        vendor: None,
        manager: Some("suzuki".into()),
    };
    db.set_profile("sato-2", &p).unwrap();
    let u = db.user("sato-2").unwrap().unwrap();
    assert_eq!(
        (u.role.as_str(), u.manager.as_deref()),
        ("supervisor", Some("suzuki"))
    );
    assert!(db.set_profile("nobody", &p).is_err());
}

pub fn scim_tokens_are_found_by_hash_until_revoked(s: &Stores) {
    let db = &*s.db;
    db.add_scim_token(&[1; 32], "entra", 1).unwrap();
    assert!(matches!(
        db.add_scim_token(&[2; 32], "entra", 2),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(db.scim_token(&[1; 32]).unwrap().as_deref(), Some("entra"));
    assert_eq!(db.scim_token(&[2; 32]).unwrap(), None);
    assert!(db.revoke_scim_token("entra", 3).unwrap());
    assert!(!db.revoke_scim_token("entra", 4).unwrap());
    assert_eq!(db.scim_token(&[1; 32]).unwrap(), None);
    // The label may be used again once revoked.
    db.add_scim_token(&[2; 32], "entra", 5).unwrap();
    let t = db.scim_tokens().unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].revoked_at, Some(3));
}
