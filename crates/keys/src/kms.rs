//! The `kms` provider (cargo feature `kms`): the root key is a symmetric
//! AWS KMS key, which never leaves KMS's HSMs; mamori asks KMS to encrypt
//! and decrypt each 32-byte key with an encryption context holding the
//! associated data (tenant, use, version), so a wrapped key moved
//! elsewhere does not decrypt, and CloudTrail records every call with
//! that context. Requests go to KMS's JSON API (`TrentService.*`) over
//! `mamori_outbound`, signed with AWS Signature Version 4 by `aws-sigv4`
//! (the AWS SDK's own signer, without the SDK's ~170 crates and second
//! HTTP stack).
//!
//! Stored form: `5 ‖ CiphertextBlob` (KMS's own format, naming its key).
//!
//! Credentials come from the security office at start through a loader
//! the caller gives (the environment, or a file in `credential_process`'s
//! JSON that a helper keeps fresh); when KMS says they expired or are not
//! recognised, they are loaded once more and the call repeated.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use mamori_crypto::{CryptoError, KeyProvider, ProviderKind, WrappedKey, provider::check_kind};
use parking_lot::RwLock;
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

pub use crate::kms_config::{KmsConfig, KmsCredentials};

/// Most bytes read of any answer.
const MOST_BODY: u64 = 64 * 1024;

/// Loads the credentials (again).
pub type CredentialsLoader = Box<dyn Fn() -> Result<KmsCredentials, String> + Send + Sync>;

pub struct KmsProvider {
    config: KmsConfig,
    endpoint: url::Url,
    http: mamori_outbound::Client,
    credentials: RwLock<KmsCredentials>,
    load: CredentialsLoader,
}

/// What KMS said, by status and error type only (never its message, which
/// could quote what was sent).
fn refused(what: &str, status: u16, kind: &str) -> CryptoError {
    let kind = if !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_alphanumeric()) {
        format!(", {kind}")
    } else {
        String::new()
    };
    CryptoError::Provider(format!("AWS KMS {what}: refused (HTTP {status}{kind})"))
}

/// The error type of a KMS answer (`__type`, without its namespace).
fn error_type(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["__type"].as_str().map(str::to_owned))
        .map(|t| t.rsplit('#').next().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Described {
    key_metadata: KeyMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyMetadata {
    arn: String,
    key_state: String,
    /// Absent in some answers (an emulator's, older keys'): a symmetric
    /// default key can only encrypt and decrypt.
    #[serde(default)]
    key_usage: Option<String>,
    #[serde(default)]
    key_spec: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Encrypted {
    ciphertext_blob: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Decrypted {
    plaintext: String,
}

impl KmsProvider {
    /// Checks the key — symmetric, for encryption, enabled — with the
    /// credentials the loader gives, and pins its ARN.
    pub fn open(
        config: &KmsConfig,
        ca: Option<&std::path::Path>,
        load: CredentialsLoader,
    ) -> Result<Self, CryptoError> {
        let bad = |m: String| CryptoError::Provider(format!("[keys.kms] {m}"));
        if config.key_id.is_empty() || config.region.is_empty() {
            return Err(bad("key_id and region are required".into()));
        }
        let region_ok = config
            .region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return Err(bad("region: e.g. ap-northeast-1".into()));
        }
        let address = if config.endpoint.is_empty() {
            format!("https://kms.{}.amazonaws.com/", config.region)
        } else {
            config.endpoint.clone()
        };
        let endpoint =
            mamori_outbound::secure_url(&address).map_err(|m| bad(format!("endpoint {m}")))?;
        let http = mamori_outbound::Client::new(ca, MOST_BODY).map_err(bad)?;
        let credentials = load().map_err(|m| bad(format!("credentials: {m}")))?;
        let mut provider = Self {
            config: config.clone(),
            endpoint,
            http,
            credentials: RwLock::new(credentials),
            load,
        };
        provider.config.key_id = provider.check_key()?;
        Ok(provider)
    }

    /// The key's ARN, after checking it can be the root key.
    fn check_key(&self) -> Result<String, CryptoError> {
        let answer = self.call("DescribeKey", &json!({ "KeyId": self.config.key_id }))?;
        let Described { key_metadata: m } = json_of(&answer, "DescribeKey")?;
        let refuse = |why: &str| {
            Err(CryptoError::Provider(format!(
                "AWS KMS key '{}' {why}; refusing to use it as the root key",
                self.config.key_id
            )))
        };
        let symmetric = m.key_spec.as_deref() == Some("SYMMETRIC_DEFAULT")
            || (m.key_spec.is_none() && m.key_usage.as_deref() == Some("ENCRYPT_DECRYPT"));
        if !symmetric
            || m.key_usage
                .as_deref()
                .is_some_and(|u| u != "ENCRYPT_DECRYPT")
        {
            return refuse("is not a symmetric encryption key");
        }
        if m.key_state != "Enabled" {
            return refuse("is not enabled");
        }
        Ok(m.arn)
    }

    /// One signed call of KMS's JSON API; credentials that KMS does not
    /// take are loaded again once.
    fn call(&self, action: &str, body: &Value) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let payload = Zeroizing::new(body.to_string().into_bytes());
        let mut reloaded = false;
        loop {
            let headers = self.signed_headers(action, &payload)?;
            let mut req = self
                .http
                .http()
                .post(self.endpoint.clone())
                .timeout(Duration::from_secs(10))
                .body(payload.to_vec());
            for (name, value) in &headers {
                req = req.header(name.as_str(), value.as_str());
            }
            let resp = req.send().map_err(|e| {
                CryptoError::Provider(format!(
                    "AWS KMS {action}: cannot reach {}: {}",
                    self.endpoint,
                    e.without_url()
                ))
            })?;
            let status = resp.status().as_u16();
            let answer = self
                .http
                .read(resp)
                .map(Zeroizing::new)
                .map_err(|m| CryptoError::Provider(format!("AWS KMS {action}: {m}")))?;
            if status == 200 {
                return Ok(answer);
            }
            let kind = error_type(&answer);
            let stale = matches!(
                kind.as_str(),
                "ExpiredTokenException"
                    | "UnrecognizedClientException"
                    | "InvalidSignatureException"
            ) || status == 403;
            if stale && !reloaded {
                // A helper may have refreshed the credentials since.
                let fresh = (self.load)()
                    .map_err(|m| CryptoError::Provider(format!("AWS KMS credentials: {m}")))?;
                *self.credentials.write() = fresh;
                reloaded = true;
                continue;
            }
            if kind == "InvalidCiphertextException" {
                return Err(CryptoError::Decrypt);
            }
            return Err(refused(action, status, &kind));
        }
    }

    /// The headers of a request, with its SigV4 signature.
    fn signed_headers(
        &self,
        action: &str,
        payload: &[u8],
    ) -> Result<Vec<(String, String)>, CryptoError> {
        let mut headers = vec![
            (
                "content-type".to_owned(),
                "application/x-amz-json-1.1".to_owned(),
            ),
            ("x-amz-target".to_owned(), format!("TrentService.{action}")),
        ];
        let c = self.credentials.read();
        let identity = Credentials::new(
            c.access_key_id.as_str(),
            c.secret_access_key.as_str(),
            c.session_token.as_ref().map(|t| t.to_string()),
            None,
            "mamori",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.config.region)
            .name("kms")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|_| CryptoError::Provider("AWS KMS: cannot sign the request".into()))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            self.endpoint.as_str(),
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(payload),
        )
        .map_err(|_| CryptoError::Provider("AWS KMS: cannot sign the request".into()))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|_| CryptoError::Provider("AWS KMS: cannot sign the request".into()))?
            .into_parts();
        headers.extend(
            instructions
                .headers()
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        Ok(headers)
    }

    /// The encryption context that binds a wrapped key to what it is for.
    fn context(aad: &[u8]) -> Value {
        json!({ "mamori": B64.encode(aad) })
    }
}

