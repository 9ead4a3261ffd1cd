//! `mamori scan PATH…`: personal data left in files, found by the scanner and
//! matched against every tenant's customers — by this vault (the security
//! office's own machine, `--data-dir`; acts as you: --token) or by a vault
//! server (`--server URL`, a scanner credential per machine: the machine
//! holds no key, no index and no customer data). Prints, per file with
//! findings, what kinds were found (a masked example of each) and which
//! tenants' customers they name — confirmed (two values of one row) and
//! possible. Nothing found is written anywhere; the vault's audit log records
//! each file's hash and counts.

use std::{
    net::{IpAddr, ToSocketAddrs},
    path::PathBuf,
    time::Duration,
};

use anyhow::{Context, Result, bail};
use clap::Args;
use mamori_app::{config::ScanConfig, datadir};
use mamori_core::FieldType;
use mamori_scan::{FileReport, Limits, Outcome, Summary};
use mamori_vault::{
    ErrorCode, VaultError,
    leak::matching::{Found, MatchReport, TenantMatch, parts, take_found},
};
use serde::Serialize;

use crate::{governance::me, output::Out};

#[derive(Args)]
pub struct ScanArgs {
    /// Files or folders to scan (folders recursively; links are not followed).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Also list files in which nothing was found.
    #[arg(long)]
    pub all: bool,
    /// Only find and count, without matching against the vault's customers
    /// (no data directory or token needed).
    #[arg(long)]
    pub no_match: bool,
    /// Match through a vault server (`https://host:port`; plain http only to
    /// this machine) with a scanner credential (--token or MAMORI_TOKEN),
    /// instead of a local data directory.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// The CA certificate (PEM) that signed the server's certificate: only
    /// it is trusted.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

/// One file's line of the report.
#[derive(Serialize)]
struct FileLine {
    path: String,
    sha256: Option<String>,
    bytes: u64,
    outcome: Outcome,
    format: Option<mamori_scan::Format>,
    encoding: Option<&'static str>,
    oversized_cells: u64,
    found: Summary,
    tenants: Vec<TenantMatch>,
    /// Why the file's values were not matched, when the vault refused (its
    /// error code, e.g. `scan_budget_exhausted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    not_matched: Option<String>,
}

/// The run's totals.
#[derive(Default, Serialize)]
struct Totals {
    files: u64,
    inspected: u64,
    not_inspected: u64,
    with_findings: u64,
    naming_customers: u64,
    not_matched: u64,
}

/// Who answers "whose customers are these?".
pub(crate) enum Matcher {
    None,
    Local(
        std::sync::Arc<mamori_vault::Vault>,
        Box<mamori_vault::Caller>,
    ),
    Remote(Remote),
}

/// A vault server, called with a scanner's (or the security office's) token.
#[derive(Clone)]
pub(crate) struct Remote {
    client: reqwest::blocking::Client,
    base: String,
    token: String,
}

/// What a refused part says: matching stops for this file, not the run.
pub(crate) enum Refusal {
    /// The vault refused the file's values with this error code (over budget).
    File(String),
    Fatal(anyhow::Error),
}

impl Matcher {
    fn open(dir: &std::path::Path, token: Option<&str>, args: &ScanArgs) -> Result<Matcher> {
        if args.no_match {
            return Ok(Matcher::None);
        }
        if let Some(url) = &args.server {
            return Ok(Matcher::Remote(Remote::new(
                url,
                token,
                args.ca.as_deref(),
            )?));
        }
        let vault = datadir::open(dir)?.vault;
        let caller = me(&vault, token)?;
        Ok(Matcher::Local(vault, Box::new(caller)))
    }

    /// Values per call: the vault's setting locally; a server's default
    /// otherwise (it refuses a bigger part with `scan_too_many_values`).
    fn part_size(&self) -> usize {
        match self {
            Matcher::Local(v, _) => v.rules().scan.values_per_call,
            _ => ScanConfig::default().values_per_call,
        }
    }

