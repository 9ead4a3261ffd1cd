//! The audit log: every read, write, denial and administrative act, appended
//! before the response leaves (security invariant 3) and chained so that any
//! edit, deletion or reordering is found by [`verify`].
//!
//! Shape, ready for Merkle trees and signed checkpoints: one log per tenant
//! (`tenant/<id>`) plus one system log (`system`); each event's canonical
//! bytes are an RFC 6962 leaf, `hash = SHA-256(0x00 ‖ body)`, and each body
//! names the hash of the event before it in the same log.
//!
//! Architecture invariant: nothing here updates or deletes an event, and an
//! event never holds personal data — record ids, field names and reasons only.

mod appender;
mod event;
mod verify;

pub use appender::{AuditError, AuditLog, Receipt};
pub use event::{Decision, Event, SealedEvent, leaf_hash, log_for};
pub use verify::{LogReport, VerifyReport, verify};
