//! Admin writes for roles and assignments on both databases: each error
//! code is provoked and nothing changes (no row, no audit entry, no
//! revision bump); successful writes leave one audit row and bump the org
//! once.

use crate::common::{self, named, user};

use sqlx::Executor;
use tessera_core::{NodeKey, Subject};
use tessera_host::{Actor, Admin, Store, UserUpdate};

async fn last_audit(store: &Store) -> (Option<String>, Option<String>, String, String) {
    sqlx::query_as("SELECT org_id, actor, action, target FROM audit ORDER BY id DESC LIMIT 1")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

fn keys(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|key| (*key).to_owned()).collect()
}

fn node(text: &str) -> NodeKey {
    text.parse().unwrap()
}

fn subject(text: &str) -> Subject {
    text.parse().unwrap()
}

/// Role ids created by `setup`.
struct Fixture {
    admin: Admin,
    /// user:read + user:manage.
    people: String,
    /// role:read, role:manage, user:read, user:manage.
    ops: String,
    /// role:read, role:manage (assigned to gina at site:s1 only).
    sitemgr: String,
    /// user:read.
    readers: String,
    /// Empty.
    nothing: String,
    /// A role of org `beta`.
    beta_role: String,
}

/// Org `acme` (nodes site:s1 > rack:r1, site:s2; group techs) with:
/// root (superuser), alice (SUPER_ADMIN), bob (ADMIN), carol (FIELD_TECH),
/// dave (people, and SUPER_ADMIN owner-only), frank (ops), gina (sitemgr at
/// site:s1 only), helen (people, FIELD_TECH at site:s1), ivan (nothing);
/// erin is a user but no member. Org `beta` has one custom role.
async fn setup(store: &Store) -> Fixture {
    let admin = common::acme(store).await;
    let backend = Actor::Backend;
    admin.create_org(&backend, "beta", "Beta", 1).await.unwrap();
    for id in [
        "alice", "bob", "carol", "dave", "erin", "frank", "gina", "helen", "ivan",
    ] {
        admin.put_user(&backend, id, &named(id), 1).await.unwrap();
    }
    for id in [
        "alice", "bob", "carol", "dave", "frank", "gina", "helen", "ivan",
    ] {
        admin.put_member(&backend, "acme", id, 1).await.unwrap();
    }
    let sql = [
        "INSERT INTO nodes (org_id, type, id, parent_type, parent_id) VALUES ('acme', 'site', 's1', NULL, NULL)",
        "INSERT INTO nodes (org_id, type, id, parent_type, parent_id) VALUES ('acme', 'rack', 'r1', 'site', 's1')",
        "INSERT INTO nodes (org_id, type, id, parent_type, parent_id) VALUES ('acme', 'site', 's2', NULL, NULL)",
        "INSERT INTO groups (org_id, id, name, name_key, is_default) VALUES ('acme', 'techs', 'Techs', 'techs', 0)",
    ];
    for statement in sql {
        store.pool().execute(statement).await.unwrap();
    }
    let role = |name: &'static str, permissions: &'static [&'static str]| {
        let admin = admin.clone();
        async move {
            admin
                .create_role(&Actor::Backend, "acme", name, &keys(permissions), 1)
                .await
                .unwrap()
                .id
        }
    };
    let people = role("People", &["user:read", "user:manage"]).await;
    let ops = role(
        "Ops",
        &["user:read", "user:manage", "role:read", "role:manage"],
    )
    .await;
    let sitemgr = role("Site roles", &["role:read", "role:manage"]).await;
    let readers = role("Readers", &["user:read"]).await;
    let nothing = role("Nothing", &[]).await;
    let beta_role = admin
        .create_role(&backend, "beta", "People", &keys(&["user:read"]), 1)
        .await
        .unwrap()
        .id;
    let grants: [(&str, &str, Option<&str>, bool); 9] = [
        ("user:alice", "SUPER_ADMIN", None, false),
        ("user:bob", "ADMIN", None, false),
        ("user:carol", "FIELD_TECH", None, false),
        ("user:dave", &people, None, false),
        ("user:dave", "SUPER_ADMIN", None, true),
        ("user:frank", &ops, None, false),
        ("user:gina", &sitemgr, Some("site:s1"), false),
        ("user:helen", &people, None, false),
        ("user:helen", "FIELD_TECH", Some("site:s1"), false),
    ];
    for (who, role, scope, owner_only) in grants {
        admin
            .create_assignment(
                &backend,
                "acme",
                &subject(who),
                role,
                scope.map(node).as_ref(),
                owner_only,
                1,
            )
            .await
            .unwrap();
    }
    Fixture {
        admin,
        people,
        ops,
        sitemgr,
        readers,
        nothing,
        beta_role,
    }
}

