//! Reading stored rows into the model, once for every backend: each backend
//! says how to read one column of its row type ([`Cols`]); the mappers here
//! say which column is which. Column orders are the `*_COLS` lists, which
//! every backend selects in the same order.

use crate::{
    AccessRequestRow, AlertRow, AlertState, ArchiveRow, Assignment, AuditRow, CheckpointRow,
    ComplianceRow, Credential, CredentialKind, Decided, DeliveryRow, DeploymentKeyRow,
    ExportApprovalRow, ExportRow, ExportStage, ExportState, FullAccessRow, GrantOrigin, HistoryRow,
    HoneyRow, KeyRow, PackageMeta, RecordRow, RequestStage, RequestState, Result, ScimKind,
    ScimRow, ShiftRow, StoreError, TenantRow, TenantStatus, Token, TrainingRow, UserRow, VendorRow,
};

/// Which history a step belongs to: one step per change in the life of an
/// access request, an export or a full-access nomination, numbered per owner.
#[derive(Clone, Copy, Debug)]
pub enum History {
    Request,
    Export,
    FullAccess,
}

impl History {
    /// (table, column naming the owner).
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            History::Request => ("access_request_history", "request"),
            History::Export => ("export_history", "export"),
            History::FullAccess => ("full_access_history", "nomination"),
        }
    }
}

/// The whole-tenant marker in `segment` columns.
pub const ALL_SEGMENTS: &str = "*";

pub const TENANT_COLS: &str =
    "id, name, schema, status, current_key_version, created_at, shredded_at, full_access_cap";
pub const KEY_COLS: &str = "tenant, version, wrapped_data, wrapped_index, created_at";
pub const RECORD_COLS: &str = "id, segment, key_version, sealed, updated_at";
pub const USER_COLS: &str =
    "login, role, department, vendor, created_at, manager, leaves_at, suspended_at, facts_rev";
pub const VENDOR_COLS: &str =
    "id, name, contract_start, contract_end, clauses, updated_by, updated_at";
pub const TRAINING_COLS: &str = "login, course, completed_at, score, expires_at, recorded_by";
pub const COMPLIANCE_COLS: &str = "login, confirmed_at, expires_at, recorded_by";
pub const REQUEST_COLS: &str = "id, tenant, requester, segment, fields, purpose, case_id, justification, key_version, record_budget, starts_at, ends_at, state, origin, created_at, decided_by, decided_at, revoked_by, revoked_at";
pub const FULL_ACCESS_COLS: &str = "id, tenant, login, state, nominated_by, nominated_at, decided_by, decided_at, revoked_by, revoked_at";
pub const HISTORY_COLS: &str = "at, actor, action, comment";
pub const EXPORT_COLS: &str = "id, tenant, requester, segment, fields, purpose, case_id, sealed, key_version, recipient_key, rows_at_request, approvals_required, state, created_at, approve_by, package_rows, package_canaries, package_bytes, package_sha256, package_at, download_until, closed_by, closed_at";
pub const APPROVAL_COLS: &str = "export, approver, role, at, comment";
pub const ALERT_COLS: &str = "id, rule, variant, severity, login, tenant, at, window_start, value, threshold, indicator, evidence_log, evidence_seq, risk, raised_at, state, assignee, note, updated_by, updated_at";
pub const DELIVERY_COLS: &str = "id, alert, channel, attempts, next_at, last_error";
pub const HONEY_COLS: &str = "tenant, record, planted_by, planted_at";
pub const SHIFT_COLS: &str = "login, day, start_min, end_min";
pub const HUNT_COLS: &str =
    "id, case_id, started_by, started_at, until, full_scan, machines, quarantine_to";
pub const SCAN_REPORT_COLS: &str = "login, scan, received_at, hunt, full_scan, verdict, files_seen, with_findings, naming_customers, uninspected";
pub const RECONCILIATION_COLS: &str = "id, period_from, period_to, run_by, run_at, report";
pub const DISCREPANCY_COLS: &str =
    "id, class, person, day, kind, count, run, outcome, disposed_by, disposed_at, note";
