//! The snapshot builder and key ring on both databases: built snapshots
//! verify against the published keys and answer like the core; rotation
//! keeps old keys published exactly as long as their snapshots can live.

use crate::common;

use tessera_core::{Expect, GroupFact, GroupMemberFact, Manifest, Member, Verifier, VerifyError};
use tessera_host::{
    BuildError, BuildRequest, FactsError, Loader, MAX_SNAPSHOT_TTL, Store, build_snapshot,
    published_key_set, published_keys, rotate_keys,
};
use tessera_tests::{LoadedFile, load_file, matches, repo_root};

fn secs(time: i64) -> u64 {
    u64::try_from(time).unwrap()
}

fn request<'a>(org: &'a str, principal: &'a str) -> BuildRequest<'a> {
    BuildRequest {
        org,
        principal,
        token_scopes: None,
        under: None,
        ttl: 300,
        provenance: false,
    }
}

/// A migrated store holding `fleet_narrowing.json`'s facts.
async fn narrowing_store(url: &str) -> (Store, Manifest, LoadedFile) {
    let store = Store::connect(url).await.unwrap();
    store.migrate_up().await.unwrap();
    let file = load_file(&repo_root().join("tests/vectors/fleet_narrowing.json")).unwrap();
    let manifest = Manifest::from_toml(&file.manifest_toml).unwrap();
    common::import(&store, &manifest, &file.vectors.facts).await;
    (store, manifest, file)
}

/// What every write does to the org's revision, alone.
async fn bump_revision(store: &Store) {
    sqlx::query("UPDATE orgs SET revision = revision + 1 WHERE id = 'acme'")
        .execute(store.pool())
        .await
        .unwrap();
}

both_backends!(
    built_snapshots_verify_and_answer_like_the_core,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let (store, manifest, file) = narrowing_store(&url).await;
            let loader = Loader::new(store.clone());
            let now: i64 = 1_700_000_000;
            let keys = published_key_set(&store, now).await.unwrap();
            assert!(
                published_keys(&store, now).await.unwrap().is_empty(),
                "no key before the first build"
            );
            let mut checked = 0;
            for case in file
                .vectors
                .cases
                .iter()
                .filter(|c| c.token_scopes.is_none() && c.under.is_none())
            {
                let built =
                    build_snapshot(&loader, &manifest, &request("acme", &case.principal), now)
                        .await
                        .unwrap();
                let keys = published_key_set(&store, now).await.unwrap();
                let snapshot = Verifier::new(keys)
                    .open(
                        &built.envelope,
                        secs(now),
                        Expect {
                            org: Some("acme"),
                            principal: Some(&case.principal),
                        },
                    )
                    .unwrap();
                assert_eq!(snapshot.header().expires_at, (now + 300) as u64);
                assert!(
                    matches(&case.query, &case.expect, &snapshot.answer(&case.query)),
                    "{}",
                    case.description
                );
                checked += 1;
            }
            assert!(checked > 10);
            let _ = keys;
            store.close().await;
        }
    }
);

both_backends!(
    rotation_keeps_old_keys_while_their_snapshots_live,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let (store, manifest, _) = narrowing_store(&url).await;
            let loader = Loader::new(store.clone());
            let now: i64 = 1_700_000_000;
            let old = build_snapshot(
                &loader,
                &manifest,
                &BuildRequest {
                    ttl: MAX_SNAPSHOT_TTL,
                    ..request("acme", "alice")
                },
                now,
            )
            .await
            .unwrap();
            let new_kid = rotate_keys(&store, now + 10).await.unwrap();
            // The retired key never signs again: its private half is gone.
            let private: Vec<(String, Vec<u8>)> =
                sqlx::query_as("SELECT kid, private_key FROM signing_keys ORDER BY kid")
                    .fetch_all(store.pool())
                    .await
                    .unwrap();
            assert_eq!(private.len(), 2);
            for (kid, key) in &private {
                assert_eq!(key.len(), if *kid == new_kid { 32 } else { 0 }, "{kid}");
            }
            let new = build_snapshot(&loader, &manifest, &request("acme", "alice"), now + 20)
                .await
                .unwrap();
            let published = published_keys(&store, now + 20).await.unwrap();
            assert_eq!(published.len(), 2);
            assert!(published.iter().any(|key| key.kid == new_kid));
            let verifier = Verifier::new(published_key_set(&store, now + 20).await.unwrap());
            assert!(
                verifier
                    .open(&old.envelope, secs(now + 20), Expect::default())
                    .is_ok(),
                "the old key still verifies"
            );
            assert_eq!(
                verifier
                    .open(&new.envelope, secs(now + 20), Expect::default())
                    .unwrap()
                    .header()
                    .kid,
                new_kid
            );
            // Once every snapshot the old key signed has expired, it is unpublished.
            let later = now + 10 + MAX_SNAPSHOT_TTL;
            assert_eq!(published_keys(&store, later).await.unwrap().len(), 1);
            let verifier = Verifier::new(published_key_set(&store, later).await.unwrap());
            assert!(matches!(
                verifier.open(&old.envelope, secs(now + 20), Expect::default()),
                Err(VerifyError::UnknownKey(_))
            ));
            store.close().await;
        }
    }
);