    /// The file's values matched, part by part, into one report. The
    /// candidates move into the match and are gone after.
    pub(crate) fn file(&self, report: &mut FileReport) -> Result<Option<MatchReport>, Refusal> {
        let (Some(sha), false) = (report.sha256, report.findings.candidates.is_empty()) else {
            return Ok(None);
        };
        if matches!(self, Matcher::None) {
            return Ok(None);
        }
        let found = take_found(report);
        let mut whole = MatchReport::new(&sha);
        for part in parts(&found, self.part_size()) {
            let answer = match self {
                Matcher::Local(v, c) => v.match_found(c, &sha, part).map_err(local_refusal),
                Matcher::Remote(r) => r.match_part(&sha, part),
                Matcher::None => return Ok(None),
            }?;
            whole.merge(answer);
        }
        Ok(Some(whole))
    }
}

fn local_refusal(e: VaultError) -> Refusal {
    if e.code() == ErrorCode::ScanBudgetExhausted.as_str() {
        Refusal::File(e.code().to_owned())
    } else {
        Refusal::Fatal(e.into())
    }
}

/// One value as the server takes it (the server normalises it again).
#[derive(Serialize)]
struct Wire<'a> {
    kind: FieldType,
    value: &'a str,
    group: u64,
}

/// One part of a file's values, as the server takes it.
#[derive(Serialize)]
struct Part<'a> {
    file_sha256: String,
    values: Vec<Wire<'a>>,
}

impl Remote {
    pub(crate) fn new(
        url: &str,
        token: Option<&str>,
        ca: Option<&std::path::Path>,
    ) -> Result<Remote> {
        let Some(token) = token else {
            bail!(
                "matching through a server needs this machine's scanner token: --token or MAMORI_TOKEN"
            );
        };
        let url = url.trim_end_matches('/');
        mamori_audit::tls::install_provider();
        let mut builder = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(5));
        if let Some(rest) = url.strip_prefix("https://") {
            let Some(ca) = ca else {
                bail!(
                    "https://{rest}: pass the CA certificate that signed the server's certificate with --ca (PEM)"
                );
            };
            let config = mamori_audit::tls::client_config(ca).map_err(anyhow::Error::msg)?;
            builder = builder.tls_backend_preconfigured((*config).clone());
        } else if let Some(rest) = url.strip_prefix("http://") {
            // Found values are personal data: in clear only to this machine.
            if !loopback(rest) {
                bail!(
                    "http:// sends what was found in clear: only to this machine (localhost); use https:// with --ca"
                );
            }
        } else {
            bail!("--server takes https://host:port (or http://127.0.0.1:port)");
        }
        Ok(Remote {
            client: builder.build().context("cannot make an HTTP client")?,
            base: url.to_owned(),
            token: token.to_owned(),
        })
    }

    /// Sends a request, waiting out the server's per-minute request limit:
    /// a 429 whose `Retry-After` is a minute or less is tried again after
    /// it (up to ten times). A longer wait (a daily budget) is an answer.
    fn send(
        &self,
        build: impl Fn() -> reqwest::blocking::RequestBuilder,
    ) -> reqwest::Result<reqwest::blocking::Response> {
        let mut tries = 0;
        loop {
            let resp = build().send()?;
            let wait = (resp.status() == reqwest::StatusCode::TOO_MANY_REQUESTS)
                .then(|| resp.headers().get(reqwest::header::RETRY_AFTER))
                .flatten()
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                .filter(|s| *s <= 60);
            match wait {
                Some(s) if tries < 10 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_secs(s.max(1)));
                }
                _ => return Ok(resp),
            }
        }
    }

    /// `GET path` answered with JSON.
    pub(crate) fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .send(|| self.client.get(&url).bearer_auth(&self.token))
            .map_err(|e| anyhow::anyhow!("{url}: {}", e.without_url()))?;
        Self::answer(resp)
    }

    /// `POST path` with a JSON body, answered with JSON.
    pub(crate) fn post<B: Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .send(|| self.client.post(&url).bearer_auth(&self.token).json(body))
            .map_err(|e| anyhow::anyhow!("{url}: {}", e.without_url()))?;
        Self::answer(resp)
    }

    /// A success's JSON, or the refusal (`Refused`) the problem document says.
    fn answer<T: serde::de::DeserializeOwned>(resp: reqwest::blocking::Response) -> Result<T> {
        let status = resp.status();
        if status.is_success() {
            return resp
                .json::<T>()
                .map_err(|e| anyhow::anyhow!("the server's answer: {e}"));
        }
        let (code, detail) = problem(resp);
        Err(Refused {
            status: status.as_u16(),
            code,
            detail,
        }
        .into())
    }

    fn match_part(&self, sha: &[u8; 32], part: &[Found]) -> Result<MatchReport, Refusal> {
        let values: Vec<Wire> = part
            .iter()
            .map(|f| Wire {
                kind: f.ty,
                value: &f.value,
                group: f.group,
            })
            .collect();
        // Serialised straight from the candidates (no intermediate JSON tree
        // holding a second copy of every value).
        let body = Part {
            file_sha256: hex::encode(sha),
            values,
        };
        // Over this credential's daily budget: this file is not matched,
        // the run goes on.
        self.post("/v1/scan/match", &body)
            .map_err(|e| match e.downcast_ref::<Refused>() {
                Some(r) if r.code == ErrorCode::ScanBudgetExhausted.as_str() => {
                    Refusal::File(r.code.clone())
                }
                _ => Refusal::Fatal(e),
            })
    }
}

