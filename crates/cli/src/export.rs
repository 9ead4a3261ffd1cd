//! `mamori export`: bulk exports with k-of-n approval (acts as you: --token),
//! and the recipient's side: `keygen` makes their key pair, `decrypt` opens a
//! package. The vault never writes plaintext to a file; what a recipient does
//! with the decrypted CSV is theirs to govern.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use mamori_app::datadir;
use mamori_crypto::PackageIdentity;
use mamori_vault::exports::{ExportListFilter, ExportView, NewExport, TraceReport};

use crate::{governance::me, output::Out};

#[derive(Subcommand)]
pub enum ExportCmd {
    /// Ask to export customers (back office); k approvers must agree.
    Request {
        #[arg(long)]
        tenant: String,
        /// One segment (default: the whole tenant, which needs a whole-tenant assignment).
        #[arg(long)]
        segment: Option<String>,
        /// Fields to export, comma-separated (the purpose's masks apply).
        #[arg(long, value_delimiter = ',', required = true)]
        fields: Vec<String>,
        /// Purpose (利用目的) from the tenant's list.
        #[arg(long)]
        purpose: String,
        /// Case or ticket id.
        #[arg(long = "case")]
        case_id: String,
        /// Why the data must leave.
        #[arg(long)]
        reason: String,
        /// Who receives it (company or department).
        #[arg(long)]
        recipient_name: String,
        /// The recipient's age public key (age1…), from `mamori export keygen` or `age-keygen`.
        #[arg(long)]
        recipient_key: String,
    },
    /// Approve an export; the last required approval builds the encrypted package.
    Approve {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Deny an export, saying why.
    Deny {
        id: String,
        #[arg(long)]
        comment: String,
    },
    /// Stop a pending export, or delete a package not yet downloaded.
    Revoke {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Exports you may see, newest first.
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// Only exports waiting for approvals.
        #[arg(long)]
        pending: bool,
        /// Only your own exports.
        #[arg(long)]
        mine: bool,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One export with its approvals and history.
    Show { id: String },
    /// Take the encrypted package (once) and write it to a file.
    Download {
        id: String,
        /// Where to write the package (.age); an existing file is not overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Which export a leaked file came from (security office, auditors).
    Trace {
        /// The leaked file (CSV or text; UTF-8 or Shift_JIS).
        file: PathBuf,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// For recipients: create a key pair; prints the public key to give the requester.
    Keygen {
        /// Where to write the private key (mode 0600); an existing file is not overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// For recipients: decrypt a package to standard output.
    Decrypt {
        file: PathBuf,
        /// The private key file from `keygen` (or `age-keygen`).
        #[arg(long)]
        identity: PathBuf,
    },
}

/// Creates `path` for writing with mode 0600; never overwrites.
fn create_private(path: &Path) -> Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))
}

fn export_text(x: &ExportView) -> String {
    let mut t = format!(
        "export {}  {:?}\n  by         {} on {}/{} purpose {} case {}\n  fields     {}\n  customers  {} when requested\n  recipient  {} (key {})\n  reason     {}\n  approvals  {} of {}: {}\n  approve by {}",
        x.id,
        x.status,
        x.requester,
        x.tenant,
        x.segment.as_deref().unwrap_or("*"),
        x.purpose,
        x.case_id,
        x.fields.join(", "),
        x.rows_at_request,
        x.recipient_name,
        x.recipient_fingerprint,
        x.reason,
        x.approvals.len(),
        x.approvals_required,
        x.approvals
            .iter()
            .map(|a| format!("{} ({})", a.approver, a.role))
            .collect::<Vec<_>>()
            .join(", "),
        x.approve_by,
    );
    if let Some(p) = &x.package {
        t.push_str(&format!(
            "\n  package    {} customers + {} canaries, {} bytes, sha256 {}\n             download once until {}",
            p.rows, p.canaries, p.bytes, p.sha256, p.download_until
        ));
    }
    for h in &x.history {
        t.push_str(&format!("\n  {}  {:<10} {}", h.at, h.action, h.actor));
        if let Some(c) = &h.comment {
            t.push_str(&format!(": {c}"));
        }
    }
    t
}

fn trace_text(r: &TraceReport) -> String {
    let mut t = format!(
        "{} cells read, {} exports checked",
        r.cells, r.exports_checked
    );
    for m in &r.matches {
        t.push_str(&format!(
            "\n{:<9} export {}  {} → {} (key {})  canaries {}  forms {}/{}  chance {:.1e}",
            m.verdict,
            m.export,
            m.requester,
            m.recipient_name,
            m.recipient_fingerprint,
            m.canary_hits,
            m.marks_matching,
            m.marks_seen,
            m.chance_by_accident
        ));
    }
    t
}

/// A leaked file as text: UTF-8, or Shift_JIS (CP932) as Japanese systems write it.
fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => {
            let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(e.as_bytes());
            if bad {
                bail!("{} is neither UTF-8 nor Shift_JIS text", path.display());
            }
            Ok(text.into_owned())
        }
    }
}

