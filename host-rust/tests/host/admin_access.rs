//! Admin writes for nodes, hidden entries and caps on both databases: every
//! error code provoked with nothing changed, and the escalation side doors
//! (re-parenting, un-hiding, removing a cap).

use crate::common::{self, FLEET, user};

use std::sync::Arc;

use sqlx::Executor;
use tessera_core::{Manifest, NodeKey, Selector};
use tessera_host::{Actor, Admin, AdminError, Store, UserUpdate, reconcile};

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
        // bob and vic are peers (both ADMIN, no role:manage): a hidden
        // entry naming vic manages vic, which only root may here.
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.create_hidden(&bob, "acme", &selector("user:vic"), &key("miner:11"), 3),
        )
        .await;
        let hidden = admin
            .create_hidden(
                &user("root"),
                "acme",
                &selector("user:vic"),
                &key("miner:11"),
                3,
            )
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

/// The fleet manifest without its `[admin]` section: only superusers write.
fn without_admin_section() -> String {
    let start = FLEET.find("[admin]").unwrap();
    let end = start + FLEET[start..].find("[[route]]").unwrap();
    format!("{}{}", &FLEET[..start], &FLEET[end..])
}

both_backends!(
    an_inactive_superuser_is_no_superuser_to_the_admin_gate,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate_up().await.unwrap();
            let admin = setup(&store, &without_admin_section()).await;
            let ghost = UserUpdate {
                name: Some("Ghost".to_owned()),
                superuser: Some(true),
                active: Some(true),
            };
            admin
                .put_user(&Actor::Backend, "ghost", &ghost, 2)
                .await
                .unwrap();
            admin
                .put_member(&Actor::Backend, "acme", "ghost", 2)
                .await
                .unwrap();
            admin
                .put_node(&user("ghost"), "acme", &key("site:1"), None, 2)
                .await
                .unwrap();
            let deactivated = UserUpdate {
                active: Some(false),
                ..UserUpdate::default()
            };
            admin
                .put_user(&Actor::Backend, "ghost", &deactivated, 3)
                .await
                .unwrap();
            let ghost = user("ghost");
            common::refused(
                &store,
                "FORBIDDEN",
                admin.put_node(&ghost, "acme", &key("site:2"), None, 4),
            )
            .await;
            common::refused(
                &store,
                "FORBIDDEN",
                admin.create_cap(&ghost, "beta", &selector("members"), None, &[], 4),
            )
            .await;
            common::refused(
                &store,
                "FORBIDDEN",
                admin.create_hidden(&ghost, "acme", &selector("everyone"), &key("site:1"), 4),
            )
            .await;
            common::refused(
                &store,
                "FORBIDDEN",
                admin.create_group(&ghost, "acme", None, "Ghosts", false, 4),
            )
            .await;
            common::refused(&store, "FORBIDDEN", admin.list_caps(&ghost, "acme")).await;
            // An active superuser still passes the same gate.
            admin
                .put_node(&user("root"), "acme", &key("site:2"), None, 4)
                .await
                .unwrap();
            store.close().await;
        }
    }
);

