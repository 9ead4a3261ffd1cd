//! ID-token validation (OpenID Connect Core 3.1.3.7), after the signature:
//! the issuer exactly, the audience and authorised party, expiry and
//! issue time with a small leeway, the nonce of this very sign-in (compared
//! in constant time), and — when the sign-in asked for a fresh
//! authentication — its `auth_time`. What is left is who signed in
//! (`Subject`) and how (`acr`, `amr`, `auth_time`), the facts mamori keeps.

use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::Refusal;

/// Seconds of clock difference tolerated between mamori and the provider.
pub const LEEWAY_S: i64 = 60;

/// What this sign-in expects of its ID token.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now: i64,
    /// The sign-in asked for an authentication at most this old (`max_age`).
    pub max_age: Option<i64>,
}

/// How a person is identified at the provider.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectRule {
    /// The `sub` claim (unique per issuer, never reassigned: OIDC Core 2).
    #[default]
    Sub,
    /// Microsoft Entra ID: the directory (`tid`) and object id (`oid`),
    /// the same for every application — never the e-mail or UPN, which
    /// are reassigned.
    Entra,
}

/// A validated ID token's facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The person's stable id at the issuer (`sub`, or `tid/oid` for Entra).
    pub subject: String,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    /// Entra's authentication contexts satisfied (`acrs`).
    pub acrs: Vec<String>,
    pub auth_time: Option<i64>,
    /// The group claim's values, if the provider sent one.
    pub groups: Vec<String>,
    /// A name to show (`name` or `preferred_username`); never used to match.
    pub display: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    #[serde(default)]
    sub: Option<String>,
    aud: Audience,
    #[serde(default)]
    azp: Option<String>,
    exp: i64,
    iat: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    auth_time: Option<i64>,
    #[serde(default)]
    acr: Option<String>,
    #[serde(default)]
    amr: Vec<String>,
    #[serde(default)]
    acrs: Vec<String>,
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Checks the claims of a token whose signature has been verified.
pub fn validate(
    payload: &[u8],
    want: &Expected<'_>,
    subject: SubjectRule,
    groups_claim: &str,
) -> Result<Verified, Refusal> {
    let c: Claims = serde_json::from_slice(payload).map_err(|_| Refusal::Malformed)?;
    if c.iss != want.issuer {
        return Err(Refusal::Issuer);
    }
    let auds: Vec<&str> = match &c.aud {
        Audience::One(a) => vec![a.as_str()],
        Audience::Many(v) => v.iter().map(String::as_str).collect(),
    };
    if !auds.contains(&want.client_id) {
        return Err(Refusal::Audience);
    }
    // Several audiences: the party it was issued to must be named, and be us.
    if (auds.len() > 1 || c.azp.is_some()) && c.azp.as_deref() != Some(want.client_id) {
        return Err(Refusal::Audience);
    }
    if want.now > c.exp + LEEWAY_S {
        return Err(Refusal::Expired);
    }
    if c.iat > want.now + LEEWAY_S || c.nbf.is_some_and(|n| n > want.now + LEEWAY_S) {
        return Err(Refusal::NotYetValid);
    }
    let nonce_ok = c
        .nonce
        .as_deref()
        .is_some_and(|n| bool::from(n.as_bytes().ct_eq(want.nonce.as_bytes())));
    if !nonce_ok {
        return Err(Refusal::Nonce);
    }
    if let Some(max_age) = want.max_age {
        match c.auth_time {
            Some(t) if want.now - t <= max_age + LEEWAY_S => {}
            _ => return Err(Refusal::AuthenticationTooOld),
        }
    }
    let subject = match subject {
        SubjectRule::Sub => c.sub.clone().filter(|s| usable(s)),
        SubjectRule::Entra => match (&c.tid, &c.oid) {
            (Some(t), Some(o)) if usable(t) && usable(o) => Some(format!("{t}/{o}")),
            _ => None,
        },
    }
    .ok_or(Refusal::NoSubject)?;
    let groups = match c.rest.get(groups_claim) {
        Some(serde_json::Value::Array(v)) => v
            .iter()
            .filter_map(|g| g.as_str().map(str::to_owned))
            .collect(),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    Ok(Verified {
        subject,
        acr: c.acr,
        amr: c.amr,
        acrs: c.acrs,
        auth_time: c.auth_time,
        groups,
        display: c.name.or(c.preferred_username),
    })
}

/// An identifier fit to key a person by: present, bounded, printable.
fn usable(s: &str) -> bool {
    !s.is_empty() && s.len() <= 255 && !s.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn want(nonce: &str) -> Expected<'_> {
        Expected {
            issuer: "https://idp.example",
            client_id: "mamori",
            nonce,
            now: NOW,
            max_age: None,
        }
    }

    fn good() -> serde_json::Value {
        json!({"iss": "https://idp.example", "sub": "u-1", "aud": "mamori",
               "exp": NOW + 300, "iat": NOW - 5, "nonce": "n-1",
               "acr": "urn:mfa", "amr": ["pwd", "otp"], "auth_time": NOW - 10,
               "groups": ["g1", "g2"], "name": "原田 勇気"})
    }

    fn check(c: &serde_json::Value, w: &Expected<'_>) -> Result<Verified, Refusal> {
        validate(c.to_string().as_bytes(), w, SubjectRule::Sub, "groups")
    }

    #[test]
    fn a_good_token_gives_who_and_how() {
        let v = check(&good(), &want("n-1")).unwrap();
        assert_eq!(v.subject, "u-1");
        assert_eq!(v.acr.as_deref(), Some("urn:mfa"));
        assert_eq!(v.amr, ["pwd", "otp"]);
        assert_eq!(v.auth_time, Some(NOW - 10));
        assert_eq!(v.groups, ["g1", "g2"]);
    }

    #[test]
    fn each_claim_is_checked() {
        let w = want("n-1");
        let cases: Vec<(&str, serde_json::Value, Refusal)> = vec![
            ("iss", json!("https://idp.example/"), Refusal::Issuer),
            ("aud", json!("other"), Refusal::Audience),
            ("aud", json!(["mamori", "other"]), Refusal::Audience),
            ("azp", json!("other"), Refusal::Audience),
            ("exp", json!(NOW - LEEWAY_S - 1), Refusal::Expired),
            ("iat", json!(NOW + LEEWAY_S + 1), Refusal::NotYetValid),
            ("nbf", json!(NOW + LEEWAY_S + 1), Refusal::NotYetValid),
            ("nonce", json!("n-2"), Refusal::Nonce),
            ("nonce", json!(null), Refusal::Nonce),
            ("sub", json!(""), Refusal::NoSubject),
            ("sub", json!("a\u{0}b"), Refusal::NoSubject),
            ("exp", json!("soon"), Refusal::Malformed),
        ];
        for (claim, value, refusal) in cases {
            let mut c = good();
            c[claim] = value;
            assert_eq!(check(&c, &w).unwrap_err(), refusal, "{claim}");
        }
        let mut c = good();
        c.as_object_mut().unwrap().remove("nonce");
        assert_eq!(check(&c, &w).unwrap_err(), Refusal::Nonce);
        // Several audiences with us as the authorised party are fine.
        let mut c = good();
        c["aud"] = json!(["mamori", "other"]);
        c["azp"] = json!("mamori");
        assert!(check(&c, &w).is_ok());
        // Within the leeway.
        let mut c = good();
        c["exp"] = json!(NOW - LEEWAY_S + 1);
        assert!(check(&c, &w).is_ok());
    }

    #[test]
    fn a_fresh_sign_in_needs_a_recent_auth_time() {
        let mut w = want("n-1");
        w.max_age = Some(0);
        let mut c = good();
        c["auth_time"] = json!(NOW - LEEWAY_S - 1);
        assert_eq!(check(&c, &w).unwrap_err(), Refusal::AuthenticationTooOld);
        c.as_object_mut().unwrap().remove("auth_time");
        assert_eq!(check(&c, &w).unwrap_err(), Refusal::AuthenticationTooOld);
        c["auth_time"] = json!(NOW - 2);
        assert!(check(&c, &w).is_ok());
    }

    #[test]
    fn entra_people_are_their_directory_and_object_ids_never_their_mail() {
        let mut c = good();
        c["tid"] = json!("72f988bf");
        c["oid"] = json!("00000000-0000-0000-66f3-3332eca7ea81");
        c["preferred_username"] = json!("someone@example.jp");
        let v = validate(
            c.to_string().as_bytes(),
            &want("n-1"),
            SubjectRule::Entra,
            "groups",
        )
        .unwrap();
        assert_eq!(v.subject, "72f988bf/00000000-0000-0000-66f3-3332eca7ea81");
        c.as_object_mut().unwrap().remove("oid");
        assert_eq!(
            validate(
                c.to_string().as_bytes(),
                &want("n-1"),
                SubjectRule::Entra,
                "groups"
            )
            .unwrap_err(),
            Refusal::NoSubject
        );
    }
}
