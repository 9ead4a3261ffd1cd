//! Sequential customer-number searches (detection rule 4): someone walking
//! through C-10001, C-10002, C-10003… is enumerating, whatever case id they
//! give. The audit log holds no search values (by design), so the vault
//! notes the fact in the search's event (`detail.sequential`). Between two
//! searches it remembers only keyed tokens of the numbers next to the last
//! one — never a number.

use std::collections::HashMap;

use mamori_audit::Event;
use mamori_store::Token;
use parking_lot::Mutex;
use subtle::ConstantTimeEq;

use crate::{Vault, tenants::TenantState};

/// How far apart two customer numbers may be and still count as a step.
const REACH: u64 = 3;
/// How long the last search is remembered.
const WINDOW_S: i64 = 600;
/// People × tenants remembered at most; older entries go first.
const MAX_ENTRIES: usize = 100_000;

/// The numbers within `REACH` of a customer number that ends in digits,
/// written like it (same prefix, same width): `C-0099` → `C-0096`…`C-0102`.
pub(crate) fn neighbours(value: &str) -> Vec<String> {
    let digits = value.bytes().rev().take_while(u8::is_ascii_digit).count();
    // Up to 19 digits fit a u64; longer runs are not counted numbers.
    if digits == 0 || digits > 19 {
        return Vec::new();
    }
    let (prefix, number) = value.split_at(value.len() - digits);
    let Ok(n) = number.parse::<u64>() else {
        return Vec::new();
    };
    let width = digits;
    (n.saturating_sub(REACH)..=n.saturating_add(REACH))
        .filter(|m| *m != n)
        .map(|m| format!("{prefix}{m:0width$}"))
        .collect()
}

/// (login, tenant).
type Who = (String, String);

/// When a person last searched by customer number, and tokens of that
/// number's neighbours.
type Last = (i64, Vec<Token>);

#[derive(Default)]
pub(crate) struct Sequences {
    last: Mutex<HashMap<Who, Last>>,
}

impl Vault {
    /// Marks a search by customer number as sequential when it is a
    /// neighbour of the same person's previous one in this tenant (within
    /// ten minutes), and remembers this one's neighbours.
    pub(crate) fn note_sequence(
        &self,
        login: &str,
        state: &TenantState,
        search_key: &str,
        normalized: &str,
        event: Event,
    ) -> Event {
        let Ok(keys) = state.current() else {
            return event;
        };
        let now = self.now();
        let token = keys.index.token(search_key, normalized);
        let next: Vec<Token> = neighbours(normalized)
            .iter()
            .map(|n| keys.index.token(search_key, n))
            .collect();
        let id = (login.to_owned(), state.row.id.clone());
        let mut last = self.sequences.last.lock();
        let step = last.get(&id).is_some_and(|(at, near)| {
            now - at <= WINDOW_S && near.iter().any(|t| bool::from(t.ct_eq(&token)))
        });
        if last.len() >= MAX_ENTRIES {
            last.retain(|_, (at, _)| now - *at <= WINDOW_S);
        }
        last.insert(id, (now, next));
        if step {
            event.detail("sequential", true)
        } else {
            event
        }
    }
}

#[cfg(test)]
mod tests {
    use super::neighbours;

    #[test]
    fn neighbours_keep_prefix_and_width() {
        assert_eq!(
            neighbours("C-0099"),
            ["C-0096", "C-0097", "C-0098", "C-0100", "C-0101", "C-0102"]
        );
        assert_eq!(neighbours("2"), ["0", "1", "3", "4", "5"]);
        assert_eq!(neighbours("10000001")[2], "10000000");
        assert!(neighbours("ABC").is_empty());
        assert!(neighbours("").is_empty());
        assert!(neighbours("12345678901234567890").is_empty());
    }
}
