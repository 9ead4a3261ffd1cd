//! Rows as the stores keep them. Nothing here is plaintext personal data.

use mamori_core::{ExportId, GrantId, HuntId, NominationId, RecordId, ScanId};
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

/// One of the deployment's own secrets, wrapped by the root key's provider.
#[derive(Clone, Debug)]
pub struct DeploymentKeyRow {
    pub name: String,
    pub wrapped: Vec<u8>,
    pub created_at: i64,
}

/// What `UserStore::deprovision` changed (as recorded and reported).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Deprovisioned {
    /// Whether this call suspended the person (false: they already were).
    pub suspended: bool,
    /// Credentials (API tokens and sessions) that were live.
    pub credentials: usize,
    /// Their access requests revoked (pending ones and live grants).
    pub requests: Vec<GrantId>,
    /// Their exports revoked, pending or approved (packages deleted).
    pub exports: Vec<ExportId>,
    /// Their full-access nominations revoked (approved ones lose the assignment).
    pub full_access: Vec<NominationId>,
    /// Others' exports still collecting approvals whose approval by this
    /// person was withdrawn (each then needs another approver).
    #[serde(rename = "approvals_withdrawn")]
    pub approvals: Vec<ExportId>,
}

#[derive(Clone, Debug)]
pub struct RecordRow {
    pub id: RecordId,
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
    /// Replace, but only while the record is still as it was read: under this
    /// key version, with the row's `updated_at` (a rewrap re-sealing what it
    /// read keeps both). A record rewritten since is left as it is, so a
    /// rewrap never reverts an update.
    Reseal(u32),
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserRow {
    pub login: String,
    pub role: String,
    pub department: Option<String>,
    pub vendor: Option<String>,
    /// The person who approves this user's access requests (their supervisor).
    pub manager: Option<String>,
    pub created_at: i64,
    /// The day the person leaves (end of employment or assignment), if known:
    /// detection watches departing people more closely.
    pub leaves_at: Option<i64>,
    /// Set while the person's access is suspended pending a review.
    pub suspended_at: Option<i64>,
    /// Moves (by triggers in the store) whenever what the gate knows of this
    /// person changes — assignments, access requests, training, compliance,
    /// household, their vendor — so their cached facts are reloaded then and
    /// only then, not whenever anyone's change moves the governance revision.
    /// Stores ignore it on writes.
    #[serde(skip)]
    pub facts_rev: u64,
}

/// What a credential is: a bearer token for the API, or a console session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialKind {
    Api,
    Session,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Api => "api",
            CredentialKind::Session => "session",
        }
    }

    pub fn parse(s: &str) -> Option<CredentialKind> {
        match s {
            "api" => Some(CredentialKind::Api),
            "session" => Some(CredentialKind::Session),
            _ => None,
        }
    }
}

/// A credential's terms, stored beside its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub kind: CredentialKind,
    /// No use after this time; None: until revoked.
    pub expires_at: Option<i64>,
    /// The tenants it may act on; None: whatever the person may.
    pub tenants: Option<Vec<String>>,
    /// How a session's person signed in (the vault's JSON); None for tokens.
    pub auth: Option<String>,
}

/// A sign-in waiting for the identity provider's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInRow {
    pub provider: String,
    /// Its nonce and PKCE verifier, sealed by the vault.
    pub sealed: Vec<u8>,
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

/// Where a log ends, as its writer reads it under the append lock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogHead {
    /// Events in the log: its Merkle tree size (sequence numbers start at 1).
    pub size: u64,
    /// Leaf hash of the last event.
    pub hash: [u8; 32],
    /// The latest signed checkpoint: (size, time in µs since the epoch).
    pub checkpoint: Option<(u64, i64)>,
}

/// A perfect subtree of a log's Merkle tree, stored when an append completes
/// it (level ≥ 1; level 0 is the event's own hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeNode {
    pub log: String,
    pub level: u32,
    pub index: u64,
    pub hash: [u8; 32],
}

/// A signed checkpoint (C2SP signed note) of a log at a size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointRow {
    pub log: String,
    pub size: u64,
    /// When it was signed, µs since the epoch (not signed; for pacing).
    pub ts: i64,
    pub note: String,
}

/// Events `start..=end` of a log, moved out of the hot database into an
/// archive file; its checkpoint at `end` vouches for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveRow {
    pub log: String,
    pub start: u64,
    pub end: u64,
    /// The file's name inside the archive directory.
    pub file: String,
    pub sha256: [u8; 32],
    /// The signed checkpoint of size `end`.
    pub note: String,
    /// µs since the epoch.
    pub archived_at: i64,
}