pub const CAMPAIGN_COLS: &str = "id, title, scope, fallback, opened_by, opened_at, deadline, \
     notice_days, on_no_answer, every_months, evidence_days, noticed_at, closed_at, closed_by, successor";
pub const REVIEW_ITEM_COLS: &str = "id, campaign, kind, login, tenant, target, reviewer, grantor, \
     evidence, shown_at, outcome, decided_by, decided_at, note, applied";
/// The first column is the backend's storage position (`rowid`, `id`).
pub const AUDIT_COLS: &str = "log, seq, ts, actor, action, tenant, decision, body, hash";
pub const CHECKPOINT_COLS: &str = "log, size, ts, note";
pub const ARCHIVE_COLS: &str = "log, start, \"end\", file, sha256, note, archived_at";

/// `index_tokens` encoding: repeated (key length u8, key bytes, 16-byte token).
pub fn encode_tokens(tokens: &[(String, Token)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tokens.len() * 28);
    for (k, t) in tokens {
        out.push(k.len() as u8);
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(t);
    }
    out
}

pub fn decode_tokens(mut b: &[u8]) -> Result<Vec<(String, Token)>> {
    let mut out = Vec::new();
    while let Some((&n, rest)) = b.split_first() {
        let n = n as usize;
        if rest.len() < n + 16 {
            return Err(StoreError::Db("corrupt index_tokens".into()));
        }
        let key = String::from_utf8(rest[..n].to_vec())
            .map_err(|_| StoreError::Db("corrupt index_tokens".into()))?;
        let mut t = [0u8; 16];
        t.copy_from_slice(&rest[n..n + 16]);
        out.push((key, t));
        b = &rest[n + 16..];
    }
    Ok(out)
}

fn corrupt(i: usize, what: &str) -> StoreError {
    StoreError::Db(format!("column {i}: not {what}"))
}

/// One column of a stored row, read as one of the few types the stores use.
pub trait Cols {
    fn int(&self, i: usize) -> Result<i64>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn blob(&self, i: usize) -> Result<Vec<u8>>;
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>>;
    fn real(&self, i: usize) -> Result<f64>;

    fn u32(&self, i: usize) -> Result<u32> {
        u32::try_from(self.int(i)?).map_err(|_| corrupt(i, "a u32"))
    }
    fn u64(&self, i: usize) -> Result<u64> {
        u64::try_from(self.int(i)?).map_err(|_| corrupt(i, "a u64"))
    }
    fn opt_u32(&self, i: usize) -> Result<Option<u32>> {
        self.opt_int(i)?
            .map(|v| u32::try_from(v).map_err(|_| corrupt(i, "a u32")))
            .transpose()
    }
    /// An opaque id of the kind the field holds (`RecordId`, `GrantId`, …).
    fn id<T: From<[u8; 16]>>(&self, i: usize) -> Result<T> {
        let b: [u8; 16] = self
            .blob(i)?
            .try_into()
            .map_err(|_| corrupt(i, "a 16-byte id"))?;
        Ok(T::from(b))
    }
    fn hash(&self, i: usize) -> Result<[u8; 32]> {
        self.blob(i)?
            .try_into()
            .map_err(|_| corrupt(i, "a 32-byte hash"))
    }
    /// A JSON list of strings.
    fn list(&self, i: usize) -> Result<Vec<String>> {
        serde_json::from_str(&self.text(i)?).map_err(|_| corrupt(i, "a JSON list"))
    }
    /// A segment column: the whole-tenant marker is None.
    fn segment(&self, i: usize) -> Result<Option<String>> {
        let s = self.text(i)?;
        Ok((s != ALL_SEGMENTS).then_some(s))
    }
}

pub fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

fn request_state(r: &impl Cols, i: usize) -> Result<RequestState> {
    RequestState::parse(&r.text(i)?).ok_or_else(|| corrupt(i, "a request state"))
}

pub fn case(r: &impl Cols) -> Result<crate::CaseRow> {
    Ok(crate::CaseRow {
        case_id: r.text(0)?,
        tokens: r.blob(1)?,
        updated_at: r.int(2)?,
    })
}

