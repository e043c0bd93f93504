//! tessera-host: the authoritative half of Tessera. It keeps the model in
//! SQL (embedded SQLite by default, Postgres for production), reconciles
//! the manifest into it, and builds signed snapshots with tessera-core.
//!
//! Work in progress (issue 3): the schema and its migrations, the store
//! connection, reconcile, the principal-restricted facts loader, the key
//! ring and the snapshot builder are here; the admin service (every write
//! with its invariants and audit row) comes next.

mod admin;
mod builder;
mod facts;
mod keys;
mod orgs;
mod reconcile;
mod store;

pub use admin::{Actor, Admin, AdminError, CapView, HiddenView, UserUpdate};
pub use builder::{BuildError, BuildRequest, Built, build_snapshot};
pub use facts::{FactsError, load_facts};
pub use keys::{
    MAX_SNAPSHOT_TTL, active_key, generate_key, published_key_set, published_keys, rotate_keys,
};
pub use orgs::create_org;
pub use reconcile::{ReconcileReport, reconcile};
pub use store::{Backend, Store, StoreError};
