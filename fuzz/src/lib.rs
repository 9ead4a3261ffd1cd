//! What the fuzz targets share.

use mamori_audit::checkpoint::Verifier;

/// The audit public key of the data directory the seed archive and seed
/// checkpoints came from (`corpus/audit_archive`, `corpus/signed_note`,
/// `corpus/witness_request`), so fuzzed inputs reach the signature and
/// proof checks, not only the parsers.
pub const SEED_KEY: &str = "mamori-d416da5b+deb60c3e+AexIpyYIcMJjxMzfzyN4qDq/XY7NUUmc5FR2aw5j/QbN";

pub fn seed_key() -> Verifier {
    Verifier::parse(SEED_KEY).expect("the seed key parses")
}
