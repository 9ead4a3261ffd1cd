//! PC agents (`mamori agent` on lent and remote PCs): each machine scans on a
//! schedule and when the security office starts a hunt (which reaches a
//! machine when it next connects, as Velociraptor's hunts do), and reports
//! every scan here. A report is an audit event — what was found per file,
//! by hash and counts, never a file name or a value — so "this PC was clean
//! on date X" is provable later from the tamper-evident log; its figures are
//! also kept per machine, so the machines that went silent are listed
//! without reading the log.
//!
//! The vault judges a report rather than taking its word: the verdict is
//! worked out here from the files listed (a file with anything found makes
//! `findings`; one that could not be read makes `incomplete`, never
//! `clean`), and checked against its own record — a file in which it named
//! customers to this machine since the last report, and which the report
//! leaves out, makes the verdict `findings` whatever the machine says.

use std::collections::{BTreeMap, HashSet};

use mamori_core::{HuntId, Role, ScanId, TenantId, case_id, ids::valid_login, jst};
use mamori_crypto::PackageRecipient;
use mamori_policy::Action;
use mamori_scan::{Format, Kind, Outcome};
use mamori_store::{AuditQuery, HuntRow, ScanReportRow, ScanVerdict, each_audit_page};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    Caller, ErrorCode, Vault,
    error::{Result, VaultError},
    leak::quarantine::FileAction,
};

/// Files one report may list (those with findings or not inspected).
pub const MAX_FILES: usize = 100_000;
/// Files listed one by one in the report's audit event, most customers
/// first; the rest are counted (the event stays a few hundred kB at most).
const FILES_IN_EVENT: usize = 1_000;
/// How long a hunt may wait for machines, in days; and by default.
pub const MAX_HUNT_DAYS: u32 = 90;
pub const HUNT_DAYS: u32 = 14;
/// How far back a machine's reports are looked at for the hunts it answered
/// and for a report sent twice.
const LOOK_BACK: i64 = (MAX_HUNT_DAYS as i64 + 1) * 86_400;

/// A hunt as the security office asks for it.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewHunt {
    /// The incident or inspection it belongs to (a case id: not personal data).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_.:/#-]{1,64}$"))]
    pub case_id: String,
    /// Read every file again, not only those changed since the last scan.
    #[serde(default)]
    pub full: bool,
    /// Scanner logins of the machines asked; none: every scanner.
    #[serde(default)]
    pub machines: Vec<String>,
    /// The security office's age public key (age1…): each machine puts the
    /// files it finds naming customers away to it, encrypted in place (the
    /// hunt then reads every file).
    #[serde(default)]
    pub quarantine_to: Option<String>,
    /// Days machines have to answer (1–90, 14 by default).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 90))]
    #[serde(default)]
    pub days: Option<u32>,
}

/// One scan of one machine, as its agent reports it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScanReport {
    /// Chosen by the agent (32 hex digits): a report sent twice is recorded once.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-fA-F]{32}$"))]
    pub scan_id: ScanId,
    /// The hunt this scan answers, if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^[0-9a-fA-F]{32}$"))]
    #[serde(default)]
    pub hunt: Option<HuntId>,
    /// The machine's clock (RFC 3339), as declared.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub started_at: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub finished_at: String,
    /// Every file read, not only those changed since the last scan.
    pub full: bool,
    /// Folders scanned.
    pub roots: u64,
    /// Files walked, files read (changed or new), bytes read.
    pub files_seen: u64,
    pub files_read: u64,
    pub bytes_read: u64,
    /// Files with findings or not inspected (clean files are only counted).
    pub files: Vec<ReportedFile>,
}