/// The id of the assignment of `role` to `who` at `scope` (plain).
async fn assignment(admin: &Admin, who: &str, role: &str, scope: Option<&str>) -> String {
    admin
        .list_assignments(&Actor::Backend, "acme")
        .await
        .unwrap()
        .into_iter()
        .find(|a| {
            a.subject.to_string() == who
                && a.role == role
                && a.scope.as_deref() == scope
                && !a.owner_only
        })
        .unwrap()
        .id
}

async fn a_role_holds_catalog_keys_closed_under_requires(db: &common::TestDb) {
    let store = connect_url(&db.url).await;
    let fx = setup(&store).await;
    let admin = &fx.admin;
    let b = Actor::Backend;
    // Catalog keys only, closed under requires.
    common::refused(
        &store,
        "UNKNOWN_PERMISSION",
        admin.create_role(&b, "acme", "X", &keys(&["miner:read", "miner:nope"]), 2),
    )
    .await;
    common::refused(
        &store,
        "UNKNOWN_PERMISSION",
        admin.update_role(&b, "acme", &fx.people, None, Some(&keys(&["bogus:x"])), 2),
    )
    .await;
    let err = common::refused(
        &store,
        "READ_PAIRING_VIOLATION",
        admin.create_role(&b, "acme", "X", &keys(&["miner:reboot"]), 2),
    )
    .await;
    assert!(
        err.to_string().contains("miner:reboot requires miner:read"),
        "{err}"
    );
    common::refused(
        &store,
        "READ_PAIRING_VIOLATION",
        admin.update_role(
            &b,
            "acme",
            &fx.people,
            None,
            Some(&keys(&["user:manage"])),
            2,
        ),
    )
    .await;
}

both_backends!(
    a_role_holds_catalog_keys_closed_under_requires,
    a_role_holds_catalog_keys_closed_under_requires
);

async fn a_custom_role_may_not_take_a_built_in_name(db: &common::TestDb) {
    let store = connect_url(&db.url).await;
    let fx = setup(&store).await;
    let admin = &fx.admin;
    let b = Actor::Backend;
    // Built-in names, in any case and with spaces.
    for name in ["admin", " Super_Admin ", "field_tech", "ADMIN"] {
        common::refused(
            &store,
            "RESERVED_ROLE_NAME",
            admin.create_role(&b, "acme", name, &[], 2),
        )
        .await;
    }
    common::refused(
        &store,
        "RESERVED_ROLE_NAME",
        admin.update_role(&b, "acme", &fx.people, Some(" Admin"), None, 2),
    )
    .await;
}

both_backends!(
    a_custom_role_may_not_take_a_built_in_name,
    a_custom_role_may_not_take_a_built_in_name
);

async fn a_role_name_is_not_empty_and_unique_ignoring_case(db: &common::TestDb) {
    let store = connect_url(&db.url).await;
    let fx = setup(&store).await;
    let admin = &fx.admin;
    let b = Actor::Backend;
    // Names: not empty; unique ignoring case and surrounding whitespace.
    common::refused(
        &store,
        "BAD_REQUEST",
        admin.create_role(&b, "acme", "   ", &[], 2),
    )
    .await;
    for name in ["People", " people ", "PEOPLE"] {
        common::refused(
            &store,
            "NAME_TAKEN",
            admin.create_role(&b, "acme", name, &[], 2),
        )
        .await;
    }
    common::refused(
        &store,
        "NAME_TAKEN",
        admin.update_role(&b, "acme", &fx.ops, Some(" pEOPLE  "), None, 2),
    )
    .await;
}

