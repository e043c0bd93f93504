//! Admin writes for orgs, users, members and settings on both databases:
//! each error code is provoked and nothing changes (no row, no audit entry,
//! no revision bump); successful writes leave one audit row and bump.

use crate::common::{self, named, user};

use sqlx::Executor;
use tessera_host::{Actor, Admin, Store, UserUpdate};

/// An org `acme` with: root (superuser), alice (SUPER_ADMIN at the root),
/// bob (ADMIN), carol (FIELD_TECH), dave (a custom role with user:manage).
async fn setup(store: &Store) -> Admin {
    let admin = common::acme(store).await;
    let backend = Actor::Backend;
    for id in ["alice", "bob", "carol", "dave", "erin"] {
        admin.put_user(&backend, id, &named(id), 1).await.unwrap();
    }
    for id in ["alice", "bob", "carol", "dave"] {
        admin.put_member(&backend, "acme", id, 1).await.unwrap();
    }
    let sql = [
        "INSERT INTO roles (org_id, id, name, name_key, builtin, mode) VALUES ('acme', 'people', 'People', 'people', NULL, 'custom')",
        "INSERT INTO role_permissions (org_id, role_id, permission) VALUES ('acme', 'people', 'user:read'), ('acme', 'people', 'user:manage')",
        "INSERT INTO assignments (org_id, id, subject, subject_user, role_id, scope_key, created_at) VALUES
           ('acme', 'a1', 'user:alice', 'alice', 'SUPER_ADMIN', '', 1),
           ('acme', 'a2', 'user:bob', 'bob', 'ADMIN', '', 1),
           ('acme', 'a3', 'user:carol', 'carol', 'FIELD_TECH', '', 1),
           ('acme', 'a4', 'user:dave', 'dave', 'people', '', 1)",
    ];
    for statement in sql {
        store.pool().execute(statement).await.unwrap();
    }
    admin
}

both_backends!(orgs_and_users, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate_up().await.unwrap();
        let admin = setup(&store).await;
        let (groups,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM groups WHERE org_id = 'acme' AND id IN ('admin', 'members')",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(groups, 2);
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.create_org(&user("alice"), "beta", "Beta", 2),
        )
        .await;
        common::refused(
            &store,
            "NAME_TAKEN",
            admin.create_org(&Actor::Backend, "acme", "Acme", 2),
        )
        .await;
        common::refused(
            &store,
            "BAD_REQUEST",
            admin.create_org(&Actor::Backend, "bad id", "x", 2),
        )
        .await;
        common::refused(
            &store,
            "BAD_REQUEST",
            admin.put_user(&Actor::Backend, "anonymous", &named("x"), 2),
        )
        .await;
        common::refused(
            &store,
            "BAD_REQUEST",
            admin.put_user(&Actor::Backend, "newbie", &UserUpdate::default(), 2),
        )
        .await;
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.put_user(
                &user("alice"),
                "erin",
                &UserUpdate {
                    superuser: Some(true),
                    ..named("Erin")
                },
                2,
            ),
        )
        .await;
        let demote = UserUpdate {
            superuser: Some(false),
            ..UserUpdate::default()
        };
        common::refused(
            &store,
            "LAST_SUPERUSER",
            admin.put_user(&Actor::Backend, "root", &demote, 2),
        )
        .await;
        let deactivate = UserUpdate {
            active: Some(false),
            ..UserUpdate::default()
        };
        common::refused(
            &store,
            "LAST_SUPERUSER",
            admin.put_user(&user("root"), "root", &deactivate, 2),
        )
        .await;
        // alice is acme's only active direct org-root SUPER_ADMIN (guarded).
        common::refused(
            &store,
            "LAST_GUARDED_ASSIGNMENT",
            admin.put_user(&Actor::Backend, "alice", &deactivate, 2),
        )
        .await;
        // Only a superuser makes a superuser; then the first can step down.
        let before = common::state(&store).await;
        let (before_revision, before_audit) =
            (common::counter(&before, 0), common::counter(&before, 1));
        admin
            .put_user(
                &user("root"),
                "erin",
                &UserUpdate {
                    superuser: Some(true),
                    ..named("Erin")
                },
                3,
            )
            .await
            .unwrap();
        let after = common::state(&store).await;
        let (after_revision, after_audit) =
            (common::counter(&after, 0), common::counter(&after, 1));
        assert_eq!(
            (after_revision - before_revision, after_audit - before_audit),
            (1, 1),
            "one org bumped, one audit row"
        );
        admin
            .put_user(&user("erin"), "root", &demote, 4)
            .await
            .unwrap();
        store.close().await;
    }
});

