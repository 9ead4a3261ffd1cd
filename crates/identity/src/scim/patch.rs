//! PATCH (RFC 7644 §3.5.2) applied to a folded resource document, with
//! what identity providers really send (the cases Vaultwarden, Keycloak's
//! SCIM plugins and others found one by one):
//! - `op` in any case (`Replace`, `ADD`);
//! - no `path`, the value an object of attributes — `{"active": false}`,
//!   or an extension's attributes under their full URN as keys;
//! - booleans as strings (`"False"`), read when the result is read;
//! - members added as an array, removed by a value array (Entra) or by a
//!   filter path `members[value eq "…"]` (Okta);
//! - paths naming attributes mamori does not keep (`emails[type eq
//!   "work"].value`, `name.givenName`) accepted and ignored, as the
//!   attributes themselves are on arrival.
//!
//! The caller reads the resource back from the patched document
//! (`User::from_folded`), so every rule of a POST holds after a PATCH too.

use super::resource::member_id;
use super::{
    ENTERPRISE_SCHEMA, GROUP_SCHEMA, MAX_OPERATIONS, PATCH_SCHEMA, ScimError, USER_SCHEMA, fold,
};
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Where an operation points: the attribute (folded), in the enterprise
/// extension or not, a sub-attribute, and for `members[value eq "x"]` the
/// member selected.
#[derive(Debug)]
struct Target {
    ext: bool,
    attr: String,
    sub: Option<String>,
    member: Option<String>,
    /// A filter on an attribute mamori does not keep: the operation is ignored.
    ignored: bool,
}

/// Applies a PatchOp body (not folded; as received) to `doc` (folded).
pub fn apply(doc: &mut Value, body: &Value) -> Result<(), ScimError> {
    let body = fold(body.clone());
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body must be a PatchOp object"))?;
    if let Some(s) = obj.get("schemas").and_then(Value::as_array)
        && !s.iter().any(|v| {
            v.as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_SCHEMA))
        })
    {
        return Err(ScimError::invalid_syntax(
            "a PATCH body must name the PatchOp schema",
        ));
    }
    let ops = obj
        .get("operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body needs its Operations"))?;
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::too_many(format!(
            "a PATCH carries at most {MAX_OPERATIONS} operations"
        )));
    }
    let doc = doc
        .as_object_mut()
        .ok_or_else(|| ScimError::invalid_syntax("the resource is not an object"))?;
    for op in ops {
        one(doc, op)?;
    }
    Ok(())
}

fn one(doc: &mut Map<String, Value>, op: &Value) -> Result<(), ScimError> {
    let kind = match op.get("op").and_then(Value::as_str) {
        Some(s) if s.eq_ignore_ascii_case("add") => Op::Add,
        Some(s) if s.eq_ignore_ascii_case("replace") => Op::Replace,
        Some(s) if s.eq_ignore_ascii_case("remove") => Op::Remove,
        _ => {
            return Err(ScimError::invalid_syntax(
                "each operation's op must be add, replace or remove",
            ));
        }
    };
    let value = op.get("value");
    match op.get("path") {
        Some(Value::String(p)) if !p.trim().is_empty() => {
            let t = target(p)?;
            if t.ignored {
                return Ok(());
            }
            at_path(doc, kind, &t, value)
        }
        None | Some(Value::Null) | Some(Value::String(_)) => {
            if kind == Op::Remove {
                return Err(ScimError::no_target("remove needs a path"));
            }
            let Some(Value::Object(attrs)) = value else {
                return Err(ScimError::invalid_syntax(
                    "an operation without a path needs an object of attributes as its value",
                ));
            };
            for (k, v) in attrs {
                let ext = ENTERPRISE_SCHEMA.to_lowercase();
                if *k == ext {
                    let Value::Object(inner) = v else {
                        return Err(ScimError::invalid_syntax(
                            "the enterprise extension must be an object",
                        ));
                    };
                    for (k2, v2) in inner {
                        at_path(doc, kind, &plain(true, k2), Some(v2))?;
                    }
                } else {
                    let t = target(k)?;
                    if !t.ignored {
                        at_path(doc, kind, &t, Some(v))?;
                    }
                }
            }
            Ok(())
        }
        Some(_) => Err(ScimError::invalid_path("path must be a string")),
    }
}

fn plain(ext: bool, attr: &str) -> Target {
    let (attr, sub) = match attr.split_once('.') {
        Some((a, s)) => (a.to_owned(), Some(s.to_owned())),
        None => (attr.to_owned(), None),
    };
    Target {
        ext,
        attr,
        sub,
        member: None,
        ignored: false,
    }
}