both_backends!(
    model_reads_with_an_actor_need_the_matching_admin_key,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate_up().await.unwrap();
            let admin = setup(&store, FLEET).await;
            // carol (FIELD_TECH) holds none of the [admin] keys; bob (ADMIN)
            // holds all three; `nobody` does not exist.
            let carol = user("carol");
            let nobody = user("nobody");
            for actor in [&carol, &nobody] {
                let forbidden = |result: Result<usize, tessera_host::AdminError>| {
                    let err = result.unwrap_err();
                    assert_eq!(err.code(), "FORBIDDEN", "{actor:?}");
                    // The message says what is missing, in one sentence.
                    let message = err.to_string();
                    let says = if *actor == nobody {
                        message == "unknown acting user `nobody`"
                    } else {
                        message.starts_with("the acting user lacks `")
                            && message.ends_with("` at the org root")
                    };
                    assert!(says, "{actor:?}: {message}");
                };
                forbidden(
                    admin
                        .list_groups(actor, "acme")
                        .await
                        .map(|rows| rows.len()),
                );
                forbidden(admin.list_roles(actor, "acme").await.map(|rows| rows.len()));
                forbidden(
                    admin
                        .list_assignments(actor, "acme")
                        .await
                        .map(|rows| rows.len()),
                );
                forbidden(
                    admin
                        .list_hidden(actor, "acme")
                        .await
                        .map(|rows| rows.len()),
                );
                forbidden(admin.list_caps(actor, "acme").await.map(|rows| rows.len()));
                forbidden(admin.list_nodes(actor, "acme").await.map(|rows| rows.len()));
                forbidden(
                    admin
                        .search_members(actor, "acme", "", 20)
                        .await
                        .map(|rows| rows.len()),
                );
                forbidden(admin.kiosk(actor, "acme").await.map(usize::from));
            }
            // bob (ADMIN) holds `site:manage` (manage_access) but not
            // `user:manage` or `role:manage`: each read needs its own key.
            let bob = user("bob");
            assert!(admin.list_hidden(&bob, "acme").await.unwrap().is_empty());
            assert!(admin.list_caps(&bob, "acme").await.unwrap().is_empty());
            assert!(!admin.kiosk(&bob, "acme").await.unwrap());
            // The node tree needs either key: scopes of assignments, or
            // the nodes themselves.
            assert!(admin.list_nodes(&bob, "acme").await.is_ok());
            for refused in [
                admin
                    .search_members(&bob, "acme", "", 20)
                    .await
                    .map(|rows| rows.len()),
                admin.list_groups(&bob, "acme").await.map(|rows| rows.len()),
                admin.list_roles(&bob, "acme").await.map(|rows| rows.len()),
                admin
                    .list_assignments(&bob, "acme")
                    .await
                    .map(|rows| rows.len()),
            ] {
                assert_eq!(refused.unwrap_err().code(), "FORBIDDEN");
            }
            let root = user("root");
            assert!(!admin.list_groups(&root, "acme").await.unwrap().is_empty());
            assert!(!admin.list_roles(&root, "acme").await.unwrap().is_empty());
            assert_eq!(
                admin.list_assignments(&root, "acme").await.unwrap().len(),
                3
            );
            // The trusted backend reads without a key.
            assert_eq!(
                admin
                    .list_assignments(&Actor::Backend, "acme")
                    .await
                    .unwrap()
                    .len(),
                3
            );
            store.close().await;
        }
    }
);

/// [`setup`] plus the cast of the side-door tests: mia manages people
/// (a custom role with `user:manage`, no `site:manage`, no `role:manage`);
/// sam holds the guarded SUPER_ADMIN at the org root without being a
/// superuser; dave is a user who is not a member yet; carol is in group
/// `techs`, bob in group `night`, which is nested in `ops`.
async fn side_doors(store: &Store) -> Admin {
    let admin = setup(store, FLEET).await;
    let backend = Actor::Backend;
    for id in ["mia", "sam", "dave"] {
        let update = UserUpdate {
            name: Some(id.to_owned()),
            ..UserUpdate::default()
        };
        admin.put_user(&backend, id, &update, 2).await.unwrap();
    }
    for id in ["mia", "sam"] {
        admin.put_member(&backend, "acme", id, 2).await.unwrap();
    }
    let keys = ["fleet:read", "user:read", "user:manage"].map(str::to_owned);
    let people = admin
        .create_role(&backend, "acme", "People", &keys, 2)
        .await
        .unwrap();
    let assign = |who: &str, role: &str| {
        (
            format!("user:{who}")
                .parse::<tessera_core::Subject>()
                .unwrap(),
            role.to_owned(),
        )
    };
    for (subject, role) in [assign("mia", &people.id), assign("sam", "SUPER_ADMIN")] {
        admin
            .create_assignment(&backend, "acme", &subject, &role, None, false, 2)
            .await
            .unwrap();
    }
    for node in [
        ("site:1", None),
        ("site:2", None),
        ("rack:1", Some("site:1")),
    ] {
        let parent = node.1.map(key);
        admin
            .put_node(&backend, "acme", &key(node.0), parent.as_ref(), 2)
            .await
            .unwrap();
    }
    admin
        .put_node(&backend, "acme", &key("miner:11"), Some(&key("rack:1")), 2)
        .await
        .unwrap();
    for (id, name) in [("techs", "Techs"), ("night", "Night"), ("ops", "Ops")] {
        admin
            .create_group(&backend, "acme", Some(id), name, false, 2)
            .await
            .unwrap();
    }
    let user = |id: &str| tessera_core::Member::User(id.to_owned());
    admin
        .put_group_member(&backend, "acme", "techs", &user("carol"), 2)
        .await
        .unwrap();
    admin
        .put_group_member(&backend, "acme", "night", &user("bob"), 2)
        .await
        .unwrap();
    admin
        .put_group_member(
            &backend,
            "acme",
            "ops",
            &tessera_core::Member::Group("night".to_owned()),
            2,
        )
        .await
        .unwrap();
    admin
}

