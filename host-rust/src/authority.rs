//! Authoritative answers (docs/snapshots.md §3):
//! every check the host answers is asked of the compiled snapshot of (org,
//! principal, token scopes, subtrees) at the org's current revision, the
//! very snapshot a client would get, so the two answers cannot drift.
//! Compiled snapshots are cached, bounded, and keyed by that tuple. An
//! entry older than the org's revision is kept when every write since is
//! known ([`Changes`]) and none can change it ([`Reach::touches`] its
//! [`Footprint`]), and rebuilt otherwise (docs/snapshots.md §3.9).

mod err;
mod etag;
mod revisions;
mod table;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tessera_core::{CompileRequest, Decision, Footprint, Manifest, NodeKey, Snapshot};

pub(crate) use table::answers_at;

pub use err::AuthorityError;
use revisions::Revisions;

use crate::builder::{BuildRequest, Built, build_snapshot};
use crate::changes::{Changes, Run, WriteKind};
use crate::facts::Loader;
use crate::keys::active_key;
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
    /// The revision it was compiled at.
    built: u64,
    /// The revision up to which it is known to be the principal's snapshot
    /// (it was compiled at this revision or at an earlier one that no
    /// write since could change).
    valid_to: u64,
    snapshot: Arc<Snapshot>,
    footprint: Arc<Footprint>,
}

/// Per write kind, how many cached snapshots the writes of that kind left
/// in place and how many they made stale, counted when each snapshot is
/// next asked for.
#[derive(Debug, Default)]
struct WriteCounts {
    kept: [AtomicU64; WriteKind::ALL.len()],
    invalidated: [AtomicU64; WriteKind::ALL.len()],
}