/// Parses a path (folded: keys were folded, but a path is a value).
fn target(path: &str) -> Result<Target, ScimError> {
    let (head, filter) = match path.find('[') {
        Some(i) => (&path[..i], Some(&path[i..])),
        None => (path, None),
    };
    let head = head.trim().to_ascii_lowercase();
    let (ext, name) = strip_urn(&head)?;
    let Some(filter) = filter else {
        // Entra's documented PATCH names the manager without its schema.
        let ext = ext || name == "manager" || name.starts_with("manager.");
        return Ok(plain(ext, name));
    };
    // `attr[filter]` or `attr[filter].sub`.
    let close = filter
        .rfind(']')
        .ok_or_else(|| ScimError::invalid_path("a value path's filter is not closed"))?;
    let after = filter[close + 1..]
        .trim_start_matches('.')
        .to_ascii_lowercase();
    if ext || name != "members" {
        // A filter on an attribute mamori does not keep (emails, phones…).
        let mut t = plain(ext, name);
        t.ignored = true;
        return Ok(t);
    }
    let f = super::Filter::parse(&filter[1..close])
        .map_err(|_| ScimError::invalid_path("members are selected by value eq \"id\""))?;
    let member = match f.clauses.as_slice() {
        [c] if c.attr == "value" => c.text().map(str::to_owned),
        _ => None,
    }
    .ok_or_else(|| ScimError::invalid_path("members are selected by value eq \"id\""))?;
    Ok(Target {
        ext: false,
        attr: name.to_owned(),
        sub: (!after.is_empty()).then_some(after),
        member: Some(member),
        ignored: false,
    })
}

/// Takes a schema URN off a path: the enterprise extension's (ext: true)
/// or a core schema's. Any other URN names an extension mamori does not
/// keep, and is refused.
fn strip_urn(head: &str) -> Result<(bool, &str), ScimError> {
    if !head.starts_with("urn:") {
        return Ok((false, head));
    }
    for (urn, ext) in [
        (ENTERPRISE_SCHEMA, true),
        (USER_SCHEMA, false),
        (GROUP_SCHEMA, false),
    ] {
        let urn = urn.to_ascii_lowercase();
        if head == urn {
            // The whole extension (an empty attribute: its object).
            return Ok((ext, ""));
        }
        if let Some(rest) = head.strip_prefix(&urn).and_then(|r| r.strip_prefix(':')) {
            return Ok((ext, rest));
        }
    }
    Err(ScimError::invalid_path(
        "the path names a schema this server does not have",
    ))
}