fn json_of<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, CryptoError> {
    serde_json::from_slice(bytes)
        .map_err(|_| CryptoError::Provider(format!("AWS KMS {what}: an unexpected answer")))
}

impl KeyProvider for KmsProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Kms
    }

    fn describe(&self) -> String {
        format!(
            "AWS KMS key '{}' ({})",
            self.config.key_id, self.config.region
        )
    }

    fn wrap(&self, aad: &[u8], key: &[u8; 32]) -> Result<WrappedKey, CryptoError> {
        let plaintext = Zeroizing::new(B64.encode(key));
        let body = json!({
            "KeyId": self.config.key_id,
            "Plaintext": plaintext.as_str(),
            "EncryptionContext": Self::context(aad),
        });
        let answer = self.call("Encrypt", &body)?;
        let Encrypted { ciphertext_blob } = json_of(&answer, "Encrypt")?;
        let blob = B64
            .decode(ciphertext_blob)
            .map_err(|_| CryptoError::Provider("AWS KMS Encrypt: no ciphertext".into()))?;
        let mut out = Vec::with_capacity(1 + blob.len());
        out.push(ProviderKind::Kms.format());
        out.extend_from_slice(&blob);
        Ok(WrappedKey(out))
    }

    fn unwrap(&self, aad: &[u8], wrapped: &WrappedKey) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        check_kind(ProviderKind::Kms, wrapped)?;
        if wrapped.0.len() < 2 {
            return Err(CryptoError::Format);
        }
        // The key is named too: KMS refuses a ciphertext of another key.
        let body = json!({
            "KeyId": self.config.key_id,
            "CiphertextBlob": B64.encode(&wrapped.0[1..]),
            "EncryptionContext": Self::context(aad),
        });
        let answer = match self.call("Decrypt", &body) {
            Err(CryptoError::Provider(m)) if m.contains("IncorrectKeyException") => {
                return Err(CryptoError::Decrypt);
            }
            other => other?,
        };
        let Decrypted { plaintext } = json_of(&answer, "Decrypt")?;
        let encoded = Zeroizing::new(plaintext);
        let plain = Zeroizing::new(
            B64.decode(encoded.as_str())
                .map_err(|_| CryptoError::Decrypt)?,
        );
        let key: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Decrypt)?;
        Ok(Zeroizing::new(key))
    }
}
