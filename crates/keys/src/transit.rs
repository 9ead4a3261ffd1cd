//! The `transit` provider: the root key is a key of a HashiCorp Vault or
//! OpenBao Transit engine, which never hands it out; mamori asks the engine
//! to encrypt and decrypt each 32-byte key, with the associated data
//! naming tenant, use and version (an AEAD key type: `aes256-gcm96` or
//! `chacha20-poly1305`), so a wrapped key moved elsewhere does not decrypt.
//! The engine's audit device records every call.
//!
//! Stored form: `4 ‖ the engine's ciphertext` (`vault:vN:…`, UTF-8).
//!
//! The token comes from the security office at start, through a loader the
//! caller gives (the environment or a file an agent renews); when the
//! engine refuses it, it is loaded once more and the call repeated.

use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use mamori_crypto::{CryptoError, KeyProvider, ProviderKind, WrappedKey, provider::check_kind};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zeroize::Zeroizing;

/// Most bytes read of any answer of the engine.
const MOST_BODY: u64 = 64 * 1024;

/// `[keys.transit]` in `mamori.toml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransitConfig {
    /// The Vault or OpenBao server: `https://vault.example:8200`
    /// (`http://` only to this machine).
    pub address: String,
    /// Where the Transit engine is mounted.
    pub mount: String,
    /// The engine's key (type `aes256-gcm96` or `chacha20-poly1305`, not
    /// exportable).
    pub key: String,
    /// A namespace (Vault Enterprise, OpenBao), or empty.
    pub namespace: String,
    /// A file holding the token (e.g. the sink of a Vault or OpenBao agent,
    /// which keeps it renewed); MAMORI_TRANSIT_TOKEN takes precedence.
    /// Absolute, or relative to the data directory.
    pub token_file: String,
    /// CA certificate(s) (PEM) to trust for the server, besides the
    /// system's; relative to the data directory or absolute.
    pub ca: String,
}

impl Default for TransitConfig {
    fn default() -> Self {
        Self {
            address: "https://127.0.0.1:8200".into(),
            mount: "transit".into(),
            key: "mamori-root".into(),
            namespace: String::new(),
            token_file: String::new(),
            ca: String::new(),
        }
    }
}

/// Loads the token (again): the environment or a file, as configured.
pub type TokenLoader = Box<dyn Fn() -> Result<Zeroizing<String>, String> + Send + Sync>;

pub struct TransitProvider {
    config: TransitConfig,
    /// `{address}/v1/{mount}/`.
    base: url::Url,
    http: mamori_outbound::Client,
    token: RwLock<Zeroizing<String>>,
    load_token: TokenLoader,
}

/// Why a call to the engine failed, by its answer's status only (the
/// engine's text is not repeated: an error could quote what was sent).
fn refused(what: &str, status: u16) -> CryptoError {
    let why = match status {
        400 => "refused the request",
        403 => "refused the token (permission denied)",
        404 => "has no such mount or key",
        429 => "is rate limiting",
        503 => "is sealed or in standby",
        _ => "failed",
    };
    CryptoError::Provider(format!("Transit {what}: the server {why} (HTTP {status})"))
}

impl TransitProvider {
    /// Checks the engine's key — an AEAD type, not exportable, no
    /// plaintext backup — with the token the loader gives.
    pub fn open(
        config: &TransitConfig,
        ca: Option<&std::path::Path>,
        load_token: TokenLoader,
    ) -> Result<Self, CryptoError> {
        let bad = |m: String| CryptoError::Provider(format!("[keys.transit] {m}"));
        let address = mamori_outbound::secure_url(&config.address)
            .map_err(|m| bad(format!("address {m}")))?;
        for (name, part) in [("mount", &config.mount), ("key", &config.key)] {
            let plain = !part.is_empty()
                && part
                    .split('/')
                    .all(|s| !s.is_empty() && s != "." && s != ".." && s.bytes().all(path_byte));
            if !plain {
                return Err(bad(format!("{name}: letters, digits, - _ . and / only")));
            }
        }
        let base = address
            .join(&format!("v1/{}/", config.mount))
            .map_err(|_| bad("address: not a base URL".into()))?;
        let http = mamori_outbound::Client::new(ca, MOST_BODY).map_err(bad)?;
        let token = load_token().map_err(|m| bad(format!("token: {m}")))?;
        let provider = Self {
            config: config.clone(),
            base,
            http,
            token: RwLock::new(token),
            load_token,
        };
        provider.check_key()?;
        Ok(provider)
    }

