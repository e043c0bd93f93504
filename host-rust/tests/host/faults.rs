//! The real `tessera serve` binary under faults: killed with SIGKILL in
//! the middle of concurrent writes, its Postgres stopped under load, its
//! SQLite file locked by another process. What was answered 2xx is kept,
//! nothing is half-written, and every refusal is a clear 503, never a 500,
//! a hang or a wrong decision.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tessera_host::{Backend, Store};

/// The tests of this file, one at a time: each loads the two cores on its
/// own, and the recovery deadlines assume nothing else does.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A `tessera serve` process, killed when dropped.
struct Serve {
    child: Child,
    base: String,
    token: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// A temporary directory, removed when dropped, also when a test fails.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

fn temp_dir(what: &str) -> TempDir {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "tessera_fault_{what}_{}_{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// Starts the binary on a free port over `url` and reads its two lines.
fn serve(url: &str, data_dir: &Path, extra: &[&str]) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .current_dir(common::repo_root())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("DATABASE_URL", url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("tessera starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = lines.next().unwrap().unwrap();
    let token = lines.next().unwrap().unwrap();
    let base = address
        .strip_prefix("tessera listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {address}"))
        .to_owned();
    let token = token.strip_prefix("bootstrap token: ").unwrap().to_owned();
    Serve { child, base, token }
}

/// One request: status, `Tessera-Revision`, JSON body (`Null` if none or
/// if the request failed outright, with status 0).
async fn call(
    client: &reqwest::Client,
    serve: (&str, &str),
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Option<u64>, Value) {
    let (base, token) = serve;
    let mut request = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(token)
        .timeout(Duration::from_secs(20));
    if let Some(body) = body {
        request = request.json(&body);
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let revision = response
                .headers()
                .get("tessera-revision")
                .and_then(|value| value.to_str().ok()?.parse().ok());
            let body = response.json().await.unwrap_or(Value::Null);
            (status, revision, body)
        }
        Err(_) => (0, None, Value::Null),
    }
}

async fn seed(client: &reqwest::Client, serve: (&str, &str)) {
    use reqwest::Method as M;
    for (method, path, body) in [
        (
            M::POST,
            "/v1/orgs",
            Some(json!({"id": "acme", "name": "Acme"})),
        ),
        (M::PUT, "/v1/users/carol", Some(json!({"name": "Carol"}))),
        (M::PUT, "/v1/orgs/acme/members/carol", None),
        (
            M::PUT,
            "/v1/orgs/acme/nodes/site/1",
            Some(json!({"parent": null})),
        ),
        (
            M::POST,
            "/v1/orgs/acme/assignments",
            Some(json!({"subject": "user:carol", "role": "FIELD_TECH", "scope": "site:1"})),
        ),
    ] {
        let (status, _, answer) = call(client, serve, method, path, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {answer}");
    }
}

/// A write's fate as the client saw it.
struct Sent {
    node: String,
    status: u16,
    revision: Option<u64>,
}

async fn killed_during_writes(db: &common::TestDb) {
    let _alone = ONE_AT_A_TIME.lock().await;
    let data_dir = temp_dir("kill");
    let client = reqwest::Client::new();
    let first = serve(&db.url, &data_dir, &[]);
    let at = (first.base.as_str(), first.token.as_str());
    seed(&client, at).await;
    let probe = tokio::sync::Mutex::new(
        <sqlx::AnyConnection as sqlx::Connection>::connect(&db.url)
            .await
            .unwrap(),
    );
    let store = db.store().await;
    let revision_of = |store: Store| async move {
        let (revision,): (i64,) = sqlx::query_as("SELECT revision FROM orgs WHERE id = 'acme'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        u64::try_from(revision).unwrap()
    };
    let seeded = revision_of(store.clone()).await;
    // Only the probe stays connected while the server is killed.
    store.close().await;

    // Eight writers register nodes as fast as they can; the server is
    // killed once 120 writes were answered.
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = Vec::new();
    for writer in 0..8 {
        let client = client.clone();
        let (base, token) = (first.base.clone(), first.token.clone());
        let answered = Arc::clone(&answered);
        writers.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            for at in 0..100 {
                let node = format!("w{writer}n{at}");
                let path = format!("/v1/orgs/acme/nodes/site/{node}");
                let (status, revision, _) = call(
                    &client,
                    (&base, &token),
                    reqwest::Method::PUT,
                    &path,
                    Some(json!({"parent": null})),
                )
                .await;
                sent.push(Sent {
                    node,
                    status,
                    revision,
                });
                if status == 0 {
                    break;
                }
                answered.fetch_add(1, Ordering::Relaxed);
            }
            sent
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered.load(Ordering::Relaxed) < 120 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(first);
    let mut sent = Vec::new();
    for writer in writers {
        sent.extend(writer.await.unwrap());
    }
    let acked: Vec<&Sent> = sent
        .iter()
        .filter(|s| (200..300).contains(&s.status))
        .collect();
    assert!(
        acked.len() >= 120,
        "only {} writes were answered",
        acked.len()
    );
    assert!(
        sent.iter()
            .all(|s| s.status == 0 || (200..300).contains(&s.status)),
        "a write was refused before the kill"
    );

    // Postgres finishes what the killed process's sessions had sent (a
    // COMMIT already received still commits): wait until they are gone.
    if db.backend == Backend::Postgres {
        let sessions = || async {
            let (others,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM pg_stat_activity
                  WHERE datname = current_database() AND backend_type = 'client backend'
                    AND pid <> pg_backend_pid()",
            )
            .fetch_one(&mut *probe.lock().await)
            .await
            .unwrap();
            others
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while sessions().await > 0 {
            assert!(
                Instant::now() < deadline,
                "the killed server's sessions never ended"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let store = db.store().await;
    // Restarted on the same store: every answered write is there, each
    // node has exactly its one audit row, each write bumped the revision
    // once, and no revision went backwards.
    let second = serve(&db.url, &data_dir, &[]);
    let nodes: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM nodes WHERE org_id = 'acme' AND id <> '1'")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let nodes: std::collections::BTreeSet<String> = nodes.into_iter().map(|(id,)| id).collect();
    for write in &acked {
        assert!(
            nodes.contains(&write.node),
            "answered write {} is lost",
            write.node
        );
    }
    let audited: Vec<(String,)> = sqlx::query_as(
        "SELECT target FROM audit WHERE org_id = 'acme' AND action = 'node.put' AND target <> 'site:1'",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let mut audited: Vec<String> = audited.into_iter().map(|(target,)| target).collect();
    audited.sort();
    let expected: Vec<String> = nodes.iter().map(|id| format!("site:{id}")).collect();
    assert_eq!(audited, expected, "one audit row per node written, no more");
    let revision = revision_of(store.clone()).await;
    assert_eq!(revision, seeded + nodes.len() as u64, "one bump per write");
    let highest = acked.iter().filter_map(|s| s.revision).max().unwrap();
    assert!(
        highest <= revision,
        "revision went back from {highest} to {revision}"
    );
    let at = (second.base.as_str(), second.token.as_str());
    let (status, after, _) = call(
        &client,
        at,
        reqwest::Method::PUT,
        "/v1/orgs/acme/nodes/site/after",
        Some(json!({"parent": null})),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(after, Some(revision + 1));
    store.close().await;
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_during_concurrent_writes_loses_no_answered_write_on_sqlite() {
    killed_during_writes(&common::TestDb::new(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_during_concurrent_writes_loses_no_answered_write_on_postgres() {
    killed_during_writes(&common::TestDb::new(Backend::Postgres).await).await;
}

/// A private Postgres server, run by the `postgres` user in a temporary
/// directory, never the shared one; stopped and removed when dropped.
struct PrivatePostgres {
    dir: TempDir,
    port: u16,
}

fn pg_bin(tool: &str) -> PathBuf {
    let versions = std::fs::read_dir("/usr/lib/postgresql").expect("Postgres is installed");
    let mut found: Vec<PathBuf> = versions
        .filter_map(|entry| Some(entry.ok()?.path().join("bin").join(tool)))
        .filter(|path| path.exists())
        .collect();
    found.sort();
    found
        .pop()
        .unwrap_or_else(|| panic!("no {tool} under /usr/lib/postgresql"))
}

fn as_postgres(tool: &str, args: &[&str]) {
    let status = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(pg_bin(tool))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("runuser (util-linux) runs; this test needs root to run Postgres as `postgres`");
    assert!(status.success(), "{tool} {args:?} failed");
}

impl PrivatePostgres {
    fn start() -> PrivatePostgres {
        let dir = temp_dir("pg");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&*dir)
            .status()
            .unwrap();
        let data = dir.join("data");
        as_postgres(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
            ],
        );
        let server = PrivatePostgres { dir, port };
        server.run();
        server
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn run(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log").display().to_string();
        as_postgres(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    fn stop(&self) {
        as_postgres("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_bin("pg_ctl"))
            .args(["-D", &data, "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_down_for_five_seconds_answers_503_then_recovers_by_itself() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let postgres = PrivatePostgres::start();
    let data_dir = temp_dir("pgdown");
    let tessera = serve(
        &postgres.url(),
        &data_dir,
        &["--revision-freshness-ms", "100"],
    );
    let client = reqwest::Client::new();
    let at = (tessera.base.as_str(), tessera.token.as_str());
    seed(&client, at).await;

    // Four clients ask carol's question (allow) and write nodes, all along.
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut clients = Vec::new();
    for worker in 0..4 {
        let client = client.clone();
        let (base, token) = (tessera.base.clone(), tessera.token.clone());
        let stop = Arc::clone(&stop);
        clients.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut at = 0;
            while !stop.load(Ordering::Relaxed) {
                at += 1;
                let (method, path, body) = if worker == 0 {
                    let node = format!("/v1/orgs/acme/nodes/site/p{at}");
                    (reqwest::Method::PUT, node, Some(json!({"parent": null})))
                } else {
                    let question = json!({"org": "acme", "principal": "carol",
                        "permission": "miner:blink_led", "path": ["site:1"]});
                    (
                        reqwest::Method::POST,
                        "/v1/check".to_owned(),
                        Some(question),
                    )
                };
                let (status, _, body) = call(&client, (&base, &token), method, &path, body).await;
                seen.push((started.elapsed(), worker, status, body));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    postgres.stop();
    let stopped = started.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    postgres.run();
    let back = started.elapsed();
    tokio::time::sleep(Duration::from_secs(8)).await;
    stop.store(true, Ordering::Relaxed);
    let mut seen = Vec::new();
    for client in clients {
        seen.extend(client.await.unwrap());
    }

    let mut unavailable = 0;
    for (when, worker, status, body) in &seen {
        match status {
            204 if *worker == 0 => {}
            200 => assert_eq!(body["decision"], "allow", "at {when:?}: a wrong decision"),
            503 => {
                assert_eq!(body["error"]["code"], "UNAVAILABLE", "at {when:?}: {body}");
                unavailable += 1;
            }
            _ => panic!("at {when:?} (down {stopped:?}..{back:?}): {status} {body}"),
        }
    }
    assert!(unavailable > 0, "nothing noticed Postgres was down");
    // Within 5 s of Postgres being back, every worker is answered again.
    for worker in 0..4 {
        let recovered = seen
            .iter()
            .filter(|(when, w, status, _)| *w == worker && *status < 300 && *when > back)
            .map(|(when, ..)| *when)
            .min();
        let recovered = recovered.unwrap_or_else(|| panic!("worker {worker} never recovered"));
        assert!(
            recovered - back <= Duration::from_secs(5),
            "worker {worker} recovered {:?} after Postgres was back",
            recovered - back
        );
        let last = seen.iter().rev().find(|(_, w, ..)| *w == worker).unwrap();
        assert!(last.2 < 300, "worker {worker} ends answered");
    }
    drop(tessera);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_file_locked_by_another_process_is_a_clear_503_not_a_hang() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let db = common::TestDb::new(Backend::Sqlite).await;
    let data_dir = temp_dir("locked");
    let tessera = serve(&db.url, &data_dir, &[]);
    let client = reqwest::Client::new();
    let at = (tessera.base.as_str(), tessera.token.as_str());
    seed(&client, at).await;

    // Another process takes the database's write lock and keeps it until
    // its standard input closes.
    let file = db
        .url
        .strip_prefix("sqlite://")
        .and_then(|rest| rest.split('?').next())
        .unwrap()
        .to_owned();
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\n\
             db = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
             db.execute('BEGIN EXCLUSIVE')\n\
             print('locked', flush=True)\n\
             sys.stdin.read()\n\
             db.execute('ROLLBACK')\n",
            &file,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");

    let asked = Instant::now();
    let (status, _, body) = call(
        &client,
        at,
        reqwest::Method::PUT,
        "/v1/orgs/acme/nodes/site/2",
        Some(json!({"parent": null})),
    )
    .await;
    let waited = asked.elapsed();
    assert_eq!(
        (status, &body["error"]["code"]),
        (503, &json!("UNAVAILABLE")),
        "{body}"
    );
    assert!(
        waited < Duration::from_secs(15),
        "answered after {waited:?}"
    );

    // The lock released, the same write goes through.
    drop(holder.stdin.take());
    holder.wait().unwrap();
    let (status, _, body) = call(
        &client,
        at,
        reqwest::Method::PUT,
        "/v1/orgs/acme/nodes/site/2",
        Some(json!({"parent": null})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    drop(tessera);
}