both_backends!(
    removing_a_member_lifts_their_group_and_members_restrictions_only_with_the_lift_rules,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate_up().await.unwrap();
            let admin = side_doors(&store).await;
            let backend = Actor::Backend;
            // dave holds nothing, so mia may manage him; he is in `techs`,
            // capped at site 1 to fleet:read. Removing him from the org
            // lifts that cap for him: mia lacks the withheld keys there.
            admin.put_member(&backend, "acme", "dave", 3).await.unwrap();
            let dave = tessera_core::Member::User("dave".to_owned());
            admin
                .put_group_member(&backend, "acme", "techs", &dave, 3)
                .await
                .unwrap();
            let fleet_read = ["fleet:read".to_owned()];
            admin
                .create_cap(
                    &backend,
                    "acme",
                    &selector("group:techs"),
                    Some(&key("site:1")),
                    &fleet_read,
                    3,
                )
                .await
                .unwrap();
            let err = common::refused(
                &store,
                "ESCALATION_DENIED",
                admin.delete_member(&user("mia"), "acme", "dave", 4),
            )
            .await;
            assert!(
                err.to_string().contains("at site:1"),
                "the cap's lift: {err}"
            );
            // Removing oneself lifts one's own restrictions too: a hidden
            // entry on the members hides miner:11 from mia, and leaving
            // would reveal it to her.
            admin
                .create_hidden(&backend, "acme", &selector("members"), &key("miner:11"), 4)
                .await
                .unwrap();
            let err = common::refused(
                &store,
                "ESCALATION_DENIED",
                admin.delete_member(&user("mia"), "acme", "mia", 5),
            )
            .await;
            assert!(
                err.to_string().contains("reveal"),
                "the hidden entry's lift: {err}"
            );
            // The backend is not an actor: the same removals go through.
            admin
                .delete_member(&backend, "acme", "dave", 5)
                .await
                .unwrap();
            admin
                .delete_member(&backend, "acme", "mia", 5)
                .await
                .unwrap();
            store.close().await;
        }
    }
);

both_backends!(
    adding_a_member_needs_the_members_grants_at_their_scopes,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate_up().await.unwrap();
            let admin = side_doors(&store).await;
            let members: tessera_core::Subject = "@members".parse().unwrap();
            admin
                .create_assignment(
                    &Actor::Backend,
                    "acme",
                    &members,
                    "FIELD_TECH",
                    Some(&key("site:2")),
                    false,
                    3,
                )
                .await
                .unwrap();
            // mia herself is a member and so holds FIELD_TECH at site 2
            // through the same grant; under a cap there she no longer does.
            admin
                .create_cap(
                    &Actor::Backend,
                    "acme",
                    &selector("user:mia"),
                    Some(&key("site:2")),
                    &[],
                    3,
                )
                .await
                .unwrap();
            common::refused(
                &store,
                "ESCALATION_DENIED",
                admin.put_member(&user("mia"), "acme", "dave", 4),
            )
            .await;
            // root holds everything: the same write goes through.
            admin
                .put_member(&user("root"), "acme", "dave", 4)
                .await
                .unwrap();
            store.close().await;
        }
    }
);

both_backends!(
    group_nesting_and_default_flags_manage_every_user_they_move,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate_up().await.unwrap();
            let admin = side_doors(&store).await;
            let mia = user("mia");
            let night = tessera_core::Member::Group("night".to_owned());
            // bob (ADMIN) reaches ops through night; mia may not manage him.
            common::refused(
                &store,
                "ESCALATION_DENIED",
                admin.delete_group_member(&mia, "acme", "ops", &night, 3),
            )
            .await;
            common::refused(
                &store,
                "ESCALATION_DENIED",
                admin.put_group_member(&mia, "acme", "techs", &night, 3),
            )
            .await;
            // A second default group makes the first one's flag clearable;
            // the members with no explicit group (vic, an ADMIN) move.
            admin
                .create_group(&Actor::Backend, "acme", Some("all"), "All", true, 3)
                .await
                .unwrap();
            admin
                .create_group(
                    &Actor::Backend,
                    "acme",
                    Some("everybody"),
                    "Everybody",
                    true,
                    3,
                )
                .await
                .unwrap();
            common::refused(
                &store,
                "ESCALATION_DENIED",
                admin.update_group(&mia, "acme", "all", None, Some(false), 4),
            )
            .await;
            admin
                .update_group(&user("root"), "acme", "all", None, Some(false), 4)
                .await
                .unwrap();
            // Checked after the change too: dave (holding nothing) in `y`,
            // and `y` nested into `x`, which holds mia's own role, would
            // make dave her peer, which only a role manager may.
            let backend = Actor::Backend;
            admin.put_member(&backend, "acme", "dave", 5).await.unwrap();
            let people = admin
                .list_roles(&backend, "acme")
                .await
                .unwrap()
                .into_iter()
                .find(|role| role.name == "People")
                .unwrap();
            for (id, name) in [("x", "X"), ("y", "Y")] {
                admin
                    .create_group(&backend, "acme", Some(id), name, false, 5)
                    .await
                    .unwrap();
            }
            let x: tessera_core::Subject = "group:x".parse().unwrap();
            admin
                .create_assignment(&backend, "acme", &x, &people.id, None, false, 5)
                .await
                .unwrap();
            let dave = tessera_core::Member::User("dave".to_owned());
            admin
                .put_group_member(&mia, "acme", "y", &dave, 6)
                .await
                .unwrap();
            let y = tessera_core::Member::Group("y".to_owned());
            let err = common::refused(
                &store,
                "ESCALATION_DENIED",
                admin.put_group_member(&mia, "acme", "x", &y, 6),
            )
            .await;
            assert!(
                err.to_string().contains("`dave` holds as much as you do"),
                "{err}"
            );
            store.close().await;
        }
    }
);

