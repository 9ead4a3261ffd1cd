//! Audit events: what a caller records (identifiers and reasons, never values), the
//! stored form placed in its log, timed and chained, and its canonical bytes.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Deny,
    /// The request was malformed (e.g. no purpose); nothing was read.
    Invalid,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Invalid => "invalid",
        }
    }
}

/// What a caller records. Holds identifiers and reasons, never values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// `user:<login>`, `cli:<os user>` or `system`.
    pub actor: String,
    pub actor_role: Option<String>,
    /// Dotted verb, e.g. `record.search`, `tenant.shred`, `user.create`.
    pub action: String,
    pub tenant: Option<String>,
    pub purpose: Option<String>,
    pub case_id: Option<String>,
    /// Opaque record ids touched or returned.
    pub records: Vec<String>,
    /// Field names returned or written.
    pub fields: Vec<String>,
    pub decision: Decision,
    /// Machine code of the outcome, e.g. `ok`, `purpose_missing`, `not_assigned`.
    pub reason: String,
    /// Ids of the policies that decided.
    pub policies: Vec<String>,
    /// Client address as seen by the server.
    pub client: Option<String>,
    /// Non-personal extras (counts, key versions, search key names), in
    /// key order at every depth (see `canonical`).
    pub detail: BTreeMap<String, serde_json::Value>,
}

impl Event {
    pub fn new(
        actor: impl Into<String>,
        action: impl Into<String>,
        decision: Decision,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            actor: actor.into(),
            actor_role: None,
            action: action.into(),
            tenant: None,
            purpose: None,
            case_id: None,
            records: Vec::new(),
            fields: Vec::new(),
            decision,
            reason: reason.into(),
            policies: Vec::new(),
            client: None,
            detail: BTreeMap::new(),
        }
    }

    pub fn tenant(mut self, t: impl Into<String>) -> Self {
        self.tenant = Some(t.into());
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.detail.insert(key.to_owned(), sorted(value.into()));
        self
    }
}

/// The value with the members of every object in key order. serde_json
/// keeps an object's members in insertion order when any crate of the build
/// turns on its `preserve_order` feature, and sorted otherwise; an event's
/// bytes must not depend on that, so objects are built sorted here.
fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let members: BTreeMap<String, serde_json::Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            serde_json::Value::Object(members.into_iter().collect())
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted).collect())
        }
        other => other,
    }
}

/// The log an event belongs to: its tenant's, or the system log.
pub fn log_for(tenant: Option<&str>) -> String {
    match tenant {
        Some(t) => mamori_store::tenant_log(t),
        None => "system".to_owned(),
    }
}

/// An event as it is stored: placed in its log, timed and chained.
/// Field order is fixed, so serialising it gives the canonical bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SealedEvent {
    /// Format version of the canonical body.
    pub v: u32,
    pub log: String,
    pub seq: u64,
    /// RFC 3339, UTC, microseconds.
    pub ts: String,
    /// Hex SHA-256 leaf hash of the previous event of this log (zeros for the first).
    pub prev: String,
    #[serde(flatten)]
    pub event: Event,
}

impl SealedEvent {
    pub fn seal(event: Event, log: String, seq: u64, ts: DateTime<Utc>, prev: &[u8; 32]) -> Self {
        Self {
            v: 1,
            log,
            seq,
            ts: ts.to_rfc3339_opts(SecondsFormat::Micros, true),
            prev: hex::encode(prev),
            event,
        }
    }

    /// The canonical bytes: compact JSON, members in declaration order and
    /// `detail` in key order at every depth — the same bytes whatever the
    /// build's serde_json features. What a leaf hashes is the stored copy of
    /// these bytes; verifiers hash those (the API returns them as
    /// `event_bytes`), never a re-serialisation.
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an event always serialises")
    }

    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.ts)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of an event do not depend on the order its details were
    /// added in, nor on serde_json's `preserve_order` feature (on in the
    /// workspace's build, through cedar-policy; this test means most there):
    /// objects are written in key order at every depth.
    #[test]
    fn canonical_bytes_are_in_key_order_at_every_depth() {
        let nested = |reversed: bool| {
            let mut members = vec![
                ("c", serde_json::json!({"z": 1, "a": [{"y": 2, "b": 3}]})),
                ("m", serde_json::json!(2)),
            ];
            if reversed {
                members.reverse();
            }
            let m: serde_json::Map<String, serde_json::Value> = members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            serde_json::Value::Object(m)
        };
        let one = Event::new("system", "test", Decision::Allow, "ok")
            .detail("zeta", 1)
            .detail("alpha", nested(false));
        let two = Event::new("system", "test", Decision::Allow, "ok")
            .detail("alpha", nested(true))
            .detail("zeta", 1);
        let seal = |e| SealedEvent::seal(e, "system".into(), 1, DateTime::UNIX_EPOCH, &[0; 32]);
        let (a, b) = (seal(one).canonical(), seal(two).canonical());
        assert_eq!(a, b);
        let text = String::from_utf8(a).unwrap();
        assert!(
            text.contains(r#""detail":{"alpha":{"c":{"a":[{"b":3,"y":2}],"z":1},"m":2},"zeta":1}"#),
            "{text}"
        );
    }
}
