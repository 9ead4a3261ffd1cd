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