    fn check_key(&self) -> Result<(), CryptoError> {
        let answer = self.call("GET", &format!("keys/{}", self.config.key), None)?;
        let key: Value = json_of(&answer, "keys")?;
        let data = &key["data"];
        let kind = data["type"].as_str().unwrap_or("");
        let refuse = |why: &str| {
            Err(CryptoError::Provider(format!(
                "Transit key '{}' {why}; refusing to use it as the root key",
                self.config.key
            )))
        };
        if !matches!(kind, "aes256-gcm96" | "chacha20-poly1305") {
            return refuse("is not an aes256-gcm96 or chacha20-poly1305 key");
        }
        if data["exportable"].as_bool() != Some(false)
            || data["allow_plaintext_backup"].as_bool() != Some(false)
        {
            return refuse("can be exported or backed up in plaintext");
        }
        Ok(())
    }

    /// One call and its answer's body (wiped when dropped: a decryption's
    /// answer holds a key); a refused token is loaded again once.
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let url = self
            .base
            .join(path)
            .map_err(|_| CryptoError::Provider("Transit: a bad path".into()))?;
        let what = format!("{method} {path}");
        let mut reloaded = false;
        loop {
            let token = self.token.read().clone();
            let mut req = match method {
                "GET" => self.http.http().get(url.clone()),
                _ => self.http.http().post(url.clone()),
            }
            .header("X-Vault-Token", token.as_str())
            .header("X-Vault-Request", "true")
            .timeout(Duration::from_secs(10));
            if !self.config.namespace.is_empty() {
                req = req.header("X-Vault-Namespace", &self.config.namespace);
            }
            if let Some(body) = body {
                req = req.json(body);
            }
            let resp = req.send().map_err(|e| {
                CryptoError::Provider(format!(
                    "Transit {what}: cannot reach {}: {}",
                    self.config.address,
                    e.without_url()
                ))
            })?;
            let status = resp.status().as_u16();
            if status == 403 && !reloaded {
                // An agent may have renewed the token since it was read.
                let fresh = (self.load_token)()
                    .map_err(|m| CryptoError::Provider(format!("Transit token: {m}")))?;
                *self.token.write() = fresh;
                reloaded = true;
                continue;
            }
            if status != 200 {
                return Err(refused(&what, status));
            }
            return self
                .http
                .read(resp)
                .map(Zeroizing::new)
                .map_err(|m| CryptoError::Provider(format!("Transit {what}: {m}")));
        }
    }
}

fn json_of<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, CryptoError> {
    serde_json::from_slice(bytes)
        .map_err(|_| CryptoError::Provider(format!("Transit {what}: an unexpected answer")))
}

#[derive(Deserialize)]
struct Answer<T> {
    data: T,
}

#[derive(Deserialize)]
struct Encrypted {
    ciphertext: String,
}

#[derive(Deserialize)]
struct Decrypted {
    plaintext: String,
}

fn path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/')
}

impl KeyProvider for TransitProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Transit
    }

    fn describe(&self) -> String {
        format!(
            "Transit key '{}' at {} ({})",
            self.config.key, self.config.address, self.config.mount
        )
    }

    fn wrap(&self, aad: &[u8], key: &[u8; 32]) -> Result<WrappedKey, CryptoError> {
        // The key crosses the TLS connection to the engine, which is what
        // Transit is; the request's copies are the HTTP client's.
        let body = json!({
            "plaintext": B64.encode(key),
            "associated_data": B64.encode(aad),
        });
        let answer = self.call("POST", &format!("encrypt/{}", self.config.key), Some(&body))?;
        let Answer::<Encrypted> { data } = json_of(&answer, "encrypt")?;
        let ciphertext = Some(data.ciphertext.as_str())
            .filter(|c| c.starts_with("vault:v"))
            .ok_or_else(|| CryptoError::Provider("Transit encrypt: no ciphertext".into()))?;
        let mut out = Vec::with_capacity(1 + ciphertext.len());
        out.push(ProviderKind::Transit.format());
        out.extend_from_slice(ciphertext.as_bytes());
        Ok(WrappedKey(out))
    }

    fn unwrap(&self, aad: &[u8], wrapped: &WrappedKey) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        check_kind(ProviderKind::Transit, wrapped)?;
        let ciphertext = std::str::from_utf8(&wrapped.0[1..])
            .ok()
            .filter(|c| c.starts_with("vault:v"))
            .ok_or(CryptoError::Format)?;
        let body = json!({
            "ciphertext": ciphertext,
            "associated_data": B64.encode(aad),
        });
        let answer = match self.call("POST", &format!("decrypt/{}", self.config.key), Some(&body)) {
            // The engine answers 400 to a ciphertext that does not open
            // (another key, other associated data, altered).
            Err(CryptoError::Provider(m)) if m.ends_with("(HTTP 400)") => {
                return Err(CryptoError::Decrypt);
            }
            other => other?,
        };
        let Answer::<Decrypted> { data } = json_of(&answer, "decrypt")?;
        let encoded = Zeroizing::new(data.plaintext);
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
