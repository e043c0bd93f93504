//! Admin writes for nodes, hidden entries and caps on both databases: every
//! error code provoked with nothing changed, and the escalation side doors
//! (re-parenting, un-hiding, removing a cap).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::sync::Arc;

use sqlx::Executor;
use tessera_core::{Manifest, NodeKey, Selector};
use tessera_host::{Actor, Admin, Store, UserUpdate, reconcile};

const FLEET: &str = include_str!("../../examples/fleet/manifest.toml");

fn user(id: &str) -> Actor {
    Actor::User(id.to_owned())
}

fn key(text: &str) -> NodeKey {
    text.parse().unwrap()
}

fn selector(text: &str) -> Selector {
    text.parse().unwrap()
}

/// Orgs acme and beta; in acme: root (superuser), bob (ADMIN: has
/// site:manage), carol (FIELD_TECH: no site:manage), vic (ADMIN, but
/// miner:11 is hidden from him); nodes site:1 > rack:1 > miner:11.
async fn setup(store: &Store, manifest: &str) -> Admin {
    let manifest = Arc::new(Manifest::from_toml(manifest).unwrap());
    reconcile(store, &manifest, 1).await.unwrap();
    let admin = Admin::new(store.clone(), manifest);
    let backend = Actor::Backend;
    let named = |name: &str| UserUpdate {
        name: Some(name.to_owned()),
        ..UserUpdate::default()
    };
    admin
        .put_user(
            &backend,
            "root",
            &UserUpdate {
                superuser: Some(true),
                ..named("Root")
            },
            1,
        )
        .await
        .unwrap();
    for org in ["acme", "beta"] {
        admin.create_org(&backend, org, org, 1).await.unwrap();
    }
    for id in ["bob", "carol", "vic"] {
        admin.put_user(&backend, id, &named(id), 1).await.unwrap();
        admin.put_member(&backend, "acme", id, 1).await.unwrap();
    }
    store
        .pool()
        .execute(
            "INSERT INTO assignments (org_id, id, subject, subject_user, role_id, scope_key, created_at) VALUES
               ('acme', 'a1', 'user:bob', 'bob', 'ADMIN', '', 1),
               ('acme', 'a2', 'user:carol', 'carol', 'FIELD_TECH', '', 1),
               ('acme', 'a3', 'user:vic', 'vic', 'ADMIN', '', 1)",
        )
        .await
        .unwrap();
    admin
}

both_backends!(nodes, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate_up().await.unwrap();
        let admin = setup(&store, FLEET).await;
        let bob = user("bob");
        admin
            .put_node(&bob, "acme", &key("site:1"), None, 2)
            .await
            .unwrap();
        admin
            .put_node(&bob, "acme", &key("site:2"), None, 2)
            .await
            .unwrap();
        admin
            .put_node(&bob, "acme", &key("rack:1"), Some(&key("site:1")), 2)
            .await
            .unwrap();
        admin
            .put_node(&bob, "acme", &key("miner:11"), Some(&key("rack:1")), 2)
            .await
            .unwrap();
        admin
            .put_node(&Actor::Backend, "beta", &key("site:9"), None, 2)
            .await
            .unwrap();
        common::refused(
            &store,
            "FORBIDDEN",
            admin.put_node(&user("carol"), "acme", &key("site:3"), None, 3),
        )
        .await;
        common::refused(
            &store,
            "BAD_REQUEST",
            admin.put_node(&bob, "acme", &key("shelf:1"), None, 3),
        )
        .await;
        common::refused(
            &store,
            "BAD_REQUEST",
            admin.put_node(&bob, "acme", &key("rack:2"), None, 3),
        )
        .await;
        common::refused(
            &store,
            "BAD_REQUEST",
            admin.put_node(&bob, "acme", &key("rack:2"), Some(&key("site:404")), 3),
        )
        .await;
        // Another org's node is not a parent here.
        common::refused(
            &store,
            "BAD_REQUEST",
            admin.put_node(&bob, "acme", &key("rack:2"), Some(&key("site:9")), 3),
        )
        .await;
        // Re-parenting needs the backend or a superuser.
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.put_node(&bob, "acme", &key("rack:1"), Some(&key("site:2")), 3),
        )
        .await;
        admin
            .put_node(
                &user("root"),
                "acme",
                &key("rack:1"),
                Some(&key("site:2")),
                3,
            )
            .await
            .unwrap();
        // Nothing is deleted as a side effect.
        common::refused(
            &store,
            "NODE_IN_USE",
            admin.delete_node(&bob, "acme", &key("rack:1"), 4),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.delete_node(&bob, "acme", &key("site:9"), 4),
        )
        .await;
        store
            .pool()
            .execute("INSERT INTO assignments (org_id, id, subject, subject_user, role_id, scope_type, scope_id, scope_key, created_at) VALUES ('acme', 'a9', 'user:carol', 'carol', 'FIELD_TECH', 'site', '1', 'site:1', 1)")
            .await
            .unwrap();
        common::refused(
            &store,
            "NODE_IN_USE",
            admin.delete_node(&bob, "acme", &key("site:1"), 4),
        )
        .await;
        admin
            .delete_node(&bob, "acme", &key("miner:11"), 4)
            .await
            .unwrap();
        store.close().await;
    }
});

