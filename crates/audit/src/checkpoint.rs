//! Signed checkpoints: a log's size and root hash, signed with Ed25519, in
//! the C2SP tlog-checkpoint and signed-note formats — the ones transparency
//! logs, witnesses and their tools already speak.
//!
//! ```text
//! <origin>\n                 e.g. mamori/3f9a…/tenant/acme: unique per log
//! <size>\n                   decimal, no leading zeros
//! <base64 root hash>\n
//! \n
//! — <key name> <base64(key id ‖ signature)>\n
//! ```
//!
//! The key id is the first four bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public
//! key), and the verifier key is written `name+<key id hex>+<base64(0x01 ‖
//! public key)>`. Witnesses add C2SP tlog-cosignature/v1 lines (key type
//! 0x04) beside the log's signature. Pure functions, no I/O; the signing
//! keys are zeroized on drop.

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::merkle::Hash;

/// What starts a signature line: an em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// Most signature lines a note may carry (as Go's `sumdb/note`): a note
/// with more is refused rather than verified line by line.
pub const MAX_SIGNATURES: usize = 100;

/// C2SP signed-note text: not empty, ends with a newline, and holds no
/// control character other than the newline.
fn check_text(text: &str) -> Result<(), CheckpointError> {
    let bad = CheckpointError::Malformed;
    if !text.ends_with('\n') {
        return Err(bad("the text does not end with a newline"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(bad("the text holds a control character"));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    #[error("malformed key: {0}")]
    Key(&'static str),
    #[error("no signature by key '{0}' on this checkpoint")]
    Unsigned(String),
    #[error("the signature by key '{0}' does not verify: the checkpoint was altered or forged")]
    BadSignature(String),
}

/// What a checkpoint says: this log, at this size, has this root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The signed text: origin, size and root, each on its own line.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Parses a checkpoint body (extension lines after the root are allowed
    /// by the format and ignored).
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        let bad = CheckpointError::Malformed;
        let body = text.strip_suffix('\n').ok_or(bad("no final newline"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or(bad("no origin"))?;
        let size = lines.next().ok_or(bad("no size"))?;
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(bad("size is not a decimal number"));
        }
        let size = size.parse().map_err(|_| bad("size is too large"))?;
        let root = lines.next().ok_or(bad("no root hash"))?;
        let root = B64
            .decode(root)
            .ok()
            .and_then(|r| Hash::try_from(r).ok())
            .ok_or(bad("root hash is not 32 bytes of base64"))?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

/// The key-type byte of a signed-note key: it goes into the key id and the
/// key strings, so a key of one type never verifies signatures of another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    /// A plain Ed25519 note signature: the log signing its checkpoints.
    Note = 0x01,
    /// A C2SP tlog-cosignature/v1 Ed25519 cosignature: a witness's statement.
    Cosignature = 0x04,
}

fn key_id(name: &str, kind: Kind, public: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([kind as u8]);
    h.update(public.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

fn check_name(name: &str) -> Result<(), CheckpointError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(CheckpointError::Key(
            "a key name is non-empty, without spaces or '+'",
        ));
    }
    Ok(())
}

/// A key string's parts: name, key id, key material (zeroized on drop).
type KeyParts<'a> = (&'a str, [u8; 4], Zeroizing<Vec<u8>>);

/// `name+<hex key id>+<base64(type ‖ key material)>`, split and checked for
/// the expected type.
fn split_key(s: &str, kind: Kind) -> Result<KeyParts<'_>, CheckpointError> {
    let bad = CheckpointError::Key;
    let mut parts = s.trim().splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected name+keyid+key"));
    };
    check_name(name)?;
    let id: [u8; 4] = hex::decode(id)
        .ok()
        .filter(|_| id.len() == 8)
        .and_then(|v| v.try_into().ok())
        .ok_or(bad("the key id is not 8 hex digits"))?;
    let raw = Zeroizing::new(B64.decode(key).map_err(|_| bad("the key is not base64"))?);
    match raw.split_first() {
        Some((&t, rest)) if t == kind as u8 => Ok((name, id, Zeroizing::new(rest.to_vec()))),
        Some((0x01 | 0x04, _)) => Err(bad(match kind {
            Kind::Note => "a witness cosigning key, not a log signing key",
            Kind::Cosignature => "a log signing key, not a witness cosigning key",
        })),
        _ => Err(bad("not an Ed25519 key")),
    }
}

/// An Ed25519 key pair with its signed-note name and key id.
struct KeyPair {
    name: String,
    key: SigningKey,
    id: [u8; 4],
    kind: Kind,
}

impl KeyPair {
    fn from_seed(name: &str, seed: &[u8; 32], kind: Kind) -> Result<Self, CheckpointError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let id = key_id(name, kind, &key.verifying_key());
        Ok(Self {
            name: name.to_owned(),
            key,
            id,
            kind,
        })
    }

    fn generate(name: &str, kind: Kind) -> Result<Self, CheckpointError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|_| CheckpointError::Key("no randomness"))?;
        Self::from_seed(name, &seed, kind)
    }

    /// `PRIVATE+KEY+name+<hex key id>+<base64(type ‖ seed)>` (the format of
    /// Go's golang.org/x/mod/sumdb/note).
    fn parse(skey: &str, kind: Kind) -> Result<Self, CheckpointError> {
        let bad = CheckpointError::Key;
        let rest = skey
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(bad("a signer key starts with PRIVATE+KEY+"))?;
        let (name, id, seed) = split_key(rest, kind)?;
        let seed: &[u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| bad("not 32 key bytes"))?;
        let pair = Self::from_seed(name, seed, kind)?;
        if pair.id != id {
            return Err(bad("the key id does not match the name and key"));
        }
        Ok(pair)
    }

    fn to_skey(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new(vec![self.kind as u8]);
        raw.extend_from_slice(self.key.as_bytes());
        Zeroizing::new(format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex::encode(self.id),
            B64.encode(raw.as_slice())
        ))
    }

    fn public(&self) -> PublicKey {
        PublicKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
            id: self.id,
            kind: self.kind,
        }
    }

    /// A signature line: `— name base64(key id ‖ prefix ‖ signature)`.
    fn line(&self, message: &[u8], prefix: &[u8]) -> String {
        let sig = self.key.sign(message);
        let mut blob = self.id.to_vec();
        blob.extend_from_slice(prefix);
        blob.extend_from_slice(&sig.to_bytes());
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(blob))
    }
}

