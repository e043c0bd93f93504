//! The snapshot builder at scale (issue 3, "Performance"): seeds one org of
//! the fleet manifest with 100k users, 10k groups nested four deep, 5k
//! nodes and 1M assignments, then times building and signing the snapshot
//! of a user in 50 groups, and prints the plan of every query the builder
//! runs.
//!
//! ```sh
//! cargo run -p tessera-host --release --example seed_bench -- \
//!     [--backend postgres|sqlite] [--users 100000] [--groups 10000] \
//!     [--nodes 5000] [--assignments 1000000] [--group-grants 10] [--samples 200] \
//!     [--keep] [--database URL]
//! ```
//!
//! Postgres: a database `tessera_bench_<hex>` is created on the server of
//! `TESSERA_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and dropped at the end. SQLite: a file in a temp directory, removed at
//! the end (`--keep` leaves it for inspection and prints its URL: drop it
//! yourself). `--database URL` measures again on a database a `--keep` run
//! left, without seeding.
//!
//! The seed (all ids generated, so the run is deterministic):
//! - users `u1..`, every one a member; users other than the target are each
//!   direct members of 3 leaf groups;
//! - groups `g1..` in four levels (top, level 2, level 1, leaves: 10 / 90 /
//!   900 / 9,000 at the default size), each group below the top nested in
//!   one group of the level above;
//! - the target `u1` is a direct member of 20 leaf groups (and, redundantly,
//!   of 2 of their parents), which nest into 20 + 7 + 3 more: 50 effective
//!   groups;
//! - nodes: 1% sites, 10% racks (each in a site), the rest miners (each in a
//!   rack, 1% directly in a site);
//! - 20 custom roles `c1..c20` of 4 permissions; assignments cycle over them
//!   and `FIELD_TECH`, one role per (subject, row), scopes spread over every
//!   node (a tenth of the first grant of each subject at the org root);
//!   `--group-grants` per group (every group's first at the root), one
//!   `@members` grant at the root, and the rest over users evenly;
//! - hidden entries for every 100th user and every 20th group, caps for
//!   every 20th group (on a site).
//!
//! Rows are bulk-inserted with `INSERT … SELECT` over a generated series
//! (`generate_series` on Postgres, a recursive CTE on SQLite), 100,000 rows
//! per statement, one transaction per step; then `VACUUM (ANALYZE)`
//! (Postgres) or `ANALYZE` (SQLite).
//!
//! The `EXPLAIN`ed SQL is the loader's own (`tessera_host::loader_queries`)
//! plus the active-key lookup copied from `src/keys.rs` (keep it in step).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark setup")]

#[path = "support/database.rs"]
mod database;
use database::{Database, random_hex};

/// The allocator `tessera serve` runs with (`src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Executor, Row};
use tessera_core::{CompileRequest, Manifest, compile};
use tessera_host::{
    Backend, BuildRequest, LoaderBinds, Store, active_key, build_snapshot, create_org,
    generate_key, load_facts, loader_queries, reconcile,
};

const ORG: &str = "bench";
const TARGET: &str = "u1";
const NOW: i64 = 1_700_000_000;
/// Custom roles `c1..c20`; with `FIELD_TECH`, the roles grants cycle over.
const CUSTOM_ROLES: i64 = 20;
const GRANT_ROLES: i64 = CUSTOM_ROLES + 1;
/// Leaf groups each non-target user is a direct member of.
const GROUPS_PER_USER: i64 = 3;
/// Rows per `INSERT … SELECT` statement.
const BATCH: i64 = 100_000;
const WARM_UP: usize = 10;

/// Command-line settings.
#[derive(Debug, Clone)]
struct Config {
    backend: Backend,
    users: i64,
    groups: i64,
    nodes: i64,
    assignments: i64,
    group_grants: i64,
    samples: usize,
    keep: bool,
    /// A database an earlier `--keep` run seeded: measure only.
    database: Option<String>,
}

impl Config {
    fn from_args() -> Config {
        let mut config = Config {
            backend: Backend::Postgres,
            users: 100_000,
            groups: 10_000,
            nodes: 5_000,
            assignments: 1_000_000,
            group_grants: 10,
            samples: 200,
            keep: false,
            database: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            if flag == "--keep" {
                config.keep = true;
                continue;
            }
            let value = args.next().expect("every flag takes a value");
            let number = || value.parse::<i64>().expect("a number");
            match flag.as_str() {
                "--backend" => {
                    config.backend = match value.as_str() {
                        "postgres" => Backend::Postgres,
                        "sqlite" => Backend::Sqlite,
                        other => usage_exit(&format!("backend {other}")),
                    }
                }
                "--users" => config.users = number(),
                "--groups" => config.groups = number(),
                "--nodes" => config.nodes = number(),
                "--assignments" => config.assignments = number(),
                "--group-grants" => config.group_grants = number(),
                "--samples" => config.samples = usize::try_from(number()).expect("samples"),
                "--database" => {
                    config.backend = value.parse().expect("a sqlite: or postgres: url");
                    config.database = Some(value);
                }
                other => usage_exit(other),
            }
        }
        config
    }
}

fn usage_exit(flag: &str) -> ! {
    eprintln!(
        "unknown {flag}; flags: --backend postgres|sqlite --users N --groups N --nodes N --assignments N --group-grants N --samples N --keep --database URL"
    );
    std::process::exit(2)
}

