//! Test databases: every store test runs on both SQLite (a temp file) and
//! the machine's Postgres (a database created with a random name and
//! dropped afterwards; the server is shared with CI and other runs).

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "each test binary uses part of the harness, which fails loudly"
)]

use std::collections::{BTreeMap, BTreeSet};

use sqlx::any::install_default_drivers;
use sqlx::{AnyConnection, Connection, Executor};
use tessera_core::{Facts, Manifest};
use tessera_host::{Backend, Store, reconcile};

/// The mining-fleet manifest most store tests run on.
pub(crate) const FLEET: &str = include_str!("../../../../examples/fleet/manifest.toml");

/// A user acting through the app backend.
pub(crate) fn user(id: &str) -> tessera_host::Actor {
    tessera_host::Actor::User(id.to_owned())
}

/// A user update that only names the user.
pub(crate) fn named(name: &str) -> tessera_host::UserUpdate {
    tessera_host::UserUpdate {
        name: Some(name.to_owned()),
        ..tessera_host::UserUpdate::default()
    }
}

/// The fleet manifest reconciled into `store`, a superuser `root`, and an
/// empty org `acme`: where the admin tests start, as the trusted backend.
pub(crate) async fn acme(store: &Store) -> tessera_host::Admin {
    use std::sync::Arc;
    use tessera_host::{Actor, Admin, UserUpdate};
    let manifest = Arc::new(Manifest::from_toml(FLEET).unwrap());
    reconcile(store, &manifest, 1).await.unwrap();
    let admin = Admin::new(store.clone(), manifest);
    let root = UserUpdate {
        superuser: Some(true),
        ..named("Root")
    };
    admin
        .put_user(&Actor::Backend, "root", &root, 1)
        .await
        .unwrap();
    admin
        .create_org(&Actor::Backend, "acme", "Acme", 1)
        .await
        .unwrap();
    admin
}

