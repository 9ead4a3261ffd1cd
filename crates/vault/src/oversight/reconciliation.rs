//! The monthly reconciliation (D3) for the security office: the vault's own
//! facts — every read of the period as its audit event records it, the
//! approved grants, standing access from the moment it was recorded, the
//! shift roster — joined by `mamori_reconcile` with the files from outside
//! (door log, PC events, person map, host map, pre-applications). The gate
//! is asked before any file is read; the run is recorded with the files'
//! SHA-256 and the figures per class, so the report can be re-derived.

use std::collections::HashMap;

use mamori_audit::SealedEvent;
use mamori_policy::Action;
use mamori_reconcile::{
    Grant, Inputs, Params, Read, Report, Standing, logon,
    mapping::Mapping,
    people::{self, Hosts, People},
    room,
    run::Period,
    run::Reconciler,
};
use mamori_store::{AuditRow, DiscrepancyRow, ReconciliationRow, RequestFilter, RequestStage};

use super::period::is_read;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{
    Caller, ErrorCode, Vault,
    error::{Result, VaultError},
};

/// The files of a run, as bytes (the CLI reads them from disk, the API from
/// the request).
#[derive(Clone, Copy, Debug, Default)]
pub struct ReconcileFiles<'a> {
    /// The column mapping (TOML); defaults when absent.
    pub mapping: Option<&'a [u8]>,
    pub people: &'a [u8],
    pub rooms: &'a [u8],
    pub logons: &'a [u8],
    pub hosts: Option<&'a [u8]>,
    pub applications: Option<&'a [u8]>,
}

/// A file that went in: its name and SHA-256.
#[derive(Clone, Debug, Serialize)]
pub struct InputDigest {
    pub name: &'static str,
    pub sha256: String,
    pub bytes: usize,
}

/// A run's result as the vault answers it.
#[derive(Clone, Debug, Serialize)]
pub struct Reconciliation {
    /// The `reconcile.run` event that records this run: its log and position.
    pub log: String,
    pub seq: u64,
    /// SHA-256 of the report's JSON bytes (as recorded in the event).
    pub report_sha256: String,
    pub inputs: Vec<InputDigest>,
    pub report: Report,
}

impl Vault {
    /// Runs a reconciliation of `[from, to)` (Unix seconds; `to` no later than now).
    pub fn reconcile(
        &self,
        caller: &Caller,
        from: i64,
        to: i64,
        params: Params,
        files: ReconcileFiles<'_>,
    ) -> Result<Reconciliation> {
        let decision = self.gate.decide_reconcile(&caller.principal);
        let event = self.gated(
            self.caller_event(caller, Action::ReconcileRun.as_str(), "ok"),
            &decision,
            "reconciliations are run by the security office",
        )?;
        // The report's period says where a running one stopped.
        let to = self.checked_period(from, to)?;
        if params.skew_s < 0 || params.max_session_h < 1 || params.max_stay_h < 1 {
            return Err(VaultError::bad(
                ErrorCode::RequestInvalid,
                "skew_s is 0 or more; max_session_h and max_stay_h are 1 or more",
            ));
        }
        let outside = Outside::read(&files)?;
        let period = Period { from, to };
        let grants = self.reconcile_grants(period)?;
        let scan_from = grants.iter().map(|g| g.from).fold(from, i64::min);
        let standing = self.reconcile_standing()?;
        let mut applications = self.roster(from, to)?;
        applications.extend(outside.applications.iter().cloned());
        let mut run = Reconciler::new(
            Inputs {
                period,
                reads: &[],
                grants: &grants,
                standing: &standing,
                applications: &applications,
                people: &outside.people,
                hosts: outside.hosts.as_ref(),
                rooms: &outside.rooms,
                logons: &outside.logons,
            },
            &params,
        );
        self.each_read(scan_from, to, |read| run.read(&read))?;
        let report = run.finish();
        let bytes = serde_json::to_vec(&report)
            .map_err(|e| VaultError::Internal(format!("report: {e}")))?;
        let report_sha256 = hex::encode(Sha256::digest(&bytes));
        let inputs = digests(&files);
        let mut e = event
            .detail("from", mamori_core::jst::rfc3339(from))
            .detail("to", mamori_core::jst::rfc3339(to))
            .detail("params", serde_json::to_value(params).unwrap_or_default())
            .detail("reads", report.counts.reads)
            .detail("discrepancies", report.discrepancies.len())
            .detail("report_sha256", report_sha256.as_str());
        let by_class: serde_json::Map<String, serde_json::Value> = report
            .by_class
            .iter()
            .map(|(c, n)| (c.as_str().to_owned(), (*n).into()))
            .collect();
        e = e.detail("by_class", by_class);
        let files: serde_json::Map<String, serde_json::Value> = inputs
            .iter()
            .map(|d| (d.name.to_owned(), d.sha256.clone().into()))
            .collect();
        e = e.detail("inputs", files);
        let receipt = self.audit.append(e)?;
        self.keep_run(caller, &report, &report_sha256, bytes)?;
        Ok(Reconciliation {
            log: receipt.log().to_owned(),
            seq: receipt.seq(),
            report_sha256,
            inputs,
            report,
        })
    }

