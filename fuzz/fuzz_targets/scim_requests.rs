//! SCIM request bodies and parameters as a provider sends them: a User or
//! a Group (POST/PUT), a PATCH applied to a User and to a Group, a filter,
//! a SearchRequest. Nothing may panic, and whatever is read must read the
//! same again from what the server would answer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_identity::scim::{
    Filter, Group, ListQuery, User, fold, patch, resource::Meta,
};

fn meta() -> Meta {
    Meta {
        id: "u1".into(),
        location: "/scim/v2/Users/u1".into(),
        created: 0,
        modified: 0,
        version: 1,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if which % 3 == 0 {
        let _ = Filter::parse(text);
        return;
    }
    let Ok(body) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let _ = ListQuery::from_search(&body);
    if let Ok(u) = User::from_folded(&fold(body.clone())) {
        let again = User::from_folded(&fold(u.to_scim(&meta(), "/scim/v2"))).expect("reads back");
        assert_eq!(again, u);
    }
    if let Ok(g) = Group::from_folded(&fold(body.clone())) {
        let again = Group::from_folded(&g.to_folded()).expect("reads back");
        assert_eq!(again, g);
    }
    let user = User {
        user_name: "sato@example.jp".into(),
        external_id: Some("oid".into()),
        display_name: None,
        active: true,
        department: Some("東京".into()),
        manager: Some("m1".into()),
    };
    let mut doc = user.to_folded();
    if patch::apply(&mut doc, &body).is_ok() {
        let _ = User::from_folded(&doc);
    }
    let group = Group {
        display_name: "g".into(),
        external_id: None,
        members: vec!["a".into(), "b".into()],
    };
    let mut doc = group.to_folded();
    if patch::apply(&mut doc, &body).is_ok() {
        let _ = Group::from_folded(&doc);
    }
});
