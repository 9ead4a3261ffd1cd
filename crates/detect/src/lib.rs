//! Detection of risky behaviour in the audit stream (requirements D1, D2).
//!
//! The audit log already records every access with who, what, why and
//! when; this crate reads it as it is appended and asks, per person and
//! against their peers, whether the behaviour looks like the insider leaks
//! mamori exists to stop: too many records, too many distinct customers
//! over weeks, lookups without a case, enumeration, night and holiday
//! access, decoy records touched. It holds no personal data — only record
//! keys, counts and the audit log's own identifiers.
//!
//! - [`activity`]: an audit event reduced to what the rules need.
//! - [`rules`]: the rules file (thresholds, severities, risk score), validated.
//! - [`calendar`]: JST days and hours, shifts, public holidays.
//! - [`checks`]: the rules themselves.
//! - [`engine`]: per-person state, peer norms, deduplication, rate limits, risk.

pub mod activity;
pub mod alert;
pub mod calendar;
pub mod checks;
pub mod engine;
pub mod facts;
pub mod rules;
pub mod simulate;
pub mod stats;
pub mod user;

pub use activity::{Activity, EventRef, Kind, record_key};
pub use alert::Alert;
pub use engine::{DailySummary, Engine};
pub use facts::{Facts, PeerStats};
pub use rules::{RuleId, Rules, RulesError, Severity};
