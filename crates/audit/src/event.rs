use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Non-personal extras (counts, key versions, search key names).
    pub detail: serde_json::Map<String, serde_json::Value>,
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
            detail: serde_json::Map::new(),
        }
    }

    pub fn tenant(mut self, t: impl Into<String>) -> Self {
        self.tenant = Some(t.into());
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.detail.insert(key.to_owned(), value.into());
        self
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

    /// The canonical bytes: compact JSON in declaration order.
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an event always serialises")
    }

    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.ts)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}