/// An Ed25519 public key with its signed-note name and key id.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PublicKey {
    name: String,
    key: VerifyingKey,
    id: [u8; 4],
    kind: Kind,
}

impl PublicKey {
    fn parse(vkey: &str, kind: Kind) -> Result<Self, CheckpointError> {
        let bad = CheckpointError::Key;
        let (name, id, public) = split_key(vkey, kind)?;
        let public: [u8; 32] = public
            .as_slice()
            .try_into()
            .map_err(|_| bad("not 32 key bytes"))?;
        let key = VerifyingKey::from_bytes(&public).map_err(|_| bad("not a valid Ed25519 key"))?;
        if key_id(name, kind, &key) != id {
            return Err(bad("the key id does not match the name and key"));
        }
        Ok(Self {
            name: name.to_owned(),
            key,
            id,
            kind,
        })
    }

    fn to_vkey(&self) -> String {
        let mut raw = vec![self.kind as u8];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, hex::encode(self.id), B64.encode(raw))
    }

    /// The signature blobs (after the key id) of this key's lines in a
    /// note's signature block; other keys' lines are skipped.
    fn blobs(&self, sigs: &str) -> Result<Vec<Vec<u8>>, CheckpointError> {
        let bad = CheckpointError::Malformed;
        let mut mine = Vec::new();
        for line in sigs.split('\n').filter(|l| !l.is_empty()) {
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or(bad("a signature line must start with '— '"))?;
            let (name, blob) = rest.split_once(' ').ok_or(bad("signature line"))?;
            let blob = B64
                .decode(blob)
                .map_err(|_| bad("signature is not base64"))?;
            if name == self.name && blob.len() >= 4 && blob[..4] == self.id {
                mine.push(blob[4..].to_vec());
            }
        }
        Ok(mine)
    }

    fn check(&self, message: &[u8], sig: &[u8]) -> Result<(), CheckpointError> {
        let bad = || CheckpointError::BadSignature(self.name.clone());
        let sig = Signature::from_slice(sig).map_err(|_| bad())?;
        self.key.verify_strict(message, &sig).map_err(|_| bad())
    }
}

/// A note's text (ending in a newline) and its signature block of at most
/// `MAX_SIGNATURES` lines.
fn split_note(note: &str) -> Result<(&str, &str), CheckpointError> {
    let bad = CheckpointError::Malformed;
    let split = note.rfind("\n\n").ok_or(bad("no signature block"))?;
    let (text, sigs) = (&note[..=split], &note[split + 2..]);
    if !sigs.ends_with('\n') {
        return Err(bad("no final newline"));
    }
    check_text(text)?;
    if sigs.split('\n').filter(|l| !l.is_empty()).count() > MAX_SIGNATURES {
        return Err(bad("more than 100 signatures"));
    }
    Ok((text, sigs))
}

