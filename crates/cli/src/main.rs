//! `mamori`: the command line. Glue only — every operation lives in a library
//! crate; this file parses arguments, calls it, and prints the result.

mod agent;
mod audit;
mod breach;
mod demo;
mod detect;
mod directive;
mod egress;
mod export;
mod governance;
mod inspect;
mod output;
mod period;
mod quarantine;
mod reconcile;
mod report;
mod review;
mod scan;
mod store;
mod vendor_audit;
mod witness;

use std::{
    collections::BTreeMap,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use mamori_app::datadir;
use mamori_core::{Role, schema::CONTACT_CENTRE_SCHEMA};
use mamori_import::{EncodingChoice, ImportOptions};
use mamori_vault::full_access::{Assigned, RequestState};
use output::Out;
use serde_json::json;

// Imports and the server allocate many short-lived strings across threads;
// mimalloc handles that pattern with far less contention than glibc malloc
// (BENCHMARKS.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "mamori",
    version,
    about = "mamori (守り): a customer-data vault that makes insider leaks impossible or loud"
)]
struct Cli {
    /// Data directory of the vault.
    #[arg(
        long,
        global = true,
        env = "MAMORI_DATA_DIR",
        default_value = "mamori-data"
    )]
    data_dir: PathBuf,
    /// Where the vault's data lives: empty for the SQLite files of the data
    /// directory, or postgres://user@host:5432/db (password in
    /// MAMORI_PG_PASSWORD). Overrides `[store] url` of mamori.toml.
    #[arg(long, global = true, env = "MAMORI_STORE")]
    store: Option<String>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    json: bool,
    /// Your API token, for commands that act as you (access, people, vendor).
    #[arg(long, global = true, env = "MAMORI_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new data directory (config, root key, databases, policies).
    Init,
    /// Run the HTTP API.
    Serve {
        /// Address to listen on (default: server.listen from mamori.toml).
        #[arg(long)]
        listen: Option<String>,
    },
    /// A ready-to-try vault: two tenants of synthetic customers, a user per role, the server.
    Demo {
        /// Customers per tenant.
        #[arg(long, default_value_t = 50_000)]
        records: u64,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Set up the data and print the example calls, without serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// Client organisations (tenants).
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Tenant keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// People and their API tokens.
    #[command(subcommand)]
    User(UserCmd),
    /// SCIM provisioning: the tokens an identity provider (Entra ID, Okta…)
    /// uses on /scim/v2 to create, change and offboard people.
    #[command(subcommand)]
    Scim(ScimCmd),
    /// Import customers from a CSV file (UTF-8 or Shift_JIS).
    Import {
        #[arg(long)]
        tenant: String,
        /// Segment for rows that name none.
        #[arg(long)]
        segment: Option<String>,
        #[arg(long, value_enum, default_value_t = EncodingArg::Auto)]
        encoding: EncodingArg,
        /// TOML file of extra header mappings: "列名" = "field" (or "-" to skip a column).
        #[arg(long)]
        map: Option<PathBuf>,
        file: PathBuf,
    },
    /// Write synthetic Japanese customers as CSV.
    Gen {
        #[arg(long)]
        records: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, value_enum, default_value_t = GenEncoding::Utf8)]
        encoding: GenEncoding,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The audit log.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Alerts raised by detection: list, show, acknowledge, assign, resolve (acts as you: --token).
    #[command(subcommand)]
    Alert(detect::AlertCmd),
    /// Decoy (honey) customers: any access to one raises a critical alert.
    #[command(subcommand)]
    Honey(detect::HoneyCmd),
    /// Shift calendars and named shifts, for the off-hours rule.
    #[command(subcommand)]
    Shift(detect::ShiftCmd),
    /// The call system's case feed: which customer each case is about.
    #[command(subcommand)]
    Case(detect::CaseCmd),
    /// Detection rules: print the defaults, check a rules file, replay history.
    #[command(subcommand)]
    Detect(detect::DetectCmd),
    /// Storage: copy a vault from its SQLite files into PostgreSQL.
    #[command(subcommand)]
    Store(store::StoreCmd),
    /// Corrective directives (是正指示): issue, acknowledge, list (acts as you: --token).
    #[command(subcommand)]
    Directive(directive::DirectiveCmd),
    /// A witness for other vaults' audit logs (run it on another machine).
    #[command(subcommand)]
    Witness(witness::WitnessCmd),
    /// Just-in-time access: requests, approvals, grants (acts as you: --token).
    #[command(subcommand)]
    Access(governance::AccessCmd),
    /// Training and compliance records (security office; acts as you: --token).
    #[command(subcommand)]
    People(governance::PeopleCmd),
    /// Vendors and their contracts (security office; acts as you: --token).
    #[command(subcommand)]
    Vendor(governance::VendorCmd),
    /// Oversight reports (security office, auditors; acts as you: --token).
    #[command(subcommand)]
    Report(report::ReportCmd),
    /// Monthly reconciliation: reads × grants × PC logons × room presence (security office; --token).
    #[command(subcommand)]
    Reconcile(reconcile::ReconcileCmd),
    /// Quarterly access reviews: campaigns, items with evidence, decisions (acts as you: --token).
    #[command(subcommand)]
    Review(review::ReviewCmd),
    /// Self-inspection from the vault's records, and declarations (security office, auditors; --token).
    #[command(subcommand)]
    Inspect(inspect::InspectCmd),
    /// The register of external destinations allowed from the secure area, and its allow-list (--token).
    #[command(subcommand)]
    Egress(egress::EgressCmd),
    /// Bulk exports with k-of-n approval, encrypted to the recipient (acts as you: --token).
    #[command(subcommand)]
    Export(export::ExportCmd),
    /// Find personal data left in files and whose customers it names (security office; --token).
    Scan(scan::ScanArgs),
    /// Leak response: whose customers a leaked file holds and where it came from (security office; --token).
    #[command(subcommand)]
    Breach(breach::BreachCmd),
    /// PC agents: scan on a schedule and when hunted, report every scan; hunts and the machines' reports (--token).
    #[command(subcommand)]
    Agent(agent::AgentCmd),
    /// Files found holding personal data: encrypt them to the security office's key, restore, delete (--token).
    #[command(subcommand)]
    Quarantine(quarantine::QuarantineCmd),
}