/// Where generated ids live: node kinds by number range, group levels.
#[derive(Debug, Clone)]
struct Layout {
    sites: i64,
    racks: i64,
    miners: i64,
    /// (first group number, count), top level first, leaves last.
    levels: [(i64, i64); 4],
    /// Grants per user (the last users may get fewer).
    user_grants: i64,
    user_grant_rows: i64,
    group_grant_rows: i64,
}

impl Layout {
    fn new(config: &Config) -> Layout {
        let sites = (config.nodes / 100).max(1);
        let racks = (config.nodes / 10).max(1);
        let miners = config.nodes - sites - racks;
        assert!(miners >= 1, "--nodes too small");
        let top = (config.groups / 1000).max(1);
        let level2 = (config.groups * 9 / 1000).max(top);
        let level1 = (config.groups * 9 / 100).max(level2);
        let leaves = config.groups - top - level2 - level1;
        assert!(leaves >= GROUPS_PER_USER, "--groups too small");
        let levels = [
            (1, top),
            (1 + top, level2),
            (1 + top + level2, level1),
            (1 + top + level2 + level1, leaves),
        ];
        let group_grant_rows = config.groups * config.group_grants;
        let user_grant_rows = config.assignments - group_grant_rows - 1;
        assert!(user_grant_rows >= 0, "--assignments too small");
        let user_grants = (user_grant_rows + config.users - 1) / config.users;
        assert!(
            user_grants <= GRANT_ROLES && config.group_grants <= GRANT_ROLES,
            "more grants per subject than roles: the unique key would collide"
        );
        Layout {
            sites,
            racks,
            miners,
            levels,
            user_grants,
            user_grant_rows,
            group_grant_rows,
        }
    }

    fn nodes(&self) -> i64 {
        self.sites + self.racks + self.miners
    }

    /// The group `group` of `level` nests in (the seeding SQL uses the same
    /// rule).
    fn parent(&self, level: usize, group: i64) -> Option<i64> {
        let (first, count) = *self.levels.get(level)?;
        let (parent_first, parent_count) = *self.levels.get(level.checked_sub(1)?)?;
        Some(parent_first + (group - first) * parent_count / count)
    }

    fn children(&self, level: usize, parent: i64) -> Vec<i64> {
        let Some(&(first, count)) = self.levels.get(level + 1) else {
            return Vec::new();
        };
        (first..first + count)
            .filter(|&group| self.parent(level + 1, group) == Some(parent))
            .collect()
    }

    /// The target's direct groups: the first leaf under each of 20 level-1
    /// groups, under 7 level-2 groups, under 3 top groups; and 2 of those
    /// level-1 groups directly as well.
    fn target_groups(&self) -> Vec<i64> {
        let [(top_first, _), ..] = self.levels;
        let mut leaves = Vec::new();
        let mut level1s = Vec::new();
        let tops = [top_first, top_first + 1, top_first + 2];
        let level2_per_top = [3usize, 2, 2];
        let mut level2s = Vec::new();
        for (top, take) in tops.iter().zip(level2_per_top) {
            level2s.extend(self.children(0, *top).into_iter().take(take));
        }
        for (n, level2) in level2s.iter().enumerate() {
            let take = if n + 1 == level2s.len() { 2 } else { 3 };
            level1s.extend(self.children(1, *level2).into_iter().take(take));
        }
        for level1 in &level1s {
            leaves.extend(self.children(2, *level1).into_iter().take(1));
        }
        leaves.extend(level1s.iter().take(2));
        leaves
    }
}

#[tokio::main]
async fn main() {
    let config = Config::from_args();
    if let Some(url) = config.database.clone() {
        let store = Store::connect(&url).await.unwrap();
        measure(&store, &config).await;
        return;
    }
    let db = Database::create(config.backend).await;
    println!("{:?} database {} ({config:?})", config.backend, db.name);
    let url = db.url.clone();
    // A panic inside the run still drops the database.
    let keep = config.keep;
    let result = tokio::spawn(async move { run(config, url).await }).await;
    if keep && result.is_ok() {
        println!("kept {} ({})", db.name, db.url);
    } else {
        db.drop().await;
    }
    if let Err(err) = result
        && err.is_panic()
    {
        std::panic::resume_unwind(err.into_panic());
    }
}

async fn run(config: Config, url: String) {
    let started = Instant::now();
    let store = Store::connect(&url).await.unwrap();
    store.migrate_up().await.unwrap();
    let manifest_path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/fleet/manifest.toml");
    let manifest = Manifest::from_toml(&std::fs::read_to_string(manifest_path).unwrap()).unwrap();
    reconcile(&store, &manifest, NOW).await.unwrap();
    let mut tx = store.pool().begin().await.unwrap();
    create_org(&mut tx, &manifest, ORG, "Bench fleet", NOW)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let layout = Layout::new(&config);
    let seed = Seeder {
        store: &store,
        backend: config.backend,
    };
    seed.users(&config).await;
    seed.groups(&config, &layout).await;
    seed.memberships(&config, &layout).await;
    seed.nodes(&layout).await;
    seed.roles(&manifest).await;
    seed.assignments(&config, &layout).await;
    seed.hidden_and_caps(&config, &layout, &manifest).await;
    analyze(&store).await;
    println!("seeded in {:.1?}", started.elapsed());
    print_counts(&store).await;
    generate_key(&store, NOW).await.unwrap();
    measure(&store, &config).await;
}