/// The Postgres server's admin database; override with `TESSERA_TEST_POSTGRES`.
fn postgres_admin_url() -> String {
    std::env::var("TESSERA_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Store tests need the Postgres server: without it the run stops with
/// one line saying how to start it, not a backtrace per test.
fn unreachable_postgres(admin: &str, err: &sqlx::Error) -> ! {
    eprintln!(
        "tessera tests: cannot reach Postgres at {admin} ({err}); start it with \
         `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
         or point TESSERA_TEST_POSTGRES at another server"
    );
    std::process::exit(2)
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh, empty database of one backend.
pub(crate) struct TestDb {
    pub(crate) backend: Backend,
    pub(crate) url: String,
    name: String,
    dir: Option<std::path::PathBuf>,
}

impl TestDb {
    pub(crate) async fn new(backend: Backend) -> TestDb {
        install_default_drivers();
        let name = format!("tessera_t_{}", random_suffix());
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = format!("sqlite://{}/tessera.db?mode=rwc", dir.display());
                TestDb {
                    backend,
                    url,
                    name,
                    dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                // A collation that is not byte order (ICU English, as an
                // en_US database would sort), so no test passes only
                // because the server's default happens to be `C`.
                let create = format!(
                    "CREATE DATABASE {name} TEMPLATE template0 \
                     LOCALE_PROVIDER icu ICU_LOCALE 'en' LOCALE 'C.UTF-8'"
                );
                let mut conn = match AnyConnection::connect(&admin).await {
                    Ok(conn) => conn,
                    Err(err) => unreachable_postgres(&admin, &err),
                };
                conn.execute(sqlx::AssertSqlSafe(create))
                    .await
                    .expect("create database");
                conn.close().await.ok();
                let url = match admin.rsplit_once('/') {
                    Some((server, _)) => format!("{server}/{name}"),
                    None => panic!("postgres url without a database"),
                };
                TestDb {
                    backend,
                    url,
                    name,
                    dir: None,
                }
            }
        }
    }

    /// A store on this database, migrated.
    pub(crate) async fn store(&self) -> Store {
        let store = Store::connect(&self.url).await.expect("connect");
        store.migrate_up().await.expect("migrate");
        store
    }
}

/// Drops the database when the test ends, passed or failed (a failing
/// test must not leave databases on the shared server).
impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            std::fs::remove_dir_all(dir).ok();
        }
        if self.backend != Backend::Postgres {
            return;
        }
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // The test's runtime may be unwinding: drop on a thread and runtime
        // of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = AnyConnection::connect(&postgres_admin_url()).await.ok()?;
                conn.execute(sqlx::AssertSqlSafe(drop)).await.ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// Writes facts into a fresh store through the admin service, as the
/// trusted backend (the store's own rules apply: no cycles, one default
/// group at least, literal catalog keys only). Role, assignment, hidden and
/// cap ids are the store's; returns the store's cap id → the facts' cap id,
/// for the answers that name caps ([`fact_cap_ids`]).
pub(crate) async fn import(
    store: &Store,
    manifest: &Manifest,
    facts: &Facts,
) -> BTreeMap<String, String> {
    use std::collections::HashMap;
    use std::sync::Arc;
    use tessera_host::{Actor, Admin, UserUpdate};

    reconcile(store, manifest, 1).await.unwrap();
    let admin = Admin::new(store.clone(), Arc::new(manifest.clone()));
    let backend = Actor::Backend;
    let org = facts.org.as_str();
    admin.create_org(&backend, org, org, 1).await.unwrap();
    for user in &facts.users {
        let update = UserUpdate {
            name: Some(user.name.clone().unwrap_or_else(|| user.id.clone())),
            superuser: Some(user.superuser),
            active: Some(true),
        };
        admin
            .put_user(&backend, &user.id, &update, 1)
            .await
            .unwrap();
    }
    for member in &facts.members {
        admin.put_member(&backend, org, member, 1).await.unwrap();
    }
    // Deactivate before any assignment: the guarded-role rule refuses to
    // deactivate a last holder, but an inactive user may still be assigned.
    for user in facts.users.iter().filter(|user| !user.active) {
        let update = UserUpdate {
            active: Some(false),
            ..UserUpdate::default()
        };
        admin
            .put_user(&backend, &user.id, &update, 1)
            .await
            .unwrap();
    }
    for group in &facts.groups {
        let name = group.name.clone().unwrap_or_else(|| group.id.clone());
        if group.id == "members" {
            admin
                .update_group(
                    &backend,
                    org,
                    "members",
                    Some(&name),
                    Some(group.default),
                    1,
                )
                .await
                .unwrap();
        } else {
            admin
                .create_group(&backend, org, Some(&group.id), &name, group.default, 1)
                .await
                .unwrap();
        }
    }
    if !facts.groups.iter().any(|group| group.id == "members") {
        admin
            .delete_group(&backend, org, "members", 1)
            .await
            .unwrap();
    }
    for edge in &facts.group_members {
        admin
            .put_group_member(&backend, org, &edge.group, &edge.member, 1)
            .await
            .unwrap();
    }
    for node in &facts.nodes {
        admin
            .put_node(&backend, org, &node.node, node.parent.as_ref(), 1)
            .await
            .unwrap();
    }
    let catalog: BTreeSet<&str> = manifest
        .catalog
        .entries()
        .iter()
        .map(|e| e.key.as_str())
        .collect();
    let mut role_ids: HashMap<String, String> = HashMap::new();
    for role in &facts.roles {
        // Keys the manifest no longer has grant nothing; the store only
        // keeps them when reconcile deprecates them.
        let keys: Vec<String> = role
            .permissions
            .iter()
            .filter(|k| catalog.contains(k.as_str()))
            .cloned()
            .collect();
        match manifest.builtin(&role.id) {
            Some(builtin) if builtin.mode == tessera_core::RoleMode::Immutable => {}
            Some(_) => {
                admin
                    .update_role(&backend, org, &role.id, None, Some(&keys), 1)
                    .await
                    .unwrap();
            }
            None => {
                let name = role.name.clone().unwrap_or_else(|| role.id.clone());
                let view = admin
                    .create_role(&backend, org, &name, &keys, 1)
                    .await
                    .unwrap();
                role_ids.insert(role.id.clone(), view.id);
            }
        }
    }
    for assignment in &facts.assignments {
        let role = role_ids
            .get(&assignment.role)
            .cloned()
            .unwrap_or_else(|| assignment.role.clone());
        admin
            .create_assignment(
                &backend,
                org,
                &assignment.subject,
                &role,
                assignment.scope.as_ref(),
                assignment.owner_only,
                1,
            )
            .await
            .unwrap();
    }
    for hidden in &facts.hidden {
        admin
            .create_hidden(&backend, org, &hidden.selector, &hidden.node, 1)
            .await
            .unwrap();
    }
    let mut cap_ids = BTreeMap::new();
    for cap in &facts.caps {
        let view = admin
            .create_cap(
                &backend,
                org,
                &cap.selector,
                cap.scope.as_ref(),
                &cap.allow,
                1,
            )
            .await
            .unwrap();
        if let Some(id) = &cap.id {
            cap_ids.insert(view.id, id.clone());
        }
    }
    admin
        .put_settings(&backend, org, facts.kiosk, 1)
        .await
        .unwrap();
    cap_ids
}

/// An explain answer with the caps it names under the facts' ids, so a
/// store-backed runner compares it with the vectors (stores make their own
/// cap ids).
pub(crate) fn fact_cap_ids(answer: &mut serde_json::Value, cap_ids: &BTreeMap<String, String>) {
    let Some(caps) = answer
        .get_mut("removed_by_caps")
        .and_then(serde_json::Value::as_array_mut)
    else {
        return;
    };
    for cap in caps {
        let fact_id = cap
            .get("id")
            .and_then(serde_json::Value::as_str)
            .and_then(|id| cap_ids.get(id));
        if let Some(fact_id) = fact_id {
            cap["id"] = serde_json::Value::String(fact_id.clone());
        }
    }
}

/// Everything an admin write can change, as text: a refused write must
/// leave it exactly as it was. The first two entries are the sum of the
/// org revisions and the number of audit rows.
pub(crate) async fn state(store: &Store) -> Vec<String> {
    let pool = store.pool();
    let mut values = Vec::new();
    for sql in [
        "SELECT CAST(COALESCE(SUM(revision), 0) AS BIGINT) FROM orgs",
        "SELECT COUNT(*) FROM audit",
        "SELECT COUNT(*) FROM members",
        "SELECT COUNT(*) FROM group_members",
        "SELECT COUNT(*) FROM assignments",
        "SELECT COUNT(*) FROM hidden",
        "SELECT COUNT(*) FROM caps",
        "SELECT COUNT(*) FROM role_permissions",
    ] {
        let (value,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await.unwrap();
        values.push(value.to_string());
    }
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT id, name, kiosk FROM orgs ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    values.extend(rows.into_iter().map(|row| format!("org {row:?}")));
    let rows: Vec<(String, String, i64, i64)> =
        sqlx::query_as("SELECT id, name, superuser, active FROM users ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    values.extend(rows.into_iter().map(|row| format!("user {row:?}")));
    let rows: Vec<(String, String, String, i64)> =
        sqlx::query_as("SELECT org_id, id, name, is_default FROM groups ORDER BY org_id, id")
            .fetch_all(pool)
            .await
            .unwrap();
    values.extend(rows.into_iter().map(|row| format!("group {row:?}")));
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT org_id, id, name FROM roles ORDER BY org_id, id")
            .fetch_all(pool)
            .await
            .unwrap();
    values.extend(rows.into_iter().map(|row| format!("role {row:?}")));
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT org_id, type, id, COALESCE(parent_type, '') || ':' || COALESCE(parent_id, '') FROM nodes ORDER BY org_id, type, id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    values.extend(rows.into_iter().map(|row| format!("node {row:?}")));
    values
}

/// The `at`th counter of [`state`] (0: revision sum, 1: audit rows,
/// 2: members, 3: group memberships, 4: assignments, 5: hidden, 6: caps).
pub(crate) fn counter(state: &[String], at: usize) -> i64 {
    state[at].parse().unwrap()
}

/// Asserts that a write is refused with `code` and changed nothing.
pub(crate) async fn refused<T>(
    store: &Store,
    code: &str,
    write: impl std::future::Future<Output = Result<T, tessera_host::AdminError>>,
) -> tessera_host::AdminError {
    let before = state(store).await;
    let Err(err) = write.await else {
        panic!("the write must be refused with {code}");
    };
    assert_eq!(err.code(), code, "{err}");
    assert_eq!(
        state(store).await,
        before,
        "a refused write changed something: {err}"
    );
    err
}

/// Runs a write that must succeed, bump one org's revision once and
/// append one audit row.
pub(crate) async fn one_write<T>(
    store: &Store,
    write: impl std::future::Future<Output = Result<T, tessera_host::AdminError>>,
) -> T {
    let before = state(store).await;
    let value = write.await.unwrap();
    let after = state(store).await;
    assert_eq!(
        counter(&after, 0),
        counter(&before, 0) + 1,
        "one revision bump"
    );
    assert_eq!(counter(&after, 1), counter(&before, 1) + 1, "one audit row");
    value
}

/// Runs a test body on both backends.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let db = common::TestDb::new(tessera_host::Backend::Sqlite).await;
                ($body)(&db).await;
            }

            #[tokio::test]
            async fn postgres() {
                let db = common::TestDb::new(tessera_host::Backend::Postgres).await;
                ($body)(&db).await;
            }
        }
    };
}