fn count(counters: &[AtomicU64; WriteKind::ALL.len()], kind: WriteKind) {
    if let Some(counter) = counters.get(kind.index()) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What the cache holds for a question.
enum Kept {
    /// A snapshot valid at the revision asked, the revision it was
    /// compiled at, and what it draws on.
    Valid(Arc<Snapshot>, u64, Arc<Footprint>),
    /// Nothing valid: build.
    Stale,
    /// Ask again once this server's committing write is recorded.
    Wait,
}

/// A compiled snapshot at the org's current revision.
struct State {
    snapshot: Arc<Snapshot>,
    /// The org's current revision.
    revision: u64,
    /// The revision it was compiled at: its content is the same at every
    /// revision from this one to `revision`.
    built: u64,
    /// What of the org it draws on.
    footprint: Arc<Footprint>,
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
    /// Org structures brought up to date by applying writes instead.
    pub structure_updates: u64,
    /// Per write kind (in [`WriteKind::ALL`] order): cached snapshots
    /// kept past a write of that kind.
    pub kept: [u64; WriteKind::ALL.len()],
    /// Per write kind: cached snapshots a write of that kind made stale.
    pub invalidated: [u64; WriteKind::ALL.len()],
}

/// The host's authority: the facts loader, the manifest and the snapshot
/// cache.
pub struct Authority {
    loader: Loader,
    manifest: Arc<Manifest>,
    /// What snapshots take from the manifest, for entity tags.
    manifest_print: String,
    cache: Mutex<Lru<CacheKey, Cached>>,
    revisions: Revisions,
    writes: WriteCounts,
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
            manifest_print: etag::manifest_print(&manifest),
            manifest,
            cache: Mutex::new(Lru::new(capacity.max(1))),
            revisions: Revisions::new(Duration::ZERO),
            writes: WriteCounts::default(),
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

    /// The store it reads.
    pub fn store(&self) -> &Store {
        self.loader.store()
    }

    /// The log of writes it reads: give it to the [`crate::Admin`] that
    /// writes the same store ([`crate::Admin::with_changes`]).
    pub fn changes(&self) -> Arc<Changes> {
        self.loader.changes()
    }

    /// The cache counters.
    pub fn stats(&self) -> CacheStats {
        let load = |counters: &[AtomicU64; WriteKind::ALL.len()]| {
            counters
                .each_ref()
                .map(|counter| counter.load(Ordering::Relaxed))
        };
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            build_micros: self.build_micros.load(Ordering::Relaxed),
            structure_reads: self.loader.structure_reads(),
            structure_updates: self.loader.structure_updates(),
            kept: load(&self.writes.kept),
            invalidated: load(&self.writes.invalidated),
        }
    }

    /// Drops everything cached for an org the store does not have (deleted,
    /// perhaps to be created again under the same id).
    fn purge(&self, org: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|key, _| key.org != org);
        }
        self.revisions.drop_org(org);
        self.loader.changes().forget(Some(org));
    }

    /// Drops every cached snapshot of `org` not known valid at `revision`
    /// and remembers that the store has reached it (what a replica does
    /// when it hears of another replica's write that says nothing of what
    /// it changed).
    pub fn evict(&self, org: &str, revision: u64) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|key, cached| key.org != org || cached.valid_to >= revision);
        }
        self.revisions.reached(org, revision);
        self.loader.changes().moved(Some(org), Some(revision));
    }

    /// Records another replica's write to `org`, which made `revision`,
    /// and remembers that the store has reached it.
    pub fn heard(&self, org: &str, revision: u64, change: crate::changes::Change) {
        // Reached first: a stream told of the move reads this revision.
        self.revisions.reached(org, revision);
        self.loader.changes().record(org, revision, change);
    }

    /// Forgets what is known of `org`'s revision (after a write whose new
    /// revision the caller does not know), so the next question asks the
    /// store; `None` forgets every org (a write that bumps them all).
    pub fn forget(&self, org: Option<&str>) {
        self.revisions.forget(org);
        self.loader.changes().moved(org, None);
    }

    /// The org's revision as this replica knows it (remembered while
    /// fresh); `NotFound` for an org the store does not have.
    pub async fn revision_now(&self, org: &str) -> Result<u64, AuthorityError> {
        self.current_revision(org, None).await
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
        let state = self.state(asking).await?;
        Ok((state.snapshot, state.revision))
    }

    /// [`Authority::snapshot`], with the revision its content dates from.
    async fn state(&self, asking: &Asking<'_>) -> Result<State, AuthorityError> {
        let revision = self
            .current_revision(asking.org, asking.min_revision)
            .await?;
        let key = CacheKey {
            org: asking.org.to_owned(),
            principal: asking.principal.to_owned(),
            token_scopes: asking.token_scopes.map(scope_set),
            under: asking.under.map(<[NodeKey]>::to_vec),
        };
        let mut kept = self.kept(&key, revision, true);
        if matches!(kept, Kept::Wait) {
            self.loader.changes().settled(asking.org).await;
            kept = self.kept(&key, revision, false);
        }
        if let Kept::Valid(snapshot, built, footprint) = kept {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(State {
                snapshot,
                revision,
                built,
                footprint,
            });
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
        let footprint = Arc::new(facts.footprint());
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.build_micros.fetch_add(micros, Ordering::Relaxed);
        if let Ok(mut cache) = self.cache.lock() {
            // A concurrent build may have cached a newer revision already.
            let newer = cache
                .peek(&key)
                .is_some_and(|cached| cached.valid_to > built_at);
            if !newer {
                let cached = Cached {
                    built: built_at,
                    valid_to: built_at,
                    snapshot: Arc::clone(&snapshot),
                    footprint: Arc::clone(&footprint),
                };
                cache.insert(key, cached, 1);
            }
        }
        Ok(State {
            snapshot,
            revision: built_at,
            built: built_at,
            footprint,
        })
    }

    /// The cached snapshot of `key` if it is the principal's snapshot at
    /// `revision`: cached at it, or at an earlier revision that no write
    /// since can change (every write since known and none touching it).
    /// When a write this server is committing is not recorded yet and
    /// `may_wait`, [`Kept::Wait`].
    fn kept(&self, key: &CacheKey, revision: u64, may_wait: bool) -> Kept {
        let Ok(mut cache) = self.cache.lock() else {
            return Kept::Stale;
        };
        let Some(cached) = cache.get_mut(key) else {
            return Kept::Stale;
        };
        if cached.valid_to >= revision {
            return Kept::Valid(
                Arc::clone(&cached.snapshot),
                cached.built,
                Arc::clone(&cached.footprint),
            );
        }
        let stale = match self
            .loader
            .changes()
            .between(&key.org, cached.valid_to, revision)
        {
            Run::Pending if may_wait => return Kept::Wait,
            Run::Pending | Run::Unknown => WriteKind::Unknown,
            Run::Known(since) => match since
                .iter()
                .find(|change| change.reach.touches(&cached.footprint))
            {
                Some(touching) => touching.kind,
                None => {
                    for change in &since {
                        count(&self.writes.kept, change.kind);
                    }
                    cached.valid_to = revision;
                    return Kept::Valid(
                        Arc::clone(&cached.snapshot),
                        cached.built,
                        Arc::clone(&cached.footprint),
                    );
                }
            },
        };
        count(&self.writes.invalidated, stale);
        cache.remove(key);
        Kept::Stale
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

    /// `GET …/snapshot`: a signed snapshot, refused over `max_bytes`, or
    /// [`Export::NotModified`] when `if_none_match` names a copy the
    /// client holds that is still this principal's snapshot
    /// ([`etag`]).
    pub async fn export(
        &self,
        asking: &Asking<'_>,
        ttl: i64,
        max_bytes: usize,
        now: i64,
        if_none_match: Option<&str>,
    ) -> Result<Export, AuthorityError> {
        self.current_revision(asking.org, asking.min_revision)
            .await?;
        if let Some(held) = if_none_match.and_then(etag::Tag::parse_list)
            && held.expires_at >= now.saturating_add(ttl / 2)
        {
            let kid = active_key(self.loader.store(), now).await?.kid().to_owned();
            if held.names(asking, &self.manifest_print, &kid) {
                let state = self.state(asking).await?;
                if state.built <= held.revision && held.revision <= state.revision {
                    let principal = &state.snapshot.payload().header.principal;
                    return Ok(Export::NotModified {
                        revision: state.revision,
                        etag: held.to_string(),
                        superuser: principal.superuser && principal.active,
                    });
                }
            }
        }
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
        let tag = etag::Tag::new(
            asking,
            &self.manifest_print,
            &built.kid,
            built.revision,
            now.saturating_add(ttl),
        );
        Ok(Export::Built {
            etag: tag.to_string(),
            built,
        })
    }
}

/// What `GET …/snapshot` answers.
#[derive(Debug)]
pub enum Export {
    /// A new signed snapshot and its entity tag.
    Built {
        /// The snapshot.
        built: Built,
        /// Its entity tag, for `If-None-Match`.
        etag: String,
    },
    /// The client's copy is still the principal's snapshot.
    NotModified {
        /// The org's current revision.
        revision: u64,
        /// The entity tag the client sent.
        etag: String,
        /// Whether the snapshot is an active superuser's.
        superuser: bool,
    },
}