pub fn export(dir: &Path, token: Option<&str>, cmd: ExportCmd, out: Out) -> Result<()> {
    // The recipient's commands need no vault at all.
    match cmd {
        ExportCmd::Keygen { out: path } => return keygen(&path, out),
        ExportCmd::Decrypt { file, identity } => return decrypt(&file, &identity),
        _ => {}
    }
    let vault = datadir::open(dir)?.vault;
    let caller = me(&vault, token)?;
    let one = |x: ExportView| out.emit(&x, export_text);
    match cmd {
        ExportCmd::Request {
            tenant,
            segment,
            fields,
            purpose,
            case_id,
            reason,
            recipient_name,
            recipient_key,
        } => one(vault.request_export(
            &caller,
            &NewExport {
                tenant,
                segment,
                fields,
                purpose,
                case_id,
                reason,
                recipient_name,
                recipient_key,
            },
        )?),
        ExportCmd::Approve { id, comment } => {
            one(vault.approve_export(&caller, &id, comment.as_deref())?)
        }
        ExportCmd::Deny { id, comment } => one(vault.deny_export(&caller, &id, &comment)?),
        ExportCmd::Revoke { id, reason } => one(vault.revoke_export(&caller, &id, &reason)?),
        ExportCmd::Show { id } => one(vault.export(&caller, &id)?),
        ExportCmd::List {
            tenant,
            pending,
            mine,
            limit,
        } => {
            let list = vault.exports(
                &caller,
                &ExportListFilter {
                    tenant,
                    pending,
                    mine,
                    limit: Some(limit),
                },
            )?;
            out.emit(&list, |l| {
                if l.is_empty() {
                    return "no exports".into();
                }
                l.iter()
                    .map(|x| {
                        format!(
                            "{}  {:<10} {:<14} {}/{} {} → {}  approvals {}/{}",
                            x.id,
                            format!("{:?}", x.status).to_lowercase(),
                            x.requester,
                            x.tenant,
                            x.segment.as_deref().unwrap_or("*"),
                            x.purpose,
                            x.recipient_name,
                            x.approvals.len(),
                            x.approvals_required
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        ExportCmd::Download { id, out: path } => {
            // Create the file first: a package taken must not be lost to a bad path.
            let mut file = create_private(&path)?;
            let d = match vault.download_export(&caller, &id) {
                Ok(d) => d,
                Err(e) => {
                    let _ = std::fs::remove_file(&path);
                    return Err(e.into());
                }
            };
            file.write_all(&d.bytes)
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            let info = serde_json::json!({
                "export": id,
                "file": path.display().to_string(),
                "bytes": d.bytes.len(),
                "sha256": d.sha256,
            });
            out.emit(&info, |_| {
                format!(
                    "wrote {} ({} bytes, sha256 {}); the recipient opens it with their private key:\n  age -d -i key.txt {}   (or: mamori export decrypt --identity key.txt {})",
                    path.display(),
                    d.bytes.len(),
                    d.sha256,
                    path.display(),
                    path.display()
                )
            });
        }
        ExportCmd::Trace { file, tenant } => {
            let text = read_text(&file)?;
            let report = vault.trace_leak(&caller, tenant.as_deref(), &text)?;
            out.emit(&report, trace_text);
        }
        ExportCmd::Keygen { .. } | ExportCmd::Decrypt { .. } => unreachable!("handled above"),
    }
    Ok(())
}

fn keygen(path: &Path, out: Out) -> Result<()> {
    let id = PackageIdentity::generate();
    let created = chrono::Utc::now().to_rfc3339();
    let mut file = create_private(path)?;
    file.write_all(id.to_file_text(&created).as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let public = id.recipient().encoded();
    let info =
        serde_json::json!({ "identity_file": path.display().to_string(), "recipient_key": public });
    out.emit(&info, |_| {
        format!(
            "private key written to {} (keep it secret)\npublic key (give this to the requester): {public}",
            path.display()
        )
    });
    Ok(())
}

fn decrypt(file: &Path, identity: &Path) -> Result<()> {
    let key = zeroize::Zeroizing::new(
        std::fs::read_to_string(identity)
            .with_context(|| format!("cannot read {}", identity.display()))?,
    );
    let id = PackageIdentity::parse(&key)?;
    let package = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let plain = id.open(&package)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&plain)?;
    stdout.flush()?;
    Ok(())
}