both_backends!(
    a_role_name_is_not_empty_and_unique_ignoring_case,
    a_role_name_is_not_empty_and_unique_ignoring_case
);

async fn built_in_roles_keep_their_mode(db: &common::TestDb) {
    let store = connect_url(&db.url).await;
    let fx = setup(&store).await;
    let admin = &fx.admin;
    let b = Actor::Backend;
    // Built-ins.
    common::refused(
        &store,
        "BUILTIN_ROLE_IMMUTABLE",
        admin.update_role(
            &b,
            "acme",
            "SUPER_ADMIN",
            None,
            Some(&keys(&["fleet:read"])),
            2,
        ),
    )
    .await;
    common::refused(
        &store,
        "BUILTIN_ROLE_IMMUTABLE",
        admin.update_role(&b, "acme", "SUPER_ADMIN", Some("Boss"), None, 2),
    )
    .await;
    common::refused(
        &store,
        "BUILTIN_ROLE_IMMUTABLE",
        admin.delete_role(&b, "acme", "SUPER_ADMIN", 2),
    )
    .await;
    for role in ["ADMIN", "FIELD_TECH"] {
        common::refused(
            &store,
            "BUILTIN_ROLE_NON_DELETABLE",
            admin.delete_role(&b, "acme", role, 2),
        )
        .await;
    }
    common::refused(
        &store,
        "BAD_REQUEST",
        admin.update_role(&b, "acme", "ADMIN", Some("Boss"), None, 2),
    )
    .await;
}

both_backends!(
    built_in_roles_keep_their_mode,
    built_in_roles_keep_their_mode
);

async fn a_role_in_use_cannot_be_deleted(db: &common::TestDb) {
    let store = connect_url(&db.url).await;
    let fx = setup(&store).await;
    let admin = &fx.admin;
    let b = Actor::Backend;
    // In use.
    common::refused(
        &store,
        "ROLE_IN_USE",
        admin.delete_role(&b, "acme", &fx.people, 2),
    )
    .await;
}

both_backends!(
    a_role_in_use_cannot_be_deleted,
    a_role_in_use_cannot_be_deleted
);

async fn unknown_or_foreign_role_ids_are_not_found(db: &common::TestDb) {
    let store = connect_url(&db.url).await;
    let fx = setup(&store).await;
    let admin = &fx.admin;
    let b = Actor::Backend;
    // Unknown ids, ids of another org, unknown org.
    common::refused(
        &store,
        "NOT_FOUND",
        admin.update_role(&b, "acme", "r-missing", Some("X"), None, 2),
    )
    .await;
    common::refused(
        &store,
        "NOT_FOUND",
        admin.delete_role(&b, "acme", "r-missing", 2),
    )
    .await;
    common::refused(
        &store,
        "NOT_FOUND",
        admin.delete_role(&b, "acme", &fx.beta_role, 2),
    )
    .await;
    common::refused(
        &store,
        "NOT_FOUND",
        admin.update_role(&b, "acme", &fx.beta_role, Some("Mine"), None, 2),
    )
    .await;
    common::refused(
        &store,
        "NOT_FOUND",
        admin.create_role(&b, "nope", "X", &[], 2),
    )
    .await;
    assert_eq!(
        admin
            .list_roles(&Actor::Backend, "nope")
            .await
            .unwrap_err()
            .code(),
        "NOT_FOUND"
    );
}

both_backends!(
    unknown_or_foreign_role_ids_are_not_found,
    unknown_or_foreign_role_ids_are_not_found
);