/// A file with findings, or one that could not be inspected. No path: a file
/// name may itself name a person; the agent's machine keeps the paths.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportedFile {
    /// SHA-256 of the file (64 hex digits), when it could be read.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-fA-F]{64}$"))]
    pub sha256: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub format: Option<Format>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub outcome: Outcome,
    /// Values found per kind.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, u64>))]
    #[serde(default)]
    pub found: BTreeMap<Kind, u64>,
    /// Whose customers the vault said they name.
    #[serde(default)]
    pub tenants: Vec<ReportedTenant>,
    /// The vault refused to match it (the machine's daily budget).
    #[serde(default)]
    pub not_matched: bool,
    /// Unchanged since an earlier scan, whose result this is.
    #[serde(default)]
    pub unchanged: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportedTenant {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z][a-z0-9_-]{1,39}$"))]
    pub tenant: String,
    pub confirmed: u64,
    pub possible: u64,
}

/// What the vault made of a report.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportReceipt {
    pub report: ScanReportRow,
    /// False when this scan had been reported before (nothing new recorded).
    pub recorded: bool,
    /// SHA-256 of the report as recorded (its canonical JSON).
    pub report_sha256: String,
    /// Files the vault named customers in for this machine since its last
    /// report that this report leaves out (the verdict is then `findings`).
    pub unreported_files: u64,
}

/// A machine as the security office sees it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MachineView {
    pub login: String,
    pub suspended: bool,
    /// No report within the days asked about.
    pub silent: bool,
    pub reports: u64,
    pub last_report_at: Option<String>,
    pub last_verdict: Option<ScanVerdict>,
    pub last_clean_at: Option<String>,
    /// Hunts meant for it that it has not answered yet.
    pub hunts_open: u64,
}

impl Vault {
    /// Starts a hunt: the machines named (or every scanner) scan at their
    /// next contact and report. Only the security office.
    pub fn start_hunt(&self, caller: &Caller, h: &NewHunt) -> Result<HuntRow> {
        let d = self.gate.decide_agent(&caller.principal, Action::ScanHunt);
        let event = self.gated(
            self.caller_event(caller, Action::ScanHunt.as_str(), "ok"),
            &d,
            "sending PC agents hunting is for the security office",
        )?;
        let bad = |m: String| VaultError::bad(ErrorCode::HuntInvalid, m);
        if let Err(e) = case_id::check(&h.case_id) {
            let err = VaultError::bad(ErrorCode::CaseIdInvalid, e.to_string());
            return Err(self.refuse_invalid(event, err));
        }
        let days = h.days.unwrap_or(HUNT_DAYS);
        if !(1..=MAX_HUNT_DAYS).contains(&days) {
            let err = bad(format!("a hunt lasts 1 to {MAX_HUNT_DAYS} days"));
            return Err(self.refuse_invalid(event, err));
        }
        if let Err(err) = self.check_machines(&h.machines) {
            return Err(self.refuse_invalid(event, err));
        }
        let quarantine_to = match h.quarantine_to.as_deref().map(PackageRecipient::parse) {
            None => None,
            Some(Ok(r)) => Some(r),
            Some(Err(_)) => {
                let err = bad("quarantine_to is not an age public key (age1…)".into());
                return Err(self.refuse_invalid(event, err));
            }
        };
        let now = self.now();
        let mut machines = h.machines.clone();
        machines.sort();
        machines.dedup();
        let row = HuntRow {
            id: HuntId::random(),
            case_id: h.case_id.clone(),
            started_by: caller.principal.login.clone(),
            started_at: now,
            until: now + i64::from(days) * 86_400,
            // Putting files away needs each one's path: everything is read.
            full: h.full || quarantine_to.is_some(),
            machines,
            quarantine_to: quarantine_to.as_ref().map(PackageRecipient::encoded),
        };
        let mut e = event
            .detail("hunt", row.id.to_string())
            .detail("full", row.full)
            .detail("until", jst::rfc3339(row.until))
            .detail("machines", row.machines.clone())
            .detail(
                "quarantine_to",
                quarantine_to.as_ref().map(PackageRecipient::fingerprint),
            );
        e.case_id = Some(row.case_id.clone());
        e.policies = d.policies().to_vec();
        self.audit.append(e)?;
        self.store.insert_hunt(&row)?;
        Ok(row)
    }