/// Plans and timings on a seeded database.
async fn measure(store: &Store, config: &Config) {
    let manifest_path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/fleet/manifest.toml");
    let manifest = Manifest::from_toml(&std::fs::read_to_string(manifest_path).unwrap()).unwrap();
    let groups = serde_json::to_string(&effective_groups(store).await).unwrap();
    TARGET_GROUPS.set(groups).unwrap();
    explain_all(store).await;
    time_builds(store, &manifest, config).await;
}

/// Seeding, one function per step.
struct Seeder<'a> {
    store: &'a Store,
    backend: Backend,
}

impl Seeder<'_> {
    /// `sql` with `{series}` replaced by a row source of `i` in `lo..=hi`.
    fn with_series(&self, lo: i64, hi: i64, sql: &str) -> String {
        match self.backend {
            Backend::Postgres => sql.replace(
                "{series}",
                &format!(
                    "generate_series(CAST({lo} AS BIGINT), CAST({hi} AS BIGINT)) AS series(i)"
                ),
            ),
            Backend::Sqlite => format!(
                "WITH RECURSIVE series(i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM series WHERE i < {hi}) {}",
                sql.replace("{series}", "series")
            ),
        }
    }

    /// Runs `sql` over `i` in `first..first + count`, `BATCH` rows per
    /// statement, in one transaction, printing progress.
    async fn insert_series(&self, label: &str, first: i64, count: i64, sql: &str) {
        let started = Instant::now();
        let mut tx = self.store.pool().begin().await.unwrap();
        let mut done = 0;
        while done < count {
            let rows = BATCH.min(count - done);
            let lo = first + done;
            let statement = self.with_series(lo, lo + rows - 1, sql);
            let query = sqlx::query(AssertSqlSafe(statement));
            // `$1` is the org, where the table has one.
            let query = if sql.contains("$1") {
                query.bind(ORG)
            } else {
                query
            };
            query
                .execute(&mut *tx)
                .await
                .map_err(|err| format!("{label}: {err}"))
                .unwrap();
            done += rows;
            if count > BATCH {
                println!("  {label}: {done}/{count} ({:.1?})", started.elapsed());
            }
        }
        tx.commit().await.unwrap();
        println!("{label}: {count} rows in {:.1?}", started.elapsed());
    }

    async fn users(&self, config: &Config) {
        self.insert_series(
            "users",
            1,
            config.users,
            "INSERT INTO users (id, name, superuser, active)
             SELECT 'u' || i, 'User ' || i, 0, 1 FROM {series}",
        )
        .await;
        self.insert_series(
            "members",
            1,
            config.users,
            "INSERT INTO members (org_id, user_id) SELECT $1, 'u' || i FROM {series}",
        )
        .await;
    }

    async fn groups(&self, config: &Config, layout: &Layout) {
        self.insert_series(
            "groups",
            1,
            config.groups,
            "INSERT INTO groups (org_id, id, name, name_key, is_default)
             SELECT $1, 'g' || i, 'Group ' || i, 'group ' || i, 0 FROM {series}",
        )
        .await;
        for level in 1..layout.levels.len() {
            let Some((&(first, count), &(parent_first, parent_count))) =
                layout.levels.get(level).zip(layout.levels.get(level - 1))
            else {
                continue;
            };
            self.insert_series(
                &format!("group nesting, level {level}"),
                first,
                count,
                &format!(
                    "INSERT INTO group_members (org_id, group_id, member_user, member_group)
                     SELECT $1, 'g' || ({parent_first} + (i - {first}) * {parent_count} / {count}), NULL, 'g' || i
                       FROM {{series}}"
                ),
            )
            .await;
        }
    }

    async fn memberships(&self, config: &Config, layout: &Layout) {
        let [.., (leaf_first, leaves)] = layout.levels;
        let stride = leaves / GROUPS_PER_USER;
        // Row i: user i / 3 + 2 (everyone but the target), its (i % 3)-th leaf.
        self.insert_series(
            "user memberships",
            0,
            (config.users - 1) * GROUPS_PER_USER,
            &format!(
                "INSERT INTO group_members (org_id, group_id, member_user, member_group)
                 SELECT $1, 'g' || ({leaf_first} + ((i / {GROUPS_PER_USER} + 2) * 7 + (i % {GROUPS_PER_USER}) * {stride}) % {leaves}),
                        'u' || (i / {GROUPS_PER_USER} + 2), NULL
                   FROM {{series}}"
            ),
        )
        .await;
        let direct = layout.target_groups();
        let mut sql = String::from(
            "INSERT INTO group_members (org_id, group_id, member_user, member_group) VALUES ",
        );
        let rows: Vec<String> = direct
            .iter()
            .map(|group| format!("($1, 'g{group}', '{TARGET}', NULL)"))
            .collect();
        sql.push_str(&rows.join(", "));
        sqlx::query(AssertSqlSafe(sql))
            .bind(ORG)
            .execute(self.store.pool())
            .await
            .unwrap();
        println!("target {TARGET}: direct member of {} groups", direct.len());
    }

    async fn nodes(&self, layout: &Layout) {
        let Layout {
            sites,
            racks,
            miners,
            ..
        } = *layout;
        self.insert_series(
            "sites",
            1,
            sites,
            "INSERT INTO nodes (org_id, type, id, parent_type, parent_id)
             SELECT $1, 'site', 's' || i, NULL, NULL FROM {series}",
        )
        .await;
        self.insert_series(
            "racks",
            0,
            racks,
            &format!(
                "INSERT INTO nodes (org_id, type, id, parent_type, parent_id)
                 SELECT $1, 'rack', 'r' || (i + 1), 'site', 's' || (i * {sites} / {racks} + 1) FROM {{series}}"
            ),
        )
        .await;
        // 1% of the miners sit directly in a site (the manifest allows it).
        self.insert_series(
            "miners",
            0,
            miners,
            &format!(
                "INSERT INTO nodes (org_id, type, id, parent_type, parent_id)
                 SELECT $1, 'miner', 'm' || (i + 1),
                        CASE WHEN i % 100 = 99 THEN 'site' ELSE 'rack' END,
                        CASE WHEN i % 100 = 99 THEN 's' || (i % {sites} + 1) ELSE 'r' || (i % {racks} + 1) END
                   FROM {{series}}"
            ),
        )
        .await;
    }

    /// Custom roles `c1..c20`, 4 catalog keys each.
    async fn roles(&self, manifest: &Manifest) {
        let keys: Vec<&str> = manifest
            .catalog
            .entries()
            .iter()
            .map(|entry| entry.key.as_str())
            .collect();
        let mut tx = self.store.pool().begin().await.unwrap();
        for role in 1..=CUSTOM_ROLES {
            sqlx::query(
                "INSERT INTO roles (org_id, id, name, name_key, builtin, mode) VALUES ($1, $2, $3, $4, NULL, 'custom')",
            )
            .bind(ORG)
            .bind(format!("c{role}"))
            .bind(format!("Custom {role}"))
            .bind(format!("custom {role}"))
            .execute(&mut *tx)
            .await
            .unwrap();
            let picked: BTreeSet<&str> = [0, 3, 7, 11]
                .iter()
                .filter_map(|offset| keys.get((role as usize + offset) % keys.len()).copied())
                .collect();
            for key in picked {
                sqlx::query(
                    "INSERT INTO role_permissions (org_id, role_id, permission) VALUES ($1, $2, $3)",
                )
                .bind(ORG)
                .bind(format!("c{role}"))
                .bind(key)
                .execute(&mut *tx)
                .await
                .unwrap();
            }
        }
        tx.commit().await.unwrap();
        println!("roles: {CUSTOM_ROLES} custom roles");
    }

    /// The scope columns for node number `q` (0-based over every node), or
    /// the root when `root = 1`; expects `q` and `root` in the row.
    fn scope_columns(layout: &Layout) -> String {
        let sites = layout.sites;
        let sites_racks = layout.sites + layout.racks;
        format!(
            "CASE WHEN root = 1 THEN NULL WHEN q < {sites} THEN 'site' WHEN q < {sites_racks} THEN 'rack' ELSE 'miner' END AS st,
             CASE WHEN root = 1 THEN NULL WHEN q < {sites} THEN 's' || (q + 1)
                  WHEN q < {sites_racks} THEN 'r' || (q - {sites} + 1) ELSE 'm' || (q - {sites_racks} + 1) END AS sid"
        )
    }

    async fn assignments(&self, config: &Config, layout: &Layout) {
        let nodes = layout.nodes();
        let scope = Self::scope_columns(layout);
        let insert = "INSERT INTO assignments (org_id, id, subject, subject_user, subject_group, role_id, scope_type, scope_id, scope_key, owner_only, created_at)";
        let role = "CASE WHEN r = 0 THEN 'FIELD_TECH' ELSE 'c' || r END";
        let scope_key = "CASE WHEN st IS NULL THEN '' ELSE st || ':' || sid END";
        // Row i: user i / per + 1, its (i % per)-th grant, role (user + k) % 21
        // (distinct per user, so the unique key holds).
        let per = layout.user_grants;
        self.insert_series(
            "user assignments",
            0,
            layout.user_grant_rows,
            &format!(
                "{insert}
                 SELECT $1, 'a' || i, 'user:u' || s, 'u' || s, NULL, {role}, st, sid, {scope_key}, 0, {NOW}
                   FROM (SELECT i, s, r, {scope} FROM (
                     SELECT i, i / {per} + 1 AS s, (i / {per} + 1 + i % {per}) % {GRANT_ROLES} AS r,
                            ((i / {per} + 1) * 7919 + (i % {per}) * 104729) % {nodes} AS q,
                            CASE WHEN i % {per} = 0 AND (i / {per} + 1) % 10 = 0 THEN 1 ELSE 0 END AS root
                       FROM {{series}}) x) y"
            ),
        )
        .await;
        let per = config.group_grants;
        self.insert_series(
            "group assignments",
            0,
            layout.group_grant_rows,
            &format!(
                "{insert}
                 SELECT $1, 'b' || i, 'group:g' || s, NULL, 'g' || s, {role}, st, sid, {scope_key}, 0, {NOW}
                   FROM (SELECT i, s, r, {scope} FROM (
                     SELECT i, i / {per} + 1 AS s, (i / {per} + 1 + i % {per}) % {GRANT_ROLES} AS r,
                            ((i / {per} + 1) * 7919 + (i % {per}) * 104729) % {nodes} AS q,
                            CASE WHEN i % {per} = 0 THEN 1 ELSE 0 END AS root
                       FROM {{series}}) x) y"
            ),
        )
        .await;
        sqlx::query(
            "INSERT INTO assignments (org_id, id, subject, subject_user, subject_group, role_id, scope_type, scope_id, scope_key, owner_only, created_at)
             VALUES ($1, 'everyone-members', '@members', NULL, NULL, 'c1', NULL, NULL, '', 0, $2)",
        )
        .bind(ORG)
        .bind(NOW)
        .execute(self.store.pool())
        .await
        .unwrap();
    }

    async fn hidden_and_caps(&self, config: &Config, layout: &Layout, manifest: &Manifest) {
        let miners = layout.miners;
        let sites = layout.sites;
        self.insert_series(
            "hidden (users)",
            0,
            config.users / 100,
            &format!(
                "INSERT INTO hidden (org_id, id, selector, selector_user, selector_group, node_type, node_id)
                 SELECT $1, 'hu' || i, 'user:u' || (i * 100 + 1), 'u' || (i * 100 + 1), NULL, 'miner', 'm' || (i * 37 % {miners} + 1)
                   FROM {{series}}"
            ),
        )
        .await;
        self.insert_series(
            "hidden (groups)",
            0,
            config.groups / 20,
            &format!(
                "INSERT INTO hidden (org_id, id, selector, selector_user, selector_group, node_type, node_id)
                 SELECT $1, 'hg' || i, 'group:g' || (i * 20 + 1), NULL, 'g' || (i * 20 + 1), 'miner', 'm' || (i * 53 % {miners} + 1)
                   FROM {{series}}"
            ),
        )
        .await;
        let allow: Vec<&str> = manifest
            .catalog
            .entries()
            .iter()
            .take(3)
            .map(|entry| entry.key.as_str())
            .collect();
        let allow = serde_json::to_string(&allow).unwrap();
        self.insert_series(
            "caps (groups)",
            0,
            (config.groups - 11) / 20 + 1,
            &format!(
                "INSERT INTO caps (org_id, id, selector, selector_user, selector_group, scope_type, scope_id, allow)
                 SELECT $1, 'cap' || i, 'group:g' || (i * 20 + 11), NULL, 'g' || (i * 20 + 11), 'site', 's' || (i % {sites} + 1), '{allow}'
                   FROM {{series}}"
            ),
        )
        .await;
    }
}

