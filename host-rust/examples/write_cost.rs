//! What writes cost the checks (issue 14): one org of the fleet manifest
//! with N members, each holding `FIELD_TECH` at one of 50 sites and member
//! of one of 20 groups, served by an in-process `tessera serve`; then, for
//! each kind of write and each write rate, `POST /v1/check` for random
//! members at their site from concurrent keep-alive clients while a writer
//! makes that many writes per second over the model API. Prints checks/s,
//! p50 and p99, and the snapshot cache's misses and the org structures
//! read from the store during the run (`./benches/writes/run.sh` runs
//! every row).
//!
//! ```sh
//! cargo run -p tessera-host --release --example write_cost -- \
//!     [--backend sqlite|postgres] [--principals 2000] [--seconds 8] \
//!     [--connections 16] [--rates 0,1,10,100] [--kinds node,user,group,role,everyone]
//! ```
//!
//! Kinds of write: `node` registers a new top-level site (no policy: it
//! changes nobody's decisions); `user` gives one random member an
//! assignment at a random site; `group` adds one random member to another
//! group; `role` edits the custom role one group holds at the root (its
//! holders: that group's members); `everyone` adds an `@everyone`
//! assignment at a site, and the next write removes it. Postgres runs in a database with a random
//! name on `TESSERA_TEST_POSTGRES`'s server (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped at the end.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a benchmark fails loudly"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::any::install_default_drivers;
use sqlx::{AnyConnection, Connection, Executor};

const ORG: &str = "bench";
const SITES: usize = 50;
const GROUPS: usize = 20;

struct Config {
    postgres: bool,
    principals: usize,
    seconds: u64,
    connections: usize,
    rates: Vec<u32>,
    kinds: Vec<String>,
}

impl Config {
    fn from_args() -> Config {
        let mut config = Config {
            postgres: false,
            principals: 2000,
            seconds: 8,
            connections: 16,
            rates: vec![0, 1, 10, 100],
            kinds: ["node", "user", "group", "role", "everyone"]
                .map(str::to_owned)
                .to_vec(),
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args.next().expect("every flag takes a value");
            match flag.as_str() {
                "--backend" => config.postgres = value == "postgres",
                "--principals" => config.principals = value.parse().expect("a number"),
                "--seconds" => config.seconds = value.parse().expect("a number"),
                "--connections" => config.connections = value.parse().expect("a number"),
                "--rates" => {
                    config.rates = value
                        .split(',')
                        .map(|r| r.parse().expect("a rate"))
                        .collect();
                }
                "--kinds" => config.kinds = value.split(',').map(str::to_owned).collect(),
                other => panic!("unknown flag {other}"),
            }
        }
        config
    }
}

/// A small, seeded generator: the picks need no quality, only speed.
struct Picks(u64);

impl Picks {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> u16 {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the host answers");
        let status = response.status().as_u16();
        let _ = response.bytes().await;
        status
    }

    async fn must(&self, method: reqwest::Method, path: &str, body: Option<Value>) {
        let status = self.call(method.clone(), path, body).await;
        assert!((200..300).contains(&status), "{method} {path}: {status}");
    }

    /// A counter's value out of `/metrics`.
    async fn counter(&self, series: &str) -> u64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|count| count.trim().parse().ok())
            .unwrap_or(0)
    }
}

