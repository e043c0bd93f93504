//! An opened snapshot: the payload plus the lookup indexes every query uses.
//! Building it checks the payload's internal consistency once, so that no
//! query can index out of range later.

use crate::manifest::Route;
use crate::model::{
    Bits, Catalog, HashIndex, NodeKey, Permission, TypeTable, hash_key, is_valid_node_id,
    is_valid_type_name,
};
use crate::snapshot::{
    Expect, FORMAT_VERSION, Header, KnownNode, ScopeSets, SnapshotPayload, Verifier, VerifyError,
    from_text,
};

/// Where a known node sits relative to a subtree snapshot's roots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coverage {
    /// A strict ancestor of a subtree root: covered only as a chain prefix.
    Ancestor,
    /// A subtree root (or any node of a whole-org snapshot).
    SubtreeRoot,
    /// Below a subtree root.
    Inside,
}

/// A verified, decoded snapshot, ready for queries.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub(crate) payload: SnapshotPayload,
    pub(crate) catalog: Catalog,
    pub(crate) types: TypeTable,
    /// Each known node's `type:id`, parallel to `payload.nodes`.
    node_keys: Vec<String>,
    /// Known nodes by `type:id`.
    node_index: HashIndex,
    pub(crate) coverage: Vec<Coverage>,
    /// The routes, parsed.
    pub(crate) routes: Vec<Route>,
    /// `can_anywhere`: root ∪ every known, covered, visible node.
    pub(crate) anywhere: Bits,
    /// Keys the hash of `node_index` ([`Snapshot::with_seed`]).
    hash_seed: u64,
}

/// Opening a signed snapshot ends here, in the queries' layer: the
/// verifier (`snapshot`) checks and decodes, [`Snapshot::new`] indexes.
impl Verifier {
    /// Opens the `tss1.` text form.
    pub fn open_text(
        &self,
        text: &str,
        now: u64,
        expect: Expect<'_>,
    ) -> Result<Snapshot, VerifyError> {
        let bytes = from_text(text)?;
        self.open(&bytes, now, expect)
    }

    /// Opens the binary envelope. `now` is unix seconds: the core has no clock.
    pub fn open(
        &self,
        bytes: &[u8],
        now: u64,
        expect: Expect<'_>,
    ) -> Result<Snapshot, VerifyError> {
        let payload = self.verified_payload(bytes, now, expect)?;
        Snapshot::new(payload)
    }
}

impl PartialEq for Snapshot {
    fn eq(&self, other: &Self) -> bool {
        self.payload == other.payload
    }
}

fn bad(why: &'static str) -> VerifyError {
    VerifyError::BadEncoding(why)
}

impl Snapshot {
    /// Indexes a payload, refusing one that is internally inconsistent
    /// (the node index keyed by seed 0: see [`Snapshot::with_seed`]).
    pub fn new(payload: SnapshotPayload) -> Result<Snapshot, VerifyError> {
        Snapshot::with_seed(payload, 0)
    }

