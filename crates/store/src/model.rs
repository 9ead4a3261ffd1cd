//! Rows as the stores keep them. Nothing here is plaintext personal data.

use serde::Serialize;

pub type Token = [u8; 16];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    /// Keys destroyed; records remain as unreadable ciphertext until purged.
    Shredded,
}

#[derive(Clone, Debug, Serialize)]
pub struct TenantRow {
    pub id: String,
    pub name: String,
    /// The schema's TOML source, kept as written.
    pub schema: String,
    pub status: TenantStatus,
    pub current_key_version: u32,
    pub created_at: i64,
    pub shredded_at: Option<i64>,
    /// Most people who may hold standing access to every segment; None: the configured default.
    pub full_access_cap: Option<u32>,
}

#[derive(Clone, Debug)]
pub struct KeyRow {
    pub tenant: String,
    pub version: u32,
    pub wrapped_data: Vec<u8>,
    pub wrapped_index: Vec<u8>,
    pub created_at: i64,
}

#[derive(Clone, Debug)]
pub struct RecordRow {
    pub id: [u8; 16],
    pub segment: String,
    pub key_version: u32,
    /// Sealed fields: each value encrypted on its own, bound to its place.
    pub sealed: Vec<u8>,
    pub updated_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteKind {
    New,
    Replace,
}

#[derive(Clone, Debug)]
pub struct RecordWrite {
    pub kind: WriteKind,
    pub record: RecordRow,
    /// Token of the customer number under the record's key version; unique per tenant.
    pub key_token: Token,
    /// (search key, token) pairs for the blind index.
    pub tokens: Vec<(String, Token)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct UserRow {
    pub login: String,
    pub role: String,
    pub department: Option<String>,
    pub vendor: Option<String>,
    /// The person who approves this user's access requests (their supervisor).
    pub manager: Option<String>,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub login: String,
    pub tenant: String,
    /// None: every segment of the tenant.
    pub segment: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    /// Storage position, for paging across logs; not covered by the hash.
    pub rowid: i64,
    pub log: String,
    pub seq: u64,
    pub ts: i64,
    pub actor: String,
    pub action: String,
    pub tenant: Option<String>,
    pub decision: String,
    /// Canonical bytes of the event: what the hash covers.
    pub body: Vec<u8>,
    pub hash: [u8; 32],
}

#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub tenant: Option<String>,
    pub action: Option<String>,
    pub from_ts: Option<i64>,
    pub to_ts: Option<i64>,
    /// Page after this storage position (a cursor from the previous page).
    pub after: Option<i64>,
    pub limit: usize,
}

/// A contractor or staffing company whose people work on tenants' data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VendorRow {
    pub id: String,
    pub name: String,
    /// The contract is in force from `contract_start` (inclusive) to `contract_end` (exclusive).
    pub contract_start: i64,
    pub contract_end: i64,
    /// Contract clauses confirmed present (ids from `mamori_core::people::CLAUSES`).
    pub clauses: Vec<String>,
    pub updated_by: String,
    pub updated_at: i64,
}

/// A completed course (and its comprehension test score).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrainingRow {
    pub login: String,
    pub course: String,
    pub completed_at: i64,
    /// Test score, 0-100.
    pub score: u32,
    pub expires_at: i64,
    pub recorded_by: String,
}

/// An annual compliance confirmation (誓約) signed by a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ComplianceRow {
    pub login: String,
    pub confirmed_at: i64,
    pub expires_at: i64,
    pub recorded_by: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Pending,
    Approved,
    Denied,
    Revoked,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Denied => "denied",
            RequestState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Denied, Self::Revoked]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// How a grant came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantOrigin {
    /// Asked for by the user and approved by someone else.
    Requested,
    /// Issued directly by a holder of standing full access (期限付き権限).
    Issued,
}

impl GrantOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantOrigin::Requested => "requested",
            GrantOrigin::Issued => "issued",
        }
    }
}

/// A just-in-time access request and, once approved, the grant it became.
/// The justification is sealed under the tenant's key: people write free text.
#[derive(Clone, Debug)]
pub struct AccessRequestRow {
    pub id: [u8; 16],
    pub tenant: String,
    pub requester: String,
    /// None: every segment of the tenant.
    pub segment: Option<String>,
    pub fields: Vec<String>,
    pub purpose: String,
    pub case_id: String,
    pub justification: Vec<u8>,
    pub key_version: u32,
    pub record_budget: u64,
    pub starts_at: i64,
    pub ends_at: i64,
    pub state: RequestState,
    pub origin: GrantOrigin,
    pub created_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub revoked_by: Option<String>,
    pub revoked_at: Option<i64>,
}

/// One step in a request's life, kept after the grant ends.
#[derive(Clone, Debug)]
pub struct RequestHistoryRow {
    pub at: i64,
    pub actor: String,
    /// requested | issued | approved | denied | revoked
    pub action: String,
    /// Sealed like the justification; None when no comment was given.
    pub comment: Option<Vec<u8>>,
}

/// Which requests to list.
#[derive(Clone, Debug, Default)]
pub struct RequestFilter {
    pub tenant: Option<String>,
    /// Only requests of these people (None: everyone).
    pub requesters: Option<Vec<String>>,
    pub state: Option<RequestState>,
    /// Only requests whose window ends after this time.
    pub ends_after: Option<i64>,
    pub limit: usize,
}