/// Fresh statistics. Postgres also vacuums, so the visibility map is set
/// and autovacuum does not wake up on the bulk load mid-measurement.
async fn analyze(store: &Store) {
    let started = Instant::now();
    let sql = match store.backend() {
        Backend::Postgres => "VACUUM (ANALYZE)",
        Backend::Sqlite => "ANALYZE",
    };
    store.pool().execute(sql).await.unwrap();
    println!("{sql} in {:.1?}", started.elapsed());
}

async fn print_counts(store: &Store) {
    for table in [
        "users",
        "members",
        "groups",
        "group_members",
        "nodes",
        "roles",
        "role_permissions",
        "assignments",
        "hidden",
        "caps",
    ] {
        let (count,): (i64,) =
            sqlx::query_as(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(store.pool())
                .await
                .unwrap();
        println!("  {table}: {count}");
    }
}

// ---------------------------------------------------------------------------
// The builder's queries: the store's lookups, then the loader's own
// (`tessera_host::loader_queries`, the very SQL `load_facts` runs).

/// The target's effective groups as the JSON array the group assignments query binds
/// (set once the seed is in).
static TARGET_GROUPS: OnceLock<String> = OnceLock::new();

fn target_groups() -> &'static str {
    TARGET_GROUPS.get().map_or("[]", String::as_str)
}