#[derive(Subcommand)]
enum TenantCmd {
    /// Create a tenant with its own keys.
    Create {
        id: String,
        #[arg(long)]
        name: String,
        /// Schema TOML (default: the contact-centre schema).
        #[arg(long)]
        schema: Option<PathBuf>,
    },
    List,
    /// Print the default contact-centre schema, to start your own from.
    DefaultSchema,
    /// Cap the people with standing access to every segment (security office; --token).
    SetFullAccessCap {
        id: String,
        /// The cap, or "default" for the configured default.
        #[arg(long)]
        cap: String,
    },
    /// Destroy a tenant's keys: its data becomes unrecoverable.
    Shred {
        id: String,
        /// Type the tenant id again to confirm.
        #[arg(long)]
        confirm: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeyCmd {
    /// Make a new key version for new writes.
    Rotate {
        #[arg(long)]
        tenant: String,
    },
    /// Re-encrypt records under older key versions (resumable).
    Rewrap {
        #[arg(long)]
        tenant: String,
        /// Records per atomic batch (default: the import's `import.batch_size`).
        #[arg(long)]
        batch: Option<usize>,
    },
    /// Move every wrapped key to another root-key provider (`file`,
    /// `pkcs11`, `transit`) in one audited transaction, then set `[keys]
    /// provider`.
    /// Stop every server of the vault first.
    Migrate {
        /// The provider to move to, configured in `[keys]` (for `file`: the
        /// key file, created when there is none).
        #[arg(long)]
        to: String,
    },
    /// Unwrap every stored key under the configured provider and say which
    /// do not open (exit code 3 if any), without touching a record.
    Check,
    /// Create the root key on the PKCS#11 token `[keys.pkcs11]` names (or
    /// MAMORI_KEYS_PKCS11_* before `init`): AES-256, generated inside the
    /// token, never extractable. Needs the token's PIN (MAMORI_PKCS11_PIN).
    Pkcs11Create,
}

#[derive(Subcommand)]
enum ScimCmd {
    /// Issue a provisioning token under a label (e.g. entra); shown once.
    /// Paste it into the provider's provisioning settings as the secret token.
    IssueToken { label: String },
    /// Revoke the live provisioning token under a label: the provider's
    /// next request is refused.
    RevokeToken { label: String },
    /// The provisioning tokens, live and revoked (labels and dates only).
    Tokens,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a user; prints their API token once.
    Create {
        login: String,
        #[arg(long)]
        role: Role,
        #[arg(long)]
        department: Option<String>,
        /// Registered vendor of a contractor (`mamori vendor create`).
        #[arg(long)]
        vendor: Option<String>,
        /// Who approves their access requests.
        #[arg(long)]
        manager: Option<String>,
    },
    /// Set (or with no --manager, clear) who approves a user's requests.
    SetManager {
        login: String,
        #[arg(long)]
        manager: Option<String>,
    },
    /// Assign a user to a tenant (all segments, or one).
    Assign {
        login: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        segment: Option<String>,
    },
    /// Remove a user's assignment to one segment of a tenant (standing full
    /// access ends with `mamori access full-access revoke`).
    Unassign {
        login: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        segment: String,
    },
    /// Issue another API token (for machines and break-glass; people sign
    /// in to the console through the identity provider).
    Token {
        login: String,
        /// How long it works: e.g. 90d, 12h, or never.
        #[arg(long, default_value = "90d")]
        expires: String,
        /// Keep it to these tenants (repeat for several); default: whatever
        /// the person may act on.
        #[arg(long = "tenant")]
        tenants: Vec<String>,
    },
    /// Link a person to their identity at an identity provider
    /// (`[[identity.oidc]]`): the provider's `sub`, or `tid/oid` for Entra.
    Link {
        login: String,
        #[arg(long)]
        provider: String,
        #[arg(long)]
        subject: String,
    },
    /// Remove a link to an identity.
    Unlink {
        #[arg(long)]
        provider: String,
        #[arg(long)]
        subject: String,
    },
    /// A person's identities at identity providers.
    Identities {
        login: String,
    },
    /// Revoke every token of a user.
    Revoke {
        login: String,
    },
    /// Offboard a person at once: suspended (kept as a tombstone), every
    /// token and session revoked, their pending requests, live grants,
    /// exports not yet downloaded and standing full access revoked, their
    /// approvals of exports still collecting approvals withdrawn — in one
    /// transaction, recorded in the audit log.
    Deprovision {
        login: String,
    },
    List,
    /// Record the day a person leaves (end of employment or assignment):
    /// detection watches their last 30 days more closely.
    Leaves {
        login: String,
        /// The leaving day (YYYY-MM-DD).
        #[arg(long, conflicts_with = "clear", required_unless_present = "clear")]
        on: Option<chrono::NaiveDate>,
        /// Remove a recorded leaving day.
        #[arg(long)]
        clear: bool,
    },
    /// Suspend a person's access pending review (acts as you: --token).
    Suspend {
        login: String,
        /// The alert the suspension follows.
        #[arg(long)]
        alert: Option<String>,
    },
    /// End a suspension (acts as you: --token).
    Reinstate {
        login: String,
    },
    /// Staff households from HR (family name, home address), so that
    /// detection sees people look up themselves or their relatives. Kept
    /// only as keyed tokens: mamori can match them, never print them.
    #[command(subcommand)]
    Household(HouseholdCmd),
}

#[derive(Subcommand)]
enum HouseholdCmd {
    /// Import a CSV `login,family_name,family_name_kana,address`
    /// (or `ログイン,姓,姓カナ,住所`; UTF-8). One family-name column may be
    /// left out. Checked whole before anything is written; a person in the
    /// file replaces what was known of them.
    Import { file: PathBuf },
    /// Forget a person's household.
    Clear { login: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum EncodingArg {
    Auto,
    #[value(name = "utf-8")]
    Utf8,
    #[value(name = "shift_jis")]
    ShiftJis,
}

#[derive(Clone, Copy, ValueEnum)]
enum GenEncoding {
    #[value(name = "utf-8")]
    Utf8,
    #[value(name = "shift_jis")]
    ShiftJis,
}

fn main() -> ExitCode {
    // Every file mamori writes (databases, keys, packages, cursors, archives)
    // is its owner's alone, whatever umask the shell had.
    // SAFETY: umask only sets the process's file-creation mask.
    unsafe { libc::umask(0o077) };
    let cli = Cli::parse();
    if let Some(url) = &cli.store {
        // SAFETY: still single-threaded (nothing has been started yet). The
        // configuration loader reads the store from the environment, so one
        // variable carries `--store` to every command and child process.
        unsafe { std::env::set_var(mamori_app::config::STORE_ENV, url) };
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MAMORI_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let out = Out { json: cli.json };
    match run(cli, out) {
        Ok(code) => code,
        Err(e) => {
            if out.json {
                println!("{}", json!({"error": format!("{e:#}")}));
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Who the CLI acts as in the audit log: the operating-system account the
/// process runs as, from its real uid — not `$USER`, which anyone can set
/// to anything (or unset). `cli:uid:N` when the account has no name.
pub fn cli_actor() -> String {
    // SAFETY: getuid cannot fail and touches no memory of ours.
    let uid = unsafe { libc::getuid() };
    match account_name(uid) {
        Some(name) => format!("cli:{name}"),
        None => format!("cli:uid:{uid}"),
    }
}

/// The name of the account `uid` (the passwd database, through NSS).
fn account_name(uid: libc::uid_t) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value of the plain C struct.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is to memory we own and outlives the call;
    // getpwuid_r writes the strings into `buf` and points `pwd` at them.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found) };
    if rc != 0 || found.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name points into `buf`, NUL-terminated by getpwuid_r.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    let name = name.to_str().ok()?;
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-$".contains(&b));
    plain.then(|| name.to_owned())
}

fn run(cli: Cli, out: Out) -> Result<ExitCode> {
    let dir = cli.data_dir.as_path();
    match cli.command {
        Command::Init => {
            let report = datadir::init(dir)?;
            out.emit(&report, |r| {
                format!(
                    "initialised vault in {}\n  root key: {}\n  config:   {}",
                    r.data_dir.display(),
                    r.root_key,
                    r.config.display()
                )
            });
        }
        Command::Serve { listen } => serve(dir, listen)?,
        Command::Demo {
            records,
            listen,
            no_serve,
        } => demo::run(dir, records, &listen, no_serve, out)?,
        Command::Tenant(cmd) => tenant(dir, cli.token.as_deref(), cmd, out)?,
        Command::Access(cmd) => governance::access(dir, cli.token.as_deref(), cmd, out)?,
        Command::People(cmd) => governance::people(dir, cli.token.as_deref(), cmd, out)?,
        Command::Vendor(cmd) => governance::vendor(dir, cli.token.as_deref(), cmd, out)?,
        Command::Report(cmd) => return report::report(dir, cli.token.as_deref(), cmd, out),
        Command::Reconcile(cmd) => reconcile::reconcile(dir, cli.token.as_deref(), cmd, out)?,
        Command::Review(cmd) => review::review(dir, cli.token.as_deref(), cmd, out)?,
        Command::Inspect(cmd) => inspect::inspect(dir, cli.token.as_deref(), cmd, out)?,
        Command::Egress(cmd) => egress::egress(dir, cli.token.as_deref(), cmd, out)?,
        Command::Export(cmd) => export::export(dir, cli.token.as_deref(), cmd, out)?,
        Command::Scan(args) => scan::scan(dir, cli.token.as_deref(), args, out)?,
        Command::Breach(cmd) => breach::breach(dir, cli.token.as_deref(), cmd, out)?,
        Command::Quarantine(cmd) => quarantine::quarantine(dir, cli.token.as_deref(), cmd, out)?,
        Command::Agent(cmd) => agent::agent(dir, cli.token.as_deref(), cmd, out)?,
        Command::Key(cmd) => return key(dir, cmd, out),
        Command::User(cmd) => user(dir, cli.token.as_deref(), cmd, out)?,
        Command::Scim(cmd) => scim(dir, cmd, out)?,
        Command::Import {
            tenant,
            segment,
            encoding,
            map,
            file,
        } => {
            let opened = datadir::open(dir)?;
            let map = match map {
                Some(p) => mamori_import::load_map(&p)?,
                None => BTreeMap::new(),
            };
            let opts = ImportOptions {
                tenant,
                segment,
                encoding: match encoding {
                    EncodingArg::Auto => EncodingChoice::Auto,
                    EncodingArg::Utf8 => EncodingChoice::Utf8,
                    EncodingArg::ShiftJis => EncodingChoice::ShiftJis,
                },
                map,
                batch_size: opened.config.import.batch_size,
                group_records: opened.config.import.group_records,
            };
            let bar = out.progress(0, "import");
            let summary =
                mamori_import::import_file(&opened.vault, &cli_actor(), &file, &opts, |p| {
                    bar.set_length(p.total);
                    bar.set_position(p.done);
                })?;
            bar.finish_and_clear();
            out.emit(&summary, |s| {
                let mut t = format!(
                    "imported {} rows ({}) into '{}': {} new, {} updated, {} rejected",
                    s.rows, s.encoding, opts.tenant, s.inserted, s.updated, s.rejected
                );
                for r in &s.rejections {
                    t.push_str(&format!("\n  line {}: {} ({})", r.line, r.reason, r.code));
                }
                t
            });
        }
        Command::Gen {
            records,
            seed,
            encoding,
            out: file,
        } => {
            let enc = match encoding {
                GenEncoding::Utf8 => mamori_synth::Encoding::Utf8,
                GenEncoding::ShiftJis => mamori_synth::Encoding::ShiftJis,
            };
            let bar = if file.is_some() {
                out.progress(records, "gen")
            } else {
                indicatif::ProgressBar::hidden()
            };
            let sink: Box<dyn Write> = match &file {
                Some(p) => Box::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("cannot create {}", p.display()))?,
                ),
                None => Box::new(std::io::stdout().lock()),
            };
            let written = mamori_synth::write_csv(
                BufWriter::with_capacity(1 << 20, sink),
                seed,
                records,
                enc,
                |n| bar.set_position(n),
            );
            match written {
                // `mamori gen | head`: the reader has what it wanted.
                Err(e) if file.is_none() && e.kind() == std::io::ErrorKind::BrokenPipe => {
                    return Ok(ExitCode::SUCCESS);
                }
                other => other?,
            }
            bar.finish_and_clear();
            if let Some(p) = file {
                out.emit(&json!({"records": records, "seed": seed, "out": p}), |_| {
                    format!("wrote {records} synthetic customers to {}", p.display())
                });
            }
        }
        Command::Audit(cmd) => return audit::run(dir, cmd, out),
        Command::Witness(cmd) => witness::run(cmd, out)?,
        Command::Directive(cmd) => directive::run(dir, cli.token.as_deref(), cmd, out)?,
        Command::Alert(cmd) => detect::alert(dir, cli.token.as_deref(), cmd, out)?,
        Command::Honey(cmd) => detect::honey(dir, cmd, out)?,
        Command::Case(cmd) => detect::case(dir, cmd, out)?,
        Command::Detect(cmd) => detect::detect(dir, cmd, out)?,
        Command::Shift(cmd) => detect::shift(dir, cmd, out)?,
        Command::Store(cmd) => store::run(dir, cmd, out)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(dir: &Path, listen: Option<String>) -> Result<()> {
    let mut opened = datadir::open(dir)?;
    mamori_app::identity::require_secrets(&opened.config.identity.oidc, dir)?;
    datadir::start_detection(dir, &mut opened)?;
    let addr = listen.unwrap_or(opened.config.server.listen.clone());
    serve_vault(opened, &addr, |_| {})
}

/// The environment variable holding the token a metrics scraper presents
/// on the API's address.
const METRICS_TOKEN_ENV: &str = "MAMORI_METRICS_TOKEN";

/// Binds, reports the address, and serves until SIGINT or SIGTERM.
pub fn serve_vault(
    opened: datadir::Opened,
    addr: &str,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> Result<()> {
    // The handle keeps the order of the end: the server lets go of its
    // copies, detection stops (it may record a last alert), then the vault's
    // last copy signs the final checkpoint.
    let datadir::Opened {
        watch,
        vault,
        config,
        audit_key,
        dir,
    } = opened;
    let report_font = match config.report.font_bytes(&dir) {
        Ok(Some(f)) => Some(std::sync::Arc::new(f)),
        Ok(None) => {
            tracing::warn!(
                "no Japanese font for PDF reports (install fonts-ipaexfont-gothic or set [report] font); CSV and Excel reports are served"
            );
            None
        }
        Err(e) => anyhow::bail!("[report] font: {e}"),
    };
    let server = &config.server;
    let metrics_access = match std::env::var(METRICS_TOKEN_ENV) {
        Ok(t) if t.trim().len() >= 16 => mamori_server::MetricsAccess::with_token(t.trim()),
        Ok(t) if !t.trim().is_empty() => {
            anyhow::bail!("{METRICS_TOKEN_ENV} must be at least 16 characters")
        }
        _ => mamori_server::MetricsAccess::default(),
    };
    let metrics_addr = server.metrics_listen.clone();
    let detection = watch.as_ref().map(|w| w.status());
    let served = vault.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let metrics_listener = if metrics_addr.is_empty() {
            None
        } else {
            let l = tokio::net::TcpListener::bind(&metrics_addr)
                .await
                .with_context(|| {
                    format!("cannot listen on {metrics_addr} (server.metrics_listen)")
                })?;
            tracing::info!(local = %l.local_addr()?, "metrics listening");
            Some(l)
        };
        let local = listener.local_addr()?;
        tracing::info!(%local, "mamori listening");
        on_ready(local);
        let options = mamori_server::Options {
            metrics_access,
            metrics_listener,
            detection,
            report_font,
            audit_key: Some(audit_key),
        };
        mamori_server::serve(served, listener, options, shutdown_signal()).await?;
        Ok::<_, anyhow::Error>(())
    })?;
    drop(watch);
    drop(vault);
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
    tracing::info!("shutting down");
}

fn tenant(dir: &Path, token: Option<&str>, cmd: TenantCmd, out: Out) -> Result<()> {
    if let TenantCmd::DefaultSchema = cmd {
        output::write_stdout(CONTACT_CENTRE_SCHEMA);
        return Ok(());
    }
    let vault = datadir::open(dir)?.vault;
    match cmd {
        TenantCmd::Create { id, name, schema } => {
            let src = match schema {
                Some(p) => std::fs::read_to_string(&p)
                    .with_context(|| format!("cannot read {}", p.display()))?,
                None => CONTACT_CENTRE_SCHEMA.to_owned(),
            };
            let t = vault.create_tenant(&cli_actor(), &id, &name, &src)?;
            out.emit(&t, |t| {
                format!(
                    "created tenant '{}' ({}) with segments {} and purposes {}",
                    t.id,
                    t.name,
                    t.segments.join(", "),
                    t.purposes.join(", ")
                )
            });
        }
        TenantCmd::List => {
            let ts = vault.tenants()?;
            out.emit(&ts, |ts| {
                ts.iter()
                    .map(|t| {
                        format!(
                            "{:<20} {:<10?} key v{} {:>9} records  {}",
                            t.id, t.status, t.key_version, t.records, t.name
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        TenantCmd::Shred { id, confirm } => {
            let typed = match confirm {
                Some(c) => c,
                None if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
                    eprint!(
                        "This destroys every key of tenant '{id}'; its data can never be read again.\nType the tenant id to confirm: "
                    );
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim().to_owned()
                }
                None => bail!("shredding needs confirmation: pass --confirm {id}"),
            };
            if typed != id {
                bail!("confirmation does not match the tenant id; nothing was changed");
            }
            vault.shred(&cli_actor(), &id)?;
            out.emit(&json!({"tenant": id, "shredded": true}), |_| {
                format!("tenant '{id}' shredded: its keys are destroyed")
            });
        }
        TenantCmd::SetFullAccessCap { id, cap } => {
            let caller = governance::me(&vault, token)?;
            let cap = match cap.as_str() {
                "default" => None,
                n => Some(
                    n.parse::<u32>()
                        .with_context(|| format!("--cap takes a number or 'default', not '{n}'"))?,
                ),
            };
            vault.set_full_access_cap(&caller, &id, cap)?;
            out.emit(
                &json!({"tenant": id, "full_access_cap": cap}),
                |_| match cap {
                    Some(n) => format!("tenant '{id}': at most {n} standing full-access holders"),
                    None => {
                        format!("tenant '{id}': full-access cap back to the configured default")
                    }
                },
            );
        }
        TenantCmd::DefaultSchema => unreachable!("handled above"),
    }
    Ok(())
}

fn key(dir: &Path, cmd: KeyCmd, out: Out) -> Result<ExitCode> {
    match cmd {
        KeyCmd::Rotate { tenant } => {
            let vault = datadir::open(dir)?.vault;
            let v = vault.rotate_key(&cli_actor(), &tenant)?;
            out.emit(&json!({"tenant": tenant, "key_version": v}), |_| format!("tenant '{tenant}' now writes with key version {v}; run `mamori key rewrap --tenant {tenant}` to move old records"));
        }
        KeyCmd::Rewrap { tenant, batch } => {
            let opened = datadir::open(dir)?;
            let vault = opened.vault;
            let total = vault.tenant_summary(&tenant)?.records;
            let bar = out.progress(total, "rewrap");
            let batch = batch.unwrap_or(opened.config.import.batch_size);
            let group = opened.config.import.group_records;
            let n = vault.rewrap(&cli_actor(), &tenant, batch, group, |p| {
                bar.set_position(p.rewrapped)
            })?;
            bar.finish_and_clear();
            out.emit(&json!({"tenant": tenant, "rewrapped": n}), |_| {
                format!("re-encrypted {n} records of '{tenant}' under the current key")
            });
        }
        KeyCmd::Migrate { to } => key_migrate(dir, &to, out)?,
        KeyCmd::Check => {
            let vault = datadir::open(dir)?.vault;
            let check = vault.check_keys(&cli_actor())?;
            out.emit(&json!(check), |_| {
                let mut text = format!(
                    "{} tenant key versions and {} deployment secrets open under {}",
                    check.tenant_keys, check.deployment_secrets, check.provider
                );
                for f in &check.failed {
                    text.push_str(&format!("\nDOES NOT OPEN: {f}"));
                }
                text
            });
            if !check.failed.is_empty() {
                return Ok(ExitCode::from(3));
            }
        }
        KeyCmd::Pkcs11Create => {
            let config = mamori_app::config::Config::load_or_defaults(dir)?;
            mamori_app::keys::create_pkcs11_key(dir, &config)?;
            let p = &config.keys.pkcs11;
            out.emit(&json!({"token": p.token_label, "key": p.key_label}), |_| {
                format!(
                    "created key '{}' on PKCS#11 token '{}' (AES-256, generated inside, not extractable)",
                    p.key_label, p.token_label
                )
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `key migrate --to KIND`: every wrapped key moved, then the configuration.
fn key_migrate(dir: &Path, to: &str, out: Out) -> Result<()> {
    use mamori_app::keys;
    use mamori_crypto::ProviderKind;
    let Some(kind) = ProviderKind::parse(to) else {
        bail!(
            "--to: one of {}",
            ProviderKind::ALL.map(|k| k.name()).join(", ")
        );
    };
    let opened = datadir::open(dir)?;
    let target = match kind {
        ProviderKind::File => keys::file_provider_for_migration(dir, &opened.config)?,
        other => keys::provider_of(other, dir, &opened.config)?,
    };
    let moved = opened.vault.migrate_keys(&cli_actor(), target.as_ref())?;
    keys::set_configured_kind(dir, kind)?;
    out.emit(&json!(moved), |_| {
        format!(
            "moved {} tenant key versions and {} deployment secrets from {} to {}; \
             mamori.toml now says [keys] provider = \"{}\"",
            moved.tenant_keys,
            moved.deployment_secrets,
            moved.from,
            moved.to,
            kind.name()
        )
    });
    Ok(())
}

fn scim(dir: &Path, cmd: ScimCmd, out: Out) -> Result<()> {
    let vault = datadir::open(dir)?.vault;
    let actor = cli_actor();
    match cmd {
        ScimCmd::IssueToken { label } => {
            let token = vault.scim_issue_token(&actor, &label)?;
            out.emit(&json!({"label": label, "token": token.as_str()}), |_| {
                format!(
                    "provisioning token '{label}' (shown once; the provider's secret token for /scim/v2):\n{}",
                    token.as_str()
                )
            });
        }
        ScimCmd::RevokeToken { label } => {
            vault.scim_revoke_token(&actor, &label)?;
            out.emit(&json!({"label": label, "revoked": true}), |_| {
                format!("provisioning token '{label}' revoked")
            });
        }
        ScimCmd::Tokens => {
            let tokens = vault.scim_tokens()?;
            out.emit(&json!(tokens), |_| {
                let mut t = String::from("label\tcreated\trevoked\n");
                for r in &tokens {
                    t.push_str(&format!(
                        "{}\t{}\t{}\n",
                        r.label,
                        mamori_core::jst::rfc3339(r.created_at),
                        r.revoked_at.map_or("-".into(), mamori_core::jst::rfc3339)
                    ));
                }
                t
            });
        }
    }
    Ok(())
}

fn user(dir: &Path, token: Option<&str>, cmd: UserCmd, out: Out) -> Result<()> {
    let vault = datadir::open(dir)?.vault;
    let actor = cli_actor();
    match cmd {
        UserCmd::Leaves { login, on, clear: _ } => {
            let at = on.map(mamori_core::jst::midnight);
            vault.set_leaving_date(&actor, &login, at)?;
            out.emit(&json!({"login": login, "leaves_on": on}), |_| match on {
                Some(d) => format!("'{login}' leaves on {d}; detection watches their last 30 days more closely"),
                None => format!("no leaving day recorded for '{login}'"),
            });
        }
        UserCmd::Suspend { login, alert } => {
            let caller = governance::me(&vault, token)?;
            vault.suspend_user(&caller, &login, alert.as_deref())?;
            out.emit(&json!({"login": login, "suspended": true}), |_| {
                format!("suspended '{login}': every request of theirs is refused until reinstated")
            });
        }
        UserCmd::Reinstate { login } => {
            let caller = governance::me(&vault, token)?;
            vault.reinstate_user(&caller, &login)?;
            out.emit(&json!({"login": login, "suspended": false}), |_| {
                format!("reinstated '{login}'")
            });
        }
        UserCmd::Household(HouseholdCmd::Import { file }) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {} (UTF-8 expected)", file.display()))?;
            let r = vault.import_households(&actor, &text)?;
            out.emit(&r, |r| {
                format!(
                    "households of {} people recorded (as keyed tokens only)",
                    r.people
                )
            });
        }
        UserCmd::Household(HouseholdCmd::Clear { login }) => {
            vault.clear_household(&actor, &login)?;
            out.emit(&json!({"login": login, "household": false}), |_| {
                format!("no household recorded for '{login}'")
            });
        }
        UserCmd::Create {
            login,
            role,
            department,
            vendor,
            manager,
        } => {
            let token = vault.create_user(
                &actor,
                &mamori_vault::admin::NewUser {
                    login: &login,
                    role,
                    department: department.as_deref(),
                    vendor: vendor.as_deref(),
                    manager: manager.as_deref(),
                },
            )?;
            out.emit(
                &json!({"login": login, "role": role, "token": token.as_str()}),
                |_| {
                    format!(
                        "created {role} '{login}'. API token (shown once, store it now):\n{}",
                        token.as_str()
                    )
                },
            );
        }
        UserCmd::Assign {
            login,
            tenant,
            segment,
        } => {
            match vault.assign(&actor, &login, &tenant, segment.as_deref())? {
                Assigned::Segment => out.emit(
                    &json!({"login": login, "tenant": tenant, "segment": segment, "status": "assigned"}),
                    |_| format!("assigned '{login}' to {tenant}/{}", segment.as_deref().unwrap_or("*")),
                ),
                Assigned::FullAccess(f) => out.emit(
                    &json!({"login": login, "tenant": tenant, "segment": null,
                            "status": f.status, "full_access": f}),
                    |_| {
                        let mut t = governance::full_access_text(&f);
                        if f.status == RequestState::Pending {
                            t.push_str(&format!(
                                "\nstanding full access needs the security office's approval:\n  \
                                 mamori access full-access approve {login} --tenant {tenant}"
                            ));
                        }
                        t
                    },
                ),
            }
        }
        UserCmd::Unassign {
            login,
            tenant,
            segment,
        } => {
            vault.unassign(&actor, &login, &tenant, &segment)?;
            out.emit(
                &json!({"login": login, "tenant": tenant, "segment": segment, "status": "unassigned"}),
                |_| format!("'{login}' is no longer assigned to {tenant}/{segment}"),
            );
        }
        UserCmd::SetManager { login, manager } => {
            vault.set_manager(&actor, &login, manager.as_deref())?;
            out.emit(
                &json!({"login": login, "manager": manager}),
                |_| match &manager {
                    Some(m) => format!("'{m}' now approves the requests of '{login}'"),
                    None => format!("'{login}' has no manager now"),
                },
            );
        }
        UserCmd::Token {
            login,
            expires,
            tenants,
        } => {
            let terms = mamori_vault::admin::TokenTerms {
                expires_at: period::parse_lifetime(&expires)?.map(|s| vault.now() + s),
                tenants: (!tenants.is_empty()).then_some(tenants),
            };
            let token = vault.issue_token_with(&actor, &login, &terms)?;
            let until = terms.expires_at.map_or("never".to_owned(), |t| {
                mamori_core::jst::rfc3339(t)
            });
            out.emit(
                &json!({"login": login, "token": token.as_str(), "expires_at": terms.expires_at}),
                |_| {
                    format!(
                        "new API token for '{login}' (shown once; works until {until}):\n{}",
                        token.as_str()
                    )
                },
            );
        }
        UserCmd::Link {
            login,
            provider,
            subject,
        } => {
            vault.link_identity(&actor, &login, &provider, &subject)?;
            out.emit(
                &json!({"login": login, "provider": provider, "linked": true}),
                |_| format!("'{login}' now signs in through {provider}"),
            );
        }
        UserCmd::Unlink { provider, subject } => {
            vault.unlink_identity(&actor, &provider, &subject)?;
            out.emit(&json!({"provider": provider, "unlinked": true}), |_| {
                format!("the identity at {provider} is no longer linked")
            });
        }
        UserCmd::Identities { login } => {
            let ids = vault.identities_of(&login)?;
            let list: Vec<_> = ids
                .iter()
                .map(|(p, s)| json!({"provider": p, "subject": s}))
                .collect();
            out.emit(&json!({"login": login, "identities": list}), |_| {
                if ids.is_empty() {
                    format!("'{login}' has no linked identity")
                } else {
                    ids.iter()
                        .map(|(p, s)| format!("{p}\t{s}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                }
            });
        }
        UserCmd::Revoke { login } => {
            let n = vault.revoke_tokens(&actor, &login)?;
            out.emit(&json!({"login": login, "revoked": n}), |_| {
                format!("revoked {n} token(s) of '{login}'")
            });
        }
        UserCmd::Deprovision { login } => {
            let done = vault.deprovision(&actor, &login, "cli")?;
            let mut report = json!(done);
            report["login"] = json!(login);
            out.emit(
                &report,
                |_| {
                    format!(
                        "'{login}' is offboarded: {} credential(s), {} request(s) or grant(s), {} export(s) and {} full-access holding(s) revoked, {} export approval(s) withdrawn{}",
                        done.credentials,
                        done.requests.len(),
                        done.exports.len(),
                        done.full_access.len(),
                        done.approvals.len(),
                        if done.suspended { "" } else { " (already suspended)" }
                    )
                },
            );
        }
        UserCmd::List => {
            let users = vault.users()?;
            let rows: Vec<_> = users
                .iter()
                .map(|(u, a)| json!({"login": u.login, "role": u.role, "department": u.department, "vendor": u.vendor, "manager": u.manager, "suspended": u.suspended_at.is_some(),
                    "assignments": a.iter().map(|a| format!("{}/{}", a.tenant, a.segment.as_deref().unwrap_or("*"))).collect::<Vec<_>>()}))
                .collect();
            out.emit(&rows, |_| {
                users
                    .iter()
                    .map(|(u, a)| {
                        let scopes: Vec<String> = a
                            .iter()
                            .map(|a| {
                                format!("{}/{}", a.tenant, a.segment.as_deref().unwrap_or("*"))
                            })
                            .collect();
                        format!("{:<20} {:<17} {}", u.login, u.role, scopes.join(" "))
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}
