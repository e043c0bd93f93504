//! Runs every conformance vector on tessera-core (native).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test setup fails loudly"
)]

use tessera_tests::{CoreRuntime, load_file, run_file, vector_files};

/// DESIGN coverage needs at least this many queries across the files.
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
