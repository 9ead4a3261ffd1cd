//! JSON Web Signatures, verify only: a compact JWS split into its header,
//! payload and signature, the signing key chosen from a JWK Set by `kid` and
//! checked against the header's algorithm, and the signature verified with
//! ring (RSA PKCS#1 v1.5 and PSS with SHA-256, ECDSA P-256, Ed25519).
//!
//! The algorithm comes from an explicit allow-list and must agree with the
//! key's type: an RSA key never verifies an HMAC (the classic confusion of
//! using the public key as a shared secret), and `none` is not an algorithm
//! here at all.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;

use crate::Refusal;

/// The signature algorithms an identity provider may use for ID tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
pub enum Alg {
    RS256,
    PS256,
    ES256,
    EdDSA,
}

impl Alg {
    pub const ALL: [Alg; 4] = [Alg::RS256, Alg::PS256, Alg::ES256, Alg::EdDSA];

    pub fn parse(s: &str) -> Option<Alg> {
        Some(match s {
            "RS256" => Alg::RS256,
            "PS256" => Alg::PS256,
            "ES256" => Alg::ES256,
            "EdDSA" => Alg::EdDSA,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::PS256 => "PS256",
            Alg::ES256 => "ES256",
            Alg::EdDSA => "EdDSA",
        }
    }
}

/// A public key from a JWK Set, decoded and ready to verify.
#[derive(Clone, Debug)]
pub struct Key {
    pub kid: Option<String>,
    /// The JWK's own `alg`, when it names one: the key is for that only.
    alg: Option<String>,
    material: Material,
}

#[derive(Clone, Debug)]
enum Material {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// An uncompressed P-256 point (0x04 ‖ x ‖ y).
    P256(Vec<u8>),
    Ed25519(Vec<u8>),
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

/// The signing keys of a JWK Set. Keys of other types or uses (encryption
/// keys, symmetric keys, curves not supported) are left out, not errors:
/// providers publish keys for other clients too.
pub fn parse_jwks(body: &[u8]) -> Result<Vec<Key>, String> {
    let raw: RawJwks =
        serde_json::from_slice(body).map_err(|_| "the JWK Set is not JSON with `keys`")?;
    Ok(raw
        .keys
        .into_iter()
        .filter_map(|v| serde_json::from_value::<RawJwk>(v).ok())
        .filter_map(key)
        .collect())
}

fn key(j: RawJwk) -> Option<Key> {
    if j.use_.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    let b = |v: &Option<String>| v.as_deref().and_then(|s| B64.decode(s).ok());
    let material = match (j.kty.as_str(), j.crv.as_deref()) {
        ("RSA", _) => Material::Rsa {
            n: b(&j.n)?,
            e: b(&j.e)?,
        },
        ("EC", Some("P-256")) => {
            let (x, y) = (b(&j.x)?, b(&j.y)?);
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            let mut point = vec![4u8];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Material::P256(point)
        }
        ("OKP", Some("Ed25519")) => {
            let x = b(&j.x)?;
            (x.len() == 32).then_some(())?;
            Material::Ed25519(x)
        }
        _ => return None,
    };
    Some(Key {
        kid: j.kid,
        alg: j.alg,
        material,
    })
}

impl Key {
    /// Whether this key may verify `alg`: its type fits, and its own `alg`
    /// (if it names one) is the same.
    fn fits(&self, alg: Alg) -> bool {
        let kind = matches!(
            (&self.material, alg),
            (Material::Rsa { .. }, Alg::RS256 | Alg::PS256)
                | (Material::P256(_), Alg::ES256)
                | (Material::Ed25519(_), Alg::EdDSA)
        );
        kind && self.alg.as_deref().is_none_or(|a| a == alg.as_str())
    }

    fn verify(&self, alg: Alg, message: &[u8], sig: &[u8]) -> bool {
        match (&self.material, alg) {
            (Material::Rsa { n, e }, Alg::RS256) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok(),
            (Material::Rsa { n, e }, Alg::PS256) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PSS_2048_8192_SHA256, message, sig)
                .is_ok(),
            (Material::P256(point), Alg::ES256) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            (Material::Ed25519(x), Alg::EdDSA) => UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(message, sig)
                .is_ok(),
            _ => false,
        }
    }
}

/// A compact JWS, split and its header read, not yet verified.
pub struct Unverified<'t> {
    pub alg: Alg,
    pub kid: Option<String>,
    signing_input: &'t [u8],
    payload: &'t str,
    signature: Vec<u8>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
    #[serde(default)]
    typ: Option<String>,
}