async fn role_writes_succeed_with_one_bump_and_one_audit_row(db: &common::TestDb) {
    let store = connect_url(&db.url).await;
    let fx = setup(&store).await;
    let admin = &fx.admin;
    let b = Actor::Backend;
    // Success: keys come back in catalog order; one bump, one audit row.
    let viewers = common::one_write(
        &store,
        admin.create_role(
            &b,
            "acme",
            "  Viewers ",
            &keys(&["miner:read", "fleet:read", "miner:read"]),
            3,
        ),
    )
    .await;
    assert!(viewers.id.starts_with("r-"));
    assert_eq!(viewers.name, "Viewers");
    assert_eq!(viewers.builtin, None);
    assert_eq!(viewers.mode, "custom");
    assert_eq!(viewers.permissions, keys(&["fleet:read", "miner:read"]));
    assert_eq!(
        last_audit(&store).await,
        (
            Some("acme".to_owned()),
            None,
            "role.create".to_owned(),
            format!("role:{}", viewers.id)
        )
    );
    // A role may be empty; a case-only rename of itself is fine.
    let empty = common::one_write(&store, admin.create_role(&b, "acme", "Empty", &[], 3)).await;
    assert!(empty.permissions.is_empty());
    let renamed = common::one_write(
        &store,
        admin.update_role(&b, "acme", &viewers.id, Some(" VIEWERS "), None, 4),
    )
    .await;
    assert_eq!(renamed.name, "VIEWERS");
    assert_eq!(last_audit(&store).await.2, "role.update");
    // An edit that changes nothing writes nothing.
    let before = common::state(&store).await;
    admin
        .update_role(
            &b,
            "acme",
            &viewers.id,
            Some("VIEWERS"),
            Some(&keys(&["miner:read", "fleet:read"])),
            5,
        )
        .await
        .unwrap();
    assert_eq!(common::state(&store).await, before);
    // Editable built-ins take new permissions (same name allowed).
    let mut trimmed = admin
        .list_roles(&Actor::Backend, "acme")
        .await
        .unwrap()
        .into_iter()
        .find(|role| role.id == "ADMIN")
        .unwrap()
        .permissions;
    trimmed.retain(|key| key != "miner:firmware_update");
    let edited = common::one_write(
        &store,
        admin.update_role(&b, "acme", "ADMIN", Some(" ADMIN "), Some(&trimmed), 5),
    )
    .await;
    assert_eq!(edited.permissions, trimmed);
    assert_eq!(edited.mode, "editable");
    assert_eq!(edited.builtin.as_deref(), Some("ADMIN"));
    // Deleting an unused custom role removes its permission rows; its
    // name is free again.
    common::one_write(&store, admin.delete_role(&b, "acme", &viewers.id, 6)).await;
    assert_eq!(last_audit(&store).await.3, format!("role:{}", viewers.id));
    let (left,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM role_permissions WHERE role_id = $1")
            .bind(&viewers.id)
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(left, 0);
    common::one_write(
        &store,
        admin.create_role(&b, "acme", "viewers", &keys(&["fleet:read"]), 7),
    )
    .await;
    // Listing: built-ins in manifest order first, then custom by name.
    let listed = admin.list_roles(&Actor::Backend, "acme").await.unwrap();
    let names: Vec<&str> = listed.iter().map(|role| role.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "SUPER_ADMIN",
            "ADMIN",
            "FIELD_TECH",
            "Empty",
            "Nothing",
            "Ops",
            "People",
            "Readers",
            "Site roles",
            "viewers"
        ]
    );
    let super_admin = &listed[0];
    assert_eq!(super_admin.mode, "immutable");
    assert_eq!(super_admin.permissions.len(), 15);
    assert_eq!(super_admin.permissions[0], "fleet:read");
    store.close().await;
}

both_backends!(
    role_writes_succeed_with_one_bump_and_one_audit_row,
    role_writes_succeed_with_one_bump_and_one_audit_row
);

