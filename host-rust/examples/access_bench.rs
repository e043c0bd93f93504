//! The operator's questions at scale (issue 16, "Speed"), over HTTP, on a
//! database the seed benchmark left (`seed_bench --keep`: the org `bench`,
//! 100k users, all members, 10k groups, 5k nodes, 1M assignments):
//!
//! - who-can, first page (100), where every member qualifies: `miner:read`,
//!   a key of `c1`, which the seed gives `@members` at the org root, asked
//!   at a miner (`bench`);
//! - who-can, first page, where most members qualify through their own
//!   and their groups' assignments: `fleet:read` at a miner (`bench`: its
//!   roles have 238,095 assignments);
//! - who-can, first page, where 1,000 users qualify: the org `rare`, which
//!   this benchmark adds (every seeded user a member, a role `rare` holding
//!   `site:manage` and `site:read` given at the root to 1,000 of them);
//! - the access map of one user of `bench`, who is in 50 groups;
//! - a preview of one assignment (a user, a role at a site) in the org
//!   `ten`, which this benchmark adds: 10,000 members, the 5,000 nodes of
//!   `bench`, `FIELD_TECH` for `@members` at the root.
//!
//! Each question is asked once cold (nothing cached), then `--samples`
//! times (an operator asking again): p50 and p99 of those.
//!
//! ```sh
//! cargo run -p tessera-host --release --example access_bench -- \
//!     --database URL [--samples 50]
//! ```
//!
//! `URL` is what `seed_bench --keep` printed. The added orgs are created
//! once and kept; a second run on the same database reuses them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "benchmark setup: a wrong flag or an empty run stops it"
)]

/// The allocator `tessera serve` runs with (`src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::any::install_default_drivers;
use tessera_core::Manifest;
use tessera_host::{Quotas, ServeConfig, Store, create_org};

const NOW: i64 = 1_700_000_000;

struct Config {
    database: String,
    samples: usize,
}

impl Config {
    fn from_args() -> Config {
        let mut database = None;
        let mut samples = 50;
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args.next().expect("every flag takes a value");
            match flag.as_str() {
                "--database" => database = Some(value),
                "--samples" => samples = value.parse().expect("a number"),
                other => panic!("unknown flag {other}"),
            }
        }
        Config {
            database: database.expect("--database URL (from seed_bench --keep)"),
            samples,
        }
    }
}

fn manifest_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/fleet/manifest.toml")
}

/// Runs `statement` with the org id as `$1`.
async fn run(store: &Store, org: &str, statement: &str) {
    sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
        .bind(org)
        .execute(store.pool())
        .await
        .unwrap();
}

/// The orgs `rare` and `ten`, unless an earlier run added them.
async fn add_orgs(store: &Store, manifest: &Manifest) {
    let found: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM orgs WHERE id = 'ten'")
        .fetch_optional(store.pool())
        .await
        .unwrap();
    if found.is_some() {
        return;
    }
    let started = Instant::now();
    for (org, name) in [("rare", "Rare grants"), ("ten", "Ten thousand")] {
        let mut tx = store.pool().begin().await.unwrap();
        create_org(&mut tx, manifest, org, name, NOW).await.unwrap();
        tx.commit().await.unwrap();
    }
    run(
        store,
        "rare",
        "INSERT INTO members (org_id, user_id) SELECT $1, id FROM users WHERE superuser = 0",
    )
    .await;
    run(
        store,
        "rare",
        "INSERT INTO roles (org_id, id, name, name_key, builtin, mode)
         VALUES ($1, 'rare', 'Rare', 'rare', NULL, 'custom')",
    )
    .await;
    for key in ["site:read", "site:manage"] {
        run(
            store,
            "rare",
            &format!(
                "INSERT INTO role_permissions (org_id, role_id, permission) VALUES ($1, 'rare', '{key}')"
            ),
        )
        .await;
    }
    // Every 100th user: 1,000 of the 100,000.
    run(
        store,
        "rare",
        &format!(
            "INSERT INTO assignments (org_id, id, subject, subject_user, subject_group, role_id, scope_type, scope_id, scope_key, owner_only, created_at)
             SELECT $1, 'r' || id, 'user:' || id, id, NULL, 'rare', NULL, NULL, '', 0, {NOW}
               FROM users WHERE superuser = 0 AND CAST(SUBSTR(id, 2) AS INTEGER) % 100 = 0"
        ),
    )
    .await;
    run(
        store,
        "ten",
        "INSERT INTO members (org_id, user_id) SELECT $1, id FROM users
          WHERE superuser = 0 AND CAST(SUBSTR(id, 2) AS INTEGER) <= 10000",
    )
    .await;
    for kind in ["site", "rack", "miner"] {
        run(
            store,
            "ten",
            &format!(
                "INSERT INTO nodes (org_id, type, id, parent_type, parent_id)
                 SELECT $1, type, id, parent_type, parent_id FROM nodes
                  WHERE org_id = 'bench' AND type = '{kind}'"
            ),
        )
        .await;
    }
    run(
        store,
        "ten",
        &format!(
            "INSERT INTO assignments (org_id, id, subject, subject_user, subject_group, role_id, scope_type, scope_id, scope_key, owner_only, created_at)
             VALUES ($1, 'ten-members', '@members', NULL, NULL, 'FIELD_TECH', NULL, NULL, '', 0, {NOW})"
        ),
    )
    .await;
    println!("added the orgs rare and ten in {:.1?}", started.elapsed());
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// Asks once cold, then `samples` times; prints the figures and the last
/// answer's `summary`.
async fn time(
    label: &str,
    samples: usize,
    ask: impl AsyncFn() -> Value,
    summary: impl Fn(&Value) -> String,
) {
    let started = Instant::now();
    let first = ask().await;
    let cold = started.elapsed();
    let mut taken = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        let answer = ask().await;
        taken.push(started.elapsed());
        assert_eq!(
            summary(&answer),
            summary(&first),
            "{label}: the answer moved"
        );
    }
    taken.sort();
    println!(
        "{label}: cold {:.1} ms; p50 {:.1} ms, p99 {:.1} ms over {samples} ({})",
        cold.as_secs_f64() * 1e3,
        percentile(&taken, 0.5).as_secs_f64() * 1e3,
        percentile(&taken, 0.99).as_secs_f64() * 1e3,
        summary(&first),
    );
}