/// Most bytes of a compact JWS this reads (providers' ID tokens are a few
/// kilobytes; Entra's with many groups stay well under this).
const MOST: usize = 64 * 1024;

/// Splits a compact JWS and reads its header. The algorithm must be in
/// `allowed`; a header with `crit` (extensions this does not understand) is
/// refused, as RFC 7515 requires.
pub fn split<'t>(token: &'t str, allowed: &[Alg]) -> Result<Unverified<'t>, Refusal> {
    if token.len() > MOST {
        return Err(Refusal::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::Malformed);
    };
    let header: Header = B64
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(Refusal::Malformed)?;
    if header.crit.is_some() {
        return Err(Refusal::Malformed);
    }
    if header
        .typ
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("JWT"))
    {
        return Err(Refusal::Malformed);
    }
    let alg = Alg::parse(&header.alg)
        .filter(|a| allowed.contains(a))
        .ok_or(Refusal::AlgorithmNotAllowed)?;
    let signature = B64.decode(s).map_err(|_| Refusal::Malformed)?;
    Ok(Unverified {
        alg,
        kid: header.kid,
        signing_input: &token.as_bytes()[..h.len() + 1 + p.len()],
        payload: p,
        signature,
    })
}

impl Unverified<'_> {
    /// The key of `keys` this token names: by `kid`, or — when the token
    /// names none — the only key that fits its algorithm. None: a key the
    /// set does not hold (the caller may fetch the set again).
    pub fn key_in<'k>(&self, keys: &'k [Key]) -> Option<&'k Key> {
        let mut fitting = keys.iter().filter(|k| k.fits(self.alg));
        match &self.kid {
            Some(kid) => fitting.find(|k| k.kid.as_deref() == Some(kid.as_str())),
            None => {
                let first = fitting.next();
                fitting.next().is_none().then_some(first).flatten()
            }
        }
    }

    /// The payload's bytes, once the signature verifies under `key`.
    pub fn verify(&self, key: &Key) -> Result<Vec<u8>, Refusal> {
        if !key.fits(self.alg) || !key.verify(self.alg, self.signing_input, &self.signature) {
            return Err(Refusal::BadSignature);
        }
        B64.decode(self.payload).map_err(|_| Refusal::Malformed)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ring::{
        rand::SystemRandom,
        signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair},
    };

    /// A test signer: an Ed25519 or ES256 key pair of ring and its JWK.
    pub(crate) enum Signer {
        Ed(Ed25519KeyPair),
        Ec(EcdsaKeyPair),
    }

    impl Signer {
        pub(crate) fn ed25519() -> Signer {
            let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
            Signer::Ed(Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap())
        }

        pub(crate) fn es256() -> Signer {
            let rng = SystemRandom::new();
            let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
            let doc = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
            Signer::Ec(EcdsaKeyPair::from_pkcs8(alg, doc.as_ref(), &rng).unwrap())
        }

        pub(crate) fn jwk(&self, kid: &str) -> serde_json::Value {
            match self {
                Signer::Ed(k) => serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": kid,
                    "x": B64.encode(k.public_key().as_ref())}),
                Signer::Ec(k) => {
                    let p = k.public_key().as_ref();
                    serde_json::json!({"kty": "EC", "crv": "P-256", "kid": kid,
                        "x": B64.encode(&p[1..33]), "y": B64.encode(&p[33..65])})
                }
            }
        }

        pub(crate) fn sign(&self, header: serde_json::Value, claims: &serde_json::Value) -> String {
            let input = format!(
                "{}.{}",
                B64.encode(header.to_string()),
                B64.encode(claims.to_string())
            );
            let sig = match self {
                Signer::Ed(k) => k.sign(input.as_bytes()).as_ref().to_vec(),
                Signer::Ec(k) => k
                    .sign(&SystemRandom::new(), input.as_bytes())
                    .unwrap()
                    .as_ref()
                    .to_vec(),
            };
            format!("{input}.{}", B64.encode(sig))
        }
    }

    fn jwks(keys: &[serde_json::Value]) -> Vec<Key> {
        parse_jwks(serde_json::json!({ "keys": keys }).to_string().as_bytes()).unwrap()
    }

    #[test]
    fn a_signature_verifies_only_under_its_own_key_and_algorithm() {
        let ed = Signer::ed25519();
        let ec = Signer::es256();
        let keys = jwks(&[ed.jwk("ed"), ec.jwk("ec")]);
        let claims = serde_json::json!({"sub": "a"});
        for (s, alg, kid) in [(&ed, "EdDSA", "ed"), (&ec, "ES256", "ec")] {
            let t = s.sign(serde_json::json!({"alg": alg, "kid": kid}), &claims);
            let u = split(&t, &Alg::ALL).unwrap();
            let k = u.key_in(&keys).unwrap();
            assert_eq!(u.verify(k).unwrap(), claims.to_string().as_bytes());
            // The other key never verifies it, even when the header lies.
            let other = keys.iter().find(|o| o.kid.as_deref() != Some(kid)).unwrap();
            assert_eq!(u.verify(other).unwrap_err(), Refusal::BadSignature);
        }
        // A flipped bit in the payload.
        let t = ed.sign(serde_json::json!({"alg": "EdDSA", "kid": "ed"}), &claims);
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        parts[1] = B64.encode(serde_json::json!({"sub": "b"}).to_string());
        let forged = parts.join(".");
        let u = split(&forged, &Alg::ALL).unwrap();
        assert_eq!(
            u.verify(u.key_in(&keys).unwrap()).unwrap_err(),
            Refusal::BadSignature
        );
    }

    #[test]
    fn algorithms_outside_the_allow_list_and_malformed_tokens_are_refused() {
        let ed = Signer::ed25519();
        let claims = serde_json::json!({"sub": "a"});
        let t = ed.sign(serde_json::json!({"alg": "EdDSA"}), &claims);
        assert!(split(&t, &[Alg::RS256]).is_err());
        for alg in ["none", "HS256", "RS384", "", "ES256K"] {
            let h = B64.encode(serde_json::json!({"alg": alg}).to_string());
            let t = format!("{h}.{}.", B64.encode("{}"));
            assert_eq!(
                split(&t, &Alg::ALL).err(),
                Some(Refusal::AlgorithmNotAllowed),
                "{alg}"
            );
        }
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.e30.",
            "e30.e30.e30",
            &"a".repeat(MOST + 1),
        ] {
            assert!(split(bad, &Alg::ALL).is_err());
        }
        let crit = ed.sign(
            serde_json::json!({"alg": "EdDSA", "crit": ["exp"], "exp": 1}),
            &claims,
        );
        assert_eq!(split(&crit, &Alg::ALL).err(), Some(Refusal::Malformed));
    }

    #[test]
    fn keys_are_chosen_by_kid_and_must_fit_the_algorithm() {
        let ed = Signer::ed25519();
        let ec = Signer::es256();
        let mut ed_jwk = ed.jwk("k1");
        ed_jwk["alg"] = "EdDSA".into();
        let mut enc = ec.jwk("k2");
        enc["use"] = "enc".into();
        let keys = jwks(&[
            ed_jwk,
            enc,
            serde_json::json!({"kty": "oct", "k": "c2VjcmV0", "kid": "k3"}),
        ]);
        assert_eq!(keys.len(), 1, "encryption and symmetric keys are left out");
        let claims = serde_json::json!({});
        let named = ed.sign(serde_json::json!({"alg": "EdDSA", "kid": "k1"}), &claims);
        assert!(split(&named, &Alg::ALL).unwrap().key_in(&keys).is_some());
        let unknown = ed.sign(serde_json::json!({"alg": "EdDSA", "kid": "k9"}), &claims);
        assert!(split(&unknown, &Alg::ALL).unwrap().key_in(&keys).is_none());
        // Without a kid, the only fitting key.
        let bare = ed.sign(serde_json::json!({"alg": "EdDSA"}), &claims);
        assert!(split(&bare, &Alg::ALL).unwrap().key_in(&keys).is_some());
        // An ES256 header never selects the Ed25519 key.
        let wrong = ec.sign(serde_json::json!({"alg": "ES256", "kid": "k1"}), &claims);
        assert!(split(&wrong, &Alg::ALL).unwrap().key_in(&keys).is_none());
    }
}