both_backends!(role_gates_and_escalation, |db: &common::TestDb| {
    let db_url = db.url.clone();
    async move {
        let store = connect_url(&db_url).await;
        let fx = setup(&store).await;
        let admin = &fx.admin;
        // The fleet ADMIN and FIELD_TECH lack role:manage; an unknown actor
        // may do nothing.
        for actor in ["bob", "carol", "mallory", "erin"] {
            common::refused(
                &store,
                "FORBIDDEN",
                admin.create_role(&user(actor), "acme", "X", &[], 2),
            )
            .await;
        }
        common::refused(
            &store,
            "FORBIDDEN",
            admin.update_role(&user("bob"), "acme", &fx.readers, Some("Y"), None, 2),
        )
        .await;
        common::refused(
            &store,
            "FORBIDDEN",
            admin.delete_role(&user("bob"), "acme", &fx.nothing, 2),
        )
        .await;
        // role:manage held only at a site does not count at the org root.
        let ginas = assignment(admin, "user:gina", &fx.sitemgr, Some("site:s1")).await;
        assert!(!ginas.is_empty());
        common::refused(
            &store,
            "FORBIDDEN",
            admin.create_role(&user("gina"), "acme", "X", &[], 2),
        )
        .await;
        // Owner-only grants never count as held: dave has SUPER_ADMIN
        // owner-only, but no role:manage.
        common::refused(
            &store,
            "FORBIDDEN",
            admin.create_role(&user("dave"), "acme", "X", &[], 2),
        )
        .await;
        // frank holds role:manage and user:manage but not the miner keys.
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.create_role(
                &user("frank"),
                "acme",
                "Flashers",
                &keys(&["miner:read", "miner:firmware_update"]),
                2,
            ),
        )
        .await;
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.update_role(
                &user("frank"),
                "acme",
                &fx.readers,
                None,
                Some(&keys(&["user:read", "fleet:read"])),
                2,
            ),
        )
        .await;
        // Editing a role counts its keys before the edit too: frank cannot
        // strip rack:manage (which he lacks) from FIELD_TECH, nor rename a
        // role holding keys he lacks.
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.update_role(
                &user("frank"),
                "acme",
                "FIELD_TECH",
                None,
                Some(&keys(&["fleet:read", "miner:read"])),
                2,
            ),
        )
        .await;
        let flashers = admin
            .create_role(
                &user("alice"),
                "acme",
                "Flashers",
                &keys(&["miner:read", "miner:firmware_update"]),
                2,
            )
            .await
            .unwrap();
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.update_role(&user("frank"), "acme", &flashers.id, Some("Flash"), None, 3),
        )
        .await;
        // Within what he holds, frank may create, edit and delete roles.
        let mine = common::one_write(
            &store,
            admin.create_role(
                &user("frank"),
                "acme",
                "Mine",
                &keys(&["user:read", "role:read"]),
                3,
            ),
        )
        .await;
        assert_eq!(last_audit(&store).await.1.as_deref(), Some("frank"));
        common::one_write(
            &store,
            admin.update_role(
                &user("frank"),
                "acme",
                &mine.id,
                Some("Mine too"),
                Some(&keys(&["user:read"])),
                4,
            ),
        )
        .await;
        common::one_write(
            &store,
            admin.delete_role(&user("frank"), "acme", &mine.id, 5),
        )
        .await;
        // A superuser holds everything.
        common::one_write(
            &store,
            admin.update_role(&user("root"), "acme", &flashers.id, Some("Flash"), None, 6),
        )
        .await;
        store.close().await;
    }
});

