//! Admin writes for groups, default groups and nested membership on both
//! databases: each error code is provoked and nothing changes (no row, no
//! audit entry, no revision bump); successful writes leave one audit row
//! and bump the org once.

use crate::common::{self, named, user};

use sqlx::Executor;
use tessera_core::Member;
use tessera_host::{Actor, Admin, Store};

fn member_user(id: &str) -> Member {
    Member::User(id.to_owned())
}

fn member_group(id: &str) -> Member {
    Member::Group(id.to_owned())
}

/// An org `acme` with: root (superuser), alice (SUPER_ADMIN at the root),
/// bob (ADMIN), carol (FIELD_TECH), dave (a custom role with user:read and
/// user:manage), erin (a user, member only when a test says so), and the
/// groups `ops` (holds ADMIN at the root) and `social` (holds nothing).
async fn setup(store: &Store) -> Admin {
    let admin = common::acme(store).await;
    let backend = Actor::Backend;
    for id in ["alice", "bob", "carol", "dave", "erin"] {
        admin.put_user(&backend, id, &named(id), 1).await.unwrap();
    }
    for id in ["alice", "bob", "carol", "dave"] {
        admin.put_member(&backend, "acme", id, 1).await.unwrap();
    }
    for (id, name) in [("ops", "Ops"), ("social", "Social")] {
        admin
            .create_group(&backend, "acme", Some(id), name, false, 1)
            .await
            .unwrap();
    }
    let sql = [
        "INSERT INTO roles (org_id, id, name, name_key, builtin, mode) VALUES ('acme', 'people', 'People', 'people', NULL, 'custom')",
        "INSERT INTO role_permissions (org_id, role_id, permission) VALUES ('acme', 'people', 'user:read'), ('acme', 'people', 'user:manage')",
        "INSERT INTO assignments (org_id, id, subject, subject_user, subject_group, role_id, scope_key, created_at) VALUES
           ('acme', 'a1', 'user:alice', 'alice', NULL, 'SUPER_ADMIN', '', 1),
           ('acme', 'a2', 'user:bob', 'bob', NULL, 'ADMIN', '', 1),
           ('acme', 'a3', 'user:carol', 'carol', NULL, 'FIELD_TECH', '', 1),
           ('acme', 'a4', 'user:dave', 'dave', NULL, 'people', '', 1),
           ('acme', 'a5', 'group:ops', NULL, 'ops', 'ADMIN', '', 1)",
    ];
    for statement in sql {
        store.pool().execute(statement).await.unwrap();
    }
    admin
}

async fn memberships(store: &Store, group: &str) -> Vec<(Option<String>, Option<String>)> {
    sqlx::query_as(
        "SELECT member_user, member_group FROM group_members WHERE org_id = 'acme' AND group_id = $1
          ORDER BY member_user, member_group",
    )
    .bind(group)
    .fetch_all(store.pool())
    .await
    .unwrap()
}

