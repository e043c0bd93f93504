//! Authoritative answers (docs/snapshots.md §3):
//! every check the host answers is asked of the compiled snapshot of (org,
//! principal, token scopes, subtrees) at the org's current revision, the
//! very snapshot a client would get, so the two answers cannot drift.
//! Compiled snapshots are cached, bounded, and keyed by that tuple; an
//! entry older than the org's revision is rebuilt.

mod err;
mod revisions;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tessera_core::{CompileRequest, Decision, Manifest, NodeKey, Snapshot};

pub use err::AuthorityError;
use revisions::Revisions;

use crate::builder::{BuildRequest, Built, build_snapshot};
use crate::facts::Loader;
use crate::lru::Lru;
use crate::missing::Missing;
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

/// The host's authority: the facts loader, the manifest and the snapshot
/// cache.
pub struct Authority {
    loader: Loader,
    manifest: Arc<Manifest>,
    cache: Mutex<Lru<CacheKey, Cached>>,
    revisions: Revisions,
    hits: AtomicU64,
    misses: AtomicU64,
    build_micros: AtomicU64,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").finish_non_exhaustive()
    }
}

impl Authority {
    /// An authority caching at most `capacity` compiled snapshots. It asks
    /// the store for the org's revision on every question; see
    /// [`Authority::with_freshness`].
    pub fn new(store: Store, manifest: Arc<Manifest>, capacity: usize) -> Self {
        Authority {
            loader: Loader::new(store),
            manifest,
            cache: Mutex::new(Lru::new(capacity.max(1))),
            revisions: Revisions::new(Duration::ZERO),
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
        self.revisions = Revisions::new(freshness);
        self
    }

    /// The cache counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            build_micros: self.build_micros.load(Ordering::Relaxed),
            structure_reads: self.loader.structure_reads(),
        }
    }

    /// Drops everything cached for an org the store does not have (deleted,
    /// perhaps to be created again under the same id).
    fn purge(&self, org: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|key, _| key.org != org);
        }
        self.revisions.drop_org(org);
    }

    /// Drops every cached snapshot of `org` older than `revision` and
    /// remembers that the store has reached it (what a replica does when it
    /// hears of another replica's write).
    pub fn evict(&self, org: &str, revision: u64) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|key, cached| key.org != org || cached.revision >= revision);
        }
        self.revisions.reached(org, revision);
    }

    /// Forgets what is known of `org`'s revision (after a write whose new
    /// revision the caller does not know), so the next question asks the
    /// store; `None` forgets every org (a write that bumps them all).
    pub fn forget(&self, org: Option<&str>) {
        self.revisions.forget(org);
    }

    /// The org's revision as this replica knows it: remembered while fresh
    /// and not behind `min_revision`, otherwise read from the store.
    async fn current_revision(
        &self,
        org: &str,
        min_revision: Option<u64>,
    ) -> Result<u64, AuthorityError> {
        if let Some(revision) = self.revisions.fresh(org, min_revision) {
            return Ok(revision);
        }
        let generation = self.revisions.generation();
        let revision = match self.revision(org).await {
            Err(AuthorityError::NotFound(what)) => {
                self.purge(org);
                return Err(AuthorityError::NotFound(what));
            }
            other => other?,
        };
        self.revisions.read(org, revision, generation);
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
            .fetch_optional(self.loader.store().pool())
            .await?;
        let (revision,) = row.ok_or_else(|| AuthorityError::NotFound(Missing::new("org", org)))?;
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
        if let Ok(mut cache) = self.cache.lock()
            && let Some(cached) = cache.get(&key)
            && cached.revision >= revision
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok((Arc::clone(&cached.snapshot), cached.revision));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let facts = self
            .loader
            .load(asking.org, asking.principal, asking.under.unwrap_or(&[]))
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
            // A concurrent build may have cached a newer revision already.
            let newer = cache
                .peek(&key)
                .is_some_and(|cached| cached.revision > built_at);
            if !newer {
                let cached = Cached {
                    revision: built_at,
                    snapshot: Arc::clone(&snapshot),
                };
                cache.insert(key, cached, 1);
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
        let built = build_snapshot(&self.loader, &self.manifest, &request, now).await?;
        if built.envelope.len() > max_bytes {
            return Err(AuthorityError::SnapshotTooLarge {
                size: built.envelope.len(),
                max: max_bytes,
            });
        }
        Ok(built)
    }
}
