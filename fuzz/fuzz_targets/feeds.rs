//! The feeds from other systems — HR's households, the call system's cases,
//! shift calendars — fed to a real vault on a temporary data directory:
//! refused by line and column, or taken; never a panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mamori_core::schema::CONTACT_CENTRE_SCHEMA;
use mamori_app::datadir;
use mamori_vault::Vault;

static VAULT: LazyLock<(tempfile::TempDir, std::sync::Arc<Vault>)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    datadir::init(dir.path()).unwrap();
    let vault = datadir::open(dir.path()).unwrap().vault;
    vault
        .create_tenant("cli:fuzz", "acme", "アクメ", CONTACT_CENTRE_SCHEMA)
        .unwrap();
    (dir, vault)
});

fuzz_target!(|text: &str| {
    let vault = &VAULT.1;
    let _ = vault.import_households("cli:fuzz", text);
    let _ = vault.import_cases("cli:fuzz", "acme", text);
    let _ = vault.import_shifts("cli:fuzz", text);
});