both_backends!(groups_and_defaults, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate_up().await.unwrap();
        let admin = setup(&store).await;
        let backend = Actor::Backend;

        // Names collide ignoring case and surrounding whitespace.
        common::refused(
            &store,
            "NAME_TAKEN",
            admin.create_group(&backend, "acme", Some("crew"), "  MEMBERS ", false, 2),
        )
        .await;
        common::refused(
            &store,
            "NAME_TAKEN",
            admin.update_group(&backend, "acme", "social", Some(" ops"), None, 2),
        )
        .await;
        common::refused(
            &store,
            "NAME_TAKEN",
            admin.create_group(&backend, "acme", Some("ops"), "Other", false, 2),
        )
        .await;
        common::refused(
            &store,
            "BAD_REQUEST",
            admin.create_group(&backend, "acme", Some("bad id"), "Bad", false, 2),
        )
        .await;
        common::refused(
            &store,
            "BAD_REQUEST",
            admin.create_group(&backend, "acme", Some("blank"), "   ", false, 2),
        )
        .await;
        common::refused(
            &store,
            "RESERVED_GROUP",
            admin.create_group(&backend, "acme", Some("admin"), "Admins", false, 2),
        )
        .await;

        // The reserved `admin` group: no default, no stored members, no delete.
        common::refused(
            &store,
            "RESERVED_GROUP",
            admin.update_group(&backend, "acme", "admin", None, Some(true), 2),
        )
        .await;
        common::refused(
            &store,
            "RESERVED_GROUP",
            admin.put_group_member(&backend, "acme", "admin", &member_user("alice"), 2),
        )
        .await;
        common::refused(
            &store,
            "RESERVED_GROUP",
            admin.delete_group_member(&backend, "acme", "admin", &member_user("alice"), 2),
        )
        .await;
        common::refused(
            &store,
            "RESERVED_GROUP",
            admin.put_group_member(&backend, "acme", "@everyone", &member_user("alice"), 2),
        )
        .await;
        common::refused(
            &store,
            "RESERVED_GROUP",
            admin.delete_group(&backend, "acme", "admin", 2),
        )
        .await;

        // The last default group stays.
        common::refused(
            &store,
            "LAST_DEFAULT_GROUP",
            admin.update_group(&backend, "acme", "members", None, Some(false), 2),
        )
        .await;
        common::refused(
            &store,
            "LAST_DEFAULT_GROUP",
            admin.delete_group(&backend, "acme", "members", 2),
        )
        .await;

        // FIELD_TECH and ADMIN lack user:manage.
        common::refused(
            &store,
            "FORBIDDEN",
            admin.create_group(&user("carol"), "acme", Some("crew"), "Crew", false, 2),
        )
        .await;
        common::refused(
            &store,
            "FORBIDDEN",
            admin.put_group_member(&user("carol"), "acme", "social", &member_user("carol"), 2),
        )
        .await;
        common::refused(
            &store,
            "FORBIDDEN",
            admin.delete_group(&user("bob"), "acme", "social", 2),
        )
        .await;

        // Success: one bump, one audit row; a generated id; a rename.
        let crew = common::one_write(
            &store,
            admin.create_group(&user("dave"), "acme", None, " Crew ", false, 3),
        )
        .await;
        assert!(crew.id.starts_with("g-"), "{}", crew.id);
        assert_eq!(crew.name, "Crew");
        let renamed = common::one_write(
            &store,
            admin.update_group(&user("dave"), "acme", &crew.id, Some("CREW"), None, 3),
        )
        .await;
        assert_eq!(renamed.name, "CREW");
        // Unchanged updates write nothing.
        let before = common::state(&store).await;
        admin
            .update_group(
                &user("dave"),
                "acme",
                &crew.id,
                Some("CREW"),
                Some(false),
                3,
            )
            .await
            .unwrap();
        assert_eq!(common::state(&store).await, before);

        // A second default group lets `members` stop being one.
        common::one_write(
            &store,
            admin.update_group(&backend, "acme", "social", None, Some(true), 4),
        )
        .await;
        common::one_write(
            &store,
            admin.update_group(&backend, "acme", "members", None, Some(false), 4),
        )
        .await;
        common::refused(
            &store,
            "LAST_DEFAULT_GROUP",
            admin.delete_group(&backend, "acme", "social", 4),
        )
        .await;
        common::one_write(
            &store,
            admin.delete_group(&user("dave"), "acme", &crew.id, 5),
        )
        .await;
        let groups = admin.list_groups(&Actor::Backend, "acme").await.unwrap();
        let ids: Vec<(&str, bool)> = groups
            .iter()
            .map(|group| (group.id.as_str(), group.default))
            .collect();
        assert_eq!(
            ids,
            [
                ("admin", false),
                ("members", false),
                ("ops", false),
                ("social", true)
            ]
        );
        common::refused(
            &store,
            "NOT_FOUND",
            admin.list_groups(&Actor::Backend, "nope"),
        )
        .await;
        store.close().await;
    }
});