pub fn tenant(r: &impl Cols) -> Result<TenantRow> {
    Ok(TenantRow {
        id: r.text(0)?,
        name: r.text(1)?,
        schema: r.text(2)?,
        status: if r.text(3)? == "shredded" {
            TenantStatus::Shredded
        } else {
            TenantStatus::Active
        },
        current_key_version: r.u32(4)?,
        created_at: r.int(5)?,
        shredded_at: r.opt_int(6)?,
        full_access_cap: r.opt_u32(7)?,
    })
}

pub fn key(r: &impl Cols) -> Result<KeyRow> {
    Ok(KeyRow {
        tenant: r.text(0)?,
        version: r.u32(1)?,
        wrapped_data: r.blob(2)?,
        wrapped_index: r.blob(3)?,
        created_at: r.int(4)?,
    })
}

pub fn deployment_key(r: &impl Cols) -> Result<DeploymentKeyRow> {
    Ok(DeploymentKeyRow {
        name: r.text(0)?,
        wrapped: r.blob(1)?,
        created_at: r.int(2)?,
    })
}

pub fn record(r: &impl Cols) -> Result<RecordRow> {
    Ok(RecordRow {
        id: r.id(0)?,
        segment: r.text(1)?,
        key_version: r.u32(2)?,
        sealed: r.blob(3)?,
        updated_at: r.int(4)?,
    })
}

pub fn user(r: &impl Cols) -> Result<UserRow> {
    Ok(UserRow {
        login: r.text(0)?,
        role: r.text(1)?,
        department: r.opt_text(2)?,
        vendor: r.opt_text(3)?,
        created_at: r.int(4)?,
        manager: r.opt_text(5)?,
        leaves_at: r.opt_int(6)?,
        suspended_at: r.opt_int(7)?,
        facts_rev: r.u64(8)?,
    })
}

/// The columns of a SCIM resource, in `rows::scim`'s order.
pub const SCIM_COLS: &str =
    "id, kind, login, name_key, external_id, doc, version, created_at, updated_at";

pub fn scim(r: &impl Cols) -> Result<ScimRow> {
    let kind = match r.text(1)?.as_str() {
        "User" => ScimKind::User,
        "Group" => ScimKind::Group,
        _ => return Err(corrupt(1, "SCIM resource kind")),
    };
    Ok(ScimRow {
        id: r.text(0)?,
        kind,
        login: r.opt_text(2)?,
        name_key: r.text(3)?,
        external_id: r.opt_text(4)?,
        doc: r.text(5)?,
        version: r.u64(6)?,
        created_at: r.int(7)?,
        updated_at: r.int(8)?,
    })
}

/// A credential's terms: `kind, expires_at, tenants, auth` from column `at`.
pub fn credential(r: &impl Cols, at: usize) -> Result<Credential> {
    let kind = r.text(at)?;
    let tenants = r
        .opt_text(at + 2)?
        .map(|t| serde_json::from_str(&t))
        .transpose()
        .map_err(|_| StoreError::Db("corrupt credential tenants".into()))?;
    Ok(Credential {
        kind: CredentialKind::parse(&kind)
            .ok_or_else(|| StoreError::Db(format!("corrupt credential kind {kind}")))?,
        expires_at: r.opt_int(at + 1)?,
        tenants,
        auth: r.opt_text(at + 3)?,
    })
}

/// A credential's tenants as stored (JSON), or NULL.
pub fn credential_tenants(c: &Credential) -> Option<String> {
    c.tenants
        .as_ref()
        .map(|t| serde_json::Value::from(t.clone()).to_string())
}

/// `login, tenant, segment`.
pub fn assignment(r: &impl Cols) -> Result<Assignment> {
    Ok(Assignment {
        login: r.text(0)?,
        tenant: r.text(1)?,
        segment: r.segment(2)?,
    })
}

pub fn vendor(r: &impl Cols) -> Result<VendorRow> {
    Ok(VendorRow {
        id: r.text(0)?,
        name: r.text(1)?,
        contract_start: r.int(2)?,
        contract_end: r.int(3)?,
        clauses: r.list(4)?,
        updated_by: r.text(5)?,
        updated_at: r.int(6)?,
    })
}

