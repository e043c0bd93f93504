//! Reconcile (docs/manifest.md §4) on both databases: fresh install, idempotence,
//! operator edits of editable built-ins survive, immutable tampering is
//! repaired, new catalog keys do not reach editable built-ins, removed keys
//! are deprecated; and concurrent reconciles on Postgres converge.

use crate::common::{self, FLEET};

use sqlx::Executor;
use tessera_core::Manifest;
use tessera_host::{Store, create_org, reconcile};

fn fleet() -> Manifest {
    Manifest::from_toml(FLEET).unwrap()
}

async fn permissions(store: &Store, org: &str, role: &str) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT permission FROM role_permissions WHERE org_id = $1 AND role_id = $2 ORDER BY permission",
    )
    .bind(org)
    .bind(role)
    .fetch_all(store.pool())
    .await
    .unwrap();
    rows.into_iter().map(|(key,)| key).collect()
}

async fn revision(store: &Store, org: &str) -> i64 {
    let (revision,): (i64,) = sqlx::query_as("SELECT revision FROM orgs WHERE id = $1")
        .bind(org)
        .fetch_one(store.pool())
        .await
        .unwrap();
    revision
}

async fn new_org(store: &Store, manifest: &Manifest, id: &str) {
    let mut tx = store.pool().begin().await.unwrap();
    create_org(&mut tx, manifest, id, id, 1).await.unwrap();
    tx.commit().await.unwrap();
}

both_backends!(fresh_install_then_idempotent, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate_up().await.unwrap();
        let manifest = fleet();
        let first = reconcile(&store, &manifest, 10).await.unwrap();
        assert!(first.writes > 0 && first.catalog_changed);
        new_org(&store, &manifest, "acme").await;
        assert_eq!(permissions(&store, "acme", "SUPER_ADMIN").await.len(), 15);
        assert_eq!(permissions(&store, "acme", "ADMIN").await.len(), 13);
        let before = revision(&store, "acme").await;
        let second = reconcile(&store, &manifest, 11).await.unwrap();
        assert_eq!(second.writes, 0, "{second:?}");
        assert!(second.bumped.is_empty());
        assert_eq!(revision(&store, "acme").await, before);
        store.close().await;
    }
});

both_backends!(
    operator_edits_survive_and_tampering_is_repaired,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate_up().await.unwrap();
            let manifest = fleet();
            reconcile(&store, &manifest, 10).await.unwrap();
            new_org(&store, &manifest, "acme").await;
            // The operator revokes a key from the editable ADMIN; someone tampers
            // with the immutable SUPER_ADMIN.
            store
            .pool()
            .execute("DELETE FROM role_permissions WHERE org_id = 'acme' AND role_id = 'ADMIN' AND permission = 'miner:reboot'")
            .await
            .unwrap();
            store
            .pool()
            .execute("DELETE FROM role_permissions WHERE org_id = 'acme' AND role_id = 'SUPER_ADMIN' AND permission = 'user:manage'")
            .await
            .unwrap();
            let before = revision(&store, "acme").await;
            let report = reconcile(&store, &manifest, 11).await.unwrap();
            assert_eq!(report.bumped, vec!["acme".to_owned()]);
            assert_eq!(revision(&store, "acme").await, before + 1);
            assert!(
                permissions(&store, "acme", "SUPER_ADMIN")
                    .await
                    .contains(&"user:manage".to_owned())
            );
            assert!(
                !permissions(&store, "acme", "ADMIN")
                    .await
                    .contains(&"miner:reboot".to_owned())
            );
            store.close().await;
        }
    }
);

both_backends!(catalog_changes, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate_up().await.unwrap();
        let manifest = fleet();
        reconcile(&store, &manifest, 10).await.unwrap();
        new_org(&store, &manifest, "acme").await;
        new_org(&store, &manifest, "beta").await;
        // A new key (miner:overclock) and a removed one (role:read is gone,
        // so role:manage's read-pairing goes too).
        let next = FLEET
            .replace(
                "{ key = \"miner:firmware_update\" },",
                "{ key = \"miner:firmware_update\" },\n  { key = \"miner:overclock\" },",
            )
            .replace("  { key = \"role:read\" },\n", "")
            .replace(
                "when = \"all(user:read, role:read)\"",
                "when = \"user:read\"",
            );
        let next = Manifest::from_toml(&next).unwrap();
        let report = reconcile(&store, &next, 11).await.unwrap();
        assert!(report.catalog_changed);
        assert_eq!(
            report.bumped,
            vec!["acme".to_owned(), "beta".to_owned()],
            "every org, since the catalog hash changed"
        );
        let super_admin = permissions(&store, "acme", "SUPER_ADMIN").await;
        assert!(super_admin.contains(&"miner:overclock".to_owned()));
        assert!(
            !super_admin.contains(&"role:read".to_owned()),
            "removed keys leave immutable roles"
        );
        let admin = permissions(&store, "acme", "ADMIN").await;
        assert!(
            !admin.contains(&"miner:overclock".to_owned()),
            "new keys never reach editable built-ins"
        );
        assert!(
            admin.contains(&"role:read".to_owned()),
            "operator roles keep deprecated keys"
        );
        let (deprecated,): (i64,) =
            sqlx::query_as("SELECT deprecated FROM catalog WHERE key = 'role:read'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(deprecated, 1);
        assert_eq!(reconcile(&store, &next, 12).await.unwrap().writes, 0);
        store.close().await;
    }
});

