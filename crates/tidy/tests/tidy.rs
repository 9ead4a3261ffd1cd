//! The workspace's tidiness, checked on every `cargo test`: no import cycle
//! between the files of a crate (beyond the ones listed below, which only
//! shrink), every source file opens with a `//!` line saying what it is,
//! every crate has its section in ARCHITECTURE.md and every room (a
//! directory module) is named there, a `kernel/` room uses no other room,
//! Japan's UTC offset is written in one place, and only start-up reads
//! the environment or picks a store backend.

use std::{
    fs,
    path::{Path, PathBuf},
};

use mamori_tidy::{code_only, cycles, import_graph, rust_files};

/// Import cycles that exist today, each as its files (relative to the
/// workspace, sorted). The list may only shrink: a new cycle fails the test,
/// and so does a listed one that is gone (delete its line).
const KNOWN_CYCLES: &[&[&str]] = &[];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn crates(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(root.join("crates"))
        .expect("crates/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    out.sort();
    out
}

fn relative(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

/// Where any of `spellings` is written in the code (not comments or
/// strings) of a crate's sources, except the files `home` says are allowed
/// (given the crate's directory name and the file).
fn written_outside(
    root: &Path,
    spellings: &[&str],
    home: impl Fn(&str, &Path) -> bool,
) -> Vec<String> {
    let mut strays = Vec::new();
    for krate in crates(root) {
        let name = krate.file_name().and_then(|n| n.to_str()).unwrap_or("");
        for f in rust_files(&krate.join("src")) {
            if home(name, &f) {
                continue;
            }
            let code = code_only(&fs::read_to_string(&f).unwrap_or_default());
            for s in spellings {
                if code.contains(s) {
                    strays.push(format!("{}: {s}", relative(root, &f)));
                }
            }
        }
    }
    strays
}

#[test]
fn no_file_of_a_crate_imports_itself_round_a_loop() {
    let root = workspace();
    let mut found = Vec::new();
    for krate in crates(&root) {
        for group in cycles(&import_graph(&krate.join("src"))) {
            found.push(group.iter().map(|p| relative(&root, p)).collect::<Vec<_>>());
        }
    }
    let known: Vec<Vec<String>> = KNOWN_CYCLES
        .iter()
        .map(|c| c.iter().map(|s| (*s).to_owned()).collect())
        .collect();
    let new: Vec<_> = found.iter().filter(|c| !known.contains(c)).collect();
    let gone: Vec<_> = known.iter().filter(|c| !found.contains(c)).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "import cycles changed.\nnew (break them: move the shared part to a file both may use):\n{new:#?}\ngone (delete them from KNOWN_CYCLES):\n{gone:#?}"
    );
}

#[test]
fn every_source_file_says_what_it_is() {
    let root = workspace();
    let mut dirs: Vec<PathBuf> = crates(&root)
        .iter()
        .flat_map(|c| [c.join("src"), c.join("tests"), c.join("benches")])
        .collect();
    dirs.push(root.join("fuzz/src"));
    dirs.push(root.join("fuzz/fuzz_targets"));
    let silent: Vec<String> = dirs
        .iter()
        .flat_map(|d| rust_files(d))
        .filter(|f| {
            let text = fs::read_to_string(f).unwrap_or_default();
            !text.starts_with("//!")
        })
        .map(|f| relative(&root, &f))
        .collect();
    assert!(
        silent.is_empty(),
        "these files do not open with a `//!` line saying what they are: {silent:#?}"
    );
}

#[test]
fn every_crate_has_its_section_in_the_architecture() {
    let root = workspace();
    let map = fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    // A section may cover crates that belong together (the store's three).
    let headings: Vec<&str> = map.lines().filter(|l| l.starts_with("### ")).collect();
    let missing: Vec<String> = crates(&root)
        .iter()
        .map(|c| relative(&root, c))
        .filter(|c| !headings.iter().any(|h| h.contains(&format!("`{c}`"))))
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md has no `### `crates/…`` section for: {missing:?}"
    );
}

#[test]
fn every_room_is_named_in_the_architecture() {
    let root = workspace();
    let map = fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut missing = Vec::new();
    for krate in crates(&root) {
        let Ok(entries) = fs::read_dir(krate.join("src")) else {
            continue;
        };
        for e in entries.flatten() {
            let dir = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if dir.join("mod.rs").exists() && !map.contains(&format!("`{name}/`")) {
                missing.push(relative(&root, &dir));
            }
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md does not name these rooms (as `name/`): {missing:?}"
    );
}

#[test]
fn japan_time_has_one_home() {
    let root = workspace();
    let home = root.join("crates/core/src/jst.rs");
    let spellings = ["9 * 3600", "9 * 60 * 60", "32400", "32_400", "east_opt(9"];
    let strays = written_outside(&root, &spellings, |_, f| f == home);
    assert!(
        strays.is_empty(),
        "Japan's offset is written outside crates/core/src/jst.rs (use mamori_core::jst): {strays:#?}"
    );
}

#[test]
fn a_kernel_stands_on_nothing_but_itself() {
    let root = workspace();
    let mut leaks = Vec::new();
    for krate in crates(&root) {
        let kernel = krate.join("src/kernel");
        if !kernel.is_dir() {
            continue;
        }
        for (file, targets) in import_graph(&krate.join("src")) {
            if !file.starts_with(&kernel) {
                continue;
            }
            for t in targets.iter().filter(|t| !t.starts_with(&kernel)) {
                leaks.push(format!(
                    "{} -> {}",
                    relative(&root, &file),
                    relative(&root, t)
                ));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "the kernel uses other rooms (move the shared part into the kernel): {leaks:#?}"
    );
}

#[test]
fn only_start_up_reads_the_environment_or_picks_a_backend() {
    let root = workspace();
    // Start-up, the binaries and the tools above it may; the libraries
    // below receive values.
    let allowed = ["app", "cli", "bench", "tidy"];
    let spellings = [
        "env::var",
        "env::vars",
        "PgStore::open",
        "SqliteVault::open",
        "SqliteAudit::open",
    ];
    // The store crates open themselves: their constructors are what is picked.
    let strays = written_outside(&root, &spellings, |krate, _| {
        allowed.contains(&krate) || krate.starts_with("store")
    });
    assert!(
        strays.is_empty(),
        "the environment is read or a backend picked outside crates/app (pass the value down instead): {strays:#?}"
    );
}
