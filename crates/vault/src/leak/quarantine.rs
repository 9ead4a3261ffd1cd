//! Quarantine of files found holding personal data: a file is encrypted to
//! the security office's key in place of the original (the CLI does the file
//! work; the vault decides who may and records what was done). Putting a
//! file away is the security office's or the scanning machine's that found
//! it; restoring it or deleting it for good is the security office's alone.
//! Each action is an audit event with the file's SHA-256 and size — never
//! its name or content — so "what was on this PC, and where did it go?" has
//! an answer that no one can quietly change.

use mamori_policy::Action;

use crate::{Caller, Vault, error::Result};

/// What is done to a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileAction {
    /// Encrypted to the security office's key, the original removed.
    Quarantine,
    /// Decrypted back to where it was.
    Restore,
    /// The encrypted copy deleted for good.
    Delete,
}

impl FileAction {
    fn action(self) -> Action {
        match self {
            FileAction::Quarantine => Action::FileQuarantine,
            FileAction::Restore => Action::FileRestore,
            FileAction::Delete => Action::FileDelete,
        }
    }
}

/// Leave to do one action, given before the file is touched: the event that
/// will record it.
pub struct FilePermit {
    pub(crate) event: mamori_audit::Event,
}

impl Vault {
    /// Decides whether `caller` may do `action` to files; a refusal is
    /// recorded. Ask before touching the file, record after.
    pub fn permit_file_action(&self, caller: &Caller, action: FileAction) -> Result<FilePermit> {
        let a = action.action();
        let d = self.gate.decide_file(&caller.principal, a);
        let event = self.gated(
            self.caller_event(caller, a.as_str(), "ok"),
            &d,
            "quarantining, restoring and deleting found files is for the security office",
        )?;
        Ok(FilePermit { event })
    }

    /// Records an action done under `permit` to the file whose SHA-256 is
    /// `file_sha256` (`bytes` long).
    pub fn record_file_action(
        &self,
        permit: FilePermit,
        file_sha256: &[u8; 32],
        bytes: u64,
    ) -> Result<()> {
        let e = permit
            .event
            .detail("file_sha256", hex::encode(file_sha256))
            .detail("bytes", bytes);
        self.audit.append(e)?;
        Ok(())
    }
}
