//! Storage of the vault: one trait per concern, the row model, and what
//! every backend shares (column mapping in `rows`, the blind-index merge of
//! a commit group in `pending`). The backends are crates of their own —
//! mamori-store-sqlite (the embedded default) and mamori-store-postgres —
//! and one conformance suite (this crate's tests) checks both.
//!
//! Architecture invariant: a store only ever sees ciphertexts, blind-index
//! tokens, wrapped keys and non-personal metadata. It cannot decrypt anything
//! and has no access to keys; a bug here can lose data but cannot leak it.

mod drivers;
pub mod model;
pub mod pending;
pub mod rows;

pub use mamori_core::{ExportId, GrantId, HuntId, NominationId, RecordId, ScanId};
pub use model::*;

/// A storage failure. Messages come from the database driver and carry no
/// values (queries bind parameters; drivers do not echo them).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(String),
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("the data directory is not initialised or its schema is newer than this binary: {0}")]
    Schema(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Where each audit log ends; a log absent here is empty.
pub type Heads = std::collections::HashMap<String, LogHead>;

/// Tenants, their wrapped keys and their customer records.
pub trait VaultStore: Send + Sync {
    fn create_tenant(&self, tenant: &TenantRow, keys: &KeyRow) -> Result<()>;
    fn tenant(&self, id: &str) -> Result<Option<TenantRow>>;
    fn tenants(&self) -> Result<Vec<TenantRow>>;
    fn keys(&self, tenant: &str) -> Result<Vec<KeyRow>>;
    fn add_key(&self, key: &KeyRow) -> Result<()>;
    /// Destroys every key of the tenant (secure delete) and marks it shredded.
    fn shred_tenant(&self, tenant: &str, at: i64) -> Result<()>;
    /// The deployment's wrapped secrets.
    fn deployment_keys(&self) -> Result<Vec<DeploymentKeyRow>>;
    /// Stores a secret unless one of its name is there already (another
    /// node stored it first); whether this one was stored.
    fn add_deployment_key(&self, key: &DeploymentKeyRow) -> Result<bool>;
    /// Replaces the wrapping of every stored key — each tenant key version
    /// (`wrapped_data`, `wrapped_index`) and each deployment secret — in one
    /// transaction (`key migrate`). `keys` must name every stored key and
    /// nothing else: a key added or shredded meanwhile is a Conflict, and
    /// nothing changes.
    fn rewrap_keys(&self, keys: &[KeyRow], deployment: &[DeploymentKeyRow]) -> Result<()>;

    /// The records found under any of `tokens` for `search_key`, in this
    /// tenant only (one query: the index entries joined to their records).
    fn find(&self, tenant: &str, search_key: &str, tokens: &[Token]) -> Result<Vec<RecordRow>>;
    /// Which records each of `tokens` names under `search_key`, in this
    /// tenant only: the pairs (token, record id), for matching values found
    /// outside the vault (a scanned file, a leak) without opening a record.
    fn match_tokens(
        &self,
        tenant: &str,
        search_key: &str,
        tokens: &[Token],
    ) -> Result<Vec<(Token, RecordId)>>;
    /// The records whose key token (customer number) is one of `tokens`.
    fn find_keys(
        &self,
        tenant: &str,
        tokens: &[Token],
    ) -> Result<std::collections::HashMap<Token, RecordId>>;
    fn record(&self, tenant: &str, id: &RecordId) -> Result<Option<RecordRow>>;
    /// Writes a batch atomically: all rows or none. A `New` row whose key token
    /// is already taken fails the batch with `Conflict` (a concurrent insert).
    fn write_records(&self, tenant: &str, rows: &[RecordWrite]) -> Result<()> {
        let mut bulk = self.bulk(tenant)?;
        bulk.write(rows)?;
        bulk.commit()
    }
    /// Opens a commit group for a run of batch writes into one tenant (an
    /// import). The group holds the store's write lock until it is committed
    /// or dropped; callers keep it short (seconds).
    fn bulk(&self, tenant: &str) -> Result<Box<dyn BulkWrite + '_>>;
    fn delete_record(&self, tenant: &str, id: &RecordId) -> Result<bool>;
    /// Up to `scan.limit` records of the tenant matching `scan`, in id order.
    fn scan_records(&self, tenant: &str, scan: &RecordScan) -> Result<Vec<RecordRow>>;
    /// Records of the tenant, or of one of its segments.
    fn count_records(&self, tenant: &str, segment: Option<&str>) -> Result<u64>;
    /// Adds or replaces cases of the call system's feed, in one transaction.
    /// Bumps the governance revision (a tenant's first feed turns the check on).
    fn put_cases(&self, tenant: &str, cases: &[CaseRow]) -> Result<()>;
    fn case(&self, tenant: &str, case_id: &str) -> Result<Option<CaseRow>>;
    /// Whether the tenant has a case feed at all.
    fn has_cases(&self, tenant: &str) -> Result<bool>;
}

/// A commit group: batches written one after another and made durable
/// together. Committing per group instead of per batch is what keeps a large
/// import fast on SQLite, where every commit rewrites each index page it
/// touched and the blind index's random keys touch nearly all of them.
///
/// Each [`BulkWrite::write`] is atomic: all of the batch or none of it. A
/// batch refused for a taken customer number (`Conflict`) or a missing record
/// (`NotFound`) leaves the group's earlier batches in place, so the caller can
/// seal it again and retry; after any other error the group may have been
/// rolled back and takes no more writes. Dropping the group without
/// [`BulkWrite::commit`] rolls it back whole. Both stores hold one
/// transaction for the group and insert its blind-index entries in key order
/// at the commit (`pending`).
pub trait BulkWrite {
    /// Like [`VaultStore::find_keys`], but also seeing this group's own
    /// uncommitted writes.
    fn find_keys(&mut self, tokens: &[Token])
    -> Result<std::collections::HashMap<Token, RecordId>>;
    /// Writes one batch, all rows or none, with the rules of
    /// [`VaultStore::write_records`].
    fn write(&mut self, rows: &[RecordWrite]) -> Result<()>;
    /// Makes every batch of the group durable.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// People, their tokens and what they are assigned to.
pub trait UserStore: Send + Sync {
    fn create_user(&self, user: &UserRow) -> Result<()>;
    fn user(&self, login: &str) -> Result<Option<UserRow>>;
    fn users(&self) -> Result<Vec<UserRow>>;
    /// Stores a credential (an API token or a session) by its hash.
    fn add_credential(&self, login: &str, hash: &[u8; 32], c: &Credential, at: i64) -> Result<()>;
    /// The user owning a live (not revoked) credential with this hash, its
    /// terms, and the current governance revision (see
    /// [`GovernanceStore::governance_rev`]), read together so that one query
    /// serves each request. Expiry is the caller's to check.
    fn user_by_token(&self, hash: &[u8; 32]) -> Result<Option<(UserRow, Credential, u64)>>;
    /// Revokes one credential (a session signed out); false when it was not live.
    fn revoke_credential(&self, hash: &[u8; 32], at: i64) -> Result<bool>;
    /// Revokes every credential of the user, tokens and sessions; returns
    /// how many were live.
    fn revoke_tokens(&self, login: &str, at: i64) -> Result<usize>;
    /// Offboards a person in one transaction: suspended from `at` (the row
    /// stays, a tombstone the audit log's names still point to), every
    /// credential revoked, every pending or approved access request and
    /// export of theirs revoked (packages deleted), every pending or
    /// approved full-access nomination revoked (its assignment removed) and
    /// their approvals of others' exports still collecting approvals
    /// withdrawn — each with `step` in its history (`approval withdrawn`
    /// for the last). `NotFound` for an unknown login.
    fn deprovision(&self, login: &str, at: i64, step: &HistoryRow) -> Result<Deprovisioned>;
    fn assign(&self, a: &Assignment) -> Result<()>;
    /// Removes an assignment; false when there was none.
    fn unassign(&self, a: &Assignment) -> Result<bool>;
    fn assignments(&self, login: &str) -> Result<Vec<Assignment>>;
    /// Every assignment of every user to `tenant`.
    fn tenant_assignments(&self, tenant: &str) -> Result<Vec<Assignment>>;
    fn set_manager(&self, login: &str, manager: Option<&str>) -> Result<()>;
    fn set_leaves_at(&self, login: &str, leaves_at: Option<i64>) -> Result<()>;
    /// Suspends (`Some(at)`) or reinstates (`None`) a person's access.
    fn set_suspended(&self, login: &str, at: Option<i64>) -> Result<()>;
    /// Records (`Some`) or forgets (`None`) a person's household: keyed
    /// tokens of their family name and home address, never the text. The
    /// store keeps the bytes as given. Bumps the governance revision.
    fn set_household(&self, login: &str, tokens: Option<&[u8]>, at: i64) -> Result<()>;
    fn household(&self, login: &str) -> Result<Option<Vec<u8>>>;
}

/// Who may do what beyond their standing assignments: vendors, training and
/// compliance records, just-in-time access requests and grants.
///
/// Every write bumps the governance revision, so a server can cache what it
/// knows about a person and still see any change (made by any process) on the
/// very next request.
pub trait GovernanceStore: Send + Sync {
    /// A number that changes whenever users, assignments, vendors, training,
    /// compliance records or requests change.
    fn governance_rev(&self) -> Result<u64>;

    fn put_vendor(&self, v: &VendorRow) -> Result<()>;
    fn vendor(&self, id: &str) -> Result<Option<VendorRow>>;
    fn vendors(&self) -> Result<Vec<VendorRow>>;

    fn add_training(&self, t: &TrainingRow) -> Result<()>;
    fn training(&self, login: &str) -> Result<Vec<TrainingRow>>;
    fn add_compliance(&self, c: &ComplianceRow) -> Result<()>;
    fn compliance(&self, login: &str) -> Result<Vec<ComplianceRow>>;

    fn set_full_access_cap(&self, tenant: &str, cap: Option<u32>) -> Result<()>;

    /// Stores a new request with its first history entry.
    fn insert_request(&self, r: &AccessRequestRow, first: &HistoryRow) -> Result<()>;
    fn request(&self, id: &GrantId) -> Result<Option<AccessRequestRow>>;
    fn requests(&self, f: &RequestFilter) -> Result<Vec<AccessRequestRow>>;
    fn request_history(&self, id: &GrantId) -> Result<Vec<HistoryRow>>;
    /// Moves a request from `from` to `to` and appends `step` to its history,
    /// atomically and only if it is still in `from`; false when another
    /// actor got there first (no double approval, no approve-after-revoke).
    fn transition(
        &self,
        id: &GrantId,
        from: RequestState,
        to: RequestState,
        step: &HistoryRow,
    ) -> Result<bool>;
    /// Files a nomination for standing full access with its first history
    /// step. `Conflict` when the person already has a pending or approved one
    /// for the tenant.
    fn nominate_full_access(&self, r: &FullAccessRow, first: &HistoryRow) -> Result<()>;
    /// Every nomination of the tenant, in any state, newest first.
    fn full_access(&self, tenant: &str) -> Result<Vec<FullAccessRow>>;
    fn full_access_history(&self, id: &NominationId) -> Result<Vec<HistoryRow>>;
    /// Moves a nomination from `from` to `to` like [`Self::transition`], and
    /// makes the assignment follow in the same transaction: approval adds the
    /// whole-tenant assignment unless the tenant already has `cap` holders
    /// (checked inside the transaction, so two approvals cannot both pass
    /// the last place); revoking an approved one removes it.
    fn full_access_transition(
        &self,
        id: &NominationId,
        from: RequestState,
        to: RequestState,
        step: &HistoryRow,
        cap: u32,
    ) -> Result<FullAccessOutcome>;
    /// Approved, unrevoked grants of `login` whose window ends after `now`.
    fn live_grants(&self, login: &str, now: i64) -> Result<Vec<AccessRequestRow>>;
}

/// Bulk exports: requests, their approvals and history, and the encrypted
/// package between approval and its one download.
pub trait ExportStore: Send + Sync {
    fn insert_export(&self, e: &ExportRow, first: &HistoryRow) -> Result<()>;
    fn export(&self, id: &ExportId) -> Result<Option<ExportRow>>;
    fn exports(&self, f: &ExportFilter) -> Result<Vec<ExportRow>>;
    fn export_history(&self, id: &ExportId) -> Result<Vec<HistoryRow>>;
    fn export_approvals(&self, id: &ExportId) -> Result<Vec<ExportApprovalRow>>;
    /// Adds an approval (and its history step) if the export is still
    /// pending, this approver has not approved it yet, and it still has
    /// exactly `seen` approvals — those the caller decided on.
    fn add_export_approval(
        &self,
        a: &ExportApprovalRow,
        step: &HistoryRow,
        seen: usize,
    ) -> Result<ApprovalOutcome>;
    /// Moves a pending export to approved with its package, atomically and
    /// only if it is still pending; false when another approver got there first.
    fn store_package(
        &self,
        id: &ExportId,
        meta: &PackageMeta,
        bytes: &[u8],
        step: &HistoryRow,
    ) -> Result<bool>;
    /// Takes the package of an approved export once: marks it downloaded,
    /// deletes the bytes and returns them. None when it is not approved, its
    /// window has ended at `now`, or someone took it first.
    fn take_package(&self, id: &ExportId, now: i64, step: &HistoryRow) -> Result<Option<Vec<u8>>>;
    /// Ends an export (denied or revoked) if it is still in `from`; any
    /// package is deleted with it.
    fn close_export(
        &self,
        id: &ExportId,
        from: ExportState,
        to: ExportState,
        step: &HistoryRow,
    ) -> Result<bool>;
    /// Deletes the packages whose download window ended before `now`; returns how many.
    fn purge_packages(&self, now: i64) -> Result<u64>;
}

/// Detection: alerts and their handling, the notification outbox, honey
/// records and the engine's persisted state.
pub trait AlertStore: Send + Sync {
    /// Stores a new alert and queues one delivery per channel, in one
    /// transaction. An alert with the same id is left as it is (`false`):
    /// replaying history cannot raise or notify anything twice.
    fn insert_alert(&self, a: &AlertRow, channels: &[String], now: i64) -> Result<bool>;
    fn alert(&self, id: &str) -> Result<Option<AlertRow>>;
    /// Newest first.
    fn alerts(&self, f: &AlertFilter) -> Result<Vec<AlertRow>>;
    /// Applies `change` if the alert is in one of the `from` states
    /// (compare-and-set: two people cannot both close it).
    fn update_alert(&self, id: &str, from: &[AlertState], change: &AlertChange) -> Result<bool>;
    /// A channel's deliveries due at `now`, oldest first.
    fn due_deliveries(&self, channel: &str, now: i64, limit: usize) -> Result<Vec<DeliveryRow>>;
    /// Removes a delivered notification, or schedules the next attempt.
    fn delivery_result(
        &self,
        id: i64,
        delivered: bool,
        next_at: i64,
        error: Option<&str>,
    ) -> Result<()>;
    /// Notifications not yet delivered, per channel.
    fn pending_deliveries(&self) -> Result<Vec<(String, u64)>>;
    fn detect_snapshot(&self) -> Result<Option<DetectSnapshot>>;
    fn save_detect_snapshot(&self, s: &DetectSnapshot) -> Result<()>;
    fn add_honey(&self, rows: &[HoneyRow]) -> Result<()>;
    fn honey(&self) -> Result<Vec<HoneyRow>>;
    /// Replaces, in one transaction, the working time of every (person, day)
    /// that `rows` name.
    fn import_shifts(&self, rows: &[ShiftRow]) -> Result<()>;
    /// Calendar entries from `since` (`YYYY-MM-DD`) on.
    fn shifts(&self, since: &str) -> Result<Vec<ShiftRow>>;
    /// Gives a person a named weekly shift of the rules file (or none).
    fn set_user_shift(&self, login: &str, shift: Option<&str>) -> Result<()>;
    /// Every person's named shift.
    fn user_shifts(&self) -> Result<Vec<(String, String)>>;
}

/// Distinct customers shown against budgets (a person's day, a grant), shared
/// by every process that serves the vault: two requests cannot both spend
/// the last unit of a budget, whichever nodes they reach.
pub trait BudgetStore: Send + Sync {
    /// Charges each budget its records, all or nothing: a customer already
    /// charged to a budget costs nothing again; when one budget would go over
    /// its limit nothing is charged at all.
    fn charge_budgets(&self, charges: &[BudgetCharge<'_>]) -> Result<ChargeOutcome>;
    /// Adds customers already shown (as rebuilt from the audit log) to a
    /// budget, without a limit check. Idempotent.
    fn seed_budget(&self, budget: &str, until: i64, records: &[RecordId]) -> Result<()>;
    /// Customers charged to a budget so far.
    fn budget_used(&self, budget: &str) -> Result<u64>;
    /// Forgets budgets whose time ended before `now`; returns how many.
    fn purge_budgets(&self, now: i64) -> Result<u64>;
}

/// PC agents: the hunts the security office starts and each machine's
/// reports (their figures; what was found per file is in the audit event).
pub trait AgentStore: Send + Sync {
    fn insert_hunt(&self, h: &HuntRow) -> Result<()>;
    /// Hunts started at or after `since`, oldest first.
    fn hunts(&self, since: i64) -> Result<Vec<HuntRow>>;
    /// Records a report; false (nothing written) when this machine's report
    /// of that scan is already recorded.
    fn insert_scan_report(&self, r: &ScanReportRow) -> Result<bool>;
    /// `login`'s reports received at or after `since`, oldest first.
    fn scan_reports(&self, login: &str, since: i64) -> Result<Vec<ScanReportRow>>;
    /// Per machine that ever reported: its latest report, how many, and
    /// when it was last clean.
    fn machine_reports(&self) -> Result<Vec<MachineReports>>;
}

/// Reconciliation runs and their discrepancies, with each one's disposition.
pub trait ReconcileStore: Send + Sync {
    /// Keeps a run and its discrepancies in one transaction: new ones are
    /// added open; one known from an earlier run keeps its disposition and
    /// takes this run's count. A run kept already (same id) changes nothing.
    fn record_reconciliation(
        &self,
        run: &ReconciliationRow,
        items: &[DiscrepancyRow],
    ) -> Result<()>;
    fn reconciliation(&self, id: &str) -> Result<Option<ReconciliationRow>>;
    fn discrepancy(&self, id: &str) -> Result<Option<DiscrepancyRow>>;
    fn discrepancies(&self, f: &DiscrepancyFilter) -> Result<Vec<DiscrepancyRow>>;
    /// Records the disposition of an open discrepancy; false (nothing
    /// written) when it has one already (compare-and-set).
    fn dispose(&self, id: &str, d: &Disposition) -> Result<bool>;
}

/// Access review campaigns (D4) and their items.
pub trait ReviewStore: Send + Sync {
    /// Keeps a campaign and all its items in one transaction. With a
    /// `predecessor`, the campaign is that one's successor: false (nothing
    /// written) when it has one already (two schedulers racing).
    fn open_campaign(
        &self,
        c: &CampaignRow,
        items: &[ReviewItemRow],
        predecessor: Option<&str>,
    ) -> Result<bool>;
    fn campaign(&self, id: &str) -> Result<Option<CampaignRow>>;
    /// Every campaign, newest first; only those not closed when `open_only`.
    fn campaigns(&self, open_only: bool) -> Result<Vec<CampaignRow>>;
    fn review_item(&self, id: &str) -> Result<Option<ReviewItemRow>>;
    fn review_items(&self, f: &ReviewItemFilter) -> Result<Vec<ReviewItemRow>>;
    /// Notes when `reviewer` first saw their undecided items of `campaign`.
    fn mark_shown(&self, campaign: &str, reviewer: &str, at: i64) -> Result<()>;
    /// Records the decision on an undecided item and applies `removal` in the
    /// same transaction; false (nothing written, nothing removed) when the
    /// item has a decision already or its campaign is closed.
    fn decide_review(
        &self,
        item: &str,
        d: &ReviewDecision,
        removal: Option<&Removal>,
    ) -> Result<bool>;
    /// Records what checking a decided item found (`kept`, `revoked`, …).
    fn set_review_applied(&self, item: &str, applied: &str) -> Result<()>;
    fn mark_noticed(&self, campaign: &str, at: i64) -> Result<()>;
    /// Closes an open campaign; false when it was closed already.
    fn close_campaign(&self, campaign: &str, by: &str, at: i64) -> Result<bool>;

    /// The Japan days in `[from, to]` whose use is summarised.
    fn usage_days(&self, from: i64, to: i64) -> Result<Vec<i64>>;
    /// Keeps one day's summary, all rows or none; a day summarised already
    /// (by another process) is left as it is.
    fn put_usage_day(&self, day: i64, rows: &[UsageRow]) -> Result<()>;
    /// The summaries of the days in `[from, to]`, by person, tenant,
    /// segment and day, handed to `each` one at a time.
    fn each_usage(
        &self,
        from: i64,
        to: i64,
        each: &mut dyn FnMut(UsageRow) -> Result<()>,
    ) -> Result<()>;
}

/// Held while this process runs a job that must run in one process at a
/// time however many serve the vault (detection and its notifications);
/// released when dropped, or when the process dies.
pub trait Lease: Send {
    /// Whether the lease is still held (a lost database session loses it).
    fn held(&mut self) -> bool;
}

/// Leadership of such jobs.
pub trait LeaseStore: Send + Sync {
    /// The lease of `job` if no other process holds it.
    fn try_lead(&self, job: &str) -> Result<Option<Box<dyn Lease>>>;
}

/// Who people are at identity providers, and sign-ins under way.
pub trait IdentityStore: Send + Sync {
    /// Links the person `login` to `subject` at `issuer`; Conflict when
    /// that identity is already someone's.
    fn link_identity(&self, issuer: &str, subject: &str, login: &str, at: i64) -> Result<()>;
    /// Removes a link; false when there was none.
    fn unlink_identity(&self, issuer: &str, subject: &str) -> Result<bool>;
    /// The person an identity is linked to.
    fn identity(&self, issuer: &str, subject: &str) -> Result<Option<String>>;
    /// A person's identities as (issuer, subject).
    fn identities(&self, login: &str) -> Result<Vec<(String, String)>>;
    /// Keeps a sign-in under the hash of its state, forgetting sign-ins
    /// begun before `stale_before` (never answered); false, keeping
    /// nothing, when `most` are already under way (a flood of sign-ins
    /// begun and never finished is bounded).
    fn put_sign_in(
        &self,
        state: &[u8; 32],
        row: &SignInRow,
        stale_before: i64,
        most: u64,
    ) -> Result<bool>;
    /// Takes a sign-in by its state's hash: returned once, then gone.
    fn take_sign_in(&self, state: &[u8; 32]) -> Result<Option<SignInRow>>;
}

/// SCIM provisioning: the resources an identity provider manages, its
/// bearer tokens (stored as hashes), and the profile of the people it
/// provisions.
pub trait ScimStore: Send + Sync {
    /// Keeps a token's hash under a label; Conflict when the label is taken.
    fn add_scim_token(&self, hash: &[u8; 32], label: &str, at: i64) -> Result<()>;
    /// The label of a live token.
    fn scim_token(&self, hash: &[u8; 32]) -> Result<Option<String>>;
    fn scim_tokens(&self) -> Result<Vec<ScimTokenRow>>;
    /// Revokes the token under `label`; false when there is no live one.
    fn revoke_scim_token(&self, label: &str, at: i64) -> Result<bool>;
    /// Inserts a resource and, for a User, the person it provisions, in one
    /// transaction; a Group with its members. Conflict when a live User has
    /// the name, or the person's login is taken.
    fn insert_scim(
        &self,
        row: &ScimRow,
        person: Option<&UserRow>,
        members: &[String],
    ) -> Result<()>;
    /// A live resource.
    fn scim(&self, kind: ScimKind, id: &str) -> Result<Option<ScimRow>>;
    /// Live resources of `kind` matching `q`, by id, with how many match in all.
    fn scim_find(&self, kind: ScimKind, q: &ScimQuery) -> Result<(usize, Vec<ScimRow>)>;
    /// Replaces a resource if it is still at `version` (then at `version + 1`),
    /// and adds and removes a Group's members (only live Users are added;
    /// one already a member stays one); false when it moved or is gone.
    /// Conflict when a live User has the new name.
    fn update_scim(&self, row: &ScimRow, version: u64, members: &MemberChange) -> Result<bool>;
    /// Deletes a resource: a Group with its memberships; a User is kept as
    /// a tombstone (the person it provisioned stays named in the audit log)
    /// and leaves every group. False when there was no live one.
    fn delete_scim(&self, kind: ScimKind, id: &str, at: i64) -> Result<bool>;
    /// A Group's members' ids, sorted.
    fn scim_members(&self, group: &str) -> Result<Vec<String>>;
    /// Which of `ids` are live Users.
    fn scim_live_users(&self, ids: &[String]) -> Result<Vec<String>>;
    /// Sets the role, department, vendor and manager of a person.
    fn set_profile(&self, login: &str, p: &Profile) -> Result<()>;
}

/// Storage the vault needs: records, people, identities, provisioning, governance, exports, alerts,
/// budgets, leases, PC agents, reconciliations and access reviews (one SQLite file, or one PostgreSQL schema with the
/// audit log).
pub trait Backend:
    VaultStore
    + UserStore
    + IdentityStore
    + ScimStore
    + GovernanceStore
    + ExportStore
    + AlertStore
    + BudgetStore
    + LeaseStore
    + AgentStore
    + ReconcileStore
    + ReviewStore
{
}
impl<
    T: VaultStore
        + UserStore
        + IdentityStore
        + ScimStore
        + GovernanceStore
        + ExportStore
        + AlertStore
        + BudgetStore
        + LeaseStore
        + AgentStore
        + ReconcileStore
        + ReviewStore,
> Backend for T
{
}

/// The append-only audit log's storage: events, the perfect subtrees of each
/// log's Merkle tree, and signed checkpoints. There is no update and no delete.
pub trait AuditStore: Send + Sync {
    /// Appends durably in one transaction. Inside it, with the log's write
    /// lock held, `build` receives where each of `logs` ends (last event,
    /// tree frontier, latest checkpoint) and returns what to write: events
    /// chained onto those heads, the tree nodes they complete, checkpoints.
    /// Reading the heads under the lock keeps every log gapless even when
    /// several processes append to it.
    fn append(&self, logs: &[String], build: &mut dyn FnMut(&Heads) -> AuditBatch) -> Result<()>;
    /// Events of one log in storage order after storage position `after`, at
    /// most `limit`. Storage order, not `seq` order: a reordered or renumbered
    /// row must reach the verifier out of sequence.
    fn scan(&self, log: &str, after: i64, limit: usize) -> Result<Vec<AuditRow>>;
    fn logs(&self) -> Result<Vec<String>>;
    fn query(&self, q: &AuditQuery) -> Result<Vec<AuditRow>>;
    /// The event of `log` with sequence number `seq`.
    fn event(&self, log: &str, seq: u64) -> Result<Option<AuditRow>>;
    /// The stored perfect subtree `(level, index)` of `log`'s tree: level 0
    /// is the hash of event `index + 1` (hot or archived).
    fn tree_node(&self, log: &str, level: u32, index: u64) -> Result<Option<[u8; 32]>>;
    /// The hashes of events `first + 1 ..= first + count` (hot or archived),
    /// in order; shorter if the log ends sooner.
    fn leaves(&self, log: &str, first: u64, count: u64) -> Result<Vec<[u8; 32]>>;
    /// Checkpoints of `log` with size above `after`, in size order, at most `limit`.
    fn checkpoints(&self, log: &str, after: u64, limit: usize) -> Result<Vec<CheckpointRow>>;
    /// The checkpoint of `log` with the largest size.
    fn latest_checkpoint(&self, log: &str) -> Result<Option<CheckpointRow>>;
    /// Keeps a witness's cosignature line on the checkpoint of `size`.
    fn add_cosignature(&self, log: &str, size: u64, witness: &str, line: &str) -> Result<()>;
    /// The cosignature lines on the checkpoint of `size`, each ending in a newline.
    fn cosignatures(&self, log: &str, size: u64) -> Result<Vec<String>>;
    /// The newest checkpoint of `log` a witness cosigned.
    fn latest_cosigned(&self, log: &str) -> Result<Option<CheckpointRow>>;
    /// The archived ranges of `log`, in order.
    fn archives(&self, log: &str) -> Result<Vec<ArchiveRow>>;
    /// Records an archive and, in the same transaction, removes its events
    /// from the hot log, keeping each event's hash as the tree's level-0
    /// node (so proofs of later events still work). Refused unless the
    /// range is exactly the oldest hot events and later events remain.
    fn archive(&self, row: &ArchiveRow) -> Result<()>;
}

/// Every row `q` selects, a page of `q.limit` at a time in storage order,
/// handed to `page`, which returns `false` to stop early. The one way the
/// audit log is walked by query: budget seeding, directives, samples and
/// breach analysis page through it alike.
pub fn each_audit_page<E: From<StoreError>>(
    store: &dyn AuditStore,
    mut q: AuditQuery,
    mut page: impl FnMut(&[AuditRow]) -> std::result::Result<bool, E>,
) -> std::result::Result<(), E> {
    loop {
        let rows = store.query(&q)?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        q.after = Some(last.rowid);
        let full = rows.len() >= q.limit;
        if !page(&rows)? || !full {
            return Ok(());
        }
    }
}
