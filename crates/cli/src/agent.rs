//! `mamori agent`: the PC agent for lent and remote PCs, and the security
//! office's side of it.
//!
//! `agent run` scans the folders given on a schedule and whenever the
//! security office has started a hunt for this machine (it asks the vault
//! at every poll, so a hunt reaches a PC when it next connects), matches
//! what it finds through the vault server with this machine's scanner
//! credential, and reports every scan. Scans are incremental: a file whose
//! size and modification time are unchanged since the last scan is not read
//! again and its earlier result is reported; every `--full-every` (and when
//! a hunt asks) everything is read again, since the vault's customers change
//! even when the files do not.
//!
//! The state directory holds no key, no index and no value found: per file
//! only the SHA-256 of its path, its size and time, and — for a file with
//! findings — the counts and tenants the vault named. A report that could
//! not be delivered waits in `outbox/` (the same counts, no values, no
//! paths) and is sent first at the next contact; the vault records a scan
//! once however often it is sent.

use std::{
    cell::RefCell,
    collections::BTreeMap,
    fs,
    io::Write,
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use mamori_app::datadir;
use mamori_core::ScanId;
use mamori_scan::{FileReport, Limits, Outcome};
use mamori_store::HuntRow;
use mamori_vault::leak::agents::{NewHunt, ReportedFile, ReportedTenant, ScanReport};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    governance::me,
    output::Out,
    scan::{Matcher, Refusal, Refused, Remote},
};

#[derive(Subcommand)]
pub enum AgentCmd {
    /// Scan on a schedule and when the security office hunts; report every scan (this machine's scanner credential).
    Run(RunArgs),
    /// Send agents hunting: the machines named (or every one) scan at their next contact (security office; --token).
    Hunt {
        /// The incident or inspection (a case id, not personal data).
        #[arg(long)]
        case_id: String,
        /// Read every file again, not only those changed since the last scan.
        #[arg(long)]
        full: bool,
        /// A machine's scanner login (repeat for several; none: every machine).
        #[arg(long = "machine", value_name = "LOGIN")]
        machines: Vec<String>,
        /// Days machines have to answer (1–90).
        #[arg(long, default_value_t = 14)]
        days: u32,
        /// The security office's age public key (age1…): each machine puts
        /// the files it finds naming customers away to it, encrypted in
        /// place (`mamori quarantine restore` brings one back).
        #[arg(long, value_name = "AGE_KEY")]
        quarantine_to: Option<String>,
    },
    /// Every machine, its last report and verdict, and whether it went silent (security office, auditors; --token).
    Machines {
        /// A machine with no report in this many days is listed as silent.
        #[arg(long, default_value_t = 7)]
        silent_days: u32,
    },
}

#[derive(Args)]
pub struct RunArgs {
    /// Folders (or files) to inspect, e.g. the users' folders.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The vault server (`https://host:port`; plain http only to this machine).
    #[arg(long, value_name = "URL")]
    server: String,
    /// The CA certificate (PEM) that signed the server's certificate.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// A file holding this machine's scanner token (instead of --token or
    /// MAMORI_TOKEN; e.g. a systemd credential).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Where the agent keeps what it remembers between scans (no key, no value).
    #[arg(long, value_name = "DIR")]
    state: PathBuf,
    /// Time between scheduled scans (s, m, h or d).
    #[arg(long, default_value = "1d", value_parser = duration)]
    every: u64,
    /// Time between full scans that read every file again.
    #[arg(long, default_value = "7d", value_parser = duration)]
    full_every: u64,
    /// Time between contacts with the vault (hunts are picked up then).
    #[arg(long, default_value = "5m", value_parser = duration)]
    poll: u64,
    /// Contact the vault once, scan (a hunt if one waits), report, and stop.
    #[arg(long)]
    once: bool,
}