pub fn training(r: &impl Cols) -> Result<TrainingRow> {
    Ok(TrainingRow {
        login: r.text(0)?,
        course: r.text(1)?,
        completed_at: r.int(2)?,
        score: r.u32(3)?,
        expires_at: r.int(4)?,
        recorded_by: r.text(5)?,
    })
}

pub fn compliance(r: &impl Cols) -> Result<ComplianceRow> {
    Ok(ComplianceRow {
        login: r.text(0)?,
        confirmed_at: r.int(1)?,
        expires_at: r.int(2)?,
        recorded_by: r.text(3)?,
    })
}

pub fn request(r: &impl Cols) -> Result<AccessRequestRow> {
    Ok(AccessRequestRow {
        id: r.id(0)?,
        tenant: r.text(1)?,
        requester: r.text(2)?,
        segment: r.segment(3)?,
        fields: r.list(4)?,
        purpose: r.text(5)?,
        case_id: r.text(6)?,
        justification: r.blob(7)?,
        key_version: r.u32(8)?,
        record_budget: r.u64(9)?,
        starts_at: r.int(10)?,
        ends_at: r.int(11)?,
        stage: request_stage(r)?,
        origin: match r.text(13)?.as_str() {
            "requested" => GrantOrigin::Requested,
            "issued" => GrantOrigin::Issued,
            _ => return Err(corrupt(13, "a grant origin")),
        },
        created_at: r.int(14)?,
    })
}

/// A request's stage from its state (column 12) and its decided (15, 16)
/// and revoked (17, 18) columns.
fn request_stage(r: &impl Cols) -> Result<RequestStage> {
    let who = |by: usize, at: usize| -> Result<Option<Decided>> {
        Ok(match (r.opt_text(by)?, r.opt_int(at)?) {
            (Some(by), Some(at)) => Some(Decided { by, at }),
            (None, None) => None,
            _ => return Err(corrupt(by, "a decider with a time")),
        })
    };
    RequestStage::of(request_state(r, 12)?, who(15, 16)?, who(17, 18)?)
        .ok_or_else(|| corrupt(12, "a request state that goes with its decisions"))
}

pub fn full_access(r: &impl Cols) -> Result<FullAccessRow> {
    Ok(FullAccessRow {
        id: r.id(0)?,
        tenant: r.text(1)?,
        login: r.text(2)?,
        state: request_state(r, 3)?,
        nominated_by: r.text(4)?,
        nominated_at: r.int(5)?,
        decided_by: r.opt_text(6)?,
        decided_at: r.opt_int(7)?,
        revoked_by: r.opt_text(8)?,
        revoked_at: r.opt_int(9)?,
    })
}

pub fn history(r: &impl Cols) -> Result<HistoryRow> {
    Ok(HistoryRow {
        at: r.int(0)?,
        actor: r.text(1)?,
        action: r.text(2)?,
        comment: r.opt_blob(3)?,
    })
}

pub fn export(r: &impl Cols) -> Result<ExportRow> {
    let state = ExportState::parse(&r.text(12)?).ok_or_else(|| corrupt(12, "an export state"))?;
    let package = match (r.opt_int(15)?, r.opt_blob(18)?) {
        (Some(rows), Some(sha)) => Some(PackageMeta {
            rows: u64::try_from(rows).map_err(|_| corrupt(15, "a u64"))?,
            canaries: r.u32(16)?,
            bytes: r.u64(17)?,
            sha256: sha.try_into().map_err(|_| corrupt(18, "a 32-byte hash"))?,
            created_at: r.int(19)?,
            download_until: r.int(20)?,
        }),
        _ => None,
    };
    Ok(ExportRow {
        id: r.id(0)?,
        tenant: r.text(1)?,
        requester: r.text(2)?,
        segment: r.segment(3)?,
        fields: r.list(4)?,
        purpose: r.text(5)?,
        case_id: r.text(6)?,
        sealed: r.blob(7)?,
        key_version: r.u32(8)?,
        recipient_key: r.text(9)?,
        rows_at_request: r.u64(10)?,
        approvals_required: r.u32(11)?,
        stage: ExportStage::of(state, package)
            .ok_or_else(|| corrupt(12, "an export state that goes with its package"))?,
        created_at: r.int(13)?,
        approve_by: r.int(14)?,
        closed_by: r.opt_text(21)?,
        closed_at: r.opt_int(22)?,
    })
}

