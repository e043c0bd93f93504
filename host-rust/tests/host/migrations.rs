//! Migrations are reversible: up → down → up works on both databases, with
//! data present; the schema enforces tenant isolation by itself; and the
//! SQLite and Postgres migrations stay in step.

use crate::common;

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

/// The lines where the two dialects must differ, and nothing else:
/// (SQLite, Postgres), comments stripped. A new difference is added here on
/// purpose, or the migrations have drifted apart.
const DIALECT: &[(&str, &str)] = &[
    (
        "id       INTEGER PRIMARY KEY AUTOINCREMENT,",
        "id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,",
    ),
    ("public_key  BLOB NOT NULL,", "public_key  BYTEA NOT NULL,"),
    ("private_key BLOB NOT NULL,", "private_key BYTEA NOT NULL,"),
    (
        "CREATE INDEX users_id_bytes ON users (id COLLATE BINARY);",
        "CREATE INDEX users_id_bytes ON users (id COLLATE \"C\");",
    ),
];

/// A migration's statements: comments and blank lines dropped, each line
/// trimmed.
fn statements(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| line.split("--").next().unwrap_or("").trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect()
}

fn migration_files(dialect: &str) -> Vec<String> {
    let dir = common::repo_root().join("migrations").join(dialect);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn sqlite_and_postgres_migrations_define_the_same_schema() {
    let names = migration_files("sqlite");
    assert_eq!(
        names,
        migration_files("postgres"),
        "the same migrations, up and down"
    );
    let root = common::repo_root().join("migrations");
    let mut differences = 0;
    for name in &names {
        let sqlite = statements(&root.join("sqlite").join(name));
        let postgres = statements(&root.join("postgres").join(name));
        assert_eq!(sqlite.len(), postgres.len(), "{name}: line counts differ");
        for (at, (lite, pg)) in sqlite.iter().zip(&postgres).enumerate() {
            if lite == pg {
                continue;
            }
            assert!(
                DIALECT.contains(&(lite.as_str(), pg.as_str())),
                "{name}, statement line {at}: SQLite `{lite}` but Postgres `{pg}`; \
                 list the pair in DIALECT if the dialects need it"
            );
            differences += 1;
        }
    }
    assert_eq!(
        differences,
        DIALECT.len(),
        "every listed difference is still needed"
    );
}

/// Every migration a store may already have applied, with the SHA-256 of
/// its file. sqlx checksums a migration's whole text (comments included)
/// and refuses to open a store whose applied migration changed, so these
/// files are never edited: a change is a new migration, added here.
const APPLIED: &[(&str, &str)] = &[
    (
        "postgres/0001_initial.down.sql",
        "e2dd55c2ddd3c78e518ef1573bb383d99294da83d0c204647c8109b0e8a8f334",
    ),
    (
        "postgres/0001_initial.up.sql",
        "aacd019d60ebe310a4870e4f63de9c7a412011e4bbd6387ef373f4da88a5b4a6",
    ),
    (
        "postgres/0002_selector_indexes.down.sql",
        "cb043b14c2afd900dc398bb8ac74ca80d7e11e161decf1e875bd09653d1d73ef",
    ),
    (
        "postgres/0002_selector_indexes.up.sql",
        "fbac6a2c2d7cc5143a34b0db46d9d55a743545eb46860dce8244227e7bf3098b",
    ),
    (
        "postgres/0003_token_orgs.down.sql",
        "bca8efa278b41f0d1fd71068322536fe042e0e92a41b73c802dd42df2552016c",
    ),
    (
        "postgres/0003_token_orgs.up.sql",
        "64e7353fea808a937dbe005fcad2eaac8cda11f4ae31e972d3d4ead5c5ed30d9",
    ),
    (
        "sqlite/0001_initial.down.sql",
        "e2dd55c2ddd3c78e518ef1573bb383d99294da83d0c204647c8109b0e8a8f334",
    ),
    (
        "sqlite/0001_initial.up.sql",
        "fe563f9a2175a074ba6568a3c3cd50e200cc39e2af4f691ef69626ad849ab635",
    ),
    (
        "sqlite/0002_selector_indexes.down.sql",
        "cb043b14c2afd900dc398bb8ac74ca80d7e11e161decf1e875bd09653d1d73ef",
    ),
    (
        "sqlite/0002_selector_indexes.up.sql",
        "fbac6a2c2d7cc5143a34b0db46d9d55a743545eb46860dce8244227e7bf3098b",
    ),
    (
        "sqlite/0003_token_orgs.down.sql",
        "bca8efa278b41f0d1fd71068322536fe042e0e92a41b73c802dd42df2552016c",
    ),
    (
        "sqlite/0003_token_orgs.up.sql",
        "64e7353fea808a937dbe005fcad2eaac8cda11f4ae31e972d3d4ead5c5ed30d9",
    ),
];

#[test]
fn applied_migrations_are_never_edited() {
    use sha2::{Digest, Sha256};
    let root = common::repo_root().join("migrations");
    for (file, pinned) in APPLIED {
        let bytes = std::fs::read(root.join(file)).unwrap();
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(
            &digest, pinned,
            "migrations/{file} changed: existing stores would refuse to open; add a migration instead"
        );
    }
}
