//! Export packages: an [age](https://age-encryption.org/v1) file encrypted to
//! the recipient's X25519 public key. The recipient opens it with any age
//! implementation (`age -d -i key.txt`), and nobody else can, mamori included.
//! The writer encrypts as it goes (64 KiB chunks), so plaintext only ever
//! exists in memory, a chunk at a time.

use std::{
    io::{Read, Write},
    str::FromStr,
};

use age::secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::CryptoError;

/// Who a package is for: an age X25519 recipient (`age1…`).
#[derive(Clone)]
pub struct PackageRecipient(age::x25519::Recipient);

impl PackageRecipient {
    pub fn parse(s: &str) -> Result<Self, CryptoError> {
        age::x25519::Recipient::from_str(s.trim())
            .map(Self)
            .map_err(|_| CryptoError::RecipientKey)
    }

    /// The canonical `age1…` form.
    pub fn encoded(&self) -> String {
        self.0.to_string()
    }

    /// A short fingerprint for people to compare over the phone: the first
    /// 8 bytes of SHA-256 of the encoded key, in hex.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.encoded().as_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Starts a package written to `out`; finish it with [`finish`].
    pub fn writer<W: Write>(&self, out: W) -> Result<PackageWriter<W>, CryptoError> {
        let enc = age::Encryptor::with_recipients(std::iter::once(&self.0 as &dyn age::Recipient))
            .map_err(|_| CryptoError::Random)?;
        let inner = enc.wrap_output(out).map_err(|_| CryptoError::Random)?;
        Ok(PackageWriter { inner })
    }
}

/// Encrypts what is written to it, chunk by chunk.
pub struct PackageWriter<W: Write> {
    inner: age::stream::StreamWriter<W>,
}

impl<W: Write> Write for PackageWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> PackageWriter<W> {
    /// Writes the last chunk and returns the output.
    pub fn finish(self) -> std::io::Result<W> {
        self.inner.finish()
    }
}

/// The recipient's side: a private key (`AGE-SECRET-KEY-1…`).
pub struct PackageIdentity(age::x25519::Identity);

impl PackageIdentity {
    pub fn generate() -> Self {
        Self(age::x25519::Identity::generate())
    }

    pub fn parse(s: &str) -> Result<Self, CryptoError> {
        // An identity file may hold comments (`# public key: …`) around the key.
        s.lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .and_then(|l| age::x25519::Identity::from_str(l).ok())
            .map(Self)
            .ok_or(CryptoError::IdentityFormat)
    }

    pub fn recipient(&self) -> PackageRecipient {
        PackageRecipient(self.0.to_public())
    }

    /// The identity file's text (as `age-keygen` writes it); zeroized on drop.
    pub fn to_file_text(&self, created: &str) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "# created: {created}\n# public key: {}\n{}\n",
            self.recipient().encoded(),
            self.0.to_string().expose_secret()
        ))
    }

    /// Decrypts a package; fails unless it was written for this identity.
    pub fn open(&self, package: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let dec = age::Decryptor::new_buffered(package).map_err(|_| CryptoError::PackageOpen)?;
        let mut reader = dec
            .decrypt(std::iter::once(&self.0 as &dyn age::Identity))
            .map_err(|_| CryptoError::PackageOpen)?;
        let mut out = Zeroizing::new(Vec::new());
        reader
            .read_to_end(&mut out)
            .map_err(|_| CryptoError::PackageOpen)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_recipient_opens_a_package() {
        let alice = PackageIdentity::generate();
        let mallory = PackageIdentity::generate();
        let recipient = PackageRecipient::parse(&alice.recipient().encoded()).unwrap();
        let mut w = recipient.writer(Vec::new()).unwrap();
        w.write_all("氏名,電話番号\n".repeat(10_000).as_bytes())
            .unwrap();
        let package = w.finish().unwrap();
        assert!(!package.windows(6).any(|x| x == "氏名".as_bytes()));
        assert_eq!(
            alice.open(&package).unwrap().len(),
            "氏名,電話番号\n".len() * 10_000
        );
        assert_eq!(mallory.open(&package).err(), Some(CryptoError::PackageOpen));
        let mut cut = package.clone();
        cut.truncate(package.len() - 10);
        assert_eq!(alice.open(&cut).err(), Some(CryptoError::PackageOpen));
        // identity files round-trip
        let text = alice.to_file_text("2026-11-22");
        let again = PackageIdentity::parse(&text).unwrap();
        assert_eq!(again.open(&package).unwrap().len(), 200_000);
        assert_eq!(
            PackageRecipient::parse("age1notakey").err(),
            Some(CryptoError::RecipientKey)
        );
        assert_eq!(recipient.fingerprint().len(), 16);
    }
}