pub fn approval(r: &impl Cols) -> Result<ExportApprovalRow> {
    Ok(ExportApprovalRow {
        export: r.id(0)?,
        approver: r.text(1)?,
        role: r.text(2)?,
        at: r.int(3)?,
        comment: r.opt_blob(4)?,
    })
}

pub fn alert(r: &impl Cols) -> Result<AlertRow> {
    Ok(AlertRow {
        id: r.text(0)?,
        rule: r.text(1)?,
        variant: r.text(2)?,
        severity: r.text(3)?,
        login: r.text(4)?,
        tenant: r.opt_text(5)?,
        at: r.int(6)?,
        window: r.int(7)?,
        value: r.real(8)?,
        threshold: r.real(9)?,
        indicator: r.opt_text(10)?,
        evidence_log: r.text(11)?,
        evidence_seq: r.u64(12)?,
        risk: r.real(13)?,
        raised_at: r.int(14)?,
        state: AlertState::parse(&r.text(15)?).ok_or_else(|| corrupt(15, "an alert state"))?,
        assignee: r.opt_text(16)?,
        note: r.opt_blob(17)?,
        updated_by: r.opt_text(18)?,
        updated_at: r.int(19)?,
    })
}

pub fn delivery(r: &impl Cols) -> Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: r.int(0)?,
        alert: r.text(1)?,
        channel: r.text(2)?,
        attempts: r.u32(3)?,
        next_at: r.int(4)?,
        last_error: r.opt_text(5)?,
    })
}

pub fn honey(r: &impl Cols) -> Result<HoneyRow> {
    Ok(HoneyRow {
        tenant: r.text(0)?,
        record: r.id(1)?,
        planted_by: r.text(2)?,
        planted_at: r.int(3)?,
    })
}

pub fn hunt(r: &impl Cols) -> Result<crate::HuntRow> {
    Ok(crate::HuntRow {
        id: r.id(0)?,
        case_id: r.text(1)?,
        started_by: r.text(2)?,
        started_at: r.int(3)?,
        until: r.int(4)?,
        full: r.int(5)? != 0,
        machines: r.list(6)?,
        quarantine_to: r.opt_text(7)?,
    })
}

/// A scan report from `SCAN_REPORT_COLS` at column `at` on.
pub fn scan_report(r: &impl Cols, at: usize) -> Result<crate::ScanReportRow> {
    Ok(crate::ScanReportRow {
        login: r.text(at)?,
        scan: r.id(at + 1)?,
        received_at: r.int(at + 2)?,
        hunt: r
            .opt_blob(at + 3)?
            .map(|b| hunt_id(&b, at + 3))
            .transpose()?,
        full: r.int(at + 4)? != 0,
        verdict: crate::ScanVerdict::parse(&r.text(at + 5)?)
            .ok_or_else(|| corrupt(at + 5, "a scan verdict"))?,
        files_seen: r.u64(at + 6)?,
        with_findings: r.u64(at + 7)?,
        naming_customers: r.u64(at + 8)?,
        uninspected: r.u64(at + 9)?,
    })
}

fn hunt_id(b: &[u8], i: usize) -> Result<crate::HuntId> {
    let b: [u8; 16] = b.try_into().map_err(|_| corrupt(i, "a 16-byte id"))?;
    Ok(crate::HuntId::from(b))
}

pub fn shift(r: &impl Cols) -> Result<ShiftRow> {
    Ok(ShiftRow {
        login: r.text(0)?,
        day: r.text(1)?,
        start_min: r.u32(2)?,
        end_min: r.u32(3)?,
    })
}

/// The storage position, then [`AUDIT_COLS`].
pub fn audit(r: &impl Cols) -> Result<AuditRow> {
    Ok(AuditRow {
        rowid: r.int(0)?,
        log: r.text(1)?,
        seq: r.u64(2)?,
        ts: r.int(3)?,
        actor: r.text(4)?,
        action: r.text(5)?,
        tenant: r.opt_text(6)?,
        decision: r.text(7)?,
        body: r.blob(8)?,
        hash: r.hash(9)?,
    })
}