both_backends!(
    user_caps_and_hidden_entries_manage_the_user_they_name,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate_up().await.unwrap();
            let admin = side_doors(&store).await;
            // vic (ADMIN) holds manage_access but not sam's keys, and is bob's
            // peer without manage_roles.
            let vic = user("vic");
            for target in ["sam", "bob"] {
                let named = selector(&format!("user:{target}"));
                common::refused(
                    &store,
                    "ESCALATION_DENIED",
                    admin.create_cap(&vic, "acme", &named, None, &[], 3),
                )
                .await;
                common::refused(
                    &store,
                    "ESCALATION_DENIED",
                    admin.create_hidden(&vic, "acme", &named, &key("miner:11"), 3),
                )
                .await;
            }
            // carol holds less than vic: a cap on her is vic's to set.
            admin
                .create_cap(
                    &vic,
                    "acme",
                    &selector("user:carol"),
                    None,
                    &["fleet:read".to_owned()],
                    3,
                )
                .await
                .unwrap();
            store.close().await;
        }
    }
);

both_backends!(
    an_actor_may_not_leave_a_guarded_role_without_an_effective_holder,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate_up().await.unwrap();
            let admin = side_doors(&store).await;
            let backend = Actor::Backend;
            // sam is the only SUPER_ADMIN holder: vic (manage_access) may
            // not cap every member to nothing at the root.
            common::refused(
                &store,
                "LAST_GUARDED_ASSIGNMENT",
                admin.create_cap(&user("vic"), "acme", &selector("members"), None, &[], 3),
            )
            .await;
            // A cap below the root narrows no org-root set.
            admin
                .create_cap(
                    &user("vic"),
                    "acme",
                    &selector("members"),
                    Some(&key("site:2")),
                    &[],
                    3,
                )
                .await
                .unwrap();
            // Nor may a membership put him under such a cap: ann, who holds
            // every key through a custom role, may manage sam, but not put
            // him into `lock`, capped to nothing at the root.
            let every: Vec<String> = admin
                .list_roles(&backend, "acme")
                .await
                .unwrap()
                .into_iter()
                .find(|role| role.id == "SUPER_ADMIN")
                .unwrap()
                .permissions;
            let owner = admin
                .create_role(&backend, "acme", "Owner", &every, 3)
                .await
                .unwrap();
            let ann = UserUpdate {
                name: Some("Ann".to_owned()),
                ..UserUpdate::default()
            };
            admin.put_user(&backend, "ann", &ann, 3).await.unwrap();
            admin.put_member(&backend, "acme", "ann", 3).await.unwrap();
            let ann_subject: tessera_core::Subject = "user:ann".parse().unwrap();
            admin
                .create_assignment(&backend, "acme", &ann_subject, &owner.id, None, false, 3)
                .await
                .unwrap();
            admin
                .create_group(&backend, "acme", Some("lock"), "Lock", false, 3)
                .await
                .unwrap();
            admin
                .create_cap(&backend, "acme", &selector("group:lock"), None, &[], 3)
                .await
                .unwrap();
            let sam = tessera_core::Member::User("sam".to_owned());
            common::refused(
                &store,
                "LAST_GUARDED_ASSIGNMENT",
                admin.put_group_member(&user("ann"), "acme", "lock", &sam, 4),
            )
            .await;
            // The backend and superusers may: a maintenance window is a root
            // cap on everyone (docs/model.md §1.9).
            admin
                .create_cap(
                    &backend,
                    "acme",
                    &selector("everyone"),
                    None,
                    &["fleet:read".to_owned()],
                    4,
                )
                .await
                .unwrap();
            admin
                .put_group_member(&user("root"), "acme", "lock", &sam, 4)
                .await
                .unwrap();
            store.close().await;
        }
    }
);