#[tokio::main]
async fn main() {
    let config = Config::from_args();
    install_default_drivers();
    let manifest = Manifest::from_toml(&std::fs::read_to_string(manifest_path()).unwrap()).unwrap();
    let store = Store::connect(&config.database).await.unwrap();
    add_orgs(&store, &manifest).await;
    store.close().await;

    let data_dir =
        std::env::temp_dir().join(format!("tessera_access_bench_{}", std::process::id()));
    let running = tessera_host::start(ServeConfig {
        data_dir: data_dir.clone(),
        database_url: Some(config.database.clone()),
        manifest: manifest_path(),
        listen: "127.0.0.1:0".parse().unwrap(),
        snapshot_ttl: 300,
        max_snapshot_bytes: 256 * 1024,
        // Above `ten`'s 10,001 principals: a preview reads every one.
        cache_capacity: 20_000,
        revision_freshness: Duration::from_millis(500),
        check_token_superuser_snapshots: false,
        quotas: Quotas::default(),
        max_event_streams: 16,
    })
    .await
    .unwrap();
    let base = format!("http://{}", running.address);
    let token = running.bootstrap_token.clone();
    let served = tokio::spawn(running.wait(std::future::pending::<()>()));
    let client = reqwest::Client::new();
    let call = async |method: reqwest::Method, path: &str, body: Option<Value>| -> Value {
        let mut request = client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {answer}");
        answer
    };
    let page = |answer: &Value| {
        format!(
            "{} listed, next {}",
            answer["principals"].as_array().map_or(0, Vec::len),
            answer["next"]
        )
    };

    for (label, permission) in [
        (
            "who-can, every member qualifies (bench, miner:read at a miner)",
            "miner:read",
        ),
        (
            "who-can, most members qualify (bench, fleet:read at a miner)",
            "fleet:read",
        ),
    ] {
        time(
            label,
            config.samples,
            async || {
                let body = json!({"org": "bench", "permission": permission, "path": ["site:s1", "rack:r1", "miner:m1"]});
                call(reqwest::Method::POST, "/v1/who-can", Some(body)).await
            },
            page,
        )
        .await;
    }
    time(
        "who-can, 1,000 users qualify (rare, site:manage at the root)",
        config.samples,
        async || {
            let body = json!({"org": "rare", "permission": "site:manage", "path": []});
            call(reqwest::Method::POST, "/v1/who-can", Some(body)).await
        },
        page,
    )
    .await;
    time(
        "access map of u1 (bench, 50 groups, 5,000 nodes)",
        config.samples,
        async || call(reqwest::Method::GET, "/v1/orgs/bench/users/u1/access", None).await,
        |answer| {
            format!(
                "{} nodes differ, {} hidden",
                answer["nodes"].as_array().map_or(0, Vec::len),
                answer["hidden"].as_array().map_or(0, Vec::len)
            )
        },
    )
    .await;
    time(
        "preview of one assignment (ten: 10,000 members, 5,000 nodes)",
        config.samples,
        async || {
            let body = json!({"method": "POST", "path": "/v1/orgs/ten/assignments",
                "body": {"subject": "user:u5", "role": "ADMIN", "scope": "site:s1"}});
            call(reqwest::Method::POST, "/v1/orgs/ten/preview", Some(body)).await
        },
        |answer| {
            format!(
                "{} changes, {} principals",
                answer["total_changes"], answer["principals_affected"]
            )
        },
    )
    .await;
    served.abort();
    std::fs::remove_dir_all(&data_dir).ok();
}