    /// Each named machine is a scanner credential; the reason names its
    /// position, never the login.
    fn check_machines(&self, machines: &[String]) -> Result<()> {
        if machines.is_empty() {
            return Ok(());
        }
        let scanners: HashSet<String> = self
            .store
            .users()?
            .into_iter()
            .filter(|u| u.role == Role::Scanner.as_str())
            .map(|u| u.login)
            .collect();
        for (i, m) in machines.iter().enumerate() {
            if !valid_login(m) || !scanners.contains(m) {
                return Err(VaultError::bad(
                    ErrorCode::HuntInvalid,
                    format!("machines[{i}] is not a scanner credential"),
                ));
            }
        }
        Ok(())
    }

    /// The hunts meant for the calling machine that it has not answered,
    /// oldest first.
    pub fn pending_hunts(&self, caller: &Caller) -> Result<Vec<HuntRow>> {
        let d = self
            .gate
            .decide_agent(&caller.principal, Action::ScanReport);
        self.gated(
            self.caller_event(caller, Action::ScanReport.as_str(), "ok"),
            &d,
            "hunts are for the security office's scanners",
        )?;
        self.open_hunts(&caller.principal.login, self.now())
    }

    /// The hunts meant for `login` that it has not answered and that have
    /// not lapsed at `now`.
    fn open_hunts(&self, login: &str, now: i64) -> Result<Vec<HuntRow>> {
        let reports = self.store.scan_reports(login, now - LOOK_BACK)?;
        let live = self.live_hunts(now)?;
        Ok(open_for(login, live, &reports))
    }

    /// Hunts that have not lapsed at `now`.
    fn live_hunts(&self, now: i64) -> Result<Vec<HuntRow>> {
        let mut hunts = self.store.hunts(now - LOOK_BACK)?;
        hunts.retain(|h| h.until > now);
        Ok(hunts)
    }

    /// Records a machine's report of one scan: an audit event (what was
    /// found per file, by hash), then its figures. The same scan reported
    /// again is answered with the first record and recorded nothing.
    pub fn record_scan_report(&self, caller: &Caller, r: &ScanReport) -> Result<ReportReceipt> {
        let d = self
            .gate
            .decide_agent(&caller.principal, Action::ScanReport);
        let login = &caller.principal.login;
        let event = self
            .gated(
                self.caller_event(caller, Action::ScanReport.as_str(), "ok"),
                &d,
                "scan reports come from the security office's scanners",
            )?
            .detail("scan", r.scan_id.to_string());
        let (started, finished) = match check_report(r) {
            Ok(times) => times,
            Err(err) => return Err(self.refuse_invalid(event, err)),
        };
        let now = self.now();
        let canonical = serde_json::to_vec(r)
            .map_err(|_| VaultError::Internal("a report does not serialise".into()))?;
        let report_sha256 = hex::encode(Sha256::digest(&canonical));
        let earlier = self.store.scan_reports(login, now - LOOK_BACK)?;
        if let Some(first) = earlier.iter().find(|x| x.scan == r.scan_id) {
            return Ok(ReportReceipt {
                report: first.clone(),
                recorded: false,
                report_sha256,
                unreported_files: 0,
            });
        }
        if let Some(h) = r.hunt {
            let open = open_for(login, self.live_hunts(now)?, &earlier);
            if !open.iter().any(|x| x.id == h) {
                let err = VaultError::NotFound { what: "hunt" };
                return Err(self.refuse_invalid(event, err));
            }
        }
        let mut row = judge(login, r, now);
        // Facts over declarations: files the vault named customers in for
        // this machine since its last report, and that this report leaves out.
        // From the second after the last report (reports count in seconds).
        let since = earlier
            .last()
            .map_or(now - LOOK_BACK, |p| p.received_at + 1);
        let until = finished.min(now);
        let unreported = self.unreported_matches(caller, r, since, until)?;
        if unreported > 0 {
            row.verdict = ScanVerdict::Findings;
        }
        let mut e = event
            .detail("hunt", r.hunt.map(|h| h.to_string()))
            .detail("verdict", row.verdict.as_str())
            .detail("full", r.full)
            .detail("started_at", jst::rfc3339(started))
            .detail("finished_at", jst::rfc3339(finished))
            .detail("roots", r.roots)
            .detail("files_seen", r.files_seen)
            .detail("files_read", r.files_read)
            .detail("bytes_read", r.bytes_read)
            .detail("with_findings", row.with_findings)
            .detail("naming_customers", row.naming_customers)
            .detail("new_naming_customers", new_naming(&r.files))
            .detail("uninspected", row.uninspected)
            .detail("unreported_files", unreported)
            .detail("tenants", tenant_totals(&r.files))
            .detail("report_sha256", report_sha256.clone());
        let (listed, omitted) = event_files(&r.files);
        e = e.detail("files", listed).detail("files_omitted", omitted);
        e.policies = d.policies().to_vec();
        self.audit.append(e)?;
        self.store.insert_scan_report(&row)?;
        Ok(ReportReceipt {
            report: row,
            recorded: true,
            report_sha256,
            unreported_files: unreported,
        })
    }

