//! Breach analysis: a leaked file's values → per tenant, the customers it
//! holds (confirmed by two values of a row, possible by one), the accounts
//! that were shown them and the exports that carried them, each ranked by how
//! much of the leak it covers, with the times that bound when it was taken.
//!
//! The reads and exports come from the tenant's audit log — the one record
//! of who was shown what — read once from end to end. A leak made from one
//! account's reads has that account first; a file merged from two exports
//! shows both, with the share each explains. The analysis is itself an audit
//! event (the file's hash and the figures), so it can be re-derived later from
//! the same log and the same file.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::mpsc::SyncSender,
};

use mamori_core::{RecordId, jst};
use mamori_policy::Action;
use mamori_scan::{Kind, Streamed};
use mamori_store::{AuditQuery, each_audit_page};
use serde::Serialize;

use crate::{
    Caller, Vault,
    error::{Result, VaultError},
    leak::matching::{Found, LeakParts, Leaked, found_of},
};

/// Accounts and exports listed per tenant, most overlap first.
const TOP: usize = 20;
/// Audit events read per page: an import's event lists every record it
/// wrote, so a page of 2,000 such events held 70 MB of ids at once.
const PAGE: usize = 250;

/// One tenant's part of a leak.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantBreach {
    pub tenant: String,
    /// Customers named by two values of one row: the lower bound.
    pub people_confirmed: u64,
    /// Customers named by at least one value: the upper bound.
    pub people_possible: u64,
    /// Accounts shown any of the customers, most first.
    pub readers: Vec<Overlap>,
    /// Exports whose package held any of the customers, most first.
    pub exports: Vec<Overlap>,
    /// Audit events read for this tenant.
    pub events_read: u64,
}

/// An account or an export and how much of the leak it covers.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overlap {
    /// `user:<login>` for an account, the export's id for an export.
    pub who: String,
    /// For an export, the person who requested it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// Leaked customers it was shown (or carried).
    pub customers: u64,
    /// `customers` over the leak's possible customers of the tenant.
    pub share: f64,
    /// The first and last time it was shown one of them (RFC 3339, JST):
    /// a leak made from these reads cannot be older than the last.
    pub first: String,
    pub last: String,
}

/// The analysis of one leaked file.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreachReport {
    pub file_sha256: String,
    pub values: u64,
    pub tenants: Vec<TenantBreach>,
}

/// The analysis of one leaked file (or one entry of a zip) as people read
/// it: what it holds and, per tenant, whose customers, the categories and
/// where it came from.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileAnalysis {
    pub path: String,
    pub sha256: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub outcome: mamori_scan::Outcome,
    /// The kinds of personal data in the file, counted (氏名, 住所, 電話 …),
    /// with a masked example of each.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub items: mamori_scan::Summary,
    pub tenants: Vec<TenantAnalysis>,
    /// Exports whose watermark the file carries (canary rows, formatting
    /// marks; `match` or `possible`): read from a text or CSV file that
    /// names customers, which is what a decrypted export is.
    pub watermarks: Vec<crate::exports::TraceMatch>,
    /// Whether the file's text was checked for watermarks: not for other
    /// formats, a file naming no customer, or a text over 64 MiB (the check
    /// holds every cell of the file at once: `mamori export trace` it).
    pub watermarks_checked: bool,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantAnalysis {
    #[serde(flatten)]
    pub breach: TenantBreach,
    pub categories: Vec<Category>,
}

/// Who was shown how many of the leaked customers, and when.
#[derive(Default)]
struct Seen {
    records: HashSet<RecordId>,
    first: i64,
    last: i64,
    requester: Option<String>,
}

impl Seen {
    fn add(&mut self, r: RecordId, at: i64) {
        if self.records.is_empty() || at < self.first {
            self.first = at;
        }
        self.last = self.last.max(at);
        self.records.insert(r);
    }
}

/// Values of a leaked file matched at a time: parts of this many keep a
/// million-row file's analysis within a few hundred megabytes, the scanner
/// reading the next part while this one is matched.
const PART: usize = 100_000;
/// Largest text checked for exports' watermarks within a breach analysis
/// (as large as a file uploaded to the API may be).
const WATERMARK_MAX: u64 = 64 << 20;