/// Everything one append transaction writes.
#[derive(Clone, Debug, Default)]
pub struct AuditBatch {
    pub events: Vec<AuditRow>,
    pub nodes: Vec<TreeNode>,
    pub checkpoints: Vec<CheckpointRow>,
}

/// The name of a tenant's audit log. Every event about a tenant is in its
/// log and no other, so a filter by tenant is a filter by log (the log's
/// index serves it; a separate index on the tenant column would only cost
/// every append an entry more).
pub fn tenant_log(tenant: &str) -> String {
    format!("{TENANT_LOG_PREFIX}{tenant}")
}

/// The tenant whose log `log` is, if it is a tenant's (the inverse of `tenant_log`).
pub fn log_tenant(log: &str) -> Option<&str> {
    log.strip_prefix(TENANT_LOG_PREFIX)
}

const TENANT_LOG_PREFIX: &str = "tenant/";

#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub tenant: Option<String>,
    pub action: Option<String>,
    /// Events that touched this record id (impact analysis: who saw it).
    pub record: Option<String>,
    pub purpose: Option<String>,
    pub case_id: Option<String>,
    pub from_ts: Option<i64>,
    pub to_ts: Option<i64>,
    /// Page after this storage position (a cursor from the previous page).
    pub after: Option<i64>,
    pub limit: usize,
}

/// A contractor or staffing company whose people work on tenants' data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComplianceRow {
    pub login: String,
    pub confirmed_at: i64,
    pub expires_at: i64,
    pub recorded_by: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    pub id: GrantId,
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
    /// Where it is in its life, with who decided and who revoked it.
    pub stage: RequestStage,
    pub origin: GrantOrigin,
    pub created_at: i64,
}

/// Who took a decision, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decided {
    pub by: String,
    pub at: i64,
}

/// Where an access request is in its life, holding what only that stage
/// has: a pending request has no decision; an approved or denied one always
/// has its decider; a revoked one has who revoked it, and its approval if
/// it had one (a store row that says otherwise is refused as corrupt).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestStage {
    Pending,
    Approved(Decided),
    Denied(Decided),
    Revoked {
        decided: Option<Decided>,
        revoked: Decided,
    },
}

impl RequestStage {
    pub fn state(&self) -> RequestState {
        match self {
            RequestStage::Pending => RequestState::Pending,
            RequestStage::Approved(_) => RequestState::Approved,
            RequestStage::Denied(_) => RequestState::Denied,
            RequestStage::Revoked { .. } => RequestState::Revoked,
        }
    }

    /// Who approved or denied it.
    pub fn decided(&self) -> Option<&Decided> {
        match self {
            RequestStage::Approved(d) | RequestStage::Denied(d) => Some(d),
            RequestStage::Revoked { decided, .. } => decided.as_ref(),
            RequestStage::Pending => None,
        }
    }

    /// Who revoked it.
    pub fn revoked(&self) -> Option<&Decided> {
        match self {
            RequestStage::Revoked { revoked, .. } => Some(revoked),
            _ => None,
        }
    }

    /// The stage stored columns make, if they go together.
    pub fn of(
        state: RequestState,
        decided: Option<Decided>,
        revoked: Option<Decided>,
    ) -> Option<Self> {
        Some(match (state, decided, revoked) {
            (RequestState::Pending, None, None) => RequestStage::Pending,
            (RequestState::Approved, Some(d), None) => RequestStage::Approved(d),
            (RequestState::Denied, Some(d), None) => RequestStage::Denied(d),
            (RequestState::Revoked, decided, Some(revoked)) => {
                RequestStage::Revoked { decided, revoked }
            }
            _ => return None,
        })
    }
}

/// A nomination for standing full access to a tenant (A5; seed 002: a few
/// holders, each approved by the CISO) and, once the security office approves
/// it, the holding itself. Rows are never deleted: who held full access when,
/// and who approved it, stays answerable.
#[derive(Clone, Debug)]
pub struct FullAccessRow {
    pub id: NominationId,
    pub tenant: String,
    pub login: String,
    pub state: RequestState,
    pub nominated_by: String,
    pub nominated_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub revoked_by: Option<String>,
    pub revoked_at: Option<i64>,
}

/// What became of a decision on a full-access nomination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FullAccessOutcome {
    Done,
    /// Someone else decided or revoked it first; nothing was written.
    StateChanged,
    /// Approving would exceed the tenant's cap; these are the holders now.
    CapReached(Vec<String>),
}

