//! Authoritative answers (DESIGN §3): every check the host answers is asked
//! of the compiled snapshot of (org, principal, token scopes, subtrees) at
//! the org's current revision, the very snapshot a client would get, so the
//! two answers cannot drift. Compiled snapshots are cached, bounded, and
//! keyed by that tuple; an entry older than the org's revision is rebuilt.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tessera_core::{CompileError, CompileRequest, Decision, Manifest, NodeKey, Snapshot};
use thiserror::Error;

use crate::builder::{BuildError, BuildRequest, build_snapshot};
use crate::facts::{FactsError, load_facts};
use crate::store::{Store, StoreError};

/// Who and what a question is about.
#[derive(Debug, Clone, Copy)]
pub struct Asking<'a> {
    /// The org id.
    pub org: &'a str,
    /// A user id or `anonymous`.
    pub principal: &'a str,
    /// Token scopes of the request, if any.
    pub token_scopes: Option<&'a [String]>,
    /// Subtree roots, for subtree snapshots.
    pub under: Option<&'a [NodeKey]>,
    /// Read-your-writes: refuse to answer from an older revision.
    pub min_revision: Option<u64>,
}

/// Why a question could not be answered.
#[derive(Debug, Error)]
pub enum AuthorityError {
    /// Unknown org, principal or subtree root (`NOT_FOUND`).
    #[error("{0} not found")]
    NotFound(String),
    /// A token scope that is not a catalog key (`UNKNOWN_PERMISSION`).
    #[error("token scope `{0}` is not a catalog permission")]
    UnknownPermission(String),
    /// `min_revision` is ahead of the store (`STALE`).
    #[error("revision {wanted} is ahead of the store's {have}")]
    Stale {
        /// The caller's `min_revision`.
        wanted: u64,
        /// The store's revision.
        have: u64,
    },
    /// An exported snapshot over the configured maximum (`SNAPSHOT_TOO_LARGE`).
    #[error("the snapshot is {size} bytes, over the maximum of {max}; ask for subtrees")]
    SnapshotTooLarge {
        /// Its size.
        size: usize,
        /// The maximum.
        max: usize,
    },
    /// A bad TTL or inconsistent stored facts (`BAD_REQUEST` / `INTERNAL`).
    #[error("{0}")]
    BadRequest(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AuthorityError {
    /// The stable code of DESIGN §5.
    pub fn code(&self) -> &'static str {
        match self {
            AuthorityError::NotFound(_) => "NOT_FOUND",
            AuthorityError::UnknownPermission(_) => "UNKNOWN_PERMISSION",
            AuthorityError::Stale { .. } => "STALE",
            AuthorityError::SnapshotTooLarge { .. } => "SNAPSHOT_TOO_LARGE",
            AuthorityError::BadRequest(_) => "BAD_REQUEST",
            AuthorityError::Store(_) => "INTERNAL",
        }
    }
}

impl From<FactsError> for AuthorityError {
    fn from(err: FactsError) -> Self {
        match err {
            FactsError::UnknownOrg(org) => AuthorityError::NotFound(format!("org `{org}`")),
            FactsError::UnknownPrincipal(user) => {
                AuthorityError::NotFound(format!("principal `{user}`"))
            }
            FactsError::Corrupt(what) => AuthorityError::Store(StoreError::Corrupt(what)),
            FactsError::Store(err) => AuthorityError::Store(err),
        }
    }
}

impl From<CompileError> for AuthorityError {
    fn from(err: CompileError) -> Self {
        match err {
            CompileError::UnknownPrincipal(user) => {
                AuthorityError::NotFound(format!("principal `{user}`"))
            }
            CompileError::UnknownNode(node) => AuthorityError::NotFound(format!("node `{node}`")),
            CompileError::UnknownPermission(key) => AuthorityError::UnknownPermission(key),
            CompileError::InvalidFacts(why) => AuthorityError::Store(StoreError::Corrupt(why)),
        }
    }
}

impl From<BuildError> for AuthorityError {
    fn from(err: BuildError) -> Self {
        match err {
            BuildError::Facts(err) => err.into(),
            BuildError::Compile(err) => err.into(),
            BuildError::BadTtl => AuthorityError::BadRequest(err.to_string()),
            BuildError::Sign(err) => AuthorityError::Store(StoreError::Corrupt(err.to_string())),
            BuildError::Store(err) => AuthorityError::Store(err),
        }
    }
}

impl From<sqlx::Error> for AuthorityError {
    fn from(err: sqlx::Error) -> Self {
        AuthorityError::Store(StoreError::Database(err))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    org: String,
    principal: String,
    token_scopes: Option<Vec<String>>,
    under: Option<Vec<NodeKey>>,
}

struct Cached {
    revision: u64,
    snapshot: Arc<Snapshot>,
    /// Recency, for eviction.
    used: u64,
}

/// Cache counters, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Answers from a cached snapshot.
    pub hits: u64,
    /// Snapshots compiled.
    pub misses: u64,
}

/// The host's authority: the store, the manifest and the snapshot cache.
pub struct Authority {
    store: Store,
    manifest: Arc<Manifest>,
    capacity: usize,
    cache: Mutex<HashMap<CacheKey, Cached>>,
    tick: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// An authority caching at most `capacity` compiled snapshots.
    pub fn new(store: Store, manifest: Arc<Manifest>, capacity: usize) -> Self {
        Authority {
            store,
            manifest,
            capacity: capacity.max(1),
            cache: Mutex::new(HashMap::new()),
            tick: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The cache counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// Drops every cached snapshot of `org` older than `revision` (what a
    /// replica does when it hears of another replica's write).
    pub fn evict(&self, org: &str, revision: u64) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|key, cached| key.org != org || cached.revision >= revision);
        }
    }

