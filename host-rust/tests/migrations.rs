//! Migrations are reversible: up → down → up works on both databases, with
//! data present, and the schema enforces tenant isolation by itself.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod common;

use sqlx::Executor;

async fn seed(store: &tessera_host::Store) {
    let sql = [
        "INSERT INTO orgs (id, name, created_at) VALUES ('a', 'A', 1), ('b', 'B', 1)",
        "INSERT INTO users (id, name) VALUES ('alice', 'Alice')",
        "INSERT INTO members (org_id, user_id) VALUES ('a', 'alice')",
        "INSERT INTO groups (org_id, id, name, name_key, is_default) VALUES ('a', 'g', 'G', 'g', 1), ('b', 'h', 'H', 'h', 1)",
        "INSERT INTO nodes (org_id, type, id) VALUES ('a', 'site', '1'), ('b', 'site', '2')",
    ];
    for statement in sql {
        store.pool().execute(statement).await.unwrap();
    }
}

both_backends!(up_down_up_with_data, |db: &common::TestDb| {
    let db = db.url.clone();
    async move {
        let store = tessera_host::Store::connect(&db).await.unwrap();
        store.migrate_up().await.unwrap();
        seed(&store).await;
        store.migrate_down(0).await.unwrap();
        let gone = store.pool().execute("SELECT 1 FROM orgs").await;
        assert!(gone.is_err(), "tables are dropped by the down migration");
        store.migrate_up().await.unwrap();
        seed(&store).await;
        store.close().await;
    }
});

both_backends!(
    schema_refuses_cross_org_references,
    |db: &common::TestDb| {
        let db = db.url.clone();
        async move {
            let store = tessera_host::Store::connect(&db).await.unwrap();
            store.migrate_up().await.unwrap();
            seed(&store).await;
            let cross_org = [
                // alice is a member of a, not b.
                "INSERT INTO group_members (org_id, group_id, member_user) VALUES ('b', 'h', 'alice')",
                // group g is org a's; org b cannot use it as a member.
                "INSERT INTO group_members (org_id, group_id, member_group) VALUES ('b', 'h', 'g')",
                // node site:1 is org a's; a node of b cannot hang under it.
                "INSERT INTO nodes (org_id, type, id, parent_type, parent_id) VALUES ('b', 'rack', '9', 'site', '1')",
                // reserved names and shapes
                "INSERT INTO users (id, name) VALUES ('anonymous', 'x')",
                "INSERT INTO groups (org_id, id, name, name_key, is_default) VALUES ('a', 'admin', 'admin', 'admin', 1)",
                "INSERT INTO groups (org_id, id, name, name_key) VALUES ('a', 'g2', ' g ', 'g')",
            ];
            for statement in cross_org {
                assert!(
                    store.pool().execute(statement).await.is_err(),
                    "schema accepted: {statement}"
                );
            }
            store.close().await;
        }
    }
);