both_backends!(assignment_rules, |db: &common::TestDb| {
    let db_url = db.url.clone();
    async move {
        let store = connect_url(&db_url).await;
        let fx = setup(&store).await;
        let admin = &fx.admin;
        let b = Actor::Backend;
        let techs = subject("group:techs");
        // Gate: user:manage at the org root.
        for actor in ["bob", "carol", "gina"] {
            common::refused(
                &store,
                "FORBIDDEN",
                admin.create_assignment(&user(actor), "acme", &techs, &fx.readers, None, false, 2),
            )
            .await;
        }
        let bobs = assignment(admin, "user:bob", "ADMIN", None).await;
        common::refused(
            &store,
            "FORBIDDEN",
            admin.delete_assignment(&user("bob"), "acme", &bobs, 2),
        )
        .await;
        // Unknown role, role of another org, non-member user, unknown user or
        // group, unregistered node, unknown org.
        let r1 = node("rack:r1");
        let cases: Vec<(Subject, String, Option<NodeKey>, &str)> = vec![
            (techs.clone(), "nope".to_owned(), None, "acme"),
            (techs.clone(), fx.beta_role.clone(), None, "acme"),
            (subject("user:erin"), fx.readers.clone(), None, "acme"),
            (subject("user:nobody"), fx.readers.clone(), None, "acme"),
            (subject("group:ghosts"), fx.readers.clone(), None, "acme"),
            (
                techs.clone(),
                fx.readers.clone(),
                Some(node("site:s9")),
                "acme",
            ),
            (
                techs.clone(),
                fx.readers.clone(),
                Some(node("rack:r9")),
                "acme",
            ),
            (techs.clone(), fx.readers.clone(), None, "nope"),
        ];
        for (who, role, scope, org) in &cases {
            common::refused(
                &store,
                "NOT_FOUND",
                admin.create_assignment(&b, org, who, role, scope.as_ref(), false, 2),
            )
            .await;
        }
        common::refused(
            &store,
            "BAD_REQUEST",
            admin.create_assignment(
                &b,
                "acme",
                &techs,
                &fx.readers,
                Some(&node("planet:x")),
                false,
                2,
            ),
        )
        .await;
        common::refused(
            &store,
            "NOT_FOUND",
            admin.delete_assignment(&b, "acme", "a-missing", 2),
        )
        .await;
        let beta_assignment = admin
            .create_assignment(
                &b,
                "beta",
                &subject("@members"),
                &fx.beta_role,
                None,
                false,
                2,
            )
            .await
            .unwrap();
        common::refused(
            &store,
            "NOT_FOUND",
            admin.delete_assignment(&b, "acme", &beta_assignment.id, 3),
        )
        .await;
        assert_eq!(
            admin
                .list_assignments(&Actor::Backend, "nope")
                .await
                .unwrap_err()
                .code(),
            "NOT_FOUND"
        );
        // The schema refuses a cross-org reference too.
        let raw = sqlx::query(
            "INSERT INTO assignments (org_id, id, subject, role_id, scope_key, created_at)
             VALUES ('acme', 'x1', '@everyone', $1, '', 1)",
        )
        .bind(&fx.beta_role)
        .execute(store.pool())
        .await;
        assert!(raw.is_err(), "a role of beta referenced from acme");

        // Success: one bump, one audit row, listed.
        let granted = common::one_write(
            &store,
            admin.create_assignment(&b, "acme", &techs, "FIELD_TECH", Some(&r1), false, 3),
        )
        .await;
        assert!(granted.id.starts_with("a-"));
        assert_eq!(granted.subject, techs);
        assert_eq!(granted.scope.as_deref(), Some("rack:r1"));
        assert_eq!(
            last_audit(&store).await,
            (
                Some("acme".to_owned()),
                None,
                "assignment.create".to_owned(),
                format!("assignment:{}", granted.id)
            )
        );
        assert!(
            admin
                .list_assignments(&Actor::Backend, "acme")
                .await
                .unwrap()
                .contains(&granted)
        );
        // The same grant again is the same assignment, and writes nothing.
        let before = common::state(&store).await;
        let again = admin
            .create_assignment(&b, "acme", &techs, "FIELD_TECH", Some(&r1), false, 4)
            .await
            .unwrap();
        assert_eq!(again, granted);
        assert_eq!(common::state(&store).await, before);
        // ...but owner-only is another assignment, as is the root scope.
        let owned = common::one_write(
            &store,
            admin.create_assignment(&b, "acme", &techs, "FIELD_TECH", Some(&r1), true, 4),
        )
        .await;
        assert_ne!(owned.id, granted.id);
        let at_root = common::one_write(
            &store,
            admin.create_assignment(&b, "acme", &techs, "FIELD_TECH", None, false, 4),
        )
        .await;
        assert_eq!(at_root.scope, None);
        // Pseudo-groups and the reserved `admin` group may receive roles.
        for who in ["@everyone", "@authenticated", "@members", "group:admin"] {
            common::one_write(
                &store,
                admin.create_assignment(&b, "acme", &subject(who), &fx.readers, None, false, 5),
            )
            .await;
        }
        // A removed assignment can be re-added (root scope included).
        common::one_write(&store, admin.delete_assignment(&b, "acme", &at_root.id, 6)).await;
        assert_eq!(last_audit(&store).await.2, "assignment.delete".to_owned());
        let readded = common::one_write(
            &store,
            admin.create_assignment(&b, "acme", &techs, "FIELD_TECH", None, false, 7),
        )
        .await;
        assert_ne!(readded.id, at_root.id);
        let listed = admin
            .list_assignments(&Actor::Backend, "acme")
            .await
            .unwrap();
        assert!(listed.contains(&readded));
        assert!(!listed.iter().any(|a| a.id == at_root.id));
        // A role with assignments is in use; once they are gone it is not.
        common::refused(
            &store,
            "ROLE_IN_USE",
            admin.delete_role(&b, "acme", &fx.readers, 8),
        )
        .await;
        store.close().await;
    }
});