/// The log's signing key (kept outside the database, like the root key).
pub struct Signer(KeyPair);

impl Signer {
    /// A signer from a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, CheckpointError> {
        KeyPair::from_seed(name, seed, Kind::Note).map(Self)
    }

    /// A new random key.
    pub fn generate(name: &str) -> Result<Self, CheckpointError> {
        KeyPair::generate(name, Kind::Note).map(Self)
    }

    /// Parses a signer key, `PRIVATE+KEY+name+<hex key id>+<base64(0x01 ‖ seed)>`.
    pub fn parse(skey: &str) -> Result<Self, CheckpointError> {
        KeyPair::parse(skey, Kind::Note).map(Self)
    }

    /// The signer key string, for the key file (secret: keep it 0600).
    pub fn to_skey(&self) -> Zeroizing<String> {
        self.0.to_skey()
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn verifier(&self) -> Verifier {
        Verifier(self.0.public())
    }

    /// Signs a note's text, which must be C2SP note text: ending with a
    /// newline, with no other control character.
    pub fn sign_text(&self, text: &str) -> Result<String, CheckpointError> {
        check_text(text)?;
        Ok(format!("{text}\n{}", self.0.line(text.as_bytes(), &[])))
    }

    /// The signed checkpoint (refused if its origin holds a control character).
    pub fn sign(&self, cp: &Checkpoint) -> Result<String, CheckpointError> {
        self.sign_text(&cp.body())
    }
}

/// A public key that checks checkpoints: what an auditor or a witness holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verifier(PublicKey);

impl Verifier {
    /// Parses `name+<hex key id>+<base64(0x01 ‖ public key)>`.
    pub fn parse(vkey: &str) -> Result<Self, CheckpointError> {
        PublicKey::parse(vkey, Kind::Note).map(Self)
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The verifier key string, to publish to auditors and witnesses.
    pub fn to_vkey(&self) -> String {
        self.0.to_vkey()
    }

    /// The text of a signed note if it carries a valid signature by this key
    /// (signatures by other keys — a witness's, say — are skipped).
    pub fn open_text<'n>(&self, note: &'n str) -> Result<&'n str, CheckpointError> {
        let (text, sigs) = split_note(note)?;
        let mine = self.0.blobs(sigs)?;
        if mine.is_empty() {
            return Err(CheckpointError::Unsigned(self.0.name.clone()));
        }
        for sig in mine {
            self.0.check(text.as_bytes(), &sig)?;
        }
        Ok(text)
    }

    /// The checkpoint of a signed note, if this key signed it.
    pub fn open(&self, note: &str) -> Result<Checkpoint, CheckpointError> {
        Checkpoint::parse_body(self.open_text(note)?)
    }
}

/// What a cosignature/v1 signs: a header, the time, the checkpoint body.
fn cosigned_message(body: &str, time: u64) -> String {
    format!("cosignature/v1\ntime {time}\n{body}")
}

/// A witness's key: it cosigns checkpoints it has checked are consistent
/// with everything it saw before (C2SP tlog-cosignature, Ed25519 type 0x04).
pub struct Cosigner(KeyPair);

impl Cosigner {
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, CheckpointError> {
        KeyPair::from_seed(name, seed, Kind::Cosignature).map(Self)
    }

    pub fn generate(name: &str) -> Result<Self, CheckpointError> {
        KeyPair::generate(name, Kind::Cosignature).map(Self)
    }

    /// Parses `PRIVATE+KEY+name+<hex key id>+<base64(0x04 ‖ seed)>`.
    pub fn parse(skey: &str) -> Result<Self, CheckpointError> {
        KeyPair::parse(skey, Kind::Cosignature).map(Self)
    }

    pub fn to_skey(&self) -> Zeroizing<String> {
        self.0.to_skey()
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier(self.0.public())
    }

    /// The cosignature line for a checkpoint body at `time` (POSIX seconds).
    pub fn cosign(&self, body: &str, time: u64) -> String {
        self.0
            .line(cosigned_message(body, time).as_bytes(), &time.to_be_bytes())
    }
}

/// A witness's public key, to check its cosignatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier(PublicKey);

