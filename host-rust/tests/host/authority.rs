//! Authoritative checks on both databases: answers equal the vectors', the
//! cache serves repeats and rebuilds after a write (a revocation is seen at
//! once), `min_revision` ahead of the store is STALE, exports over the
//! maximum are SNAPSHOT_TOO_LARGE, and the cache stays bounded.

use crate::common;

use std::sync::Arc;

use tessera_core::{Effect, Manifest};
use tessera_host::{Actor, Admin, Asking, Authority, Store};
use tessera_tests::{load_file, matches, repo_root};

fn asking<'a>(principal: &'a str) -> Asking<'a> {
    Asking {
        org: "acme",
        principal,
        token_scopes: None,
        under: None,
        min_revision: None,
    }
}

fn path(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|key| (*key).to_owned()).collect()
}

both_backends!(answers_cache_and_consistency, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate_up().await.unwrap();
        let file = load_file(&repo_root().join("tests/vectors/fleet_narrowing.json")).unwrap();
        let manifest = Arc::new(Manifest::from_toml(&file.manifest_toml).unwrap());
        common::import(&store, &manifest, &file.vectors.facts).await;
        let authority = Authority::new(store.clone(), Arc::clone(&manifest), 2);
        // Every plain check of the file answers as the vector expects.
        for case in file
            .vectors
            .cases
            .iter()
            .filter(|c| c.token_scopes.is_none() && c.under.is_none())
        {
            let (snapshot, _) = authority.snapshot(&asking(&case.principal)).await.unwrap();
            assert!(
                matches(&case.query, &case.expect, &snapshot.answer(&case.query)),
                "{}",
                case.description
            );
        }
        // Repeats are served from the cache.
        let reboot = |site: &str, rack: &str| path(&[site, rack]);
        let (first, revision) = authority
            .check(
                &asking("alice"),
                "miner:reboot",
                &reboot("site:2", "rack:2"),
                None,
            )
            .await
            .unwrap();
        let before = authority.stats();
        let (second, again) = authority
            .check(
                &asking("alice"),
                "miner:reboot",
                &reboot("site:2", "rack:2"),
                None,
            )
            .await
            .unwrap();
        assert_eq!(
            (first.decision, second.decision, revision),
            (Effect::Allow, Effect::Allow, again)
        );
        let after = authority.stats();
        assert_eq!(
            (after.hits - before.hits, after.misses - before.misses),
            (1, 0),
            "{before:?} {after:?}"
        );
        // Permutations and repetitions of the same token scopes share one
        // cache entry.
        let orders = [
            path(&["miner:read", "miner:reboot"]),
            path(&["miner:reboot", "miner:read"]),
            path(&["miner:reboot", "miner:read", "miner:reboot"]),
        ];
        let before = authority.stats();
        for scopes in &orders {
            let scoped = Asking {
                token_scopes: Some(scopes),
                ..asking("alice")
            };
            authority.snapshot(&scoped).await.unwrap();
        }
        let after = authority.stats();
        assert_eq!(
            (after.hits - before.hits, after.misses - before.misses),
            (2, 1),
            "one compile for three spellings of one scope set"
        );
        // A revocation is enforced on the next check: the write bumped the revision.
        let admin = Admin::new(store.clone(), Arc::clone(&manifest));
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM assignments WHERE subject = 'user:alice' AND scope_key = ''",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        for (id,) in ids {
            admin
                .delete_assignment(&Actor::Backend, "acme", &id, 2)
                .await
                .unwrap();
        }
        let (revoked, newer) = authority
            .check(
                &asking("alice"),
                "miner:reboot",
                &reboot("site:2", "rack:2"),
                None,
            )
            .await
            .unwrap();
        assert_eq!(revoked.decision, Effect::Deny);
        assert!(newer > revision);
        // Read-your-writes.
        let ahead = Asking {
            min_revision: Some(newer + 1),
            ..asking("alice")
        };
        assert_eq!(
            authority
                .check(&ahead, "miner:reboot", &[], None)
                .await
                .unwrap_err()
                .code(),
            "STALE"
        );
        let exact = Asking {
            min_revision: Some(newer),
            ..asking("alice")
        };
        assert!(
            authority
                .check(&exact, "miner:reboot", &[], None)
                .await
                .is_ok()
        );
        // Errors.
        assert_eq!(
            authority
                .check(
                    &Asking {
                        org: "nope",
                        ..asking("alice")
                    },
                    "miner:reboot",
                    &[],
                    None
                )
                .await
                .unwrap_err()
                .code(),
            "NOT_FOUND"
        );
        assert_eq!(
            authority
                .check(&asking("mallory"), "miner:reboot", &[], None)
                .await
                .unwrap_err()
                .code(),
            "NOT_FOUND"
        );
        let scopes = vec!["miner:explode".to_owned()];
        let scoped = Asking {
            token_scopes: Some(&scopes),
            ..asking("alice")
        };
        assert_eq!(
            authority
                .check(&scoped, "miner:reboot", &[], None)
                .await
                .unwrap_err()
                .code(),
            "UNKNOWN_PERMISSION"
        );
        assert_eq!(
            authority
                .export(&asking("alice"), 300, 100, 1_700_000_000, None)
                .await
                .unwrap_err()
                .code(),
            "SNAPSHOT_TOO_LARGE"
        );
        let exported = authority
            .export(&asking("alice"), 300, 256 * 1024, 1_700_000_000, None)
            .await
            .unwrap();
        let tessera_host::Export::Built { built, .. } = exported else {
            panic!("built: {exported:?}");
        };
        assert!(!built.envelope.is_empty());
        assert!(!built.superuser);
        store.close().await;
    }
});

both_backends!(the_cache_is_bounded, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate_up().await.unwrap();
        let file = load_file(&repo_root().join("tests/vectors/fleet_narrowing.json")).unwrap();
        let manifest = Arc::new(Manifest::from_toml(&file.manifest_toml).unwrap());
        common::import(&store, &manifest, &file.vectors.facts).await;
        let authority = Authority::new(store.clone(), manifest, 2);
        for principal in ["alice", "bob", "carol", "alice"] {
            authority.snapshot(&asking(principal)).await.unwrap();
        }
        // Capacity 2: alice was evicted by carol, so all four were compiled.
        let stats = authority.stats();
        assert_eq!((stats.hits, stats.misses), (0, 4));
        assert!(stats.build_micros > 0, "build time is counted");
        authority.snapshot(&asking("alice")).await.unwrap();
        assert_eq!(authority.stats().hits, 1);
        store.close().await;
    }
});