impl Vault {
    /// The caller's permission to analyse a leak, asked before anything is
    /// read (a refusal is recorded); the event to record the analysis in.
    fn breach_event(&self, caller: &Caller) -> Result<mamori_audit::Event> {
        let d = self.gate.decide_breach(&caller.principal);
        self.gated(
            self.caller_event(caller, Action::BreachAnalyze.as_str(), "ok"),
            &d,
            "analysing a leaked file is for the security office",
        )
    }

    /// Analyses the values found in a leaked file (SHA-256 `file_sha256`).
    pub fn analyze_breach(
        &self,
        caller: &Caller,
        file_sha256: &[u8; 32],
        found: &[Found],
    ) -> Result<BreachReport> {
        self.breach_event(caller)?;
        let mut leak = LeakParts::default();
        self.match_part(found, &self.active_tenants()?, &mut leak)?;
        self.finish_breach(caller, file_sha256, leak)
    }

    /// A leaked file's analysis once all its parts are matched: per tenant,
    /// the accounts and exports that were shown its customers; the analysis
    /// recorded with its figures.
    fn finish_breach(
        &self,
        caller: &Caller,
        file_sha256: &[u8; 32],
        leak: LeakParts,
    ) -> Result<BreachReport> {
        let file = hex::encode(file_sha256);
        let event = self
            .breach_event(caller)?
            .detail("file_sha256", file.clone())
            .detail("values", leak.values);
        let mut report = BreachReport {
            file_sha256: file,
            values: leak.values,
            tenants: Vec::new(),
        };
        for (tenant, leaked) in &leak.tenants {
            report.tenants.push(self.tenant_breach(tenant, leaked)?);
        }
        let figures: Vec<serde_json::Value> = report
            .tenants
            .iter()
            .map(|t| {
                serde_json::json!({
                    "tenant": t.tenant,
                    "confirmed": t.people_confirmed,
                    "possible": t.people_possible,
                    "top_reader": t.readers.first().map(|r| (&r.who, r.customers)),
                    "top_export": t.exports.first().map(|r| (&r.who, r.customers)),
                })
            })
            .collect();
        self.audit.append(event.detail("tenants", figures))?;
        Ok(report)
    }

    /// Analyses leaked files as `scan` finds their values: `scan` runs on a
    /// thread of its own and hands each file's values over in parts
    /// (`mamori_scan::scan_paths_streamed`), which are matched while it reads
    /// on — so a file of a million rows is never held whole, and reading and
    /// matching share the machine's cores. Each file's analysis goes to
    /// `each` as it completes; `text` gives a text or CSV file's own text for
    /// its watermark. The gate is asked before anything is read.
    pub fn analyze_stream(
        &self,
        caller: &Caller,
        scan: impl FnOnce(mamori_scan::Limits, usize, SyncSender<Streamed>) + Send,
        text: impl Fn(&mamori_scan::FileReport) -> Option<String>,
        mut each: impl FnMut(FileAnalysis),
    ) -> Result<()> {
        self.breach_event(caller)?;
        self.match_stream(scan, |report, leak| {
            each(self.file_analysis(caller, report, leak, || text(report))?);
            Ok(())
        })
    }

    /// Runs `scan` on a thread of its own and matches each part of each
    /// file's values as it comes; `done` gets each file's report (its
    /// candidates taken) and what its values named.
    pub(crate) fn match_stream(
        &self,
        scan: impl FnOnce(mamori_scan::Limits, usize, SyncSender<Streamed>) + Send,
        mut done: impl FnMut(&mamori_scan::FileReport, LeakParts) -> Result<()>,
    ) -> Result<()> {
        let tenants = self.active_tenants()?;
        let (to, from) = std::sync::mpsc::sync_channel(2);
        std::thread::scope(|s| {
            s.spawn(move || scan(mamori_scan::Limits::default(), PART, to));
            let mut leak = LeakParts::default();
            for message in from {
                match message {
                    Streamed::Part(part) => {
                        self.match_part(&found_of(part), &tenants, &mut leak)?
                    }
                    Streamed::File(mut report) => {
                        let rest = found_of(std::mem::take(&mut report.findings.candidates));
                        self.match_part(&rest, &tenants, &mut leak)?;
                        done(&report, std::mem::take(&mut leak))?;
                    }
                }
            }
            Ok(())
        })
    }

