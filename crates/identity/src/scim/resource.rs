//! The two resources mamori keeps, read from a folded SCIM document
//! (`super::fold`) and written back with the canonical attribute names.
//! Reading is lenient where providers differ and strict where a value
//! decides access: `active` is required, and a boolean may arrive as the
//! string "True" or "false" (Entra's PATCH does that); strings are bounded
//! and may not hold control characters.

use super::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, MAX_MEMBERS, MAX_STRING, ScimError, USER_SCHEMA};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// A User as mamori keeps it: the provider's names for the person, whether
/// they may work, and the two enterprise attributes that place them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub active: bool,
    /// The enterprise extension's `department`.
    pub department: Option<String>,
    /// The enterprise extension's `manager.value`: the manager's SCIM id.
    pub manager: Option<String>,
}

/// A Group: its name, the provider's id for it, and its members' SCIM ids.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub display_name: String,
    pub external_id: Option<String>,
    pub members: Vec<String>,
}

/// Where and when a resource was made and last changed.
#[derive(Clone, Debug)]
pub struct Meta {
    pub id: String,
    /// The resource's URL (`…/scim/v2/Users/{id}`).
    pub location: String,
    pub created: i64,
    pub modified: i64,
    pub version: u64,
}

fn meta_json(kind: &str, m: &Meta) -> Value {
    let at = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    json!({
        "resourceType": kind,
        "created": at(m.created),
        "lastModified": at(m.modified),
        "location": m.location,
        "version": format!("W/\"{}\"", m.version),
    })
}

impl User {
    /// Reads a User from a folded document (a POST or PUT body, or the
    /// result of a PATCH). `id`, `meta` and attributes mamori does not
    /// keep are ignored.
    pub fn from_folded(doc: &Value) -> Result<User, ScimError> {
        let obj = doc
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("a User must be a JSON object"))?;
        let ext = obj.get(&ENTERPRISE_SCHEMA.to_lowercase());
        let ext = match ext {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m),
            Some(_) => {
                return Err(ScimError::invalid_syntax(
                    "the enterprise extension must be an object",
                ));
            }
        };
        let user_name = string(obj, "username", "userName")?
            .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
        let active = match obj.get("active") {
            None | Some(Value::Null) => {
                return Err(ScimError::invalid_value("active is required"));
            }
            Some(v) => boolean(v, "active")?,
        };
        let manager = match ext.and_then(|e| e.get("manager")) {
            None | Some(Value::Null) => None,
            // Entra's PATCH sends the manager's id as a bare string.
            Some(Value::String(s)) => non_empty(s, "manager")?,
            // …or as a one-element array of the reference.
            Some(Value::Array(a)) if a.len() <= 1 => match a.first() {
                None => None,
                Some(Value::Object(m)) => match m.get("value") {
                    Some(Value::String(s)) => non_empty(s, "manager.value")?,
                    _ => None,
                },
                Some(_) => return Err(ScimError::invalid_value("manager must be an object")),
            },
            Some(Value::Object(m)) => match m.get("value") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => non_empty(s, "manager.value")?,
                Some(_) => return Err(ScimError::invalid_value("manager.value must be a string")),
            },
            Some(_) => return Err(ScimError::invalid_value("manager must be an object")),
        };
        Ok(User {
            user_name,
            external_id: string(obj, "externalid", "externalId")?,
            display_name: string(obj, "displayname", "displayName")?,
            active,
            department: match ext {
                Some(e) => string(e, "department", "department")?,
                None => None,
            },
            manager,
        })
    }

    /// The User as SCIM shows it; `base` is the endpoint's address (for
    /// the manager's `$ref`).
    pub fn to_scim(&self, meta: &Meta, base: &str) -> Value {
        let mut schemas = vec![USER_SCHEMA];
        let mut out = Map::new();
        out.insert("id".into(), meta.id.clone().into());
        out.insert("userName".into(), self.user_name.clone().into());
        put(&mut out, "externalId", &self.external_id);
        put(&mut out, "displayName", &self.display_name);
        out.insert("active".into(), self.active.into());
        if self.department.is_some() || self.manager.is_some() {
            schemas.push(ENTERPRISE_SCHEMA);
            let mut ext = Map::new();
            put(&mut ext, "department", &self.department);
            if let Some(m) = &self.manager {
                ext.insert(
                    "manager".into(),
                    json!({ "value": m, "$ref": format!("{base}/Users/{m}") }),
                );
            }
            out.insert(ENTERPRISE_SCHEMA.into(), Value::Object(ext));
        }
        out.insert("schemas".into(), json!(schemas));
        out.insert("meta".into(), meta_json("User", meta));
        Value::Object(out)
    }

    /// The User as a folded document, for a PATCH to work on.
    pub fn to_folded(&self) -> Value {
        let mut out = Map::new();
        out.insert("username".into(), self.user_name.clone().into());
        put(&mut out, "externalid", &self.external_id);
        put(&mut out, "displayname", &self.display_name);
        out.insert("active".into(), self.active.into());
        let mut ext = Map::new();
        put(&mut ext, "department", &self.department);
        if let Some(m) = &self.manager {
            ext.insert("manager".into(), json!({ "value": m }));
        }
        if !ext.is_empty() {
            out.insert(ENTERPRISE_SCHEMA.to_lowercase(), Value::Object(ext));
        }
        Value::Object(out)
    }
}

