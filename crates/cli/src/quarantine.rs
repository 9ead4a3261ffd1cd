//! `mamori quarantine`: a file found holding personal data is encrypted (age)
//! to the security office's key in place of the original, and the original
//! removed; only the holder of the key restores it; deleting the encrypted
//! copy for good is a separate, confirmed act. Each act is decided by the
//! vault before the file is touched and recorded after (the file's SHA-256
//! and size; never its name or content).
//!
//! The quarantined file is `<name>.mamori-quarantine.age` beside the original:
//! inside the encryption, a header line (the original path, its SHA-256 and
//! size, as JSON) and then the file's bytes.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use mamori_app::datadir;
use mamori_crypto::{PackageIdentity, PackageRecipient};
use mamori_vault::leak::quarantine::FileAction;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{governance::me, output::Out};

/// What a quarantined file's name ends with.
pub const SUFFIX: &str = ".mamori-quarantine.age";

#[derive(Subcommand)]
pub enum QuarantineCmd {
    /// Encrypt files to the security office's key in place of the originals
    /// (security office, scanner credentials).
    Put {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The security office's age public key (age1…).
        #[arg(long)]
        recipient: String,
    },
    /// Decrypt quarantined files back where they were (security office).
    Restore {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The file holding the security office's age secret key.
        #[arg(long)]
        identity: PathBuf,
    },
    /// Delete quarantined files for good (security office; needs --yes).
    Delete {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Confirms that the files are to be deleted and cannot be restored.
        #[arg(long)]
        yes: bool,
    },
}

/// The header inside a quarantined file.
#[derive(Serialize, Deserialize)]
struct Header {
    path: String,
    sha256: String,
    bytes: u64,
}

/// One file's line of the report.
#[derive(Serialize)]
pub(crate) struct Done {
    pub file: String,
    pub to: Option<String>,
    pub sha256: String,
    pub bytes: u64,
}

pub fn quarantine(dir: &Path, token: Option<&str>, cmd: QuarantineCmd, out: Out) -> Result<()> {
    let vault = datadir::open(dir)?.vault;
    let caller = me(&vault, token)?;
    let (action, files) = match &cmd {
        QuarantineCmd::Put { files, .. } => (FileAction::Quarantine, files),
        QuarantineCmd::Restore { files, .. } => (FileAction::Restore, files),
        QuarantineCmd::Delete { files, yes, .. } => {
            if !yes {
                bail!("deleting quarantined files cannot be undone: add --yes to confirm");
            }
            (FileAction::Delete, files)
        }
    };
    for file in files {
        let permit = vault.permit_file_action(&caller, action)?;
        let done = match &cmd {
            QuarantineCmd::Put { recipient, .. } => put(file, recipient)?,
            QuarantineCmd::Restore { identity, .. } => restore(file, identity)?,
            QuarantineCmd::Delete { .. } => delete(file)?,
        };
        let mut sha = [0u8; 32];
        hex::decode_to_slice(&done.sha256, &mut sha).context("a quarantine header's hash")?;
        vault.record_file_action(permit, &sha, done.bytes)?;
        out.emit(&done, |d| match &d.to {
            Some(to) => format!("{} -> {to}", d.file),
            None => format!("{} deleted", d.file),
        });
    }
    Ok(())
}

/// Encrypts `file` beside itself and removes it once the copy is durable.
pub(crate) fn put(file: &Path, recipient: &str) -> Result<Done> {
    let recipient = PackageRecipient::parse(recipient)
        .map_err(|_| anyhow::anyhow!("--recipient is not an age public key (age1…)"))?;
    if file.to_string_lossy().ends_with(SUFFIX) {
        bail!("{} is quarantined already", file.display());
    }
    let bytes = zeroize::Zeroizing::new(
        fs::read(file).with_context(|| format!("cannot read {}", file.display()))?,
    );
    let sha = hex::encode(Sha256::digest(&*bytes));
    let header = Header {
        path: file.display().to_string(),
        sha256: sha.clone(),
        bytes: bytes.len() as u64,
    };
    let to = PathBuf::from(format!("{}{SUFFIX}", file.display()));
    let out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&to)
        .with_context(|| format!("cannot create {}", to.display()))?;
    let written = (|| -> Result<()> {
        let mut w = recipient.writer(out)?;
        serde_json::to_writer(&mut w, &header)?;
        w.write_all(b"\n")?;
        w.write_all(&bytes)?;
        w.finish()?.sync_all()?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&to);
        return Err(e.context(format!("cannot write {}", to.display())));
    }
    fs::remove_file(file).with_context(|| format!("cannot remove {}", file.display()))?;
    Ok(Done {
        file: file.display().to_string(),
        to: Some(to.display().to_string()),
        sha256: sha,
        bytes: header.bytes,
    })
}

/// Decrypts a quarantined file back to its path (which must be free), checks
/// its hash, and removes the encrypted copy.
fn restore(file: &Path, identity: &Path) -> Result<Done> {
    let key = zeroize::Zeroizing::new(
        fs::read_to_string(identity)
            .with_context(|| format!("cannot read {}", identity.display()))?,
    );
    let id = key
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .and_then(|l| PackageIdentity::parse(l.trim()).ok())
        .ok_or_else(|| anyhow::anyhow!("{} holds no age secret key", identity.display()))?;
    let sealed = fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let plain = id
        .open(&sealed)
        .map_err(|_| anyhow::anyhow!("{}: not quarantined for this key", file.display()))?;
    let newline = plain
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| anyhow::anyhow!("{}: no quarantine header", file.display()))?;
    let header: Header = serde_json::from_slice(&plain[..newline])
        .with_context(|| format!("{}: a damaged quarantine header", file.display()))?;
    let body = &plain[newline + 1..];
    if hex::encode(Sha256::digest(body)) != header.sha256 {
        bail!(
            "{}: the content does not match its recorded hash",
            file.display()
        );
    }
    let to = PathBuf::from(&header.path);
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&to)
        .with_context(|| format!("cannot restore to {} (is a file there?)", to.display()))?;
    out.write_all(body)?;
    out.sync_all()?;
    fs::remove_file(file).with_context(|| format!("cannot remove {}", file.display()))?;
    Ok(Done {
        file: file.display().to_string(),
        to: Some(to.display().to_string()),
        sha256: header.sha256,
        bytes: header.bytes,
    })
}

/// Deletes a quarantined file (only files that are quarantined).
fn delete(file: &Path) -> Result<Done> {
    if !file.to_string_lossy().ends_with(SUFFIX) {
        bail!("{} is not a quarantined file ({SUFFIX})", file.display());
    }
    let sealed = fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let sha = Sha256::digest(&sealed);
    fs::remove_file(file).with_context(|| format!("cannot remove {}", file.display()))?;
    Ok(Done {
        file: file.display().to_string(),
        to: None,
        sha256: hex::encode(sha),
        bytes: sealed.len() as u64,
    })
}
