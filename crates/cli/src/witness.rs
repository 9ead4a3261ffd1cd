//! `mamori witness`: run a witness for other vaults' audit logs — ideally on
//! another machine, under another administrator — so that a vault whose
//! audit database is rolled back or cut short is caught.
//!
//! The witness directory holds its cosigning key (`witness.key`, 0600, and
//! `witness.key.pub` to give to auditors) and one append-only history file
//! per followed log under `logs/`.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use mamori_app::keys::{check_private, write_secret};
use mamori_audit::{
    checkpoint::{Cosigner, Verifier},
    witness::Witness,
};
use serde_json::json;
use zeroize::Zeroizing;

use crate::output::Out;

#[derive(Subcommand)]
pub enum WitnessCmd {
    /// Create a witness directory with a new cosigning key; prints the
    /// public key for auditors (`mamori audit verify --witness-key`).
    Init {
        #[arg(long, env = "MAMORI_WITNESS_DIR")]
        dir: PathBuf,
        /// The witness's name, e.g. `witness.example.jp/w1`.
        #[arg(long)]
        name: String,
    },
    /// Serve the C2SP tlog-witness protocol (POST /add-checkpoint) and
    /// GET /checkpoints for auditors.
    Serve {
        #[arg(long, env = "MAMORI_WITNESS_DIR")]
        dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:7380")]
        listen: String,
        /// The audit key (public half, `name+id+key`) of each vault whose
        /// logs this witness follows; repeatable.
        #[arg(
            long = "log-key",
            env = "MAMORI_WITNESS_LOG_KEYS",
            value_delimiter = ',',
            required = true
        )]
        log_keys: Vec<String>,
    },
}

fn key_path(dir: &Path) -> PathBuf {
    dir.join("witness.key")
}

pub fn run(cmd: WitnessCmd, out: Out) -> Result<()> {
    match cmd {
        WitnessCmd::Init { dir, name } => {
            let path = key_path(&dir);
            if path.exists() {
                bail!(
                    "{} already exists: this directory is a witness already",
                    path.display()
                );
            }
            std::fs::create_dir_all(dir.join("logs"))
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let key = Cosigner::generate(&name).context("--name")?;
            write_secret(&path, format!("{}\n", key.to_skey().as_str()).as_bytes())?;
            let vkey = key.verifier().to_vkey();
            std::fs::write(path.with_extension("key.pub"), format!("{vkey}\n"))?;
            out.emit(&json!({"dir": dir, "name": name, "key": vkey}), |_| {
                format!(
                    "witness created in {}\n  public key (give it to auditors): {vkey}\n  next: mamori witness serve --dir {} --log-key <a vault's audit.key.pub>",
                    dir.display(),
                    dir.display()
                )
            });
            Ok(())
        }
        WitnessCmd::Serve {
            dir,
            listen,
            log_keys,
        } => serve(&dir, &listen, &log_keys),
    }
}

/// Opens the witness of `dir` following `log_keys`.
pub fn open(dir: &Path, log_keys: &[String]) -> Result<Witness> {
    let path = key_path(dir);
    if !path.exists() {
        bail!(
            "{} not found: create the witness first with `mamori witness init --dir {} --name NAME`",
            path.display(),
            dir.display()
        );
    }
    check_private(&path)?;
    let skey = Zeroizing::new(std::fs::read_to_string(&path)?);
    let cosigner = Cosigner::parse(&skey).with_context(|| path.display().to_string())?;
    let logs = log_keys
        .iter()
        .map(|k| Verifier::parse(k).with_context(|| format!("--log-key {k}")))
        .collect::<Result<Vec<_>>>()?;
    Ok(Witness::open(&dir.join("logs"), logs, Some(cosigner))?)
}

fn serve(dir: &Path, listen: &str, log_keys: &[String]) -> Result<()> {
    let witness = Arc::new(open(dir, log_keys)?);
    let vkey = witness
        .cosigner()
        .map(|c| c.verifier().to_vkey())
        .unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let local = listener.local_addr()?;
        tracing::info!(%local, key = %vkey, logs = log_keys.len(), "mamori witness listening");
        mamori_server::serve_witness(witness, listener, crate::shutdown_signal()).await?;
        Ok(())
    })
}
