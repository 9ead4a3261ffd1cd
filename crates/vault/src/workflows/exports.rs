//! Bulk exports (A6): the one way customer data leaves in bulk, and only
//! after several people agreed.
//!
//! ```text
//! request ─► k approvals from distinct people (never the requester or their
//!            report; which groups must be among them is policy)
//!         ─► on the k-th: the package is built — the query's records,
//!            decrypted in memory, masked for the requester's role, watermarked,
//!            written as CSV straight into an age encryptor for the recipient's
//!            public key — and stored as ciphertext only
//!         ─► one download within the window, then the bytes are deleted
//! ```
//!
//! Every step is decided by the gate, recorded in the audit log (the package
//! event lists every exported record id, for impact analysis) and kept in the
//! export's history. Plaintext never touches a file: not in the data
//! directory, not in a temp directory.

use crate::ErrorCode;
use mamori_core::ExportId;
use mamori_core::jst;
use std::{
    collections::{BTreeMap, HashMap},
    io::Write,
};

use mamori_audit::Event;
use mamori_core::{FieldType, MaskKind, RecordId};
use mamori_crypto::PackageRecipient;
use mamori_policy::{Action, Decision, ExportCheck, Principal, mask};
use mamori_store::{
    ApprovalOutcome, ExportApprovalRow, ExportFilter, ExportRow, ExportStage, ExportState,
    HistoryRow, PackageMeta, RecordScan,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    Caller, Released, Vault,
    error::{Result, VaultError},
    grants::Scope,
    kernel::history::HistoryStep,
    kernel::ids::parse_id,
    sealed,
    tenants::{TenantMemo, TenantState},
    watermark::{Evidence, Marker, chance_by_accident},
};

/// Field names under which an export's free text is sealed (AAD binds them).
const REASON: &str = "export.reason";
const RECIPIENT: &str = "export.recipient";
/// Records read from the store per batch while building a package.
const SCAN_BATCH: usize = 1000;
/// Longest recipient name (it is shown to approvers and in the history).
const MAX_RECIPIENT_CHARS: usize = 200;

/// What someone asks to export.
#[derive(Clone, Debug, Deserialize)]
pub struct NewExport {
    pub tenant: String,
    /// None: every segment of the tenant (needs a whole-tenant assignment).
    pub segment: Option<String>,
    pub fields: Vec<String>,
    pub purpose: String,
    pub case_id: String,
    /// Why the data must leave; at least `governance.min_justification_chars`.
    pub reason: String,
    /// Who receives it (a company or department), shown to approvers.
    pub recipient_name: String,
    /// The recipient's age public key (`age1…`); only they can open the package.
    pub recipient_key: String,
}

/// Where an export stands now, derived from its state and the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    /// Collecting approvals.
    Pending,
    /// Not approved in time.
    Lapsed,
    Denied,
    Revoked,
    /// Approved; the package waits for its one download.
    Ready,
    /// Approved but not downloaded in time; the package is gone.
    Expired,
    Downloaded,
}

fn status(row: &ExportRow, now: i64) -> ExportStatus {
    match &row.stage {
        ExportStage::Pending if now >= row.approve_by => ExportStatus::Lapsed,
        ExportStage::Pending => ExportStatus::Pending,
        ExportStage::Denied => ExportStatus::Denied,
        ExportStage::Revoked(_) => ExportStatus::Revoked,
        ExportStage::Downloaded(_) => ExportStatus::Downloaded,
        ExportStage::Approved(p) if now < p.download_until => ExportStatus::Ready,
        ExportStage::Approved(_) => ExportStatus::Expired,
    }
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalView {
    pub approver: String,
    pub role: String,
    pub at: String,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackageView {
    pub rows: u64,
    pub canaries: u32,
    pub bytes: u64,
    /// SHA-256 of the encrypted file, for the recipient to check.
    pub sha256: String,
    pub created_at: String,
    pub download_until: String,
}

/// An export as shown to those who may see it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportView {
    pub id: String,
    pub tenant: String,
    pub requester: String,
    pub segment: Option<String>,
    pub fields: Vec<String>,
    pub purpose: String,
    pub case_id: String,
    pub reason: String,
    pub recipient_name: String,
    pub recipient_key: String,
    /// Short fingerprint of the recipient key, to confirm with the recipient.
    pub recipient_fingerprint: String,
    pub rows_at_request: u64,
    pub approvals_required: u32,
    pub approvals: Vec<ApprovalView>,
    pub status: ExportStatus,
    pub created_at: String,
    pub approve_by: String,
    pub package: Option<PackageView>,
    pub history: Vec<HistoryStep>,
}

/// Which exports to list.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ExportListFilter {
    pub tenant: Option<String>,
    /// Only exports waiting for approvals.
    #[serde(default)]
    pub pending: bool,
    /// Only the caller's own exports.
    #[serde(default)]
    pub mine: bool,
    pub limit: Option<usize>,
}

