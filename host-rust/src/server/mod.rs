//! `tessera serve`: open the store, reconcile the manifest, make sure a key
//! and a bootstrap token exist, then answer HTTP until told to stop.

mod notify;
pub mod setup;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tessera_core::ErrorCode;

use thiserror::Error;
use tokio::net::TcpListener;

use crate::admin::{Admin, Quotas};
use crate::authority::Authority;
use crate::http::{AppState, Limits, Metrics, Streams, TokenCache, router};
use crate::keys::MAX_SNAPSHOT_TTL;
use crate::reconcile::reconcile;
use crate::store::{Backend, StoreError};
use setup::{
    SetupError, bootstrap_token, database_url, ensure_signing_key, load_manifest, open_store,
    unix_now,
};

/// Everything `tessera serve` needs to know.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where the SQLite database and the bootstrap token live.
    pub data_dir: PathBuf,
    /// `postgres://…` or `sqlite://…`; `None`: SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// The manifest reconciled at start.
    pub manifest: PathBuf,
    /// The address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Lifetime of exported snapshots, in seconds (at most 3600).
    pub snapshot_ttl: i64,
    /// The largest snapshot exported.
    pub max_snapshot_bytes: usize,
    /// How many compiled snapshots are cached.
    pub cache_capacity: usize,
    /// How long an org revision read from the store is trusted before it is
    /// read again: the bound on how late a write made outside this process
    /// and not announced by Postgres `NOTIFY` (another process writing the
    /// same SQLite file, a lost listener connection) is seen.
    pub revision_freshness: Duration,
    /// Whether a `check` token may export a superuser's snapshot (a bearer
    /// credential for everything in its org); off by default.
    pub check_token_superuser_snapshots: bool,
    /// Per-org quotas.
    pub quotas: Quotas,
    /// How many revision event streams may be open at once (`UNAVAILABLE`
    /// beyond).
    pub max_event_streams: usize,
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, Error)]
pub enum ServeError {
    /// The data directory, manifest or store could not be set up.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// A configuration value is out of range.
    #[error("{0}")]
    Config(String),
    /// The address could not be bound, or serving failed.
    #[error("{address}: {source}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

impl ServeError {
    /// A stable code for the CLI's error line.
    pub fn code(&self) -> ErrorCode {
        match self {
            ServeError::Setup(SetupError::Manifest { .. }) => ErrorCode::InvalidManifest,
            ServeError::Setup(SetupError::ManifestMismatch { .. }) => ErrorCode::ManifestMismatch,
            ServeError::Setup(SetupError::Io { .. }) => ErrorCode::Io,
            ServeError::Setup(SetupError::Store(_)) => ErrorCode::Store,
            ServeError::Config(_) => ErrorCode::BadConfig,
            ServeError::Listen { .. } => ErrorCode::Listen,
        }
    }
}

impl From<StoreError> for ServeError {
    fn from(err: StoreError) -> Self {
        ServeError::Setup(SetupError::Store(err))
    }
}

/// A started server: bound, reconciled, not yet serving until
/// [`Running::wait`].
#[derive(Debug)]
pub struct Running {
    /// The bound address.
    pub address: SocketAddr,
    /// The bootstrap admin token.
    pub bootstrap_token: String,
    /// Where the token was written.
    pub token_path: PathBuf,
    listener: TcpListener,
    state: Arc<AppState>,
    listening: Option<tokio::task::JoinHandle<()>>,
}

/// Opens the store, reconciles the manifest, makes sure a signing key and
/// the bootstrap token exist, and binds the address.
pub async fn start(config: ServeConfig) -> Result<Running, ServeError> {
    if !(1..=MAX_SNAPSHOT_TTL).contains(&config.snapshot_ttl) {
        return Err(ServeError::Config(format!(
            "snapshot TTL must be 1..={MAX_SNAPSHOT_TTL} seconds, not {}",
            config.snapshot_ttl
        )));
    }
    let manifest = Arc::new(load_manifest(&config.manifest)?);
    let url = database_url(config.database_url.as_deref(), &config.data_dir);
    let store = open_store(&url, &config.data_dir).await?;
    let now = unix_now();
    reconcile(&store, &manifest, now).await?;
    ensure_signing_key(&store, now).await?;
    let bootstrap_token = bootstrap_token(&store, &config.data_dir, now).await?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Listen {
            address: config.listen,
            source,
        })?;
    let address = listener.local_addr().map_err(|source| ServeError::Listen {
        address: config.listen,
        source,
    })?;
    let authority = Arc::new(
        Authority::new(store.clone(), Arc::clone(&manifest), config.cache_capacity)
            .with_freshness(config.revision_freshness),
    );
    let listening = (store.backend() == Backend::Postgres)
        .then(|| tokio::spawn(notify::listen(url.clone(), Arc::clone(&authority))));
    let state = Arc::new(AppState {
        admin: Admin::new(store.clone(), manifest)
            .with_quotas(config.quotas)
            .with_changes(authority.changes()),
        store,
        authority,
        tokens: TokenCache::default(),
        metrics: Metrics::default(),
        limits: Limits {
            snapshot_ttl: config.snapshot_ttl,
            max_snapshot_bytes: config.max_snapshot_bytes,
            check_token_superuser_snapshots: config.check_token_superuser_snapshots,
        },
        streams: Streams::new(config.max_event_streams),
    });
    Ok(Running {
        address,
        bootstrap_token,
        token_path: config.data_dir.join("token"),
        listener,
        state,
        listening,
    })
}

impl Running {
    /// The admin service this server's API writes through (its writes
    /// reach this server's caches at once).
    pub fn admin(&self) -> &Admin {
        &self.state.admin
    }

    /// The API as a router over this server's state, for an app that
    /// mounts it in its own axum router or a test that calls it without a
    /// socket (`tower::ServiceExt::oneshot`).
    pub fn router(&self) -> axum::Router {
        router(Arc::clone(&self.state))
    }

    /// Serves until `shutdown` resolves, then stops taking connections and
    /// lets in-flight requests finish.
    pub async fn wait(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let address = self.address;
        let store = self.state.store.clone();
        let streams = self.state.streams.clone();
        let app = router(self.state);
        // Open event streams never end by themselves: close them once
        // shutdown begins, or graceful shutdown would wait for them.
        let shutdown = async move {
            shutdown.await;
            streams.close_all();
        };
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        if let Some(listening) = self.listening {
            listening.abort();
        }
        store.close().await;
        served.map_err(|source| ServeError::Listen { address, source })
    }
}