both_backends!(reparenting_cannot_make_a_cycle, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate_up().await.unwrap();
        let manifest = format!(
            "{}\n[[resource]]\ntype = \"folder\"\nparents = [\"org\", \"folder\"]\n",
            FLEET.replacen(
                "[[resource]]",
                "[[resource]]\ntype = \"zzz\"\nparents = [\"org\"]\n\n[[resource]]",
                1
            )
        );
        let admin = setup(&store, &manifest).await;
        let backend = Actor::Backend;
        admin
            .put_node(&backend, "acme", &key("folder:a"), None, 2)
            .await
            .unwrap();
        admin
            .put_node(
                &backend,
                "acme",
                &key("folder:b"),
                Some(&key("folder:a")),
                2,
            )
            .await
            .unwrap();
        common::refused(
            &store,
            "BAD_REQUEST",
            admin.put_node(
                &backend,
                "acme",
                &key("folder:a"),
                Some(&key("folder:b")),
                3,
            ),
        )
        .await;
        common::refused(
            &store,
            "BAD_REQUEST",
            admin.put_node(
                &backend,
                "acme",
                &key("folder:a"),
                Some(&key("folder:a")),
                3,
            ),
        )
        .await;
        store.close().await;
    }
});

both_backends!(hidden_and_caps, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate_up().await.unwrap();
        let admin = setup(&store, FLEET).await;
        let (bob, backend) = (user("bob"), Actor::Backend);
        admin
            .put_node(&backend, "acme", &key("site:1"), None, 2)
            .await
            .unwrap();
        admin
            .put_node(&backend, "acme", &key("rack:1"), Some(&key("site:1")), 2)
            .await
            .unwrap();
        admin
            .put_node(&backend, "acme", &key("miner:11"), Some(&key("rack:1")), 2)
            .await
            .unwrap();
        admin
            .put_node(&backend, "beta", &key("miner:99"), None, 2)
            .await
            .unwrap_err();
        common::refused(
            &store,
            "NOT_HIDEABLE",
            admin.create_hidden(&bob, "acme", &selector("everyone"), &key("site:1"), 3),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.create_hidden(&bob, "acme", &selector("everyone"), &key("miner:404"), 3),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.create_hidden(&bob, "acme", &selector("group:nope"), &key("miner:11"), 3),
        )
        .await;
        common::refused(
            &store,
            "FORBIDDEN",
            admin.create_hidden(
                &user("carol"),
                "acme",
                &selector("everyone"),
                &key("miner:11"),
                3,
            ),
        )
        .await;
        let hidden = admin
            .create_hidden(&bob, "acme", &selector("user:vic"), &key("miner:11"), 3)
            .await
            .unwrap();
        // vic cannot un-hide what is hidden from him; bob can.
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.delete_hidden(&user("vic"), "acme", &hidden.id, 4),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.delete_hidden(&backend, "beta", &hidden.id, 4),
        )
        .await;
        admin
            .delete_hidden(&bob, "acme", &hidden.id, 4)
            .await
            .unwrap();
        // Caps: literal catalog keys only.
        let allow = |keys: &[&str]| keys.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        common::refused(
            &store,
            "UNKNOWN_PERMISSION",
            admin.create_cap(
                &bob,
                "acme",
                &selector("members"),
                None,
                &allow(&["miner:*"]),
                5,
            ),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.create_cap(
                &bob,
                "acme",
                &selector("members"),
                Some(&key("site:404")),
                &allow(&[]),
                5,
            ),
        )
        .await;
        // A cap at site:1 withholding user:manage: bob (ADMIN) lacks it and may
        // not remove the cap; the trusted backend may.
        let cap = admin
            .create_cap(
                &bob,
                "acme",
                &selector("members"),
                Some(&key("site:1")),
                &allow(&["fleet:read", "miner:read"]),
                5,
            )
            .await
            .unwrap();
        assert_eq!(cap.allow, vec!["fleet:read", "miner:read"]);
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.delete_cap(&bob, "acme", &cap.id, 6),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.delete_cap(&backend, "beta", &cap.id, 6),
        )
        .await;
        let before = common::state(&store).await;
        admin
            .delete_cap(&backend, "acme", &cap.id, 6)
            .await
            .unwrap();
        let after = common::state(&store).await;
        assert_eq!(
            (
                common::counter(&after, 0) - common::counter(&before, 0),
                common::counter(&after, 1) - common::counter(&before, 1),
                common::counter(&before, 6) - common::counter(&after, 6),
            ),
            (1, 1, 1)
        );
        store.close().await;
    }
});