/// The server refused a call (its problem document's code and detail).
#[derive(Debug)]
pub(crate) struct Refused {
    pub status: u16,
    pub code: String,
    pub detail: String,
}

impl Refused {
    /// Sending it again will not help (a 4xx other than throttling or authentication).
    pub(crate) fn for_good(&self) -> bool {
        (400..500).contains(&self.status) && ![401, 408, 429].contains(&self.status)
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server refused ({}, {}): {}",
            self.status, self.code, self.detail
        )
    }
}

impl std::error::Error for Refused {}

/// A refusal's code and detail (the server's problem document).
fn problem(resp: reqwest::blocking::Response) -> (String, String) {
    let p: serde_json::Value = resp.json().unwrap_or_default();
    let text = |k: &str| p[k].as_str().unwrap_or("").to_owned();
    (text("code"), text("detail"))
}

/// Whether `host[:port][/…]` names this machine.
fn loopback(rest: &str) -> bool {
    let authority = rest.split('/').next().unwrap_or("");
    let with_port = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    match with_port.to_socket_addrs() {
        Ok(mut addrs) => addrs.all(|a| match a.ip() {
            IpAddr::V4(v4) => v4.is_loopback(),
            IpAddr::V6(v6) => v6.is_loopback(),
        }),
        Err(_) => false,
    }
}

