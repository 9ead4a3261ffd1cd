//! Credentials' terms, people's identities at identity providers, and
//! sign-ins under way.

use mamori_store::{Credential, CredentialKind, SignInRow, StoreError};

use crate::fixtures::{Stores, api_token, user};

pub fn credentials_keep_their_terms_and_are_revoked_one_by_one(s: &Stores) {
    let db = &*s.db;
    user(db, "op1", "operator");
    db.add_credential("op1", &[1; 32], &api_token(), 1).unwrap();
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
    db.put_sign_in(&[1; 32], &row(100), 0).unwrap();
    db.put_sign_in(&[2; 32], &row(200), 0).unwrap();
    assert_eq!(db.take_sign_in(&[1; 32]).unwrap(), Some(row(100)));
    assert_eq!(db.take_sign_in(&[1; 32]).unwrap(), None, "taken once");
    // A new sign-in forgets those begun before the cut.
    db.put_sign_in(&[3; 32], &row(900), 300).unwrap();
    assert_eq!(db.take_sign_in(&[2; 32]).unwrap(), None);
    assert_eq!(db.take_sign_in(&[3; 32]).unwrap(), Some(row(900)));
}
