//! Case, ticket and call ids (案件番号). Every read names one and it is kept
//! in the audit log for good (and shipped to the SIEM), so it must be an
//! identifier and never personal data: an agent who pastes the caller's
//! phone number, e-mail or My Number where the ticket number belongs would
//! write that number into a record nobody can ever erase.
//!
//! This module checks the shape every tenant shares and refuses values the
//! normaliser recognises as personal data, whole or as a run of digits
//! inside the id. A tenant narrows the shape further with a pattern in its
//! schema (`case_id_pattern`), and the vault refuses a case id that is one of
//! the tenant's customer numbers (only the blind index can tell that).

use crate::{normalize, schema::FieldType};

/// Longest case id, in bytes (ASCII only).
pub const MAX_LEN: usize = 64;

/// Why a case id was refused. Carries no part of the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CaseIdError {
    #[error("a case id is 1-64 ASCII letters, digits or -_.:/#")]
    Shape,
    #[error("a case id must not be personal data; this one reads as {0}")]
    PersonalData(&'static str),
}

/// Checks the shape shared by every tenant and refuses personal data.
pub fn check(c: &str) -> Result<(), CaseIdError> {
    if c.is_empty()
        || c.len() > MAX_LEN
        || !c
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_.:/#".contains(ch))
    {
        return Err(CaseIdError::Shape);
    }
    if let Some(kind) = personal_data(c) {
        return Err(CaseIdError::PersonalData(kind));
    }
    Ok(())
}

/// What kind of personal data `c` reads as, if any: the whole value as a
/// phone number, e-mail or My Number, or a run of digits (hyphens allowed
/// inside) that is a phone number, a My Number or a payment card number.
fn personal_data(c: &str) -> Option<&'static str> {
    let whole = [
        (FieldType::Phone, "a phone number"),
        (FieldType::Email, "an e-mail address"),
        (FieldType::MyNumber, "a My Number"),
    ];
    for (ty, kind) in whole {
        if normalize::normalize(ty, c).is_ok() {
            return Some(kind);
        }
    }
    digit_runs(c).find_map(|run| run_kind(&run))
}

/// Maximal runs of digits, hyphens joining digits allowed, hyphens dropped:
/// `INC-090-1234-5678` gives `09012345678`.
fn digit_runs(c: &str) -> impl Iterator<Item = String> + '_ {
    c.split(|ch: char| !(ch.is_ascii_digit() || ch == '-'))
        .flat_map(|part| part.split("--"))
        .map(|part| part.trim_matches('-').replace('-', ""))
        .filter(|run| run.len() >= 10)
}

fn run_kind(run: &str) -> Option<&'static str> {
    if normalize::normalize(FieldType::Phone, run).is_ok() {
        return Some("a phone number");
    }
    if normalize::normalize(FieldType::MyNumber, run).is_ok() {
        return Some("a My Number");
    }
    // Payment cards: 13-19 digits, a card network's first digit, Luhn.
    if (13..=19).contains(&run.len()) && matches!(run.as_bytes()[0], b'3'..=b'6') && luhn(run) {
        return Some("a card number");
    }
    None
}

/// The Luhn checksum of an all-digit string (card numbers): here, where a
/// case id that is a card number is refused, and for the file scanner.
pub fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_numbers_pass() {
        for ok in [
            "INC-4411",
            "C-9",
            "CASE-1",
            "2026-12-06-0001",
            "call:20261206T0930#17",
            "req/2026/000123",
            "12345",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn personal_data_is_refused_whole_or_inside() {
        let cases = [
            ("09012345678", "a phone number"),
            ("090-1234-5678", "a phone number"),
            ("0312345678", "a phone number"),
            ("INC-090-1234-5678", "a phone number"),
            ("call:09012345678", "a phone number"),
            ("123456789018", "a My Number"),
            ("MN-1234-5678-9018", "a My Number"),
            ("4111111111111111", "a card number"),
            ("card-4111-1111-1111-1111", "a card number"),
        ];
        for (value, kind) in cases {
            assert_eq!(
                check(value),
                Err(CaseIdError::PersonalData(kind)),
                "{value}"
            );
        }
    }

    #[test]
    fn shape_is_checked_before_anything_else() {
        for bad in ["", "taro@example.jp", "田中", "a b", &"x".repeat(65)] {
            assert_eq!(check(bad), Err(CaseIdError::Shape), "{bad}");
        }
        // Errors never carry the value.
        let msg = check("090-1234-5678").unwrap_err().to_string();
        assert!(!msg.contains("1234"), "{msg}");
    }

    #[test]
    fn luhn_matches_known_numbers() {
        assert!(luhn("4111111111111111"));
        assert!(luhn("5555555555554444"));
        assert!(!luhn("4111111111111112"));
    }
}
