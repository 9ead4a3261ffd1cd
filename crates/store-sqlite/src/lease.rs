//! Leases on the embedded store: an exclusive `flock` on a file beside
//! `vault.db`, which the kernel releases when the process ends however it ends.

use std::{fs::File, os::fd::AsRawFd};

use super::SqliteVault;
use mamori_store::{Lease, LeaseStore, Result, StoreError};

/// Holds the locked file open: closing it releases the lock.
struct FileLease {
    _file: File,
}

impl Lease for FileLease {
    fn held(&mut self) -> bool {
        true
    }
}

impl LeaseStore for SqliteVault {
    fn try_lead(&self, job: &str) -> Result<Option<Box<dyn Lease>>> {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{job}.lock"));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&name)
            .map_err(|e| StoreError::Db(format!("lease file {}: {e}", name.display())))?;
        // SAFETY: a valid open descriptor; flock has no memory effects.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r == 0 {
            return Ok(Some(Box::new(FileLease { _file: file })));
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            Ok(None)
        } else {
            Err(StoreError::Db(format!("lease {}: {e}", name.display())))
        }
    }
}