/// How a query is bound (the values are the target's).
#[derive(Debug, Clone, Copy)]
enum Binds {
    /// No parameters.
    None,
    /// $1 org.
    Org,
    /// $1 org, $2 principal.
    Head,
    /// $1 org, $2 the target's effective groups (JSON).
    Groups,
}

impl Binds {
    /// Postgres `PREPARE` parameter types, as sqlx binds them.
    fn types(self) -> &'static str {
        match self {
            Binds::None => "",
            Binds::Org => "(text)",
            Binds::Head => "(text, text)",
            Binds::Groups => "(text, text)",
        }
    }

    /// The same values as literals, for `EXECUTE`.
    fn literals(self) -> String {
        match self {
            Binds::None => String::new(),
            Binds::Org => format!("('{ORG}')"),
            Binds::Head => format!("('{ORG}', '{TARGET}')"),
            Binds::Groups => format!("('{ORG}', '{}')", target_groups()),
        }
    }

    fn bind<'q>(
        self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        match self {
            Binds::None => query,
            Binds::Org => query.bind(ORG),
            Binds::Head => query.bind(ORG).bind(TARGET),
            Binds::Groups => query.bind(ORG).bind(target_groups()),
        }
    }
}

/// One query the builder runs.
struct BuilderQuery {
    name: &'static str,
    sql: String,
    binds: Binds,
}

fn builder_queries(backend: Backend) -> Vec<BuilderQuery> {
    let mut queries = vec![BuilderQuery {
        name: "active key (keys.rs)",
        sql: "SELECT kid, private_key FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC LIMIT 1".to_owned(),
        binds: Binds::None,
    }];
    queries.extend(
        loader_queries(backend)
            .into_iter()
            .map(|(name, sql, binds)| BuilderQuery {
                name,
                sql,
                binds: match binds {
                    LoaderBinds::Head => Binds::Head,
                    LoaderBinds::GroupAssignments => Binds::Groups,
                    LoaderBinds::Org => Binds::Org,
                },
            }),
    );
    queries
}