pub fn checkpoint(r: &impl Cols) -> Result<CheckpointRow> {
    Ok(CheckpointRow {
        log: r.text(0)?,
        size: r.u64(1)?,
        ts: r.int(2)?,
        note: r.text(3)?,
    })
}

pub fn archive(r: &impl Cols) -> Result<ArchiveRow> {
    Ok(ArchiveRow {
        log: r.text(0)?,
        start: r.u64(1)?,
        end: r.u64(2)?,
        file: r.text(3)?,
        sha256: r.hash(4)?,
        note: r.text(5)?,
        archived_at: r.int(6)?,
    })
}

/// A bound value of a query built from a filter.
pub enum Arg {
    Text(String),
    Int(i64),
}

/// How a backend writes what differs between SQL dialects.
pub struct Dialect {
    /// The storage-position column (`rowid`, `pos`).
    pub pos: &'static str,
    /// The n-th placeholder (1-based).
    pub ph: fn(usize) -> String,
    /// The event's `records` list holds the placeholder's value.
    pub has_record: fn(&str) -> String,
    /// The event's top-level JSON field (first) equals the placeholder (second).
    pub field_is: fn(&str, &str) -> String,
    /// How a time bound names the time column when no actor or log narrows
    /// the query: SQLite's planner would otherwise take the time index and
    /// sort the rest of the range by position for every page (`+ts` keeps
    /// it walking positions from the cursor).
    pub ts_walk: &'static str,
}

/// Events from a time on, a person's or anyone's: the first page is found
/// through the time — the first such event's storage position, exactly,
/// whatever the order of times in storage — instead of walking history in
/// storage order to the first event at or after the time (which made every
/// grant's budget seeding, at each approval, grow with the requester's
/// history, and paging a month of the whole log re-sort the month for every
/// page). Later pages seek by their cursor. `first` answers the smallest
/// position of the events at or after `ts` (of `actor`, when given), if any;
/// `None` means the query has no answer. A query by log is left as it is:
/// the log's index already walks it in position order.
pub fn audit_start(
    q: &crate::AuditQuery,
    first: impl FnOnce(Option<&str>, i64) -> crate::Result<Option<i64>>,
) -> crate::Result<Option<crate::AuditQuery>> {
    let (Some(ts), None) = (q.from_ts, q.after) else {
        return Ok(Some(q.clone()));
    };
    if q.actor.is_none() && q.tenant.is_some() {
        return Ok(Some(q.clone()));
    }
    Ok(first(q.actor.as_deref(), ts)?.map(|pos| crate::AuditQuery {
        after: Some(pos - 1),
        ..q.clone()
    }))
}

/// The audit query for `q` with only the conditions it sets, so that each
/// shape of filter gets a plan using the indexes it can (a condition written
/// `(? IS NULL OR col = ?)` can use none, and paging through a busy person's
/// events then rescans the log for every page).
pub fn audit_query(q: &crate::AuditQuery, d: &Dialect) -> (String, Vec<Arg>) {
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    let next = |arg: Arg, args: &mut Vec<Arg>| {
        args.push(arg);
        (d.ph)(args.len())
    };
    // A tenant is searched as its log (see `tenant_log`).
    for (col, v) in [
        ("actor", q.actor.clone()),
        ("log", q.tenant.as_deref().map(crate::tenant_log)),
        ("action", q.action.clone()),
    ] {
        if let Some(v) = v {
            let p = next(Arg::Text(v), &mut args);
            conds.push(format!("{col} = {p}"));
        }
    }
    let ts = if q.actor.is_none() && q.tenant.is_none() {
        d.ts_walk
    } else {
        "ts"
    };
    if let Some(t) = q.from_ts {
        let p = next(Arg::Int(t), &mut args);
        conds.push(format!("{ts} >= {p}"));
    }
    if let Some(t) = q.to_ts {
        let p = next(Arg::Int(t), &mut args);
        conds.push(format!("{ts} < {p}"));
    }
    if let Some(a) = q.after {
        let p = next(Arg::Int(a), &mut args);
        conds.push(format!("{} > {p}", d.pos));
    }
    if let Some(r) = &q.record {
        let p = next(Arg::Text(r.clone()), &mut args);
        conds.push((d.has_record)(&p));
    }
    for (field, v) in [("purpose", &q.purpose), ("case_id", &q.case_id)] {
        if let Some(v) = v {
            let p = next(Arg::Text(v.clone()), &mut args);
            conds.push((d.field_is)(field, &p));
        }
    }
    let limit = next(Arg::Int(q.limit as i64), &mut args);
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    (
        format!(
            "SELECT {pos}, {AUDIT_COLS} FROM audit_events {filter} ORDER BY {pos} LIMIT {limit}",
            pos = d.pos
        ),
        args,
    )
}