both_backends!(assignment_escalation, |db: &common::TestDb| {
    let db_url = db.url.clone();
    async move {
        let store = connect_url(&db_url).await;
        let fx = setup(&store).await;
        let admin = &fx.admin;
        let techs = subject("group:techs");
        let s1 = node("site:s1");
        let r1 = node("rack:r1");
        let s2 = node("site:s2");
        // frank (role:*, user:*) cannot hand out SUPER_ADMIN.
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.create_assignment(
                &user("frank"),
                "acme",
                &subject("user:ivan"),
                "SUPER_ADMIN",
                None,
                false,
                2,
            ),
        )
        .await;
        // Nor manage bob, who holds keys frank lacks, even with a small role.
        let err = common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.create_assignment(
                &user("frank"),
                "acme",
                &subject("user:bob"),
                &fx.readers,
                None,
                false,
                2,
            ),
        )
        .await;
        assert!(err.to_string().contains("`bob` holds"), "{err}");
        // Owner-only grants never count as held: dave's owner-only
        // SUPER_ADMIN does not let him assign it, to himself or others.
        for who in ["user:dave", "user:ivan"] {
            common::refused(
                &store,
                "ESCALATION_DENIED",
                admin.create_assignment(
                    &user("dave"),
                    "acme",
                    &subject(who),
                    "SUPER_ADMIN",
                    None,
                    false,
                    2,
                ),
            )
            .await;
        }
        // Owner-only assignments need the keys as plain holdings too.
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.create_assignment(&user("dave"), "acme", &techs, "SUPER_ADMIN", None, true, 2),
        )
        .await;
        // helen holds FIELD_TECH at site:s1 only: she may assign it there and
        // below, not at the root nor at another site.
        let err = common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.create_assignment(&user("helen"), "acme", &techs, "FIELD_TECH", None, false, 2),
        )
        .await;
        assert!(err.to_string().contains("at the org root"), "{err}");
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.create_assignment(
                &user("helen"),
                "acme",
                &techs,
                "FIELD_TECH",
                Some(&s2),
                false,
                2,
            ),
        )
        .await;
        common::one_write(
            &store,
            admin.create_assignment(
                &user("helen"),
                "acme",
                &techs,
                "FIELD_TECH",
                Some(&s1),
                false,
                3,
            ),
        )
        .await;
        assert_eq!(last_audit(&store).await.1.as_deref(), Some("helen"));
        common::one_write(
            &store,
            admin.create_assignment(
                &user("helen"),
                "acme",
                &techs,
                "FIELD_TECH",
                Some(&r1),
                false,
                3,
            ),
        )
        .await;
        // frank may grant what he holds to a user he may manage (ivan holds
        // nothing), and take it away again.
        let ivans = common::one_write(
            &store,
            admin.create_assignment(
                &user("frank"),
                "acme",
                &subject("user:ivan"),
                &fx.readers,
                None,
                false,
                4,
            ),
        )
        .await;
        common::one_write(
            &store,
            admin.delete_assignment(&user("frank"), "acme", &ivans.id, 5),
        )
        .await;
        // Removing someone's assignment is managing them: frank cannot
        // touch alice's (she holds everything).
        let alices = assignment(admin, "user:alice", "SUPER_ADMIN", None).await;
        let err = common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.delete_assignment(&user("frank"), "acme", &alices, 6),
        )
        .await;
        assert!(err.to_string().contains("`alice` holds"), "{err}");
        // Removing a narrowing assignment gives the subject its wider roles
        // back at that node: techs hold FIELD_TECH at the root and only the
        // empty role at site:s2; dropping the latter needs FIELD_TECH there.
        admin
            .create_assignment(
                &Actor::Backend,
                "acme",
                &techs,
                "FIELD_TECH",
                None,
                false,
                6,
            )
            .await
            .unwrap();
        let narrowing = admin
            .create_assignment(
                &Actor::Backend,
                "acme",
                &techs,
                &fx.nothing,
                Some(&s2),
                false,
                6,
            )
            .await
            .unwrap();
        let err = common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.delete_assignment(&user("frank"), "acme", &narrowing.id, 7),
        )
        .await;
        assert!(err.to_string().contains("at site:s2"), "{err}");
        common::refused(
            &store,
            "ESCALATION_DENIED",
            admin.delete_assignment(&user("helen"), "acme", &narrowing.id, 7),
        )
        .await;
        common::one_write(
            &store,
            admin.delete_assignment(&user("alice"), "acme", &narrowing.id, 7),
        )
        .await;
        // At site:s1 helen holds FIELD_TECH, so removing techs' FIELD_TECH
        // there (widening back to the root's FIELD_TECH) is hers to do.
        let at_s1 = assignment(admin, "group:techs", "FIELD_TECH", Some("site:s1")).await;
        common::one_write(
            &store,
            admin.delete_assignment(&user("helen"), "acme", &at_s1, 8),
        )
        .await;
        store.close().await;
    }
});