/// Tables whose full scan grows with the org, with their aliases in the
/// builder's SQL.
const WATCHED: [(&str, &str); 6] = [
    ("assignments", "a"),
    ("group_members", "gm"),
    ("nodes", "n"),
    ("hidden", "h"),
    ("caps", "c"),
    ("groups", "g"),
];

/// The watched table a plan word names: a table, an alias (SQLite), or an
/// index named after its table (Postgres: `hidden_pkey`, `nodes_by_parent`).
fn watched(word: &str) -> Option<&'static str> {
    WATCHED.iter().find_map(|(table, alias)| {
        let index = word
            .strip_prefix(table)
            .is_some_and(|rest| rest.starts_with('_'));
        (word == *table || word == *alias || index).then_some(*table)
    })
}

/// Plan lines of one query: Postgres `EXPLAIN (COSTS OFF)` with the binds
/// (the custom plan); SQLite `EXPLAIN QUERY PLAN`, indented by parent.
async fn explain(store: &Store, query: &BuilderQuery) -> Vec<String> {
    match store.backend() {
        Backend::Postgres => {
            let sql = format!("EXPLAIN (COSTS OFF) {}", query.sql);
            let rows = query
                .binds
                .bind(sqlx::query(AssertSqlSafe(sql)))
                .fetch_all(store.pool())
                .await
                .unwrap();
            rows.iter().map(|row| row.get::<String, _>(0)).collect()
        }
        Backend::Sqlite => {
            let sql = format!("EXPLAIN QUERY PLAN {}", query.sql);
            let rows = query
                .binds
                .bind(sqlx::query(AssertSqlSafe(sql)))
                .fetch_all(store.pool())
                .await
                .unwrap();
            let mut depth: BTreeMap<i64, usize> = BTreeMap::new();
            rows.iter()
                .map(|row| {
                    let id: i64 = row.get(0);
                    let parent: i64 = row.get(1);
                    let detail: String = row.get(3);
                    let level = depth.get(&parent).map_or(0, |d| d + 1);
                    depth.insert(id, level);
                    format!("{}{detail}", "  ".repeat(level))
                })
                .collect()
        }
    }
}

/// Postgres only: the generic plan, which a prepared statement may switch
/// to after five executions (sqlx prepares and caches every statement).
async fn explain_generic(store: &Store, query: &BuilderQuery) -> Vec<String> {
    let mut conn = store.pool().acquire().await.unwrap();
    conn.execute("SET plan_cache_mode = force_generic_plan")
        .await
        .unwrap();
    conn.execute(AssertSqlSafe(format!(
        "PREPARE bench_q{} AS {}",
        query.binds.types(),
        query.sql
    )))
    .await
    .unwrap();
    let rows = sqlx::query(AssertSqlSafe(format!(
        "EXPLAIN (COSTS OFF) EXECUTE bench_q{}",
        query.binds.literals()
    )))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    conn.execute("DEALLOCATE bench_q").await.unwrap();
    conn.execute("RESET plan_cache_mode").await.unwrap();
    rows.iter().map(|row| row.get::<String, _>(0)).collect()
}

