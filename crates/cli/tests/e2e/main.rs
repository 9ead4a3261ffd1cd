//! The end-to-end tests: the `mamori` binary over temporary data
//! directories, real server processes over HTTP, SQLite files and a
//! PostgreSQL server, Schemathesis against the served API. One test binary
//! (one link on a two-core machine instead of one per file); each module is
//! one area, and `common` is the harness they share.

mod common;
/// The test OpenID Provider, shared with the identity crate's tests.
#[path = "../../../identity/tests/common/op.rs"]
mod op;

mod api_conformance;
mod archive;
mod audit_fail_closed;
mod audit_proofs;
mod console_browser;
mod crash;
mod detection;
mod directives;
mod exports_http;
mod governance_http;
mod http_api;
mod import;
mod key_providers;
mod multinode;
mod plaintext_at_rest;
mod provisioning;
mod reconcile;
mod reports;
mod review;
mod scan;
mod siem;
mod store_migrate;
mod witness;