both_backends!(membership_cycles_and_use, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate_up().await.unwrap();
        let admin = setup(&store).await;
        let backend = Actor::Backend;
        for id in ["a", "b"] {
            admin
                .create_group(&backend, "acme", Some(id), id, false, 2)
                .await
                .unwrap();
        }
        // Another org's group is not found in acme, and the schema agrees.
        admin
            .create_org(&user("root"), "beta", "Beta", 2)
            .await
            .unwrap();
        admin
            .create_group(&backend, "beta", Some("outsiders"), "Outsiders", false, 2)
            .await
            .unwrap();
        common::refused(
            &store,
            "NOT_FOUND",
            admin.put_group_member(&backend, "acme", "outsiders", &member_user("alice"), 3),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.put_group_member(&backend, "acme", "a", &member_group("outsiders"), 3),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.delete_group(&backend, "acme", "outsiders", 3),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.update_group(&backend, "acme", "outsiders", Some("Mine"), None, 3),
        )
        .await;
        let raw = store
            .pool()
            .execute("INSERT INTO group_members (org_id, group_id, member_group) VALUES ('acme', 'a', 'outsiders')")
            .await;
        assert!(raw.is_err(), "the schema refuses a cross-org membership");
        // Unknown groups and users who are not members of the org.
        common::refused(
            &store,
            "NOT_FOUND",
            admin.put_group_member(&backend, "acme", "nope", &member_user("alice"), 3),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.delete_group(&backend, "acme", "nope", 3),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.put_group_member(&backend, "acme", "a", &member_user("erin"), 3),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.put_group_member(&backend, "acme", "a", &member_user("nobody"), 3),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.delete_group_member(&backend, "acme", "a", &member_user("alice"), 3),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.put_group_member(&backend, "nope", "a", &member_user("alice"), 3),
        )
        .await;

        // Cycles: a contains b; b may not contain a; nobody contains itself.
        common::one_write(
            &store,
            admin.put_group_member(&backend, "acme", "a", &member_group("b"), 4),
        )
        .await;
        common::refused(
            &store,
            "GROUP_CYCLE",
            admin.put_group_member(&backend, "acme", "b", &member_group("a"), 4),
        )
        .await;
        common::refused(
            &store,
            "GROUP_CYCLE",
            admin.put_group_member(&backend, "acme", "a", &member_group("a"), 4),
        )
        .await;
        // c in b in a: a into c closes a longer loop.
        admin
            .create_group(&backend, "acme", Some("c"), "c", false, 4)
            .await
            .unwrap();
        admin
            .put_group_member(&backend, "acme", "b", &member_group("c"), 4)
            .await
            .unwrap();
        common::refused(
            &store,
            "GROUP_CYCLE",
            admin.put_group_member(&backend, "acme", "c", &member_group("a"), 4),
        )
        .await;
        // Re-adding is a no-op.
        let before = common::state(&store).await;
        admin
            .put_group_member(&backend, "acme", "a", &member_group("b"), 4)
            .await
            .unwrap();
        assert_eq!(common::state(&store).await, before);

        // In use: nested in another group, or named by an assignment or a cap.
        common::refused(
            &store,
            "GROUP_IN_USE",
            admin.delete_group(&backend, "acme", "b", 5),
        )
        .await;
        common::refused(
            &store,
            "GROUP_IN_USE",
            admin.delete_group(&backend, "acme", "ops", 5),
        )
        .await;
        store
            .pool()
            .execute("INSERT INTO caps (org_id, id, selector, selector_group, allow) VALUES ('acme', 'c1', 'not_group:social', 'social', '[\"fleet:read\"]')")
            .await
            .unwrap();
        common::refused(
            &store,
            "GROUP_IN_USE",
            admin.delete_group(&backend, "acme", "social", 5),
        )
        .await;
        // Deleting a group takes its own membership rows (b nested in it).
        admin
            .put_group_member(&backend, "acme", "a", &member_user("alice"), 5)
            .await
            .unwrap();
        common::one_write(&store, admin.delete_group(&backend, "acme", "a", 5)).await;
        assert!(memberships(&store, "a").await.is_empty());
        admin
            .delete_group(&backend, "acme", "c", 5)
            .await
            .unwrap_err();
        common::one_write(
            &store,
            admin.delete_group_member(&backend, "acme", "b", &member_group("c"), 5),
        )
        .await;
        admin.delete_group(&backend, "acme", "c", 5).await.unwrap();

        // Removing a member from the org removes its group memberships.
        admin.put_member(&backend, "acme", "erin", 6).await.unwrap();
        admin
            .put_group_member(&backend, "acme", "b", &member_user("erin"), 6)
            .await
            .unwrap();
        assert_eq!(
            memberships(&store, "b").await,
            [(Some("erin".to_owned()), None)]
        );
        admin
            .delete_member(&backend, "acme", "erin", 6)
            .await
            .unwrap();
        assert!(memberships(&store, "b").await.is_empty());
        store.close().await;
    }
});