/// Full scans of watched tables in a plan: sequential scans, and index
/// ranges bounded by `org_id` alone (every row of the org).
fn full_scans(backend: Backend, plan: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let mut last_scan: Option<(&str, &'static str)> = None;
    for line in plan {
        let line = line.trim().trim_start_matches("->").trim();
        match backend {
            Backend::Postgres => {
                if let Some((_, rest)) = line.split_once(" on ")
                    && line.contains("Scan")
                {
                    let word = rest.split_whitespace().next().unwrap_or_default();
                    last_scan = watched(word).map(|table| (line, table));
                    if line.starts_with("Seq Scan on ") && last_scan.is_some() {
                        found.push(line.to_owned());
                    }
                } else if let Some(cond) = line.strip_prefix("Index Cond: ")
                    && !cond.contains(" AND ")
                    && cond.contains("org_id = ")
                    && let Some((scan, _)) = last_scan
                {
                    found.push(format!("{scan} [{cond}: the whole org]"));
                }
            }
            Backend::Sqlite => {
                let Some(rest) = line
                    .strip_prefix("SCAN ")
                    .or_else(|| line.strip_prefix("SEARCH "))
                else {
                    continue;
                };
                let word = rest.split_whitespace().next().unwrap_or_default();
                if watched(word).is_none() {
                    continue;
                }
                if line.starts_with("SCAN ") {
                    found.push(line.to_owned());
                } else if line.ends_with("(org_id=?)") {
                    found.push(format!("{line} [the whole org]"));
                }
            }
        }
    }
    found
}

/// Index names a plan uses.
fn indexes(backend: Backend, plan: &[String]) -> BTreeSet<String> {
    let markers: &[&str] = match backend {
        Backend::Postgres => &[
            "Index Scan using ",
            "Index Only Scan using ",
            "Bitmap Index Scan on ",
        ],
        Backend::Sqlite => &[
            "USING INDEX ",
            "USING COVERING INDEX ",
            "USING PRIMARY KEY",
            "USING INTEGER PRIMARY KEY",
        ],
    };
    let mut found = BTreeSet::new();
    for line in plan {
        for marker in markers {
            let mut rest = line.as_str();
            while let Some((_, after)) = rest.split_once(marker) {
                let name = after
                    .split(|c: char| c.is_whitespace() || c == '(')
                    .next()
                    .unwrap_or_default();
                let table = line
                    .split_once(" on ")
                    .and_then(|(_, t)| t.split_whitespace().next())
                    .or_else(|| line.split_whitespace().nth(1))
                    .unwrap_or_default();
                if name.is_empty() {
                    found.insert(format!("{table} PRIMARY KEY"));
                } else {
                    found.insert(name.to_owned());
                }
                rest = after;
            }
        }
    }
    found
}

/// Runs one query `runs` times as the builder does (prepared, cached):
/// the median time and the row count.
async fn time_query(store: &Store, query: &BuilderQuery, runs: usize) -> (Duration, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut rows = 0;
    for _ in 0..runs {
        let started = Instant::now();
        rows = query
            .binds
            .bind(sqlx::query(AssertSqlSafe(query.sql.clone())))
            .fetch_all(store.pool())
            .await
            .unwrap()
            .len();
        times.push(started.elapsed());
    }
    times.sort();
    (percentile(&times, 0.5), rows)
}

async fn explain_all(store: &Store) {
    let backend = store.backend();
    println!("\n=== plans ({backend:?}) ===");
    let mut summary = Vec::new();
    for query in builder_queries(backend) {
        let mut plans = vec![("", explain(store, &query).await)];
        if backend == Backend::Postgres {
            plans.push((" [generic plan]", explain_generic(store, &query).await));
        }
        let (median, rows) = time_query(store, &query, 20).await;
        summary.push(format!(
            "{}: {rows} rows, p50 {} over 20 runs",
            query.name,
            ms(median)
        ));
        for (label, plan) in plans {
            println!("\n--- {}{label} ---", query.name);
            for line in &plan {
                println!("{line}");
            }
            let scans = full_scans(backend, &plan);
            let used: Vec<String> = indexes(backend, &plan).into_iter().collect();
            summary.push(format!(
                "  plan{label}: indexes [{}]; full scans: {}",
                used.join(", "),
                if scans.is_empty() {
                    "none".to_owned()
                } else {
                    scans.join(" | ")
                }
            ));
        }
    }
    println!("\n=== plan summary ({backend:?}) ===");
    for line in summary {
        println!("{line}");
    }
}

// ---------------------------------------------------------------------------
// Timing.

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or_default()
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn report(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{label}: p50 {} | p90 {} | p99 {} | max {} (n = {})",
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.90)),
        ms(percentile(&samples, 0.99)),
        ms(samples.last().copied().unwrap_or_default()),
        samples.len()
    );
}

/// The target's effective groups, by the definition the loader applies in
/// Rust (direct groups and every group containing one, transitively),
/// computed here in SQL as an independent check of the loaded facts.
async fn effective_groups(store: &Store) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "WITH RECURSIVE effective(id) AS (
           SELECT group_id FROM group_members WHERE org_id = $1 AND member_user = $2
           UNION
           SELECT gm.group_id FROM group_members gm JOIN effective e ON gm.member_group = e.id
            WHERE gm.org_id = $1)
         SELECT id FROM effective ORDER BY id",
    )
    .bind(ORG)
    .bind(TARGET)
    .fetch_all(store.pool())
    .await
    .unwrap();
    rows.into_iter().map(|(id,)| id).collect()
}

/// Bumps the org's revision as every write does, so the next build reads
/// the org's structure again.
async fn bump_revision(store: &Store) {
    sqlx::query("UPDATE orgs SET revision = revision + 1 WHERE id = $1")
        .bind(ORG)
        .execute(store.pool())
        .await
        .unwrap();
}

