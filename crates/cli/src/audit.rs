//! `mamori audit`: the auditor's tools. They read the audit database only
//! (read-only, no root key, no signing key) and check it against the audit
//! key's public half, so they run as well on a copy of the data directory.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use mamori_audit::{
    AuditStore, Trust, VerifyReport,
    checkpoint::{CosignatureVerifier, Verifier},
    verify,
    witness_client::Target,
};
use mamori_vault::datadir;
use serde_json::json;

use crate::output::Out;

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Recompute every hash, link and Merkle root, check every signed
    /// checkpoint; exit code 3 on any break.
    Verify {
        /// Only this log (`system` or `tenant/<id>`).
        #[arg(long)]
        log: Option<String>,
        /// The audit key's public half (`name+id+key`), as published to you;
        /// default: the data directory's audit.key.pub.
        #[arg(long)]
        key: Option<String>,
        /// A signed checkpoint kept outside the database (saved earlier with
        /// `mamori audit checkpoint`, or a witness's); repeatable. A log
        /// shorter than one of them was truncated or rolled back.
        #[arg(long = "trusted-checkpoint")]
        trusted: Vec<PathBuf>,
        /// A witness of this vault's logs: `http://host:port` of a `mamori
        /// witness serve`, or a witness directory (`audit.witnesses`);
        /// repeatable. Every checkpoint it holds is trusted as above.
        #[arg(long)]
        witness: Vec<String>,
        /// The witness's public key: its checkpoints must carry its valid
        /// cosignature (repeatable; for HTTP witnesses).
        #[arg(long = "witness-key")]
        witness_keys: Vec<String>,
    },
    /// Print the latest signed checkpoint of a log (save it to verify later
    /// copies against it).
    Checkpoint {
        #[arg(long, default_value = "system")]
        log: String,
    },
}

pub fn run(dir: &std::path::Path, cmd: AuditCmd, out: Out) -> Result<ExitCode> {
    let store = datadir::open_audit(dir)?;
    match cmd {
        AuditCmd::Verify {
            log,
            key,
            trusted,
            witness,
            witness_keys,
        } => {
            // A key given on the command line is all a copy needs.
            let key = match key {
                Some(k) => Verifier::parse(&k).context("--key")?,
                None => datadir::audit_verifier(dir)?,
            };
            let mut checkpoints = trusted
                .iter()
                .map(|p| {
                    std::fs::read_to_string(p)
                        .with_context(|| format!("cannot read {}", p.display()))
                })
                .collect::<Result<Vec<_>>>()?;
            for w in &witness {
                checkpoints.extend(witnessed(w, &key, &witness_keys)?);
            }
            let report = verify(
                &store,
                log.as_deref(),
                &Trust {
                    key: Some(key),
                    checkpoints,
                },
            )?;
            out.emit(&report, report_text);
            if !report.ok {
                return Ok(ExitCode::from(3));
            }
        }
        AuditCmd::Checkpoint { log } => {
            let cp = store
                .latest_checkpoint(&log)?
                .with_context(|| format!("log '{log}' has no signed checkpoint yet"))?;
            out.emit(
                &json!({"log": cp.log, "size": cp.size, "note": cp.note}),
                |_| cp.note.trim_end().to_owned(),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The checkpoints a witness holds for this vault's logs, each with a
/// valid cosignature by every `--witness-key` given.
fn witnessed(spec: &str, key: &Verifier, witness_keys: &[String]) -> Result<Vec<String>> {
    if !spec.contains("://") && !std::path::Path::new(spec).is_dir() {
        bail!("witness directory {spec} does not exist");
    }
    let keys = witness_keys
        .iter()
        .map(|k| CosignatureVerifier::parse(k).with_context(|| format!("--witness-key {k}")))
        .collect::<Result<Vec<_>>>()?;
    let target = Target::parse(spec, key)?;
    let held = target
        .held(&format!("{}/", key.name()))
        .with_context(|| format!("cannot read the witness {spec}"))?;
    for h in &held {
        for k in &keys {
            k.cosigned(&h.note).with_context(|| {
                format!(
                    "witness {spec}: the checkpoint of {} is not cosigned by {}",
                    h.origin,
                    k.name()
                )
            })?;
        }
    }
    Ok(held.into_iter().map(|h| h.note).collect())
}

fn report_text(r: &VerifyReport) -> String {
    let mut t = String::new();
    for l in &r.logs {
        match &l.problem {
            None => t.push_str(&format!(
                "ok      {:<32} {} events, {} checkpoints verified, signed up to {}, root {}\n",
                l.log,
                l.events,
                l.checkpoints,
                l.signed_size,
                l.root.as_deref().unwrap_or("-")
            )),
            Some(p) => t.push_str(&format!(
                "BROKEN  {:<32} at seq {}: {p}\n",
                l.log,
                l.first_bad_seq.unwrap_or(0)
            )),
        }
    }
    if let Some(k) = &r.key {
        t.push_str(&format!("key     {k}\n"));
    }
    t.push_str(if r.ok {
        "verdict: the audit log verifies"
    } else {
        "verdict: TAMPERING OR CORRUPTION DETECTED"
    });
    t
}
