//! TLS clients of the audit log (to SIEM receivers and witnesses): rustls
//! with the ring provider, trusting exactly the CA certificates given — a
//! receiver of the audit trail is an internal service with the
//! organisation's own CA, and trusting every public CA would let anyone
//! with any certificate receive or answer for it.

use std::{path::Path, sync::Arc};

use rustls::{
    ClientConfig, RootCertStore,
    pki_types::{CertificateDer, pem::PemObject},
};

/// Makes ring the process's rustls provider. HTTP clients refuse to be
/// built without one (even for plain http), so every process that makes
/// one calls this first; calling it again is harmless.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client configuration trusting only the certificates in `ca` (PEM).
pub fn client_config(ca: &Path) -> Result<Arc<ClientConfig>, String> {
    let err = |m: String| format!("{}: {m}", ca.display());
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| err(e.to_string()))? {
        roots
            .add(cert.map_err(|e| err(e.to_string()))?)
            .map_err(|e| err(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(err("no certificate in the file".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
