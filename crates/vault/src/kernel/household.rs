//! A staff member's household as detection knows it: keyed tokens of the
//! family name and home address (`HouseholdKey`), never the values, and the
//! comparison with a customer's identity values (detection rule 14). The
//! import from HR is `feeds/household.rs`; the note on a read, `read/`.

use crate::ErrorCode;
use mamori_core::{Identity, household};
use mamori_crypto::{HouseholdKey, keys::TOKEN_LEN};
use subtle::ConstantTimeEq;

use crate::error::{Result, VaultError};

type Token = [u8; TOKEN_LEN];

/// Encoding version of the stored tokens.
const FORMAT: u8 = 1;

/// A household as detection knows it: tokens only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Household {
    /// The family name as written and in kana (one or both).
    family: Vec<Token>,
    address: Token,
}

/// What HR gives for one person.
#[derive(Clone, Debug, Default)]
pub struct HouseholdInput {
    pub family_name: Option<String>,
    pub family_name_kana: Option<String>,
    pub address: String,
}

fn bad(code: ErrorCode, message: impl Into<String>) -> VaultError {
    VaultError::bad(code, message.into())
}

impl Household {
    /// Tokens of HR's values. Errors name the field, never the value.
    pub fn from_input(key: &HouseholdKey, input: &HouseholdInput) -> Result<Self> {
        let mut family = Vec::new();
        for (raw, is_kana, what) in [
            (&input.family_name, false, "family name"),
            (&input.family_name_kana, true, "family name (kana)"),
        ] {
            if let Some(raw) = raw {
                let v = household::family_name(raw, is_kana)
                    .map_err(|e| bad(ErrorCode::HouseholdInvalid, format!("{what}: {e}")))?;
                family.push(key.token("family_name", &v));
            }
        }
        if family.is_empty() {
            return Err(bad(
                ErrorCode::HouseholdInvalid,
                "give the family name, in kanji or kana or both",
            ));
        }
        let address = household::address(&input.address)
            .ok_or_else(|| bad(ErrorCode::HouseholdInvalid, "address: empty value"))?;
        Ok(Self {
            family,
            address: key.token("address", &address),
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + (self.family.len() + 1) * TOKEN_LEN);
        out.push(FORMAT);
        out.push(self.family.len() as u8);
        for t in &self.family {
            out.extend_from_slice(t);
        }
        out.extend_from_slice(&self.address);
        out
    }

    pub fn decode(b: &[u8]) -> Option<Self> {
        let (&format, rest) = b.split_first()?;
        let (&n, rest) = rest.split_first()?;
        let n = usize::from(n);
        if format != FORMAT || n == 0 || rest.len() != (n + 1) * TOKEN_LEN {
            return None;
        }
        let mut tokens = rest
            .chunks_exact(TOKEN_LEN)
            .map(|c| c.try_into().expect("chunks are TOKEN_LEN long"));
        let family = tokens.by_ref().take(n).collect();
        let address = tokens.next()?;
        Some(Self { family, address })
    }

    /// Whether a customer with these identity values shares this household's
    /// address and family name. The address is checked first: it is one
    /// token, and for nearly every customer the answer ends there.
    pub fn matches<'v>(
        &self,
        key: &HouseholdKey,
        values: impl Iterator<Item = (Identity, &'v str)> + Clone,
    ) -> bool {
        let same_address = values
            .clone()
            .filter(|(i, _)| *i == Identity::Address)
            .filter_map(|(_, v)| household::address(v))
            .any(|a| bool::from(key.token("address", &a).ct_eq(&self.address)));
        same_address
            && values
                .filter(|(i, _)| *i != Identity::Address)
                .flat_map(|(i, v)| household::family_names(v, i))
                .any(|f| {
                    let t = key.token("family_name", &f);
                    self.family.iter().any(|mine| bool::from(t.ct_eq(mine)))
                })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(family: &str, kana: Option<&str>, address: &str) -> HouseholdInput {
        HouseholdInput {
            family_name: Some(family.into()),
            family_name_kana: kana.map(Into::into),
            address: address.into(),
        }
    }

    #[test]
    fn a_customer_of_the_same_family_name_and_address_matches() {
        let key = HouseholdKey::new(&[1; 32]);
        let h = Household::from_input(&key, &input("山田", Some("やまだ"), "東京都港区芝1-2-3"))
            .unwrap();
        let h = Household::decode(&h.encode()).unwrap();
        let customer = |name: &'static str, kana: &'static str, addr: &'static str| {
            [
                (Identity::Name, name),
                (Identity::NameKana, kana),
                (Identity::Address, addr),
            ]
        };
        let hit = customer("山田 花子", "ヤマダ ハナコ", "東京都港区芝１丁目２番３号");
        assert!(h.matches(&key, hit.into_iter()));
        // Kana alone is enough when the name is written differently (髙田/高田).
        let kana_only = customer("山﨑 花子", "ヤマダ ハナコ", "東京都港区芝1-2-3");
        assert!(h.matches(&key, kana_only.into_iter()));
        let other_address = customer("山田 花子", "ヤマダ ハナコ", "東京都港区芝1-2-4");
        assert!(!h.matches(&key, other_address.into_iter()));
        let other_family = customer("佐藤 花子", "サトウ ハナコ", "東京都港区芝1-2-3");
        assert!(!h.matches(&key, other_family.into_iter()));
        // Under another deployment's key nothing matches.
        let other_key = HouseholdKey::new(&[2; 32]);
        assert!(!h.matches(&other_key, hit.into_iter()));
    }

    #[test]
    fn bad_input_and_bad_bytes_are_refused() {
        let key = HouseholdKey::new(&[1; 32]);
        let none = HouseholdInput {
            address: "東京都".into(),
            ..Default::default()
        };
        assert!(Household::from_input(&key, &none).is_err());
        assert!(Household::from_input(&key, &input("山田", Some("Yamada"), "東京都")).is_err());
        assert!(Household::from_input(&key, &input("山田", None, "  ")).is_err());
        let good = Household::from_input(&key, &input("山田", None, "東京都")).unwrap();
        let bytes = good.encode();
        assert!(Household::decode(&bytes[..bytes.len() - 1]).is_none());
        assert!(Household::decode(&[2, 1]).is_none());
        assert!(Household::decode(&[]).is_none());
    }
}