both_backends!(build_errors_are_clear, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let (store, manifest, _) = narrowing_store(&url).await;
        let loader = Loader::new(store.clone());
        let now: i64 = 1_700_000_000;
        let err = build_snapshot(&loader, &manifest, &request("nope", "alice"), now)
            .await
            .unwrap_err();
        assert!(
            matches!(err, BuildError::Facts(FactsError::UnknownOrg(_))),
            "{err}"
        );
        let err = build_snapshot(&loader, &manifest, &request("acme", "mallory"), now)
            .await
            .unwrap_err();
        assert!(
            matches!(err, BuildError::Facts(FactsError::UnknownPrincipal(_))),
            "{err}"
        );
        let err = build_snapshot(
            &loader,
            &manifest,
            &BuildRequest {
                ttl: 3601,
                ..request("acme", "alice")
            },
            now,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, BuildError::BadTtl));
        let scopes = vec!["miner:explode".to_owned()];
        let err = build_snapshot(
            &loader,
            &manifest,
            &BuildRequest {
                token_scopes: Some(&scopes),
                ..request("acme", "alice")
            },
            now,
        )
        .await
        .unwrap_err();
        assert_eq!(
            match err {
                BuildError::Compile(err) => err.code().as_str(),
                _ => "other",
            },
            "UNKNOWN_PERMISSION"
        );
        store.close().await;
    }
});

both_backends!(
    a_kept_org_structure_is_read_again_at_a_new_revision,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let (store, manifest, _) = narrowing_store(&url).await;
            let loader = Loader::new(store.clone());
            let now: i64 = 1_700_000_000;
            let blink = |path: &[&str]| {
                let path: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
                let store = store.clone();
                let loader = loader.clone();
                let manifest = manifest.clone();
                async move {
                    let built = build_snapshot(&loader, &manifest, &request("acme", "carol"), now)
                        .await
                        .unwrap();
                    let keys = published_key_set(&store, now).await.unwrap();
                    let snapshot = Verifier::new(keys)
                        .open(&built.envelope, secs(now), Expect::default())
                        .unwrap();
                    (
                        built.revision,
                        snapshot.check("miner:blink_led", &path, None).is_allow(),
                    )
                }
            };
            // carol is FIELD_TECH at site 1; the first build keeps the org's
            // structure at its revision, the second reuses it.
            let (first, allowed) = blink(&["site:1", "rack:1", "miner:11"]).await;
            assert!(allowed);
            assert_eq!(
                blink(&["site:1", "rack:1", "miner:11"]).await,
                (first, true)
            );
            // Take the key out of carol's role, with the revision bump every
            // write makes: the next build reads the structure again.
            sqlx::query(
                "DELETE FROM role_permissions WHERE org_id = 'acme' AND role_id = 'FIELD_TECH' AND permission = 'miner:blink_led'",
            )
            .execute(store.pool())
            .await
            .unwrap();
            bump_revision(&store).await;
            assert_eq!(
                blink(&["site:1", "rack:1", "miner:11"]).await,
                (first + 1, false),
                "a stale structure would still hold the key"
            );
            store.close().await;
        }
    }
);