/// One step in the life of an access request or an export, kept for good.
#[derive(Clone, Debug)]
pub struct HistoryRow {
    pub at: i64,
    pub actor: String,
    /// requested | issued | approved | denied | revoked | packaged | downloaded
    /// | approval withdrawn
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportState {
    /// Collecting approvals.
    Pending,
    /// Approved by enough people; the encrypted package waits for its one download.
    Approved,
    Denied,
    Revoked,
    /// Taken once; the package is gone.
    Downloaded,
}

impl ExportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportState::Pending => "pending",
            ExportState::Approved => "approved",
            ExportState::Denied => "denied",
            ExportState::Revoked => "revoked",
            ExportState::Downloaded => "downloaded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Approved,
            Self::Denied,
            Self::Revoked,
            Self::Downloaded,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A bulk export: what is asked for, by whom, for whom, and where it stands.
/// The reason and the recipient's name are sealed under the tenant's key.
#[derive(Clone, Debug)]
pub struct ExportRow {
    pub id: ExportId,
    pub tenant: String,
    pub requester: String,
    /// None: every segment of the tenant.
    pub segment: Option<String>,
    pub fields: Vec<String>,
    pub purpose: String,
    pub case_id: String,
    pub sealed: Vec<u8>,
    pub key_version: u32,
    /// The recipient's public key (an age X25519 recipient, `age1…`).
    pub recipient_key: String,
    /// Customers the query matched when it was filed.
    pub rows_at_request: u64,
    pub approvals_required: u32,
    /// Where it is in its life, with the package where there is one.
    pub stage: ExportStage,
    pub created_at: i64,
    /// A pending export lapses at this time.
    pub approve_by: i64,
    pub closed_by: Option<String>,
    pub closed_at: Option<i64>,
}

/// Where an export is in its life, holding what only that stage has: a
/// pending or denied export has no package, an approved or downloaded one
/// always has (a store row that says otherwise is refused as corrupt).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportStage {
    Pending,
    Approved(PackageMeta),
    Denied,
    /// Revoked while pending (no package) or after approval (its package's
    /// record stays; the bytes are gone).
    Revoked(Option<PackageMeta>),
    Downloaded(PackageMeta),
}

impl ExportStage {
    pub fn state(&self) -> ExportState {
        match self {
            ExportStage::Pending => ExportState::Pending,
            ExportStage::Approved(_) => ExportState::Approved,
            ExportStage::Denied => ExportState::Denied,
            ExportStage::Revoked(_) => ExportState::Revoked,
            ExportStage::Downloaded(_) => ExportState::Downloaded,
        }
    }

    /// What was written into the package, once there is one.
    pub fn package(&self) -> Option<&PackageMeta> {
        match self {
            ExportStage::Approved(p) | ExportStage::Downloaded(p) => Some(p),
            ExportStage::Revoked(p) => p.as_ref(),
            ExportStage::Pending | ExportStage::Denied => None,
        }
    }

    /// The stage a stored state and package make, if they go together.
    pub fn of(state: ExportState, package: Option<PackageMeta>) -> Option<Self> {
        Some(match (state, package) {
            (ExportState::Pending, None) => ExportStage::Pending,
            (ExportState::Denied, None) => ExportStage::Denied,
            (ExportState::Approved, Some(p)) => ExportStage::Approved(p),
            (ExportState::Downloaded, Some(p)) => ExportStage::Downloaded(p),
            (ExportState::Revoked, p) => ExportStage::Revoked(p),
            _ => return None,
        })
    }
}

/// What was written into an export's package (the bytes are kept apart).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageMeta {
    /// Customer rows (canary rows not counted).
    pub rows: u64,
    pub canaries: u32,
    pub bytes: u64,
    /// SHA-256 of the encrypted package, so the recipient can check what they got.
    pub sha256: [u8; 32],
    pub created_at: i64,
    /// The package can be downloaded until this time; afterwards it is deleted.
    pub download_until: i64,
}

/// One approval of an export. (export, approver) is unique in the store.
#[derive(Clone, Debug)]
pub struct ExportApprovalRow {
    pub export: ExportId,
    pub approver: String,
    /// The approver's role when they approved (the group policy counts).
    pub role: String,
    pub at: i64,
    pub comment: Option<Vec<u8>>,
}