    /// Records a file the calling machine put away for `hunt` (its SHA-256
    /// and size): the scanner's leave to quarantine, and a hunt meant for it
    /// that asks for it. The act is already done (the file is encrypted in
    /// place, reversibly); a refusal is recorded all the same.
    pub fn record_hunt_quarantine(
        &self,
        caller: &Caller,
        hunt: HuntId,
        file_sha256: &[u8; 32],
        bytes: u64,
    ) -> Result<()> {
        let mut permit = self.permit_file_action(caller, FileAction::Quarantine)?;
        let open = self.open_hunts(&caller.principal.login, self.now())?;
        if !open
            .iter()
            .any(|h| h.id == hunt && h.quarantine_to.is_some())
        {
            let err = VaultError::NotFound { what: "hunt" };
            return Err(self.refuse_invalid(permit.event, err));
        }
        permit.event = permit.event.detail("hunt", hunt.to_string());
        self.record_file_action(permit, file_sha256, bytes)
    }

    /// Files (by hash) in which the vault named customers to this caller
    /// between `since` and `until` (Unix seconds) that the report does not
    /// list as naming any.
    fn unreported_matches(
        &self,
        caller: &Caller,
        r: &ScanReport,
        since: i64,
        until: i64,
    ) -> Result<u64> {
        let listed: HashSet<String> = r
            .files
            .iter()
            .filter(|f| !f.tenants.is_empty())
            .filter_map(|f| f.sha256.as_deref().map(str::to_ascii_lowercase))
            .collect();
        let mut missing: HashSet<String> = HashSet::new();
        let query = AuditQuery {
            actor: Some(caller.actor()),
            action: Some(Action::ScanMatch.as_str().to_owned()),
            from_ts: Some(since.saturating_mul(1_000_000)),
            to_ts: Some(until.saturating_add(1).saturating_mul(1_000_000)),
            limit: 1000,
            ..Default::default()
        };
        each_audit_page(&**self.audit.store(), query, |rows| -> Result<bool> {
            // The system log's event of each call: its file and the tenants named.
            for row in rows
                .iter()
                .filter(|x| x.tenant.is_none() && x.decision == "allow")
            {
                let body: serde_json::Value = serde_json::from_slice(&row.body).map_err(|_| {
                    VaultError::Internal("an audit event that does not parse".into())
                })?;
                let named = body["detail"]["tenants"]
                    .as_array()
                    .is_some_and(|t| !t.is_empty());
                if let (true, Some(file)) = (named, body["detail"]["file_sha256"].as_str())
                    && !listed.contains(file)
                {
                    missing.insert(file.to_owned());
                }
            }
            Ok(true)
        })?;
        Ok(missing.len() as u64)
    }