fn at_path(
    doc: &mut Map<String, Value>,
    op: Op,
    t: &Target,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    if t.ext && t.attr.is_empty() {
        return whole_extension(doc, op, value);
    }
    let container = if t.ext {
        let key = ENTERPRISE_SCHEMA.to_lowercase();
        let e = doc.entry(key).or_insert_with(|| Value::Object(Map::new()));
        if !e.is_object() {
            *e = Value::Object(Map::new());
        }
        e.as_object_mut().unwrap_or_else(|| unreachable!())
    } else {
        doc
    };
    if t.attr == "members" && !t.ext {
        return members(container, op, t, value);
    }
    match (op, &t.sub) {
        (Op::Remove, None) => {
            container.remove(&t.attr);
        }
        (Op::Remove, Some(sub)) => {
            if let Some(Value::Object(o)) = container.get_mut(&t.attr) {
                o.remove(sub);
            }
        }
        (Op::Add | Op::Replace, None) => {
            let v =
                value.ok_or_else(|| ScimError::invalid_syntax("add and replace need a value"))?;
            match (container.get_mut(&t.attr), v) {
                (Some(Value::Object(old)), Value::Object(new)) if op == Op::Add => {
                    for (k, v) in new {
                        old.insert(k.clone(), v.clone());
                    }
                }
                _ => {
                    container.insert(t.attr.clone(), v.clone());
                }
            }
        }
        (Op::Add | Op::Replace, Some(sub)) => {
            let v =
                value.ok_or_else(|| ScimError::invalid_syntax("add and replace need a value"))?;
            let e = container
                .entry(t.attr.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !e.is_object() {
                *e = Value::Object(Map::new());
            }
            if let Value::Object(o) = e {
                o.insert(sub.clone(), v.clone());
            }
        }
    }
    Ok(())
}

/// An operation on the enterprise extension as a whole: add merges its
/// attributes, replace sets them, remove takes them all.
fn whole_extension(
    doc: &mut Map<String, Value>,
    op: Op,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let key = ENTERPRISE_SCHEMA.to_lowercase();
    if op == Op::Remove {
        doc.remove(&key);
        return Ok(());
    }
    let Some(Value::Object(new)) = value else {
        return Err(ScimError::invalid_syntax(
            "the enterprise extension's value must be an object",
        ));
    };
    let e = doc.entry(key).or_insert_with(|| Value::Object(Map::new()));
    match e {
        Value::Object(old) if op == Op::Add => {
            for (k, v) in new {
                old.insert(k.clone(), v.clone());
            }
        }
        _ => *e = Value::Object(new.clone()),
    }
    Ok(())
}

/// The members a PATCH adds to a Group and takes from it, when that is all
/// it does (what providers send while people come and go: `add` with a
/// value array, `remove` by value array or by `members[value eq "…"]`), so
/// that it can be applied without reading the Group's other members.
/// None for anything else, which `apply` handles (or refuses).
pub fn member_changes(body: &Value) -> Option<(Vec<String>, Vec<String>)> {
    let body = fold(body.clone());
    let ops = body.get("operations")?.as_array()?;
    if ops.is_empty() || ops.len() > MAX_OPERATIONS {
        return None;
    }
    let (mut add, mut remove) = (Vec::<String>::new(), Vec::<String>::new());
    for op in ops {
        let kind = op.get("op")?.as_str()?.to_ascii_lowercase();
        let t = target(op.get("path")?.as_str()?).ok()?;
        if t.ext || t.attr != "members" || t.sub.is_some() || t.ignored {
            return None;
        }
        let named: Vec<String> = match (&t.member, op.get("value")) {
            (Some(m), None | Some(Value::Null)) if kind == "remove" => vec![m.clone()],
            (None, Some(Value::Array(a))) if !a.is_empty() => {
                a.iter().map(member_id).collect::<Result<_, _>>().ok()?
            }
            _ => return None,
        };
        for id in named {
            let (into, from) = match kind.as_str() {
                "add" => (&mut add, &mut remove),
                "remove" => (&mut remove, &mut add),
                _ => return None,
            };
            from.retain(|m| *m != id);
            if !into.contains(&id) {
                into.push(id);
            }
        }
    }
    Some((add, remove))
}

/// A group's members: add appends, replace sets, remove takes those named
/// by the filter or by the value array (or all, with neither).
fn members(
    doc: &mut Map<String, Value>,
    op: Op,
    t: &Target,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let mut ids: Vec<String> = match doc.get("members") {
        Some(Value::Array(a)) => a.iter().map(member_id).collect::<Result<_, _>>()?,
        _ => Vec::new(),
    };
    let given = || -> Result<Vec<String>, ScimError> {
        match value {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a.iter().map(member_id).collect(),
            Some(v) => Ok(vec![member_id(v)?]),
        }
    };
    if t.sub.is_some() {
        return Err(ScimError::invalid_path(
            "a member's attributes are not changed one by one",
        ));
    }
    match (op, &t.member) {
        (Op::Remove, Some(m)) => ids.retain(|i| i != m),
        (Op::Remove, None) => match value {
            None | Some(Value::Null) => ids.clear(),
            Some(_) => {
                let gone = given()?;
                ids.retain(|i| !gone.contains(i));
            }
        },
        (Op::Add, _) => ids.extend(given()?),
        (Op::Replace, None) => ids = given()?,
        (Op::Replace, Some(m)) => {
            ids.retain(|i| i != m);
            ids.extend(given()?);
        }
    }
    doc.insert(
        "members".into(),
        Value::Array(
            ids.into_iter()
                .map(|i| serde_json::json!({ "value": i }))
                .collect(),
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::{Group, User};
    use serde_json::json;

    fn user() -> User {
        User {
            user_name: "sato@example.jp".into(),
            external_id: Some("oid-1".into()),
            display_name: Some("佐藤 花子".into()),
            active: true,
            department: Some("東京第一".into()),
            manager: None,
        }
    }

    fn patched(u: &User, ops: Value) -> Result<User, ScimError> {
        let mut d = u.to_folded();
        apply(
            &mut d,
            &json!({ "schemas": [PATCH_SCHEMA], "Operations": ops }),
        )?;
        User::from_folded(&d)
    }

    #[test]
    fn entra_deactivation_with_a_capitalised_op_and_a_string_boolean() {
        let u = patched(
            &user(),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .unwrap();
        assert!(!u.active);
        let u = patched(
            &user(),
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .unwrap();
        assert!(!u.active);
        let u = patched(
            &user(),
            json!([{"op": "REPLACE", "value": {"Active": "false"}}]),
        )
        .unwrap();
        assert!(!u.active);
    }

    #[test]
    fn entra_attribute_updates_including_ignored_ones_and_the_extension() {
        let u = patched(
            &user(),
            json!([
                {"op": "Replace", "path": "userName", "value": "hanako.sato@example.jp"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "x@example.jp"},
                {"op": "Replace", "path": "name.givenName", "value": "花子"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m-9"},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "大阪"},
                {"op": "Remove", "path": "displayName"}
            ]),
        )
        .unwrap();
        assert_eq!(u.user_name, "hanako.sato@example.jp");
        assert_eq!(u.manager.as_deref(), Some("m-9"));
        assert_eq!(u.department.as_deref(), Some("大阪"));
        assert_eq!(u.display_name, None);
        // Extension attributes as keys of a path-less value (Okta, Entra).
        let u = patched(
            &user(),
            json!([{"op": "replace", "value": {
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "名古屋",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m-2"}}
            }}]),
        )
        .unwrap();
        assert_eq!(u.department.as_deref(), Some("名古屋"));
        assert_eq!(u.manager.as_deref(), Some("m-2"));
        // Entra's documentation: the manager without its schema, as an array.
        let u = patched(
            &user(),
            json!([{"op": "Add", "path": "manager", "value": [{"$ref": null, "value": "m-3"}]}]),
        )
        .unwrap();
        assert_eq!(u.manager.as_deref(), Some("m-3"));
        let u = patched(&u, json!([{"op": "Remove", "path": "manager"}])).unwrap();
        assert_eq!(u.manager, None);
    }

    #[test]
    fn members_added_and_removed_as_entra_and_okta_do() {
        let g = Group {
            display_name: "mamori-operators".into(),
            external_id: None,
            members: vec!["a".into(), "b".into()],
        };
        let run = |ops: Value| {
            let mut d = g.to_folded();
            apply(&mut d, &json!({"Operations": ops}))?;
            Group::from_folded(&d)
        };
        let r = run(
            json!([{"op": "Add", "path": "members", "value": [{"value": "c"}, {"value": "a"}]}]),
        )
        .unwrap();
        assert_eq!(r.members, vec!["a", "b", "c"]);
        let r =
            run(json!([{"op": "Remove", "path": "members", "value": [{"value": "a"}]}])).unwrap();
        assert_eq!(r.members, vec!["b"]);
        let r = run(json!([{"op": "remove", "path": "members[value eq \"b\"]"}])).unwrap();
        assert_eq!(r.members, vec!["a"]);
        let r =
            run(json!([{"op": "replace", "path": "members", "value": [{"value": "z"}]}])).unwrap();
        assert_eq!(r.members, vec!["z"]);
        let r = run(json!([{"op": "remove", "path": "members"}])).unwrap();
        assert!(r.members.is_empty());
        let r = run(
            json!([{"op": "replace", "value": {"displayName": "x", "members": [{"value": "q"}]}}]),
        )
        .unwrap();
        assert_eq!(
            (r.display_name.as_str(), r.members),
            ("x", vec!["q".to_owned()])
        );
    }

    #[test]
    fn membership_changes_are_told_apart_from_other_patches() {
        let ops = |o: Value| json!({"schemas": [PATCH_SCHEMA], "Operations": o});
        let (add, remove) = member_changes(&ops(json!([
            {"op": "Add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
            {"op": "remove", "path": "members[value eq \"b\"]"},
            {"op": "Remove", "path": "members", "value": [{"value": "c"}]}
        ])))
        .unwrap();
        assert_eq!(
            (add, remove),
            (vec!["a".to_owned()], vec!["b".to_owned(), "c".to_owned()])
        );
        for other in [
            json!([{"op": "replace", "path": "members", "value": [{"value": "a"}]}]),
            json!([{"op": "remove", "path": "members"}]),
            json!([{"op": "add", "path": "members", "value": [{"value": "a"}]},
                   {"op": "replace", "path": "displayName", "value": "x"}]),
            json!([{"op": "add", "value": {"members": [{"value": "a"}]}}]),
            json!([]),
        ] {
            assert!(member_changes(&ops(other.clone())).is_none(), "{other}");
        }
    }

    #[test]
    fn bad_operations_are_refused_without_repeating_them() {
        let marker = "090-1234-5678";
        for ops in [
            json!([{"op": "move", "path": "active", "value": marker}]),
            json!([{"op": "remove"}]),
            json!([{"op": "replace", "value": marker}]),
            json!([{"op": "replace", "path": "active", "value": marker}]),
            json!([{"op": "replace", "path": "userName"}]),
            json!([{"op": "remove", "path": "userName"}]),
            json!([{"op": "add", "path": format!("urn:example:{marker}:x"), "value": 1}]),
            json!(marker),
        ] {
            let e = patched(&user(), ops).unwrap_err();
            assert_eq!(e.status, 400);
            assert!(!e.detail.contains(marker), "{}", e.detail);
        }
        let too_many: Vec<Value> = (0..=MAX_OPERATIONS)
            .map(|_| json!({"op": "replace", "path": "active", "value": true}))
            .collect();
        assert_eq!(
            patched(&user(), json!(too_many)).unwrap_err().scim_type,
            Some("tooMany")
        );
    }
}