both_backends!(escalation_through_groups, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate_up().await.unwrap();
        let admin = setup(&store).await;
        let backend = Actor::Backend;
        let dave = user("dave");
        admin.put_member(&backend, "acme", "erin", 2).await.unwrap();
        admin
            .create_group(&backend, "acme", Some("crew"), "Crew", false, 2)
            .await
            .unwrap();

        // `ops` holds ADMIN at the root, which dave (user:read,
        // user:manage) does not hold: adding himself or erin, nesting a
        // group in it, or making it default are all refused.
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.put_group_member(&dave, "acme", "ops", &member_user("dave"), 3),
        )
        .await;
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.put_group_member(&dave, "acme", "ops", &member_user("erin"), 3),
        )
        .await;
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.put_group_member(&dave, "acme", "ops", &member_group("crew"), 3),
        )
        .await;
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.update_group(&dave, "acme", "ops", None, Some(true), 3),
        )
        .await;
        // Transitively: crew inside ops holds ADMIN through it.
        admin
            .put_group_member(&backend, "acme", "ops", &member_group("crew"), 3)
            .await
            .unwrap();
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.put_group_member(&dave, "acme", "crew", &member_user("dave"), 3),
        )
        .await;
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.update_group(&dave, "acme", "crew", None, Some(true), 3),
        )
        .await;
        // Managing another user: bob holds far more than dave.
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.put_group_member(&dave, "acme", "social", &member_user("bob"), 3),
        )
        .await;

        // A cap for everyone outside `social` at site:1: joining `social`
        // lifts it, which needs every key it withholds there.
        let sql = [
            "INSERT INTO nodes (org_id, type, id) VALUES ('acme', 'site', '1')",
            "INSERT INTO nodes (org_id, type, id, parent_type, parent_id) VALUES ('acme', 'miner', '9', 'site', '1')",
            "INSERT INTO caps (org_id, id, selector, selector_group, scope_type, scope_id, allow) VALUES ('acme', 'c1', 'not_group:social', 'social', 'site', '1', '[\"fleet:read\"]')",
            "INSERT INTO hidden (org_id, id, selector, selector_group, node_type, node_id) VALUES ('acme', 'h1', 'group:social', 'social', 'miner', '9')",
        ];
        for statement in sql {
            store.pool().execute(statement).await.unwrap();
        }
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.put_group_member(&dave, "acme", "social", &member_user("dave"), 4),
        )
        .await;
        // Leaving `social` lifts the hidden entry on miner:9, which is
        // hidden from dave himself once he is in it.
        admin
            .put_group_member(&backend, "acme", "social", &member_user("dave"), 4)
            .await
            .unwrap();
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.delete_group_member(&dave, "acme", "social", &member_user("dave"), 4),
        )
        .await;
        // alice (SUPER_ADMIN) may do all of it.
        common::one_write(
            &store,
            admin.delete_group_member(&user("alice"), "acme", "social", &member_user("dave"), 5),
        )
        .await;
        common::one_write(
            &store,
            admin.put_group_member(&user("alice"), "acme", "ops", &member_user("erin"), 5),
        )
        .await;

        // What dave may do: put erin in a group that holds nothing he lacks.
        store
            .pool()
            .execute("DELETE FROM caps WHERE id = 'c1'")
            .await
            .unwrap();
        admin
            .create_group(&backend, "acme", Some("book"), "Book club", false, 6)
            .await
            .unwrap();
        admin
            .put_user(&backend, "frank", &named("Frank"), 6)
            .await
            .unwrap();
        admin
            .put_member(&backend, "acme", "frank", 6)
            .await
            .unwrap();
        common::one_write(
            &store,
            admin.put_group_member(&dave, "acme", "book", &member_user("frank"), 7),
        )
        .await;
        common::one_write(
            &store,
            admin.put_group_member(&dave, "acme", "book", &member_user("dave"), 7),
        )
        .await;
        common::one_write(
            &store,
            admin.update_group(&dave, "acme", "book", None, Some(true), 7),
        )
        .await;
        common::one_write(
            &store,
            admin.delete_group_member(&dave, "acme", "book", &member_user("frank"), 7),
        )
        .await;
        store.close().await;
    }
});