pub fn scan(dir: &std::path::Path, token: Option<&str>, args: ScanArgs, out: Out) -> Result<()> {
    let matcher = Matcher::open(dir, token, &args)?;
    let limits = Limits {
        // Only counting: no candidate is kept for a match.
        max_candidates: if args.no_match {
            0
        } else {
            Limits::default().max_candidates
        },
        ..Limits::default()
    };
    let mut totals = Totals::default();
    let mut failure = None;
    mamori_scan::scan_paths(&args.paths, &limits, |mut report| {
        if failure.is_some() {
            return;
        }
        totals.files += 1;
        if report.outcome == Outcome::Inspected {
            totals.inspected += 1;
        } else {
            totals.not_inspected += 1;
        }
        let (matched, not_matched) = match matcher.file(&mut report) {
            Ok(m) => (m, None),
            Err(Refusal::File(code)) => (None, Some(code)),
            Err(Refusal::Fatal(e)) => {
                failure = Some(e);
                return;
            }
        };
        let line = FileLine {
            path: report.path.display().to_string(),
            sha256: report.sha256.map(hex::encode),
            bytes: report.bytes,
            outcome: report.outcome.clone(),
            format: report.format,
            encoding: report.encoding,
            oversized_cells: report.oversized_cells,
            found: report.findings.summary(),
            tenants: matched.map(|m| m.tenants).unwrap_or_default(),
            not_matched,
        };
        if report.findings.total() > 0 {
            totals.with_findings += 1;
        }
        if !line.tenants.is_empty() {
            totals.naming_customers += 1;
        }
        if line.not_matched.is_some() {
            totals.not_matched += 1;
        }
        if args.all || report.findings.total() > 0 || report.outcome != Outcome::Inspected {
            out.emit(&line, human);
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    out.emit(&totals, |t| {
        let mut s = format!(
            "{} files: {} inspected, {} not inspected; personal data in {}, naming customers in {}",
            t.files, t.inspected, t.not_inspected, t.with_findings, t.naming_customers
        );
        if t.not_matched > 0 {
            s.push_str(&format!(
                "; {} not matched (over this credential's daily budget: hand them to the security office)",
                t.not_matched
            ));
        }
        s
    });
    Ok(())
}

/// Why a file was not (fully) inspected, for people, in Japanese and English.
pub(crate) fn outcome_text(o: &Outcome) -> &'static str {
    match o {
        Outcome::Inspected => "inspected / 検査済み",
        Outcome::TooLarge => "too large to inspect (or a zip bomb) / 大きすぎて検査できません",
        Outcome::NotRead => "not a format this scanner reads / 対象外の形式",
        Outcome::Encrypted => {
            "password-protected: may hold anything / パスワード付きで検査できません"
        }
        Outcome::TooDeep => "archives nested too deep / 入れ子が深すぎます",
        Outcome::Damaged => "damaged: read up to the damage / 破損（読めた部分まで検査）",
        Outcome::LegacyOffice => {
            "an Office file older than Office 97, not read / Office 97より前の形式（未対応）"
        }
        Outcome::Unreadable => "unreadable / 読めません",
    }
}

fn human(l: &FileLine) -> String {
    let mut s = l.path.clone();
    match &l.outcome {
        Outcome::Inspected => {}
        other => {
            let why = outcome_text(other);
            s.push_str(&format!("\n  {why}"));
            // A damaged file may still have given something before the damage.
            if l.found.counts.is_empty() {
                return s;
            }
        }
    }
    if let Some(e) = l.encoding {
        s.push_str(&format!("  ({e})"));
    }
    for (kind, n) in &l.found.counts {
        let example = l.found.examples.get(kind).map(String::as_str).unwrap_or("");
        s.push_str(&format!(
            "\n  {:<24} {:>8}  e.g. {example}",
            format!("{} / {}", kind.label_ja(), kind.label_en()),
            n
        ));
    }
    if l.not_matched.is_some() {
        s.push_str(
            "\n  not matched: over this credential's daily scan budget — hand the file to the security office / 照合の上限を超えました（情報セキュリティ部門へ）",
        );
    }
    for t in &l.tenants {
        s.push_str(&format!(
            "\n  tenant {}: customers confirmed {} / possible {} (values matched {})",
            t.tenant, t.people_confirmed, t.people_possible, t.values_matched
        ));
    }
    if l.oversized_cells > 0 {
        s.push_str(&format!(
            "\n  {} cells longer than the limit were inspected only up to it",
            l.oversized_cells
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use std::{
        io::{Read, Write},
        net::TcpListener,
    };

    use super::Remote;

    /// A server on this machine that answers each request with the next of
    /// `answers` (status line and headers), with a small JSON body.
    fn server(answers: Vec<&'static str>) -> (String, std::thread::JoinHandle<usize>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let t = std::thread::spawn(move || {
            let mut served = 0;
            for head in answers {
                let (mut c, _) = l.accept().unwrap();
                let mut buf = [0u8; 4096];
                let _ = c.read(&mut buf);
                let body = r#"{"code":"rate_limited","detail":"wait"}"#;
                let _ = write!(
                    c,
                    "{head}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                served += 1;
            }
            served
        });
        (url, t)
    }

    #[test]
    fn a_request_waits_out_the_per_minute_limit_but_not_a_daily_budget() {
        let (url, t) = server(vec![
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: 1",
            "HTTP/1.1 200 OK",
        ]);
        let r = Remote::new(&url, Some("t"), None).unwrap();
        let got: serde_json::Value = r.get("/x").unwrap();
        assert_eq!(got["code"], "rate_limited");
        assert_eq!(t.join().unwrap(), 2, "asked again after the wait");

        // A wait of hours (a spent daily budget) is the answer, not a pause.
        let (url, t) = server(vec!["HTTP/1.1 429 Too Many Requests\r\nretry-after: 36000"]);
        let r = Remote::new(&url, Some("t"), None).unwrap();
        assert!(r.get::<serde_json::Value>("/x").is_err());
        assert_eq!(t.join().unwrap(), 1);
    }
}