both_backends!(members_and_settings, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate_up().await.unwrap();
        let admin = setup(&store).await;
        // FIELD_TECH and ADMIN lack user:manage.
        common::refused(
            &store,
            "FORBIDDEN",
            admin.put_member(&user("carol"), "acme", "erin", 2),
        )
        .await;
        common::refused(
            &store,
            "FORBIDDEN",
            admin.put_member(&user("bob"), "acme", "erin", 2),
        )
        .await;
        common::refused(
            &store,
            "FORBIDDEN",
            admin.put_member(&user("mallory"), "acme", "erin", 2),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.put_member(&Actor::Backend, "nope", "erin", 2),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.put_member(&Actor::Backend, "acme", "nobody", 2),
        )
        .await;
        // dave (user:read, user:manage) may not remove bob, who holds far more.
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.delete_member(&user("dave"), "acme", "bob", 2),
        )
        .await;
        common::refused(
            &store,
            "LAST_GUARDED_ASSIGNMENT",
            admin.delete_member(&Actor::Backend, "acme", "alice", 2),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.delete_member(&Actor::Backend, "acme", "erin", 2),
        )
        .await;
        // dave may add erin (a new member holds only what members get).
        admin
            .put_member(&user("dave"), "acme", "erin", 3)
            .await
            .unwrap();
        store
            .pool()
            .execute("INSERT INTO group_members (org_id, group_id, member_user) VALUES ('acme', 'members', 'erin')")
            .await
            .unwrap();
        // Removing carol removes her assignment and memberships with her.
        admin
            .delete_member(&user("alice"), "acme", "carol", 4)
            .await
            .unwrap();
        let (left,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM assignments WHERE subject_user = 'carol'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(left, 0);
        admin
            .delete_member(&user("alice"), "acme", "erin", 5)
            .await
            .unwrap();
        let (left,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM group_members WHERE member_user = 'erin'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(left, 0);
        // Settings: site:manage gates them; carol is gone, bob (ADMIN) has it.
        common::refused(
            &store,
            "FORBIDDEN",
            admin.put_settings(&user("dave"), "acme", true, 6),
        )
        .await;
        let before = common::state(&store).await;
        let (revision, audits) = (common::counter(&before, 0), common::counter(&before, 1));
        admin
            .put_settings(&user("bob"), "acme", true, 6)
            .await
            .unwrap();
        assert_eq!(
            common::counter(&common::state(&store).await, 0),
            revision + 1
        );
        assert_eq!(common::counter(&common::state(&store).await, 1), audits + 1);
        let (kiosk,): (i64,) = sqlx::query_as("SELECT kiosk FROM orgs WHERE id = 'acme'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(kiosk, 1);
        store.close().await;
    }
});

both_backends!(peers_need_manage_roles, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate_up().await.unwrap();
        let admin = setup(&store).await;
        let backend = Actor::Backend;
        for id in ["pete", "hana", "hugo"] {
            admin.put_user(&backend, id, &named(id), 2).await.unwrap();
            admin.put_member(&backend, "acme", id, 2).await.unwrap();
        }
        let sql = [
            "INSERT INTO roles (org_id, id, name, name_key, builtin, mode) VALUES ('acme', 'hr', 'HR', 'hr', NULL, 'custom')",
            "INSERT INTO role_permissions (org_id, role_id, permission) VALUES ('acme', 'hr', 'user:read'), ('acme', 'hr', 'user:manage'), ('acme', 'hr', 'role:read'), ('acme', 'hr', 'role:manage')",
            "INSERT INTO assignments (org_id, id, subject, subject_user, role_id, scope_key, created_at) VALUES
               ('acme', 'p1', 'user:pete', 'pete', 'people', '', 1),
               ('acme', 'h1', 'user:hana', 'hana', 'hr', '', 1),
               ('acme', 'h2', 'user:hugo', 'hugo', 'hr', '', 1)",
        ];
        for statement in sql {
            store.pool().execute(statement).await.unwrap();
        }
        // dave and pete hold the same org-root set; neither holds role:manage.
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.delete_member(&user("dave"), "acme", "pete", 3),
        )
        .await;
        // hana and hugo are peers too, but hold role:manage.
        admin
            .delete_member(&user("hana"), "acme", "hugo", 3)
            .await
            .unwrap();
        store.close().await;
    }
});