    /// Every scanner credential with its reports; `silent` for those with
    /// none in the last `silent_days` days (the security office, auditors).
    pub fn machines(&self, caller: &Caller, silent_days: u32) -> Result<Vec<MachineView>> {
        let d = self
            .gate
            .decide_agent(&caller.principal, Action::ScanMachines);
        self.gated(
            self.caller_event(caller, Action::ScanMachines.as_str(), "ok"),
            &d,
            "the machines' reports are for the security office and auditors",
        )?;
        let now = self.now();
        let since = now - i64::from(silent_days) * 86_400;
        let reports: BTreeMap<String, mamori_store::MachineReports> = self
            .store
            .machine_reports()?
            .into_iter()
            .map(|m| (m.latest.login.clone(), m))
            .collect();
        let live = self.live_hunts(now)?;
        let mut out = Vec::new();
        for u in self.store.users()? {
            if u.role != Role::Scanner.as_str() {
                continue;
            }
            // A machine's answers are read only while some hunt is live.
            let hunts_open = if live.is_empty() {
                0
            } else {
                let answers = self.store.scan_reports(&u.login, now - LOOK_BACK)?;
                open_for(&u.login, live.clone(), &answers).len() as u64
            };
            let m = reports.get(&u.login);
            let last = m.map(|m| m.latest.received_at);
            out.push(MachineView {
                suspended: u.suspended_at.is_some(),
                silent: last.is_none_or(|at| at < since),
                reports: m.map_or(0, |m| m.reports),
                last_report_at: last.map(jst::rfc3339),
                last_verdict: m.map(|m| m.latest.verdict),
                last_clean_at: m.and_then(|m| m.last_clean_at).map(jst::rfc3339),
                hunts_open,
                login: u.login,
            });
        }
        out.sort_by(|a, b| a.login.cmp(&b.login));
        Ok(out)
    }
}

/// The hunts among `live` meant for `login` that none of its `reports`
/// answered.
fn open_for(login: &str, mut live: Vec<HuntRow>, reports: &[ScanReportRow]) -> Vec<HuntRow> {
    let answered: HashSet<HuntId> = reports.iter().filter_map(|r| r.hunt).collect();
    live.retain(|h| {
        !answered.contains(&h.id)
            && (h.machines.is_empty() || h.machines.iter().any(|m| m == login))
    });
    live
}

/// A report's form: ids, hashes, tenants and counts that hold together.
/// Returns its declared start and end (Unix seconds, the machine's clock).
fn check_report(r: &ScanReport) -> Result<(i64, i64)> {
    let bad = |m: &str| VaultError::bad(ErrorCode::ScanReportInvalid, m.to_owned());
    let time = |s: &str, what: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp())
            .map_err(|_| bad(&format!("`{what}` is not an RFC 3339 time")))
    };
    let started = time(&r.started_at, "started_at")?;
    let finished = time(&r.finished_at, "finished_at")?;
    if r.files.len() > MAX_FILES {
        return Err(bad(&format!("a report lists at most {MAX_FILES} files")));
    }
    // Counts are 64-bit signed wherever they are stored (and in the API's
    // description): a larger one is no count.
    let counts = [r.roots, r.files_seen, r.files_read, r.bytes_read];
    let in_files = r.files.iter().flat_map(|f| {
        f.found
            .values()
            .copied()
            .chain(f.tenants.iter().flat_map(|t| [t.confirmed, t.possible]))
    });
    if counts
        .into_iter()
        .chain(in_files)
        .any(|n| n > i64::MAX as u64)
    {
        return Err(bad("a count is larger than 2^63 - 1"));
    }
    if r.files_read > r.files_seen || (r.files.len() as u64) > r.files_seen {
        return Err(bad("more files read or listed than seen"));
    }
    for (i, f) in r.files.iter().enumerate() {
        let sha_ok = f
            .sha256
            .as_deref()
            .is_none_or(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()));
        if !sha_ok {
            return Err(bad(&format!("files[{i}].sha256 is not 64 hex digits")));
        }
        if f.found.is_empty() && f.tenants.is_empty() && !f.outcome.uninspected() {
            return Err(bad(&format!(
                "files[{i}] has nothing found and was inspected: clean files are only counted"
            )));
        }
        for (j, t) in f.tenants.iter().enumerate() {
            if TenantId::parse(&t.tenant).is_err() || t.confirmed > t.possible {
                return Err(bad(&format!(
                    "files[{i}].tenants[{j}] is not a tenant id with confirmed ≤ possible"
                )));
            }
        }
    }
    Ok((started, finished))
}