/// Builds carol's snapshot while writes move her FIELD_TECH grant (held
/// as `subject`) between site 1 and site 2; every build must read one
/// state of the store.
async fn race(store: &Store, manifest: &Manifest, subject: &'static str) {
    let loader = Loader::new(store.clone());
    let now: i64 = 1_700_000_000;
    let (start,): (i64,) = sqlx::query_as("SELECT revision FROM orgs WHERE id = 'acme'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let start = u64::try_from(start).unwrap();
    // The first build makes the signing key.
    build_snapshot(&loader, manifest, &request("acme", "carol"), now)
        .await
        .unwrap();
    let keys = published_key_set(store, now).await.unwrap();
    // Each write moves the grant between site 1 and site 2 and bumps the
    // revision, in one transaction: at an even distance from `start` carol
    // may blink miner 11 (under site 1), at an odd one she may not. Builds
    // race the writes, so some read a revision whose structure is kept and
    // see a write land between their statements.
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for _ in 0..80 {
                let mut tx = store.pool().begin().await.unwrap();
                let moved = sqlx::query(
                    "UPDATE assignments SET scope_id = CASE scope_id WHEN '1' THEN '2' ELSE '1' END,
                            scope_key = CASE scope_key WHEN 'site:1' THEN 'site:2' ELSE 'site:1' END
                      WHERE org_id = 'acme' AND subject = $1",
                )
                .bind(subject)
                .execute(&mut *tx)
                .await
                .unwrap();
                assert_eq!(moved.rows_affected(), 1);
                sqlx::query("UPDATE orgs SET revision = revision + 1 WHERE id = 'acme'")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        })
    };
    let path: Vec<String> = ["site:1", "rack:1", "miner:11"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let mut revisions = std::collections::BTreeSet::new();
    while !writer.is_finished() {
        // alice's build first keeps the revision's structure without
        // carol's groups, so carol's reads them outside a transaction.
        build_snapshot(&loader, manifest, &request("acme", "alice"), now)
            .await
            .unwrap();
        let built = build_snapshot(&loader, manifest, &request("acme", "carol"), now)
            .await
            .unwrap();
        let snapshot = Verifier::new(keys.clone())
            .open(&built.envelope, secs(now), Expect::default())
            .unwrap();
        let allowed = snapshot.check("miner:blink_led", &path, None).is_allow();
        assert_eq!(
            allowed,
            (built.revision - start) % 2 == 0,
            "revision {} read with another revision's grant",
            built.revision
        );
        revisions.insert(built.revision);
    }
    writer.await.unwrap();
    assert!(
        revisions.len() > 3,
        "the builds saw too few revisions to race: {revisions:?}"
    );
}

both_backends!(
    builds_racing_writes_each_read_one_state,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let (store, manifest, _) = narrowing_store(&url).await;
            race(&store, &manifest, "user:carol").await;
            store.close().await;
        }
    }
);

both_backends!(
    builds_racing_writes_to_a_group_grant_each_read_one_state,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            // carol's grant given to a group she alone is in: the group's
            // assignments are kept with the structure between builds.
            let file = load_file(&repo_root().join("tests/vectors/fleet_narrowing.json")).unwrap();
            let manifest = Manifest::from_toml(&file.manifest_toml).unwrap();
            let mut facts = file.vectors.facts.clone();
            facts.groups.push(GroupFact {
                id: "racers".to_owned(),
                name: None,
                default: false,
            });
            facts.group_members.push(GroupMemberFact {
                group: "racers".to_owned(),
                member: Member::User("carol".to_owned()),
            });
            for assignment in &mut facts.assignments {
                if assignment.subject.to_string() == "user:carol" {
                    assignment.subject = "group:racers".parse().unwrap();
                }
            }
            let store = Store::connect(&url).await.unwrap();
            store.migrate_up().await.unwrap();
            common::import(&store, &manifest, &facts).await;
            race(&store, &manifest, "group:racers").await;
            store.close().await;
        }
    }
);

both_backends!(
    builds_that_miss_together_read_the_structure_once,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let (store, manifest, _) = narrowing_store(&url).await;
            let loader = Loader::new(store.clone());
            let now: i64 = 1_700_000_000;
            build_snapshot(&loader, &manifest, &request("acme", "alice"), now)
                .await
                .unwrap();
            // A write: every principal's next build misses the kept
            // structure at the new revision.
            bump_revision(&store).await;
            let before = loader.structure_reads();
            let builds: Vec<_> = ["alice", "bob", "carol", "dave", "erin"]
                .iter()
                .cycle()
                .take(10)
                .map(|principal| {
                    let loader = loader.clone();
                    let manifest = manifest.clone();
                    tokio::spawn(async move {
                        build_snapshot(&loader, &manifest, &request("acme", principal), now)
                            .await
                            .unwrap()
                            .revision
                    })
                })
                .collect();
            let mut revisions = Vec::new();
            for build in builds {
                revisions.push(build.await.unwrap());
            }
            revisions.dedup();
            assert_eq!(revisions.len(), 1, "one revision: {revisions:?}");
            assert_eq!(loader.structure_reads() - before, 1);
            store.close().await;
        }
    }
);