    /// The org's current revision.
    async fn revision(&self, org: &str) -> Result<u64, AuthorityError> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT revision FROM orgs WHERE id = $1")
            .bind(org)
            .fetch_optional(self.store.pool())
            .await?;
        let (revision,) = row.ok_or_else(|| AuthorityError::NotFound(format!("org `{org}`")))?;
        Ok(u64::try_from(revision).unwrap_or(0))
    }

    /// The compiled snapshot a question is answered from, and its revision.
    pub async fn snapshot(
        &self,
        asking: &Asking<'_>,
    ) -> Result<(Arc<Snapshot>, u64), AuthorityError> {
        let revision = self.revision(asking.org).await?;
        if let Some(wanted) = asking.min_revision
            && wanted > revision
        {
            return Err(AuthorityError::Stale {
                wanted,
                have: revision,
            });
        }
        let key = CacheKey {
            org: asking.org.to_owned(),
            principal: asking.principal.to_owned(),
            token_scopes: asking.token_scopes.map(<[String]>::to_vec),
            under: asking.under.map(<[NodeKey]>::to_vec),
        };
        let tick = self.tick.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut cache) = self.cache.lock()
            && let Some(cached) = cache.get_mut(&key)
            && cached.revision >= revision
        {
            cached.used = tick;
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok((Arc::clone(&cached.snapshot), cached.revision));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let mut tx = crate::facts::read_transaction(&self.store).await?;
        let facts = load_facts(
            &mut tx,
            asking.org,
            asking.principal,
            asking.under.unwrap_or(&[]),
        )
        .await?;
        tx.commit().await?;
        let request = CompileRequest {
            principal: asking.principal,
            token_scopes: asking.token_scopes,
            under: asking.under,
            issued_at: 0,
            expires_at: 1,
            kid: "",
            provenance: true,
        };
        let payload = tessera_core::compile(&self.manifest, &facts, &request)?;
        let snapshot = Arc::new(
            Snapshot::new(payload)
                .map_err(|err| AuthorityError::Store(StoreError::Corrupt(err.to_string())))?,
        );
        let built_at = facts.revision;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= self.capacity && !cache.contains_key(&key) {
                let oldest = cache
                    .iter()
                    .min_by_key(|(_, cached)| cached.used)
                    .map(|(key, _)| key.clone());
                if let Some(oldest) = oldest {
                    cache.remove(&oldest);
                }
            }
            cache.insert(
                key,
                Cached {
                    revision: built_at,
                    snapshot: Arc::clone(&snapshot),
                    used: tick,
                },
            );
        }
        Ok((snapshot, built_at))
    }

    /// `POST /v1/check`: the decision and the revision it used.
    pub async fn check(
        &self,
        asking: &Asking<'_>,
        permission: &str,
        path: &[String],
        owner: Option<&str>,
    ) -> Result<(Decision, u64), AuthorityError> {
        let (snapshot, revision) = self.snapshot(asking).await?;
        Ok((snapshot.check(permission, path, owner), revision))
    }

    /// `GET …/snapshot`: a signed snapshot, refused over `max_bytes`.
    pub async fn export(
        &self,
        asking: &Asking<'_>,
        ttl: i64,
        max_bytes: usize,
        now: i64,
    ) -> Result<(Vec<u8>, u64), AuthorityError> {
        let revision = self.revision(asking.org).await?;
        if let Some(wanted) = asking.min_revision
            && wanted > revision
        {
            return Err(AuthorityError::Stale {
                wanted,
                have: revision,
            });
        }
        let request = BuildRequest {
            org: asking.org,
            principal: asking.principal,
            token_scopes: asking.token_scopes,
            under: asking.under,
            ttl,
            provenance: false,
        };
        let built = build_snapshot(&self.store, &self.manifest, &request, now).await?;
        if built.envelope.len() > max_bytes {
            return Err(AuthorityError::SnapshotTooLarge {
                size: built.envelope.len(),
                max: max_bytes,
            });
        }
        Ok((built.envelope, built.revision))
    }
}
