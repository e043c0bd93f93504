//! Store ↔ vectors parity: every vector file's facts are written into a
//! fresh database, each case's snapshot is built from what the store loads
//! for that principal, and every query must answer exactly as the vector
//! expects (the same expectations as the pure core runner).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod common;

use std::collections::BTreeSet;

use sqlx::{Any, Transaction};
use tessera_core::{Facts, Manifest, Member, Snapshot, Subject, compile};
use tessera_host::{Store, create_org, load_facts, reconcile};
use tessera_tests::{load_file, matches, vector_files, vector_request};

fn flag(value: bool) -> i64 {
    i64::from(value)
}

/// Writes facts into the store exactly (the test's stand-in for the admin
/// service, which will replace it once it exists).
async fn import(store: &Store, manifest: &Manifest, facts: &Facts) {
    reconcile(store, manifest, 1).await.unwrap();
    let mut tx: Transaction<'static, Any> = store.pool().begin().await.unwrap();
    create_org(&mut tx, manifest, &facts.org, &facts.org, 1)
        .await
        .unwrap();
    sqlx::query("UPDATE orgs SET kiosk = $1, revision = $2 WHERE id = $3")
        .bind(flag(facts.kiosk))
        .bind(i64::try_from(facts.revision).unwrap())
        .bind(&facts.org)
        .execute(&mut *tx)
        .await
        .unwrap();
    for user in &facts.users {
        sqlx::query("INSERT INTO users (id, name, superuser, active) VALUES ($1, $2, $3, $4)")
            .bind(&user.id)
            .bind(user.name.clone().unwrap_or_else(|| user.id.clone()))
            .bind(flag(user.superuser))
            .bind(flag(user.active))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    for member in &facts.members {
        sqlx::query("INSERT INTO members (org_id, user_id) VALUES ($1, $2)")
            .bind(&facts.org)
            .bind(member)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    // The org's groups are exactly the facts' (plus the reserved `admin`).
    sqlx::query("DELETE FROM groups WHERE org_id = $1 AND id <> 'admin'")
        .bind(&facts.org)
        .execute(&mut *tx)
        .await
        .unwrap();
    for group in &facts.groups {
        let name = group.name.clone().unwrap_or_else(|| group.id.clone());
        sqlx::query("INSERT INTO groups (org_id, id, name, name_key, is_default) VALUES ($1, $2, $3, $4, $5)")
            .bind(&facts.org)
            .bind(&group.id)
            .bind(&name)
            .bind(name.trim().to_lowercase())
            .bind(flag(group.default))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    for edge in &facts.group_members {
        let (user, group) = match &edge.member {
            Member::User(user) => (Some(user.clone()), None),
            Member::Group(group) => (None, Some(group.clone())),
        };
        sqlx::query("INSERT INTO group_members (org_id, group_id, member_user, member_group) VALUES ($1, $2, $3, $4)")
            .bind(&facts.org)
            .bind(&edge.group)
            .bind(user)
            .bind(group)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    for node in &facts.nodes {
        sqlx::query("INSERT INTO nodes (org_id, type, id, parent_type, parent_id) VALUES ($1, $2, $3, $4, $5)")
            .bind(&facts.org)
            .bind(&node.node.ty)
            .bind(&node.node.id)
            .bind(node.parent.as_ref().map(|p| p.ty.clone()))
            .bind(node.parent.as_ref().map(|p| p.id.clone()))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let catalog: BTreeSet<String> = manifest
        .catalog
        .entries()
        .iter()
        .map(|e| e.key.clone())
        .collect();
    for role in &facts.roles {
        let builtin = manifest.builtin(&role.id).is_some();
        if !builtin {
            let name = role.name.clone().unwrap_or_else(|| role.id.clone());
            sqlx::query("INSERT INTO roles (org_id, id, name, name_key, builtin, mode) VALUES ($1, $2, $3, $4, NULL, 'custom')")
                .bind(&facts.org)
                .bind(&role.id)
                .bind(&name)
                .bind(name.trim().to_lowercase())
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        sqlx::query("DELETE FROM role_permissions WHERE org_id = $1 AND role_id = $2")
            .bind(&facts.org)
            .bind(&role.id)
            .execute(&mut *tx)
            .await
            .unwrap();
        for key in &role.permissions {
            if !catalog.contains(key) {
                // A key the manifest dropped: the store keeps it, deprecated.
                sqlx::query("INSERT INTO catalog (key, position, requires, deprecated) VALUES ($1, 1000, '[]', 1) ON CONFLICT (key) DO NOTHING")
                    .bind(key)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            sqlx::query(
                "INSERT INTO role_permissions (org_id, role_id, permission) VALUES ($1, $2, $3)",
            )
            .bind(&facts.org)
            .bind(&role.id)
            .bind(key)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
    }
    for (at, assignment) in facts.assignments.iter().enumerate() {
        let (user, group) = match &assignment.subject {
            Subject::User(user) => (Some(user.clone()), None),
            Subject::Group(group) => (None, Some(group.clone())),
            _ => (None, None),
        };
        let scope = assignment.scope.as_ref();
        sqlx::query(
            "INSERT INTO assignments (org_id, id, subject, subject_user, subject_group, role_id, scope_type, scope_id, scope_key, owner_only, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)",
        )
        .bind(&facts.org)
        .bind(assignment.id.clone().unwrap_or_else(|| format!("a{at}")))
        .bind(assignment.subject.to_string())
        .bind(user)
        .bind(group)
        .bind(&assignment.role)
        .bind(scope.map(|s| s.ty.clone()))
        .bind(scope.map(|s| s.id.clone()))
        .bind(scope.map(ToString::to_string).unwrap_or_default())
        .bind(flag(assignment.owner_only))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    for (at, hidden) in facts.hidden.iter().enumerate() {
        let (user, group) = selector_ids(&hidden.selector);
        sqlx::query("INSERT INTO hidden (org_id, id, selector, selector_user, selector_group, node_type, node_id) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&facts.org)
            .bind(hidden.id.clone().unwrap_or_else(|| format!("h{at}")))
            .bind(hidden.selector.to_string())
            .bind(user)
            .bind(group)
            .bind(&hidden.node.ty)
            .bind(&hidden.node.id)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    for (at, cap) in facts.caps.iter().enumerate() {
        let (user, group) = selector_ids(&cap.selector);
        let scope = cap.scope.as_ref();
        sqlx::query("INSERT INTO caps (org_id, id, selector, selector_user, selector_group, scope_type, scope_id, allow) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&facts.org)
            .bind(cap.id.clone().unwrap_or_else(|| format!("c{at}")))
            .bind(cap.selector.to_string())
            .bind(user)
            .bind(group)
            .bind(scope.map(|s| s.ty.clone()))
            .bind(scope.map(|s| s.id.clone()))
            .bind(serde_json::to_string(&cap.allow).unwrap())
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

fn selector_ids(selector: &tessera_core::Selector) -> (Option<String>, Option<String>) {
    match selector {
        tessera_core::Selector::User(user) => (Some(user.clone()), None),
        tessera_core::Selector::Group(group) | tessera_core::Selector::NotGroup(group) => {
            (None, Some(group.clone()))
        }
        _ => (None, None),
    }
}

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
                import(&store, &manifest, &file.vectors.facts).await;
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
                    let actual = snapshot.answer(&case.query);
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