both_backends!(orgs_rename_and_delete, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate_up().await.unwrap();
        let admin = setup(&store).await;
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.rename_org(&user("alice"), "acme", "Acme Mining", 2),
        )
        .await;
        common::refused(
            &store,
            "BAD_REQUEST",
            admin.rename_org(&user("root"), "acme", "  ", 2),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.rename_org(&user("root"), "nope", "x", 2),
        )
        .await;
        admin
            .rename_org(&user("root"), "acme", "Acme Mining", 2)
            .await
            .unwrap();
        let (name,): (String,) = sqlx::query_as("SELECT name FROM orgs WHERE id = 'acme'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(name, "Acme Mining");
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.delete_org(&user("alice"), "acme", 3),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.delete_org(&Actor::Backend, "nope", 3),
        )
        .await;
        // Global writes bump every org without an audit row of theirs: the
        // org's last revision is above anything its own audit trail shows.
        for name in ["Zed", "Zed 2", "Zed 3"] {
            admin
                .put_user(&Actor::Backend, "zed", &named(name), 3)
                .await
                .unwrap();
        }
        let (last,): (i64,) = sqlx::query_as("SELECT revision FROM orgs WHERE id = 'acme'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        admin.delete_org(&user("root"), "acme", 3).await.unwrap();
        for table in [
            "orgs",
            "members",
            "groups",
            "roles",
            "assignments",
            "role_permissions",
        ] {
            let (left,): (i64,) =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(store.pool())
                    .await
                    .unwrap();
            assert_eq!(left, 0, "{table} keeps rows of a deleted org");
        }
        let (audits,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM audit WHERE action = 'org.delete'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(audits, 1, "the audit trail outlives the org");
        // The id can be reused: the new org starts above the old revisions
        // (nothing cached for the old one is served) and sees only its own trail.
        let old_revision = common::counter(&common::state(&store).await, 0);
        assert_eq!(old_revision, 0, "no org left");
        admin
            .create_org(&user("root"), "acme", "Acme again", 4)
            .await
            .unwrap();
        let (revision,): (i64,) = sqlx::query_as("SELECT revision FROM orgs WHERE id = 'acme'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let (highest,): (i64,) = sqlx::query_as("SELECT CAST(MAX(revision) AS BIGINT) FROM audit WHERE org_id = 'acme' AND action <> 'org.create'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert!(revision > highest, "{revision} <= {highest}");
        assert!(
            revision > last,
            "{revision} <= {last}: the old org's snapshots would serve"
        );
        let trail = admin.audit(&Actor::Backend, "acme", 0).await.unwrap();
        assert_eq!(
            trail
                .iter()
                .map(|row| row.action.as_str())
                .collect::<Vec<_>>(),
            vec!["org.create"]
        );
        store.close().await;
    }
});

/// Concurrent demotions of the only two superusers: the check and the write
/// are one locked transaction, so exactly one succeeds.
#[tokio::test]
async fn concurrent_demotions_keep_a_superuser_on_postgres() {
    let db = common::TestDb::new(tessera_host::Backend::Postgres).await;
    let store = db.store().await;
    let admin = setup(&store).await;
    let backend = Actor::Backend;
    let promote = UserUpdate {
        superuser: Some(true),
        ..UserUpdate::default()
    };
    admin.put_user(&backend, "erin", &promote, 2).await.unwrap();
    let demote = UserUpdate {
        superuser: Some(false),
        ..UserUpdate::default()
    };
    let (first, second) = tokio::join!(
        admin.put_user(&backend, "root", &demote, 3),
        admin.put_user(&backend, "erin", &demote, 3),
    );
    let refused: Vec<&str> = [&first, &second]
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|e| e.code().as_str())
        .collect();
    assert_eq!(refused, vec!["LAST_SUPERUSER"], "{first:?} {second:?}");
    let (left,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM users WHERE superuser = 1 AND active = 1")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(left, 1);
    store.close().await;
    drop(db);
}

both_backends!(
    joining_the_org_joins_the_default_groups,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate_up().await.unwrap();
            let admin = setup(&store).await;
            // The default group `members` holds FIELD_TECH at site 1 (not at the
            // root, where comparing org-root sets would see it); dave is
            // in an explicit group, so he does not fall back to it and lacks it:
            // he may not add a member, who would get it.
            let sql = [
                "INSERT INTO groups (org_id, id, name, name_key, is_default) VALUES ('acme', 'hr', 'HR', 'hr', 0)",
                "INSERT INTO group_members (org_id, group_id, member_user) VALUES ('acme', 'hr', 'dave')",
                "INSERT INTO nodes (org_id, type, id) VALUES ('acme', 'site', '1')",
                "INSERT INTO assignments (org_id, id, subject, subject_group, role_id, scope_type, scope_id, scope_key, created_at) VALUES ('acme', 'd1', 'group:members', 'members', 'FIELD_TECH', 'site', '1', 'site:1', 1)",
            ];
            for statement in sql {
                store.pool().execute(statement).await.unwrap();
            }
            common::refused(
                &store,
                "ESCALATION_DENIED",
                admin.put_member(&user("dave"), "acme", "erin", 2),
            )
            .await;
            admin
                .put_member(&user("alice"), "acme", "erin", 2)
                .await
                .unwrap();
            store.close().await;
        }
    }
);