/// A `tessera serve` started in this process on a free port, over a test
/// database, with the fleet manifest (or another) and its own data dir.
pub(crate) struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
    /// The same API in process: what [`TestServer::call`] asks.
    router: axum::Router,
    /// The bootstrap admin token.
    pub(crate) token: String,
    pub(crate) client: reqwest::Client,
    data_dir: std::path::PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
}

/// The repository root (host-rust's parent).
pub(crate) fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_owned()
}

impl TestServer {
    /// Starts a server on `db` with the manifest at `manifest` (relative to
    /// the repository root).
    pub(crate) async fn start(db: &TestDb, manifest: &str) -> TestServer {
        TestServer::start_with(db, manifest, |_| {}).await
    }

    /// Starts a server like [`TestServer::start`], with `configure` applied
    /// to its configuration first (a tiny snapshot maximum, ...). An
    /// absolute `manifest` path is used as is.
    pub(crate) async fn start_with(
        db: &TestDb,
        manifest: &str,
        configure: impl FnOnce(&mut tessera_host::ServeConfig),
    ) -> TestServer {
        let data_dir = std::env::temp_dir().join(format!("tessera_srv_{}", random_suffix()));
        let mut config = tessera_host::ServeConfig {
            data_dir: data_dir.clone(),
            database_url: Some(db.url.clone()),
            manifest: repo_root().join(manifest),
            listen: "127.0.0.1:0".parse().expect("address"),
            snapshot_ttl: 900,
            max_snapshot_bytes: 256 * 1024,
            cache_capacity: 1000,
            revision_freshness: std::time::Duration::from_millis(500),
            check_token_superuser_snapshots: false,
            quotas: tessera_host::Quotas::default(),
            max_event_streams: 10_000,
        };
        configure(&mut config);
        let running = tessera_host::start(config).await.expect("server starts");
        let base = format!("http://{}", running.address);
        let router = running.router();
        let token = running.bootstrap_token.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(async move {
            running
                .wait(async move {
                    stopped.await.ok();
                })
                .await
                .expect("server ran");
        });
        TestServer {
            base,
            router,
            token,
            client: reqwest::Client::new(),
            data_dir,
            stop: Some(stop),
            served: Some(served),
        }
    }