pub fn reconciliation(r: &impl Cols) -> Result<crate::ReconciliationRow> {
    Ok(crate::ReconciliationRow {
        id: r.text(0)?,
        period_from: r.int(1)?,
        period_to: r.int(2)?,
        run_by: r.text(3)?,
        run_at: r.int(4)?,
        report: r.blob(5)?,
    })
}

/// A discrepancy; a disposition only where all its columns are set (a row
/// with some of them is refused as corrupt).
pub fn discrepancy(r: &impl Cols) -> Result<crate::DiscrepancyRow> {
    let disposition = match (
        r.opt_text(7)?,
        r.opt_text(8)?,
        r.opt_int(9)?,
        r.opt_blob(10)?,
    ) {
        (Some(outcome), Some(by), Some(at), Some(note)) => Some(crate::Disposition {
            outcome,
            by,
            at,
            note,
        }),
        (None, None, None, None) => None,
        _ => return Err(corrupt(7, "a complete disposition")),
    };
    Ok(crate::DiscrepancyRow {
        id: r.text(0)?,
        class: r.text(1)?,
        person: r.text(2)?,
        day: r.text(3)?,
        kind: r.opt_text(4)?,
        count: u64::try_from(r.int(5)?).map_err(|_| corrupt(5, "a count"))?,
        run: r.text(6)?,
        disposition,
    })
}

fn small(r: &impl Cols, i: usize) -> Result<u32> {
    u32::try_from(r.int(i)?).map_err(|_| corrupt(i, "a small count"))
}

pub fn campaign(r: &impl Cols) -> Result<crate::CampaignRow> {
    Ok(crate::CampaignRow {
        id: r.text(0)?,
        title: r.text(1)?,
        scope: r.text(2)?,
        fallback: r.opt_text(3)?,
        opened_by: r.text(4)?,
        opened_at: r.int(5)?,
        deadline: r.int(6)?,
        notice_days: small(r, 7)?,
        on_no_answer: r.text(8)?,
        every_months: small(r, 9)?,
        evidence_days: small(r, 10)?,
        noticed_at: r.opt_int(11)?,
        closed_at: r.opt_int(12)?,
        closed_by: r.opt_text(13)?,
        successor: r.opt_text(14)?,
    })
}

/// A review item; a decision only where all its columns are set.
pub fn review_item(r: &impl Cols) -> Result<crate::ReviewItemRow> {
    let decision = match (
        r.opt_text(10)?,
        r.opt_text(11)?,
        r.opt_int(12)?,
        r.opt_blob(13)?,
    ) {
        (Some(outcome), Some(by), Some(at), Some(note)) => Some(crate::ReviewDecision {
            outcome,
            by,
            at,
            note,
        }),
        (None, None, None, None) => None,
        _ => return Err(corrupt(10, "a complete decision")),
    };
    Ok(crate::ReviewItemRow {
        id: r.text(0)?,
        campaign: r.text(1)?,
        kind: r.text(2)?,
        login: r.text(3)?,
        tenant: r.opt_text(4)?,
        target: r.text(5)?,
        reviewer: r.text(6)?,
        grantor: r.opt_text(7)?,
        evidence: r.text(8)?,
        shown_at: r.opt_int(9)?,
        decision,
        applied: r.opt_text(14)?,
    })
}
