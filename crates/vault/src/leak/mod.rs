//! Leak response: values found outside the vault — on a PC, a file server, in
//! a file that leaked — matched against every tenant's customers through the
//! blind indexes, so "whose data is this, and how many people?" is answered
//! from the vault's own keys in minutes rather than weeks. The finder (the
//! scanner) holds no key; only counts go back to it. For a file that leaked,
//! `breach` goes on to the accounts and exports it came from; `quarantine`
//! decides and records what is done to a file that was found.

pub mod agents;
pub mod breach;
pub mod matching;
pub mod notice;
pub mod quarantine;
