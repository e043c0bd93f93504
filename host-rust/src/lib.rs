//! tessera-host: the authoritative half of Tessera. It keeps the model in
//! SQL (embedded SQLite by default, Postgres for production), reconciles
//! the manifest into it, and builds signed snapshots with tessera-core.
//!
//! Work in progress (issue 3): the schema and its migrations, the store
//! connection and reconcile are here; the admin service, the snapshot
//! builder and the key ring come next.

mod facts;
mod orgs;
mod reconcile;
mod store;

pub use facts::{FactsError, load_facts};
pub use orgs::create_org;
pub use reconcile::{ReconcileReport, reconcile};
pub use store::{Backend, Store, StoreError};