both_backends!(
    writes_over_an_org_quota_are_refused_and_write_nothing,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate_up().await.unwrap();
            let backend = Actor::Backend;
            let count = |sql: &'static str| {
                let store = store.clone();
                async move {
                    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(store.pool()).await.unwrap();
                    u64::try_from(n).unwrap()
                }
            };
            let admin = setup(&store, FLEET).await;
            // Room for exactly one more of each.
            let quotas = tessera_host::Quotas {
                nodes: count("SELECT COUNT(*) FROM nodes WHERE org_id = 'acme'").await + 1,
                groups: count("SELECT COUNT(*) FROM groups WHERE org_id = 'acme'").await + 1,
                assignments: count("SELECT COUNT(*) FROM assignments WHERE org_id = 'acme'").await
                    + 1,
                caps: count("SELECT COUNT(*) FROM caps WHERE org_id = 'acme'").await + 1,
                hidden: count("SELECT COUNT(*) FROM hidden WHERE org_id = 'acme'").await + 1,
                under_roots: 1,
                preview_principals: 1,
            };
            let admin = admin.with_quotas(quotas);
            admin
                .put_node(&backend, "acme", &key("site:1"), None, 2)
                .await
                .unwrap();
            let over = common::refused(
                &store,
                "QUOTA_EXCEEDED",
                admin.put_node(&backend, "acme", &key("site:2"), None, 3),
            )
            .await;
            assert!(
                matches!(over, AdminError::QuotaExceeded { quota: "nodes", .. }),
                "{over:?}"
            );
            // Re-registering an existing node adds nothing: not refused.
            admin
                .put_node(&backend, "acme", &key("site:1"), None, 3)
                .await
                .unwrap();
            admin
                .create_group(&backend, "acme", Some("g1"), "G1", false, 3)
                .await
                .unwrap();
            common::refused(
                &store,
                "QUOTA_EXCEEDED",
                admin.create_group(&backend, "acme", Some("g2"), "G2", false, 4),
            )
            .await;
            let carol: tessera_core::Subject = "user:carol".parse().unwrap();
            admin
                .create_assignment(
                    &backend,
                    "acme",
                    &carol,
                    "ADMIN",
                    Some(&key("site:1")),
                    false,
                    4,
                )
                .await
                .unwrap();
            common::refused(
                &store,
                "QUOTA_EXCEEDED",
                admin.create_assignment(&backend, "acme", &carol, "ADMIN", None, true, 5),
            )
            .await;
            admin
                .create_cap(
                    &backend,
                    "acme",
                    &selector("members"),
                    Some(&key("site:1")),
                    &[],
                    5,
                )
                .await
                .unwrap();
            common::refused(
                &store,
                "QUOTA_EXCEEDED",
                admin.create_cap(
                    &backend,
                    "acme",
                    &selector("everyone"),
                    Some(&key("site:1")),
                    &[],
                    6,
                ),
            )
            .await;
            // Each org counts its own rows.
            admin
                .put_node(&backend, "beta", &key("site:1"), None, 6)
                .await
                .unwrap();
            let err = admin
                .put_node(&backend, "beta", &key("site:2"), None, 6)
                .await
                .unwrap_err();
            assert_eq!(err.code(), "QUOTA_EXCEEDED");
            admin
                .put_node(&backend, "acme", &key("rack:7"), Some(&key("site:1")), 6)
                .await
                .unwrap_err();
            let quotas = tessera_host::Quotas {
                nodes: quotas.nodes + 2,
                ..quotas
            };
            let admin = admin.with_quotas(quotas);
            admin
                .put_node(&backend, "acme", &key("rack:7"), Some(&key("site:1")), 6)
                .await
                .unwrap();
            admin
                .put_node(&backend, "acme", &key("miner:7"), Some(&key("rack:7")), 6)
                .await
                .unwrap();
            admin
                .create_hidden(&backend, "acme", &selector("members"), &key("miner:7"), 6)
                .await
                .unwrap();
            common::refused(
                &store,
                "QUOTA_EXCEEDED",
                admin.create_hidden(&backend, "acme", &selector("everyone"), &key("miner:7"), 7),
            )
            .await;
            store.close().await;
        }
    }
);
