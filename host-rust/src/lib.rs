//! tessera-host: the authoritative half of Tessera. It keeps the model in
//! SQL (embedded SQLite by default, Postgres for production), reconciles
//! the manifest into it, and builds signed snapshots with tessera-core.
//!
//! The HTTP service ([`start`], `tessera serve`) and the `tessera` CLI are
//! thin layers over this library: [`Admin`] for every write, [`Authority`]
//! for every answer, [`reconcile`] at start.

mod admin;
mod authority;
mod builder;
mod changes;
mod clock;
mod facts;
mod http;
mod ids;
mod keys;
mod layers;
mod lru;
mod missing;
mod orgs;
mod reconcile;
mod seed;
mod server;
mod sessions;
mod store;
mod tokens;

pub use admin::{
    AUDIT_PAGE, Actor, Admin, AdminError, ApplyError, AssignmentView, AuditEntry, Candidate,
    CapView, DOCUMENT_FORMAT, DocAssignment, DocCap, DocGroup, DocHidden, DocNode, DocOrg, DocRole,
    DocSettings, DocUser, GroupListing, GroupView, HiddenView, MEMBER_SEARCH_MAX, MemberView,
    OrgDocument, Plan, PlanStep, Quotas, RoleView, UserUpdate, UserView, read_document,
};
pub use authority::{Asking, Authority, AuthorityError, CacheStats, Export};
pub use builder::{BuildError, BuildRequest, Built, build_snapshot};
pub use changes::{Change, Changes, Delta, Moved, WriteKind};
pub use facts::{FactsError, Loader, LoaderBinds, load_facts, loader_queries};
pub use http::Streams;
pub use keys::{
    MAX_SNAPSHOT_TTL, active_key, generate_key, published_key_set, published_keys, rotate_keys,
};
pub use layers::{Gate, GateLayer, Principal, Relay, RequirePermission, RouteGuard};
pub use missing::Missing;
pub use orgs::create_org;
pub use reconcile::{ReconcileReport, reconcile};
pub use seed::hash_seed;
pub use server::setup;
pub use server::{Running, ServeConfig, ServeError, start};
pub use sessions::{SessionError, create_code};
pub use store::{Backend, Store, StoreError};
pub use tokens::{
    TokenAccess, TokenError, TokenKind, create_token, revoke_token, token_access, token_kind,
};
