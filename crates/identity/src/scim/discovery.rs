//! The discovery documents (RFC 7644 §4): what this server supports, the
//! two resource types, and the schemas of the attributes it keeps — only
//! those, so a client knows that names and mail addresses are not kept.

use super::query::MAX_RESULTS;
use super::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, LIST_SCHEMA, USER_SCHEMA};
use serde_json::{Value, json};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RT_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A provisioning token issued with `mamori scim token issue`",
            "primary": true
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")}
    })
}

fn resource_type(base: &str, name: &str, endpoint: &str, schema: &str, ext: Option<&str>) -> Value {
    let mut rt = json!({
        "schemas": [RT_SCHEMA],
        "id": name,
        "name": name,
        "endpoint": endpoint,
        "schema": schema,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{name}")}
    });
    if let Some(e) = ext {
        rt["schemaExtensions"] = json!([{"schema": e, "required": false}]);
    }
    rt
}

pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        resource_type(base, "User", "/Users", USER_SCHEMA, Some(ENTERPRISE_SCHEMA)),
        resource_type(base, "Group", "/Groups", GROUP_SCHEMA, None),
    ]
}

fn attr(name: &str, kind: &str, required: bool, case_exact: bool, uniqueness: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "required": required,
        "caseExact": case_exact,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": uniqueness,
    })
}

fn reference(to: &str) -> Value {
    let mut r = attr("$ref", "reference", false, true, "none");
    r["referenceTypes"] = json!([to]);
    r
}

fn schema(base: &str, id: &str, name: &str, attributes: Vec<Value>) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "description": format!("{name}, as mamori keeps it"),
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")}
    })
}

pub fn schemas(base: &str) -> Vec<Value> {
    let mut external_id = attr("externalId", "string", false, true, "none");
    external_id["description"] = "The provider's id for the resource (Entra: the objectId)".into();
    let mut manager = attr("manager", "complex", false, false, "none");
    manager["subAttributes"] = json!([
        attr("value", "string", false, true, "none"),
        reference("User")
    ]);
    let mut member_value = attr("value", "string", false, true, "none");
    member_value["mutability"] = "immutable".into();
    let mut member_type = attr("type", "string", false, false, "none");
    member_type["mutability"] = "immutable".into();
    member_type["canonicalValues"] = json!(["User"]);
    let mut member_ref = reference("User");
    member_ref["mutability"] = "immutable".into();
    let mut members = attr("members", "complex", false, false, "none");
    members["multiValued"] = true.into();
    members["subAttributes"] = json!([member_value, member_ref, member_type]);
    vec![
        schema(
            base,
            USER_SCHEMA,
            "User",
            vec![
                attr("userName", "string", true, false, "server"),
                external_id.clone(),
                attr("displayName", "string", false, false, "none"),
                attr("active", "boolean", true, false, "none"),
            ],
        ),
        schema(
            base,
            ENTERPRISE_SCHEMA,
            "EnterpriseUser",
            vec![attr("department", "string", false, false, "none"), manager],
        ),
        schema(
            base,
            GROUP_SCHEMA,
            "Group",
            vec![
                attr("displayName", "string", true, false, "none"),
                external_id,
                members,
            ],
        ),
    ]
}

/// A whole discovery collection as a ListResponse.
pub fn list(items: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": items.len(),
        "startIndex": 1,
        "itemsPerPage": items.len(),
        "Resources": items,
    })
}
