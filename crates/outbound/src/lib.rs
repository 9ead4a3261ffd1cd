//! HTTP clients for the services mamori calls out to — an identity
//! provider, a key service — all made one way: no redirect followed (a
//! token, a code or a key must never be carried somewhere else), short
//! timeouts, answers read up to a bound, TLS trusting the system's roots
//! and a configured CA, and plain `http://` only to this machine.
//!
//! A blocking client owns a small runtime of its own, which must not be
//! dropped on a thread of another runtime (the server's): [`Client`] drops
//! it on a thread of its own when that would happen.

use std::{io::Read, path::Path, sync::Arc, time::Duration};

pub use reqwest::blocking::{RequestBuilder, Response};

/// A blocking HTTP client for one service.
pub struct Client {
    /// Always Some until dropped (see `Drop`).
    inner: Option<reqwest::blocking::Client>,
    /// Most bytes read of any answer.
    most_body: u64,
}

impl Client {
    /// A client trusting the system's roots and, when given, the
    /// certificates of the PEM file `ca`; answers longer than `most_body`
    /// are refused.
    pub fn new(ca: Option<&Path>, most_body: u64) -> Result<Client, String> {
        install_tls();
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(ca) = ca {
            use rustls::pki_types::{CertificateDer, pem::PemObject};
            let certs = CertificateDer::pem_file_iter(ca)
                .map_err(|e| format!("{}: {e}", ca.display()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{}: {e}", ca.display()))?;
            if certs.is_empty() {
                return Err(format!("{}: no certificate in the file", ca.display()));
            }
            roots.add_parsable_certificates(certs);
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let inner = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Client {
            inner: Some(inner),
            most_body,
        })
    }

    /// The client, to build requests with.
    pub fn http(&self) -> &reqwest::blocking::Client {
        self.inner
            .as_ref()
            .expect("the client lives as long as its owner")
    }

    /// The answer's body, refused when longer than the bound.
    pub fn read(&self, resp: Response) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        resp.take(self.most_body + 1)
            .read_to_end(&mut body)
            .map_err(|e| format!("reading the answer: {e}"))?;
        if body.len() as u64 > self.most_body {
            return Err("the answer is too large".into());
        }
        Ok(body)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            std::thread::spawn(move || drop(inner));
        }
    }
}

/// `https://…`, or `http://` to this machine only (tests, a service on the
/// same host).
pub fn secure_url(s: &str) -> Result<url::Url, String> {
    let u = url::Url::parse(s).map_err(|_| "is not a URL".to_owned())?;
    let loopback = match u.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match u.scheme() {
        "https" => Ok(u),
        "http" if loopback => Ok(u),
        _ => Err("must be https:// (http:// only to this machine)".into()),
    }
}

/// Makes ring the process's rustls provider (HTTP clients refuse to be
/// built without one, even for plain http); calling it again is harmless.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_is_answered_not_followed_and_a_long_answer_refused() {
        use std::io::{BufRead, BufReader, Write};
        use std::net::TcpListener;
        let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
        let there = elsewhere.local_addr().unwrap();
        elsewhere.set_nonblocking(true).unwrap();
        let here = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = here.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            for (i, conn) in here.incoming().take(2).enumerate() {
                let mut conn = conn.unwrap();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 2 {
                    line.clear();
                }
                let answer = if i == 0 {
                    format!(
                        "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://{there}/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    )
                } else {
                    "HTTP/1.1 200 OK\r\ncontent-length: 100\r\nconnection: close\r\n\r\n".to_owned()
                        + &"x".repeat(100)
                };
                conn.write_all(answer.as_bytes()).unwrap();
            }
        });
        let client = Client::new(None, 64).unwrap();
        let resp = client
            .http()
            .post(format!("http://{addr}/hook"))
            .send()
            .unwrap();
        assert_eq!(resp.status(), 307);
        assert!(
            elsewhere.accept().is_err(),
            "nothing went to the redirect's target"
        );
        let resp = client.http().get(format!("http://{addr}/")).send().unwrap();
        assert_eq!(client.read(resp).unwrap_err(), "the answer is too large");
        server.join().unwrap();
    }

    #[test]
    fn only_https_or_this_machine() {
        assert!(secure_url("https://login.microsoftonline.com/x/v2.0").is_ok());
        assert!(secure_url("http://127.0.0.1:8080").is_ok());
        assert!(secure_url("http://[::1]:8080").is_ok());
        assert!(secure_url("http://localhost:8080").is_ok());
        assert!(secure_url("http://idp.example").is_err());
        assert!(secure_url("http://127.0.0.1.example").is_err());
        assert!(secure_url("ftp://idp.example").is_err());
        assert!(secure_url("idp.example").is_err());
    }
}