impl Group {
    /// Reads a Group from a folded document. Members are Users named by
    /// their SCIM id (`value`); a member of another type is refused.
    pub fn from_folded(doc: &Value) -> Result<Group, ScimError> {
        let obj = doc
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("a Group must be a JSON object"))?;
        let display_name = string(obj, "displayname", "displayName")?
            .ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
        let mut members = match obj.get("members") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.iter().map(member_id).collect::<Result<_, _>>()?,
            Some(_) => return Err(ScimError::invalid_syntax("members must be an array")),
        };
        members.sort();
        members.dedup();
        if members.len() > MAX_MEMBERS {
            return Err(ScimError::too_many(format!(
                "a group holds at most {MAX_MEMBERS} members"
            )));
        }
        Ok(Group {
            display_name,
            external_id: string(obj, "externalid", "externalId")?,
            members,
        })
    }

    /// The Group as SCIM shows it. Members carry no `display` (their
    /// userName): naming them would read every member's User.
    pub fn to_scim(&self, meta: &Meta, base: &str) -> Value {
        let mut out = Map::new();
        out.insert("schemas".into(), json!([GROUP_SCHEMA]));
        out.insert("id".into(), meta.id.clone().into());
        out.insert("displayName".into(), self.display_name.clone().into());
        put(&mut out, "externalId", &self.external_id);
        let members: Vec<Value> = self
            .members
            .iter()
            .map(|m| json!({ "value": m, "type": "User", "$ref": format!("{base}/Users/{m}") }))
            .collect();
        out.insert("members".into(), Value::Array(members));
        out.insert("meta".into(), meta_json("Group", meta));
        Value::Object(out)
    }

    pub fn to_folded(&self) -> Value {
        let mut out = Map::new();
        out.insert("displayname".into(), self.display_name.clone().into());
        put(&mut out, "externalid", &self.external_id);
        out.insert(
            "members".into(),
            Value::Array(self.members.iter().map(|m| json!({ "value": m })).collect()),
        );
        Value::Object(out)
    }
}

/// A member's id from `{"value": "…"}` (a bare string is taken too).
pub(crate) fn member_id(v: &Value) -> Result<String, ScimError> {
    let id = match v {
        Value::String(s) => s.as_str(),
        Value::Object(m) => {
            if let Some(t) = m.get("type").and_then(Value::as_str)
                && !t.eq_ignore_ascii_case("user")
            {
                return Err(ScimError::invalid_value("a group's members are Users"));
            }
            m.get("value").and_then(Value::as_str).ok_or_else(|| {
                ScimError::invalid_value("a member needs its value (the User's id)")
            })?
        }
        _ => return Err(ScimError::invalid_syntax("a member must be an object")),
    };
    checked(id, "members.value")
}