    /// A leaked file uploaded whole (`name` says its format), each of its
    /// parts (a zip's entries) analysed. The gate is asked before anything
    /// is scanned: a caller who may not analyse costs no scan (the refusal
    /// is recorded).
    pub fn analyze_upload(
        &self,
        caller: &Caller,
        name: &str,
        bytes: &[u8],
    ) -> Result<Vec<FileAnalysis>> {
        let mut out = Vec::new();
        self.analyze_stream(
            caller,
            |limits, part, to| {
                mamori_scan::scan_buffer_streamed(name.into(), name, bytes, &limits, part, to)
            },
            // The upload's own text, for its watermark (a zip's entries are
            // not kept).
            |r| {
                (r.path.as_os_str() == name)
                    .then(|| mamori_scan::extract::text_of(r.format, bytes).map(String::from))
                    .flatten()
            },
            |a| out.push(a),
        )?;
        Ok(out)
    }

    /// What people read of one file's analysis: its items, per tenant the
    /// customers, categories, readers and exports, and the watermarks it
    /// carries. `text` is asked for only when the file names customers and
    /// is small enough to check (it may read the file again).
    fn file_analysis(
        &self,
        caller: &Caller,
        report: &mamori_scan::FileReport,
        leak: LeakParts,
        text: impl FnOnce() -> Option<String>,
    ) -> Result<FileAnalysis> {
        let mut analysis = FileAnalysis {
            path: report.path.display().to_string(),
            sha256: report.sha256.map(hex::encode),
            outcome: report.outcome.clone(),
            items: report.findings.summary(),
            tenants: Vec::new(),
            watermarks: Vec::new(),
            watermarks_checked: false,
        };
        // A file never read (too large, unreadable) has nothing to analyse.
        let Some(sha) = report.sha256 else {
            return Ok(analysis);
        };
        let BreachReport { tenants, .. } = self.finish_breach(caller, &sha, leak)?;
        analysis.tenants = tenants
            .into_iter()
            .map(|t| TenantAnalysis {
                categories: categories(&analysis.items.counts, &t),
                breach: t,
            })
            .collect();
        let checkable = !analysis.tenants.is_empty() && report.bytes <= WATERMARK_MAX;
        if let Some(text) = checkable.then(text).flatten() {
            analysis.watermarks_checked = true;
            analysis.watermarks = self
                .trace_leak(caller, None, &text)?
                .matches
                .into_iter()
                .filter(|m| m.verdict != "no_match")
                .collect();
        }
        Ok(analysis)
    }

    /// A tenant's part of a leak: its customers the file names, and the
    /// accounts and exports that were shown them.
    pub(crate) fn tenant_breach(&self, tenant: &str, named: &Leaked) -> Result<TenantBreach> {
        let leaked: HashSet<RecordId> = named.records.keys().copied().collect();
        let (readers, exports, events_read) = self.overlaps(tenant, &leaked)?;
        let possible = leaked.len() as u64;
        Ok(TenantBreach {
            tenant: tenant.to_owned(),
            people_confirmed: named.confirmed_count() as u64,
            people_possible: possible,
            readers: ranked(readers, possible),
            exports: ranked(exports, possible),
            events_read,
        })
    }

    /// One pass over the tenant's audit log: per account, the leaked
    /// customers it was shown; per export, those its package carried.
    #[allow(clippy::type_complexity)]
    fn overlaps(
        &self,
        tenant: &str,
        leaked: &HashSet<RecordId>,
    ) -> Result<(HashMap<String, Seen>, HashMap<String, Seen>, u64)> {
        let mut readers: HashMap<String, Seen> = HashMap::new();
        let mut exports: HashMap<String, Seen> = HashMap::new();
        let mut read = 0u64;
        let query = AuditQuery {
            tenant: Some(tenant.to_owned()),
            limit: PAGE,
            ..Default::default()
        };
        each_audit_page(&**self.audit.store(), query, |rows| -> Result<bool> {
            read += rows.len() as u64;
            for row in rows {
                let shown = matches!(row.action.as_str(), "record.search" | "record.read");
                let packaged = row.action == "export.package";
                if row.decision != "allow" || !(shown || packaged) {
                    continue;
                }
                let Ok(body) = serde_json::from_slice::<serde_json::Value>(&row.body) else {
                    return Err(VaultError::Internal(
                        "an audit event that does not parse".into(),
                    ));
                };
                let at = row.ts.div_euclid(1_000_000);
                let hit: Vec<RecordId> = body
                    .get("records")
                    .and_then(|r| r.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().and_then(|s| RecordId::parse(s).ok()))
                    .filter(|r| leaked.contains(r))
                    .collect();
                if hit.is_empty() {
                    continue;
                }
                let seen = if packaged {
                    let id = body["detail"]["export"].as_str().unwrap_or("").to_owned();
                    let s = exports.entry(id).or_default();
                    s.requester = body["detail"]["requester"].as_str().map(str::to_owned);
                    s
                } else {
                    readers.entry(row.actor.clone()).or_default()
                };
                for r in hit {
                    seen.add(r, at);
                }
            }
            Ok(true)
        })?;
        Ok((readers, exports, read))
    }
}

