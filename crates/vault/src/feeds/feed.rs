//! Feeds from other systems as CSV files — HR's households, the call
//! system's cases, shift calendars: a header naming the columns in English
//! or Japanese, then rows. Read whole before anything is written; errors
//! name the line and the column, never a value.

use crate::error::{ErrorCode, Result, VaultError};

/// A column a feed reads: its English and Japanese header names.
pub(crate) struct Column {
    pub names: [&'static str; 2],
    pub required: bool,
}

pub(crate) const fn required(en: &'static str, ja: &'static str) -> Column {
    Column {
        names: [en, ja],
        required: true,
    }
}

pub(crate) const fn optional(en: &'static str, ja: &'static str) -> Column {
    Column {
        names: [en, ja],
        required: false,
    }
}

/// A feed's rows, each with its line number and one value per column asked
/// for (trimmed; empty when the column is absent or the cell empty).
pub(crate) struct Feed {
    /// Which of the columns asked for the header has.
    pub present: Vec<bool>,
    pub rows: Vec<(usize, Vec<String>)>,
    code: ErrorCode,
}

impl Feed {
    pub(crate) fn read(text: &str, code: ErrorCode, columns: &[Column]) -> Result<Feed> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| VaultError::bad(code, format!("header: {e}")))?
            .clone();
        let mut at = Vec::with_capacity(columns.len());
        for c in columns {
            let i = headers.iter().position(|h| c.names.contains(&h));
            if i.is_none() && c.required {
                return Err(VaultError::bad(
                    code,
                    format!("the header needs a '{}' column", c.names[0]),
                ));
            }
            at.push(i);
        }
        let mut rows = Vec::new();
        for (n, record) in reader.records().enumerate() {
            let line = n + 2;
            let r = record.map_err(|e| VaultError::bad(code, format!("line {line}: {e}")))?;
            let values = at
                .iter()
                .map(|i| i.and_then(|i| r.get(i)).unwrap_or("").to_owned())
                .collect();
            rows.push((line, values));
        }
        Ok(Feed {
            present: at.iter().map(Option::is_some).collect(),
            rows,
            code,
        })
    }

    /// The feed's error for `line`.
    pub(crate) fn at(&self, line: usize, message: impl std::fmt::Display) -> VaultError {
        VaultError::bad(self.code, format!("line {line}: {message}"))
    }
}
