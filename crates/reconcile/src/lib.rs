//! Monthly reconciliation (requirement D3, seed 001: 事前申請の内容と専用PCの
//! アクセスログ及び専用エリアの入退室ログとの突合): the vault's own reads,
//! grants and standing access, joined with the secure area's door log, the
//! dedicated PCs' logon sessions and the pre-applications, into a report of
//! discrepancies that each need a person's disposition.
//!
//! Outside logs come in as files read through a column mapping (`mapping`,
//! `table`: UTF-8 or Shift_JIS CSV, JSON); who is who across the systems is
//! the person map (`people`); `room` turns door events into presence and
//! its contradictions, `logon` Windows events into sessions; `run` is one
//! pure function from all of that to a [`Report`] — the same inputs give
//! the same bytes. No I/O, no key, no customer value: the vault supplies
//! its facts as identifiers.

pub mod logon;
pub mod mapping;
pub mod people;
pub mod room;
pub mod run;
pub mod simulate;
pub mod table;
pub mod time;

pub use run::{
    Class, Discrepancy, Evidence, Grant, Inputs, Params, Read, Report, Standing, reconcile,
};

/// A file that could not be read: which one, where, and why — never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}, line {line}: {message}")]
pub struct Error {
    pub file: &'static str,
    pub line: usize,
    pub message: String,
}

impl Error {
    pub fn at(file: &'static str, line: usize, message: impl Into<String>) -> Error {
        Error {
            file,
            line,
            message: message.into(),
        }
    }
}
