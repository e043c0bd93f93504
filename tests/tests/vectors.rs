//! Runs every conformance vector on tessera-core (native).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test setup fails loudly"
)]

use tessera_tests::{CoreRuntime, load_file, run_file, vector_files};

/// The spec's coverage needs at least this many queries across the files.
const MIN_QUERIES: usize = 150;

#[test]
fn every_vector_file_passes_on_core() {
    let mut runtime = CoreRuntime::default();
    let mut total = 0;
    let mut failures = Vec::new();
    for path in vector_files().unwrap() {
        let file = match load_file(&path) {
            Ok(file) => file,
            Err(err) => {
                failures.push(err.to_string());
                continue;
            }
        };
        match run_file(&mut runtime, &file) {
            Ok(count) => {
                println!("{}: {count} queries", file.name);
                total += count;
            }
            Err(err) => failures.push(err.to_string()),
        }
    }
    println!("total: {total} queries");
    assert!(
        failures.is_empty(),
        "{} vector files failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        total >= MIN_QUERIES,
        "only {total} queries; at least {MIN_QUERIES} required"
    );
}

/// A permission handle resolved on one snapshot, asked of a snapshot with
/// another catalog, is an unknown permission there: `check` denies it with
/// `UNKNOWN_PERMISSION` and `can_anywhere` is false (docs/model.md §1.5).
#[test]
fn a_handle_from_another_catalog_allows_nothing() {
    let open = |name: &str| {
        let file = load_file(&tessera_tests::repo_root().join("tests/vectors").join(name)).unwrap();
        let manifest = tessera_core::Manifest::from_toml(&file.manifest_toml).unwrap();
        let case = &file.vectors.cases[0];
        tessera_tests::open_snapshot(&manifest, &file.vectors.facts, case).unwrap()
    };
    let fleet = open("fleet_paths.json");
    let wiki = open("wiki_levels.json");
    // A fleet key at a catalog position where the wiki principal holds its
    // own key somewhere: only the catalog check can refuse it.
    let handle = fleet
        .catalog()
        .entries()
        .iter()
        .filter_map(|entry| fleet.permission(&entry.key))
        .find(|handle| {
            let at = wiki.catalog().entries().get(handle.index());
            at.is_some_and(|entry| wiki.can_anywhere(&entry.key))
        })
        .unwrap();
    assert!(!wiki.catalog().owns(handle));
    let decision = wiki.check_permission::<&str>(handle, &[], None);
    assert_eq!(
        decision.diagnostic,
        Some(tessera_core::Diagnostic::UnknownPermission)
    );
    assert!(!wiki.can_anywhere_permission(handle));
}