/// The org: sites, groups (`g0` holding the custom role `R` at the root),
/// members with one site assignment and one group each.
async fn seed(api: &Api, principals: usize) -> String {
    use reqwest::Method as M;
    api.must(
        M::POST,
        "/v1/orgs",
        Some(json!({"id": ORG, "name": "Bench"})),
    )
    .await;
    let org = format!("/v1/orgs/{ORG}");
    for site in 0..SITES {
        api.must(
            M::PUT,
            &format!("{org}/nodes/site/s{site}"),
            Some(json!({"parent": null})),
        )
        .await;
    }
    for group in 0..GROUPS {
        let body = json!({"id": format!("g{group}"), "name": format!("Group {group}")});
        api.must(M::POST, &format!("{org}/groups"), Some(body))
            .await;
    }
    let role = api
        .client
        .post(format!("{}{org}/roles", api.base))
        .bearer_auth(&api.token)
        .json(&json!({"name": "R", "permissions": ["fleet:read"]}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let grant = json!({"subject": "group:g0", "role": role, "scope": null});
    api.must(M::POST, &format!("{org}/assignments"), Some(grant))
        .await;
    let chunks: Vec<_> = (0..4)
        .map(|lane| {
            let api = api.clone();
            let org = org.clone();
            tokio::spawn(async move {
                for user in (lane..principals).step_by(4) {
                    let id = format!("u{user}");
                    api.must(M::PUT, &format!("/v1/users/{id}"), Some(json!({"name": id})))
                        .await;
                    api.must(M::PUT, &format!("{org}/members/{id}"), None).await;
                    let grant = json!({"subject": format!("user:{id}"), "role": "FIELD_TECH", "scope": format!("site:s{}", user % SITES)});
                    api.must(M::POST, &format!("{org}/assignments"), Some(grant))
                        .await;
                    let group = format!("g{}", user % GROUPS);
                    api.must(M::PUT, &format!("{org}/groups/{group}/members/user/{id}"), None)
                        .await;
                }
            })
        })
        .collect();
    for chunk in chunks {
        chunk.await.unwrap();
    }
    role
}

/// One write of `kind`; `n` makes it new; `added` is the `@everyone`
/// assignment the last `everyone` write added, if any.
async fn write(
    api: &Api,
    kind: &str,
    role: &str,
    n: u64,
    picks: &mut Picks,
    principals: usize,
    added: &mut Option<String>,
) {
    use reqwest::Method as M;
    let org = format!("/v1/orgs/{ORG}");
    let user = format!("u{}", picks.below(principals));
    let site = format!("site:s{}", picks.below(SITES));
    match kind {
        "node" => {
            api.must(
                M::PUT,
                &format!("{org}/nodes/site/w{n}"),
                Some(json!({"parent": null})),
            )
            .await;
        }
        "user" => {
            let grant =
                json!({"subject": format!("user:{user}"), "role": "FIELD_TECH", "scope": site});
            api.must(M::POST, &format!("{org}/assignments"), Some(grant))
                .await;
        }
        "group" => {
            let group = format!("g{}", picks.below(GROUPS));
            api.must(
                M::PUT,
                &format!("{org}/groups/{group}/members/user/{user}"),
                None,
            )
            .await;
        }
        "role" => {
            let keys = if n.is_multiple_of(2) {
                json!(["fleet:read"])
            } else {
                json!(["fleet:read", "site:read"])
            };
            let body = json!({"permissions": keys});
            api.must(M::PATCH, &format!("{org}/roles/{role}"), Some(body))
                .await;
        }
        "everyone" => {
            // Added, then removed: an assignment that exists already is not
            // written again, so a write that only adds soon writes nothing.
            match added.take() {
                None => {
                    let grant =
                        json!({"subject": "@everyone", "role": "FIELD_TECH", "scope": site});
                    let answer: Value = api
                        .client
                        .post(format!("{}{org}/assignments", api.base))
                        .bearer_auth(&api.token)
                        .json(&grant)
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    *added = answer["id"].as_str().map(str::to_owned);
                }
                Some(id) => {
                    api.must(M::DELETE, &format!("{org}/assignments/{id}"), None)
                        .await;
                }
            }
        }
        other => panic!("unknown kind {other}"),
    }
}

struct Row {
    checks: usize,
    p50: Duration,
    p99: Duration,
    writes: u64,
    misses: u64,
    structure_reads: u64,
}

const MISSES: &str = "tessera_snapshot_cache_total{result=\"miss\"}";
const STRUCTURE_READS: &str = "tessera_structure_reads_total";

/// Checks for `seconds` from `connections` clients while `rate` writes of
/// `kind` land per second.
async fn run(api: &Api, config: &Config, kind: &str, rate: u32, role: &str) -> Row {
    let deadline = Instant::now() + Duration::from_secs(config.seconds);
    let misses = api.counter(MISSES).await;
    let structure_reads = api.counter(STRUCTURE_READS).await;
    let writes = Arc::new(AtomicU64::new(0));
    let writer = (rate > 0).then(|| {
        let api = api.clone();
        let kind = kind.to_owned();
        let role = role.to_owned();
        let writes = Arc::clone(&writes);
        let principals = config.principals;
        tokio::spawn(async move {
            let mut picks = Picks(0x9e37_79b9_7f4a_7c15);
            let mut added = None;
            let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
            while Instant::now() < deadline {
                tick.tick().await;
                let n = writes.fetch_add(1, Ordering::Relaxed);
                write(&api, &kind, &role, n, &mut picks, principals, &mut added).await;
            }
        })
    });
    let clients: Vec<_> = (0..config.connections)
        .map(|lane| {
            let api = api.clone();
            let principals = config.principals;
            tokio::spawn(async move {
                let mut picks = Picks(0x2545_f491_4f6c_dd1d ^ (lane as u64 + 1));
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let user = picks.below(principals);
                    let body = json!({"org": ORG, "principal": format!("u{user}"), "permission": "miner:blink_led", "path": [format!("site:s{}", user % SITES)]});
                    let started = Instant::now();
                    let status = api.call(reqwest::Method::POST, "/v1/check", Some(body)).await;
                    assert_eq!(status, 200);
                    latencies.push(started.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await.unwrap());
    }
    if let Some(writer) = writer {
        writer.await.unwrap();
    }
    latencies.sort_unstable();
    let at = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    Row {
        checks: latencies.len(),
        p50: at(0.50),
        p99: at(0.99),
        writes: writes.load(Ordering::Relaxed),
        misses: api.counter(MISSES).await - misses,
        structure_reads: api.counter(STRUCTURE_READS).await - structure_reads,
    }
}

async fn postgres_database() -> (String, String) {
    let admin = std::env::var("TESSERA_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let name = format!(
        "tessera_writes_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let mut conn = AnyConnection::connect(&admin).await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    conn.close().await.unwrap();
    let (server, _) = admin.rsplit_once('/').unwrap();
    (format!("{server}/{name}"), name)
}

async fn drop_database(name: &str) {
    let admin = std::env::var("TESSERA_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut conn = AnyConnection::connect(&admin).await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .await
    .unwrap();
}

#[tokio::main]
async fn main() {
    install_default_drivers();
    let config = Config::from_args();
    let data_dir = std::env::temp_dir().join(format!("tessera_writes_{}", std::process::id()));
    let (url, database) = if config.postgres {
        let (url, name) = postgres_database().await;
        (Some(url), Some(name))
    } else {
        (None, None)
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let running = tessera_host::start(tessera_host::ServeConfig {
        data_dir: data_dir.clone(),
        database_url: url,
        manifest: root.join("examples/fleet/manifest.toml"),
        listen: "127.0.0.1:0".parse().unwrap(),
        snapshot_ttl: 900,
        max_snapshot_bytes: 256 * 1024,
        cache_capacity: 100_000,
        revision_freshness: Duration::from_millis(500),
        check_token_superuser_snapshots: false,
        quotas: tessera_host::Quotas::default(),
        max_event_streams: 10_000,
    })
    .await
    .unwrap();
    let api = Api {
        client: reqwest::Client::new(),
        base: format!("http://{}", running.address),
        token: running.bootstrap_token.clone(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(running.wait(async move {
        stopped.await.ok();
    }));
    let started = Instant::now();
    let role = seed(&api, config.principals).await;
    // Every member's snapshot compiled once before the first row.
    for user in 0..config.principals {
        let body = json!({"org": ORG, "principal": format!("u{user}"), "permission": "fleet:read", "path": []});
        api.must(reqwest::Method::POST, "/v1/check", Some(body))
            .await;
    }
    println!(
        "{} backend, {} principals seeded in {:.1} s; {} s per row, {} connections",
        if config.postgres {
            "Postgres"
        } else {
            "SQLite"
        },
        config.principals,
        started.elapsed().as_secs_f64(),
        config.seconds,
        config.connections
    );
    println!(
        "| write | writes/s | checks/s | p50 | p99 | writes | snapshot misses | structure reads |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for kind in &config.kinds {
        for rate in &config.rates {
            if *rate == 0 && kind != &config.kinds[0] {
                continue;
            }
            let row = run(&api, &config, kind, *rate, &role).await;
            let label = if *rate == 0 { "none" } else { kind.as_str() };
            println!(
                "| {label} | {rate} | {:.0} | {:.2} ms | {:.2} ms | {} | {} | {} |",
                row.checks as f64 / config.seconds as f64,
                row.p50.as_secs_f64() * 1e3,
                row.p99.as_secs_f64() * 1e3,
                row.writes,
                row.misses,
                row.structure_reads
            );
        }
    }
    stop.send(()).ok();
    served.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
    if let Some(name) = database {
        drop_database(&name).await;
    }
}