    /// A request to `path` with the bootstrap token.
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// Sends a JSON request with the bootstrap token; answers the status
    /// and the JSON body (`null` when empty).
    /// One JSON request with the bootstrap token, asked of the router in
    /// process (`tower::ServiceExt::oneshot`): what an answer is, not how
    /// it travels. [`TestServer::request`] goes over the socket, for the
    /// tests about the wire.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        oneshot(&self.router, Some(&self.token), method, path, body).await
    }

    /// Stops the server (graceful) and removes its data dir.
    pub(crate) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(served) = self.served.take() {
            served.await.expect("server task");
        }
        std::fs::remove_dir_all(&self.data_dir).ok();
    }
}

/// A `tessera serve` child process (the real binary, or the README's
/// command), with the address and token it printed.
pub(crate) struct ServeProcess {
    child: tokio::process::Child,
    /// `http://<address>`.
    pub(crate) base: String,
    /// The bootstrap token it printed.
    pub(crate) token: String,
    /// What it printed after those two lines.
    printed: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServeProcess {
    /// Spawns `command` and waits (up to `deadline`) for the two lines
    /// `tessera listening on http://…` and `bootstrap token: …`.
    pub(crate) async fn spawn(
        mut command: tokio::process::Command,
        deadline: std::time::Duration,
    ) -> ServeProcess {
        use tokio::io::AsyncBufReadExt;
        command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("spawn tessera serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let (mut base, mut token) = (None, None);
        let read = async {
            while base.is_none() || token.is_none() {
                let line = lines
                    .next_line()
                    .await
                    .expect("read")
                    .expect("serve exited early");
                if let Some(address) = line.strip_prefix("tessera listening on ") {
                    base = Some(address.trim().to_owned());
                }
                if let Some(printed) = line.strip_prefix("bootstrap token: ") {
                    token = Some(printed.trim().to_owned());
                }
            }
        };
        tokio::time::timeout(deadline, read)
            .await
            .expect("serve printed its address and token in time");
        // Keep draining stdout so the child never blocks on a full pipe.
        let printed = std::sync::Arc::<std::sync::Mutex<Vec<String>>>::default();
        let keep = std::sync::Arc::clone(&printed);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                keep.lock().unwrap().push(line);
            }
        });
        ServeProcess {
            child,
            base: base.expect("address"),
            token: token.expect("token"),
            printed,
        }
    }

    /// The first line it printed (after its address and token) that
    /// starts with `prefix`, waiting up to 10 s for it.
    pub(crate) async fn printed(&self, prefix: &str) -> String {
        for _ in 0..100 {
            if let Some(line) = self
                .printed
                .lock()
                .unwrap()
                .iter()
                .find(|line| line.starts_with(prefix))
            {
                return line.clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "no line starting with {prefix:?}: {:?}",
            self.printed.lock().unwrap()
        );
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub(crate) async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        tokio::time::timeout(std::time::Duration::from_secs(10), self.child.wait())
            .await
            .expect("exits within 10 s of SIGTERM")
            .expect("wait")
    }

    /// A JSON call with the token: (status, body or null).
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        send_json(request, body).await
    }
}