/// `90s`, `15m`, `24h`, `7d` → seconds.
fn duration(s: &str) -> Result<u64, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n
        .parse()
        .map_err(|_| "a number and s, m, h or d".to_owned())?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" | "" => 86_400,
        _ => return Err("a number and s, m, h or d".into()),
    };
    match n.checked_mul(scale) {
        Some(v) if v > 0 => Ok(v),
        _ => Err("more than zero, and not absurdly long".into()),
    }
}

const STATE_FILE: &str = "agent-state.json";
const OUTBOX: &str = "outbox";

/// What the agent remembers between scans.
#[derive(Default, Serialize, Deserialize)]
struct State {
    /// The vault these results came from: another vault starts afresh.
    server: String,
    last_scan_at: Option<u64>,
    last_full_at: Option<u64>,
    /// By SHA-256 of the file's path.
    files: BTreeMap<String, Known>,
}

/// A file as last scanned.
#[derive(Clone, Serialize, Deserialize)]
struct Known {
    bytes: u64,
    mtime_ns: u64,
    /// Its findings (a zip: one per entry with any); empty when clean.
    results: Vec<ReportedFile>,
}

pub fn agent(dir: &Path, token: Option<&str>, cmd: AgentCmd, out: Out) -> Result<()> {
    match cmd {
        AgentCmd::Run(args) => run(token, args, out),
        AgentCmd::Hunt {
            case_id,
            full,
            machines,
            days,
            quarantine_to,
        } => {
            let vault = datadir::open(dir)?.vault;
            let caller = me(&vault, token)?;
            let h = NewHunt {
                case_id,
                full,
                machines,
                days: Some(days),
                quarantine_to,
            };
            let row = vault.start_hunt(&caller, &h)?;
            out.emit(&row, |h| {
                format!(
                    "hunt {} started ({}): {} scan at their next contact, until {}",
                    h.id,
                    h.case_id,
                    if h.machines.is_empty() {
                        "every machine will".to_owned()
                    } else {
                        format!("{} will", h.machines.join(", "))
                    },
                    mamori_core::jst::rfc3339(h.until)
                )
            });
            Ok(())
        }
        AgentCmd::Machines { silent_days } => {
            let vault = datadir::open(dir)?.vault;
            let caller = me(&vault, token)?;
            let list = vault.machines(&caller, silent_days)?;
            out.emit(&list, |list| {
                list.iter()
                    .map(|m| {
                        format!(
                            "{:<20} {:<10} last report {:<25} verdict {:<10} last clean {:<25} reports {:>5}  hunts open {}{}",
                            m.login,
                            if m.silent { "SILENT" } else { "reporting" },
                            m.last_report_at.as_deref().unwrap_or("never"),
                            m.last_verdict.map_or("-", |v| v.as_str()),
                            m.last_clean_at.as_deref().unwrap_or("never"),
                            m.reports,
                            m.hunts_open,
                            if m.suspended { "  (suspended)" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
    }
}

fn run(token: Option<&str>, args: RunArgs, out: Out) -> Result<()> {
    let token = match &args.token_file {
        Some(f) => Some(
            fs::read_to_string(f)
                .with_context(|| format!("cannot read the token file {}", f.display()))?
                .trim()
                .to_owned(),
        ),
        None => token.map(str::to_owned),
    };
    let remote = Remote::new(&args.server, token.as_deref(), args.ca.as_deref())?;
    let mut agent = Agent::open(&args, remote)?;
    loop {
        let outcome = agent.contact(&args, &out);
        if args.once {
            return outcome;
        }
        if let Err(e) = outcome {
            // The next contact tries again; nothing is lost meanwhile.
            eprintln!("mamori agent: {e:#}");
        }
        std::thread::sleep(Duration::from_secs(args.poll));
    }
}

struct Agent {
    dir: PathBuf,
    state: State,
    remote: Remote,
    /// The same server, matching what a scan finds.
    matcher: Matcher,
    /// Held while the agent runs: two agents on one state would undo each other.
    _lock: fs::File,
}

impl Agent {
    fn open(args: &RunArgs, remote: Remote) -> Result<Agent> {
        let dir = args.state.clone();
        fs::create_dir_all(dir.join(OUTBOX))
            .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
        restrict(&dir)?;
        let lock = fs::File::create(dir.join("agent.lock"))?;
        if lock.try_lock().is_err() {
            bail!(
                "another agent is running on {} (agent.lock is held)",
                dir.display()
            );
        }
        let server = args.server.trim_end_matches('/').to_owned();
        let mut state: State = match fs::read(dir.join(STATE_FILE)) {
            Ok(b) => serde_json::from_slice(&b).context("the agent's state file does not parse")?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(e).context("cannot read the agent's state"),
        };
        if state.server != server {
            state = State {
                server,
                ..State::default()
            };
        }
        Ok(Agent {
            dir,
            state,
            matcher: Matcher::Remote(remote.clone()),
            remote,
            _lock: lock,
        })
    }

    /// One contact: deliver waiting reports, learn the hunts, scan if one
    /// waits or the schedule says so, report.
    fn contact(&mut self, args: &RunArgs, out: &Out) -> Result<()> {
        self.flush_outbox()?;
        let hunts: Vec<HuntRow> = self.remote.get("/v1/scan/hunts/pending")?;
        let hunt = hunts.into_iter().next();
        let now = unix_now();
        let due = self
            .state
            .last_scan_at
            .is_none_or(|t| now.saturating_sub(t) >= args.every);
        if hunt.is_none() && !due && !args.once {
            return Ok(());
        }
        let full = hunt.as_ref().is_some_and(|h| h.full)
            || self
                .state
                .last_full_at
                .is_none_or(|t| now.saturating_sub(t) >= args.full_every);
        let (report, naming) = self.scan(&args.paths, hunt.as_ref(), full, out)?;
        if let Some(h) = hunt.as_ref().filter(|h| h.quarantine_to.is_some()) {
            self.put_away(h, &naming, out);
        }
        let name = format!("{now:012}-{}.json", report.scan_id);
        write_private(
            &self.dir.join(OUTBOX).join(&name),
            &serde_json::to_vec(&report)?,
        )?;
        self.state.last_scan_at = Some(now);
        if full {
            self.state.last_full_at = Some(now);
        }
        self.save()?;
        self.flush_outbox()?;
        let summary = Summary {
            scan: report.scan_id.to_string(),
            hunt: report.hunt.map(|h| h.to_string()),
            full,
            files_seen: report.files_seen,
            files_read: report.files_read,
            listed: report.files.len() as u64,
        };
        out.emit(&summary, |s| {
            format!(
                "scan {} reported{}: {} files, {} read{}, {} with findings or not inspected",
                s.scan,
                s.hunt
                    .as_ref()
                    .map_or(String::new(), |h| format!(" (hunt {h})")),
                s.files_seen,
                s.files_read,
                if s.full { " (full)" } else { " (changed only)" },
                s.listed
            )
        });
        Ok(())
    }

    /// Sends every waiting report, oldest first; stops at the first that
    /// cannot be delivered (it waits for the next contact). One the vault
    /// will never take (refused as invalid, or answering a hunt that lapsed
    /// meanwhile) is set aside as `*.refused`, so it cannot hold up the rest.
    fn flush_outbox(&self) -> Result<()> {
        let mut names: Vec<PathBuf> = fs::read_dir(self.dir.join(OUTBOX))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        for path in names {
            let report: ScanReport = serde_json::from_slice(&fs::read(&path)?)
                .with_context(|| format!("a waiting report does not parse: {}", path.display()))?;
            match self
                .remote
                .post::<_, serde_json::Value>("/v1/scan/reports", &report)
            {
                Ok(_) => fs::remove_file(&path)?,
                Err(e) if e.downcast_ref::<Refused>().is_some_and(Refused::for_good) => {
                    eprintln!(
                        "mamori agent: the vault will not take report {}: {e:#}; set aside",
                        report.scan_id
                    );
                    fs::rename(&path, path.with_extension("refused"))?;
                }
                Err(e) => return Err(e.context("a report waits in the outbox")),
            }
        }
        Ok(())
    }

    /// Puts the files found naming customers away for a hunt that asks
    /// (encrypted in place to the security office's key, as `mamori
    /// quarantine put` does) and has the vault record each. A file that
    /// cannot be put away is said, and the rest go on.
    fn put_away(&self, hunt: &HuntRow, files: &[PathBuf], out: &Out) {
        let Some(key) = &hunt.quarantine_to else {
            return;
        };
        for path in files {
            let done = crate::quarantine::put(path, key).and_then(|d| {
                let body = serde_json::json!({
                    "hunt": hunt.id.to_string(),
                    "file_sha256": d.sha256,
                    "bytes": d.bytes,
                });
                self.remote
                    .post::<_, serde_json::Value>("/v1/scan/quarantined", &body)?;
                Ok(d)
            });
            match done {
                Ok(d) => out.emit(&d, |d| {
                    format!(
                        "{} -> {} (put away for hunt {})",
                        d.file,
                        d.to.as_deref().unwrap_or(""),
                        hunt.id
                    )
                }),
                Err(e) => eprintln!("mamori agent: {}: {e:#}", path.display()),
            }
        }
    }

    /// Walks the paths: files unchanged since the last scan keep their
    /// result unless `full`; the others are read and matched.
    fn scan(
        &mut self,
        paths: &[PathBuf],
        hunt: Option<&HuntRow>,
        full: bool,
        out: &Out,
    ) -> Result<(ScanReport, Vec<PathBuf>)> {
        let started = chrono::Utc::now();
        let old = std::mem::take(&mut self.state.files);
        let walk = RefCell::new(Walk::default());
        let limits = Limits::default();
        mamori_scan::scan_paths_where(
            paths,
            &limits,
            |path, meta| walk.borrow_mut().visit(&old, path, meta, full),
            |mut report| {
                let matched = self.matcher.file(&mut report);
                walk.borrow_mut().record(&mut report, matched, out);
            },
        );
        let walk = walk.into_inner();
        if let Some(e) = walk.failure {
            // The earlier state stands; the next contact scans again.
            self.state.files = old;
            return Err(e);
        }
        self.state.files = walk.files;
        let files = self
            .state
            .files
            .values()
            .flat_map(|k| k.results.iter().cloned())
            .collect();
        let naming = walk.naming;
        let report = ScanReport {
            scan_id: ScanId::random(),
            hunt: hunt.map(|h| h.id),
            started_at: started.to_rfc3339(),
            finished_at: chrono::Utc::now().to_rfc3339(),
            full,
            roots: paths.len() as u64,
            files_seen: walk.seen,
            files_read: walk.read,
            bytes_read: walk.bytes,
            files,
        };
        Ok((report, naming))
    }

    fn save(&self) -> Result<()> {
        write_private(
            &self.dir.join(STATE_FILE),
            &serde_json::to_vec(&self.state)?,
        )
    }
}

/// What a contact's scan came to, as printed.
#[derive(Serialize)]
struct Summary {
    scan: String,
    hunt: Option<String>,
    full: bool,
    files_seen: u64,
    files_read: u64,
    listed: u64,
}

/// One scan's walk: what was seen, what was read, and each file's results.
#[derive(Default)]
struct Walk {
    files: BTreeMap<String, Known>,
    /// The file being read (its key and path), while its reports come in.
    current: Option<(String, PathBuf)>,
    /// Files read in this scan with an entry naming customers.
    naming: Vec<PathBuf>,
    seen: u64,
    read: u64,
    bytes: u64,
    failure: Option<anyhow::Error>,
}

impl Walk {
    /// Whether to read `path`: not when unchanged and not `full`.
    fn visit(
        &mut self,
        old: &BTreeMap<String, Known>,
        path: &Path,
        meta: &fs::Metadata,
        full: bool,
    ) -> bool {
        if self.failure.is_some() {
            return false;
        }
        self.seen += 1;
        let key = hex::encode(Sha256::digest(path.as_os_str().as_encoded_bytes()));
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        let known = old.get(&key);
        if !full && let Some(k) = known.filter(|k| k.bytes == meta.len() && k.mtime_ns == mtime_ns)
        {
            let mut k = k.clone();
            for r in &mut k.results {
                r.unchanged = true;
            }
            self.files.insert(key, k);
            return false;
        }
        self.read += 1;
        self.bytes += meta.len();
        self.files.insert(
            key.clone(),
            Known {
                bytes: meta.len(),
                mtime_ns,
                results: Vec::new(),
            },
        );
        self.current = Some((key, path.to_path_buf()));
        true
    }

    /// One report of the file being read (a zip gives one per entry).
    fn record(
        &mut self,
        report: &mut FileReport,
        matched: Result<Option<mamori_vault::leak::matching::MatchReport>, Refusal>,
        out: &Out,
    ) {
        let (tenants, not_matched) = match matched {
            Ok(m) => (m.map(|m| m.tenants).unwrap_or_default(), false),
            Err(Refusal::File(_)) => (Vec::new(), true),
            Err(Refusal::Fatal(e)) => {
                self.failure.get_or_insert(e);
                return;
            }
        };
        let found = report.findings.counts.clone();
        if found.is_empty() && tenants.is_empty() && !report.outcome.uninspected() {
            return;
        }
        let result = ReportedFile {
            sha256: report.sha256.map(hex::encode),
            format: report.format,
            outcome: report.outcome.clone(),
            found,
            tenants: tenants
                .iter()
                .map(|t| ReportedTenant {
                    tenant: t.tenant.clone(),
                    confirmed: t.people_confirmed,
                    possible: t.people_possible,
                })
                .collect(),
            not_matched,
            unchanged: false,
        };
        out.emit(&LocalLine::new(&report.path, &result), LocalLine::human);
        let Some((key, path)) = &self.current else {
            return;
        };
        if !result.tenants.is_empty() && self.naming.last() != Some(path) {
            self.naming.push(path.clone());
        }
        if let Some(k) = self.files.get_mut(key) {
            k.results.push(result);
        }
    }
}

/// What the agent prints on this machine (its own log): the path is here,
/// never in the report.
#[derive(Serialize)]
struct LocalLine<'a> {
    path: String,
    #[serde(flatten)]
    result: &'a ReportedFile,
}

impl<'a> LocalLine<'a> {
    fn new(path: &Path, result: &'a ReportedFile) -> Self {
        LocalLine {
            path: path.display().to_string(),
            result,
        }
    }

    fn human(&self) -> String {
        let r = self.result;
        let mut s = self.path.clone();
        if r.outcome != Outcome::Inspected {
            s.push_str(&format!("\n  {}", crate::scan::outcome_text(&r.outcome)));
        }
        for (kind, n) in &r.found {
            s.push_str(&format!(
                "\n  {:<24} {:>8}",
                format!("{} / {}", kind.label_ja(), kind.label_en()),
                n
            ));
        }
        for t in &r.tenants {
            s.push_str(&format!(
                "\n  tenant {}: customers confirmed {} / possible {}",
                t.tenant, t.confirmed, t.possible
            ));
        }
        if r.not_matched {
            s.push_str(
                "\n  not matched: over this machine's daily budget / 照合の上限を超えました",
            );
        }
        s
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Writes a file only this account can read, whole or not at all.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = private_file(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    if let Some(parent) = path.parent() {
        // The rename itself is durable once the directory is synced.
        fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

#[cfg(unix)]
fn private_file(path: &Path) -> Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    Ok(fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> Result<fs::File> {
    Ok(fs::File::create(path)?)
}

#[cfg(unix)]
fn restrict(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration("90s"), Ok(90));
        assert_eq!(duration("15m"), Ok(900));
        assert_eq!(duration("24h"), Ok(86_400));
        assert_eq!(duration("7d"), Ok(604_800));
        assert_eq!(duration("2"), Ok(172_800));
        for bad in ["", "0s", "5w", "h", "-1h", "99999999999999999999d"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }
}
