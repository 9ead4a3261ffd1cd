//! The audit log: every read, write, denial and administrative act, appended
//! before the response leaves (security invariant 3), and a log that proves
//! itself (invariant 8):
//!
//! - one log per tenant (`tenant/<id>`) plus one system log (`system`), so a
//!   tenant verifies its own history;
//! - each event's canonical bytes are an RFC 6962 leaf, `SHA-256(0x00 ‖ body)`,
//!   and each body names the hash of the event before it (a hash chain);
//! - the leaves form each log's RFC 6962 Merkle tree ([`merkle`]); the nodes
//!   are stored as they complete, so inclusion and consistency proofs are
//!   O(log n);
//! - at least every second while a log grows, its size and root are signed
//!   with the vault's Ed25519 audit key as a C2SP checkpoint ([`checkpoint`]),
//!   in the same transaction as the events;
//! - [`verify`] recomputes all of it and checks every checkpoint, and any
//!   checkpoint kept outside the database, against the events.
//!
//! Architecture invariant: nothing here updates or deletes an event, and an
//! event never holds personal data — record ids, field names and reasons only.

mod appender;
pub mod archive;
pub mod checkpoint;
mod event;
pub mod merkle;
pub mod proofs;
pub mod sample;
pub mod siem;
pub mod tls;
mod verify;
pub mod witness;
pub mod witness_client;

pub use appender::{AuditError, AuditLog, Receipt, Signal};
pub use event::{Decision, Event, SealedEvent, log_for};
pub use mamori_store::{AuditStore, CheckpointRow};
pub use merkle::leaf_hash;
pub use verify::{LogReport, Trust, VerifyReport, verify};
pub use witness_client::Witnesses;