/// The package, taken once.
pub struct Download {
    pub file_name: String,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("file_name", &self.file_name)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// How well a leaked file matches one export.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceMatch {
    pub export: String,
    pub tenant: String,
    pub requester: String,
    pub recipient_name: String,
    pub recipient_fingerprint: String,
    pub created_at: String,
    /// Canary customers of this export found in the file.
    pub canary_hits: usize,
    /// Phone numbers, postal codes and dates seen, and how many are in this export's form.
    pub marks_seen: usize,
    pub marks_matching: usize,
    /// How likely an unrelated export agrees this well by accident.
    pub chance_by_accident: f64,
    /// `match` (canaries found, or formatting beyond chance), `possible`, or `no_match`.
    pub verdict: &'static str,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceReport {
    pub cells: usize,
    pub exports_checked: usize,
    /// Best match first.
    pub matches: Vec<TraceMatch>,
}

fn fingerprint(row: &ExportRow) -> String {
    PackageRecipient::parse(&row.recipient_key)
        .map(|r| r.fingerprint())
        .unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Vault {
    /// Asks the gate about `action` on `row` by `who`, refused outright when
    /// the credential's tenant scope leaves the export's tenant out.
    #[allow(clippy::too_many_arguments)]
    fn decide_export(
        &self,
        who: &Principal,
        in_scope: bool,
        action: Action,
        state: &TenantState,
        row: &ExportRow,
        approving: bool,
        approvals: &[ExportApprovalRow],
    ) -> Result<Decision> {
        if !in_scope {
            return Ok(Decision::refused());
        }
        let roles: Vec<&str> = state
            .schema
            .purpose(&row.purpose)
            .map(|p| p.roles.iter().map(|r| r.as_str()).collect())
            .unwrap_or_default();
        let me = who.login.as_str();
        let (manages, managed_by) = self.relation(me, &row.requester)?;
        let approver_roles: Vec<String> = approvals.iter().map(|a| a.role.clone()).collect();
        Ok(self.gate.decide_export(
            who,
            &ExportCheck {
                action,
                tenant: &row.tenant,
                segment: row.segment.as_deref(),
                requester: &row.requester,
                is_requester: me == row.requester,
                manages_requester: manages,
                managed_by_requester: managed_by,
                purpose_roles: &roles,
                approving,
                approvals_so_far: approvals.len() as u32,
                approvals_required: row.approvals_required,
                approver_roles: &approver_roles,
            },
        ))
    }

    fn export_event(&self, caller: &Caller, action: Action, row: &ExportRow) -> Event {
        let mut e = self
            .caller_event(caller, action.as_str(), "ok")
            .tenant(row.tenant.as_str())
            .detail("export", row.id.to_string())
            .detail("requester", row.requester.as_str());
        e.purpose = Some(row.purpose.clone());
        e.case_id = Some(row.case_id.clone());
        e
    }

    fn load_export(&self, id: &str) -> Result<ExportRow> {
        let rid: ExportId = parse_id(id, "export")?;
        self.store
            .export(&rid)?
            .ok_or(VaultError::NotFound { what: "export" })
    }

    /// Files a bulk export. It leaves nothing yet: approvals come first.
    pub fn request_export(&self, caller: &Caller, req: &NewExport) -> Result<ExportView> {
        let asked = || {
            self.caller_event(caller, Action::ExportRequest.as_str(), "allowed")
                .tenant(&req.tenant)
        };
        self.door(caller, asked, &req.tenant)?;
        let state = self.tenant(&req.tenant)?;
        if !state.active() {
            return Err(VaultError::Shredded(req.tenant.clone()));
        }
        let rules = &self.rules.exports;
        let now = self.now();
        let id = ExportId::random();
        let mut fields: Vec<String> = Vec::new();
        for f in &req.fields {
            if !fields.contains(f) {
                fields.push(f.clone());
            }
        }
        // The gate first, on what is asked for; then the details.
        let mut row = ExportRow {
            id,
            tenant: state.row.id.clone(),
            requester: caller.principal.login.clone(),
            segment: req.segment.clone(),
            fields,
            purpose: req.purpose.clone(),
            case_id: req.case_id.clone(),
            sealed: Vec::new(),
            key_version: 0,
            recipient_key: String::new(),
            rows_at_request: 0,
            approvals_required: rules.approvals_required.max(1),
            stage: ExportStage::Pending,
            created_at: now,
            approve_by: now + i64::from(rules.approval_hours.max(1)) * 3600,
            closed_by: None,
            closed_at: None,
        };
        let d = self.decide_export(
            &caller.principal,
            caller.in_scope(&row.tenant),
            Action::ExportRequest,
            &state,
            &row,
            true,
            &[],
        )?;
        let e = self.gated(
            self.export_event(caller, Action::ExportRequest, &row),
            &d,
            "only back-office staff assigned to this tenant (or segment) request exports of it",
        )?;
        self.check_scope(
            &state,
            caller.role,
            &Scope {
                purpose: &req.purpose,
                segment: req.segment.as_deref(),
                fields: &row.fields,
                case_id: &req.case_id,
                justification: &req.reason,
            },
        )?;
        let recipient = PackageRecipient::parse(&req.recipient_key).map_err(|_| {
            VaultError::bad(
                ErrorCode::RecipientKeyInvalid,
                "recipient_key must be the recipient's age public key (age1…); they create it with `age-keygen` or `mamori export keygen`",
            )
        })?;
        let name = req.recipient_name.trim();
        if name.is_empty() || name.chars().count() > MAX_RECIPIENT_CHARS {
            return Err(VaultError::bad(
                ErrorCode::RecipientNameInvalid,
                format!("name the recipient (1-{MAX_RECIPIENT_CHARS} characters)"),
            ));
        }
        let rows = self
            .store
            .count_records(&row.tenant, row.segment.as_deref())?;
        if rows > rules.max_rows {
            return Err(VaultError::bad(
                ErrorCode::ExportTooLarge,
                format!(
                    "the query matches {rows} customers; one export may hold at most {} (exports.max_rows). Narrow it to a segment",
                    rules.max_rows
                ),
            ));
        }
        let keys = state.current()?;
        row.key_version = keys.version;
        row.sealed = sealed::seal(
            &keys.data,
            id.as_bytes(),
            &BTreeMap::from([
                (REASON.to_owned(), req.reason.trim().to_owned()),
                (RECIPIENT.to_owned(), name.to_owned()),
            ]),
        );
        row.recipient_key = recipient.encoded();
        row.rows_at_request = rows;
        let mut e = e
            .detail("rows", rows)
            .detail("recipient_fingerprint", recipient.fingerprint())
            .detail("approvals_required", row.approvals_required);
        e.fields = row.fields.clone();
        e.detail
            .insert("segment".into(), row.segment.clone().into());
        self.audit.append(e)?;
        self.store.insert_export(
            &row,
            &HistoryRow {
                at: now,
                actor: row.requester.clone(),
                action: "requested".into(),
                comment: None,
            },
        )?;
        self.export_view_of(&state, &row)
    }

    /// Adds the caller's approval; the k-th approval builds the package.
    pub fn approve_export(
        &self,
        caller: &Caller,
        id: &str,
        comment: Option<&str>,
    ) -> Result<ExportView> {
        let row = self.load_export(id)?;
        let state = self.tenant(&row.tenant)?;
        let approvals = self.store.export_approvals(&row.id)?;
        let e = self
            .export_event(caller, Action::ExportApprove, &row)
            .detail("outcome", "approved");
        // A second approval by the same person is a mistake to name, not a
        // policy question (the store refuses it too).
        if approvals
            .iter()
            .any(|a| a.approver == caller.principal.login)
        {
            return Err(self.refuse_state(
                e,
                ErrorCode::ExportAlreadyApproved,
                "you have already approved this export; another person must approve it".into(),
            ));
        }
        let d = self.decide_export(
            &caller.principal,
            caller.in_scope(&row.tenant),
            Action::ExportApprove,
            &state,
            &row,
            true,
            &approvals,
        )?;
        let e = self.gated(
            e,
            &d,
            "only the requester's supervisors and the security office approve exports",
        )?;
        let e = self.stepped_up(caller, &state, e)?;
        self.check_pending(&row, e.clone())?;
        let comment = self.checked_comment(comment, false)?;
        let count = approvals.len() as u32 + 1;
        let e = e
            .detail("approvals", count)
            .detail("approvals_required", row.approvals_required);
        self.audit.append(e.clone())?;
        let now = self.now();
        let approval = ExportApprovalRow {
            export: row.id,
            approver: caller.principal.login.clone(),
            role: caller.principal.role.clone(),
            at: now,
            comment: comment
                .map(|c| self.seal_comment(&state, row.id.as_bytes(), c))
                .transpose()?,
        };
        let step = HistoryRow {
            at: now,
            actor: approval.approver.clone(),
            action: "approved".into(),
            comment: approval.comment.clone(),
        };
        match self
            .store
            .add_export_approval(&approval, &step, approvals.len())?
        {
            ApprovalOutcome::Added => {}
            ApprovalOutcome::Changed => {
                return Err(self.refuse_state(
                    e,
                    ErrorCode::ExportApprovalsChanged,
                    "another approval of this export arrived at the same moment; \
                     look at it again and approve if it still needs you"
                        .into(),
                ));
            }
            ApprovalOutcome::Duplicate => {
                return Err(self.refuse_state(
                    e,
                    ErrorCode::ExportAlreadyApproved,
                    "you have already approved this export".into(),
                ));
            }
            ApprovalOutcome::NotPending => {
                return Err(self.refuse_state(
                    e,
                    ErrorCode::ExportNotPending,
                    "the export was decided or revoked a moment ago".into(),
                ));
            }
        }
        if count >= row.approvals_required {
            self.package(caller, &state, &row)?;
        }
        self.export_view_of(&state, &self.load_export(id)?)
    }

    /// Denies a pending export; one denial ends it. A comment saying why is required.
    pub fn deny_export(&self, caller: &Caller, id: &str, comment: &str) -> Result<ExportView> {
        let row = self.load_export(id)?;
        let state = self.tenant(&row.tenant)?;
        let approvals = self.store.export_approvals(&row.id)?;
        let d = self.decide_export(
            &caller.principal,
            caller.in_scope(&row.tenant),
            Action::ExportApprove,
            &state,
            &row,
            false,
            &approvals,
        )?;
        let e = self.gated(
            self.export_event(caller, Action::ExportApprove, &row)
                .detail("outcome", "denied"),
            &d,
            "only the requester's supervisors and the security office decide exports",
        )?;
        self.check_pending(&row, e.clone())?;
        self.close(caller, &state, &row, e, comment, ExportState::Denied)
    }

    /// Stops a pending export, or deletes a package not yet downloaded.
    pub fn revoke_export(&self, caller: &Caller, id: &str, reason: &str) -> Result<ExportView> {
        let row = self.load_export(id)?;
        let state = self.tenant(&row.tenant)?;
        let d = self.decide_export(
            &caller.principal,
            caller.in_scope(&row.tenant),
            Action::ExportRevoke,
            &state,
            &row,
            false,
            &[],
        )?;
        let e = self.gated(
            self.export_event(caller, Action::ExportRevoke, &row),
            &d,
            "only the requester or the security office revokes an export",
        )?;
        let current = status(&row, self.now());
        if !matches!(current, ExportStatus::Pending | ExportStatus::Ready) {
            return Err(self.refuse_state(
                e,
                ErrorCode::ExportNotRevocable,
                format!("the export is {current:?}; only pending or ready exports can be revoked")
                    .to_lowercase(),
            ));
        }
        self.close(caller, &state, &row, e, reason, ExportState::Revoked)
    }

    fn check_pending(&self, row: &ExportRow, e: Event) -> Result<()> {
        match status(row, self.now()) {
            ExportStatus::Pending => Ok(()),
            ExportStatus::Lapsed => Err(self.refuse_state(
                e,
                ErrorCode::ExportLapsed,
                "the export was not approved in time; the requester must file it again".into(),
            )),
            other => Err(self.refuse_state(
                e,
                ErrorCode::ExportNotPending,
                format!("the export is already {other:?}").to_lowercase(),
            )),
        }
    }

    fn close(
        &self,
        caller: &Caller,
        state: &TenantState,
        row: &ExportRow,
        e: Event,
        comment: &str,
        to: ExportState,
    ) -> Result<ExportView> {
        let comment = self.checked_comment(Some(comment), true)?;
        self.audit.append(e.clone())?;
        let step = self.history_step(
            &caller.principal.login,
            state,
            row.id.as_bytes(),
            self.now(),
            to.as_str(),
            comment,
        )?;
        if !self
            .store
            .close_export(&row.id, row.stage.state(), to, &step)?
        {
            return Err(self.refuse_state(
                e,
                ErrorCode::ExportNotPending,
                "the export changed a moment ago; look at it again".into(),
            ));
        }
        self.export_view_of(state, &self.load_export(&row.id.to_string())?)
    }

    /// Builds and stores the package of a fully approved export.
    fn package(&self, caller: &Caller, state: &TenantState, row: &ExportRow) -> Result<()> {
        let mut e = self
            .export_event(caller, Action::ExportApprove, row)
            .detail("outcome", "packaged");
        e.action = "export.package".into();
        // The requester must still be entitled at this second (assignments,
        // training, compliance, vendor): the export is their access.
        let requester = self.principal_of(&row.requester)?;
        let d = self.decide_export(
            &requester,
            true,
            Action::ExportRequest,
            state,
            row,
            true,
            &[],
        )?;
        if !d.allowed() {
            e.policies = d.policies().to_vec();
            let why = if d.hints().is_empty() {
                "the requester is no longer entitled to export this".to_owned()
            } else {
                format!(
                    "the requester is no longer entitled: {}",
                    d.hints().join("; ")
                )
            };
            return Err(self.refuse_state(e, ErrorCode::ExportRequesterNotEntitled, why));
        }
        let records = self.export_records(row)?;
        if records.len() as u64 > self.rules.exports.max_rows {
            return Err(self.refuse_state(
                e,
                ErrorCode::ExportGrewTooLarge,
                format!(
                    "the query now matches {} customers, more than exports.max_rows ({}); revoke this export and file a narrower one",
                    records.len(),
                    self.rules.exports.max_rows
                ),
            ));
        }
        let (bytes, canaries) = self.write_package(state, row, &records)?;
        let now = self.now();
        let meta = PackageMeta {
            rows: records.len() as u64,
            canaries,
            bytes: bytes.len() as u64,
            sha256: Sha256::digest(&bytes).into(),
            created_at: now,
            download_until: now + i64::from(self.rules.exports.download_hours.max(1)) * 3600,
        };
        // What leaves is recorded before it can leave (invariant 3).
        e.records = records.iter().map(|r| r.id.to_string()).collect();
        e.fields = row.fields.clone();
        let e = e
            .detail("rows", meta.rows)
            .detail("canaries", canaries)
            .detail("sha256", hex(&meta.sha256))
            .detail("download_until", meta.download_until);
        self.audit.append(e.clone())?;
        let step = HistoryRow {
            at: now,
            actor: caller.principal.login.clone(),
            action: "packaged".into(),
            comment: None,
        };
        self.purge_expired_packages()?;
        if !self.store.store_package(&row.id, &meta, &bytes, &step)? {
            // Another approver's package won the race; this one is discarded.
            let mut discard = e;
            discard.records.clear();
            return Err(self.refuse_state(
                discard,
                ErrorCode::ExportNotPending,
                "the export was packaged or revoked a moment ago".into(),
            ));
        }
        Ok(())
    }

    /// The stored records the export covers, in id order.
    fn export_records(&self, row: &ExportRow) -> Result<Vec<mamori_store::RecordRow>> {
        let mut out = Vec::new();
        let mut after = RecordId::from_bytes([0; 16]);
        loop {
            let batch = self.store.scan_records(
                &row.tenant,
                &RecordScan {
                    segment: row.segment.clone(),
                    older_than_version: None,
                    after,
                    limit: SCAN_BATCH,
                },
            )?;
            let Some(last) = batch.last() else { break };
            after = last.id;
            out.extend(batch);
            if out.len() as u64 > self.rules.exports.max_rows {
                break;
            }
        }
        Ok(out)
    }

    /// Writes the CSV into an age encryptor; returns the ciphertext and the
    /// number of canary rows mixed in.
    fn write_package(
        &self,
        state: &TenantState,
        row: &ExportRow,
        records: &[mamori_store::RecordRow],
    ) -> Result<(Vec<u8>, u32)> {
        let internal = |e: &dyn std::fmt::Display| VaultError::Internal(format!("package: {e}"));
        let role: mamori_core::Role = self
            .store
            .user(&row.requester)?
            .ok_or(VaultError::NotFound { what: "user" })?
            .role
            .parse()
            .map_err(|e| internal(&e))?;
        let purpose = state
            .schema
            .purpose(&row.purpose)
            .ok_or_else(|| VaultError::Internal("export purpose vanished".into()))?;
        let view = purpose.view_for(role);
        let fields: Vec<(String, MaskKind, FieldType)> = row
            .fields
            .iter()
            .filter_map(|f| {
                let mask = *view.get(f)?;
                let ty = state.schema.field(f).map_or(FieldType::Text, |d| d.ty);
                Some((f.clone(), mask, ty))
            })
            .collect();
        // The watermark key is the one tracing will use: the export's key version.
        let keys = state.keys_for(row.key_version)?;
        let id = row.id.to_string();
        let marker = Marker::new(&keys.index, &id);
        let canaries = self.canaries(state, &marker)?;
        let positions: Vec<usize> = (0..canaries.len())
            .map(|i| marker.canary_position(i, records.len()))
            .collect();
        let recipient = PackageRecipient::parse(&row.recipient_key).map_err(|e| internal(&e))?;
        let mut writer = recipient.writer(Vec::new()).map_err(|e| internal(&e))?;
        // A BOM so that Excel opens the UTF-8 file as UTF-8.
        writer
            .write_all("\u{feff}".as_bytes())
            .map_err(|e| internal(&e))?;
        let mut csv = csv::WriterBuilder::new().from_writer(writer);
        csv.write_record(fields.iter().map(|(f, ..)| f.as_str()))
            .map_err(|e| internal(&e))?;
        let render = |plain: &BTreeMap<String, String>| -> Vec<String> {
            fields
                .iter()
                .map(|(f, mask, ty)| match plain.get(f) {
                    Some(v) if *mask == MaskKind::Full => marker.render(*ty, v),
                    Some(v) => mask::apply(*mask, *ty, v),
                    None => String::new(),
                })
                .collect()
        };
        let put_canaries = |csv: &mut csv::Writer<_>, at: usize| -> Result<()> {
            for (c, _) in canaries.iter().zip(&positions).filter(|(_, p)| **p == at) {
                csv.write_record(render(c)).map_err(|e| internal(&e))?;
            }
            Ok(())
        };
        for (i, r) in records.iter().enumerate() {
            put_canaries(&mut csv, i)?;
            let k = state.keys_for(r.key_version)?;
            let plain = sealed::open(&k.data, r.id.as_bytes(), &r.sealed, |f| {
                view.contains_key(f)
            })?;
            csv.write_record(render(&plain)).map_err(|e| internal(&e))?;
        }
        put_canaries(&mut csv, records.len())?;
        let writer = csv.into_inner().map_err(|e| internal(e.error()))?;
        let bytes = writer.finish().map_err(|e| internal(&e))?;
        Ok((bytes, canaries.len() as u32))
    }

    /// The export's canary customers, minus any whose customer number a real
    /// customer of the tenant has.
    fn canaries(
        &self,
        state: &TenantState,
        marker: &Marker<'_>,
    ) -> Result<Vec<BTreeMap<String, String>>> {
        let rules = &self.rules.exports;
        let mut out = Vec::new();
        for c in marker.canaries(
            &state.schema,
            rules.canary_rows as usize,
            &rules.canary_email_domain,
        ) {
            if self.existing(state, &c)?.is_none() {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Takes the package (once). The bytes are deleted from the store as they are handed over.
    pub fn download_export(&self, caller: &Caller, id: &str) -> Result<Released<Download>> {
        let row = self.load_export(id)?;
        let state = self.tenant(&row.tenant)?;
        let d = self.decide_export(
            &caller.principal,
            caller.in_scope(&row.tenant),
            Action::ExportDownload,
            &state,
            &row,
            false,
            &[],
        )?;
        let (e, permit) = self.permitted(
            self.export_event(caller, Action::ExportDownload, &row),
            &d,
            "only the requester downloads an export",
        )?;
        let e = self.stepped_up(caller, &state, e)?;
        let now = self.now();
        // Ready means approved, so the package is at hand: the stage holds it.
        let meta = match (&row.stage, status(&row, now)) {
            (ExportStage::Approved(meta), ExportStatus::Ready) => meta.clone(),
            (_, ExportStatus::Downloaded) => {
                return Err(self.refuse_state(
                    e,
                    ErrorCode::ExportAlreadyDownloaded,
                    "the package was downloaded already; it can be taken only once".into(),
                ));
            }
            (_, ExportStatus::Expired) => {
                return Err(self.refuse_state(
                    e,
                    ErrorCode::ExportDownloadExpired,
                    "the download window has ended and the package was deleted".into(),
                ));
            }
            (_, other) => {
                return Err(self.refuse_state(
                    e,
                    ErrorCode::ExportNotReady,
                    format!("the export is {other:?}; it has no package to download")
                        .to_lowercase(),
                ));
            }
        };
        let e = e
            .detail("sha256", hex(&meta.sha256))
            .detail("bytes", meta.bytes);
        let receipt = self.audit.append(e.clone())?;
        let step = HistoryRow {
            at: now,
            actor: caller.principal.login.clone(),
            action: "downloaded".into(),
            comment: None,
        };
        let Some(bytes) = self.store.take_package(&row.id, now, &step)? else {
            return Err(self.refuse_state(
                e,
                ErrorCode::ExportAlreadyDownloaded,
                "the package was taken a moment ago".into(),
            ));
        };
        let download = Download {
            file_name: format!("mamori-export-{id}.csv.age"),
            sha256: hex(&meta.sha256),
            bytes,
        };
        Ok(Released::new(permit, receipt, download))
    }

    /// One export with its approvals and history.
    pub fn export(&self, caller: &Caller, id: &str) -> Result<ExportView> {
        let row = self.load_export(id)?;
        let state = self.tenant(&row.tenant)?;
        let d = self.decide_export(
            &caller.principal,
            caller.in_scope(&row.tenant),
            Action::ExportView,
            &state,
            &row,
            false,
            &[],
        )?;
        let e = self.export_event(caller, Action::ExportView, &row);
        // Indistinguishable from a missing id for those who may not see it.
        let e = self.gated(e, &d, "").map_err(|err| match err {
            VaultError::Forbidden { .. } => VaultError::NotFound { what: "export" },
            other => other,
        })?;
        self.audit.append(e)?;
        self.export_view_of(&state, &row)
    }

    /// Exports the caller may see, newest first.
    pub fn exports(&self, caller: &Caller, f: &ExportListFilter) -> Result<Vec<ExportView>> {
        let limit = f.limit.unwrap_or(100).clamp(1, 1000);
        let rows = self.store.exports(&ExportFilter {
            tenant: f.tenant.clone(),
            requester: f.mine.then(|| caller.principal.login.clone()),
            state: f.pending.then_some(ExportState::Pending),
            limit: 1000,
        })?;
        let now = self.now();
        // The view decision depends on the tenant, requester, segment and
        // purpose only: ask the gate (and walk the org chart) once per set.
        type Key = (String, String, Option<String>, String);
        let mut visible: HashMap<Key, bool> = HashMap::new();
        let mut states = TenantMemo::default();
        let mut out = Vec::new();
        for row in rows {
            if out.len() >= limit {
                break;
            }
            if f.pending && status(&row, now) != ExportStatus::Pending {
                continue;
            }
            let state = states.get(self, &row.tenant)?;
            let key = (
                row.tenant.clone(),
                row.requester.clone(),
                row.segment.clone(),
                row.purpose.clone(),
            );
            let allowed = match visible.get(&key) {
                Some(a) => *a,
                None => {
                    let a = self
                        .decide_export(
                            &caller.principal,
                            caller.in_scope(&row.tenant),
                            Action::ExportView,
                            &state,
                            &row,
                            false,
                            &[],
                        )?
                        .allowed();
                    visible.insert(key, a);
                    a
                }
            };
            if allowed {
                out.push(self.export_view_of(&state, &row)?);
            }
        }
        let e = self
            .caller_event(caller, "export.list", "ok")
            .detail("returned", out.len())
            .detail(
                "exports",
                out.iter().map(|x| x.id.clone()).collect::<Vec<_>>(),
            );
        self.audit.append(e)?;
        Ok(out)
    }

    /// Deletes the packages whose download window has ended (they can no
    /// longer be taken; this makes them gone, not just unreachable). Run by
    /// the server periodically and whenever a package is written.
    pub fn purge_expired_packages(&self) -> Result<u64> {
        Ok(self.store.purge_packages(self.now())?)
    }

    /// The sealed free text of an export: (reason, recipient name).
    fn export_text(&self, state: &TenantState, row: &ExportRow) -> Result<(String, String)> {
        let keys = state.keys_for(row.key_version)?;
        let mut plain = sealed::open(&keys.data, row.id.as_bytes(), &row.sealed, |f| {
            f == REASON || f == RECIPIENT
        })?;
        Ok((
            plain.remove(REASON).unwrap_or_default(),
            plain.remove(RECIPIENT).unwrap_or_default(),
        ))
    }

    fn export_view_of(&self, state: &TenantState, row: &ExportRow) -> Result<ExportView> {
        let (reason, recipient_name) = self.export_text(state, row)?;
        let history = self.history_steps(
            state,
            row.id.as_bytes(),
            self.store.export_history(&row.id)?,
        )?;
        let approvals = self
            .store
            .export_approvals(&row.id)?
            .into_iter()
            .map(|a| ApprovalView {
                approver: a.approver,
                role: a.role,
                at: jst::rfc3339(a.at),
            })
            .collect();
        Ok(ExportView {
            id: row.id.to_string(),
            tenant: row.tenant.clone(),
            requester: row.requester.clone(),
            segment: row.segment.clone(),
            fields: row.fields.clone(),
            purpose: row.purpose.clone(),
            case_id: row.case_id.clone(),
            reason,
            recipient_name,
            recipient_key: row.recipient_key.clone(),
            recipient_fingerprint: fingerprint(row),
            rows_at_request: row.rows_at_request,
            approvals_required: row.approvals_required,
            approvals,
            status: status(row, self.now()),
            created_at: jst::rfc3339(row.created_at),
            approve_by: jst::rfc3339(row.approve_by),
            package: row.stage.package().map(|p| PackageView {
                rows: p.rows,
                canaries: p.canaries,
                bytes: p.bytes,
                sha256: hex(&p.sha256),
                created_at: jst::rfc3339(p.created_at),
                download_until: jst::rfc3339(p.download_until),
            }),
            history,
        })
    }

    /// Which export a leaked file came from: its canaries and its formatting,
    /// checked against every packaged export (of one tenant, or all).
    pub fn trace_leak(
        &self,
        caller: &Caller,
        tenant: Option<&str>,
        text: &str,
    ) -> Result<TraceReport> {
        let d = self.gate.decide_trace(&caller.principal);
        let e = self.gated(
            self.caller_event(caller, Action::ExportTrace.as_str(), "ok"),
            &d,
            "tracing leaks is for the security office and auditors",
        )?;
        let evidence = Evidence::from_text(text);
        let rows = self.store.exports(&ExportFilter {
            tenant: tenant.map(str::to_owned),
            limit: 100_000,
            ..Default::default()
        })?;
        let mut states = TenantMemo::default();
        let mut matches = Vec::new();
        let mut checked = 0;
        for row in rows.iter().filter(|r| r.stage.package().is_some()) {
            let state = states.get(self, &row.tenant)?;
            // Shredded tenants have no keys left; nothing can be traced to them.
            let Ok(keys) = state.keys_for(row.key_version) else {
                continue;
            };
            checked += 1;
            let id = row.id.to_string();
            let marker = Marker::new(&keys.index, &id);
            let canaries = marker.canaries(
                &state.schema,
                self.rules.exports.canary_rows as usize + 8,
                &self.rules.exports.canary_email_domain,
            );
            let canary_hits = evidence.canary_hits(&canaries);
            let (seen, agree) = evidence.formatting(&marker);
            let chance = chance_by_accident(seen, agree);
            let verdict = if canary_hits > 0 || (seen >= 20 && chance < 1e-6) {
                "match"
            } else if seen >= 8 && chance < 0.01 {
                "possible"
            } else {
                "no_match"
            };
            let (_, recipient_name) = self.export_text(&state, row)?;
            matches.push(TraceMatch {
                export: id,
                tenant: row.tenant.clone(),
                requester: row.requester.clone(),
                recipient_name,
                recipient_fingerprint: fingerprint(row),
                created_at: jst::rfc3339(row.created_at),
                canary_hits,
                marks_seen: seen,
                marks_matching: agree,
                chance_by_accident: chance,
                verdict,
            });
        }
        matches.sort_by(|a, b| {
            b.canary_hits
                .cmp(&a.canary_hits)
                .then(a.chance_by_accident.total_cmp(&b.chance_by_accident))
        });
        let e = e
            .detail("cells", evidence.cells)
            .detail("exports_checked", checked)
            .detail(
                "matched",
                matches
                    .iter()
                    .filter(|m| m.verdict == "match")
                    .map(|m| m.export.clone())
                    .collect::<Vec<_>>(),
            );
        self.audit.append(e)?;
        Ok(TraceReport {
            cells: evidence.cells,
            exports_checked: checked,
            matches,
        })
    }
}