#[tokio::test]
async fn eight_concurrent_reconciles_converge_on_postgres() {
    let db = common::TestDb::new(tessera_host::Backend::Postgres).await;
    let store = db.store().await;
    let manifest = fleet();
    reconcile(&store, &manifest, 1).await.unwrap();
    new_org(&store, &manifest, "acme").await;
    store
        .pool()
        .execute("DELETE FROM role_permissions WHERE org_id = 'acme' AND role_id = 'SUPER_ADMIN'")
        .await
        .unwrap();
    let mut runs = Vec::new();
    for at in 0..8 {
        let url = db.url.clone();
        let manifest = manifest.clone();
        runs.push(tokio::spawn(async move {
            let store = Store::connect(&url).await.unwrap();
            let report = reconcile(&store, &manifest, 100 + at).await.unwrap();
            store.close().await;
            report
        }));
    }
    let mut repaired = 0;
    for run in runs {
        if run.await.unwrap().writes > 0 {
            repaired += 1;
        }
    }
    assert_eq!(
        repaired, 1,
        "exactly one reconcile repairs; the others find nothing to do"
    );
    assert_eq!(permissions(&store, "acme", "SUPER_ADMIN").await.len(), 15);
    let (duplicates,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM (SELECT org_id, role_id, permission FROM role_permissions GROUP BY org_id, role_id, permission HAVING COUNT(*) > 1) d",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(duplicates, 0);
    store.close().await;
    drop(db);
}

both_backends!(a_mode_change_reaches_the_store, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate_up().await.unwrap();
        let manifest = fleet();
        reconcile(&store, &manifest, 10).await.unwrap();
        new_org(&store, &manifest, "acme").await;
        store
            .pool()
            .execute("DELETE FROM role_permissions WHERE org_id = 'acme' AND role_id = 'ADMIN' AND permission = 'miner:reboot'")
            .await
            .unwrap();
        let next = FLEET.replacen(
            "key = \"ADMIN\"\nmode = \"editable\"",
            "key = \"ADMIN\"\nmode = \"immutable\"",
            1,
        );
        assert_ne!(next, FLEET);
        reconcile(&store, &Manifest::from_toml(&next).unwrap(), 11)
            .await
            .unwrap();
        let (mode,): (String,) =
            sqlx::query_as("SELECT mode FROM roles WHERE org_id = 'acme' AND id = 'ADMIN'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(mode, "immutable");
        assert!(
            permissions(&store, "acme", "ADMIN")
                .await
                .contains(&"miner:reboot".to_owned()),
            "now repaired"
        );
        store.close().await;
    }
});

both_backends!(
    a_new_builtin_takes_its_name_from_a_custom_role,
    |db: &common::TestDb| {
        let url = db.url.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate_up().await.unwrap();
            let manifest = fleet();
            reconcile(&store, &manifest, 10).await.unwrap();
            new_org(&store, &manifest, "acme").await;
            store
                .pool()
                .execute("INSERT INTO roles (org_id, id, name, name_key, builtin, mode) VALUES ('acme', 'r-aud', 'Auditor', 'auditor', NULL, 'custom')")
                .await
                .unwrap();
            let before = revision(&store, "acme").await;
            let next = FLEET.replacen(
                "[[role]]\nkey = \"FIELD_TECH\"",
                "[[role]]\nkey = \"AUDITOR\"\nmode = \"editable\"\npermissions = [\"fleet:read\"]\n\n[[role]]\nkey = \"FIELD_TECH\"",
                1,
            );
            assert_ne!(next, FLEET);
            reconcile(&store, &Manifest::from_toml(&next).unwrap(), 11)
                .await
                .unwrap();
            let names: Vec<(String, String)> = sqlx::query_as(
                "SELECT id, name FROM roles WHERE org_id = 'acme' AND id IN ('AUDITOR', 'r-aud') ORDER BY id",
            )
            .fetch_all(store.pool())
            .await
            .unwrap();
            assert_eq!(
                names,
                vec![
                    ("AUDITOR".to_owned(), "AUDITOR".to_owned()),
                    ("r-aud".to_owned(), "Auditor (custom r-aud)".to_owned())
                ]
            );
            assert!(revision(&store, "acme").await > before);
            store.close().await;
        }
    }
);
