//! Authoritative answers (DESIGN §3): every check the host answers is asked
//! of the compiled snapshot of (org, principal, token scopes, subtrees) at
//! the org's current revision, the very snapshot a client would get, so the
//! two answers cannot drift. Compiled snapshots are cached, bounded, and
//! keyed by that tuple; an entry older than the org's revision is rebuilt.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tessera_core::{CompileError, CompileRequest, Decision, Manifest, NodeKey, Snapshot};
use thiserror::Error;

use crate::builder::{BuildError, BuildRequest, Built, build_snapshot};
use crate::facts::{FactsError, load_facts_kept};
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

/// Token scopes as a set: every order and repetition of the same keys
/// compiles the same snapshot, so they share one cache entry (a caller
/// cannot fill the cache with permutations of one question).
fn scope_set(scopes: &[String]) -> Vec<String> {
    let mut set = scopes.to_vec();
    set.sort_unstable();
    set.dedup();
    set
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
    /// Time spent loading and compiling those snapshots, in microseconds.
    pub build_micros: u64,
    /// Org structures read from the store for those builds.
    pub structure_reads: u64,
}

/// An org revision this replica has read from the store or been told of.
#[derive(Debug, Clone, Copy)]
struct Known {
    revision: u64,
    at: Instant,
}

/// The host's authority: the store, the manifest and the snapshot cache.
pub struct Authority {
    store: Store,
    manifest: Arc<Manifest>,
    capacity: usize,
    cache: Mutex<HashMap<CacheKey, Cached>>,
    /// How long a known revision is trusted without asking the store.
    freshness: Duration,
    known: Mutex<HashMap<String, Known>>,
    /// Bumped by every [`Authority::forget`]: a revision read from the store
    /// before a forget is not remembered after it (the read may predate the
    /// write that made the caller forget).
    generation: AtomicU64,
    tick: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    build_micros: AtomicU64,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// An authority caching at most `capacity` compiled snapshots. It asks
    /// the store for the org's revision on every question; see
    /// [`Authority::with_freshness`].
    pub fn new(store: Store, manifest: Arc<Manifest>, capacity: usize) -> Self {
        Authority {
            store,
            manifest,
            capacity: capacity.max(1),
            cache: Mutex::new(HashMap::new()),
            freshness: Duration::ZERO,
            known: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            tick: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            build_micros: AtomicU64::new(0),
        }
    }

    /// Trusts a revision read from the store for `freshness` before asking
    /// again. A server does this: its own writes call [`Authority::forget`],
    /// other replicas' writes arrive by [`Authority::evict`] (Postgres
    /// `NOTIFY`), and `freshness` bounds how late a write made by anything
    /// else (another process on the same SQLite file) is seen.
    #[must_use]
    pub fn with_freshness(mut self, freshness: Duration) -> Self {
        self.freshness = freshness;
        self
    }

    /// The cache counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            build_micros: self.build_micros.load(Ordering::Relaxed),
            structure_reads: self.store.structure_reads(),
        }
    }

    /// Drops everything cached for an org the store does not have (deleted,
    /// perhaps to be created again under the same id).
    fn purge(&self, org: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|key, _| key.org != org);
        }
        if let Ok(mut known) = self.known.lock() {
            known.remove(org);
        }
    }

    /// Drops every cached snapshot of `org` older than `revision` and
    /// remembers that the store has reached it (what a replica does when it
    /// hears of another replica's write).
    pub fn evict(&self, org: &str, revision: u64) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|key, cached| key.org != org || cached.revision >= revision);
        }
        if let Ok(mut known) = self.known.lock() {
            let entry = known.entry(org.to_owned()).or_insert(Known {
                revision,
                at: Instant::now(),
            });
            if entry.revision <= revision {
                *entry = Known {
                    revision,
                    at: Instant::now(),
                };
            }
        }
    }

    /// Forgets what is known of `org`'s revision (after a write whose new
    /// revision the caller does not know), so the next question asks the
    /// store; `None` forgets every org (a write that bumps them all).
    pub fn forget(&self, org: Option<&str>) {
        if let Ok(mut known) = self.known.lock() {
            self.generation.fetch_add(1, Ordering::SeqCst);
            match org {
                Some(org) => {
                    known.remove(org);
                }
                None => known.clear(),
            }
        }
    }

    /// The org's revision as this replica knows it: remembered while fresh
    /// and not behind `min_revision`, otherwise read from the store.
    async fn current_revision(
        &self,
        org: &str,
        min_revision: Option<u64>,
    ) -> Result<u64, AuthorityError> {
        if !self.freshness.is_zero()
            && let Ok(known) = self.known.lock()
            && let Some(entry) = known.get(org)
            && entry.at.elapsed() < self.freshness
            && min_revision.is_none_or(|wanted| wanted <= entry.revision)
        {
            return Ok(entry.revision);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let revision = match self.revision(org).await {
            Err(AuthorityError::NotFound(what)) => {
                self.purge(org);
                return Err(AuthorityError::NotFound(what));
            }
            other => other?,
        };
        if !self.freshness.is_zero()
            && let Ok(mut known) = self.known.lock()
            && self.generation.load(Ordering::SeqCst) == generation
        {
            let entry = known.entry(org.to_owned()).or_insert(Known {
                revision,
                at: Instant::now(),
            });
            if entry.revision <= revision {
                *entry = Known {
                    revision,
                    at: Instant::now(),
                };
            }
        }
        if let Some(wanted) = min_revision
            && wanted > revision
        {
            return Err(AuthorityError::Stale {
                wanted,
                have: revision,
            });
        }
        Ok(revision)
    }

    /// The org's current revision.
    pub(crate) async fn revision(&self, org: &str) -> Result<u64, AuthorityError> {
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
        let revision = self
            .current_revision(asking.org, asking.min_revision)
            .await?;
        let key = CacheKey {
            org: asking.org.to_owned(),
            principal: asking.principal.to_owned(),
            token_scopes: asking.token_scopes.map(scope_set),
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
        let started = Instant::now();
        let facts = load_facts_kept(
            &self.store,
            asking.org,
            asking.principal,
            asking.under.unwrap_or(&[]),
        )
        .await?;
        let request = CompileRequest {
            principal: asking.principal,
            token_scopes: asking.token_scopes,
            under: asking.under,
            issued_at: 0,
            expires_at: 1,
            kid: "",
            provenance: true,
            hash_seed: crate::hash_seed(),
        };
        let payload = facts.compile(&self.manifest, &request)?;
        let snapshot = Arc::new(
            Snapshot::with_seed(payload, crate::hash_seed())
                .map_err(|err| AuthorityError::Store(StoreError::Corrupt(err.to_string())))?,
        );
        let built_at = facts.revision();
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.build_micros.fetch_add(micros, Ordering::Relaxed);
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
            // A concurrent build may have cached a newer revision already.
            let newer = cache
                .get(&key)
                .is_some_and(|cached| cached.revision > built_at);
            if !newer {
                cache.insert(
                    key,
                    Cached {
                        revision: built_at,
                        snapshot: Arc::clone(&snapshot),
                        used: tick,
                    },
                );
            }
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
    ) -> Result<Built, AuthorityError> {
        self.current_revision(asking.org, asking.min_revision)
            .await?;
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
        Ok(built)
    }
}