    /// Keeps the run and its discrepancies for their dispositions (a
    /// discrepancy found again keeps the one it has).
    fn keep_run(&self, caller: &Caller, report: &Report, id: &str, bytes: Vec<u8>) -> Result<()> {
        let items: Vec<DiscrepancyRow> = report
            .discrepancies
            .iter()
            .map(|d| DiscrepancyRow {
                id: d.id.clone(),
                class: d.class.as_str().to_owned(),
                person: d.person.clone(),
                day: d.day.clone(),
                kind: d.kind.clone(),
                count: d.count as u64,
                run: id.to_owned(),
                disposition: None,
            })
            .collect();
        let run = ReconciliationRow {
            id: id.to_owned(),
            period_from: report.period.from,
            period_to: report.period.to,
            run_by: caller.principal.login.clone(),
            run_at: self.now(),
            report: bytes,
        };
        Ok(self.store.record_reconciliation(&run, &items)?)
    }

    /// Approved grants whose window reaches into the period, each ending
    /// where it was revoked.
    fn reconcile_grants(&self, period: Period) -> Result<Vec<Grant>> {
        let rows = self.store.requests(&RequestFilter {
            tenant: None,
            requesters: None,
            state: None,
            ends_after: Some(period.from),
            limit: usize::MAX,
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let (decided, revoked) = match &r.stage {
                    RequestStage::Approved(d) => (d, None),
                    RequestStage::Revoked {
                        decided: Some(d),
                        revoked,
                    } => (d, Some(revoked.at)),
                    _ => return None,
                };
                let from = r.starts_at.max(decided.at);
                let to = revoked.map_or(r.ends_at, |at| at.min(r.ends_at));
                (from < to && from < period.to).then(|| Grant {
                    id: r.id.to_string(),
                    login: r.requester,
                    tenant: r.tenant,
                    purpose: r.purpose,
                    case_id: r.case_id,
                    from,
                    to,
                })
            })
            .collect())
    }

    /// Every allowed read by a person in `[from, to)`, from the audit log,
    /// handed to `each` one at a time (a month of reads is never held).
    fn each_read(&self, from: i64, to: i64, mut each: impl FnMut(Read)) -> Result<()> {
        self.walk_period(from, to, |row| {
            if is_read(row)
                && let Some(read) = read_of(row)?
            {
                each(read);
            }
            Ok(())
        })
    }

    /// Standing access as recorded: a segment assignment from its
    /// `user.assign` event to its end (`user.unassign`, or a review's
    /// revocation) — an assignment the log does not show covers nothing —
    /// and standing full access from its approval to its revocation.
    fn reconcile_standing(&self) -> Result<Vec<Standing>> {
        // Every assignment's beginning and end ever recorded (no index on
        // actions: one pass each).
        let mut steps: Vec<Step> = Vec::new();
        for action in ["user.assign", "user.unassign", "review.decide"] {
            self.each_event(action, None, |row, e| {
                steps.extend(assignment_step(row, &e));
                Ok(())
            })?;
        }
        steps.sort_by_key(|s| s.at);
        let mut open: HashMap<(String, String, String), i64> = HashMap::new();
        let mut out = Vec::new();
        for Step {
            at,
            login,
            tenant,
            segment,
            begins,
        } in steps
        {
            let key = (login, tenant, segment);
            match (begins, open.get(&key)) {
                (true, None) => {
                    open.insert(key, at);
                }
                (false, Some(&from)) => {
                    open.remove(&key);
                    let (login, tenant, _) = key;
                    out.push(Standing {
                        login,
                        tenant,
                        from,
                        to: Some(at),
                    });
                }
                _ => {}
            }
        }
        // Still assigned; one gone without a recorded end covers nothing.
        let held: std::collections::HashSet<(String, String, String)> = self
            .users()?
            .into_iter()
            .flat_map(|(_, a)| a)
            .filter_map(|a| Some((a.login, a.tenant, a.segment?)))
            .collect();
        for (key, from) in open {
            if held.contains(&key) {
                let (login, tenant, _) = key;
                out.push(Standing {
                    login,
                    tenant,
                    from,
                    to: None,
                });
            }
        }
        for t in self.store.tenants()? {
            for n in self.store.full_access(&t.id)? {
                if let Some(from) = n.decided_at.filter(|_| n.decided_by.is_some()) {
                    out.push(Standing {
                        login: n.login,
                        tenant: n.tenant,
                        from,
                        to: n.revoked_at,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The imported shift roster as pre-applications: (login, Japan day).
    fn roster(&self, from: i64, to: i64) -> Result<Vec<(String, i64)>> {
        let since = mamori_core::jst::date(from)
            .map(|d| d.to_string())
            .unwrap_or_default();
        Ok(self
            .store
            .shifts(&since)?
            .into_iter()
            .filter_map(|s| Some((s.login, mamori_reconcile::time::day(&s.day)?)))
            .filter(|(_, d)| *d <= mamori_core::jst::day(to))
            .collect())
    }
}

/// The outside files, read.
struct Outside {
    people: People,
    hosts: Option<Hosts>,
    rooms: Vec<room::RoomEvent>,
    logons: Vec<logon::LogonEvent>,
    applications: Vec<(String, i64)>,
}

impl Outside {
    fn read(f: &ReconcileFiles<'_>) -> Result<Outside> {
        let bad = |e: mamori_reconcile::Error| {
            VaultError::bad(ErrorCode::ReconcileFileInvalid, e.to_string())
        };
        let mapping = match f.mapping {
            None => Mapping::default(),
            Some(bytes) => {
                let text = std::str::from_utf8(bytes)
                    .map_err(|_| bad(mamori_reconcile::Error::at("mapping", 1, "not UTF-8")))?;
                Mapping::parse(text).map_err(bad)?
            }
        };
        let people = People::read(f.people, &mapping.people).map_err(bad)?;
        let hosts = f
            .hosts
            .map(|h| Hosts::read(h, &mapping.hosts))
            .transpose()
            .map_err(bad)?;
        let rooms = room::read(f.rooms, &mapping.rooms).map_err(bad)?;
        let logons = logon::read(f.logons, &mapping.logons).map_err(bad)?;
        let applications = f
            .applications
            .map(|a| people::read_applications(a, &mapping.applications, &people))
            .transpose()
            .map_err(bad)?
            .unwrap_or_default();
        Ok(Outside {
            people,
            hosts,
            rooms,
            logons,
            applications,
        })
    }
}

fn digests(f: &ReconcileFiles<'_>) -> Vec<InputDigest> {
    let files: [(&'static str, Option<&[u8]>); 6] = [
        ("mapping", f.mapping),
        ("people", Some(f.people)),
        ("rooms", Some(f.rooms)),
        ("logons", Some(f.logons)),
        ("hosts", f.hosts),
        ("applications", f.applications),
    ];
    files
        .into_iter()
        .filter_map(|(name, bytes)| {
            bytes.map(|b| InputDigest {
                name,
                sha256: hex::encode(Sha256::digest(b)),
                bytes: b.len(),
            })
        })
        .collect()
}

/// A segment assignment's beginning (`user.assign`) or end (`user.unassign`,
/// a review's revocation of a segment).
struct Step {
    at: i64,
    login: String,
    tenant: String,
    segment: String,
    begins: bool,
}

/// The step an event records; None for other events (a whole-tenant
/// nomination, a kept review item).
fn assignment_step(row: &AuditRow, e: &SealedEvent) -> Option<Step> {
    let d = &e.event.detail;
    let text = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let at = row.ts.div_euclid(1_000_000);
    let tenant = e.event.tenant.clone()?;
    match row.action.as_str() {
        "user.assign" | "user.unassign" => match (text("login"), text("segment")) {
            (Some(login), Some(segment)) => Some(Step {
                at,
                login,
                tenant,
                segment,
                begins: row.action == "user.assign",
            }),
            _ => None,
        },
        _ => match (
            text("kind"),
            text("outcome"),
            text("person"),
            text("target"),
        ) {
            (Some(k), Some(o), Some(login), Some(segment)) if k == "segment" && o == "revoke" => {
                Some(Step {
                    at,
                    login,
                    tenant,
                    segment,
                    begins: false,
                })
            }
            _ => None,
        },
    }
}

/// The members of a read's event the reconciliation uses; the rest of the
/// body is skipped, not built.
#[derive(serde::Deserialize)]
struct ReadEvent<'a> {
    #[serde(borrow)]
    log: std::borrow::Cow<'a, str>,
    seq: u64,
    #[serde(borrow)]
    actor: std::borrow::Cow<'a, str>,
    tenant: Option<String>,
    purpose: Option<String>,
    case_id: Option<String>,
    client: Option<String>,
    #[serde(default)]
    records: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    detail: ReadDetail,
}

#[derive(Default, serde::Deserialize)]
struct ReadDetail {
    /// Grant id → the records shown under it.
    #[serde(default)]
    grants: std::collections::BTreeMap<String, Vec<serde::de::IgnoredAny>>,
}

fn read_of(row: &AuditRow) -> Result<Option<Read>> {
    let e: ReadEvent<'_> = serde_json::from_slice(&row.body)
        .map_err(|_| VaultError::Internal("stored audit event does not parse".into()))?;
    let (Some(login), Some(tenant)) = (e.actor.strip_prefix("user:"), e.tenant) else {
        return Ok(None);
    };
    let under_grants: usize = e.detail.grants.values().map(Vec::len).sum();
    let records = e.records.len();
    Ok(Some(Read {
        log: e.log.into_owned(),
        seq: e.seq,
        at: row.ts.div_euclid(1_000_000),
        login: login.to_owned(),
        tenant,
        purpose: e.purpose.unwrap_or_default(),
        case_id: e.case_id,
        client: e.client,
        grants: e.detail.grants.into_keys().collect(),
        standing_records: records.saturating_sub(under_grants),
        records,
    }))
}