/// How adding an approval went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApprovalOutcome {
    Added,
    /// This person has already approved this export.
    Duplicate,
    /// The export is no longer pending.
    NotPending,
    /// Another approval arrived since the caller read them: its decision
    /// was made on stale approvals (the AND of groups), so nothing was added.
    Changed,
}

/// Which exports to list.
#[derive(Clone, Debug, Default)]
pub struct ExportFilter {
    pub tenant: Option<String>,
    pub requester: Option<String>,
    pub state: Option<ExportState>,
    pub limit: usize,
}

/// A case (call, ticket) from the call system's feed: which customer it is
/// about, as blind-index tokens of the customer number, one per tenant key
/// version (4-byte big-endian version, then the token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRow {
    pub case_id: String,
    pub tokens: Vec<u8>,
    pub updated_at: i64,
}

/// Which records to scan, in id order (a resumable cursor).
#[derive(Clone, Debug)]
pub struct RecordScan {
    /// Only this segment (None: all).
    pub segment: Option<String>,
    /// Only records written under a key version older than this.
    pub older_than_version: Option<u32>,
    /// Records with an id above this one.
    pub after: RecordId,
    pub limit: usize,
}

/// Where an alert is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Open,
    Acknowledged,
    /// Closed with a resolution note.
    Resolved,
    /// Closed as not a real problem (with a note saying why).
    FalsePositive,
}

impl AlertState {
    pub const ALL: [AlertState; 4] = [
        Self::Open,
        Self::Acknowledged,
        Self::Resolved,
        Self::FalsePositive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
            Self::FalsePositive => "false_positive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// An alert raised by detection, and its handling.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertRow {
    /// Stable id derived from person, rule, variant and window.
    pub id: String,
    pub rule: String,
    pub variant: String,
    pub severity: String,
    pub login: String,
    pub tenant: Option<String>,
    /// Time of the triggering event (Unix seconds).
    pub at: i64,
    pub window: i64,
    pub value: f64,
    pub threshold: f64,
    pub indicator: Option<String>,
    pub evidence_log: String,
    pub evidence_seq: u64,
    pub risk: f64,
    /// When detection stored it.
    pub raised_at: i64,
    pub state: AlertState,
    pub assignee: Option<String>,
    /// The resolution note, sealed under the tenant's key (free text may name a customer).
    #[serde(skip)]
    pub note: Option<Vec<u8>>,
    pub updated_by: Option<String>,
    pub updated_at: i64,
}

#[derive(Clone, Debug, Default)]
pub struct AlertFilter {
    pub state: Option<AlertState>,
    pub login: Option<String>,
    /// Only alerts about these people (a supervisor's team).
    pub logins: Option<Vec<String>>,
    pub tenant: Option<String>,
    pub rule: Option<String>,
    /// Raised at or after (Unix seconds).
    pub since: Option<i64>,
    pub limit: usize,
}

/// A change of an alert's handling.
#[derive(Clone, Debug)]
pub struct AlertChange {
    pub state: AlertState,
    /// `Some(None)` clears the assignee; `None` leaves it.
    pub assignee: Option<Option<String>>,
    pub note: Option<Vec<u8>>,
    pub by: String,
    pub at: i64,
}

/// A notification waiting to be delivered (the outbox).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub alert: String,
    pub channel: String,
    pub attempts: u32,
    pub next_at: i64,
    pub last_error: Option<String>,
}

/// A decoy customer planted to catch browsing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HoneyRow {
    pub tenant: String,
    pub record: RecordId,
    pub planted_by: String,
    pub planted_at: i64,
}

/// Detection's persisted state and how far into each log it reflects.
#[derive(Clone, Debug, PartialEq)]
pub struct DetectSnapshot {
    /// JSON the detector writes: each log's storage position of the last
    /// event consumed, when it went live, alerts raised but not yet stored.
    pub cursors: String,
    pub state: Vec<u8>,
    pub saved_at: i64,
}

/// A person's working time on one day (Japan time), from an imported shift
/// calendar. `start == end == 0` marks a day off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShiftRow {
    pub login: String,
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Minutes from the day's midnight; `end` may pass 1440 (a night shift).
    pub start_min: u32,
    pub end_min: u32,
}

/// One budget's share of a request: the customers it is about to show.
#[derive(Clone, Debug)]
pub struct BudgetCharge<'a> {
    /// Which budget: a person's day (`day/<login>/<JST day>`) or a grant (`grant/<id>`).
    pub budget: String,
    /// Most distinct customers the budget allows.
    pub limit: u64,
    pub records: &'a [RecordId],
    /// When the budget stops mattering (the day's or the grant's end);
    /// its rows may be purged afterwards.
    pub until: i64,
}

