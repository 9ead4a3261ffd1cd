//! `mamori audit`: the auditor's tools. They read the audit database only
//! (read-only, no root key, no signing key) and check it against the audit
//! key's public half, so they run as well on a copy of the data directory.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use mamori_app::{keys, stores};
use mamori_audit::{
    Trust, VerifyReport, archive,
    checkpoint::{CosignatureVerifier, Verifier},
    sample::{self, Sample, SampleSpec},
    siem, verify,
    witness_client::Target,
};
use serde_json::json;

use crate::{output::Out, period::parse_time};

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
        /// For https:// witnesses: the CA certificate(s) to trust, PEM.
        #[arg(long = "witness-ca")]
        witness_ca: Option<PathBuf>,
        /// Where archived events are (default: DATA_DIR/archive if it
        /// exists). Without it the archived part is checked from the hashes
        /// it left behind, against the checkpoint where it ends.
        #[arg(long)]
        archive: Option<PathBuf>,
    },
    /// Move events older than DATE, up to a signed checkpoint, into
    /// self-verifying gzip files (the hot database keeps 32 bytes per event).
    Archive {
        /// Archive events before this date (YYYY-MM-DD, Japan time) or RFC 3339 time.
        #[arg(long)]
        before: String,
        /// Archive directory (default: DATA_DIR/archive). Keep it on durable,
        /// ideally write-once storage, and back it up.
        #[arg(long)]
        to: Option<PathBuf>,
        /// Only this log.
        #[arg(long)]
        log: Option<String>,
    },
    /// Check one archive file on its own with the audit key.
    CheckArchive {
        file: PathBuf,
        /// The audit key's public half; default: the data directory's.
        #[arg(long)]
        key: Option<String>,
    },
    /// Print the latest signed checkpoint of a log (save it to verify later
    /// copies against it).
    Checkpoint {
        #[arg(long, default_value = "system")]
        log: String,
    },
    /// Ship the audit log to a SIEM (JSON lines, RFC 5424 syslog or CEF) to
    /// stdout, a file, tcp://host:port or udp://host:port — at least once,
    /// from where the last run stopped.
    Ship {
        #[arg(long, default_value = "rfc5424")]
        format: siem::Format,
        /// stdout, a file path, tcp://host:port (RFC 6587 framing),
        /// tls://host:port (RFC 5425; needs --ca) or udp://host:port.
        #[arg(long)]
        to: String,
        /// For tls://: the receiver's CA certificate(s), PEM. Only these are trusted.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// The shipment's name: each has its own cursor (DATA_DIR/siem/NAME.cursor).
        #[arg(long, default_value = "default")]
        name: String,
        /// Keep running: ship new events as they are appended.
        #[arg(long)]
        follow: bool,
        /// With --follow: how often to look for new events.
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
        /// The syslog HOSTNAME field (default: this machine's name).
        #[arg(long)]
        hostname: Option<String>,
    },
    /// Draw a reproducible random sample of access events for a surprise
    /// check, each with its inclusion proof in a signed checkpoint.
    Sample {
        /// How many events.
        #[arg(long, default_value_t = 50)]
        n: usize,
        /// From this date (YYYY-MM-DD, Japan time) or RFC 3339 time, inclusive.
        #[arg(long)]
        from: Option<String>,
        /// Until this date or time, exclusive.
        #[arg(long)]
        to: Option<String>,
        /// The seed; the same seed over the same period draws the same
        /// events. Default: a new random seed, printed with the sample.
        #[arg(long)]
        seed: Option<String>,
        /// Only this tenant's log (`tenant/<id>`).
        #[arg(long)]
        log: Option<String>,
        /// The audit key's public half; default: the data directory's.
        #[arg(long)]
        key: Option<String>,
        /// Also write the whole sample with proofs as JSON to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(dir: &std::path::Path, cmd: AuditCmd, out: Out) -> Result<ExitCode> {
    // Archiving writes; everything else reads the audit database only.
    if let AuditCmd::Archive { before, to, log } = cmd {
        return archive_old_events(dir, &before, to, log, out);
    }
    let opened = stores::open_audit(dir)?;
    let store = &*opened;
    match cmd {
        AuditCmd::Verify {
            log,
            key,
            trusted,
            witness,
            witness_keys,
            witness_ca,
            archive,
        } => {
            // A key given on the command line is all a copy needs.
            let key = match key {
                Some(k) => Verifier::parse(&k).context("--key")?,
                None => keys::audit_verifier(dir)?,
            };
            let mut checkpoints = trusted
                .iter()
                .map(|p| {
                    std::fs::read_to_string(p)
                        .with_context(|| format!("cannot read {}", p.display()))
                })
                .collect::<Result<Vec<_>>>()?;
            for w in &witness {
                checkpoints.extend(witnessed(w, &key, &witness_keys, witness_ca.as_deref())?);
            }
            let report = verify(
                store,
                log.as_deref(),
                &Trust {
                    key: Some(key),
                    checkpoints,
                    archive_dir: archive.or_else(|| {
                        let d = dir.join("archive");
                        d.is_dir().then_some(d)
                    }),
                },
            )?;
            out.emit(&report, report_text);
            if !report.ok {
                return Ok(ExitCode::from(3));
            }
        }
        AuditCmd::Sample {
            n,
            from,
            to,
            seed,
            log,
            key,
            out: file,
        } => {
            let key = match key {
                Some(k) => Verifier::parse(&k).context("--key")?,
                None => keys::audit_verifier(dir)?,
            };
            let micros = |t: Option<String>| -> Result<Option<i64>> {
                t.map(|t| parse_time(&t).map(|s| s * 1_000_000)).transpose()
            };
            let seed = match seed {
                Some(s) => s,
                None => sample::new_seed()?,
            };
            let spec = SampleSpec {
                n,
                seed: &seed,
                from_ts: micros(from)?,
                to_ts: micros(to)?,
                log: log.as_deref(),
            };
            let sample = sample::draw(store, &key, &spec)?;
            if let Some(path) = &file {
                std::fs::write(path, serde_json::to_vec_pretty(&sample)?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            out.emit(&sample, |s| sample_text(s, file.as_deref()));
        }
        AuditCmd::Ship {
            format,
            to,
            ca,
            name,
            follow,
            interval_ms,
            hostname,
        } => {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bail!("--name: letters, digits, '-' and '_' only");
            }
            let mut shipper = siem::Shipper {
                store,
                format,
                sink: siem::Sink::parse(&to, ca.as_deref())?,
                cursor_path: dir.join("siem").join(format!("{name}.cursor")),
                host: hostname.unwrap_or_else(siem::hostname),
            };
            if !follow {
                let n = shipper.round()?;
                shipper.sink.close()?;
                // With stdout as the sink, the summary goes to stderr.
                eprintln!("shipped {n} audit events to {to}");
                return Ok(ExitCode::SUCCESS);
            }
            ship_forever(
                &mut shipper,
                &to,
                std::time::Duration::from_millis(interval_ms.max(100)),
            );
        }
        AuditCmd::Archive { .. } => unreachable!("handled above"),
        AuditCmd::CheckArchive { file, key } => {
            let key = match key {
                Some(k) => Verifier::parse(&k).context("--key")?,
                None => keys::audit_verifier(dir)?,
            };
            match archive::check_file(&file, &key) {
                Ok(c) => out.emit(&c, |c| {
                    format!(
                        "ok: {} events {}..={}, signed at both ends",
                        c.log, c.start, c.end
                    )
                }),
                Err(e) => {
                    eprintln!("BROKEN: {e}");
                    return Ok(ExitCode::from(3));
                }
            }
        }
        AuditCmd::Checkpoint { log } => {
            let cp = store
                .latest_checkpoint(&log)?
                .with_context(|| format!("log '{log}' has no signed checkpoint yet"))?;
            let note = mamori_audit::proofs::cosigned(store, &cp)?;
            out.emit(
                &json!({"log": cp.log, "size": cp.size, "note": note}),
                |_| note.trim_end().to_owned(),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The checkpoints a witness holds for this vault's logs, each with a
/// valid cosignature by every `--witness-key` given.
fn witnessed(
    spec: &str,
    key: &Verifier,
    witness_keys: &[String],
    ca: Option<&std::path::Path>,
) -> Result<Vec<String>> {
    if !spec.contains("://") && !std::path::Path::new(spec).is_dir() {
        bail!("witness directory {spec} does not exist");
    }
    let keys = witness_keys
        .iter()
        .map(|k| CosignatureVerifier::parse(k).with_context(|| format!("--witness-key {k}")))
        .collect::<Result<Vec<_>>>()?;
    let target = Target::parse(spec, key, ca)?;
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

/// `mamori audit archive`: the one audit command that writes.
fn archive_old_events(
    dir: &std::path::Path,
    before: &str,
    to: Option<PathBuf>,
    log: Option<String>,
    out: Out,
) -> Result<ExitCode> {
    let opened = stores::open_audit_rw(dir)?;
    let store = &*opened;
    let key = keys::audit_verifier(dir)?;
    let before = parse_time(before)? * 1_000_000;
    let target = to.unwrap_or_else(|| dir.join("archive"));
    let logs = match log {
        Some(l) => vec![l],
        None => store.logs()?,
    };
    let now = chrono::Utc::now().timestamp_micros();
    let mut done = Vec::new();
    for l in logs {
        if let Some(row) = archive::archive_log(store, &key, &l, before, &target, now)? {
            done.push(json!({"log": row.log, "start": row.start, "end": row.end, "file": target.join(&row.file)}));
        }
    }
    out.emit(&done, |d| {
        if d.is_empty() {
            return "nothing to archive: no log has a signed range that old (the newest events always stay)".into();
        }
        d.iter()
            .map(|a| format!("archived {} events {}..={} to {}", a["log"].as_str().unwrap_or(""), a["start"], a["end"], a["file"].as_str().unwrap_or("")))
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(ExitCode::SUCCESS)
}

/// Ships new events every `interval` until the process is stopped (the
/// cursor is replaced atomically, so stopping at any moment loses nothing).
/// A failing sink is retried with backoff; the vault never waits for it.
fn ship_forever(shipper: &mut siem::Shipper, to: &str, interval: std::time::Duration) -> ! {
    let mut backoff = interval;
    loop {
        match shipper.round() {
            Ok(n) => {
                if n > 0 {
                    tracing::info!(events = n, sink = to, "shipped audit events");
                }
                backoff = interval;
                std::thread::sleep(interval);
            }
            Err(e) => {
                tracing::warn!(error = %e, sink = to, retry_in_ms = backoff.as_millis() as u64, "audit shipping paused");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(std::time::Duration::from_secs(60));
            }
        }
    }
}

fn sample_text(s: &Sample, file: Option<&std::path::Path>) -> String {
    let mut t = format!(
        "{} of {} access events drawn with seed {} (redraw: --seed {})\n",
        s.events.len(),
        s.population,
        s.seed,
        s.seed
    );
    for d in &s.events {
        let e = &d.event.event;
        t.push_str(&format!(
            "{:<20} {:>8}  {}  {:<14} {:<18} purpose={} case={}\n",
            d.log,
            d.seq,
            d.event.ts,
            e.actor,
            e.action,
            e.purpose.as_deref().unwrap_or("-"),
            e.case_id.as_deref().unwrap_or("-"),
        ));
    }
    t.push_str("every event's inclusion proof verified against its log's signed checkpoint");
    if let Some(f) = file {
        t.push_str(&format!(
            "\nevents, proofs and checkpoints written to {}",
            f.display()
        ));
    }
    t
}

fn report_text(r: &VerifyReport) -> String {
    let mut t = String::new();
    for l in &r.logs {
        match &l.problem {
            None => {
                let archived = match (l.archived, l.archive_read) {
                    (0, _) => String::new(),
                    (n, true) => format!(" ({n} read from archive files)"),
                    (n, false) => format!(
                        " ({n} archived, checked by their hashes; pass --archive DIR to read them)"
                    ),
                };
                t.push_str(&format!(
                    "ok      {:<32} {} events{archived}, {} checkpoints verified, signed up to {}, root {}\n",
                    l.log,
                    l.events,
                    l.checkpoints,
                    l.signed_size,
                    l.root.as_deref().unwrap_or("-")
                ))
            }
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