async fn time_builds(store: &Store, manifest: &Manifest, config: &Config) {
    let loader = tessera_host::Loader::new(store.clone());
    let request = BuildRequest {
        org: ORG,
        principal: TARGET,
        token_scopes: None,
        under: None,
        ttl: 300,
        provenance: false,
    };
    // What the target's snapshot is made of.
    let mut tx = store.pool().begin().await.unwrap();
    let facts = load_facts(&mut tx, ORG, TARGET, &[]).await.unwrap();
    tx.commit().await.unwrap();
    let effective = effective_groups(store).await;
    println!(
        "\ntarget {TARGET}: {} effective groups; loaded {} groups, {} group edges, {} assignments, {} hidden, {} caps, {} nodes, {} roles",
        effective.len(),
        facts.groups.len(),
        facts.group_members.len(),
        facts.assignments.len(),
        facts.hidden.len(),
        facts.caps.len(),
        facts.nodes.len(),
        facts.roles.len()
    );
    for group in &effective {
        assert!(
            facts.groups.iter().any(|loaded| &loaded.id == group),
            "effective group {group} not loaded"
        );
    }

    for _ in 0..WARM_UP {
        build_snapshot(&loader, manifest, &request, NOW)
            .await
            .unwrap();
    }
    let mut builds = Vec::with_capacity(config.samples);
    let mut envelope = Vec::new();
    for _ in 0..config.samples {
        let started = Instant::now();
        let built = build_snapshot(&loader, manifest, &request, NOW)
            .await
            .unwrap();
        builds.push(started.elapsed());
        envelope = built.envelope;
    }

    // Other users, each built once at the same revision: the structure is
    // kept, the assignments of groups no earlier build read are read.
    let mut others = Vec::new();
    let others_count = i64::try_from(config.samples).unwrap().min(config.users - 1);
    for user in 2..others_count + 2 {
        let principal = format!("u{user}");
        let request = BuildRequest {
            principal: &principal,
            ..request
        };
        let started = Instant::now();
        build_snapshot(&loader, manifest, &request, NOW)
            .await
            .unwrap();
        others.push(started.elapsed());
    }

    // The first build after a write: the org's structure is read again.
    let mut after_write = Vec::with_capacity(config.samples);
    let mut revision = 0;
    for _ in 0..config.samples {
        bump_revision(store).await;
        let started = Instant::now();
        let built = build_snapshot(&loader, manifest, &request, NOW)
            .await
            .unwrap();
        after_write.push(started.elapsed());
        assert!(built.revision > revision);
        revision = built.revision;
    }

    // The first build after a write this server made: the kept structure
    // is brought up to date by the write, not read again. One node
    // registered (a new top-level site) per sample, then one membership
    // (another user joins or leaves a group) per sample.
    let admin = tessera_host::Admin::new(store.clone(), std::sync::Arc::new(manifest.clone()))
        .with_changes(loader.changes());
    let run = random_hex();
    let mut after_node = Vec::with_capacity(config.samples);
    for sample in 0..config.samples {
        let site = tessera_core::NodeKey {
            ty: "site".to_owned(),
            id: format!("w{run}-{sample}"),
        };
        admin
            .put_node(&tessera_host::Actor::Backend, ORG, &site, None, NOW)
            .await
            .unwrap();
        let started = Instant::now();
        build_snapshot(&loader, manifest, &request, NOW)
            .await
            .unwrap();
        after_node.push(started.elapsed());
    }
    let mut after_membership = Vec::with_capacity(config.samples);
    let joining = tessera_core::Member::User("u2".to_owned());
    for sample in 0..config.samples {
        let backend = &tessera_host::Actor::Backend;
        if sample % 2 == 0 {
            admin
                .put_group_member(backend, ORG, "g1", &joining, NOW)
                .await
        } else {
            admin
                .delete_group_member(backend, ORG, "g1", &joining, NOW)
                .await
        }
        .unwrap();
        let started = Instant::now();
        build_snapshot(&loader, manifest, &request, NOW)
            .await
            .unwrap();
        after_membership.push(started.elapsed());
    }
    let updates = loader.structure_updates();

    // The SQL alone as a write's checks run it (structure read in the
    // transaction), then compile + sign alone.
    let mut loads = Vec::with_capacity(config.samples);
    for _ in 0..config.samples {
        let started = Instant::now();
        let mut tx = store.pool().begin().await.unwrap();
        let loaded = load_facts(&mut tx, ORG, TARGET, &[]).await.unwrap();
        tx.commit().await.unwrap();
        loads.push(started.elapsed());
        assert_eq!(loaded.assignments.len(), facts.assignments.len());
    }
    let key = active_key(store, NOW).await.unwrap();
    let compile_request = CompileRequest {
        principal: TARGET,
        token_scopes: None,
        under: None,
        issued_at: u64::try_from(NOW).unwrap(),
        expires_at: u64::try_from(NOW + 300).unwrap(),
        kid: key.kid(),
        provenance: false,
        hash_seed: tessera_host::hash_seed(),
    };
    let mut cpu = Vec::with_capacity(config.samples);
    let mut payload = None;
    for _ in 0..config.samples {
        let started = Instant::now();
        let compiled = compile(manifest, &facts, &compile_request).unwrap();
        let signed = key.sign(&compiled).unwrap();
        cpu.push(started.elapsed());
        assert!(!signed.is_empty());
        payload = Some(compiled);
    }
    let payload = payload.expect("at least one sample");

    // The envelope opens, for the target, with the published keys.
    let keys = tessera_host::published_key_set(store, NOW).await.unwrap();
    let snapshot = tessera_core::Verifier::new(keys)
        .open(
            &envelope,
            u64::try_from(NOW).unwrap(),
            tessera_core::Expect {
                org: Some(ORG),
                principal: Some(TARGET),
            },
        )
        .unwrap();
    println!(
        "\n=== timings ({:?}, {} samples after {WARM_UP} warm-up builds) ===",
        store.backend(),
        config.samples
    );
    report(
        "build_snapshot (load + compile + sign; org structure kept)",
        builds,
    );
    report(
        "build_snapshot of other users, once each (structure kept, groups read once)",
        others,
    );
    report(
        "build_snapshot after a write it did not hear of (org structure read again)",
        after_write,
    );
    report(
        "build_snapshot after registering a node (kept structure updated)",
        after_node,
    );
    report(
        "build_snapshot after a membership change (kept structure carried over)",
        after_membership,
    );
    println!("kept structures brought up to date by writes: {updates}");
    report(
        "  load_facts only (SQL incl. the structure, one transaction)",
        loads,
    );
    report("  compile + sign only (CPU)", cpu);
    println!(
        "envelope {} B; {} known nodes; {} effective groups in the snapshot; {} root roles",
        envelope.len(),
        snapshot.payload().nodes.len(),
        payload.groups.len(),
        payload.root_roles.len()
    );
}