/// How charging budgets went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChargeOutcome {
    Charged,
    /// Charge `index` would exceed its limit: `used` were charged before,
    /// `would_be` with this request. Nothing was charged.
    Exceeded {
        index: usize,
        used: u64,
        would_be: u64,
    },
}

/// A hunt: the security office asks PC agents to scan at their next contact
/// (as Velociraptor's hunts reach endpoints when they next connect).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HuntRow {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: HuntId,
    /// The incident or inspection it belongs to.
    pub case_id: String,
    pub started_by: String,
    pub started_at: i64,
    /// Machines that have not answered by then are no longer asked.
    pub until: i64,
    /// Read every file again, not only those changed since the last scan.
    pub full: bool,
    /// Logins of the machines asked; empty: every scanner.
    pub machines: Vec<String>,
    /// The security office's age public key: files found naming customers
    /// are put away to it (encrypted in place) by the agent.
    pub quarantine_to: Option<String>,
}

/// What a PC agent's scan came to, as the vault judged its report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScanVerdict {
    /// Every file read, no personal data found.
    Clean,
    /// Personal data found in at least one file.
    Findings,
    /// Nothing found, but some files could not be inspected (password
    /// protected, too large, unreadable, …): not proof of clean.
    Incomplete,
}

impl ScanVerdict {
    pub const ALL: [ScanVerdict; 3] = [Self::Clean, Self::Findings, Self::Incomplete];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clean => "clean",
            Self::Findings => "findings",
            Self::Incomplete => "incomplete",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One scan a PC agent reported (its details are in the audit event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScanReportRow {
    /// The machine's scanner login.
    pub login: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub scan: ScanId,
    /// When the vault received it (its clock, not the machine's).
    pub received_at: i64,
    /// The hunt it answers, if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub hunt: Option<HuntId>,
    pub full: bool,
    pub verdict: ScanVerdict,
    pub files_seen: u64,
    pub with_findings: u64,
    pub naming_customers: u64,
    pub uninspected: u64,
}

/// A machine's reports in short: the latest, and when it was last clean.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MachineReports {
    pub latest: ScanReportRow,
    pub reports: u64,
    pub last_clean_at: Option<i64>,
}

/// A reconciliation run as kept: its period, who ran it, and the report
/// (JSON of staff identifiers, counts and audit positions — no customer's
/// value). Its id is the report's SHA-256: the same report is kept once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconciliationRow {
    pub id: String,
    pub period_from: i64,
    pub period_to: i64,
    pub run_by: String,
    pub run_at: i64,
    pub report: Vec<u8>,
}

/// A discrepancy as kept across runs. Its id is stable (class, person, day,
/// kind), so a run over the same month again finds it with its disposition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscrepancyRow {
    pub id: String,
    pub class: String,
    pub person: String,
    /// Japan date, `YYYY-MM-DD`.
    pub day: String,
    pub kind: Option<String>,
    /// Occurrences in the latest run that found it.
    pub count: u64,
    /// That run's id.
    pub run: String,
    pub disposition: Option<Disposition>,
}

/// What a person decided a discrepancy was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disposition {
    /// `explained`, `mistake` or `escalated`.
    pub outcome: String,
    pub by: String,
    pub at: i64,
    /// The reason, sealed under the tenant's key where the discrepancy names
    /// a tenant, else as written.
    pub note: Vec<u8>,
}

/// Which discrepancies to list (ordered by day, class, person).
#[derive(Clone, Debug, Default)]
pub struct DiscrepancyFilter {
    /// Only those without a disposition.
    pub open_only: bool,
    /// Only those the run with this id found.
    pub run: Option<String>,
    pub limit: usize,
}

/// An access review campaign (D4) as kept: what it covers, who reviews, its
/// deadline and what happens to an item nobody decided. A recurring
/// campaign opens its successor when it closes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignRow {
    pub id: String,
    pub title: String,
    /// JSON of the scope (tenant, segment, role, department, vendor, kinds).
    pub scope: String,
    /// Reviews an item whose reviewee has no eligible manager.
    pub fallback: Option<String>,
    pub opened_by: String,
    pub opened_at: i64,
    pub deadline: i64,
    /// Reviewers with undecided items are told this many days before the deadline.
    pub notice_days: u32,
    /// `revoke`, `keep` or `escalate`: what the deadline does to an undecided item.
    pub on_no_answer: String,
    /// Months until the next campaign; 0 for a campaign run once.
    pub every_months: u32,
    /// Days of reads the evidence covers.
    pub evidence_days: u32,
    pub noticed_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub closed_by: Option<String>,
    /// The campaign a recurring one was followed by.
    pub successor: Option<String>,
}

