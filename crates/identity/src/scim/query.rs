//! A list's page (`startIndex` from 1, `count` capped), its filter, and
//! the attributes to return (RFC 7644 §3.4.2.4, §3.9): `id` and `schemas`
//! are always returned, whatever was asked.

use super::{Filter, LIST_SCHEMA, ScimError};
use serde_json::{Map, Value, json};

/// The most resources one page holds (ServiceProviderConfig's maxResults).
pub const MAX_RESULTS: usize = 200;

#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// Zero-based offset of the page's first resource.
    pub offset: usize,
    pub count: usize,
    pub projection: Projection,
}

/// Which attributes a response carries.
#[derive(Clone, Debug, Default)]
pub struct Projection {
    /// Only these (folded), besides those always returned.
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

impl ListQuery {
    /// From the query string's parameters (names in any case).
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ListQuery, ScimError> {
        let mut q = ListQuery {
            count: MAX_RESULTS,
            ..ListQuery::default()
        };
        for (k, v) in params {
            match k.to_ascii_lowercase().as_str() {
                "filter" => q.filter = Some(Filter::parse(v)?),
                "startindex" => {
                    let n: i64 = v
                        .trim()
                        .parse()
                        .map_err(|_| ScimError::invalid_value("startIndex must be an integer"))?;
                    q.offset = usize::try_from(n.max(1) - 1).unwrap_or(0);
                }
                "count" => {
                    let n: i64 = v
                        .trim()
                        .parse()
                        .map_err(|_| ScimError::invalid_value("count must be an integer"))?;
                    q.count = usize::try_from(n.max(0)).unwrap_or(0).min(MAX_RESULTS);
                }
                "attributes" => q.projection.attributes = names(v),
                "excludedattributes" => q.projection.excluded = names(v),
                "sortby" | "sortorder" => {
                    return Err(ScimError::not_implemented("sorting is not supported"));
                }
                _ => {}
            }
        }
        Ok(q)
    }
}

impl ListQuery {
    /// From a SearchRequest body (`POST /.search`, RFC 7644 §3.4.3): the
    /// same parameters as the query string, as JSON members.
    pub fn from_search(body: &Value) -> Result<ListQuery, ScimError> {
        let body = super::fold(body.clone());
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("a search must be a SearchRequest object"))?;
        let mut params: Vec<(&str, String)> = Vec::new();
        for (key, name) in [
            ("filter", "filter"),
            ("startindex", "startIndex"),
            ("count", "count"),
            ("attributes", "attributes"),
            ("excludedattributes", "excludedAttributes"),
            ("sortby", "sortBy"),
        ] {
            let text = match obj.get(key) {
                None | Some(Value::Null) => continue,
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| ScimError::invalid_value(format!("{name} must list strings")))?
                    .join(","),
                Some(_) => {
                    return Err(ScimError::invalid_value(format!(
                        "{name} has the wrong type"
                    )));
                }
            };
            params.push((key, text));
        }
        ListQuery::from_params(params.iter().map(|(k, v)| (*k, v.as_str())))
    }
}

fn names(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

impl Projection {
    /// Applies the projection to one resource as shown.
    pub fn apply(&self, resource: Value) -> Value {
        let Value::Object(m) = resource else {
            return resource;
        };
        let always = |k: &str| k == "id" || k == "schemas";
        let named = |list: &[String], k: &str| {
            let k = k.to_ascii_lowercase();
            list.iter().any(|a| {
                *a == k
                    || a.strip_prefix(&k)
                        .is_some_and(|r| r.starts_with(':') || r.starts_with('.'))
                    || k.strip_prefix(a.as_str())
                        .is_some_and(|r| r.starts_with(':'))
            })
        };
        let out: Map<String, Value> = m
            .into_iter()
            .filter(|(k, _)| {
                always(k)
                    || ((self.attributes.is_empty() || named(&self.attributes, k))
                        && !(self.excluded.iter().any(|a| *a == k.to_ascii_lowercase())))
            })
            .collect();
        Value::Object(out)
    }
}

/// A ListResponse page.
pub fn list_response(total: usize, offset: usize, page: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": offset + 1,
        "itemsPerPage": page.len(),
        "Resources": page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_projections() {
        let q = ListQuery::from_params([
            ("startIndex", "0"),
            ("Count", "5000"),
            ("attributes", "userName, Active"),
        ])
        .unwrap();
        assert_eq!((q.offset, q.count), (0, MAX_RESULTS));
        let r = q.projection.apply(json!({"id": "1", "schemas": [], "userName": "a", "active": true, "displayName": "x", "meta": {}}));
        assert_eq!(
            r,
            json!({"id": "1", "schemas": [], "userName": "a", "active": true})
        );
        let q = ListQuery::from_params([("excludedAttributes", "members"), ("startIndex", "11")])
            .unwrap();
        assert_eq!(q.offset, 10);
        let r = q
            .projection
            .apply(json!({"id": "1", "members": [], "displayName": "g"}));
        assert_eq!(r, json!({"id": "1", "displayName": "g"}));
        assert!(ListQuery::from_params([("count", "ten")]).is_err());
        let q = ListQuery::from_search(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName eq \"a\"", "startIndex": 3, "count": 2,
            "attributes": ["userName"]
        }))
        .unwrap();
        assert_eq!(
            (q.offset, q.count, q.projection.attributes.len()),
            (2, 2, 1)
        );
        assert!(q.filter.is_some());
        assert!(ListQuery::from_search(&json!({"count": {"x": 1}})).is_err());
        assert_eq!(
            ListQuery::from_params([("sortBy", "userName")])
                .unwrap_err()
                .status,
            501
        );
    }
}