/// The report's figures and verdict, worked out from its files.
fn judge(login: &str, r: &ScanReport, now: i64) -> ScanReportRow {
    let count = |f: fn(&ReportedFile) -> bool| r.files.iter().filter(|x| f(x)).count() as u64;
    let with_findings = count(|f| !f.found.is_empty() || !f.tenants.is_empty());
    let uninspected = count(|f| f.outcome.uninspected());
    let verdict = if with_findings > 0 {
        ScanVerdict::Findings
    } else if uninspected > 0 {
        ScanVerdict::Incomplete
    } else {
        ScanVerdict::Clean
    };
    ScanReportRow {
        login: login.to_owned(),
        scan: r.scan_id,
        received_at: now,
        hunt: r.hunt,
        full: r.full,
        verdict,
        files_seen: r.files_seen,
        with_findings,
        naming_customers: count(|f| !f.tenants.is_empty()),
        uninspected,
    }
}

/// Files naming customers that were read in this scan (not carried over
/// unchanged from an earlier one): what is new on the machine.
fn new_naming(files: &[ReportedFile]) -> u64 {
    files
        .iter()
        .filter(|f| !f.unchanged && !f.tenants.is_empty())
        .count() as u64
}

/// Per tenant: files naming its customers, and the customers confirmed and
/// possible summed over files (a customer in two files counts twice: files
/// are matched apart, under pseudonyms that differ per file).
fn tenant_totals(files: &[ReportedFile]) -> Vec<serde_json::Value> {
    let mut by: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for t in files.iter().flat_map(|f| &f.tenants) {
        let e = by.entry(&t.tenant).or_default();
        // Each count is at most 2^63 - 1 (checked); their sums saturate.
        e.0 += 1;
        e.1 = e.1.saturating_add(t.confirmed);
        e.2 = e.2.saturating_add(t.possible);
    }
    by.into_iter()
        .map(|(t, (files, confirmed, possible))| {
            serde_json::json!({"tenant": t, "files": files, "confirmed": confirmed, "possible": possible})
        })
        .collect()
}

/// The files listed in the event: most customers named first, then most
/// values found; at most `FILES_IN_EVENT`, and how many were left out.
fn event_files(files: &[ReportedFile]) -> (Vec<serde_json::Value>, u64) {
    let weight = |f: &ReportedFile| {
        let people = f
            .tenants
            .iter()
            .fold(0u64, |a, t| a.saturating_add(t.possible));
        let values = f.found.values().fold(0u64, |a, n| a.saturating_add(*n));
        (people, values)
    };
    let mut order: Vec<&ReportedFile> = files.iter().collect();
    order.sort_by_key(|f| std::cmp::Reverse(weight(f)));
    let listed = order
        .iter()
        .take(FILES_IN_EVENT)
        .map(|f| serde_json::to_value(f).unwrap_or_default())
        .collect();
    (listed, files.len().saturating_sub(FILES_IN_EVENT) as u64)
}
