//! `[keys.kms]` and the credentials the `kms` provider signs with —
//! described whether or not this build has the provider (cargo feature
//! `kms`), so that a configuration naming it is read, and refused with a
//! clear word, by a build without it.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// `[keys.kms]` in `mamori.toml`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KmsConfig {
    /// The key: its ARN, id, or `alias/…` (a symmetric encryption key).
    pub key_id: String,
    /// The key's region, e.g. `ap-northeast-1`.
    pub region: String,
    /// Another endpoint than `https://kms.<region>.amazonaws.com/` (a VPC
    /// endpoint; `http://` only to this machine).
    pub endpoint: String,
    /// A file in `credential_process`'s JSON (`AccessKeyId`,
    /// `SecretAccessKey`, `SessionToken`) that a helper keeps fresh;
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN)
    /// take precedence. Absolute, or relative to the data directory.
    pub credentials_file: String,
    /// CA certificate(s) (PEM) to trust for the endpoint, besides the
    /// system's; relative to the data directory or absolute.
    pub ca: String,
}

/// An access key (and a session token, for temporary credentials).
#[derive(Clone)]
pub struct KmsCredentials {
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
    pub session_token: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for KmsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl KmsCredentials {
    /// From `credential_process`'s JSON (`"Version": 1`).
    pub fn from_process_json(text: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Process {
            version: u32,
            access_key_id: String,
            secret_access_key: Zeroizing<String>,
            session_token: Option<Zeroizing<String>>,
        }
        let p: Process = serde_json::from_str(text).map_err(|_| {
            "not credential_process JSON (Version, AccessKeyId, SecretAccessKey)".to_owned()
        })?;
        if p.version != 1 || p.access_key_id.is_empty() || p.secret_access_key.is_empty() {
            return Err(
                "credential_process JSON of Version 1 with an access key is expected".into(),
            );
        }
        Ok(Self {
            access_key_id: p.access_key_id,
            secret_access_key: p.secret_access_key,
            session_token: p.session_token.filter(|t| !t.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_process_json() {
        let c = KmsCredentials::from_process_json(
            r#"{"Version": 1, "AccessKeyId": "AKIAEXAMPLE", "SecretAccessKey": "s3cr3t", "SessionToken": "tok", "Expiration": "2026-12-08T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(c.access_key_id, "AKIAEXAMPLE");
        assert_eq!(c.session_token.as_deref().map(String::as_str), Some("tok"));
        assert!(
            !format!("{c:?}").contains("s3cr3t"),
            "the secret is never printed"
        );
        for bad in [
            "",
            "{}",
            r#"{"Version": 2, "AccessKeyId": "a", "SecretAccessKey": "b"}"#,
        ] {
            let e = KmsCredentials::from_process_json(bad).unwrap_err();
            assert!(!e.contains("s3cr3t"));
        }
    }
}