fn put(m: &mut Map<String, Value>, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(key.into(), v.clone().into());
    }
}

/// An optional string attribute (`key` folded; `name` for messages).
/// An empty string counts as unassigned, as Okta sends them.
fn string(obj: &Map<String, Value>, key: &str, name: &str) -> Result<Option<String>, ScimError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => non_empty(s, name),
        Some(_) => Err(ScimError::invalid_value(format!("{name} must be a string"))),
    }
}

fn non_empty(s: &str, name: &str) -> Result<Option<String>, ScimError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    checked(s, name).map(Some)
}

fn checked(s: &str, name: &str) -> Result<String, ScimError> {
    if s.chars().count() > MAX_STRING {
        return Err(ScimError::invalid_value(format!(
            "{name} is longer than {MAX_STRING} characters"
        )));
    }
    if s.chars().any(char::is_control) || s.trim().is_empty() {
        return Err(ScimError::invalid_value(format!(
            "{name} must be printable and not blank"
        )));
    }
    Ok(s.to_owned())
}

/// A boolean, or the strings "true"/"false" in any case.
pub(crate) fn boolean(v: &Value, name: &str) -> Result<bool, ScimError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::invalid_value(format!(
            "{name} must be a boolean"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::fold;

    #[test]
    fn a_user_reads_in_any_case_with_string_booleans() {
        let doc = fold(json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "UserName": "sato.hanako@example.jp",
            "ACTIVE": "False",
            "externalId": "00aa",
            "name": {"givenName": "花子"},
            "emails": [{"value": "x@example.jp"}],
            ENTERPRISE_SCHEMA: {"Department": "東京第一", "manager": {"value": "m-1"}}
        }));
        let u = User::from_folded(&doc).unwrap();
        assert_eq!(u.user_name, "sato.hanako@example.jp");
        assert!(!u.active);
        assert_eq!(u.external_id.as_deref(), Some("00aa"));
        assert_eq!(u.department.as_deref(), Some("東京第一"));
        assert_eq!(u.manager.as_deref(), Some("m-1"));
        // Names and mail are not kept.
        let shown = u.to_scim(
            &Meta {
                id: "u1".into(),
                location: "/scim/v2/Users/u1".into(),
                created: 0,
                modified: 0,
                version: 1,
            },
            "/scim/v2",
        );
        assert!(shown.get("name").is_none() && shown.get("emails").is_none());
        assert_eq!(User::from_folded(&fold(shown)).unwrap(), u);
    }

    #[test]
    fn a_user_without_user_name_or_active_or_with_bad_values_is_refused() {
        let marker = "090-1234-5678";
        for doc in [
            json!({"active": true}),
            json!({"userName": "a"}),
            json!({"userName": "a", "active": "yes"}),
            json!({"userName": 5, "active": true}),
            json!({"userName": "a\u{7}b", "active": true}),
            json!({"userName": "x".repeat(300), "active": true}),
            json!({"userName": "a", "active": true, ENTERPRISE_SCHEMA: marker}),
            json!([marker]),
        ] {
            let e = User::from_folded(&fold(doc)).unwrap_err();
            assert_eq!(e.status, 400);
            assert!(!e.detail.contains(marker) && !e.detail.contains("xxxx"));
        }
    }

    #[test]
    fn group_members_are_users_by_id_deduplicated() {
        let g = Group::from_folded(&fold(json!({
            "displayName": "mamori-operators",
            "members": [{"value": "b"}, {"value": "a", "type": "User"}, {"value": "b"}]
        })))
        .unwrap();
        assert_eq!(g.members, vec!["a", "b"]);
        let e = Group::from_folded(&fold(json!({
            "displayName": "g", "members": [{"value": "a", "type": "Group"}]
        })))
        .unwrap_err();
        assert_eq!(e.scim_type, Some("invalidValue"));
    }
}
