//! Self and relative lookups (detection rule 14): a staff member's family
//! name and home address, kept only as keyed tokens (`HouseholdKey`), are
//! compared with every customer a read of theirs shows. A match is noted in
//! the read's audit event (`detail.household`, the record ids), where the
//! detector raises it; the read itself goes on, since serving one's own
//! family can be legitimate — it must be visible, not impossible.

use crate::ErrorCode;
use mamori_audit::Event;
use mamori_core::Identity;
use mamori_store::RecordRow;

use crate::{
    Vault,
    error::{Result, VaultError},
    feed::{Feed, optional, required},
    sealed,
    tenants::TenantState,
};

pub use crate::kernel::household::{Household, HouseholdInput};

/// What an import did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HouseholdImport {
    pub people: usize,
}

impl Vault {
    /// Imports households from HR: CSV with a header
    /// `login,family_name,family_name_kana,address` (or `ログイン,姓,姓カナ,住所`;
    /// one of the two family-name columns may be left out). The whole file
    /// is checked before anything is written; errors name the line and the
    /// column, never a value.
    pub fn import_households(&self, actor: &str, csv_text: &str) -> Result<HouseholdImport> {
        let feed = Feed::read(
            csv_text,
            ErrorCode::HouseholdCsvInvalid,
            &[
                required("login", "ログイン"),
                required("address", "住所"),
                optional("family_name", "姓"),
                optional("family_name_kana", "姓カナ"),
            ],
        )?;
        if !feed.present[2] && !feed.present[3] {
            return Err(VaultError::bad(
                ErrorCode::HouseholdCsvInvalid,
                "the header needs a 'family_name' or 'family_name_kana' column".to_owned(),
            ));
        }
        let known: std::collections::HashSet<String> =
            self.store.users()?.into_iter().map(|u| u.login).collect();
        let mut rows: std::collections::BTreeMap<String, Household> = Default::default();
        for (line, v) in &feed.rows {
            let [login, address, family, kana] = [0, 1, 2, 3].map(|i| v[i].as_str());
            if !known.contains(login) {
                return Err(feed.at(*line, "unknown login"));
            }
            let given = |s: &str| (!s.is_empty()).then(|| s.to_owned());
            let input = HouseholdInput {
                family_name: given(family),
                family_name_kana: given(kana),
                address: address.to_owned(),
            };
            let h = Household::from_input(&self.deployment.household, &input)
                .map_err(|e| feed.at(*line, e))?;
            if rows.insert(login.to_owned(), h).is_some() {
                return Err(feed.at(*line, format!("'{login}' appears twice")));
            }
        }
        let e = Event::new(
            actor,
            "household.import",
            mamori_audit::Decision::Allow,
            "ok",
        )
        .detail("people", rows.len());
        self.audit.append(e)?;
        let now = self.now();
        for (login, h) in &rows {
            self.store.set_household(login, Some(&h.encode()), now)?;
        }
        Ok(HouseholdImport { people: rows.len() })
    }

    /// Forgets a person's household (households are set by `import_households`).
    pub fn clear_household(&self, actor: &str, login: &str) -> Result<()> {
        self.existing_user(login)?;
        let e = Event::new(actor, "user.household", mamori_audit::Decision::Allow, "ok")
            .detail("user", login)
            .detail("set", false);
        self.audit.append(e)?;
        self.store.set_household(login, None, self.now())?;
        Ok(())
    }

    /// Notes in a read's event which of the records shown belong to the
    /// reader's own household (by family name and address).
    pub(crate) fn note_household(
        &self,
        mine: Option<&Household>,
        state: &TenantState,
        rows: &[&RecordRow],
        event: Event,
    ) -> Result<Event> {
        let Some(mine) = mine else {
            return Ok(event);
        };
        let fields: Vec<(&str, Identity)> = state.schema.identity_fields().collect();
        if fields.is_empty() {
            return Ok(event);
        }
        let mut related = Vec::new();
        for row in rows {
            let keys = state.keys_for(row.key_version)?;
            let plain = sealed::open(&keys.data, row.id.as_bytes(), &row.sealed, |f| {
                fields.iter().any(|(name, _)| *name == f)
            })?;
            let values = fields
                .iter()
                .filter_map(|(name, i)| plain.get(*name).map(|v| (*i, v.as_str())));
            if mine.matches(&self.deployment.household, values) {
                related.push(row.id.to_string());
            }
        }
        Ok(if related.is_empty() {
            event
        } else {
            event.detail("household", related)
        })
    }
}
