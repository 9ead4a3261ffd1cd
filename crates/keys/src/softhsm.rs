//! A SoftHSM 2 of one's own (Debian's `softhsm2`): a configuration file
//! and a token directory under a folder, and tokens initialised in it with
//! `softhsm2-util` — for the tests, and for trying the `pkcs11` provider
//! without hardware (docs/deploy.md). A process reads the configuration
//! named by SOFTHSM2_CONF when it first initialises the module.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

/// Debian's SoftHSM 2 module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A SoftHSM configuration under a folder of its own.
pub struct SoftHsm {
    pub conf: PathBuf,
}

impl SoftHsm {
    /// Writes `dir/softhsm2.conf` with its tokens in `dir/tokens`.
    pub fn create(dir: &Path) -> std::io::Result<Self> {
        let tokens = dir.join("tokens");
        fs::create_dir_all(&tokens)?;
        let conf = dir.join("softhsm2.conf");
        fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )?;
        Ok(Self { conf })
    }

    /// Initialises a token with a user PIN (and an SO PIN no one needs).
    pub fn init_token(&self, label: &str, pin: &str) -> std::io::Result<()> {
        self.util(&[
            "--init-token",
            "--free",
            "--label",
            label,
            "--pin",
            pin,
            "--so-pin",
            "mamori-so-pin",
        ])
    }

    /// Deletes a token, as if it were taken out of its slot for good.
    pub fn delete_token(&self, label: &str) -> std::io::Result<()> {
        self.util(&["--delete-token", "--token", label])
    }

    fn util(&self, args: &[&str]) -> std::io::Result<()> {
        let out = Command::new("softhsm2-util")
            .args(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .output()
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("softhsm2-util (Debian package softhsm2): {e}"),
                )
            })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "softhsm2-util {}: {}",
                args[0],
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }
}