/// One entitlement under review: a segment assignment, standing full access
/// or a privileged role, with its reviewer and the vault's evidence as it
/// stood when the campaign opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewItemRow {
    pub id: String,
    pub campaign: String,
    /// `segment`, `full_access` or `role`.
    pub kind: String,
    pub login: String,
    pub tenant: Option<String>,
    /// The segment, the nomination id, or the role.
    pub target: String,
    pub reviewer: String,
    /// Who gave the entitlement, where the log says.
    pub grantor: Option<String>,
    /// JSON of the evidence snapshot.
    pub evidence: String,
    /// When the reviewer first listed it.
    pub shown_at: Option<i64>,
    pub decision: Option<ReviewDecision>,
    /// After a decision: `kept`, `revoked` (applied and checked), `escalated`
    /// or `failed` (still in force when checked).
    pub applied: Option<String>,
}

/// What a reviewer (or the deadline) decided about an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewDecision {
    /// `keep`, `revoke` or `escalated`.
    pub outcome: String,
    /// The reviewer, or `system` for the deadline's default.
    pub by: String,
    pub at: i64,
    /// The reason, sealed under the tenant's key where the item names a
    /// tenant, else as written.
    pub note: Vec<u8>,
}

/// What a revocation removes, in the transaction that records it.
#[derive(Clone, Debug)]
pub enum Removal {
    /// A segment assignment.
    Assignment(Assignment),
    /// Approved standing full access: revoked, and its whole-tenant
    /// assignment removed, with this step in its history.
    FullAccess { id: NominationId, step: HistoryRow },
    /// A privileged role: the account leaves at `at` and its tokens are revoked.
    Account { login: String, at: i64 },
}

/// Which review items to list (by reviewee, kind, tenant, target).
#[derive(Clone, Debug, Default)]
pub struct ReviewItemFilter {
    pub campaign: Option<String>,
    pub reviewer: Option<String>,
    /// Only those without a decision.
    pub open_only: bool,
    pub limit: usize,
}

/// One Japan day of use by one person, summarised once from the audit log
/// for review evidence: standing reads of a tenant's segment (`segment`
/// set), of the tenant at all (`segment` empty), or every action the person
/// took (`tenant` and `segment` empty; no records).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageRow {
    pub day: i64,
    pub login: String,
    pub tenant: String,
    pub segment: String,
    pub reads: u64,
    /// The last one (Unix seconds).
    pub last_at: i64,
    /// The distinct customers shown: 16-byte record ids, sorted, concatenated.
    pub records: Vec<u8>,
}

/// What a SCIM resource is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScimKind {
    User,
    Group,
}

impl ScimKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimKind::User => "User",
            ScimKind::Group => "Group",
        }
    }
}

/// A SCIM resource as stored: the columns it is found by, and its document
/// (JSON the vault writes and reads; the store never parses it). A Group's
/// members are kept apart (`ScimStore::scim_members`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimRow {
    pub kind: ScimKind,
    /// The id mamori gave it (random, hex).
    pub id: String,
    /// For a User: the person it provisions.
    pub login: Option<String>,
    /// A User's userName or a Group's displayName, folded to lower case
    /// (SCIM compares them without case); unique among live Users.
    pub name_key: String,
    pub external_id: Option<String>,
    pub doc: String,
    /// Moves by one with every update (compare-and-set).
    pub version: u64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Members a change adds to a Group and takes from it (Users' ids).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberChange {
    pub add: Vec<String>,
    pub remove: Vec<String>,
}

impl MemberChange {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// Which SCIM resources a list asks for: all the conditions given hold.
#[derive(Clone, Debug, Default)]
pub struct ScimQuery {
    pub id: Option<String>,
    pub name_key: Option<String>,
    pub external_id: Option<String>,
    /// Groups that have this User as a member.
    pub member: Option<String>,
    pub offset: usize,
    pub limit: usize,
}

/// A provisioning client's bearer token, by its label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScimTokenRow {
    pub label: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// Where a person works, as provisioning sets it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Profile {
    pub role: String,
    pub department: Option<String>,
    pub vendor: Option<String>,
    pub manager: Option<String>,
}