impl CosignatureVerifier {
    /// Parses `name+<hex key id>+<base64(0x04 ‖ public key)>`.
    pub fn parse(vkey: &str) -> Result<Self, CheckpointError> {
        PublicKey::parse(vkey, Kind::Cosignature).map(Self)
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn to_vkey(&self) -> String {
        self.0.to_vkey()
    }

    /// The time of this witness's valid cosignature on a signed note.
    pub fn cosigned(&self, note: &str) -> Result<u64, CheckpointError> {
        let (text, sigs) = split_note(note)?;
        let mine = self.0.blobs(sigs)?;
        let blob = mine
            .first()
            .ok_or_else(|| CheckpointError::Unsigned(self.0.name.clone()))?;
        let bad = || CheckpointError::BadSignature(self.0.name.clone());
        let (time, sig) = blob.split_at_checked(8).ok_or_else(bad)?;
        let time = u64::from_be_bytes(time.try_into().map_err(|_| bad())?);
        if time > i64::MAX as u64 {
            return Err(bad());
        }
        self.0.check(cosigned_message(text, time).as_bytes(), sig)?;
        Ok(time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // golang.org/x/mod/sumdb/note's published example: the same key must give
    // the same bytes, or no other implementation would accept our notes.
    const GO_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    fn go_signer() -> Signer {
        let s = Signer::parse(GO_SKEY).unwrap();
        assert_eq!(*s.to_skey(), GO_SKEY);
        s
    }

    #[test]
    fn signs_and_opens_exactly_like_the_reference_implementation() {
        let signer = go_signer();
        assert_eq!(signer.verifier().to_vkey(), GO_VKEY);
        assert_eq!(signer.sign_text(GO_TEXT).unwrap(), GO_NOTE);
        let v = Verifier::parse(GO_VKEY).unwrap();
        assert_eq!(v.open_text(GO_NOTE).unwrap(), GO_TEXT);
        let altered = GO_NOTE.replace("cryptography", "cryptographY");
        assert!(matches!(
            v.open_text(&altered),
            Err(CheckpointError::BadSignature(_))
        ));
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "mamori/test/tenant/acme".into(),
            size: 1234,
            root: crate::merkle::leaf_hash(b"root"),
        }
    }

    #[test]
    fn a_checkpoint_round_trips_and_any_edit_breaks_it() {
        let s = Signer::generate("mamori-audit").unwrap();
        let v = Verifier::parse(&s.verifier().to_vkey()).unwrap();
        let note = s.sign(&checkpoint()).unwrap();
        assert_eq!(v.open(&note).unwrap(), checkpoint());
        assert!(note.starts_with("mamori/test/tenant/acme\n1234\n"));
        for (from, to) in [
            ("1234", "1235"),
            ("tenant/acme", "tenant/acmf"),
            ("\n1234", "\n01234"),
        ] {
            let forged = note.replacen(from, to, 1);
            assert!(v.open(&forged).is_err(), "{from} → {to}");
        }
        // The root line edited, one base64 character changed.
        let mut lines: Vec<String> = note.split('\n').map(str::to_owned).collect();
        let c = if lines[2].starts_with('A') { "B" } else { "A" };
        lines[2].replace_range(0..1, c);
        assert!(matches!(
            v.open(&lines.join("\n")),
            Err(CheckpointError::BadSignature(_))
        ));
    }

    #[test]
    fn another_key_with_the_same_name_is_not_this_key() {
        let real = Signer::generate("mamori-audit").unwrap();
        let forger = Signer::generate("mamori-audit").unwrap();
        let v = real.verifier();
        let forged = forger.sign(&checkpoint()).unwrap();
        assert!(matches!(v.open(&forged), Err(CheckpointError::Unsigned(_))));
        // Even with this key's id pasted in front of the forger's signature.
        let blob = forged.rsplit(' ').next().unwrap().trim_end();
        let mut raw = B64.decode(blob).unwrap();
        raw[..4].copy_from_slice(&v.0.id);
        let pasted = forged.replace(blob, &B64.encode(raw));
        assert!(matches!(
            v.open(&pasted),
            Err(CheckpointError::BadSignature(_))
        ));
        // A witness's cosignature beside ours is fine.
        let witness = Signer::generate("witness.example").unwrap();
        let note = real.sign(&checkpoint()).unwrap();
        let cosigned = format!(
            "{note}{}",
            witness
                .sign(&checkpoint())
                .unwrap()
                .rsplit("\n\n")
                .next()
                .unwrap()
        );
        assert_eq!(v.open(&cosigned).unwrap(), checkpoint());
        assert_eq!(witness.verifier().open(&cosigned).unwrap(), checkpoint());
    }

    #[test]
    fn malformed_keys_and_bodies_are_refused_with_reasons() {
        for bad in [
            "",
            "name",
            "name+1234+AAAA",
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+AhpczQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ] {
            assert!(Verifier::parse(bad).is_err(), "{bad:?}");
        }
        let root = B64.encode([7u8; 32]);
        for bad in [
            String::new(),
            format!("origin\n12\n{root}"),
            format!("\n12\n{root}\n"),
            format!("origin\n-1\n{root}\n"),
            format!("origin\n012\n{root}\n"),
            format!("origin\n99999999999999999999999\n{root}\n"),
            "origin\n12\nAAAA\n".to_owned(),
            "origin\n12\n".to_owned(),
        ] {
            assert!(Checkpoint::parse_body(&bad).is_err(), "{bad:?}");
        }
        let ok = Checkpoint::parse_body(&format!("origin\n0\n{root}\nextension line\n")).unwrap();
        assert_eq!((ok.size, ok.root), (0, [7u8; 32]));
    }
    #[test]
    fn a_cosignature_states_the_time_and_breaks_on_any_edit() {
        let log = Signer::generate("mamori-audit").unwrap();
        let witness = Cosigner::generate("witness.example/w1").unwrap();
        let v = CosignatureVerifier::parse(&witness.verifier().to_vkey()).unwrap();
        let note = log.sign(&checkpoint()).unwrap();
        let line = witness.cosign(&checkpoint().body(), 1_679_315_147);
        let cosigned = format!("{note}{line}");
        assert_eq!(v.cosigned(&cosigned).unwrap(), 1_679_315_147);
        // The log's own signature still opens beside it.
        assert_eq!(log.verifier().open(&cosigned).unwrap(), checkpoint());
        // Another size, or another time pasted into the blob: refused.
        let other = cosigned.replacen("\n1234\n", "\n1235\n", 1);
        assert!(matches!(
            v.cosigned(&other),
            Err(CheckpointError::BadSignature(_))
        ));
        let blob = line.rsplit(' ').next().unwrap().trim_end();
        let mut raw = B64.decode(blob).unwrap();
        raw[11] ^= 1; // the low byte of the timestamp
        let retimed = cosigned.replace(blob, &B64.encode(raw));
        assert!(matches!(
            v.cosigned(&retimed),
            Err(CheckpointError::BadSignature(_))
        ));
        // The log's note without the witness: unsigned by the witness.
        assert!(matches!(
            v.cosigned(&note),
            Err(CheckpointError::Unsigned(_))
        ));
    }

    #[test]
    fn a_key_of_one_kind_is_never_taken_for_the_other() {
        let log = Signer::generate("k").unwrap();
        let witness = Cosigner::generate("k").unwrap();
        assert!(Cosigner::parse(&log.to_skey()).is_err());
        assert!(Signer::parse(&witness.to_skey()).is_err());
        assert!(CosignatureVerifier::parse(&log.verifier().to_vkey()).is_err());
        let e = Verifier::parse(&witness.verifier().to_vkey()).unwrap_err();
        assert!(e.to_string().contains("witness"), "{e}");
        assert!(Cosigner::parse(&witness.to_skey()).is_ok());
    }

    /// The rules of C2SP signed notes that Go's `sumdb/note` enforces: at
    /// most 100 signature lines, no control characters in the text, and a
    /// text without its final newline cannot be signed.
    #[test]
    fn notes_outside_the_format_are_refused() {
        let signer = go_signer();
        let v = Verifier::parse(GO_VKEY).unwrap();
        let line = GO_NOTE.rsplit("\n\n").next().unwrap();
        let with = |n: usize| format!("{GO_TEXT}\n{}", line.repeat(n));
        assert_eq!(v.open_text(&with(100)).unwrap(), GO_TEXT);
        assert_eq!(
            v.open_text(&with(101)),
            Err(CheckpointError::Malformed("more than 100 signatures"))
        );
        for text in [
            "no final newline",
            "tab\there\n",
            "bell\u{7}\n",
            "nul\0\n",
            "del\u{7f}\n",
        ] {
            assert!(signer.sign_text(text).is_err(), "{text:?}");
        }
        // A control character smuggled into a signed text is refused on opening.
        let smuggled = GO_NOTE.replacen("problem,", "problem,\u{1b}", 1);
        assert_eq!(
            v.open_text(&smuggled),
            Err(CheckpointError::Malformed(
                "the text holds a control character"
            ))
        );
    }
}