/// The `TOP` with the most leaked customers, ties by the earliest last sight.
fn ranked(seen: HashMap<String, Seen>, possible: u64) -> Vec<Overlap> {
    let mut out: Vec<Overlap> = seen
        .into_iter()
        .map(|(who, s)| Overlap {
            who,
            requester: s.requester,
            customers: s.records.len() as u64,
            share: s.records.len() as f64 / possible.max(1) as f64,
            first: jst::rfc3339(s.first),
            last: jst::rfc3339(s.last),
        })
        .collect();
    out.sort_by(|a, b| {
        b.customers
            .cmp(&a.customers)
            .then_with(|| a.last.cmp(&b.last))
            .then_with(|| a.who.cmp(&b.who))
    });
    out.truncate(TOP);
    out
}

/// A report category of the APPI's enforcement rules (施行規則第7条) as far
/// as the file and the audit log show it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Category {
    /// ①..④, or 番号法 (the My Number Act's own duty).
    pub id: &'static str,
    /// `applies`, `may_apply`, `for_a_person` (the system cannot know).
    pub verdict: &'static str,
    pub why: String,
}

impl Category {
    fn new(id: &'static str, verdict: &'static str, why: String) -> Self {
        Category { id, verdict, why }
    }
}

/// The report categories (① 要配慮, ② 財産的被害, ③ 不正の目的, ④ 1,000人超)
/// as far as the kinds found in the file (`items`) and the tenant's part
/// of the leak show them.
pub fn categories(items: &BTreeMap<Kind, u64>, t: &TenantBreach) -> Vec<Category> {
    let has = |k: Kind| items.get(&k).copied().unwrap_or(0) > 0;
    let mut out = vec![Category::new(
        "①",
        "for_a_person",
        "要配慮個人情報（病歴・信条等）はパターンでは判別できません / special-care data cannot be told by pattern".into(),
    )];
    out.push(if has(Kind::Card) {
        Category::new("②", "applies", "クレジットカード番号を含む / card numbers present".into())
    } else {
        Category::new(
            "②",
            "for_a_person",
            "カード番号なし。口座・ID等の有無は要確認 / no card numbers; accounts or credentials to be checked".into(),
        )
    });
    let top = t.readers.first().filter(|r| r.share >= 0.5);
    out.push(match top {
        Some(r) => Category::new(
            "③",
            "may_apply",
            format!(
                "{} の閲覧で漏えい顧客の {:.0}% を説明できる（内部不正の可能性） / the reads of {} explain {:.0}% of the leaked customers",
                r.who,
                r.share * 100.0,
                r.who,
                r.share * 100.0
            ),
        ),
        None => Category::new(
            "③",
            "for_a_person",
            "不正の目的の有無は要判断 / whether with unlawful intent is for a person to judge".into(),
        ),
    });
    let (confirmed, possible) = (t.people_confirmed, t.people_possible);
    out.push(if confirmed > 1000 {
        Category::new("④", "applies", format!("確認済み {confirmed} 人 / {confirmed} confirmed"))
    } else if possible > 1000 {
        Category::new(
            "④",
            "may_apply",
            format!("最大 {possible} 人（確認済み {confirmed} 人） / up to {possible} ({confirmed} confirmed)"),
        )
    } else {
        Category::new("④", "for_a_person", format!("最大 {possible} 人 / up to {possible}"))
    });
    if has(Kind::MyNumber) {
        out.push(Category::new(
            "番号法",
            "may_apply",
            "個人番号（特定個人情報）を含む: 番号法の報告要件も確認 / My Numbers present: check the My Number Act's reporting duty too".into(),
        ));
    }
    out
}
