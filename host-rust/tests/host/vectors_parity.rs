//! Store ↔ vectors parity: every vector file's facts are written into a
//! fresh database through the admin service, each case's snapshot is built from what the store loads
//! for that principal, and every query must answer exactly as the vector
//! expects (the same expectations as the pure core runner).

use crate::common;

use tessera_core::{Manifest, Snapshot, compile};
use tessera_host::{Store, load_facts};
use tessera_tests::{load_file, matches, vector_files, vector_request};

both_backends!(
    every_vector_file_answers_the_same_from_the_store,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let mut total = 0;
            for path in vector_files().unwrap() {
                let file = load_file(&path).unwrap();
                let manifest = Manifest::from_toml(&file.manifest_toml).unwrap();
                // One database per file: files reuse org ids and catalogs differ.
                let store = Store::connect(&url).await.unwrap();
                store.migrate_down(0).await.unwrap();
                store.migrate_up().await.unwrap();
                let cap_ids = common::import(&store, &manifest, &file.vectors.facts).await;
                for case in &file.vectors.cases {
                    let mut tx = store.pool().begin().await.unwrap();
                    let under = case.under.clone().unwrap_or_default();
                    let facts =
                        load_facts(&mut tx, &file.vectors.facts.org, &case.principal, &under)
                            .await
                            .unwrap();
                    tx.commit().await.unwrap();
                    let payload =
                        compile(&manifest, &facts, &vector_request(case)).unwrap_or_else(|err| {
                            panic!("{}: {}: {err}\n{facts:#?}", file.name, case.description)
                        });
                    let snapshot = Snapshot::new(payload).unwrap();
                    let mut actual = snapshot.answer(&case.query);
                    common::fact_cap_ids(&mut actual, &cap_ids);
                    assert!(
                        matches(&case.query, &case.expect, &actual),
                        "{}: {}\n  expected {}\n  actual   {actual}",
                        file.name,
                        case.description,
                        case.expect
                    );
                    total += 1;
                }
                store.close().await;
            }
            assert!(total >= 150, "{total}");
        }
    }
);