    /// [`Snapshot::new`] with the node index keyed by `seed`: a host opening
    /// the snapshots it compiles passes a secret seed, so that node ids
    /// crafted by an org's administrators cannot make the index collide
    /// (every lookup would walk the whole table). Answers do not depend on
    /// the seed.
    // INVARIANT: after this, every set has the catalog's width, every node,
    // type, role and requirement index is in range, every parent precedes
    // its child, and every route parses; the queries rely on it and never
    // index out of range (they still use checked access throughout).
    pub fn with_seed(payload: SnapshotPayload, seed: u64) -> Result<Snapshot, VerifyError> {
        if payload.header.format_version != FORMAT_VERSION {
            return Err(VerifyError::WrongFormatVersion(
                payload.header.format_version,
            ));
        }
        let width = payload.catalog.len();
        let bits_ok = |bits: &Bits| bits.fits(width);
        let sets_ok = |sets: &ScopeSets| {
            bits_ok(&sets.plain)
                && bits_ok(&sets.owned)
                && sets
                    .decisive
                    .is_none_or(|at| (at as usize) < payload.nodes.len())
        };
        for entry in &payload.catalog {
            if entry.requires.iter().any(|r| *r as usize >= width) {
                return Err(bad("catalog requirement out of range"));
            }
        }
        // The header's catalog hash is signed with the catalog it names;
        // not hashing again keeps SHA-256 out of the browser bundle.
        let catalog = Catalog::with_hash(payload.catalog.clone(), payload.header.catalog_hash);
        if catalog
            .entries()
            .iter()
            .enumerate()
            .any(|(at, entry)| catalog.permission(&entry.key).map(Permission::index) != Some(at))
        {
            return Err(bad("duplicate catalog key"));
        }
        let type_count = payload.types.len();
        if payload.types.iter().any(|ty| {
            ty.parents
                .iter()
                .any(|parent| parent.is_some_and(|p| p as usize >= type_count))
        }) {
            return Err(bad("type parent out of range"));
        }
        if payload.types.iter().any(|ty| !is_valid_type_name(&ty.name))
            || payload.nodes.iter().any(|node| !is_valid_node_id(&node.id))
        {
            return Err(bad("invalid type name or node id"));
        }
        let types = TypeTable::new(payload.types.clone());
        if !sets_ok(&payload.root)
            || payload
                .token_scopes
                .as_ref()
                .is_some_and(|scopes| !bits_ok(scopes))
        {
            return Err(bad("permission set of the wrong width"));
        }
        for (at, node) in payload.nodes.iter().enumerate() {
            let parent_ok = node.parent.is_none_or(|parent| (parent as usize) < at);
            if (node.ty as usize) >= type_count || !parent_ok || !sets_ok(&node.sets) {
                return Err(bad("known node out of range"));
            }
        }
        let node_keys: Vec<String> = payload
            .nodes
            .iter()
            .map(|node| format!("{}:{}", types.name(node.ty), node.id))
            .collect();
        let key_at = |at: u32| node_keys.get(at as usize).map_or("", String::as_str);
        let node_index = HashIndex::build(
            node_keys.len(),
            |at| hash_key(seed, key_at(at)),
            |a, b| key_at(a) == key_at(b),
        )
        .map_err(|_| bad("duplicate known node"))?;
        check_provenance(&payload)?;
        let routes = payload
            .routes
            .iter()
            .map(Route::from_source)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad("route does not parse"))?;
        let mut snapshot = Snapshot {
            payload,
            catalog,
            types,
            node_keys,
            node_index,
            coverage: Vec::new(),
            routes,
            anywhere: Bits::default(),
            hash_seed: seed,
        };
        snapshot.coverage = snapshot.coverage()?;
        snapshot.anywhere = snapshot.anywhere();
        Ok(snapshot)
    }

    /// The payload.
    pub fn payload(&self) -> &SnapshotPayload {
        &self.payload
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.payload.header
    }

    /// Whether the principal is a superuser to every rule of the resolver:
    /// flagged, active (docs/model.md §1.2: inactive means denied everything) and
    /// not narrowed by token scopes. The header's raw flag says only what
    /// the store holds; this is what gates, exemptions and UIs must read.
    /// `check` stays the only authority for a decision.
    pub fn is_superuser(&self) -> bool {
        let principal = &self.payload.header.principal;
        principal.superuser && principal.active && self.payload.token_scopes.is_none()
    }

    /// The token scopes the snapshot was narrowed to, as keys in catalog
    /// order; `None` when it was not narrowed.
    pub fn token_scopes(&self) -> Option<Vec<String>> {
        self.payload
            .token_scopes
            .as_ref()
            .map(|scopes| self.catalog.keys(scopes))
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Resolves a key to a handle once, for checks in loops.
    pub fn permission(&self, key: &str) -> Option<Permission> {
        self.catalog.permission(key)
    }

    /// The index of a known node.
    /// The index of the known node `type:id`.
    #[inline]
    pub(crate) fn find_node(&self, key: &str) -> Option<u32> {
        self.node_index.find(hash_key(self.hash_seed, key), |at| {
            self.node_keys
                .get(at as usize)
                .is_some_and(|known| known == key)
        })
    }

    pub(crate) fn node(&self, at: u32) -> Option<&KnownNode> {
        self.payload.nodes.get(at as usize)
    }

    /// The `type:id` of a known node.
    pub(crate) fn node_key(&self, at: u32) -> Option<NodeKey> {
        self.node(at).map(|node| NodeKey {
            ty: self.types.name(node.ty).to_owned(),
            id: node.id.clone(),
        })
    }

    /// The sets at a known node, or at the root.
    pub(crate) fn sets(&self, at: Option<u32>) -> &ScopeSets {
        at.and_then(|at| self.node(at))
            .map_or(&self.payload.root, |node| &node.sets)
    }

    pub(crate) fn is_subtree(&self) -> bool {
        self.payload.header.subtrees.is_some()
    }

    fn coverage(&self) -> Result<Vec<Coverage>, VerifyError> {
        let nodes = &self.payload.nodes;
        let Some(subtrees) = &self.payload.header.subtrees else {
            return Ok(vec![Coverage::SubtreeRoot; nodes.len()]);
        };
        let mut coverage = vec![None; nodes.len()];
        for key in subtrees {
            let at = self
                .find_node(&key.to_string())
                .ok_or(bad("subtree root is not a known node"))?;
            if let Some(slot) = coverage.get_mut(at as usize) {
                *slot = Some(Coverage::SubtreeRoot);
            }
        }
        // Parents come first, so one pass down marks the insides...
        for at in 0..nodes.len() {
            let parent = nodes.get(at).and_then(|node| node.parent);
            let parent_covered = parent
                .and_then(|p| coverage.get(p as usize).copied().flatten())
                .is_some_and(|c| c != Coverage::Ancestor);
            if let Some(slot) = coverage.get_mut(at)
                && slot.is_none()
                && parent_covered
            {
                *slot = Some(Coverage::Inside);
            }
        }
        // ...and one pass up marks the ancestors.
        for at in (0..nodes.len()).rev() {
            let is_marked = coverage.get(at).copied().flatten().is_some();
            let parent = nodes.get(at).and_then(|node| node.parent);
            if let Some(slot) = parent.and_then(|p| coverage.get_mut(p as usize))
                && is_marked
                && slot.is_none()
            {
                *slot = Some(Coverage::Ancestor);
            }
        }
        coverage
            .into_iter()
            .map(|c| c.ok_or(bad("known node outside the subtrees")))
            .collect()
    }

    fn anywhere(&self) -> Bits {
        let mut anywhere = Bits::empty(self.catalog.len());
        if !self.payload.header.principal.active {
            return anywhere;
        }
        anywhere.union_with(&self.payload.root.plain);
        for node in self.payload.nodes.iter().filter(|node| !node.hidden) {
            anywhere.union_with(&node.sets.plain);
        }
        anywhere
    }
}

fn check_provenance(payload: &SnapshotPayload) -> Result<(), VerifyError> {
    let Some(provenance) = &payload.provenance else {
        return Ok(());
    };
    let width = payload.catalog.len();
    let node_ok = |at: Option<u32>| at.is_none_or(|at| (at as usize) < payload.nodes.len());
    let role_ok = |at: u32| (at as usize) < provenance.roles.len();
    if provenance.nodes.len() != payload.nodes.len()
        || provenance
            .roles
            .iter()
            .any(|role| !role.permissions.fits(width))
    {
        return Err(bad("provenance does not match the nodes"));
    }
    for node in std::iter::once(&provenance.root).chain(&provenance.nodes) {
        let grants_ok = node
            .assignments
            .iter()
            .all(|grant| node_ok(grant.scope) && role_ok(grant.role));
        let caps_ok = node
            .caps
            .iter()
            .all(|cap| node_ok(cap.scope) && cap.allow.fits(width));
        if !grants_ok || !caps_ok {
            return Err(bad("provenance out of range"));
        }
    }
    Ok(())
}