/// Sends a request with an optional JSON body; answers the status and the
/// JSON body (`null` when empty, a string when not JSON).
/// One JSON request asked of `router` in process: status, and the body as
/// JSON (`null` when empty, a string when it is not JSON), as
/// [`send_json`] reads a response off the socket.
pub(crate) async fn oneshot(
    router: &axum::Router,
    token: Option<&str>,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from(body.to_string())),
        None => request.body(axum::body::Body::empty()),
    }
    .expect("a request");
    let response = router.clone().oneshot(request).await.expect("an answer");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body read")
        .to_bytes();
    (status, body_json(&bytes))
}

/// An answer's body as JSON: `null` when empty, a string when not JSON.
fn body_json(bytes: &[u8]) -> serde_json::Value {
    if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())
        })
    }
}

pub(crate) async fn send_json(
    mut request: reqwest::RequestBuilder,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body read");
    (status, body_json(&bytes))
}

impl TestServer {
    /// Starts a server like [`TestServer::start`], with the manifest at an
    /// absolute path (a vector file's inline manifest written to a temp file).
    pub(crate) async fn start_with_manifest(db: &TestDb, manifest: &std::path::Path) -> TestServer {
        assert!(manifest.is_absolute(), "{}", manifest.display());
        let manifest = manifest.to_str().expect("a UTF-8 manifest path");
        // `repo_root().join(absolute)` is the absolute path itself.
        TestServer::start(db, manifest).await
    }
}

/// Runs `tessera ARGS` from the repository root on `db`'s store (no data
/// directory), and answers its stdout; panics with its stderr if it fails.
pub(crate) async fn tessera_cli(db: &TestDb, args: &[&str]) -> String {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .current_dir(repo_root())
        .env("DATABASE_URL", &db.url)
        .env_remove("TESSERA_DATA_DIR")
        .output()
        .await
        .expect("tessera runs");
    assert!(
        output.status.success(),
        "tessera {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}