both_backends!(last_guarded_assignment, |db: &common::TestDb| {
    let db_url = db.url.clone();
    async move {
        let store = connect_url(&db_url).await;
        let fx = setup(&store).await;
        let admin = &fx.admin;
        let b = Actor::Backend;
        let alices = assignment(admin, "user:alice", "SUPER_ADMIN", None).await;
        // alice is the only active direct org-root plain SUPER_ADMIN (dave's
        // is owner-only).
        common::refused(
            &store,
            "LAST_GUARDED_ASSIGNMENT",
            admin.delete_assignment(&b, "acme", &alices, 2),
        )
        .await;
        // Holders that do not count: a deactivated user, a site-scoped
        // grant, a group's grant.
        let ivans = admin
            .create_assignment(
                &b,
                "acme",
                &subject("user:ivan"),
                "SUPER_ADMIN",
                None,
                false,
                2,
            )
            .await
            .unwrap();
        admin
            .put_user(
                &b,
                "ivan",
                &UserUpdate {
                    active: Some(false),
                    ..UserUpdate::default()
                },
                3,
            )
            .await
            .unwrap();
        admin
            .create_assignment(
                &b,
                "acme",
                &subject("user:carol"),
                "SUPER_ADMIN",
                Some(&node("site:s1")),
                false,
                3,
            )
            .await
            .unwrap();
        admin
            .create_assignment(
                &b,
                "acme",
                &subject("group:techs"),
                "SUPER_ADMIN",
                None,
                false,
                3,
            )
            .await
            .unwrap();
        common::refused(
            &store,
            "LAST_GUARDED_ASSIGNMENT",
            admin.delete_assignment(&b, "acme", &alices, 4),
        )
        .await;
        common::refused(
            &store,
            "LAST_GUARDED_ASSIGNMENT",
            admin.delete_assignment(&user("alice"), "acme", &alices, 4),
        )
        .await;
        // An assignment that does not count can always go.
        common::one_write(&store, admin.delete_assignment(&b, "acme", &ivans.id, 4)).await;
        // With a second active holder, alice's can go; then the other is last.
        let bobs = admin
            .create_assignment(
                &b,
                "acme",
                &subject("user:bob"),
                "SUPER_ADMIN",
                None,
                false,
                5,
            )
            .await
            .unwrap();
        common::one_write(&store, admin.delete_assignment(&b, "acme", &alices, 6)).await;
        common::refused(
            &store,
            "LAST_GUARDED_ASSIGNMENT",
            admin.delete_assignment(&b, "acme", &bobs.id, 7),
        )
        .await;
        store.close().await;
    }
});

async fn connect_url(url: &str) -> Store {
    let store = Store::connect(url).await.unwrap();
    store.migrate_up().await.unwrap();
    store
}
