//! Filter plans as SQL, run by the real databases: for every principal of
//! several vector files and every permission, the rows a generated `WHERE`
//! fragment keeps are exactly the items `snapshot.filter` keeps.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Executor;
use tessera_core::{Dialect, FilterItem, Manifest, Snapshot, compile};
use tessera_host::{Backend, Store};
use tessera_tests::{load_file, repo_root, vector_request};

/// Every registered node's chain, each with an unregistered child of every
/// type that may sit under it, owned by `alice` or by someone else.
fn items(manifest: &Manifest, facts: &tessera_core::Facts) -> Vec<FilterItem> {
    let mut paths: Vec<Vec<String>> = vec![Vec::new()];
    for node in &facts.nodes {
        let mut chain = vec![node.node.clone()];
        let mut parent = node.parent.clone();
        while let Some(key) = parent {
            parent = facts
                .nodes
                .iter()
                .find(|n| n.node == key)
                .and_then(|n| n.parent.clone());
            chain.insert(0, key);
        }
        let text: Vec<String> = chain.iter().map(ToString::to_string).collect();
        let ty = manifest.types.index(&node.node.ty);
        for child in manifest.types.entries() {
            if child.parents.contains(&ty) {
                let mut longer = text.clone();
                longer.push(format!("{}:new", child.name));
                paths.push(longer);
            }
        }
        paths.push(text);
    }
    let mut items = Vec::new();
    for (at, path) in paths.into_iter().filter(|p| !p.is_empty()).enumerate() {
        for owner in ["alice", "someone"] {
            items.push(FilterItem {
                id: format!("{at}-{owner}"),
                path: path.clone(),
                owner: Some(owner.to_owned()),
            });
        }
    }
    items
}

async fn load_items(store: &Store, manifest: &Manifest, items: &[FilterItem]) {
    let columns: Vec<String> = manifest
        .types
        .entries()
        .iter()
        .map(|ty| format!("{}_id TEXT", ty.name))
        .collect();
    let create = format!(
        "CREATE TABLE things (id TEXT PRIMARY KEY, owner TEXT, {})",
        columns.join(", ")
    );
    store
        .pool()
        .execute(sqlx::AssertSqlSafe(create))
        .await
        .unwrap();
    for item in items {
        let mut names = vec!["id".to_owned(), "owner".to_owned()];
        let mut values = vec![item.id.clone(), item.owner.clone().unwrap_or_default()];
        for segment in &item.path {
            let (ty, id) = segment.split_once(':').unwrap();
            names.push(format!("{ty}_id"));
            values.push(id.to_owned());
        }
        let marks: Vec<String> = (1..=values.len()).map(|n| format!("${n}")).collect();
        let insert = format!(
            "INSERT INTO things ({}) VALUES ({})",
            names.join(", "),
            marks.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(insert));
        for value in values {
            query = query.bind(value);
        }
        query.execute(store.pool()).await.unwrap();
    }
}

async fn kept_by_sql(
    store: &Store,
    snapshot: &Snapshot,
    manifest: &Manifest,
    permission: &str,
) -> BTreeSet<String> {
    let columns: BTreeMap<String, String> = manifest
        .types
        .entries()
        .iter()
        .map(|ty| (ty.name.clone(), format!("{}_id", ty.name)))
        .collect();
    let dialect = match store.backend() {
        Backend::Postgres => Dialect::Postgres,
        Backend::Sqlite => Dialect::Sqlite,
    };
    let filter = snapshot
        .filter_sql(permission, &columns, Some("owner"), dialect)
        .unwrap();
    let select = format!("SELECT id FROM things WHERE {}", filter.sql);
    let mut query = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(select));
    for param in &filter.params {
        query = query.bind(param.clone());
    }
    query
        .fetch_all(store.pool())
        .await
        .unwrap()
        .into_iter()
        .map(|(id,)| id)
        .collect()
}

both_backends!(sql_filters_agree_with_filter, |db: &common::TestDb| {
    let url = db.url.clone();
    async move {
        let mut compared = 0;
        for name in [
            "fleet_narrowing.json",
            "media_owner_only.json",
            "media_hidden_kiosk.json",
        ] {
            let file = load_file(&repo_root().join("tests/vectors").join(name)).unwrap();
            let manifest = Manifest::from_toml(&file.manifest_toml).unwrap();
            let store = Store::connect(&url).await.unwrap();
            store
                .pool()
                .execute("DROP TABLE IF EXISTS things")
                .await
                .unwrap();
            let items = items(&manifest, &file.vectors.facts);
            load_items(&store, &manifest, &items).await;
            let principals: BTreeSet<&str> = file
                .vectors
                .cases
                .iter()
                .map(|c| c.principal.as_str())
                .collect();
            for principal in principals {
                let case = file
                    .vectors
                    .cases
                    .iter()
                    .find(|c| c.principal == principal && c.under.is_none())
                    .unwrap();
                let snapshot = Snapshot::new(
                    compile(&manifest, &file.vectors.facts, &vector_request(case)).unwrap(),
                )
                .unwrap();
                for entry in manifest.catalog.entries() {
                    let expected: BTreeSet<String> = snapshot
                        .filter(&entry.key, &items)
                        .into_iter()
                        .map(|item| item.id.clone())
                        .collect();
                    let actual = kept_by_sql(&store, &snapshot, &manifest, &entry.key).await;
                    assert_eq!(actual, expected, "{name}: {principal}: {}", entry.key);
                    compared += 1;
                }
            }
            store.close().await;
        }
        assert!(compared > 50, "{compared}");
        // A manifest with a type that may be its own ancestor has plans, not SQL.
        let file = load_file(&repo_root().join("tests/vectors/mam_grants.json")).unwrap();
        let manifest = Manifest::from_toml(&file.manifest_toml).unwrap();
        let case = &file.vectors.cases[0];
        let snapshot =
            Snapshot::new(compile(&manifest, &file.vectors.facts, &vector_request(case)).unwrap())
                .unwrap();
        let err = snapshot
            .filter_sql("project:read", &BTreeMap::new(), None, Dialect::Postgres)
            .unwrap_err();
        assert_eq!(err.code(), "UNSUPPORTED");
    }
});
